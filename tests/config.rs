//! The config loader: every rule, against fixture files and inline examples, and every
//! built-in command run for real through the engine.

use fdscope::config::{
    CommandConfig, Config, ConsoleSettings, Diagnostic, BUILTIN_ORIGIN, BUILTIN_TOML,
};
use fdscope::script::{Condition, ExitWant, Pattern, ReadySpec, Step};
use fdscope::{
    spawn, ChildFd, EventStream, ExitStatus, ProcessEvent, ProcessSpec, ProcessTransport, PtySize,
    Signal,
};
#[path = "engine_support/mod.rs"]
mod engine_support;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::time::{sleep_until, timeout, Instant};

fn fixtures(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/configs")
        .join(kind)
}

fn parse(text: &str) -> Config {
    Config::parse(text, "test.toml").unwrap_or_else(|error| panic!("{error}"))
}

fn errors(text: &str) -> String {
    match Config::parse(text, "test.toml") {
        Ok(config) => panic!("expected errors, got {config:#?}"),
        Err(error) => error.to_string(),
    }
}

fn os(items: &[&str]) -> Vec<OsString> {
    items.iter().map(OsString::from).collect()
}

// ---------------------------------------------------------------------------------------
// Invalid configs: every rule, each error at its line and column.

/// Each `invalid/NAME.toml` must fail with exactly the lines of `invalid/NAME.expected`
/// (`NAME.toml:line:col: message`). With `FDSCOPE_BLESS=1` the expected files are
/// (re)written instead — review the diff before committing.
#[test]
fn every_invalid_fixture_gives_exactly_its_expected_diagnostics() {
    let dir = fixtures("invalid");
    let bless = std::env::var_os("FDSCOPE_BLESS").is_some();
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    entries.sort();
    for path in entries {
        let file = path.file_name().unwrap().to_str().unwrap().to_owned();
        let bytes = fs::read(&path).unwrap();
        let got = match Config::parse_bytes(&bytes, &file) {
            Ok(config) => format!(
                "<loaded without error: {} commands>\n",
                config.commands.len()
            ),
            Err(error) => error.to_string(),
        };
        let expected_path = path.with_extension("expected");
        if bless {
            fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let expected = fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        if got != expected {
            failures.push(format!("== {file}\n-- expected:\n{expected}-- got:\n{got}"));
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        bless || checked >= 19,
        "only {checked} fixtures found in {}",
        dir.display()
    );
}

#[test]
fn errors_of_different_commands_are_all_reported_in_file_order() {
    let text = "\
[[command]]
name = \"a\"
program = 1

[[command]]
name = \"b\"
program = \"cat\"
child_fds = { 0 = \"x\" }

[[command]]
name = \"c\"
program = \"cat\"
";
    assert_eq!(
        errors(text),
        "test.toml:3:11: `program` must be a string, found the integer 1\n\
         test.toml:8:19: `child_fds`: fd 0 has invalid value \"x\", expected \"r\", \"w\", \"null\" or a parent fd number\n"
    );
}

#[test]
fn a_diagnostic_carries_file_line_and_one_based_character_column() {
    let error = Config::parse(
        "[[command]]\nname = \"été\"\nprogram = \"x\"\nautostart = \"oui\"\n",
        "f.toml",
    )
    .unwrap_err();
    assert_eq!(
        error.diagnostics,
        vec![Diagnostic {
            file: "f.toml".into(),
            line: 4,
            column: 13,
            message: "`autostart` must be true or false, found the string \"oui\"".into(),
        }]
    );
    // Columns count characters: the `program` value after a multi-byte name.
    let error = Config::parse("[[command]]\nname = \"é\" ; program = 1\n", "f.toml").unwrap_err();
    assert_eq!(error.diagnostics[0].line, 2);
    assert_eq!(error.diagnostics[0].column, 12, "{error}");
}

#[test]
fn loading_names_the_path_and_reports_unreadable_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    fs::write(
        &path,
        "[[command]]\nname = \"x\"\nprogram = \"cat\"\nbogus = 1\n",
    )
    .unwrap();
    let error = Config::load(&path).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}:4:1: unknown key `bogus` in [[command]]; expected `name`, `program`, `args`, `env`, `inherit_env`, `cwd`, `uid`, `gid`, `pty`, `child_fds`, `labels`, `description`, `script`, `ready`, `depends_on`, `autostart` or `log_dir`\n",
            path.display()
        )
    );

    let missing = dir.path().join("missing.toml");
    let error = Config::load(&missing).unwrap_err();
    assert_eq!(error.diagnostics.len(), 1);
    assert_eq!(error.diagnostics[0].line, 0);
    let text = error.to_string();
    assert!(
        text.starts_with(&format!(
            "{}: cannot read the config file: ",
            missing.display()
        )),
        "{text}"
    );

    fs::write(&path, b"[[command]]\nname = \"\xff\"\n").unwrap();
    let error = Config::load(&path).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}:2:9: invalid UTF-8 (byte 0xff; 1 invalid sequence in the file): a config file must be UTF-8 text\n",
            path.display()
        )
    );
}

#[test]
fn syntax_errors_are_capped_for_binary_input() {
    let garbage: Vec<u8> = (0..400u32).map(|i| (i % 32) as u8).collect();
    let error = Config::parse_bytes(&garbage, "garbage.bin").unwrap_err();
    // 20 syntax errors shown, then one line counting the 21 others (fixture
    // `syntax-capped` shows the same cap on a text file).
    assert_eq!(error.diagnostics.len(), 21, "{error}");
    assert!(error.diagnostics[..20]
        .iter()
        .all(|d| d.message.starts_with("TOML syntax error: ")));
    assert_eq!(
        error.diagnostics[20].message,
        "21 more TOML syntax errors not shown"
    );
    assert!(error
        .diagnostics
        .iter()
        .all(|d| d.file == "garbage.bin" && d.line >= 1 && d.column >= 1));
}

// ---------------------------------------------------------------------------------------
// Valid configs: what reaches the ProcessSpec.

#[test]
fn a_minimal_command_gets_the_documented_defaults() {
    let config = parse("[[command]]\nname = \"wc\"\nprogram = \"wc\"\n");
    let wc = config.command("wc").unwrap();
    assert_eq!(wc.spec, ProcessSpec::new("wc").args(["wc"]));
    assert_eq!(wc.spec.args, os(&["wc"]));
    assert!(wc.spec.env.is_empty());
    assert!(!wc.spec.inherit_env);
    assert_eq!(wc.spec.cwd, None);
    assert_eq!((wc.spec.uid, wc.spec.gid), (None, None));
    assert_eq!(wc.spec.pty, None);
    assert_eq!(
        wc.spec.child_fds,
        BTreeMap::from([(0, ChildFd::Write), (1, ChildFd::Read), (2, ChildFd::Read)])
    );
    assert!(wc.script.is_empty());
    assert!(wc.ready.is_none() && wc.depends_on.is_empty());
    assert!(!wc.autostart);
    assert!(wc.labels.is_empty());
    assert_eq!(wc.description, None);
    assert_eq!(
        config.console,
        ConsoleSettings {
            scrollback_lines: 10_000,
            stop_grace_ms: 3000
        }
    );
    assert_eq!(config.console, ConsoleSettings::default());
    assert!(config.command("nope").is_none());
}

#[test]
fn every_key_reaches_the_process_spec() {
    let config = Config::load(&fixtures("valid").join("every-key.toml"))
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        config.console,
        ConsoleSettings {
            scrollback_lines: 500,
            stop_grace_ms: 250
        }
    );
    let names: Vec<&str> = config.commands.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["everything", "minimal"]);

    let all = config.command("everything").unwrap();
    let expected_spec = ProcessSpec::new("/bin/sh")
        .args(["my-shell", "-c", "cat <&3 >&4"])
        .env("LANG", "C.UTF-8")
        .env("WITH SPACE", "v a l")
        .inherit_env(true)
        .cwd("/tmp")
        .uid(65534)
        .gid(65533)
        .child_fds([
            (3, ChildFd::Write),
            (4, ChildFd::Read),
            (5, ChildFd::Null),
            (6, ChildFd::Parent(2)),
        ])
        .pty(PtySize {
            rows: 30,
            cols: 100,
        });
    assert_eq!(all.spec, expected_spec);
    assert_eq!(all.description.as_deref(), Some("all keys set"));
    assert!(all.autostart);
    assert_eq!(
        all.labels,
        BTreeMap::from([
            (1, "terminal".to_owned()),
            (3, "in".to_owned()),
            (4, "out".to_owned())
        ])
    );
    let pattern = |source: &str| Pattern::new(source).unwrap();
    assert_eq!(
        all.script,
        vec![
            Step::Write {
                fd: 3,
                data: b"ab".to_vec(),
                repeat: 3
            },
            Step::Write {
                fd: 0,
                data: b"typed\n".to_vec(),
                repeat: 1
            },
            Step::Close { fd: 3 },
            Step::Expect {
                fd: 1,
                pattern: pattern("^(?P<line>typed)$"),
                timeout: Duration::from_millis(2500)
            },
            Step::Expect {
                fd: 4,
                pattern: pattern("x"),
                timeout: Duration::from_secs(10)
            },
            Step::Close { fd: 0 },
            Step::Signal {
                signal: Signal::SIGUSR1
            },
            Step::Sleep {
                duration: Duration::from_millis(1500)
            },
            Step::Signal {
                signal: Signal::SIGTERM
            },
            Step::Exit {
                want: ExitWant::Signal(Signal::SIGTERM),
                timeout: Duration::from_secs(16)
            },
        ]
    );
    assert_eq!(
        all.ready,
        Some(ReadySpec {
            pattern: pattern("ready"),
            fd: 4,
            timeout: Duration::from_secs(3)
        })
    );
    assert_eq!(all.script[1].describe(), r#"write "typed\n" to fd 0"#);
    assert_eq!(
        config.command("minimal").unwrap().depends_on,
        vec![("everything".to_owned(), Condition::Ready)]
    );
}

#[test]
fn pty_forms_set_the_size_and_take_fds_0_to_2() {
    let config = parse(
        r#"
[[command]]
name = "default-size"
program = "sh"
pty = true

[[command]]
name = "rows-only"
program = "sh"
pty = { rows = 30 }

[[command]]
name = "no-pty"
program = "sh"
pty = false

[[command]]
name = "pty-plus-pipe"
program = "sh"
pty = { cols = 132 }
child_fds = { 3 = "r" }
"#,
    );
    let spec = |name: &str| &config.command(name).unwrap().spec;
    assert_eq!(
        spec("default-size").pty,
        Some(PtySize { rows: 24, cols: 80 })
    );
    assert!(spec("default-size").child_fds.is_empty());
    assert_eq!(spec("rows-only").pty, Some(PtySize { rows: 30, cols: 80 }));
    assert_eq!(spec("no-pty").pty, None);
    assert_eq!(spec("no-pty").child_fds, ProcessSpec::default_child_fds());
    assert_eq!(
        spec("pty-plus-pipe").pty,
        Some(PtySize {
            rows: 24,
            cols: 132
        })
    );
    assert_eq!(
        spec("pty-plus-pipe").child_fds,
        BTreeMap::from([(3, ChildFd::Read)])
    );
}

#[test]
fn child_fds_replace_the_whole_default_map() {
    let config = parse(
        r#"
[[command]]
name = "swap"
program = "cat"
child_fds = { 0 = 1, 1 = 0, 2 = "null", 10 = "w" }

[[command]]
name = "nothing"
program = "true"
child_fds = {}
"#,
    );
    assert_eq!(
        config.command("swap").unwrap().spec.child_fds,
        BTreeMap::from([
            (0, ChildFd::Parent(1)),
            (1, ChildFd::Parent(0)),
            (2, ChildFd::Null),
            (10, ChildFd::Write)
        ])
    );
    assert!(config.command("nothing").unwrap().spec.child_fds.is_empty());
}

#[test]
fn script_on_a_pty_may_type_ctrl_d_repeatedly_and_close_extra_pipes() {
    let config = parse(
        r#"
[[command]]
name = "cat-pty"
program = "cat"
pty = true
child_fds = { 3 = "w", 4 = "r" }
script = [ { write = "a\u0004" }, { close = 0 }, { write = "b\n" }, { close = 0 },
             { write = "x", fd = 3 }, { close = 3 }, { close = 4 } ]
"#,
    );
    let write = |fd, data: &[u8]| Step::Write {
        fd,
        data: data.to_vec(),
        repeat: 1,
    };
    assert_eq!(
        config.command("cat-pty").unwrap().script,
        vec![
            write(0, b"a\x04"),
            Step::Close { fd: 0 },
            write(0, b"b\n"),
            Step::Close { fd: 0 },
            write(3, b"x"),
            Step::Close { fd: 3 },
            Step::Close { fd: 4 },
        ]
    );
}

#[test]
fn commands_may_be_an_inline_array_and_keep_file_order() {
    let config = parse(
        r#"command = [ { name = "z", program = "true" }, { name = "a", program = "false" } ]"#,
    );
    let names: Vec<&str> = config.commands.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["z", "a"]);
    assert_eq!(config.command("a").unwrap().spec.program, "false");
}

#[test]
fn an_empty_file_is_a_config_without_commands() {
    let config = parse("# nothing here\n");
    assert!(config.commands.is_empty());
    assert_eq!(config.console, ConsoleSettings::default());
}

// ---------------------------------------------------------------------------------------
// The shipped files.

#[test]
fn the_example_config_loads_and_shows_every_key() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
    let config = Config::load(&path).unwrap_or_else(|error| panic!("{error}"));
    assert!(!config.commands.is_empty());
    let text = fs::read_to_string(&path).unwrap();
    for key in [
        "scrollback_lines",
        "stop_grace_ms",
        "name",
        "description",
        "program",
        "args",
        "env",
        "inherit_env",
        "cwd",
        "uid",
        "gid",
        "pty",
        "child_fds",
        "labels",
        "script",
        "write",
        "fd",
        "repeat",
        "close",
        "expect",
        "timeout",
        "signal",
        "sleep",
        "exit",
        "ready",
        "depends_on",
        "autostart",
    ] {
        assert!(
            text.contains(&format!("{key} =")),
            "config.example.toml does not show `{key} = …`"
        );
    }
}

/// The built-in commands, in file order; a new one needs a run test below.
const BUILTIN_NAMES: [&str; 19] = [
    "wc",
    "wc-verbose",
    "true",
    "false",
    "bc",
    "bc-pty",
    "inherit",
    "fd4",
    "gpg",
    "shell-pty",
    "pty-status",
    "cat-term",
    "bc-session",
    "bc-session-pty",
    "python-repl",
    "sqlite-shell",
    "gdb-prompt",
    "fortune-server",
    "fortune-client",
];

#[test]
fn the_builtin_config_is_valid_and_has_the_seed_programs() {
    let parsed = Config::parse(BUILTIN_TOML, BUILTIN_ORIGIN);
    let config = parsed.unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(config, Config::builtin());
    let names: Vec<&str> = config.commands.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, BUILTIN_NAMES);
    for command in &config.commands {
        assert!(
            command
                .description
                .as_deref()
                .is_some_and(|d| !d.is_empty()),
            "built-in `{}` has no description",
            command.name
        );
        assert!(!command.autostart, "built-in `{}` autostarts", command.name);
    }
    let inheriting: Vec<&str> = config
        .commands
        .iter()
        .filter(|c| c.spec.inherit_env)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(inheriting, ["shell-pty"], "inherit_env only where needed");

    let gpg = config.command("gpg").unwrap();
    assert_eq!(
        gpg.spec.child_fds,
        BTreeMap::from([
            (0, ChildFd::Write),
            (1, ChildFd::Read),
            (2, ChildFd::Read),
            (3, ChildFd::Write),
            (4, ChildFd::Read)
        ])
    );
    assert_eq!(gpg.labels.get(&3).map(String::as_str), Some("passphrase"));
    assert_eq!(gpg.labels.get(&4).map(String::as_str), Some("status"));
    let inherit = config.command("inherit").unwrap();
    assert_eq!(
        inherit.spec.child_fds,
        BTreeMap::from([
            (0, ChildFd::Parent(0)),
            (1, ChildFd::Parent(1)),
            (2, ChildFd::Parent(2))
        ])
    );
    let fd4 = config.command("fd4").unwrap();
    assert_eq!(fd4.spec.child_fds.get(&4), Some(&ChildFd::Write));
    let pty_status = config.command("pty-status").unwrap();
    assert!(pty_status.spec.pty.is_some());
    assert_eq!(
        pty_status.spec.child_fds,
        BTreeMap::from([(3, ChildFd::Read)])
    );
}

fn builtin(name: &str) -> CommandConfig {
    Config::builtin().command(name).unwrap().clone()
}

// ---------------------------------------------------------------------------------------
// Every built-in command, run for real: spawned by the engine, its script's writes,
// closes and signals applied at connection_made, then what a user would check.

/// Generous bound on any wait, so a bug fails the test instead of hanging it.
const WAIT: Duration = Duration::from_secs(30);

/// One child started from a config entry, with everything it produced so far.
struct Run {
    command: CommandConfig,
    transport: ProcessTransport,
    events: EventStream,
    /// Signals from the script, due at these times.
    signals: Vec<(Instant, Signal)>,
    data: BTreeMap<i32, Vec<u8>>,
    lost: Vec<i32>,
    exited: Option<ExitStatus>,
    ended: Option<ExitStatus>,
    connected: bool,
}

impl Run {
    /// Spawns `command`; must be called inside a tokio runtime.
    fn start(command: &CommandConfig) -> Run {
        let process = spawn(&command.spec).unwrap_or_else(|error| {
            panic!(
                "built-in `{}` could not start: {error}\n(is `{}` installed? CI installs gpg and bc)",
                command.name,
                command.spec.program_display()
            )
        });
        Run {
            command: command.clone(),
            transport: process.transport,
            events: process.events,
            signals: Vec::new(),
            data: BTreeMap::new(),
            lost: Vec::new(),
            exited: None,
            ended: None,
            connected: false,
        }
    }

    /// What happened so far, for failure messages.
    fn transcript(&self) -> String {
        let mut text = format!("built-in `{}`:", self.command.name);
        for (fd, bytes) in &self.data {
            text += &format!("\n  fd {fd}: {:?}", String::from_utf8_lossy(bytes));
        }
        text += &format!(
            "\n  lost {:?}, exited {:?}, ended {:?}",
            self.lost, self.exited, self.ended
        );
        text
    }

    /// What arrived on `fd`, as text.
    fn text(&self, fd: i32) -> String {
        String::from_utf8_lossy(self.data.get(&fd).map_or(&[][..], Vec::as_slice)).into_owned()
    }

    /// The script's writes, closes and signals (a signal after the sleeps before it), at
    /// connection_made. Scripted built-ins (with expects) have their own tests.
    fn apply_script(&mut self) {
        let mut at = Instant::now();
        for step in self.command.script.clone() {
            let result = match &step {
                Step::Write { fd, data, repeat } => self
                    .transport
                    .write_to_child(*fd, data.repeat(*repeat as usize)),
                Step::Close { fd } => self.transport.close_child_fd(*fd),
                Step::Signal { signal } => {
                    self.signals.push((at, *signal));
                    Ok(())
                }
                Step::Sleep { duration } => {
                    at += *duration;
                    Ok(())
                }
                Step::Expect { .. } | Step::Exit { .. } => Ok(()),
            };
            if let Err(error) = result {
                panic!("script {step:?}: {error}\n{}", self.transcript());
            }
        }
    }

    /// Handles one event (or one due signal); checks the event order as it goes.
    async fn step(&mut self) {
        let next_signal = self.signals.iter().map(|(at, _)| *at).min();
        let event = tokio::select! {
            event = self.events.recv() => event,
            _ = sleep_until(next_signal.unwrap_or_else(Instant::now)), if next_signal.is_some() => {
                let now = Instant::now();
                for (_, signal) in self.signals.iter().filter(|(at, _)| *at <= now) {
                    self.transport.signal_process(*signal).unwrap();
                }
                self.signals.retain(|(at, _)| *at > now);
                return;
            }
        };
        let Some(event) = event else {
            panic!("events ended before process_ended\n{}", self.transcript());
        };
        let order = |ok: bool, what: &str| {
            assert!(ok, "{what} out of order: {event:?}");
        };
        match &event {
            ProcessEvent::ConnectionMade { .. } => {
                order(!self.connected, "second connection_made");
                self.connected = true;
                self.apply_script();
            }
            ProcessEvent::ChildDataReceived { fd, data } => {
                order(self.connected && !self.lost.contains(fd), "data");
                self.data.entry(*fd).or_default().extend_from_slice(data);
            }
            ProcessEvent::ChildConnectionLost { fd } => {
                order(self.connected && !self.lost.contains(fd), "connection lost");
                self.lost.push(*fd);
            }
            ProcessEvent::ProcessExited { status } => {
                order(self.connected && self.exited.is_none(), "process_exited");
                self.exited = Some(*status);
            }
            ProcessEvent::ProcessEnded { status } => {
                order(self.exited == Some(*status), "process_ended");
                self.ended = Some(*status);
            }
        }
    }

    /// Runs until `needle` has arrived on `fd`.
    async fn wait_for(&mut self, fd: i32, needle: &str) {
        let waited = timeout(WAIT, async {
            while !self.text(fd).contains(needle) {
                assert!(self.ended.is_none(), "ended before {needle:?} on fd {fd}");
                self.step().await;
            }
        })
        .await;
        if waited.is_err() {
            let _ = self.transport.signal_process(Signal::SIGKILL);
            panic!(
                "no {needle:?} on fd {fd} within {WAIT:?}\n{}",
                self.transcript()
            );
        }
    }

    /// Runs until process_ended; returns the final status.
    async fn finish(&mut self) -> ExitStatus {
        let finished = timeout(WAIT, async {
            while self.ended.is_none() {
                self.step().await;
            }
        })
        .await;
        if finished.is_err() {
            let _ = self.transport.signal_process(Signal::SIGKILL);
            panic!("no process_ended within {WAIT:?}\n{}", self.transcript());
        }
        let mut pipes: Vec<i32> = self
            .command
            .spec
            .child_fds
            .iter()
            .filter(|(_, what)| what.is_pipe())
            .map(|(fd, _)| *fd)
            .collect();
        let mut lost = self.lost.clone();
        pipes.sort();
        lost.sort();
        assert_eq!(
            lost,
            pipes,
            "one connection_lost per pipe\n{}",
            self.transcript()
        );
        self.ended.unwrap()
    }
}

/// Lines, words and bytes, as wc counts them.
fn wc_counts(text: &str) -> [usize; 3] {
    [
        text.matches('\n').count(),
        text.split_whitespace().count(),
        text.len(),
    ]
}

fn parse_wc(output: &str) -> [usize; 3] {
    let numbers: Vec<usize> = output
        .split_whitespace()
        .map(|n| {
            n.parse()
                .unwrap_or_else(|_| panic!("wc printed {output:?}"))
        })
        .collect();
    numbers
        .try_into()
        .unwrap_or_else(|_| panic!("wc printed {output:?}"))
}

#[tokio::test]
async fn builtin_wc_counts_the_guides_sentence() {
    let sentence = "accessing protocols through Twisted is fun!\n";
    let command = builtin("wc");
    assert_eq!(
        command.script,
        [
            Step::Write {
                fd: 0,
                data: sentence.into(),
                repeat: 1
            },
            Step::Close { fd: 0 }
        ]
    );
    let mut run = Run::start(&command);
    assert_eq!(run.finish().await, ExitStatus::Done, "{}", run.transcript());
    assert_eq!(parse_wc(&run.text(1)), wc_counts(sentence));
    assert_eq!(parse_wc(&run.text(1)), [1, 6, 44]);
    assert_eq!(run.text(2), "");
}

#[tokio::test]
async fn builtin_wc_verbose_counts_ten_verses() {
    let verse = "Aleph-null bottles of beer on the wall,\n\
                 Aleph-null bottles of beer,\n\
                 Take one down and pass it around,\n\
                 Aleph-null bottles of beer on the wall.\n";
    let mut run = Run::start(&builtin("wc-verbose"));
    assert_eq!(run.finish().await, ExitStatus::Done, "{}", run.transcript());
    let expected = wc_counts(&verse.repeat(10));
    assert_eq!(expected[0], 40);
    assert_eq!(parse_wc(&run.text(1)), expected, "{}", run.transcript());
}

#[tokio::test]
async fn builtin_true_and_false_give_their_exit_codes() {
    let mut yes = Run::start(&builtin("true"));
    assert_eq!(yes.finish().await, ExitStatus::Done);
    let mut no = Run::start(&builtin("false"));
    let status = no.finish().await;
    assert_eq!(status.exit_code(), Some(1), "{status}");
    assert_eq!(status.signal(), None);
    assert_eq!(yes.text(1) + &no.text(1) + &yes.text(2) + &no.text(2), "");
}

#[tokio::test]
async fn builtin_bc_answers_what_is_typed_into_its_stdin() {
    let mut run = Run::start(&builtin("bc"));
    run.transport.write("2^10\n").unwrap();
    run.wait_for(1, "1024\n").await;
    run.transport.write("scale=2; 22/7\n").unwrap();
    run.transport.close_stdin().unwrap();
    assert_eq!(run.finish().await, ExitStatus::Done, "{}", run.transcript());
    assert_eq!(run.text(1), "1024\n3.14\n");
    assert_eq!(run.text(2), "");
}

#[tokio::test]
async fn builtin_bc_pty_echoes_answers_and_ends_on_ctrl_d() {
    let mut run = Run::start(&builtin("bc-pty"));
    run.transport.write("2^10\n").unwrap();
    run.wait_for(1, "1024\r\n").await;
    assert!(run.text(1).contains("2^10"), "echo: {}", run.transcript());
    // A Ctrl-D typed while readline is out of raw mode (computing, printing) becomes a NUL:
    // type it when bc waits for a key, as a person would.
    engine_support::waiting_for_input(run.transport.pid(), 0).await;
    run.transport.close_stdin().unwrap(); // types Ctrl-D
    assert_eq!(run.finish().await, ExitStatus::Done, "{}", run.transcript());
}

#[tokio::test]
async fn builtin_fd4_reports_what_arrives_on_fd_4() {
    let mut run = Run::start(&builtin("fd4"));
    assert_eq!(run.finish().await, ExitStatus::Done, "{}", run.transcript());
    assert_eq!(
        run.text(1),
        "fd 4 says: hello through fd 4\nfd 4 says: and a second line\nfd 4 was closed by the parent\n"
    );
    assert_eq!(run.text(2), "");
}

#[tokio::test]
async fn builtin_gpg_decrypts_with_the_passphrase_on_fd_3() {
    let mut run = Run::start(&builtin("gpg"));
    let status = run.finish().await;
    assert_eq!(status, ExitStatus::Done, "{}", run.transcript());
    assert_eq!(
        run.text(1),
        "The secret, decrypted by gpg: the passphrase came in on fd 3, the status went out on fd 4.\n"
    );
    assert!(
        run.text(4)
            .lines()
            .any(|line| line == "[GNUPG:] DECRYPTION_OKAY"),
        "{}",
        run.transcript()
    );
}

#[tokio::test]
async fn builtin_shell_pty_runs_commands_typed_into_it() {
    let mut run = Run::start(&builtin("shell-pty"));
    run.transport.write("echo $((6*7))\n").unwrap();
    run.wait_for(1, "42\r\n").await;
    run.transport.write("exit\n").unwrap();
    assert_eq!(run.finish().await, ExitStatus::Done, "{}", run.transcript());
}

#[tokio::test]
async fn builtin_pty_status_prompts_on_the_pty_and_reports_on_fd_3() {
    let mut run = Run::start(&builtin("pty-status"));
    run.wait_for(1, "your name? ").await;
    run.transport.write("fdscope\n").unwrap();
    assert_eq!(run.finish().await, ExitStatus::Done, "{}", run.transcript());
    assert!(
        run.text(1).contains("hello, fdscope\r\n"),
        "{}",
        run.transcript()
    );
    assert_eq!(run.text(3), "greeted fdscope\n");
    assert_eq!(run.lost, [3], "a pty has no connection_lost for fds 0-2");
}

#[tokio::test]
async fn builtin_cat_term_is_killed_by_sigterm() {
    let mut run = Run::start(&builtin("cat-term"));
    let status = run.finish().await;
    assert_eq!(status.signal(), Some(Signal::SIGTERM as i32), "{status}");
    assert_eq!(status.exit_code(), None);
}

/// `inherit` shares fdscope's own fds 0, 1 and 2 with the child, so it is checked from
/// outside: this test runs the test binary again (only `inherit_child_helper`), with
/// pipes as its fds 0, 1 and 2, and looks at what reached them.
#[tokio::test]
async fn builtin_inherit_shares_fds_0_1_2_with_the_parent() {
    let exe = std::env::current_exe().unwrap();
    let spec = ProcessSpec::new(&exe)
        .args([
            exe.as_os_str(),
            "inherit_child_helper".as_ref(),
            "--exact".as_ref(),
            "--ignored".as_ref(),
            "--nocapture".as_ref(),
            "--test-threads=1".as_ref(),
        ])
        .inherit_env(true);
    let outer = CommandConfig {
        name: "test binary running inherit".into(),
        spec,
        script: vec![
            Step::Write {
                fd: 0,
                data: b"a line from the test\n".to_vec(),
                repeat: 1,
            },
            Step::Close { fd: 0 },
        ],
        ready: None,
        depends_on: Vec::new(),
        autostart: false,
        labels: BTreeMap::new(),
        description: None,
    };
    let mut run = Run::start(&outer);
    assert_eq!(run.finish().await, ExitStatus::Done, "{}", run.transcript());
    let stdout = run.text(1);
    for line in [
        "fd 1: this went straight to fdscope's own stdout\n",
        "fd 0: read from fdscope's own stdin: a line from the test\n",
        "inherit helper: done, exit code 0, no pipe events\n",
    ] {
        assert!(
            stdout.contains(line),
            "missing {line:?}\n{}",
            run.transcript()
        );
    }
    assert!(
        run.text(2)
            .contains("fd 2: this went straight to fdscope's own stderr\n"),
        "{}",
        run.transcript()
    );
}

#[tokio::test]
#[ignore = "helper: run by builtin_inherit_shares_fds_0_1_2_with_the_parent with pipes as fds 0-2"]
async fn inherit_child_helper() {
    let mut run = Run::start(&builtin("inherit"));
    let status = run.finish().await;
    assert!(
        run.data.is_empty() && run.lost.is_empty(),
        "{}",
        run.transcript()
    );
    println!("inherit helper: {status}, no pipe events");
}
