//! The transcripts `fdscope run` prints, read the way a script or a person reads them:
//! the text lines, the JSON lines in the schema's key order, long chunks cut in text but
//! whole in JSON, names, and the `--summary` forms.

mod cli_support;

use std::process::{Command, Output, Stdio};

fn fdscope(args: &[&str]) -> Output {
    cli_support::output_within(
        Command::new(env!("CARGO_BIN_EXE_fdscope"))
            .args(args)
            .stdin(Stdio::null()),
        30,
    )
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A child that writes `bytes` with one write(2) (one chunk), then exits with `code`.
fn one_write(bytes: &str, code: i32) -> Vec<String> {
    [
        "python3",
        "-c",
        &format!("import os, sys; os.write(1, {bytes}); sys.exit({code})"),
    ]
    .map(String::from)
    .to_vec()
}

fn run(options: &[&str], child: &[String]) -> Output {
    let mut args = vec!["run"];
    args.extend_from_slice(options);
    args.push("--");
    args.extend(child.iter().map(String::as_str));
    fdscope(&args)
}

/// The text transcript: the time in ms right-aligned with three decimals, the event name
/// in a column, each event's own words; data quoted with escapes.
#[test]
fn text_lines_name_fds_roles_and_statuses() {
    let out = run(
        &["--fd", "0=w", "--fd", "1=r", "--fd", "2=r", "--fd", "3=r"],
        &[
            "sh",
            "-c",
            "printf 'hi\\n'; printf 'x' >&3; exec 3>&-; exit 5",
        ]
        .map(String::from),
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(5), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let line = |what: &str| {
        *lines
            .iter()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no line with {what:?} in\n{text}"))
    };
    assert!(line("connection_made").ends_with(&format!(
        "connection_made        pid {}",
        line("connection_made").rsplit(' ').next().unwrap()
    )));
    assert!(line("fd 1 (stdout) 3 bytes")
        .ends_with("child_data_received    fd 1 (stdout) 3 bytes: \"hi\\n\""));
    assert!(line("fd 3 1 bytes").ends_with("child_data_received    fd 3 1 bytes: \"x\""));
    for lost in ["fd 0 (stdin)", "fd 1 (stdout)", "fd 2 (stderr)", "fd 3"] {
        assert!(
            lines
                .iter()
                .any(|l| l.ends_with(&format!("child_connection_lost  {lost}"))),
            "{lost}: {text}"
        );
    }
    assert!(
        line("process_exited").ends_with("process_exited         terminated, exit code 5"),
        "{text}"
    );
    assert!(
        line("process_ended").ends_with("process_ended          terminated, exit code 5"),
        "{text}"
    );
    for l in &lines {
        // `{:>10.3} ms  `: ten characters of time, three decimals.
        let (time, rest) = l.split_at(10);
        assert!(rest.starts_with(" ms  "), "{l:?}");
        let time = time.trim_start();
        assert_eq!(time.split('.').nth(1).map(str::len), Some(3), "{l:?}");
        assert!(time.parse::<f64>().unwrap() >= 0.0);
    }
}

/// A chunk longer than 512 bytes is cut in the text line (with the count of the rest),
/// whole in the JSON line; a chunk of exactly 512 is not cut.
#[test]
fn long_chunks_are_cut_in_text_and_whole_in_json() {
    let text = stdout(&run(&[], &one_write("b'a' * 600", 0)));
    let want = format!("600 bytes: \"{}\" … (+88 bytes)", "a".repeat(512));
    assert!(text.contains(&want), "{text}");
    let text = stdout(&run(&[], &one_write("b'a' * 512", 0)));
    assert!(
        text.contains(&format!("512 bytes: \"{}\"\n", "a".repeat(512))),
        "{text}"
    );
    let json = stdout(&run(&["--json"], &one_write("b'a' * 600", 0)));
    assert!(
        json.contains(&format!(
            ",\"fd\":1,\"len\":600,\"data\":\"{}\"}}",
            "a".repeat(600)
        )),
        "{json}"
    );
    let no_data = stdout(&run(&["--no-data"], &one_write("b'a' * 600", 0)));
    assert!(no_data.contains("fd 1 (stdout) 600 bytes\n"), "{no_data}");
}

/// JSON lines keep the schema's key order: `t_ms`, `event`, then the event's fields;
/// statuses are `{"kind","exit_code","signal"}` with nulls.
#[test]
fn json_lines_keep_the_schema_order() {
    let json = stdout(&run(&["--json"], &one_write("b'\\xff'", 0)));
    let lines: Vec<&str> = json.lines().collect();
    assert!(lines[0].starts_with("{\"t_ms\":"), "{json}");
    assert!(
        lines[0].contains(",\"event\":\"connection_made\",\"pid\":"),
        "{json}"
    );
    assert!(
        json.contains(
            ",\"event\":\"child_data_received\",\"fd\":1,\"len\":1,\"data_b64\":\"/w==\"}"
        ),
        "{json}"
    );
    assert!(
        json.contains(",\"event\":\"child_connection_lost\",\"fd\":1}"),
        "{json}"
    );
    assert!(
        lines.last().unwrap().ends_with(
            ",\"event\":\"process_ended\",\"status\":{\"kind\":\"done\",\"exit_code\":0,\"signal\":null}}"
        ),
        "{json}"
    );
    let killed = stdout(&run(
        &["--json", "--signal", "0:KILL"],
        &["sleep", "10"].map(String::from),
    ));
    assert!(
        killed
            .lines()
            .last()
            .unwrap()
            .ends_with("\"status\":{\"kind\":\"terminated\",\"exit_code\":null,\"signal\":9}}"),
        "{killed}"
    );
    for line in json.lines().chain(killed.lines()) {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        let t = value["t_ms"].as_f64().unwrap();
        assert!(
            t >= 0.0 && (t * 1000.0 - (t * 1000.0).round()).abs() < 1e-6,
            "{line}"
        );
    }
}

/// Several configured commands: each line carries the command's name.
#[test]
fn named_commands_prefix_text_and_name_json() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("named.toml");
    std::fs::write(
        &config,
        "[[command]]\nname = \"say\"\nprogram = \"sh\"\nargs = [\"sh\", \"-c\", \"printf hi\"]\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let text = stdout(&fdscope(&["run", "--config", config, "say"]));
    assert!(!text.is_empty());
    assert!(text.lines().all(|l| l.starts_with("[say] ")), "{text}");
    // Times right-aligned in ten columns after the name, whatever their size.
    assert!(
        text.lines().all(|l| l.get(16..20) == Some(" ms ")),
        "{text}"
    );
    let json = stdout(&fdscope(&["run", "--json", "--config", config, "say"]));
    assert!(
        json.lines()
            .all(|l| l.contains(",\"event\":") && l.contains(",\"name\":\"say\"")),
        "{json}"
    );
    assert!(
        json.contains("\"event\":\"child_data_received\",\"name\":\"say\",\"fd\":1,\"len\":2,\"data\":\"hi\"}"),
        "{json}"
    );
    let summary = stdout(&fdscope(&["run", "--summary", "--config", config, "say"]));
    assert!(
        summary.contains("[say] fd 1 (stdout): 2 bytes in 1 chunks\n"),
        "{summary}"
    );
    assert!(summary.contains("[say] process_ended after "), "{summary}");
    let json = stdout(&fdscope(&[
        "run",
        "--summary",
        "--json",
        "--config",
        config,
        "say",
    ]));
    let value: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(value["name"], "say", "{json}");
}

/// `--summary`: per fd, bytes and chunks (fds that got nothing too), then the end.
#[test]
fn summaries_count_bytes_and_chunks_per_fd() {
    let text = stdout(&run(&["--summary"], &one_write("b'abc'", 2)));
    assert!(
        text.contains("fd 0 (stdin): 0 bytes in 0 chunks\n"),
        "{text}"
    );
    assert!(
        text.contains("fd 1 (stdout): 3 bytes in 1 chunks\n"),
        "{text}"
    );
    assert!(
        text.contains("fd 2 (stderr): 0 bytes in 0 chunks\n"),
        "{text}"
    );
    let end = text.lines().last().unwrap();
    assert!(
        end.starts_with("process_ended after ") && end.ends_with(" ms: terminated, exit code 2"),
        "{text}"
    );
    let ms: f64 = end["process_ended after ".len()..end.find(" ms:").unwrap()]
        .parse()
        .unwrap();
    assert!(ms > 0.0, "{text}");
    let json = stdout(&run(&["--summary", "--json"], &one_write("b'abc'", 0)));
    let value: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(value["event"], "summary");
    assert_eq!(
        value["fds"],
        serde_json::json!({
            "0": {"bytes": 0, "chunks": 0},
            "1": {"bytes": 3, "chunks": 1},
            "2": {"bytes": 0, "chunks": 0},
        })
    );
    assert_eq!(
        value["status"],
        serde_json::json!({"kind": "done", "exit_code": 0, "signal": null})
    );
    assert!(value["t_ms"].as_f64().unwrap() > 0.0, "{json}");
    assert!(value.get("name").is_none(), "{json}");
}
