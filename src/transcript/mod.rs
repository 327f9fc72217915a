//! Events as text: the human transcript (like the seed's verbose example) and JSON lines.

mod event;
mod line;
mod notes;
pub use event::{
    FailReason, Groups, HeldOpen, Holder, Ready, ScriptFailed, ScriptStep, TranscriptEvent,
};
pub use line::{
    millis, parse_line, read_transcript, read_transcript_file, EventName, LineError, Record,
    StatusJson, StatusKind, Transcript, TranscriptLine,
};
pub use notes::{event_json_line, event_text_line};

use crate::escape::escape;
use crate::spawn::{ExitStatus, ProcessEvent};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// Longest data excerpt in a text line; the JSON form always carries every byte.
const TEXT_EXCERPT: usize = 512;

/// The usual role of a standard fd, for readable transcripts.
pub fn fd_role(fd: i32) -> Option<&'static str> {
    match fd {
        0 => Some("stdin"),
        1 => Some("stdout"),
        2 => Some("stderr"),
        _ => None,
    }
}

fn fd_text(fd: i32) -> String {
    match fd_role(fd) {
        Some(role) => format!("fd {fd} ({role})"),
        None => format!("fd {fd}"),
    }
}

/// One event as a human-readable line (no trailing newline):
/// `     0.910 ms  child_data_received    fd 1 (stdout) 24 bytes: "      40     160     936\n"`.
pub fn text_line(
    elapsed: Duration,
    event: &ProcessEvent,
    name: Option<&str>,
    with_data: bool,
) -> String {
    let mut line = String::new();
    if let Some(name) = name {
        let _ = write!(line, "[{name}] ");
    }
    let _ = write!(line, "{:>10.3} ms  {:<22} ", millis(elapsed), event.name());
    match event {
        ProcessEvent::ConnectionMade { pid } => {
            let _ = write!(line, "pid {pid}");
        }
        ProcessEvent::ChildDataReceived { fd, data } => {
            let _ = write!(line, "{} {} bytes", fd_text(*fd), data.len());
            if with_data {
                let shown = &data[..data.len().min(TEXT_EXCERPT)];
                let _ = write!(line, ": \"{}\"", escape(shown));
                if shown.len() < data.len() {
                    let _ = write!(line, " … (+{} bytes)", data.len() - shown.len());
                }
            }
        }
        ProcessEvent::ChildConnectionLost { fd } => line.push_str(&fd_text(*fd)),
        ProcessEvent::ProcessExited { status } | ProcessEvent::ProcessEnded { status } => {
            let _ = write!(line, "{status}");
        }
    }
    line
}

/// One event as a JSON line (no trailing newline), in the format ARCHITECTURE.md gives ("The transcript line"):
/// `t_ms` and `event` first, `name` when given, then the event's own fields. Data is
/// `data` when it is UTF-8, else `data_b64`; `with_data = false` keeps only `len`.
pub fn json_line(
    elapsed: Duration,
    event: &ProcessEvent,
    name: Option<&str>,
    with_data: bool,
) -> String {
    TranscriptLine::of_process(elapsed, event, name, with_data).to_json()
}

/// Per-fd byte and chunk counts, for `--summary`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// fd -> (bytes, chunks).
    pub fds: BTreeMap<i32, (u64, u64)>,
    /// How the child ended, once it has.
    pub status: Option<ExitStatus>,
    /// When `process_ended` came.
    pub ended_at: Option<Duration>,
}

impl Summary {
    /// Counts one event.
    pub fn add(&mut self, elapsed: Duration, event: &ProcessEvent) {
        match event {
            ProcessEvent::ChildDataReceived { fd, data } => {
                let entry = self.fds.entry(*fd).or_default();
                entry.0 += data.len() as u64;
                entry.1 += 1;
            }
            ProcessEvent::ChildConnectionLost { fd } => {
                self.fds.entry(*fd).or_default();
            }
            ProcessEvent::ProcessEnded { status } => {
                self.status = Some(*status);
                self.ended_at = Some(elapsed);
            }
            _ => {}
        }
    }

    /// The summary as text lines.
    pub fn text(&self, name: Option<&str>) -> String {
        let prefix = name.map(|n| format!("[{n}] ")).unwrap_or_default();
        let mut out = String::new();
        for (fd, (bytes, chunks)) in &self.fds {
            let _ = writeln!(
                out,
                "{prefix}{}: {bytes} bytes in {chunks} chunks",
                fd_text(*fd)
            );
        }
        if let (Some(status), Some(at)) = (self.status, self.ended_at) {
            let _ = writeln!(
                out,
                "{prefix}process_ended after {:.3} ms: {status}",
                millis(at)
            );
        }
        out
    }

    /// The summary as one JSON line (with trailing newline).
    pub fn json(&self, name: Option<&str>) -> String {
        let fds: serde_json::Map<String, serde_json::Value> = self
            .fds
            .iter()
            .map(|(fd, (bytes, chunks))| {
                (
                    fd.to_string(),
                    serde_json::json!({ "bytes": bytes, "chunks": chunks }),
                )
            })
            .collect();
        let mut value = serde_json::json!({
            "t_ms": self.ended_at.map(millis),
            "event": "summary",
            "fds": fds,
            "status": self.status.map(StatusJson::from),
        });
        if let Some(name) = name {
            value["name"] = name.into();
        }
        format!("{value}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn json_lines_follow_the_design_schema() {
        let data = ProcessEvent::ChildDataReceived {
            fd: 1,
            data: Bytes::from_static(b"      40     160     936\n"),
        };
        assert_eq!(
            json_line(Duration::from_micros(910), &data, None, true),
            r#"{"t_ms":0.91,"event":"child_data_received","fd":1,"len":25,"data":"      40     160     936\n"}"#
        );
        let ended = ProcessEvent::ProcessEnded {
            status: ExitStatus::from_signal(9),
        };
        assert_eq!(
            json_line(Duration::from_millis(2), &ended, Some("wc"), true),
            r#"{"t_ms":2,"event":"process_ended","name":"wc","status":{"kind":"terminated","exit_code":null,"signal":9}}"#
        );
    }

    #[test]
    fn binary_data_goes_to_data_b64_and_no_data_keeps_the_length() {
        let data = ProcessEvent::ChildDataReceived {
            fd: 4,
            data: Bytes::from_static(b"\xff\x00"),
        };
        let line = json_line(Duration::ZERO, &data, None, true);
        assert!(
            line.ends_with(r#""fd":4,"len":2,"data_b64":"/wA="}"#),
            "{line}"
        );
        let line = json_line(Duration::ZERO, &data, None, false);
        assert!(line.ends_with(r#""fd":4,"len":2}"#), "{line}");
    }

    #[test]
    fn text_lines_read_like_the_seed_transcript() {
        let data = ProcessEvent::ChildDataReceived {
            fd: 1,
            data: Bytes::from_static(b"hi\n"),
        };
        let line = text_line(Duration::from_micros(1500), &data, Some("wc"), true);
        assert_eq!(
            line,
            "[wc]      1.500 ms  child_data_received    fd 1 (stdout) 3 bytes: \"hi\\n\""
        );
    }
}
