//! The transcript line: one serde type for every JSON line fdscope writes (`run --json`,
//! `--events`, the console's `w`, `log_dir`) and reads back ([`read_transcript`], replay,
//! diagrams, exports). A flat object: `t_ms` and `event` first, `name` (and `instance`)
//! when several instances share a transcript, then the fields of that event.

use super::event::{
    FailReason, Groups, HeldOpen, Holder, Ready, ScriptFailed, ScriptStep, TranscriptEvent,
};
use crate::spawn::{ExitStatus, ProcessEvent};
use base64::Engine;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::BufRead;
use std::time::Duration;

/// The `event` field: which event a line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventName {
    /// `connection_made`
    ConnectionMade,
    /// `child_data_received`
    ChildDataReceived,
    /// `child_connection_lost`
    ChildConnectionLost,
    /// `process_exited`
    ProcessExited,
    /// `process_ended`
    ProcessEnded,
    /// `script_step`
    ScriptStep,
    /// `script_failed`
    ScriptFailed,
    /// `ready`
    Ready,
    /// `held_open`
    HeldOpen,
}

/// `"done"` or `"terminated"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusKind {
    /// Exit code 0.
    Done,
    /// A non-zero exit code, or a signal.
    Terminated,
}

/// An exit status as JSON: `{"kind":"done","exit_code":0,"signal":null}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusJson {
    /// Done or terminated.
    pub kind: StatusKind,
    /// The exit code (0 when done), or null when a signal killed the child.
    pub exit_code: Option<i32>,
    /// The signal, or null.
    pub signal: Option<i32>,
}

impl From<ExitStatus> for StatusJson {
    fn from(status: ExitStatus) -> Self {
        StatusJson {
            kind: if status.success() {
                StatusKind::Done
            } else {
                StatusKind::Terminated
            },
            exit_code: status.exit_code(),
            signal: status.signal(),
        }
    }
}

impl StatusJson {
    /// The status this describes; `None` when `kind` and the numbers disagree.
    pub fn to_status(self) -> Option<ExitStatus> {
        match (self.kind, self.exit_code, self.signal) {
            (StatusKind::Done, Some(0) | None, None) => Some(ExitStatus::Done),
            (StatusKind::Terminated, Some(code), None) if code != 0 => {
                Some(ExitStatus::from_code(code))
            }
            (StatusKind::Terminated, None, Some(sig)) => Some(ExitStatus::from_signal(sig)),
            (StatusKind::Terminated, None, None) => Some(ExitStatus::Terminated {
                exit_code: None,
                signal: None,
            }),
            _ => None,
        }
    }
}

/// One transcript line. Optional fields are left out when empty, so each event carries
/// only its own: `pid`; `fd`, `len`, `data`/`data_b64`; `status`; `step`, `action`,
/// `match`, `groups`, `reason`, `tail`; `holders`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptLine {
    /// Milliseconds since the spawn (microsecond precision).
    #[serde(serialize_with = "whole_as_integer")]
    pub t_ms: f64,
    /// Which event.
    pub event: EventName,
    /// The command's name, when the transcript has several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Which instance of that name (1, 2, …), when there were several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<u64>,
    /// `connection_made`: the process id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The child fd of a chunk, a lost pipe or a held-open pipe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fd: Option<i32>,
    /// A chunk's length in bytes (also when its bytes are left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub len: Option<usize>,
    /// A chunk's bytes, when they are UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// A chunk's bytes in base64, when they are not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_b64: Option<String>,
    /// `process_exited`, `process_ended`: how the child ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusJson>,
    /// A script step's index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
    /// A script step as a person reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// What an expect matched.
    #[serde(rename = "match", default, skip_serializing_if = "Option::is_none")]
    pub matched: Option<String>,
    /// Named groups of a match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Groups>,
    /// Why a script step failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<FailReason>,
    /// The end of the output a failed step watched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail: Option<String>,
    /// Who holds a pipe open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holders: Option<Vec<Holder>>,
}

/// `2` rather than `2.0`: the lines read as they always have.
fn whole_as_integer<S: serde::Serializer>(t: &f64, s: S) -> Result<S::Ok, S::Error> {
    if t.fract() == 0.0 && t.abs() < 1e15 {
        s.serialize_i64(*t as i64)
    } else {
        s.serialize_f64(*t)
    }
}

/// Milliseconds, rounded to the microsecond, as the float the JSON lines carry.
pub fn millis(elapsed: Duration) -> f64 {
    (elapsed.as_secs_f64() * 1e6).round() / 1e3
}

fn duration_of(t_ms: f64) -> Result<Duration, String> {
    if !(0.0..=1e15).contains(&t_ms) {
        return Err(format!("t_ms {t_ms} is not a time since the spawn"));
    }
    Ok(Duration::from_micros((t_ms * 1e3).round() as u64))
}

/// One recorded event, read back: what [`read_transcript`] yields and what a transcript
/// line is written from.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Time since the spawn.
    pub at: Duration,
    /// The command's name, if the line has one.
    pub name: Option<String>,
    /// The instance number, if the line has one.
    pub instance: Option<u64>,
    /// The event. A chunk recorded without its bytes has empty `data`.
    pub event: TranscriptEvent,
    /// A chunk's length (0 for other events).
    pub len: usize,
    /// False for a chunk whose bytes were left out.
    pub has_data: bool,
}

impl TranscriptLine {
    /// The line for `event` at `at`. `with_data = false` keeps only a chunk's `len`.
    pub fn new(at: Duration, event: &TranscriptEvent, name: Option<&str>, with_data: bool) -> Self {
        let mut line = TranscriptLine::bare(at, EventName::ConnectionMade);
        line.name = name.map(str::to_string);
        match event {
            TranscriptEvent::Process(event) => line.set_process(event, with_data),
            TranscriptEvent::ScriptStep(step) => {
                line.event = EventName::ScriptStep;
                line.step = Some(step.step);
                line.action = Some(step.action.clone());
                line.matched = step.matched.clone();
                line.groups = step.groups.clone();
            }
            TranscriptEvent::ScriptFailed(failed) => {
                line.event = EventName::ScriptFailed;
                line.step = Some(failed.step);
                line.action = Some(failed.action.clone());
                line.reason = Some(failed.reason);
                line.tail = Some(failed.tail.clone());
            }
            TranscriptEvent::Ready(ready) => {
                line.event = EventName::Ready;
                line.groups = Some(ready.groups.clone());
            }
            TranscriptEvent::HeldOpen(held) => {
                line.event = EventName::HeldOpen;
                line.fd = Some(held.fd);
                line.holders = Some(held.holders.clone());
            }
        }
        line
    }

    /// The line for an engine event.
    pub fn of_process(
        at: Duration,
        event: &ProcessEvent,
        name: Option<&str>,
        with_data: bool,
    ) -> Self {
        let mut line = TranscriptLine::bare(at, EventName::ConnectionMade);
        line.name = name.map(str::to_string);
        line.set_process(event, with_data);
        line
    }

    /// The line for a record (a chunk without its bytes keeps its real length).
    pub fn of_record(record: &Record) -> Self {
        let mut line = TranscriptLine::new(
            record.at,
            &record.event,
            record.name.as_deref(),
            record.has_data,
        );
        line.instance = record.instance;
        if line.len.is_some() {
            line.len = Some(record.len);
        }
        line
    }

    fn bare(at: Duration, event: EventName) -> Self {
        TranscriptLine {
            t_ms: millis(at),
            event,
            name: None,
            instance: None,
            pid: None,
            fd: None,
            len: None,
            data: None,
            data_b64: None,
            status: None,
            step: None,
            action: None,
            matched: None,
            groups: None,
            reason: None,
            tail: None,
            holders: None,
        }
    }

    fn set_process(&mut self, event: &ProcessEvent, with_data: bool) {
        match event {
            ProcessEvent::ConnectionMade { pid } => {
                self.event = EventName::ConnectionMade;
                self.pid = Some(*pid);
            }
            ProcessEvent::ChildDataReceived { fd, data } => {
                self.event = EventName::ChildDataReceived;
                self.fd = Some(*fd);
                self.len = Some(data.len());
                if with_data {
                    match std::str::from_utf8(data) {
                        Ok(text) => self.data = Some(text.to_string()),
                        Err(_) => {
                            self.data_b64 =
                                Some(base64::engine::general_purpose::STANDARD.encode(data))
                        }
                    }
                }
            }
            ProcessEvent::ChildConnectionLost { fd } => {
                self.event = EventName::ChildConnectionLost;
                self.fd = Some(*fd);
            }
            ProcessEvent::ProcessExited { status } => {
                self.event = EventName::ProcessExited;
                self.status = Some((*status).into());
            }
            ProcessEvent::ProcessEnded { status } => {
                self.event = EventName::ProcessEnded;
                self.status = Some((*status).into());
            }
        }
    }

    /// The line as JSON (no trailing newline).
    pub fn to_json(&self) -> String {
        // Serializing plain strings, numbers and maps cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses one JSON line.
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// The event this line records; an error names a field that is missing or wrong.
    pub fn to_record(&self) -> Result<Record, String> {
        let need = |what: &str| format!("{} needs `{what}`", self.event_str());
        let fd = || self.fd.ok_or_else(|| need("fd"));
        let status = || {
            let json = self.status.ok_or_else(|| need("status"))?;
            json.to_status()
                .ok_or_else(|| format!("status {json:?} is not a possible status"))
        };
        let mut len = 0;
        let mut has_data = true;
        let event: TranscriptEvent = match self.event {
            EventName::ConnectionMade => ProcessEvent::ConnectionMade {
                pid: self.pid.ok_or_else(|| need("pid"))?,
            }
            .into(),
            EventName::ChildDataReceived => {
                let data = match (&self.data, &self.data_b64) {
                    (Some(text), _) => Bytes::from(text.clone().into_bytes()),
                    (None, Some(b64)) => Bytes::from(
                        base64::engine::general_purpose::STANDARD
                            .decode(b64)
                            .map_err(|e| format!("data_b64: {e}"))?,
                    ),
                    (None, None) => {
                        has_data = false;
                        Bytes::new()
                    }
                };
                len = match self.len {
                    Some(len) if has_data && len != data.len() => {
                        return Err(format!("len {len} but {} bytes of data", data.len()))
                    }
                    Some(len) => len,
                    None if has_data => data.len(),
                    None => return Err(need("len")),
                };
                ProcessEvent::ChildDataReceived { fd: fd()?, data }.into()
            }
            EventName::ChildConnectionLost => {
                ProcessEvent::ChildConnectionLost { fd: fd()? }.into()
            }
            EventName::ProcessExited => ProcessEvent::ProcessExited { status: status()? }.into(),
            EventName::ProcessEnded => ProcessEvent::ProcessEnded { status: status()? }.into(),
            EventName::ScriptStep => TranscriptEvent::ScriptStep(ScriptStep {
                step: self.step.ok_or_else(|| need("step"))?,
                action: self.action.clone().ok_or_else(|| need("action"))?,
                matched: self.matched.clone(),
                groups: self.groups.clone(),
            }),
            EventName::ScriptFailed => TranscriptEvent::ScriptFailed(ScriptFailed {
                step: self.step.ok_or_else(|| need("step"))?,
                action: self.action.clone().ok_or_else(|| need("action"))?,
                reason: self.reason.ok_or_else(|| need("reason"))?,
                tail: self.tail.clone().unwrap_or_default(),
            }),
            EventName::Ready => TranscriptEvent::Ready(Ready {
                groups: self.groups.clone().unwrap_or_default(),
            }),
            EventName::HeldOpen => TranscriptEvent::HeldOpen(HeldOpen {
                fd: fd()?,
                holders: self.holders.clone().unwrap_or_default(),
            }),
        };
        Ok(Record {
            at: duration_of(self.t_ms)?,
            name: self.name.clone(),
            instance: self.instance,
            event,
            len,
            has_data,
        })
    }

    fn event_str(&self) -> String {
        serde_json::to_value(self.event)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

/// A line of a transcript that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// Its number, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// A transcript read back: the events of every good line, in file order, and what was
/// wrong with the others.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transcript {
    /// The events.
    pub records: Vec<Record>,
    /// The lines that were skipped, and why.
    pub errors: Vec<LineError>,
}

/// Parses one transcript line into its event.
pub fn parse_line(text: &str) -> Result<Record, String> {
    TranscriptLine::parse(text)?.to_record()
}

/// Longest line read (a chunk of a few MiB as JSON); longer ones are reported and skipped.
const MAX_LINE: usize = 64 * 1024 * 1024;

/// Reads a JSON-lines transcript. Blank lines are skipped; a malformed, truncated or
/// unknown line is reported with its number and the rest is still read. Only an I/O error
/// of `reader` stops it.
pub fn read_transcript(reader: impl BufRead) -> std::io::Result<Transcript> {
    read_lines_of_at_most(reader, MAX_LINE)
}

/// [`read_transcript`] with lines of at most `max_line` bytes (newline not counted).
fn read_lines_of_at_most(mut reader: impl BufRead, max_line: usize) -> std::io::Result<Transcript> {
    let mut transcript = Transcript::default();
    let mut buf = Vec::new();
    let mut number = 0;
    loop {
        buf.clear();
        let n = std::io::Read::take(reader.by_ref(), max_line as u64 + 1)
            .read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        number += 1;
        let error = |message: String| LineError {
            line: number,
            message,
        };
        if buf.len() > max_line && buf.last() != Some(&b'\n') {
            transcript
                .errors
                .push(error(format!("longer than {max_line} bytes")));
            // Skip the rest of the long line without holding it.
            reader.skip_until(b'\n')?;
            continue;
        }
        let Ok(text) = std::str::from_utf8(&buf) else {
            transcript.errors.push(error("not UTF-8 text".to_string()));
            continue;
        };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        match parse_line(text) {
            Ok(record) => transcript.records.push(record),
            Err(message) => transcript.errors.push(error(message)),
        }
    }
    Ok(transcript)
}

/// Reads a transcript file (see [`read_transcript`]).
pub fn read_transcript_file(path: &std::path::Path) -> std::io::Result<Transcript> {
    let file = std::fs::File::open(path)?;
    read_transcript(std::io::BufReader::new(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_of_the_longest_length_is_read_and_a_longer_one_skipped() {
        let line = r#"{"t_ms":1,"event":"connection_made","pid":7}"#;
        let padded = |extra: usize| format!("{line}{}", " ".repeat(extra));
        // The too-long line ends in a valid line: its rest must be skipped, not read.
        let long = format!("{}{line}", "x".repeat(line.len() + 11));
        let text = format!("{}\n{long}\n{line}\n", padded(10));
        let read = read_lines_of_at_most(text.as_bytes(), line.len() + 10).unwrap();
        assert_eq!(read.records.len(), 2, "{:?}", read.errors);
        assert_eq!(read.errors.len(), 1);
        assert_eq!(read.errors[0].line, 2);
        assert_eq!(
            read.errors[0].message,
            format!("longer than {} bytes", line.len() + 10)
        );
        // The last line needs no newline; a too-long last line without one ends the read.
        let read = read_lines_of_at_most(padded(10).as_bytes(), line.len() + 10).unwrap();
        assert_eq!(read.records.len(), 1, "{:?}", read.errors);
        let text = format!("{line}\n{long}");
        let read = read_lines_of_at_most(text.as_bytes(), line.len() + 10).unwrap();
        assert_eq!((read.records.len(), read.errors.len()), (1, 1));
    }
}
