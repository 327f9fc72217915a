//! The real console (`fdscope --config FILE --start NAME`) on a pty, against children that
//! flood, write garbage into a terminal, ignore TERM, or list the fds they got; and the
//! console itself sent signals or losing its terminal. Checked on the screen and in /proc.

mod hardening_support;
mod tui_support;

use std::path::Path;
use tui_support::Console;

/// Writes `commands` (TOML `[[command]]` tables) as a config with a 500 ms grace period.
fn config(dir: &Path, commands: &str) -> String {
    let path = dir.join("hardening.toml");
    std::fs::write(
        &path,
        format!("[console]\nstop_grace_ms = 500\n\n{commands}"),
    )
    .unwrap();
    path.to_str().unwrap().to_owned()
}

async fn open(dir: &Path, commands: &str, start: &[&str]) -> Console {
    let file = config(dir, commands);
    let mut args = vec!["--config", file.as_str()];
    for name in start {
        args.extend(["--start", name]);
    }
    let mut c = Console::binary(&args, dir);
    c.wait_text("┌ fdscope ", 20).await;
    c
}

/// Quits with `q`: a clean exit, the main screen back.
async fn quit(c: &mut Console) {
    c.keys(b"q").await;
    let status = c.wait_end(20).await;
    assert!(status.success(), "console exit: {status}\n{}", c.screen());
    assert!(
        !c.parser.screen().alternate_screen(),
        "terminal not restored"
    );
}

/// Peak memory of the console process (VmHWM), in MiB.
fn peak_mib(c: &Console) -> u64 {
    hardening_support::status_kib(c.transport.pid(), "VmHWM") / 1024
}

/// 100 MB without a newline into a pipe pane: shown, counted, and the console's peak
/// memory stays under the 100 MiB budget.
#[tokio::test]
async fn a_100_mb_line_without_newline_keeps_the_console_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let commands = r#"
[[command]]
name = "flood"
program = "sh"
args = ["sh", "-c", "head -c 104857600 /dev/zero | tr '\\0' x; exec sleep 60"]
"#;
    let mut c = open(dir.path(), commands, &["flood"]).await;
    c.wait_text("100.0 MiB", 60).await;
    c.wait_text("│xxxxxxxx", 10).await;
    let peak = peak_mib(&c);
    eprintln!("console peak memory: {peak} MiB");
    assert!(peak < 100, "console peak memory {peak} MiB");
    quit(&mut c).await;
}

/// Invalid UTF-8, an OSC string that never ends (120 MB), random bytes (every escape
/// sequence, unterminated ones included) into a pty pane: the pane still works after a
/// reset, and the console's peak memory stays under 100 MiB.
#[tokio::test]
async fn garbage_and_endless_escapes_into_a_pty_pane_keep_the_console_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let script = [
        r"printf '\377\376\300\200 bad utf-8 \355\240\200\033[';",
        r"printf '\033]0;'; head -c 125829120 /dev/zero | tr '\0' z;",
        r"printf '\033P'; head -c 1000000 /dev/zero | tr '\0' q;",
        r"head -c 3000000 /dev/urandom;",
        r"printf '\030\033\\\033c\r\nEND-OF-%s\r\n' GARBAGE; exec sleep 60",
    ]
    .concat();
    let commands = format!(
        "[[command]]\nname = \"garbage\"\nprogram = \"sh\"\nargs = [\"sh\", \"-c\", {script:?}]\npty = true\n"
    );
    let mut c = open(dir.path(), &commands, &["garbage"]).await;
    c.wait_text("END-OF-GARBAGE", 90).await;
    let peak = peak_mib(&c);
    eprintln!("console peak memory: {peak} MiB");
    assert!(peak < 100, "console peak memory {peak} MiB");
    quit(&mut c).await;
}

/// Children for the signal tests: one that sleeps, a shell on a pty, and one that ignores
/// TERM, HUP and INT (started last, so its output is on the screen).
const STUBBORN: &str = r#"
[[command]]
name = "sleeper"
program = "sleep"
args = ["sleep", "1000"]

[[command]]
name = "shell"
program = "sh"
args = ["sh", "-i"]
env = { PS1 = "$ " }
pty = true

[[command]]
name = "stubborn"
program = "sh"
args = ["sh", "-c", "trap '' TERM HUP INT; echo armed; while :; do sleep 0.2; done"]
"#;

const ALL: [&str; 3] = ["sleeper", "shell", "stubborn"];

/// The words `stty -a` printed after the console ended (between the wrapper's markers).
fn stty_words(raw: &str) -> Vec<String> {
    let after = raw.rsplit("STTY-BEGIN").next().unwrap_or_default();
    let before = after.split("STTY-DONE").next().unwrap_or_default();
    before
        .split(|c: char| c.is_whitespace() || c == ';')
        .map(String::from)
        .collect()
}

/// The terminal is back in cooked mode: canonical input, echo, signals, output processing.
fn assert_cooked(raw: &str) {
    let words = stty_words(raw);
    assert!(
        words.iter().any(|w| w == "speed"),
        "no stty output: {raw:?}"
    );
    for flag in ["icanon", "echo", "isig", "opost"] {
        assert!(
            words.iter().any(|w| w == flag) && !words.iter().any(|w| *w == format!("-{flag}")),
            "terminal left without {flag}: {words:?}"
        );
    }
}

/// Runs the real console under `sh`, which prints the terminal's modes once it is gone.
fn console_in_shell(dir: &Path, config: &str, start: &[&str]) -> hardening_support::Pty {
    console_in_shell_env(dir, config, start, &[])
}

/// [`console_in_shell`] with variables added to the console's environment.
fn console_in_shell_env(
    dir: &Path,
    config: &str,
    start: &[&str],
    env: &[(&str, &str)],
) -> hardening_support::Pty {
    let mut script = String::from("\"$0\" --config \"$1\"");
    for name in start {
        script.push_str(&format!(" --start {name}"));
    }
    script.push_str("; echo STTY-BEGIN; stty -a; echo STTY-DONE; exec sleep 60");
    let exe = env!("CARGO_BIN_EXE_fdscope");
    let mut spec = fdscope::ProcessSpec::new("sh")
        .args(["sh", "-c", &script, exe, config])
        .env("PATH", "/usr/bin:/bin")
        .cwd(dir);
    for &(name, value) in env {
        spec = spec.env(name, value);
    }
    hardening_support::Pty::start(spec)
}

/// SIGTERM or SIGHUP to the console: every child stops (the stubborn one by KILL after the
/// grace period), the terminal is back in cooked mode on the main screen.
async fn signal_to_the_console(signal: i32) {
    let dir = tempfile::tempdir().unwrap();
    let file = config(dir.path(), STUBBORN);
    let mut t = console_in_shell(dir.path(), &file, &ALL);
    t.wait_screen("armed", 30).await;
    t.wait("three pids", 20, |screen, _| {
        tui_support::pids(screen).len() >= 3
    })
    .await;
    let pids = tui_support::pids(&t.parser.screen().contents());
    let console = hardening_support::children_of(t.transport.pid())
        .into_iter()
        .find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "fdscope")
        })
        .expect("the console process");
    // SAFETY: kill(2) on the console, a process this test started.
    assert_eq!(unsafe { libc::kill(console as i32, signal) }, 0);
    t.wait_raw("STTY-DONE", 20).await;
    assert!(
        !t.parser.screen().alternate_screen(),
        "still on the alternate screen"
    );
    assert_cooked(&t.raw);
    for pid in pids {
        assert!(!hardening_support::alive(pid), "child {pid} still running");
    }
}

#[tokio::test]
async fn sigterm_to_the_console_stops_every_child_and_restores_cooked_mode() {
    signal_to_the_console(libc::SIGTERM).await;
}

#[tokio::test]
async fn sighup_to_the_console_stops_every_child_and_restores_cooked_mode() {
    signal_to_the_console(libc::SIGHUP).await;
}

/// `q` with a child that ignores TERM: KILL after the grace period, nothing left running,
/// cooked mode back. (tests/tui_e2e.rs::q_leaves_no_child_behind_even_one_ignoring_term
/// checks the same through the library entry point.)
#[tokio::test]
async fn q_kills_a_child_ignoring_term_and_restores_cooked_mode() {
    let dir = tempfile::tempdir().unwrap();
    let file = config(dir.path(), STUBBORN);
    let mut t = console_in_shell(dir.path(), &file, &ALL);
    t.wait_screen("armed", 30).await;
    t.wait("three pids", 20, |s, _| tui_support::pids(s).len() >= 3)
        .await;
    let pids = tui_support::pids(&t.parser.screen().contents());
    t.keys(b"q").await;
    t.wait_raw("STTY-DONE", 20).await;
    assert_cooked(&t.raw);
    for pid in pids {
        assert!(!hardening_support::alive(pid), "child {pid} still running");
    }
}

/// `x` on a child that ignores TERM: the stop escalates to KILL after the grace period.
#[tokio::test]
async fn stop_escalates_to_kill_for_a_child_ignoring_term() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = open(dir.path(), STUBBORN, &["stubborn"]).await;
    c.wait_text("armed", 20).await;
    let pid = c.wait_pids(1, 10).await[0];
    c.keys(b"x").await;
    c.wait_text("sent SIGTERM", 10).await;
    c.wait_text("killed by SIGKILL", 10).await;
    assert!(!hardening_support::alive(pid));
    quit(&mut c).await;
}

/// The console loses its terminal (the pty master closes: a hangup, then write errors):
/// it still stops every child and exits.
#[tokio::test]
async fn losing_the_terminal_stops_every_child() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = open(dir.path(), STUBBORN, &ALL).await;
    c.wait_text("armed", 20).await;
    let pids = c.wait_pids(3, 20).await;
    c.transport.lose_connection();
    c.wait_end(20).await;
    for pid in pids {
        hardening_support::wait_until(&format!("child {pid} gone"), 10, || {
            !hardening_support::alive(pid)
        });
    }
}

/// A child of the console gets exactly its mapped fds: not the console's terminal, not its
/// saved stdio copies, not the pty master or pipes of the other children.
#[tokio::test]
async fn a_console_child_gets_exactly_its_mapped_fds() {
    let dir = tempfile::tempdir().unwrap();
    let commands = r#"
[[command]]
name = "shell"
program = "sh"
args = ["sh", "-i"]
env = { PS1 = "$ " }
pty = true

[[command]]
name = "other"
program = "sleep"
args = ["sleep", "1000"]
child_fds = { 0 = "w", 1 = "r", 2 = "r", 4 = "r" }

[[command]]
name = "lister"
program = "sh"
args = ["sh", "-c", "ls -C /proc/$$/fd; echo END"]
child_fds = { 0 = "w", 1 = "r", 2 = "r", 3 = "r" }
"#;
    let mut c = open(dir.path(), commands, &["shell", "other", "lister"]).await;
    c.wait_text("│END", 20).await;
    let screen = c.screen();
    let listed: Vec<&str> = screen
        .lines()
        .flat_map(|line| line.split('│'))
        .map(str::trim)
        .filter(|cell| cell.starts_with("0  1  2"))
        .collect();
    assert_eq!(listed, ["0  1  2  3"], "{screen}");
    quit(&mut c).await;
}

/// A panic inside the real console (a debug build panics on the key named by
/// `FDSCOPE_TEST_PANIC_ON_KEY`): the terminal is back in cooked mode on the main screen,
/// the message is shown, and the console's child is killed, not left running.
#[tokio::test]
async fn a_panic_restores_cooked_mode_and_kills_the_children() {
    let dir = tempfile::tempdir().unwrap();
    let file = config(
        dir.path(),
        "[[command]]\nname = \"sleeper\"\nprogram = \"sleep\"\nargs = [\"sleep\", \"1000\"]\n",
    );
    let mut t = console_in_shell_env(
        dir.path(),
        &file,
        &["sleeper"],
        &[("FDSCOPE_TEST_PANIC_ON_KEY", "P")],
    );
    t.wait("the child's pid", 20, |screen, _| {
        tui_support::pids(screen).len() == 1
    })
    .await;
    let pid = tui_support::pids(&t.parser.screen().contents())[0];
    assert!(hardening_support::alive(pid));
    t.keys(b"P").await;
    t.wait_raw("STTY-DONE", 20).await;
    assert!(t.raw.contains("test panic on key P"), "{}", t.raw);
    assert!(
        !t.parser.screen().alternate_screen(),
        "still on the alternate screen"
    );
    assert_cooked(&t.raw);
    hardening_support::wait_until("the child killed", 10, || !hardening_support::alive(pid));
}

/// `L` (lose_connection) on a real child: every pipe is closed. The child, blocked
/// reading its stdin, gets EOF, then finds its stdout and stderr gone (writes fail; it
/// ignores SIGPIPE to tell), notes each in a file, and ends with its own exit code.
#[tokio::test]
async fn lose_connection_closes_every_pipe_of_a_real_child() {
    let dir = tempfile::tempdir().unwrap();
    let script = "trap '' PIPE; echo armed; read l || echo stdin-eof >> seen; \
                  while echo x 2>/dev/null; do :; done; echo stdout-closed >> seen; \
                  while echo y >&2; do :; done; echo stderr-closed >> seen; exit 3";
    let mut c = open(
        dir.path(),
        &format!(
            "[[command]]\nname = \"loser\"\nprogram = \"sh\"\nargs = [\"sh\", \"-c\", {script:?}]\n"
        ),
        &["loser"],
    )
    .await;
    c.wait_text("armed", 20).await;
    let pid = c.wait_pids(1, 10).await[0];
    assert!(!dir.path().join("seen").exists());
    c.keys(b"L").await;
    let seen = dir.path().join("seen");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !std::fs::read_to_string(&seen).is_ok_and(|s| s.lines().count() == 3) {
        assert!(
            std::time::Instant::now() < deadline,
            "the child's notes: {:?}\n{}",
            std::fs::read_to_string(&seen),
            c.screen()
        );
        c.pump(std::time::Duration::from_millis(5)).await;
    }
    c.wait_text("ended 3", 20).await;
    assert_eq!(
        std::fs::read_to_string(dir.path().join("seen")).unwrap(),
        "stdin-eof\nstdout-closed\nstderr-closed\n"
    );
    assert!(!hardening_support::alive(pid));
    quit(&mut c).await;
}

/// `x` on a child that notes TERM and ignores it: TERM first (the child writes it down),
/// then KILL, and not before the grace period: the child is still seen alive well into
/// it (half of a 1.5 s grace, measured from when its TERM note is seen, so that a busy
/// machine delaying the test cannot fail it).
#[tokio::test]
async fn stop_sends_term_then_kill_after_the_grace_period() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grace.toml");
    std::fs::write(
        &path,
        "[console]\nstop_grace_ms = 1500\n\n[[command]]\nname = \"noter\"\nprogram = \"sh\"\n\
         args = [\"sh\", \"-c\", \"trap 'echo TERM >> log' TERM; echo armed; while :; do sleep 0.05; done\"]\n",
    )
    .unwrap();
    let mut c = Console::binary(
        &["--config", path.to_str().unwrap(), "--start", "noter"],
        dir.path(),
    );
    c.wait_text("armed", 20).await;
    let pid = c.wait_pids(1, 10).await[0];
    c.keys(b"x").await;
    let log = dir.path().join("log");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !log.exists() {
        assert!(Instant::now() < deadline, "no TERM note");
        c.pump(Duration::from_millis(5)).await;
    }
    let noted = Instant::now();
    let mut last_alive = noted;
    let deadline = noted + Duration::from_secs(20);
    loop {
        match hardening_support::state(pid) {
            Some(state) if state != 'Z' => last_alive = Instant::now(),
            _ => break,
        }
        assert!(Instant::now() < deadline, "the child was never killed");
        // Keep reading the console's screen meanwhile, so it never waits on its terminal.
        c.pump(Duration::from_millis(5)).await;
    }
    assert!(
        last_alive - noted >= Duration::from_millis(750),
        "KILL came {:?} after TERM was noted, grace is 1.5 s",
        last_alive - noted
    );
    c.wait_text("killed by SIGKILL", 10).await;
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "TERM\n");
    quit(&mut c).await;
}
