//! Recordings: the SVG diagram (the committed `assets/wc-verbose.svg` regenerated from a
//! real run and compared by structure), `fdscope diagram` on a transcript, the asciicast
//! export, and `log_dir` files against `run --json`.

use fdscope::transcript::{read_transcript, Record};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fdscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fdscope"))
        .args(args)
        .output()
        .unwrap()
}

fn manifest(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The diagram's structure: the lanes (`process` or an fd) and the rows as
/// (event, lane, count, transcript index).
#[derive(Debug, PartialEq)]
struct Shape {
    lanes: Vec<String>,
    rows: Vec<(String, String, usize, usize)>,
}

fn shape(svg: &str) -> Shape {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"));
    let class = |n: &roxmltree::Node, c: &str| n.attribute("class") == Some(c);
    let lanes = doc
        .descendants()
        .filter(|n| class(n, "lane"))
        .map(|n| n.attribute("data-fd").unwrap().to_string())
        .collect();
    let rows = doc
        .descendants()
        .filter(|n| class(n, "event"))
        .map(|n| {
            (
                n.attribute("data-event").unwrap().to_string(),
                n.attribute("data-fd").unwrap().to_string(),
                n.attribute("data-count").unwrap().parse().unwrap(),
                n.attribute("data-index").unwrap().parse().unwrap(),
            )
        })
        .collect();
    Shape { lanes, rows }
}

fn lane_of(record: &Record) -> String {
    match &record.event {
        fdscope::transcript::TranscriptEvent::Process(e) => {
            e.fd().map_or("process".to_string(), |fd| fd.to_string())
        }
        _ => "process".to_string(),
    }
}

/// Every row stands for its transcript events, in transcript order, all of them once.
fn assert_rows_follow(shape: &Shape, records: &[Record]) {
    let mut next = 0;
    for (event, lane, count, index) in &shape.rows {
        assert_eq!(*index, next, "rows in transcript order: {shape:?}");
        for record in &records[*index..*index + *count] {
            assert_eq!(record.event.name(), event, "{shape:?}");
            assert_eq!(&lane_of(record), lane, "{shape:?}");
        }
        next += count;
    }
    assert_eq!(next, records.len(), "every event has its row");
}

#[test]
fn the_committed_wc_verbose_diagram_matches_a_fresh_run() {
    let dir = tempfile::tempdir().unwrap();
    let svg_path = dir.path().join("wc.svg");
    let json_path = dir.path().join("wc.jsonl");
    let out = fdscope(&[
        "run",
        "--json",
        "--events",
        json_path.to_str().unwrap(),
        "--diagram",
        svg_path.to_str().unwrap(),
        "--config",
        manifest("assets/default.toml").to_str().unwrap(),
        "wc-verbose",
    ]);
    assert!(out.status.success(), "{out:?}");
    let transcript = read_transcript(std::fs::read(&json_path).unwrap().as_slice()).unwrap();
    assert!(transcript.errors.is_empty());
    let fresh = shape(&std::fs::read_to_string(&svg_path).unwrap());
    assert_eq!(fresh.lanes, ["process", "0", "1", "2"]);
    assert_rows_follow(&fresh, &transcript.records);

    // The committed picture has the same lanes and the same events; only the order of the
    // last events may differ between runs (the order between fds is not fixed).
    let committed = shape(&std::fs::read_to_string(manifest("assets/wc-verbose.svg")).unwrap());
    assert_eq!(committed.lanes, fresh.lanes);
    let events = |s: &Shape| {
        let mut v: Vec<(String, String)> =
            s.rows.iter().map(|r| (r.0.clone(), r.1.clone())).collect();
        v.sort();
        v
    };
    assert_eq!(events(&committed), events(&fresh));
    assert_eq!(committed.rows[0].0, "connection_made");
    assert_eq!(committed.rows.last().unwrap().0, "process_ended");
}

#[test]
fn diagram_folds_runs_of_chunks_and_keeps_the_order() {
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("flood.jsonl");
    let out = fdscope(&[
        "run",
        "--json",
        "--no-data",
        "--events",
        json_path.to_str().unwrap(),
        "--fd",
        "1=r",
        "--fd",
        "3=r",
        "--",
        "sh",
        "-c",
        "for i in 1 2 3 4 5 6; do echo $i; sleep 0.01; done; echo three >&3",
    ]);
    assert!(out.status.success(), "{out:?}");
    let svg_path = dir.path().join("out.svg");
    let out = fdscope(&[
        "diagram",
        json_path.to_str().unwrap(),
        "-o",
        svg_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read(&json_path).unwrap();
    let records = read_transcript(text.as_slice()).unwrap().records;
    let shape = shape(&std::fs::read_to_string(&svg_path).unwrap());
    assert_eq!(shape.lanes, ["process", "1", "3"]);
    assert_rows_follow(&shape, &records);
    // Six separate writes on fd 1 with nothing between them: at most one row per run.
    let fd1_rows = shape
        .rows
        .iter()
        .filter(|r| r.0 == "child_data_received" && r.1 == "1")
        .count();
    assert!(fd1_rows < 6, "runs of chunks fold: {shape:?}");
}

#[test]
fn diagram_reports_bad_lines_with_their_number_and_draws_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("bad.jsonl");
    std::fs::write(
        &json_path,
        concat!(
            r#"{"t_ms":0,"event":"connection_made","pid":1}"#,
            "\n",
            r#"{"t_ms":0.1,"event":"child_data_rece"#,
            "\n",
            r#"{"t_ms":0.2,"event":"process_ended","status":{"kind":"done","exit_code":0,"signal":null}}"#,
            "\n"
        ),
    )
    .unwrap();
    let out = fdscope(&["diagram", json_path.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 2:"), "{stderr}");
    let svg = std::fs::read_to_string(dir.path().join("bad.svg")).unwrap();
    let events: Vec<String> = shape(&svg).rows.into_iter().map(|r| r.0).collect();
    assert_eq!(events, ["connection_made", "process_ended"]);
}

#[test]
fn export_asciicast_writes_a_v2_header_and_timed_output_frames() {
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("pty.jsonl");
    let out = fdscope(&[
        "run",
        "--json",
        "--events",
        json_path.to_str().unwrap(),
        "--pty-size",
        "10x40",
        "--",
        "sh",
        "-c",
        "printf 'hello\\n'; printf 'w\\303\\266rld\\n' >&2",
    ]);
    assert!(out.status.success(), "{out:?}");
    let cast_path = dir.path().join("out.cast");
    let out = fdscope(&[
        "export",
        "--asciicast",
        json_path.to_str().unwrap(),
        "--size",
        "40x10",
        "-o",
        cast_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let cast = std::fs::read_to_string(&cast_path).unwrap();
    let mut lines = cast.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["version"], 2);
    assert_eq!(header["width"], 40);
    assert_eq!(header["height"], 10);
    let mut text = String::new();
    let mut last = 0.0;
    for line in lines {
        let frame: serde_json::Value = serde_json::from_str(line).unwrap();
        let frame = frame.as_array().unwrap();
        assert_eq!(frame.len(), 3, "{line}");
        let t = frame[0].as_f64().unwrap();
        assert!(t >= last, "times go forward: {cast}");
        last = t;
        assert_eq!(frame[1], "o");
        text.push_str(frame[2].as_str().unwrap());
    }
    // The pty merged stdout and stderr, with the terminal's line endings.
    assert_eq!(text, "hello\r\nwörld\r\n");
}

#[test]
fn export_asciicast_of_a_pipe_child_gets_terminal_line_endings() {
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("pipe.jsonl");
    let out = fdscope(&[
        "run",
        "--json",
        "--events",
        json_path.to_str().unwrap(),
        "--",
        "printf",
        "a\\nb\\n",
    ]);
    assert!(out.status.success(), "{out:?}");
    let out = fdscope(&["export", "--asciicast", json_path.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let cast = std::fs::read_to_string(dir.path().join("pipe.cast")).unwrap();
    let text: String = cast
        .lines()
        .skip(1)
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()[2]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(text, "a\r\nb\r\n");
    // A --no-data transcript has nothing to play: an error, not an empty cast.
    let nodata = dir.path().join("nodata.jsonl");
    let out = fdscope(&[
        "run",
        "--json",
        "--no-data",
        "--events",
        nodata.to_str().unwrap(),
        "--",
        "echo",
        "x",
    ]);
    assert!(out.status.success());
    let out = fdscope(&["export", "--asciicast", nodata.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-data"));
}

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("fdscope.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn log_dir_files_equal_run_json_for_the_same_run() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let config = write_config(
        dir.path(),
        &format!(
            r#"
[console]
log_dir = "{}"

[[command]]
name = "wc"
program = "wc"
script = [ {{ write = "one two\nthree\n" }}, {{ close = 0 }} ]

[[command]]
name = "both"
program = "sh"
args = ["sh", "-c", "echo out; echo err >&2; exit 4"]
"#,
            logs.display()
        ),
    );
    let run = || {
        fdscope(&[
            "run",
            "--json",
            "--config",
            config.to_str().unwrap(),
            "wc",
            "both",
        ])
    };
    let out = run();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    for name in ["wc", "both"] {
        let logged = std::fs::read_to_string(logs.join(format!("{name}-1.jsonl"))).unwrap();
        let printed: Vec<&str> = stdout
            .lines()
            .filter(|l| l.contains(&format!(r#""name":"{name}""#)))
            .collect();
        assert!(printed.len() >= 5, "{stdout}");
        assert_eq!(logged.lines().collect::<Vec<_>>(), printed, "{name}");
    }
    // A second run gets new files; the first ones stay.
    let _ = run();
    assert!(logs.join("wc-2.jsonl").exists());
    assert!(logs.join("wc-1.jsonl").exists());
}

#[test]
fn log_files_keep_only_lengths_beyond_log_max_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let config = write_config(
        dir.path(),
        &format!(
            r#"
[console]
log_max_bytes = 1

[[command]]
name = "flood"
program = "sh"
args = ["sh", "-c", "for i in $(seq 200); do echo line $i; done"]
log_dir = "{}"
"#,
            logs.display()
        ),
    );
    let out = fdscope(&[
        "run",
        "--json",
        "--config",
        config.to_str().unwrap(),
        "flood",
    ]);
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read(logs.join("flood-1.jsonl")).unwrap();
    let transcript = read_transcript(text.as_slice()).unwrap();
    assert!(transcript.errors.is_empty());
    let chunks: Vec<&Record> = transcript
        .records
        .iter()
        .filter(|r| r.event.name() == "child_data_received")
        .collect();
    let total: usize = chunks.iter().map(|r| r.len).sum();
    assert_eq!(
        total,
        (1..=200)
            .map(|i| format!("line {i}\n").len())
            .sum::<usize>()
    );
    let kept: usize = chunks.iter().filter(|r| r.has_data).map(|r| r.len).sum();
    // connection_made alone passes the 1-byte bound: every chunk is a length only.
    assert_eq!(kept, 0, "bytes beyond the bound are not logged");
    assert!(
        !String::from_utf8_lossy(&text).contains("line 1"),
        "no chunk bytes in the file"
    );
    assert_eq!(
        transcript.records.last().unwrap().event.name(),
        "process_ended"
    );
}
