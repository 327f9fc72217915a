//! Scripts through `fdscope run`: expect/write driving real programs, the way a user
//! scripts `bc` or a password prompt, checked on the transcript and the exit code.

mod cli_support;

use cli_support::output_within;
use std::process::{Command, Output, Stdio};

fn fdscope(args: &[&str]) -> Output {
    output_within(
        Command::new(env!("CARGO_BIN_EXE_fdscope"))
            .args(args)
            .stdin(Stdio::null()),
        120,
    )
}

fn json(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

fn events(lines: &[serde_json::Value]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l["event"].as_str().unwrap().to_string())
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_prompt_split_across_chunks_is_found_and_answered() {
    let out = fdscope(&[
        "run",
        "--json",
        "--expect",
        "password: ",
        "--write",
        "0=secret\\n",
        "--",
        "sh",
        "-c",
        "printf pass; sleep 0.3; printf 'word: '; read p; echo got $p",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let lines = json(&out);
    let data: Vec<&str> = lines
        .iter()
        .filter(|l| l["event"] == "child_data_received")
        .map(|l| l["data"].as_str().unwrap())
        .collect();
    assert_eq!(data.first(), Some(&"pass"), "two chunks: {data:?}");
    assert!(data.contains(&"got secret\n"), "{data:?}");
    let step = lines.iter().find(|l| l["event"] == "script_step").unwrap();
    assert_eq!(step["step"], 0);
    assert_eq!(step["action"], "expect /password: / on fd 1");
    assert_eq!(step["match"], "password: ");
    // t_ms never decreases, script events included.
    let times: Vec<f64> = lines.iter().map(|l| l["t_ms"].as_f64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}

#[test]
fn output_before_the_step_is_seen_and_a_match_is_not_matched_twice() {
    // "ready" is printed before the sleep step ends; the second expect of it must not
    // match the same text again, and fails at once at EOF (not at the timeout).
    let out = fdscope(&[
        "run",
        "--timeout",
        "30",
        "--sleep",
        "0.3",
        "--expect",
        "ready",
        "--expect",
        "ready",
        "--",
        "sh",
        "-c",
        "echo ready; sleep 0.5",
    ]);
    assert_eq!(out.status.code(), Some(124), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("script_step            step 1: expect /ready/ on fd 1 matched \"ready\""),
        "{text}"
    );
    assert!(
        text.contains("script_failed          step 2: expect /ready/ on fd 1: eof"),
        "{text}"
    );
    assert_eq!(
        stderr(&out),
        "fdscope: sh: step 2 (expect /ready/ on fd 1) failed: eof; last output: \"ready\\n\"\n"
    );
}

#[test]
fn bc_on_a_pty_answers_and_a_line_anchor_matches_through_crlf() {
    let out = fdscope(&[
        "run",
        "--json",
        "--pty",
        "--write",
        "0=2^10\\n",
        "--expect",
        "^1024$",
        "--write",
        "0=quit\\n",
        "--",
        "bc",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let lines = json(&out);
    let matched = lines
        .iter()
        .find(|l| l["event"] == "script_step" && l["step"] == 1)
        .unwrap();
    assert_eq!(matched["match"], "1024");
    let names = events(&lines);
    assert_eq!(names.last().map(String::as_str), Some("process_ended"));
}

#[test]
fn named_groups_become_variables_of_later_writes() {
    let out = fdscope(&[
        "run",
        "--json",
        "--expect",
        "token=(?P<token>[a-z0-9]+)",
        "--write",
        "0=${token}\\n",
        "--",
        "sh",
        "-c",
        "echo token=abc123; read t; echo \"back: $t\"",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let lines = json(&out);
    let step = lines
        .iter()
        .find(|l| l["event"] == "script_step" && l["step"] == 0)
        .unwrap();
    assert_eq!(step["groups"]["token"], "abc123", "{step}");
    assert!(
        lines.iter().any(|l| l["data"] == "back: abc123\n"),
        "{lines:?}"
    );
}

#[test]
fn a_timeout_stops_the_child_and_exits_124_with_the_one_line_message() {
    let out = fdscope(&[
        "run",
        "--timeout",
        "0.5",
        "--expect",
        "never",
        "--",
        "sh",
        "-c",
        "echo waiting; exec sleep 30",
    ]);
    assert_eq!(out.status.code(), Some(124), "{out:?}");
    assert_eq!(
        stderr(&out),
        "fdscope: sh: step 0 (expect /never/ on fd 1) failed: timeout after 0.5s; last output: \"waiting\\n\"\n"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let failed = text.find("script_failed").unwrap();
    let ended = text.find("process_ended").unwrap();
    assert!(failed < ended, "{text}");
    assert!(text.contains("terminated by signal 15 (SIGTERM)"), "{text}");
}

#[test]
fn an_expect_fails_at_once_when_the_process_ends_without_a_match() {
    let out = fdscope(&[
        "run",
        "--json",
        "--timeout",
        "60",
        "--expect",
        "never",
        "--",
        "sh",
        "-c",
        "echo bye",
    ]);
    assert_eq!(out.status.code(), Some(124), "{out:?}");
    let lines = json(&out);
    let failed = lines
        .iter()
        .find(|l| l["event"] == "script_failed")
        .unwrap();
    assert!(
        failed["t_ms"].as_f64().unwrap() < 10_000.0,
        "not the timeout"
    );
    assert_eq!(failed["tail"], "bye\n");
    assert_eq!(
        events(&lines).last().map(String::as_str),
        Some("process_ended"),
        "no script event after process_ended"
    );
}

#[test]
fn a_flood_before_the_match_keeps_memory_bounded() {
    let out = fdscope(&[
        "run",
        "--summary",
        "--timeout",
        "100",
        "--expect",
        "READY",
        "--",
        "sh",
        "-c",
        "head -c 160000000 /dev/zero; echo READY",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("fd 1 (stdout): 160000006 bytes"), "{text}");
    // Every child of this test binary so far (this one included) peaked below 100 MiB:
    // the 160 MB (153 MiB) before the match were not kept.
    // SAFETY: getrusage writes one rusage into the zeroed struct it is given.
    let max_rss_kib = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage), 0);
        usage.ru_maxrss
    };
    assert!(max_rss_kib < 100 * 1024, "peak RSS {max_rss_kib} KiB");
}

#[test]
fn configured_dependencies_start_in_order_and_pass_captured_variables() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("deps.toml");
    std::fs::write(
        &config,
        r#"
[console]
stop_grace_ms = 300

[[command]]
name = "server"
program = "sh"
args = ["sh", "-c", "echo listening on port 4242; exec sleep 30"]
ready = { expect = 'listening on port (?P<port>\d+)', timeout = 10 }

[[command]]
name = "client"
program = "sh"
args = ["sh", "-c", "echo connecting to $1", "client", "${server.port}"]
depends_on = { server = "ready" }

[[command]]
name = "early"
program = "sh"
args = ["sh", "-c", "exit 3"]
ready = { expect = 'never' }

[[command]]
name = "late"
program = "true"
depends_on = { early = "ready" }
"#,
    )
    .unwrap();
    let path = config.to_str().unwrap();
    let out = fdscope(&["run", "--json", "--config", path, "client"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let lines = json(&out);
    let at = |name: &str, event: &str| {
        lines
            .iter()
            .position(|l| l["name"] == name && l["event"] == event)
            .unwrap_or_else(|| panic!("{name} {event}: {lines:?}"))
    };
    assert!(at("server", "ready") < at("client", "connection_made"));
    assert!(lines
        .iter()
        .any(|l| l["name"] == "client" && l["data"] == "connecting to 4242\n"));
    // The server was only a dependency: stopped once the client ended.
    let server_end = &lines[at("server", "process_ended")];
    assert_eq!(server_end["status"]["signal"], 15, "{server_end}");

    let out = fdscope(&["run", "--config", path, "late"]);
    assert_eq!(out.status.code(), Some(124), "{out:?}");
    assert!(
        stderr(&out).contains("dependency early ended"),
        "{}",
        stderr(&out)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("[late]"));
}

/// The built-in scripted commands drive the real programs to the end of their scripts
/// (CI installs bc, python3, sqlite3 and gdb).
#[test]
fn every_built_in_script_runs_to_its_last_step() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/default.toml");
    let config = fdscope::config::Config::load(std::path::Path::new(path)).unwrap();
    let scripted: Vec<_> = config
        .commands
        .iter()
        .filter(|c| c.script.iter().any(|s| s.expect_fd().is_some()))
        .collect();
    assert!(scripted.len() >= 5, "the built-in config drives prompts");
    for command in scripted {
        let out = fdscope(&["run", "--json", "--config", path, &command.name]);
        assert_eq!(out.status.code(), Some(0), "{}: {out:?}", command.name);
        let lines = json(&out);
        let steps = lines
            .iter()
            .filter(|l| l["event"] == "script_step" && l["name"] == command.name.as_str())
            .count();
        assert_eq!(steps, command.script.len(), "{}: {lines:?}", command.name);
    }
}
