//! What a transcript records of one instance: the engine's own events, and the notes the
//! layers above the engine add to them (a script step, a failed script, readiness, a pipe
//! held open by another process). Every front end carries these in one ordered stream, so
//! a script step is printed, saved and replayed in its place among the process events.

use crate::spawn::ProcessEvent;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One thing that happened to an instance, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum TranscriptEvent {
    /// An event of the engine (`connection_made` … `process_ended`).
    Process(ProcessEvent),
    /// A script step completed (`script_step`).
    ScriptStep(ScriptStep),
    /// A script step failed; the script stops (`script_failed`).
    ScriptFailed(ScriptFailed),
    /// The command's `ready` expect matched (`ready`).
    Ready(Ready),
    /// A pipe is still open well after `process_exited`: other processes hold it (`held_open`).
    HeldOpen(HeldOpen),
}

impl From<ProcessEvent> for TranscriptEvent {
    fn from(event: ProcessEvent) -> Self {
        TranscriptEvent::Process(event)
    }
}

impl TranscriptEvent {
    /// The event's name in transcripts (`child_data_received`, `script_step`, …).
    pub fn name(&self) -> &'static str {
        match self {
            TranscriptEvent::Process(event) => event.name(),
            TranscriptEvent::ScriptStep(_) => "script_step",
            TranscriptEvent::ScriptFailed(_) => "script_failed",
            TranscriptEvent::Ready(_) => "ready",
            TranscriptEvent::HeldOpen(_) => "held_open",
        }
    }
}

/// Named groups of a match: name → matched text (`""` for a group that did not take part).
pub type Groups = BTreeMap<String, String>;

/// A completed script step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptStep {
    /// Index of the step in the script, from 0.
    pub step: usize,
    /// The step as a person reads it: `expect /1024/ on fd 1`, `write "2^10\n" to fd 0`.
    pub action: String,
    /// For an expect: the text the regex matched.
    #[serde(rename = "match", default, skip_serializing_if = "Option::is_none")]
    pub matched: Option<String>,
    /// For an expect: its named groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Groups>,
}

/// Why a script step failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailReason {
    /// The step's timeout passed.
    Timeout,
    /// The fd the step waited on was lost (EOF) without a match.
    Eof,
    /// The process was reaped without a match, or with another status than `exit` wanted.
    Exit,
}

impl FailReason {
    /// `timeout`, `eof`, `exit`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailReason::Timeout => "timeout",
            FailReason::Eof => "eof",
            FailReason::Exit => "exit",
        }
    }
}

/// A script step that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptFailed {
    /// Index of the step in the script, from 0.
    pub step: usize,
    /// The step as a person reads it (as in [`ScriptStep::action`]).
    pub action: String,
    /// Why it failed.
    pub reason: FailReason,
    /// The last ≤ 200 bytes of the fd the step watched, as text.
    pub tail: String,
}

/// The command's `ready` expect matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready {
    /// The named groups of the match (`${NAME.var}` for dependents).
    pub groups: Groups,
}

/// A process holding one end of a pipe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Its process id.
    pub pid: u32,
    /// Its command name (`/proc/PID/comm`).
    pub comm: String,
}

/// A pipe still open after `process_exited`, and who holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldOpen {
    /// The child fd whose pipe is still open.
    pub fd: i32,
    /// The processes holding the child's end (empty if `/proc` could not tell).
    pub holders: Vec<Holder>,
}
