//! Runs the interactive console on a small built-in set of commands (bc, cat, a pty shell,
//! a child writing fd 4, a `yes` flood, a child on the console's own fds), for trying the
//! console before `fdscope --config` is wired. `tui_demo [--start NAME]...`

use fdscope::config::{CommandConfig, Config, ConsoleSettings, StartAction};
use fdscope::{ChildFd, ProcessSpec, PtySize};
use std::collections::BTreeMap;

fn command(name: &str, spec: ProcessSpec) -> CommandConfig {
    CommandConfig {
        name: name.into(),
        spec,
        on_start: Vec::new(),
        autostart: false,
        labels: BTreeMap::new(),
        description: None,
    }
}

fn main() -> anyhow::Result<()> {
    let sh = |script: &str| ProcessSpec::new("sh").args(["sh", "-c", script]);
    let mut fd4 = command(
        "fd4",
        sh("while read l; do echo \"got $l\" >&4; echo \"stdout $l\"; done")
            .child_fd(4, ChildFd::Read),
    );
    fd4.labels.insert(4, "status".into());
    let mut wc = command("wc", ProcessSpec::new("wc"));
    wc.on_start = vec![
        StartAction::Write {
            fd: 0,
            data: b"Aleph-null bottles of beer on the wall,\n".to_vec(),
        },
        StartAction::Close { fd: 0 },
    ];
    let config = Config {
        commands: vec![
            command("bc", ProcessSpec::new("bc").args(["bc", "-q"])),
            command("cat", ProcessSpec::new("cat")),
            wc,
            fd4,
            command(
                "shell",
                ProcessSpec::new("sh")
                    .args(["sh", "-i"])
                    .env("TERM", "xterm-256color")
                    .env("PS1", "$ ")
                    .inherit_env(true)
                    .pty(PtySize::default()),
            ),
            command("yes", ProcessSpec::new("yes")),
            command(
                "inherit",
                sh("echo to-stdout; echo to-stderr >&2; read l; echo \"read $l\"").child_fds([
                    (0, ChildFd::Parent(0)),
                    (1, ChildFd::Parent(1)),
                    (2, ChildFd::Parent(2)),
                ]),
            ),
        ],
        console: ConsoleSettings {
            scrollback_lines: 10_000,
            stop_grace_ms: 3000,
        },
    };
    let mut start = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--start" {
            start.extend(args.next());
        }
    }
    let code = fdscope::tui::run(config, start)?;
    std::process::exit(code);
}
