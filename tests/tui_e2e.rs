//! End to end: the real console on a real pty, driven by keys, checked on its screen, with
//! real children (bc, sh, yes, sleep). Every wait has a deadline.

mod tui_support;

use fdscope::tui::layout;
use fdscope::tui::pane::PaneKind;
use fdscope::{ChildFd, ProcessSpec, PtySize};
use ratatui::layout::Rect;
use tui_support::*;

/// Not a test of its own: the console process of the tests below (see `tui_support`).
#[test]
#[ignore = "helper: the console process the tests below start with FDSCOPE_TUI_HOST set"]
fn host() {
    let scenario =
        std::env::var("FDSCOPE_TUI_HOST").expect("run by the tests, with FDSCOPE_TUI_HOST");
    let (commands, start) = scenario_commands(&scenario);
    let code = fdscope::tui::run(config(commands), start).expect("console");
    std::process::exit(code);
}

fn scenario_commands(name: &str) -> (Vec<fdscope::config::CommandConfig>, Vec<String>) {
    let one = |cmd: fdscope::config::CommandConfig| {
        let name = cmd.name.clone();
        (vec![cmd], vec![name])
    };
    match name {
        "bc" => one(command("bc", ProcessSpec::new("bc").args(["bc", "-q"]))),
        "fd4" => {
            let mut cmd = command(
                "status",
                sh("read l; echo \"status: $l\" >&4; echo done").child_fd(4, ChildFd::Read),
            );
            cmd.labels.insert(4, "status".into());
            one(cmd)
        }
        "pty" => one(command(
            "shell",
            ProcessSpec::new("sh")
                .args(["sh", "-i"])
                .env("PS1", "$ ")
                .env("TERM", "xterm-256color")
                .env("PATH", "/usr/bin:/bin")
                .pty(PtySize::default()),
        )),
        "flood" => one(command("yes", ProcessSpec::new("yes"))),
        "inherit" => one(command(
            "inherit",
            sh("echo to-stdout; echo to-stderr >&2; read l; echo \"read $l\"").child_fds([
                (0, ChildFd::Parent(0)),
                (1, ChildFd::Parent(1)),
                (2, ChildFd::Parent(2)),
            ]),
        )),
        "ticker" => one(command(
            "ticker",
            sh("while :; do echo tick; sleep 0.1; done"),
        )),
        "seq" => one(command("seq", sh("seq 1 500; sleep 100"))),
        "sleep" => one(command(
            "sleep",
            ProcessSpec::new("sleep").args(["sleep", "1000"]),
        )),
        "echo" => one(command("echo", sh("echo hello; echo oops >&2"))),
        "many" => {
            let cmds = vec![
                command("yes", ProcessSpec::new("yes")),
                command("sleep", ProcessSpec::new("sleep").args(["sleep", "1000"])),
                command("stubborn", sh("trap '' TERM; while :; do sleep 0.2; done")),
                command(
                    "shell",
                    ProcessSpec::new("sh")
                        .args(["sh", "-i"])
                        .env("PS1", "$ ")
                        .pty(PtySize::default()),
                ),
            ];
            let names = cmds.iter().map(|c| c.name.clone()).collect();
            (cmds, names)
        }
        other => panic!("unknown scenario {other}"),
    }
}

/// Starts the console for `scenario` and waits for its first frame.
async fn start(scenario: &str) -> (Console, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut console = Console::start("host", scenario, dir.path());
    console.wait_text("┌ fdscope ", 20).await;
    (console, dir)
}

/// Quits with `q` and checks the terminal came back (main screen) and the exit was clean.
async fn quit(c: &mut Console) {
    c.keys(b"q").await;
    let status = c.wait_end(20).await;
    assert!(status.success(), "console exit: {status}\n{}", c.screen());
    assert!(
        !c.parser.screen().alternate_screen(),
        "terminal not restored"
    );
}

#[tokio::test]
async fn bc_computes_and_ends_on_ctrl_d() {
    let (mut c, _dir) = start("bc").await;
    c.wait_text("#1", 20).await;
    c.wait_text("running", 20).await;
    c.keys(b"i").await;
    c.keys(b"2^10\r").await;
    c.wait_text("│1024", 10).await;
    c.keys(b"\x04").await;
    c.wait_text("ended 0", 10).await;
    c.wait_text("fd 0 → stdin · closed", 10).await;
    c.wait_text("process_ended", 10).await; // the timeline shows the end
    c.keys(b"\x1b").await;
    quit(&mut c).await;
}

#[tokio::test]
async fn a_childs_fd_4_has_its_own_pane() {
    let (mut c, _dir) = start("fd4").await;
    c.wait_text("fd 4 ← status", 20).await;
    c.keys(b"i").await;
    c.keys(b"hello\r").await;
    c.wait_text("status: hello", 10).await;
    c.wait_text("ended 0", 10).await;
    c.wait_text("│done", 10).await; // stdout
    c.wait_text("hello\\n", 10).await; // the stdin pane shows what was sent
    c.keys(b"\x1b").await;
    quit(&mut c).await;
}

#[tokio::test]
async fn a_pty_shell_shows_colours_and_the_pane_size() {
    let (mut c, _dir) = start("pty").await;
    c.wait_text("pty ⇄ terminal", 20).await;
    c.wait_text("$ ", 10).await;
    c.keys(b"p").await;
    c.keys(b"printf '\\033[31mred\\033[0m\\n'; stty size\r")
        .await;
    let areas = layout::areas(
        Rect::new(0, 0, COLS, ROWS),
        &[layout::PaneShape::open(PaneKind::Pty)],
        None,
        true,
    );
    let (rows, cols) = layout::inner(areas.panes[0]);
    c.wait_text(&format!("│{rows} {cols}"), 10).await;
    // The word printed in red is red on the real terminal too.
    let screen = c.parser.screen().clone();
    let (row, col) = screen
        .rows(0, COLS)
        .enumerate()
        .find_map(|(r, line)| {
            let at = line.find("│red ")?;
            Some((r as u16, line[..at].chars().count() as u16 + 1))
        })
        .unwrap_or_else(|| panic!("no line starting with red:\n{}", c.screen()));
    assert_eq!(
        screen.cell(row, col).unwrap().fgcolor(),
        vt100::Color::Idx(1)
    );
    c.wait_text(" PTY ", 10).await; // the hint bar shows the pty has the keys
                                    // Ctrl-A then Esc gives the keys back to the console.
    c.keys(b"\x01").await;
    c.keys(b"\x1b").await;
    c.wait_for("pty focus left", 10, |s| !s.contains(" PTY "))
        .await;
    quit(&mut c).await;
}

#[tokio::test]
async fn help_opens_during_a_flood_and_q_stops_yes() {
    let (mut c, _dir) = start("flood").await;
    c.wait_text("MiB", 20).await;
    let pids = c.wait_pids(1, 10).await;
    c.keys(b"?").await;
    c.wait_text("help · Esc closes", 10).await;
    c.keys(b"\x1b").await;
    c.wait_for("help closed", 10, |s| !s.contains("help · Esc closes"))
        .await;
    quit(&mut c).await;
    assert!(!alive(pids[0]), "yes (pid {}) still running", pids[0]);
}

#[tokio::test]
async fn q_leaves_no_child_behind_even_one_ignoring_term() {
    let (mut c, _dir) = start("many").await;
    c.wait_for("four running instances", 20, |s| {
        s.matches("running").count() >= 4
    })
    .await;
    let pids = c.wait_pids(4, 10).await;
    assert_eq!(pids.len(), 4, "{}", c.screen());
    quit(&mut c).await;
    for pid in pids {
        assert!(!alive(pid), "pid {pid} still running");
    }
}

#[tokio::test]
async fn children_on_the_consoles_own_fds_show_in_the_console_pane() {
    let (mut c, _dir) = start("inherit").await;
    c.wait_text("to-stdout", 20).await;
    c.wait_text("to-stderr", 10).await;
    c.keys(b"i").await;
    c.keys(b"abc\r").await;
    c.wait_text("read abc", 10).await;
    c.wait_text("ended 0", 10).await;
    c.keys(b"\x1b").await;
    quit(&mut c).await;
}

#[tokio::test]
async fn closing_a_read_pipe_kills_the_writer_with_sigpipe() {
    let (mut c, _dir) = start("ticker").await;
    c.wait_text("tick", 20).await;
    c.keys(b"c").await;
    c.wait_text("close fd", 10).await;
    c.keys(b"j").await;
    c.keys(b"\r").await;
    c.wait_text("killed by SIGPIPE", 10).await;
    quit(&mut c).await;
}

#[tokio::test]
async fn the_signal_menu_sends_int() {
    let (mut c, _dir) = start("sleep").await;
    c.wait_text("#1", 20).await;
    c.wait_text("running", 20).await;
    c.keys(b"s").await;
    c.wait_text("send signal", 10).await;
    c.keys(b"j").await;
    c.keys(b"\r").await;
    c.wait_text("killed by SIGINT", 10).await;
    quit(&mut c).await;
}

#[tokio::test]
async fn transcript_is_saved_as_json_lines_and_restart_starts_again() {
    let (mut c, dir) = start("echo").await;
    c.wait_text("ended 0", 20).await;
    let pid = c.wait_pids(1, 10).await[0];
    c.keys(b"w").await;
    c.wait_text("saved", 10).await;
    let path = dir.path().join(format!("fdscope-echo-{pid}.jsonl"));
    let text = std::fs::read_to_string(&path).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events[0]["event"], "connection_made");
    assert_eq!(events[0]["pid"], pid);
    assert_eq!(events.last().unwrap()["event"], "process_ended");
    assert!(
        events
            .iter()
            .any(|e| e["fd"] == 1 && e["data"] == "hello\n"),
        "{text}"
    );
    assert!(
        events.iter().any(|e| e["fd"] == 2 && e["data"] == "oops\n"),
        "{text}"
    );
    assert!(
        events
            .iter()
            .all(|e| e["t_ms"].is_number() && e["name"] == "echo"),
        "{text}"
    );
    c.keys(b"r").await;
    c.wait_text("#2", 10).await;
    quit(&mut c).await;
}

#[tokio::test]
async fn sigterm_to_the_console_stops_children_and_restores_the_terminal() {
    let (mut c, _dir) = start("sleep").await;
    c.wait_text("#1", 20).await;
    c.wait_text("running", 20).await;
    let pids = c.wait_pids(1, 10).await;
    c.transport
        .signal_process(fdscope::Signal::SIGTERM)
        .unwrap();
    let status = c.wait_end(20).await;
    assert!(status.success(), "console exit: {status}");
    assert!(
        !c.parser.screen().alternate_screen(),
        "terminal not restored"
    );
    assert!(!alive(pids[0]), "sleep (pid {}) still running", pids[0]);
}

#[tokio::test]
async fn zooming_the_pty_pane_resizes_the_childs_terminal() {
    let (mut c, _dir) = start("pty").await;
    c.wait_text("$ ", 20).await;
    c.keys(b"t").await; // hide the timeline: the pane grows
    c.keys(b"z").await;
    c.keys(b"p").await;
    c.keys(b"stty size\r").await;
    let areas = layout::areas(
        Rect::new(0, 0, COLS, ROWS),
        &[layout::PaneShape::open(PaneKind::Pty)],
        Some(0),
        false,
    );
    let (rows, cols) = layout::inner(areas.panes[0]);
    c.wait_text(&format!("│{rows} {cols}"), 10).await;
    c.keys(b"\x01").await;
    c.keys(b"\x1b").await;
    quit(&mut c).await;
}

#[tokio::test]
async fn a_panic_restores_the_terminal_and_shows_the_message() {
    // The real binary: a debug build panics on the key named by FDSCOPE_TEST_PANIC_ON_KEY.
    let dir = tempfile::tempdir().unwrap();
    let mut c = Console::binary_env(
        &[],
        &[("FDSCOPE_TEST_PANIC_ON_KEY", "P"), ("RUST_BACKTRACE", "0")],
        dir.path(),
    );
    c.wait_text("┌ fdscope ", 20).await;
    c.keys(b"P").await;
    let status = c.wait_end(20).await;
    assert!(!status.success());
    assert!(
        !c.parser.screen().alternate_screen(),
        "terminal not restored"
    );
    assert!(c.screen().contains("test panic on key P"), "{}", c.screen());
}

#[tokio::test]
async fn the_mouse_wheel_scrolls_a_pane_and_y_copies_with_osc_52() {
    let (mut c, _dir) = start("seq").await;
    c.wait_text("│500 ", 20).await;
    // Wheel up (SGR mouse: button 64) over the stdout pane.
    let screen = c.screen();
    let row = screen
        .lines()
        .position(|l| l.contains("fd 1 ← stdout"))
        .unwrap()
        + 3;
    c.keys(format!("\x1b[<64;80;{}M", row + 1).as_bytes()).await;
    c.wait_text("↑3", 10).await;
    c.keys(b"\x1b[C").await; // → focuses stdout (`l` is the lanes view)
    c.keys(b"y").await;
    c.wait_text("copied", 10).await;
    assert!(
        c.osc52.iter().any(|text| text.contains("497")),
        "{:?}",
        c.osc52
    );
    quit(&mut c).await;
}
