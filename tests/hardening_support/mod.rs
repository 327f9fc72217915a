//! Shared by the `hardening_*` tests: bounded waits on event streams, the event-order
//! event contract (ARCHITECTURE.md) as one check, and /proc readings (memory, fds, processes).

#![allow(dead_code)]

use fdscope::{EventStream, ExitStatus, ProcessEvent};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::{timeout_at, Instant};

/// The next event, or a panic naming `what` after `secs`.
pub async fn next(events: &mut EventStream, secs: u64, what: &str) -> ProcessEvent {
    match tokio::time::timeout(Duration::from_secs(secs), events.recv()).await {
        Ok(Some(event)) => event,
        Ok(None) => panic!("event stream ended while waiting for {what}"),
        Err(_) => panic!("timed out after {secs} s waiting for {what}"),
    }
}

/// Every remaining event up to and including `process_ended`; panics after `secs`.
pub async fn rest(events: &mut EventStream, secs: u64) -> Vec<ProcessEvent> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut all = Vec::new();
    loop {
        match timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) => {
                let end = matches!(event, ProcessEvent::ProcessEnded { .. });
                all.push(event);
                if end {
                    return all;
                }
            }
            Ok(None) => panic!("stream ended without process_ended: {}", summary(&all)),
            Err(_) => panic!("no process_ended after {secs} s: {}", summary(&all)),
        }
    }
}

/// Events as a short readable list (chunks as lengths), for failure messages.
pub fn summary(events: &[ProcessEvent]) -> String {
    let names: Vec<String> = events
        .iter()
        .map(|e| match e {
            ProcessEvent::ChildDataReceived { fd, data } => format!("data({fd}, {})", data.len()),
            ProcessEvent::ChildConnectionLost { fd } => format!("lost({fd})"),
            ProcessEvent::ConnectionMade { .. } => "made".into(),
            ProcessEvent::ProcessExited { status } => format!("exited({status})"),
            ProcessEvent::ProcessEnded { status } => format!("ended({status})"),
        })
        .collect();
    names.join(" ")
}

/// Checks the event contract's rules (ARCHITECTURE.md) on a whole event list: `connection_made` once and first;
/// each pipe in `pipes` lost exactly once and no data on it after; `process_exited` once;
/// `process_ended` once, last, with the same status. Returns that status.
pub fn check_contract(events: &[ProcessEvent], pipes: &[i32]) -> ExitStatus {
    let s = summary(events);
    assert!(
        matches!(events.first(), Some(ProcessEvent::ConnectionMade { .. })),
        "connection_made first: {s}"
    );
    let made = events
        .iter()
        .filter(|e| matches!(e, ProcessEvent::ConnectionMade { .. }))
        .count();
    assert_eq!(made, 1, "one connection_made: {s}");
    let mut lost: BTreeMap<i32, usize> = BTreeMap::new();
    let mut exited = None;
    for (i, event) in events.iter().enumerate() {
        match event {
            ProcessEvent::ChildDataReceived { fd, .. } => {
                assert!(
                    !lost.contains_key(fd),
                    "data on fd {fd} after its loss: {s}"
                )
            }
            ProcessEvent::ChildConnectionLost { fd } => {
                assert!(lost.insert(*fd, i).is_none(), "fd {fd} lost twice: {s}")
            }
            ProcessEvent::ProcessExited { status } => {
                assert!(exited.is_none(), "process_exited twice: {s}");
                exited = Some(*status);
            }
            ProcessEvent::ProcessEnded { .. } => {
                assert_eq!(i, events.len() - 1, "process_ended last: {s}")
            }
            ProcessEvent::ConnectionMade { .. } => {}
        }
    }
    let lost: Vec<i32> = lost.into_keys().collect();
    let mut want = pipes.to_vec();
    want.sort_unstable();
    assert_eq!(lost, want, "every pipe lost exactly once: {s}");
    let exited = exited.unwrap_or_else(|| panic!("no process_exited: {s}"));
    match events.last() {
        Some(ProcessEvent::ProcessEnded { status }) => {
            assert_eq!(*status, exited, "same status in exited and ended: {s}");
            *status
        }
        _ => panic!("no process_ended: {s}"),
    }
}

/// Every byte received on `fd`, in order.
pub fn data(events: &[ProcessEvent], fd: i32) -> Vec<u8> {
    events
        .iter()
        .filter_map(|e| match e {
            ProcessEvent::ChildDataReceived { fd: f, data } if *f == fd => Some(&data[..]),
            _ => None,
        })
        .flatten()
        .copied()
        .collect()
}

/// A `kB` field of /proc/PID/status (`VmHWM`, `VmRSS`…), in KiB.
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {path}"))
}

/// A line of /proc/PID/status, e.g. `Uid` → "65534\t65534\t65534\t65534".
pub fn status_line(pid: u32, field: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field}"))
        .trim()
        .to_string()
}

/// The fds this process has open.
pub fn open_fds() -> Vec<i32> {
    let mut fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    fds.sort_unstable();
    fds
}

/// Pids of this process's children that are zombies (exited, not reaped).
pub fn zombie_children() -> Vec<u32> {
    children_of(std::process::id())
        .into_iter()
        .filter(|pid| state(*pid) == Some('Z'))
        .collect()
}

/// Pids whose parent is `parent`.
pub fn children_of(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            let after = stat.rsplit(')').next().unwrap_or_default();
            let ppid = after.split_whitespace().nth(1).and_then(|p| p.parse().ok());
            if ppid == Some(parent) {
                out.push(pid);
            }
        }
    }
    out
}

/// The state letter of a process (R, S, Z…), `None` once it is gone.
pub fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')').next()?.trim_start().chars().next()
}

/// True while `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    matches!(state(pid), Some(s) if s != 'Z')
}

/// Polls `check` every 20 ms until it holds; panics naming `what` after `secs`.
pub fn wait_until(what: &str, secs: u64, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A program on a pty of its own (fdscope's engine), its output kept raw and as a screen.
pub struct Pty {
    /// The process on the pty.
    pub transport: fdscope::ProcessTransport,
    events: EventStream,
    /// The screen, as a terminal would show it.
    pub parser: vt100::Parser,
    /// Everything the program wrote, lossily decoded.
    pub raw: String,
    /// Its status once ended.
    pub ended: Option<ExitStatus>,
}

impl Pty {
    /// Starts `spec` (with TERM set) on a 40×120 pty.
    pub fn start(spec: fdscope::ProcessSpec) -> Pty {
        let spec = spec.env("TERM", "xterm-256color").pty(fdscope::PtySize {
            rows: 40,
            cols: 120,
        });
        let p = fdscope::spawn(&spec).expect("start on a pty");
        Pty {
            transport: p.transport,
            events: p.events,
            parser: vt100::Parser::new(40, 120, 0),
            raw: String::new(),
            ended: None,
        }
    }

    fn take(&mut self, event: ProcessEvent) {
        match event {
            ProcessEvent::ChildDataReceived { data, .. } => {
                self.parser.process(&data);
                self.raw.push_str(&String::from_utf8_lossy(&data));
            }
            ProcessEvent::ProcessEnded { status } => self.ended = Some(status),
            _ => {}
        }
    }

    /// Waits until `check(screen, raw)` holds; panics with the screen after `secs`.
    pub async fn wait(&mut self, what: &str, secs: u64, check: impl Fn(&str, &str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if check(&self.parser.screen().contents(), &self.raw) {
                return;
            }
            match timeout_at(deadline, self.events.recv()).await {
                Ok(Some(event)) => self.take(event),
                Ok(None) => panic!(
                    "pty ended while waiting for {what}:\n{}",
                    self.parser.screen().contents()
                ),
                Err(_) => panic!(
                    "timed out waiting for {what}:\n{}",
                    self.parser.screen().contents()
                ),
            }
        }
    }

    /// Waits until the screen shows `text`.
    pub async fn wait_screen(&mut self, text: &str, secs: u64) {
        self.wait(&format!("{text:?} on the screen"), secs, |screen, _| {
            screen.contains(text)
        })
        .await;
    }

    /// Waits until the output (anywhere, raw) contains `text`.
    pub async fn wait_raw(&mut self, text: &str, secs: u64) {
        self.wait(&format!("{text:?} in the output"), secs, |_, raw| {
            raw.contains(text)
        })
        .await;
    }

    /// Types bytes, then leaves the program 60 ms to read them.
    pub async fn keys(&mut self, bytes: &[u8]) {
        self.transport.write(bytes.to_vec()).unwrap();
        let deadline = Instant::now() + Duration::from_millis(60);
        while let Ok(Some(event)) = timeout_at(deadline, self.events.recv()).await {
            self.take(event);
        }
    }

    /// Waits for the end; its status.
    pub async fn wait_end(&mut self, secs: u64) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while self.ended.is_none() {
            match timeout_at(deadline, self.events.recv()).await {
                Ok(Some(event)) => self.take(event),
                Ok(None) => break,
                Err(_) => panic!("did not end:\n{}", self.parser.screen().contents()),
            }
        }
        self.ended.expect("process_ended")
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.transport.signal_process(fdscope::Signal::SIGKILL);
    }
}
