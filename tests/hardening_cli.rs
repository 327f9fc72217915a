//! Bad input on the command line and in config files, through the real binary: every
//! malformed option is a usage error (exit 2) naming the option; `fdscope check` reports
//! every error of a file with file, line and column. And signals sent to `fdscope run`
//! with several configured children. Every child process is bounded by a deadline.

mod cli_support;
mod hardening_support;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs the binary to its end (output read on threads); past 20 s it is killed and the
/// test fails.
fn fdscope(args: &[&str], cwd: &Path) -> Output {
    cli_support::output_within(
        Command::new(env!("CARGO_BIN_EXE_fdscope"))
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null()),
        20,
    )
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/configs")
}

/// Every option of `run`, `output`, `value`, `check` and the console, malformed in every
/// way we could think of: exit code 2, the option named on stderr, no child started.
#[test]
fn every_malformed_option_is_a_usage_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bad = fixtures().join("invalid/numbers.toml");
    let bad = bad.to_str().unwrap();
    let good = fixtures().join("valid/every-key.toml");
    let good = good.to_str().unwrap();
    let marker = dir.path().join("ran");
    let ran = format!("touch {}", marker.display());
    #[rustfmt::skip]
    let table: Vec<(Vec<&str>, &str)> = vec![
        // run: --fd
        (vec!["run", "--fd"], "--fd"),
        (vec!["run", "--fd", "3", "--", "sh", "-c", &ran], "--fd"),
        (vec!["run", "--fd", "=r", "--", "sh", "-c", &ran], "--fd"),
        (vec!["run", "--fd", "3=", "--", "sh", "-c", &ran], "--fd"),
        (vec!["run", "--fd", "3=rw", "--", "sh", "-c", &ran], "--fd"),
        (vec!["run", "--fd", "three=r", "--", "sh", "-c", &ran], "--fd"),
        (vec!["run", "--fd", "-1=r", "--", "sh", "-c", &ran], "--fd"),
        (vec!["run", "--fd", "5000=r", "--", "sh", "-c", &ran], "--fd"),
        (vec!["run", "--fd", "99999999999=r", "--", "sh", "-c", &ran], "--fd"),
        (vec!["run", "--fd", "3=-2", "--", "sh", "-c", &ran], "--fd"),
        (vec!["run", "--fd", "3=r", "--fd", "3=w", "--", "sh", "-c", &ran], "--fd 3"),
        (vec!["run", "--pty", "--fd", "1=r", "--", "sh", "-c", &ran], "--fd 1"),
        (vec!["run", "--pty-size", "30x100", "--fd", "0=w", "--", "sh", "-c", &ran], "--fd 0"),
        // run: --pty, --pty-size
        (vec!["run", "--pty=yes", "--", "sh", "-c", &ran], "--pty"),
        (vec!["run", "--pty-size"], "--pty-size"),
        (vec!["run", "--pty-size", "24by80", "--", "sh", "-c", &ran], "--pty-size"),
        (vec!["run", "--pty-size", "0x80", "--", "sh", "-c", &ran], "--pty-size"),
        (vec!["run", "--pty-size", "24x", "--", "sh", "-c", &ran], "--pty-size"),
        (vec!["run", "--pty-size", "99999x80", "--", "sh", "-c", &ran], "--pty-size"),
        // run: --env, --inherit-env, --cwd, --uid, --gid, --argv0
        (vec!["run", "--env"], "--env"),
        (vec!["run", "--env", "NOEQUALS", "--", "sh", "-c", &ran], "--env"),
        (vec!["run", "--env", "=v", "--", "sh", "-c", &ran], "--env"),
        (vec!["run", "--inherit-env=1", "--", "sh", "-c", &ran], "--inherit-env"),
        (vec!["run", "--cwd"], "--cwd"),
        (vec!["run", "--cwd", "", "--", "sh", "-c", &ran], "--cwd"),
        (vec!["run", "--uid", "abc", "--", "sh", "-c", &ran], "--uid"),
        (vec!["run", "--uid", "-5", "--", "sh", "-c", &ran], "--uid"),
        (vec!["run", "--uid", "4294967296", "--", "sh", "-c", &ran], "--uid"),
        (vec!["run", "--gid", "x", "--", "sh", "-c", &ran], "--gid"),
        (vec!["run", "--gid", "-1", "--", "sh", "-c", &ran], "--gid"),
        (vec!["run", "--argv0"], "--argv0"),
        // run: --write, --close, --signal
        (vec!["run", "--write"], "--write"),
        (vec!["run", "--write", "noequals", "--", "sh", "-c", &ran], "--write"),
        (vec!["run", "--write", "x=1", "--", "sh", "-c", &ran], "--write"),
        (vec!["run", "--write", "-3=x", "--", "sh", "-c", &ran], "--write"),
        (vec!["run", "--write", "4096=x", "--", "sh", "-c", &ran], "--write"),
        (vec!["run", "--close"], "--close"),
        (vec!["run", "--close", "x", "--", "sh", "-c", &ran], "--close"),
        (vec!["run", "--close", "-1", "--", "sh", "-c", &ran], "--close"),
        (vec!["run", "--close", "9999", "--", "sh", "-c", &ran], "--close"),
        (vec!["run", "--signal"], "--signal"),
        (vec!["run", "--signal", "10", "--", "sh", "-c", &ran], "--signal"),
        (vec!["run", "--signal", "x:TERM", "--", "sh", "-c", &ran], "--signal"),
        (vec!["run", "--signal", "-5:TERM", "--", "sh", "-c", &ran], "--signal"),
        (vec!["run", "--signal", "10:", "--", "sh", "-c", &ran], "--signal"),
        (vec!["run", "--signal", "10:NOPE", "--", "sh", "-c", &ran], "--signal"),
        (vec!["run", "--signal", "10:99", "--", "sh", "-c", &ran], "--signal"),
        // run: output options
        (vec!["run", "--json=1", "--", "sh", "-c", &ran], "--json"),
        (vec!["run", "--events"], "--events"),
        (vec!["run", "--no-data=1", "--", "sh", "-c", &ran], "--no-data"),
        (vec!["run", "--summary=x", "--", "sh", "-c", &ran], "--summary"),
        (vec!["run", "--bogus", "--", "sh", "-c", &ran], "--bogus"),
        // run: --config and NAMEs
        (vec!["run", "--config"], "--config"),
        (vec!["run", "--config", "/no/such/file.toml", "x"], "--config"),
        (vec!["run", "--config", bad, "x"], "--config"),
        (vec!["run", "--config", good], "--config"),
        (vec!["run", "--config", good, "no-such-command"], "no-such-command"),
        // output and value share the spawn options
        (vec!["output"], "not provided:\n  <PROGRAM>"),
        (vec!["output", "--fd", "3=x", "--", "sh", "-c", &ran], "--fd"),
        (vec!["output", "--uid", "x", "--", "sh", "-c", &ran], "--uid"),
        (vec!["output", "--pty-size", "1", "--", "sh", "-c", &ran], "--pty-size"),
        (vec!["value"], "not provided:\n  <PROGRAM>"),
        (vec!["value", "--env", "=", "--", "sh", "-c", &ran], "--env"),
        (vec!["value", "--fd", "7=r", "--fd", "7=w", "--", "sh", "-c", &ran], "--fd 7"),
        (vec!["value", "--gid", "g", "--", "sh", "-c", &ran], "--gid"),
        // check
        (vec!["check"], "not provided:\n  <FILE>"),
        (vec!["check", "a.toml", "b.toml"], "b.toml"),
        (vec!["check", "--bogus", "a.toml"], "--bogus"),
        // the console
        (vec!["--config"], "--config"),
        (vec!["--config", "/no/such/file.toml"], "--config"),
        (vec!["--config", bad], "--config"),
        (vec!["--start"], "--start"),
        (vec!["--start", "no-such-command"], "--start no-such-command"),
        (vec!["--config", good, "--start", "nope"], "--start nope"),
        (vec!["--bogus"], "--bogus"),
        (vec!["no-such-subcommand"], "no-such-subcommand"),
    ];
    let mut failures = Vec::new();
    for (args, option) in &table {
        let out = fdscope(args, dir.path());
        let stderr = text(&out.stderr);
        if out.status.code() != Some(2) || !stderr.contains(option) {
            failures.push(format!(
                "{args:?}: exit {:?}, stderr {stderr:?} (wanted 2 naming {option})",
                out.status.code()
            ));
        }
        if marker.exists() {
            failures.push(format!("{args:?}: the child ran"));
            std::fs::remove_file(&marker).unwrap();
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `fdscope check` on each invalid fixture prints exactly its expected diagnostics
/// (`file:line:col: message`, every error of the file) on stderr and exits 1; a valid
/// file gets `ok` and exit 0.
#[test]
fn check_reports_every_error_of_every_fixture_through_the_binary() {
    let dir = fixtures().join("invalid");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    assert!(names.len() >= 25, "{names:?}");
    let mut failures = Vec::new();
    for name in &names {
        let out = fdscope(&["check", name], &dir);
        let expected =
            std::fs::read_to_string(dir.join(name.replace(".toml", ".expected"))).unwrap();
        let stderr = text(&out.stderr);
        if out.status.code() != Some(1) || stderr != expected || !out.stdout.is_empty() {
            failures.push(format!(
                "== {name}: exit {:?}\n-- expected:\n{expected}-- got:\n{stderr}",
                out.status.code()
            ));
        }
        // Every line points at a place in the file.
        for line in stderr.lines() {
            let mut parts = line.splitn(4, ':');
            let (file, l, c) = (parts.next(), parts.next(), parts.next());
            assert_eq!(file, Some(name.as_str()), "{line}");
            assert!(
                l.and_then(|l| l.parse::<usize>().ok())
                    .is_some_and(|l| l >= 1),
                "{line}"
            );
            assert!(
                c.and_then(|c| c.parse::<usize>().ok())
                    .is_some_and(|c| c >= 1),
                "{line}"
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    let valid = fixtures().join("valid");
    let out = fdscope(&["check", "every-key.toml"], &valid);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("every-key.toml: ok"),
        "{}",
        text(&out.stdout)
    );

    let out = fdscope(&["check", "missing.toml"], &valid);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("missing.toml: cannot read the config file"));
}

/// Several errors in different commands of one file: all reported, in file order.
#[test]
fn check_reports_all_errors_not_just_the_first() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("many.toml"),
        r#"[[command]]
name = "a"
program = "cat"
child_fds = { 0 = "w", 1 = "rw" }

[[command]]
name = ""
program = "cat"
pty = true
child_fds = { 1 = "r" }

[[command]]
name = "a"
program = 7
script = [ { signal = "NOPE" } ]
"#,
    )
    .unwrap();
    let out = fdscope(&["check", "many.toml"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "many.toml:4:28: `child_fds`: fd 1 has invalid value \"rw\", expected \"r\", \"w\", \"null\" or a parent fd number\n\
         many.toml:7:8: `name` must not be empty\n\
         many.toml:10:15: `child_fds`: fd 1 cannot be mapped with `pty`: the pty is the child's fds 0, 1 and 2; map extra fds from 3 up\n\
         many.toml:13:8: duplicate command name `a` (first defined on line 2)\n\
         many.toml:14:11: `program` must be a string, found the integer 7\n\
         many.toml:15:23: `script`: unknown signal \"NOPE\"; expected a name such as TERM, INT, HUP, KILL, USR1 (SIG prefix optional) or a number\n"
    );
}

/// SIGINT, SIGTERM or SIGHUP to `fdscope run --config FILE a b c`: forwarded to every
/// child, every child's final events printed, exit 128 + signal, no child left.
#[test]
fn signals_to_fdscope_run_with_several_children_reach_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("three.toml");
    let mut toml = String::new();
    for name in ["a", "b", "c"] {
        toml.push_str(&format!(
            "[[command]]\nname = \"{name}\"\nprogram = \"sh\"\nargs = [\"sh\", \"-c\", \"echo ready-{name}; exec sleep 30\"]\n\n"
        ));
    }
    std::fs::write(&config, toml).unwrap();
    for (signal, number) in [(libc::SIGINT, 2), (libc::SIGTERM, 15), (libc::SIGHUP, 1)] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fdscope"))
            .args([
                "run",
                "--json",
                "--config",
                config.to_str().unwrap(),
                "a",
                "b",
                "c",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let fdscope_pid = child.id();
        let mut stdout = child.stdout.take().unwrap();
        // Read on a thread: a hung fdscope fails the test instead of hanging it.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match stdout.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        let mut seen = String::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !["ready-a", "ready-b", "ready-c"]
            .iter()
            .all(|r| seen.contains(r))
        {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(chunk) => seen.push_str(&text(&chunk)),
                Err(_) => {
                    let _ = child.kill();
                    panic!("children not ready: {seen}");
                }
            }
        }
        let pids = hardening_support::children_of(fdscope_pid);
        assert_eq!(pids.len(), 3, "{pids:?}");
        // SAFETY: kill(2) on our own child process.
        unsafe { libc::kill(fdscope_pid as i32, signal) };
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(chunk) => seen.push_str(&text(&chunk)),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                Err(_) => {
                    let _ = child.kill();
                    panic!("fdscope did not finish after signal {signal}: {seen}");
                }
            }
        }
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(128 + number), "{seen}");
        let lines: Vec<serde_json::Value> = seen
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
            .collect();
        for name in ["a", "b", "c"] {
            let ended: Vec<_> = lines
                .iter()
                .filter(|l| l["name"] == name && l["event"] == "process_ended")
                .collect();
            assert_eq!(ended.len(), 1, "{name}: {seen}");
            assert_eq!(ended[0]["status"]["signal"], number, "{name}: {seen}");
            let last = lines.iter().rev().find(|l| l["name"] == name).unwrap();
            assert_eq!(last["event"], "process_ended", "{name} ends last: {seen}");
        }
        for pid in pids {
            assert!(!hardening_support::alive(pid), "child {pid} still running");
        }
    }
}

/// A "config" that never ends (`/dev/zero`), a directory, nesting deeper than the parser
/// allows: errors naming the file, never a memory blow-up or a stack overflow.
#[test]
fn endless_or_odd_config_files_are_errors_not_crashes() {
    let dir = tempfile::tempdir().unwrap();
    let out = fdscope(&["check", "/dev/zero"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "/dev/zero: the config file is larger than 16777216 bytes: not a config\n"
    );
    let out = fdscope(&["--config", "/dev/zero"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--config /dev/zero"));
    let out = fdscope(&["run", "--config", "/dev/zero", "x"], dir.path());
    assert_eq!(out.status.code(), Some(2));

    let out = fdscope(&["check", "."], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with(".: cannot read the config file: "));

    let deep = format!("a = {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    std::fs::write(dir.path().join("deep.toml"), deep).unwrap();
    let out = fdscope(&["check", "deep.toml"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("deep.toml:1:"),
        "{}",
        text(&out.stderr)
    );
}

/// SIGTERM to `fdscope run` while it is blocked writing to a stdout nobody reads (a paused
/// pager): the child is stopped at once all the same, and once the reader reads, the
/// transcript ends with the child's `process_ended` and fdscope exits 143.
#[test]
fn a_signal_reaches_the_child_while_stdout_is_blocked() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fdscope"))
        .args(["run", "--json", "--", "yes", "flood"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let wchan = || std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
    hardening_support::wait_until("fdscope blocked on its stdout", 20, || {
        wchan().contains("pipe_write")
    });
    let yes = hardening_support::children_of(pid);
    assert_eq!(yes.len(), 1, "{yes:?}");
    // SAFETY: kill(2) on our own child process.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    // Dead (a zombie until fdscope's loop can reap it), while nobody has read a byte yet.
    hardening_support::wait_until("yes stopped", 10, || !hardening_support::alive(yes[0]));
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = stdout.read_to_end(&mut all);
        let _ = tx.send(all);
    });
    let all = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the transcript ends");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(128 + 15));
    let text = text(&all);
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "process_ended");
    assert_eq!(last["status"]["signal"], 15);
}
