//! `fdscope run`, `output`, `value`: the real binary on real children, checked the way a
//! script using it would check it (stdout, stderr, exit code).

mod cli_support;

use cli_support::{output_within, Running};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs the binary to its end; a run longer than 30 s is killed and fails the test.
fn fdscope(args: &[&str]) -> Output {
    output_within(
        Command::new(env!("CARGO_BIN_EXE_fdscope"))
            .args(args)
            .stdin(Stdio::null()),
        30,
    )
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

#[test]
fn verbose_wc_transcript_counts_ten_verses() {
    let verse = r"Aleph-null bottles of beer on the wall,\nAleph-null bottles of beer,\nTake one down and pass it around,\nAleph-null bottles of beer on the wall.\n";
    let write = format!("0={verse}");
    let mut args = vec!["run"];
    for _ in 0..10 {
        args.extend(["--write", write.as_str()]);
    }
    args.extend(["--close", "0", "--", "wc"]);
    let out = fdscope(&args);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let counts: Vec<&str> = text
        .lines()
        .find(|l| l.contains("child_data_received"))
        .and_then(|l| l.split('"').nth(1))
        .expect("a data line")
        .split_whitespace()
        .collect();
    // 4 lines, 25 words and 142 bytes per verse.
    assert_eq!(counts, ["40", "250", "1420\\n"], "{text}");
    let order: Vec<&str> = text
        .lines()
        .map(|l| l.split_whitespace().nth(2).unwrap())
        .collect();
    assert_eq!(order.first(), Some(&"connection_made"));
    assert_eq!(order.last(), Some(&"process_ended"));
    assert_eq!(
        order
            .iter()
            .filter(|e| **e == "child_connection_lost")
            .count(),
        3
    );
}

#[test]
fn json_lines_carry_every_field_of_the_schema() {
    let out = fdscope(&[
        "run",
        "--json",
        "--",
        "sh",
        "-c",
        "printf 'out'; printf '\\377' >&2; exit 3",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let lines = json_lines(&out);
    assert_eq!(lines[0]["event"], "connection_made");
    assert!(lines[0]["pid"].as_u64().unwrap() > 1);
    let out_line = lines
        .iter()
        .find(|l| l["fd"] == 1 && l["event"] == "child_data_received")
        .unwrap();
    assert_eq!(out_line["data"], "out");
    assert_eq!(out_line["len"], 3);
    let err_line = lines
        .iter()
        .find(|l| l["fd"] == 2 && l["event"] == "child_data_received")
        .unwrap();
    assert_eq!(err_line["data_b64"], "/w==", "binary data is base64");
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "process_ended");
    assert_eq!(
        last["status"],
        serde_json::json!({"kind": "terminated", "exit_code": 3, "signal": null})
    );
    let mut previous = 0.0;
    for line in &lines {
        let t = line["t_ms"].as_f64().unwrap();
        assert!(t >= previous, "t_ms goes forward: {lines:?}");
        previous = t;
    }
}

#[test]
fn no_data_keeps_lengths_and_summary_counts_bytes() {
    let out = fdscope(&[
        "run",
        "--json",
        "--no-data",
        "--",
        "sh",
        "-c",
        "printf 12345",
    ]);
    let data = json_lines(&out)
        .into_iter()
        .find(|l| l["event"] == "child_data_received")
        .unwrap();
    assert_eq!(data["len"], 5);
    assert!(data.get("data").is_none() && data.get("data_b64").is_none());

    let out = fdscope(&[
        "run",
        "--summary",
        "--",
        "head",
        "-c",
        "3000000",
        "/dev/zero",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("fd 1 (stdout): 3000000 bytes"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn exit_codes_follow_the_child_signals_and_spawn_failures() {
    assert_eq!(
        fdscope(&["run", "--", "sh", "-c", "exit 7"]).status.code(),
        Some(7)
    );
    let killed = fdscope(&["run", "--json", "--", "sh", "-c", "kill -KILL $$"]);
    assert_eq!(killed.status.code(), Some(128 + 9));
    let ended = json_lines(&killed).pop().unwrap();
    assert_eq!(ended["status"]["signal"], 9);
    let missing = fdscope(&["run", "--", "no-such-program-fdscope"]);
    assert_eq!(missing.status.code(), Some(127));
    let message = String::from_utf8_lossy(&missing.stderr);
    assert!(
        message.contains("no-such-program-fdscope") && message.contains("No such file"),
        "{message}"
    );
    assert!(
        missing.stdout.is_empty(),
        "a failed spawn produces no events"
    );
    let bad_cwd = fdscope(&["run", "--cwd", "/no/such/dir", "--", "true"]);
    assert_eq!(bad_cwd.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&bad_cwd.stderr).contains("/no/such/dir"));
}

#[test]
fn malformed_options_are_usage_errors_naming_the_option() {
    for (args, option) in [
        (vec!["run", "--fd", "3=x", "--", "true"], "--fd"),
        (vec!["run", "--fd", "three=r", "--", "true"], "--fd"),
        (
            vec!["run", "--pty-size", "24by80", "--", "true"],
            "--pty-size",
        ),
        (vec!["run", "--signal", "10:NOPE", "--", "true"], "--signal"),
        (vec!["run", "--write", "noequals", "--", "true"], "--write"),
        (vec!["run", "--env", "=v", "--", "true"], "--env"),
        (vec!["run", "--uid", "-5", "--", "true"], "--uid"),
        (vec!["run", "--pty", "--fd", "1=r", "--", "true"], "--fd 1"),
        (vec!["run", "--bogus", "--", "true"], "--bogus"),
    ] {
        let out = fdscope(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let message = String::from_utf8_lossy(&out.stderr);
        assert!(message.contains(option), "{args:?}: {message}");
    }
    assert_eq!(
        fdscope(&["run"]).status.code(),
        Some(2),
        "no program is a usage error"
    );
}

#[test]
fn writes_and_closes_act_in_the_order_given() {
    // The second write comes after the close of fd 0: it must be refused, and cat must
    // have seen only the first one.
    let out = fdscope(&[
        "run",
        "--json",
        "--write",
        "0=first\\n",
        "--close",
        "0",
        "--write",
        "0=late",
        "--",
        "cat",
    ]);
    let data: String = json_lines(&out)
        .iter()
        .filter(|l| l["event"] == "child_data_received")
        .map(|l| l["data"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(data, "first\n");
    // The late write is a script step that completes with a warning naming the fd.
    let late = json_lines(&out)
        .into_iter()
        .find(|l| l["event"] == "script_step" && l["step"] == 2)
        .expect("the late write is a script_step");
    let action = late["action"].as_str().unwrap();
    assert!(
        action.starts_with("write \"late\" to fd 0 (warning: "),
        "the late write is reported: {action}"
    );
}

#[test]
fn extra_fds_pty_and_argv0_and_env() {
    let out = fdscope(&[
        "run",
        "--json",
        "--fd",
        "0=w",
        "--fd",
        "1=r",
        "--fd",
        "4=w",
        "--write",
        "4=via four\\n",
        "--close",
        "4",
        "--",
        "sh",
        "-c",
        "cat <&4",
    ]);
    let lines = json_lines(&out);
    assert!(lines.iter().any(|l| l["data"] == "via four\n"), "{lines:?}");
    assert!(lines
        .iter()
        .any(|l| l["event"] == "child_connection_lost" && l["fd"] == 4));

    let out = fdscope(&["run", "--pty-size", "30x100", "--", "stty", "size"]);
    assert!(stdout(&out).contains(r#""30 100\r\n""#), "{}", stdout(&out));

    let out = fdscope(&[
        "run",
        "--json",
        "--argv0",
        "renamed",
        "--env",
        "GREETING=hi there",
        "--",
        "sh",
        "-c",
        "echo $0 $GREETING; env | wc -l",
    ]);
    let text: String = json_lines(&out)
        .iter()
        .filter_map(|l| l["data"].as_str().map(String::from))
        .collect();
    // GREETING, plus PWD that sh itself sets: nothing inherited from the test.
    assert_eq!(text, "renamed hi there\n2\n");
}

#[test]
fn events_file_takes_the_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let out = fdscope(&[
        "run",
        "--json",
        "--events",
        path.to_str().unwrap(),
        "--",
        "echo",
        "to file",
    ]);
    assert!(out.stdout.is_empty());
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(written.contains(r#""data":"to file\n""#), "{written}");
}

#[test]
fn output_and_value_behave_like_twisted_utils() {
    let out = fdscope(&["output", "--", "echo", "hello"]);
    assert_eq!(
        (out.status.code(), stdout(&out).as_str()),
        (Some(0), "hello\n")
    );
    let out = fdscope(&["output", "--", "sh", "-c", "echo partial; echo broken >&2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken"));
    let out = fdscope(&["value", "--", "/bin/false"]);
    assert_eq!((out.status.code(), stdout(&out).as_str()), (Some(0), "1\n"));
    let out = fdscope(&["value", "--", "/bin/true"]);
    assert_eq!(stdout(&out), "0\n");
    assert_eq!(
        fdscope(&["value", "--", "/nonexistent/x"]).status.code(),
        Some(127)
    );
}

#[test]
fn signals_to_fdscope_reach_the_child_and_the_final_events_are_printed() {
    for (signal, number) in [(libc::SIGTERM, 15), (libc::SIGINT, 2), (libc::SIGHUP, 1)] {
        let mut run = Running::start(
            Command::new(env!("CARGO_BIN_EXE_fdscope"))
                .args([
                    "run",
                    "--json",
                    "--",
                    "sh",
                    "-c",
                    "echo ready; exec sleep 30",
                ])
                .stdin(Stdio::null()),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        assert!(
            run.stdout.wait_text("ready", deadline),
            "no ready line: {}",
            run.stdout.text()
        );
        // SAFETY: kill(2) on the pid of our own child process.
        unsafe { libc::kill(run.child.id() as i32, signal) };
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = run.wait_status(deadline);
        assert!(run.stdout.wait_end(deadline), "stdout still open");
        let seen = run.stdout.text();
        assert_eq!(status.code(), Some(128 + number), "{seen}");
        let last: serde_json::Value = serde_json::from_str(seen.lines().last().unwrap()).unwrap();
        assert_eq!(last["event"], "process_ended");
        assert_eq!(last["status"]["signal"], number);
    }
}

#[test]
fn configured_commands_run_concurrently_with_their_names() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("two.toml");
    std::fs::write(
        &config,
        r#"
[[command]]
name = "counter"
program = "wc"
args = ["wc", "-l"]
script = [ { write = "a\nb\n", fd = 0 }, { close = 0 } ]

[[command]]
name = "failing"
program = "sh"
args = ["sh", "-c", "echo oops >&2; exit 4"]
"#,
    )
    .unwrap();
    let out = fdscope(&[
        "run",
        "--json",
        "--config",
        config.to_str().unwrap(),
        "counter",
        "failing",
    ]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "the first non-zero code among the commands"
    );
    let lines = json_lines(&out);
    assert!(
        lines
            .iter()
            .all(|l| l["name"] == "counter" || l["name"] == "failing"),
        "{lines:?}"
    );
    for name in ["counter", "failing"] {
        let own: Vec<&serde_json::Value> = lines.iter().filter(|l| l["name"] == name).collect();
        assert_eq!(own.first().unwrap()["event"], "connection_made", "{name}");
        assert_eq!(own.last().unwrap()["event"], "process_ended", "{name}");
    }
    let counted = lines
        .iter()
        .find(|l| l["name"] == "counter" && l["fd"] == 1 && l["event"] == "child_data_received");
    assert_eq!(counted.unwrap()["data"], "2\n");

    let unknown = fdscope(&["run", "--config", config.to_str().unwrap(), "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("counter, failing"));
}

/// README's `fdscope run --signal 500:TERM -- sleep 10`: TERM reaches the child after
/// 500 ms (not before: the product's own clock says so), the child dies of it, and
/// fdscope exits 128 + 15.
#[test]
fn run_signal_after_delay_ends_the_child_with_exit_143() {
    let out = fdscope(&["run", "--json", "--signal", "500:TERM", "--", "sleep", "10"]);
    let lines = json_lines(&out);
    assert_eq!(out.status.code(), Some(143), "{lines:?}");
    let exited = lines
        .iter()
        .find(|l| l["event"] == "process_exited")
        .unwrap_or_else(|| panic!("no process_exited: {lines:?}"));
    assert_eq!(exited["status"]["signal"], 15, "{exited}");
    assert!(exited["t_ms"].as_f64().unwrap() >= 500.0, "{exited}");
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "process_ended");
    assert_eq!(last["status"]["signal"], 15, "{last}");
    // Text output says it in words.
    let text = fdscope(&["run", "--signal", "0:TERM", "--", "sleep", "10"]);
    assert_eq!(text.status.code(), Some(143));
    assert!(stdout(&text).contains("SIGTERM"), "{}", stdout(&text));
}
