//! Transcript lines: every event kind written and read back unchanged, malformed lines
//! reported with their number, and a real `fdscope run --json` transcript read back.

use bytes::Bytes;
use fdscope::transcript::{
    read_transcript, FailReason, Groups, HeldOpen, Holder, Ready, Record, ScriptFailed, ScriptStep,
    TranscriptEvent, TranscriptLine,
};
use fdscope::{ExitStatus, ProcessEvent};
use std::process::Command;
use std::time::Duration;

fn every_kind() -> Vec<TranscriptEvent> {
    let groups: Groups = [("n".to_string(), "1024".to_string())].into();
    vec![
        ProcessEvent::ConnectionMade { pid: 4242 }.into(),
        ProcessEvent::ChildDataReceived {
            fd: 1,
            data: Bytes::from_static(b"      40     160     936\n"),
        }
        .into(),
        ProcessEvent::ChildDataReceived {
            fd: 4,
            data: Bytes::from_static(b"\xff\x00binary"),
        }
        .into(),
        ProcessEvent::ChildConnectionLost { fd: 1 }.into(),
        ProcessEvent::ProcessExited {
            status: ExitStatus::from_code(3),
        }
        .into(),
        ProcessEvent::ProcessEnded {
            status: ExitStatus::from_signal(9),
        }
        .into(),
        ProcessEvent::ProcessEnded {
            status: ExitStatus::Done,
        }
        .into(),
        TranscriptEvent::ScriptStep(ScriptStep {
            step: 0,
            action: "expect /1024/ on fd 1".into(),
            matched: Some("1024".into()),
            groups: Some(groups.clone()),
        }),
        TranscriptEvent::ScriptStep(ScriptStep {
            step: 1,
            action: "write \"2^10\\n\" to fd 0".into(),
            matched: None,
            groups: None,
        }),
        TranscriptEvent::ScriptFailed(ScriptFailed {
            step: 2,
            action: "expect /x/ on fd 1".into(),
            reason: FailReason::Timeout,
            tail: "last words".into(),
        }),
        TranscriptEvent::Ready(Ready { groups }),
        TranscriptEvent::HeldOpen(HeldOpen {
            fd: 1,
            holders: vec![Holder {
                pid: 7,
                comm: "sleep".into(),
            }],
        }),
    ]
}

#[test]
fn every_event_kind_round_trips_through_a_line() {
    let mut text = String::new();
    let mut written = Vec::new();
    for (i, event) in every_kind().into_iter().enumerate() {
        let record = Record {
            at: Duration::from_micros(1_000 * i as u64 + 910),
            name: (i % 2 == 0).then(|| "wc".to_string()),
            instance: (i % 3 == 0).then_some(2),
            len: match &event {
                TranscriptEvent::Process(ProcessEvent::ChildDataReceived { data, .. }) => {
                    data.len()
                }
                _ => 0,
            },
            event,
            has_data: true,
        };
        text.push_str(&TranscriptLine::of_record(&record).to_json());
        text.push('\n');
        written.push(record);
    }
    let read = read_transcript(text.as_bytes()).unwrap();
    assert_eq!(read.errors, vec![], "{text}");
    assert_eq!(read.records, written, "{text}");
    // The binary chunk went out as base64, the text chunk as text.
    assert!(text.contains(r#""data_b64":"/wBiaW5hcnk=""#), "{text}");
    assert!(
        text.contains(r#""data":"      40     160     936\n""#),
        "{text}"
    );
}

#[test]
fn a_chunk_without_its_bytes_keeps_its_length() {
    let record = Record {
        at: Duration::from_millis(5),
        name: None,
        instance: None,
        event: ProcessEvent::ChildDataReceived {
            fd: 2,
            data: Bytes::new(),
        }
        .into(),
        len: 65536,
        has_data: false,
    };
    let line = TranscriptLine::of_record(&record).to_json();
    assert_eq!(
        line,
        r#"{"t_ms":5,"event":"child_data_received","fd":2,"len":65536}"#
    );
    let read = read_transcript(line.as_bytes()).unwrap();
    assert_eq!(read.records, vec![record]);
}

#[test]
fn malformed_lines_are_reported_with_their_number_and_the_rest_is_read() {
    let text = concat!(
        r#"{"t_ms":0.08,"event":"connection_made","pid":42}"#,
        "\n",
        "\n",
        r#"{"t_ms":0.5,"event":"child_data_received","fd":1,"len":3,"data":"hi\n"}"#,
        "\n",
        r#"{"t_ms":0.9,"event":"child_data_rec"#,
        "\n",
        r#"{"t_ms":1.0,"event":"teleported","fd":1}"#,
        "\n",
        r#"{"t_ms":1.1,"event":"child_connection_lost"}"#,
        "\n",
        r#"{"t_ms":1.2,"event":"process_ended","status":{"kind":"done","exit_code":0,"signal":null}}"#,
        "\n",
        r#"{"t_ms":1.3,"event":"child_data_received","fd":1,"len":9,"data":"x"}"#,
    );
    let read = read_transcript(text.as_bytes()).unwrap();
    let lines: Vec<usize> = read.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![4, 5, 6, 8], "{:?}", read.errors);
    assert!(read.errors[0].to_string().starts_with("line 4: "));
    assert!(
        read.errors[1].message.contains("teleported"),
        "{:?}",
        read.errors
    );
    assert!(read.errors[2].message.contains("fd"), "{:?}", read.errors);
    let names: Vec<&str> = read.records.iter().map(|r| r.event.name()).collect();
    assert_eq!(
        names,
        ["connection_made", "child_data_received", "process_ended"]
    );
}

#[test]
fn a_run_json_transcript_reads_back_in_order() {
    let out = Command::new(env!("CARGO_BIN_EXE_fdscope"))
        .args([
            "run",
            "--json",
            "--",
            "sh",
            "-c",
            "printf abc; printf err >&2; exit 3",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let read = read_transcript(text.as_bytes()).unwrap();
    assert_eq!(read.errors, vec![]);
    assert_eq!(read.records.len(), text.lines().count());
    // Written again, every line is the same text.
    for (record, line) in read.records.iter().zip(text.lines()) {
        assert_eq!(TranscriptLine::of_record(record).to_json(), line);
    }
    let data: Vec<u8> = read
        .records
        .iter()
        .filter_map(|r| match &r.event {
            TranscriptEvent::Process(ProcessEvent::ChildDataReceived { fd: 1, data }) => {
                Some(data.to_vec())
            }
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(data, b"abc");
    assert_eq!(
        read.records.last().unwrap().event,
        TranscriptEvent::Process(ProcessEvent::ProcessEnded {
            status: ExitStatus::from_code(3)
        })
    );
}

#[test]
fn a_failed_step_reads_with_its_reason_in_text() {
    let failed = |reason| {
        TranscriptEvent::ScriptFailed(ScriptFailed {
            step: 3,
            action: "expect /ok/ on fd 1".into(),
            reason,
            tail: "no".into(),
        })
    };
    let text = |reason| {
        fdscope::transcript::event_text_line(Duration::from_millis(7), &failed(reason), None, true)
    };
    for (reason, word) in [
        (FailReason::Timeout, "timeout"),
        (FailReason::Eof, "eof"),
        (FailReason::Exit, "exit"),
    ] {
        assert_eq!(
            text(reason),
            format!(
                "     7.000 ms  script_failed          step 3: expect /ok/ on fd 1: {word}; last output: \"no\""
            )
        );
    }
}

#[test]
fn statuses_read_back_only_when_kind_and_numbers_agree() {
    let ended = |status: &str| {
        let line = format!(r#"{{"t_ms":1,"event":"process_ended","status":{status}}}"#);
        read_transcript(line.as_bytes()).unwrap()
    };
    let status_of = |status: &str| match &ended(status).records[..] {
        [Record {
            event: TranscriptEvent::Process(ProcessEvent::ProcessEnded { status }),
            ..
        }] => Some(*status),
        _ => None,
    };
    assert_eq!(status_of(r#"{"kind":"done"}"#), Some(ExitStatus::Done));
    assert_eq!(
        status_of(r#"{"kind":"terminated","exit_code":3}"#),
        Some(ExitStatus::from_code(3))
    );
    assert_eq!(
        status_of(r#"{"kind":"terminated","signal":9}"#),
        Some(ExitStatus::from_signal(9))
    );
    // Ended with neither a code nor a signal (a status the OS did not explain).
    assert_eq!(
        status_of(r#"{"kind":"terminated"}"#),
        Some(ExitStatus::Terminated {
            exit_code: None,
            signal: None
        })
    );
    // Terminated with code 0, or done with a signal: not a possible status.
    for impossible in [
        r#"{"kind":"terminated","exit_code":0}"#,
        r#"{"kind":"done","signal":15}"#,
    ] {
        let read = ended(impossible);
        assert!(read.records.is_empty(), "{impossible}");
        assert!(
            read.errors[0].message.contains("not a possible status"),
            "{:?}",
            read.errors
        );
    }
}

#[test]
fn a_chunk_needs_its_length_or_its_bytes() {
    let read = read_transcript(&br#"{"t_ms":1,"event":"child_data_received","fd":1}"#[..]).unwrap();
    assert!(read.records.is_empty());
    assert!(read.errors[0].message.contains("len"), "{:?}", read.errors);
    let read =
        read_transcript(&br#"{"t_ms":1,"event":"child_data_received","fd":1,"data":"abc"}"#[..])
            .unwrap();
    assert_eq!(read.records[0].len, 3);
}

#[test]
fn times_are_integers_when_whole_and_floats_otherwise() {
    let at = |ms: f64| {
        let mut line = TranscriptLine::of_record(&Record {
            at: Duration::ZERO,
            name: None,
            instance: None,
            event: ProcessEvent::ConnectionMade { pid: 1 }.into(),
            len: 0,
            has_data: true,
        });
        line.t_ms = ms;
        line.to_json()
    };
    assert!(at(2.0).starts_with(r#"{"t_ms":2,"#), "{}", at(2.0));
    assert!(at(2.5).starts_with(r#"{"t_ms":2.5,"#), "{}", at(2.5));
    // Beyond what an integer carries exactly in every JSON reader: a float.
    assert!(
        at(1e15).starts_with(r#"{"t_ms":1000000000000000.0,"#),
        "{}",
        at(1e15)
    );
    assert!(
        at(999_999_999_999_999.0).starts_with(r#"{"t_ms":999999999999999,"#),
        "{}",
        at(999_999_999_999_999.0)
    );
}

#[test]
fn a_chunk_of_megabytes_reads_back_and_missing_fields_are_named() {
    let data = "x".repeat(2 * 1024 * 1024);
    let line = format!(
        r#"{{"t_ms":1,"event":"child_data_received","fd":1,"len":{},"data":"{data}"}}"#,
        data.len()
    );
    let read = read_transcript(line.as_bytes()).unwrap();
    assert!(read.errors.is_empty(), "{:?}", read.errors);
    assert_eq!(read.records[0].len, data.len());
    let read = read_transcript(&br#"{"t_ms":1,"event":"child_connection_lost"}"#[..]).unwrap();
    assert_eq!(read.errors[0].message, "child_connection_lost needs `fd`");
}

#[test]
fn named_groups_show_in_text_and_a_file_reads_like_a_stream() {
    let groups: Groups = [("port".to_string(), "8080".to_string())].into();
    let step = TranscriptEvent::ScriptStep(ScriptStep {
        step: 1,
        action: "expect /port (?P<port>\\d+)/ on fd 1".into(),
        matched: Some("port 8080\n".into()),
        groups: Some(groups.clone()),
    });
    let text = fdscope::transcript::event_text_line(Duration::from_millis(1), &step, None, true);
    assert!(
        text.ends_with(r#"matched "port 8080\n" port="8080""#),
        "{text}"
    );
    let ready = TranscriptEvent::Ready(Ready { groups });
    let text = fdscope::transcript::event_text_line(Duration::from_millis(1), &ready, None, true);
    assert!(
        text.ends_with(r#"ready                  port="8080""#),
        "{text}"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    std::fs::write(
        &path,
        "{\"t_ms\":1,\"event\":\"connection_made\",\"pid\":7}\nnot json\n",
    )
    .unwrap();
    let read = fdscope::transcript::read_transcript_file(&path).unwrap();
    assert_eq!(read.records.len(), 1);
    assert_eq!(read.errors[0].line, 2);
    assert!(fdscope::transcript::read_transcript_file(&dir.path().join("gone")).is_err());
}
