//! Configured scripts, readiness and dependencies through `fdscope run --config FILE NAME`,
//! and every scripted built-in command run unattended with its answers checked.

mod cli_support;

use cli_support::output_within;
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn fdscope(args: &[&str]) -> Output {
    output_within(
        Command::new(env!("CARGO_BIN_EXE_fdscope"))
            .args(args)
            .stdin(Stdio::null()),
        60,
    )
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// A config file with `text`, kept until the handle drops.
fn config(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

fn run_config(file: &tempfile::NamedTempFile, names: &[&str]) -> Output {
    let path = file.path().to_str().unwrap();
    let mut args = vec!["run", "--json", "--config", path];
    args.extend(names);
    fdscope(&args)
}

/// Index of the first line of command `name` with `event`.
fn find(lines: &[Value], name: &str, event: &str) -> usize {
    lines
        .iter()
        .position(|l| l["name"] == name && l["event"] == event)
        .unwrap_or_else(|| panic!("no {event} of {name} in {lines:#?}"))
}

fn data_of(lines: &[Value], name: &str) -> String {
    lines
        .iter()
        .filter(|l| l["name"] == name && l["event"] == "child_data_received" && l["fd"] == 1)
        .map(|l| l["data"].as_str().unwrap_or(""))
        .collect()
}

const SERVER: &str = r#"
[[command]]
name = "server"
program = "sh"
args = ["sh", "-c", "echo starting; echo listening on port 4242; sleep 30"]
ready = { expect = 'listening on port (?P<port>\d+)\n', fd = 1, timeout = 10 }
"#;

#[test]
fn a_client_waits_for_its_server_to_be_ready_and_gets_its_port() {
    let file = config(&format!(
        r#"{SERVER}
[[command]]
name = "client"
program = "sh"
args = ["sh", "-c", "echo client got $1 and $PORT; read line; echo script said $line", "sh", "${{server.port}}"]
env = {{ PORT = "p${{server.port}}" }}
depends_on = {{ server = "ready" }}
script = [
    {{ expect = 'client got (?P<n>\d+)' }},
    {{ write = "${{server.port}}/${{n}}\n" }},
    {{ expect = 'script said 4242/4242' }},
    {{ exit = 0 }},
]
"#
    ));
    let out = run_config(&file, &["client"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let lines = json_lines(&out);
    let ready = find(&lines, "server", "ready");
    assert_eq!(lines[ready]["groups"]["port"], "4242");
    // The client starts only after the server's ready event.
    assert!(ready < find(&lines, "client", "connection_made"));
    assert!(data_of(&lines, "client").starts_with("client got 4242 and p4242\n"));
    // The server, only a dependency, was stopped once the client ended.
    let ended = &lines[find(&lines, "server", "process_ended")];
    assert_eq!(ended["status"]["signal"], 15, "{lines:#?}");
    assert!(find(&lines, "client", "process_ended") < find(&lines, "server", "process_ended"));
    let mut last = 0.0;
    for line in &lines {
        let t = line["t_ms"].as_f64().unwrap();
        assert!(t >= last, "t_ms went back: {lines:#?}");
        last = t;
    }
}

#[test]
fn a_dependency_that_ends_before_it_is_ready_stops_the_chain() {
    let file = config(
        r#"
[[command]]
name = "server"
program = "sh"
args = ["sh", "-c", "echo starting; exit 2"]
ready = { expect = 'listening on port (?P<port>\d+)', timeout = 10 }

[[command]]
name = "client"
program = "sh"
args = ["sh", "-c", "echo client ran"]
depends_on = { server = "ready" }
"#,
    );
    let out = run_config(&file, &["client"]);
    assert_eq!(out.status.code(), Some(124), "stderr: {}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("fdscope: client: dependency server ended")
            && err.contains("before it was ready"),
        "{err}"
    );
    let lines = json_lines(&out);
    assert!(
        lines.iter().all(|l| l["name"] != "client"),
        "the client started: {lines:#?}"
    );
}

#[test]
fn succeeded_and_ended_wait_for_the_dependency_to_end() {
    let text = |code: i32| {
        format!(
            r#"
[[command]]
name = "setup"
program = "sh"
args = ["sh", "-c", "echo setting up; exit {code}"]

[[command]]
name = "after-success"
program = "sh"
args = ["sh", "-c", "echo after success"]
depends_on = {{ setup = "succeeded" }}

[[command]]
name = "after-end"
program = "sh"
args = ["sh", "-c", "echo after end"]
depends_on = {{ setup = "ended" }}

[[command]]
name = "after-start"
program = "sh"
args = ["sh", "-c", "echo after start"]
depends_on = {{ setup = "started" }}
"#
        )
    };
    let file = config(&text(0));
    let out = run_config(&file, &["after-success", "after-end", "after-start"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let lines = json_lines(&out);
    let setup_ended = find(&lines, "setup", "process_ended");
    assert!(setup_ended < find(&lines, "after-success", "connection_made"));
    assert!(setup_ended < find(&lines, "after-end", "connection_made"));
    assert!(
        find(&lines, "setup", "connection_made") < find(&lines, "after-start", "connection_made")
    );
    assert_eq!(data_of(&lines, "after-success"), "after success\n");

    // A failing setup: "succeeded" never holds (124, naming it); "ended" still runs.
    let file = config(&text(3));
    let out = run_config(&file, &["after-success", "after-end"]);
    assert_eq!(out.status.code(), Some(124), "stderr: {}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("fdscope: after-success: dependency setup did not succeed"),
        "{err}"
    );
    let lines = json_lines(&out);
    assert!(lines.iter().all(|l| l["name"] != "after-success"));
    assert_eq!(data_of(&lines, "after-end"), "after end\n");
}

#[test]
fn a_configured_script_failure_stops_the_child_and_exits_124() {
    let file = config(
        r#"
[[command]]
name = "quiet"
program = "sh"
args = ["sh", "-c", "echo hm; sleep 30"]
script = [ { expect = 'never', timeout = 0.2 } ]
"#,
    );
    let out = run_config(&file, &["quiet"]);
    assert_eq!(out.status.code(), Some(124));
    assert_eq!(
        stderr(&out).trim_end(),
        r#"fdscope: quiet: step 0 (expect /never/ on fd 1) failed: timeout after 0.2s; last output: "hm\n""#
    );
    let lines = json_lines(&out);
    assert_eq!(lines.last().unwrap()["event"], "process_ended");
    assert_eq!(lines.last().unwrap()["status"]["signal"], 15);
}

/// Runs built-in command `name` from assets/default.toml; its JSON transcript.
fn builtin(names: &[&str]) -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/default.toml");
    let mut args = vec!["run", "--json", "--config", path];
    args.extend(names);
    let out = fdscope(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{names:?}: stderr {}\nstdout {}",
        stderr(&out),
        String::from_utf8_lossy(&out.stdout)
    );
    json_lines(&out)
}

fn matches_of(lines: &[Value], name: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l["name"] == name && l["event"] == "script_step")
        .filter_map(|l| l["match"].as_str().map(str::to_owned))
        .collect()
}

fn assert_no_failure(lines: &[Value]) {
    assert!(
        lines.iter().all(|l| l["event"] != "script_failed"),
        "{lines:#?}"
    );
}

#[test]
fn builtin_bc_sessions_answer_on_pipes_and_on_a_pty() {
    for name in ["bc-session", "bc-session-pty"] {
        let lines = builtin(&[name]);
        assert_no_failure(&lines);
        assert_eq!(matches_of(&lines, name), ["1024", "3.142"], "{name}");
        let last = lines.last().unwrap();
        assert_eq!(last["event"], "process_ended");
        assert_eq!(last["status"]["exit_code"], 0);
    }
}

#[test]
fn builtin_python_repl_waits_for_its_prompts() {
    let lines = builtin(&["python-repl"]);
    assert_no_failure(&lines);
    assert_eq!(
        matches_of(&lines, "python-repl"),
        [">>> ", "42", ">>> ", "3", ">>> "]
    );
}

#[test]
fn builtin_sqlite_shell_counts_its_rows() {
    let lines = builtin(&["sqlite-shell"]);
    assert_no_failure(&lines);
    assert_eq!(
        matches_of(&lines, "sqlite-shell"),
        ["sqlite> ", "sqlite> ", "3|6"]
    );
}

#[test]
fn builtin_gdb_prompt_evaluates_and_quits() {
    let lines = builtin(&["gdb-prompt"]);
    assert_no_failure(&lines);
    assert_eq!(
        matches_of(&lines, "gdb-prompt"),
        ["(gdb) ", "$1 = 42", "(gdb) "]
    );
}

#[test]
fn builtin_fortune_client_starts_its_server_first_and_gets_a_quote() {
    let lines = builtin(&["fortune-client"]);
    assert_no_failure(&lines);
    let ready = find(&lines, "fortune-server", "ready");
    let port: u16 = lines[ready]["groups"]["port"]
        .as_str()
        .unwrap()
        .parse()
        .expect("a port number");
    assert!(port > 0);
    assert!(ready < find(&lines, "fortune-client", "connection_made"));
    assert_eq!(
        data_of(&lines, "fortune-client"),
        "Aleph-null bottles of beer on the wall.\n"
    );
    // The server, a dependency only, is stopped at the end.
    let ended = &lines[find(&lines, "fortune-server", "process_ended")];
    assert_eq!(ended["status"]["signal"], 15);
}

#[test]
fn an_exit_step_wants_the_signal_it_names_and_reads_fd_2() {
    let file = config(
        r#"
[[command]]
name = "killed"
program = "sh"
args = ["sh", "-c", "echo going >&2; read line; kill -TERM $$"]
script = [ { expect = 'going', fd = 2 }, { write = "x\n" }, { exit = "TERM" } ]

[[command]]
name = "wrong"
program = "sh"
args = ["sh", "-c", "read line; kill -TERM $$"]
script = [ { write = "x\n" }, { exit = "INT", timeout = 5 } ]
"#,
    );
    let out = run_config(&file, &["killed"]);
    let lines = json_lines(&out);
    assert_no_failure(&lines);
    assert_eq!(out.status.code(), Some(143), "stderr: {}", stderr(&out));
    let steps: Vec<&str> = lines
        .iter()
        .filter(|l| l["event"] == "script_step")
        .map(|l| l["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "expect /going/ on fd 2",
            "write \"x\\n\" to fd 0",
            "exit TERM"
        ]
    );

    let out = run_config(&file, &["wrong"]);
    assert_eq!(out.status.code(), Some(124), "stderr: {}", stderr(&out));
    let lines = json_lines(&out);
    let failed = &lines[find(&lines, "wrong", "script_failed")];
    assert_eq!(failed["reason"], "exit");
    assert_eq!(failed["action"], "exit INT");
    // A script that starts by writing still reports after the child's connection_made.
    assert!(
        find(&lines, "wrong", "connection_made") < find(&lines, "wrong", "script_step"),
        "{lines:#?}"
    );
}
