//! Drives the console as a person would: on a pty of its own, keys typed into the pty,
//! the screen read back through a vt100 parser, every wait bounded by a deadline.
//!
//! The console runs in a child process: this test binary itself, re-run with
//! `FDSCOPE_TUI_HOST=<scenario>` (the `host` test then calls `fdscope::tui::run` with the
//! scenario's commands). The child is started with fdscope's own engine on a pty.

#![allow(dead_code)]

use fdscope::config::{CommandConfig, Config, ConsoleSettings};
use fdscope::{spawn, EventStream, ProcessEvent, ProcessSpec, ProcessTransport, PtySize};
use std::time::Duration;
use tokio::time::{timeout_at, Instant};

/// Rows and columns of the console's terminal.
pub const ROWS: u16 = 40;
/// Columns of the console's terminal.
pub const COLS: u16 = 120;

/// A command for a scenario.
pub fn command(name: &str, spec: ProcessSpec) -> CommandConfig {
    CommandConfig::new(name, spec)
}

/// `sh -c SCRIPT` with the default fds.
pub fn sh(script: &str) -> ProcessSpec {
    ProcessSpec::new("sh").args(["sh", "-c", script])
}

/// The config of a scenario, with a short grace period so tests end quickly.
pub fn config(commands: Vec<CommandConfig>) -> Config {
    Config {
        commands,
        console: ConsoleSettings {
            scrollback_lines: 2000,
            stop_grace_ms: 1000,
        },
        log: Default::default(),
    }
}

/// The console on a pty, and what it has drawn so far.
pub struct Console {
    /// The console process.
    pub transport: ProcessTransport,
    events: EventStream,
    /// The terminal the console draws on.
    pub parser: vt100::Parser,
    /// The console's exit status, once it ended.
    pub ended: Option<fdscope::ExitStatus>,
    /// Texts the console put on the clipboard (OSC 52), decoded.
    pub osc52: Vec<String>,
}

impl Console {
    /// Starts the real `fdscope` binary with `args` on a pty, in `cwd`.
    pub fn binary(args: &[&str], cwd: &std::path::Path) -> Console {
        Self::binary_env(args, &[], cwd)
    }

    /// [`Console::binary`] with variables added to its environment.
    pub fn binary_env(args: &[&str], env: &[(&str, &str)], cwd: &std::path::Path) -> Console {
        let exe = env!("CARGO_BIN_EXE_fdscope");
        let mut argv = vec![exe];
        argv.extend_from_slice(args);
        let mut spec = ProcessSpec::new(exe).args(argv).inherit_env(true);
        for &(name, value) in env {
            spec = spec.env(name, value);
        }
        Self::on_pty(spec, cwd)
    }

    fn on_pty(spec: ProcessSpec, cwd: &std::path::Path) -> Console {
        let spec = spec.env("TERM", "xterm-256color").cwd(cwd).pty(PtySize {
            rows: ROWS,
            cols: COLS,
        });
        let process = spawn(&spec).expect("start the console");
        Console {
            transport: process.transport,
            events: process.events,
            parser: vt100::Parser::new(ROWS, COLS, 0),
            ended: None,
            osc52: Vec::new(),
        }
    }

    /// Starts the console host for `scenario` (known to the test file's `host`), in `cwd`.
    pub fn start(test_name: &str, scenario: &str, cwd: &std::path::Path) -> Console {
        let exe = std::env::current_exe().unwrap();
        let spec = ProcessSpec::new(&exe)
            .args([
                exe.as_os_str(),
                "--exact".as_ref(),
                test_name.as_ref(),
                "--include-ignored".as_ref(),
                "--nocapture".as_ref(),
                "--test-threads=1".as_ref(),
            ])
            .inherit_env(true)
            .env("FDSCOPE_TUI_HOST", scenario);
        Self::on_pty(spec, cwd)
    }

    /// The screen as text.
    pub fn screen(&self) -> String {
        self.parser.screen().contents()
    }

    fn take(&mut self, event: ProcessEvent) {
        match event {
            ProcessEvent::ChildDataReceived { data, .. } => {
                self.parser.process(&data);
                let text = String::from_utf8_lossy(&data);
                for part in text.split("\x1b]52;c;").skip(1) {
                    let encoded = part.split('\x07').next().unwrap_or_default();
                    use base64::Engine;
                    if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(encoded) {
                        self.osc52
                            .push(String::from_utf8_lossy(&bytes).into_owned());
                    }
                }
            }
            ProcessEvent::ProcessEnded { status } => self.ended = Some(status),
            _ => {}
        }
    }

    /// Waits until `check` holds for the screen; panics with the screen after `secs`.
    pub async fn wait_for(&mut self, what: &str, secs: u64, check: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if check(&self.screen()) {
                return;
            }
            if self.ended.is_some() {
                panic!("console ended while waiting for {what}:\n{}", self.screen());
            }
            match timeout_at(deadline, self.events.recv()).await {
                Ok(Some(event)) => self.take(event),
                Ok(None) => panic!("console gone while waiting for {what}"),
                Err(_) => panic!("timed out waiting for {what}:\n{}", self.screen()),
            }
        }
    }

    /// Waits until the screen shows `text`.
    pub async fn wait_text(&mut self, text: &str, secs: u64) {
        let text = text.to_string();
        self.wait_for(&format!("{text:?}"), secs, move |s| s.contains(&text))
            .await;
    }

    /// Waits until `n` instance rows with a pid are on the screen; their pids.
    pub async fn wait_pids(&mut self, n: usize, secs: u64) -> Vec<u32> {
        self.wait_for(&format!("{n} pids"), secs, |s| pids(s).len() >= n)
            .await;
        pids(&self.screen())
    }

    /// Types bytes, as keys arrive from a terminal.
    pub async fn keys(&mut self, bytes: &[u8]) {
        self.transport.write(bytes.to_vec()).unwrap();
        // Leave the console a moment between keys so Esc is not read as Alt-<next key>.
        self.pump(Duration::from_millis(60)).await;
    }

    /// Reads the console's output for `d`.
    pub async fn pump(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        while let Ok(Some(event)) = timeout_at(deadline, self.events.recv()).await {
            self.take(event);
        }
    }

    /// Waits for the console to end; its status.
    pub async fn wait_end(&mut self, secs: u64) -> fdscope::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while self.ended.is_none() {
            match timeout_at(deadline, self.events.recv()).await {
                Ok(Some(event)) => self.take(event),
                Ok(None) => break,
                Err(_) => panic!("console did not end:\n{}", self.screen()),
            }
        }
        self.ended.expect("process_ended")
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        // A failed test must not leave its console (and children) behind.
        let _ = self.transport.signal_process(fdscope::Signal::SIGKILL);
    }
}

/// Pids shown on the screen in instance rows (`#1 12345 running`).
pub fn pids(screen: &str) -> Vec<u32> {
    screen
        .lines()
        .filter_map(|line| {
            let at = line.find('#')?;
            let mut words = line[at..].split_whitespace();
            words.next()?;
            words.next()?.parse().ok()
        })
        .collect()
}

/// True while a process with `pid` exists (and is not a zombie of someone else).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}
