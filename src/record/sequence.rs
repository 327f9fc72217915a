//! The fd order of a transcript as rows and lanes: per instance one lane for the process
//! and one per fd; per event one row, in transcript order, with runs of chunks on one fd
//! folded into one row with a count. The SVG diagram and the console's lanes view both
//! draw this.

use crate::spawn::{ExitStatus, ProcessEvent};
use crate::transcript::{Record, TranscriptEvent};
use std::time::Duration;

/// Runs of at least this many consecutive chunks on one fd are folded into one row.
pub const FOLD_AT: usize = 3;

/// The lanes of one instance: its process lane and its fds, in fd order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaneGroup {
    /// The command's name, when the transcript has one.
    pub name: Option<String>,
    /// The instance number, when the transcript has one.
    pub instance: Option<u64>,
    /// The fds that appear in its events.
    pub fds: Vec<i32>,
}

impl LaneGroup {
    /// `wc`, `wc #2`, or `process`.
    pub fn title(&self) -> String {
        match (&self.name, self.instance) {
            (Some(name), Some(k)) => format!("{name} #{k}"),
            (Some(name), None) => name.clone(),
            (None, Some(k)) => format!("#{k}"),
            (None, None) => "process".into(),
        }
    }
}

/// What a row shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// `connection_made`.
    Started {
        /// The process id.
        pid: u32,
    },
    /// One chunk, or a folded run of `count` chunks on `fd`.
    Chunks {
        /// The fd.
        fd: i32,
        /// How many chunks.
        count: usize,
        /// Their bytes together.
        bytes: u64,
        /// The first chunk's bytes (up to 60), for a tooltip.
        excerpt: Vec<u8>,
    },
    /// `child_connection_lost`.
    Lost {
        /// The fd.
        fd: i32,
    },
    /// `process_exited`.
    Exited(ExitStatus),
    /// `process_ended`.
    Ended(ExitStatus),
    /// A note from above the engine (`script_step`, `ready`, `held_open`, …) on the process
    /// lane, or on an fd lane when it is about one.
    Note {
        /// The event's name.
        event: &'static str,
        /// The fd, for `held_open`.
        fd: Option<i32>,
        /// What to write beside it.
        text: String,
    },
}

impl Mark {
    /// The transcript event name of the row.
    pub fn event(&self) -> &'static str {
        match self {
            Mark::Started { .. } => "connection_made",
            Mark::Chunks { .. } => "child_data_received",
            Mark::Lost { .. } => "child_connection_lost",
            Mark::Exited(_) => "process_exited",
            Mark::Ended(_) => "process_ended",
            Mark::Note { event, .. } => event,
        }
    }

    /// The fd lane of the row (`None`: the process lane).
    pub fn fd(&self) -> Option<i32> {
        match self {
            Mark::Chunks { fd, .. } | Mark::Lost { fd } => Some(*fd),
            Mark::Note { fd, .. } => *fd,
            _ => None,
        }
    }

    /// A short label: `24 B`, `37 chunks · 1.2 MiB`, `lost`, `exited: done, exit code 0`.
    pub fn label(&self) -> String {
        match self {
            Mark::Started { pid } => format!("connection_made · pid {pid}"),
            Mark::Chunks {
                count: 1, bytes, ..
            } => format!("child_data_received · {}", size(*bytes)),
            Mark::Chunks { count, bytes, .. } => format!("{count} chunks · {}", size(*bytes)),
            Mark::Lost { .. } => "child_connection_lost".into(),
            Mark::Exited(status) => format!("process_exited · {status}"),
            Mark::Ended(status) => format!("process_ended · {status}"),
            Mark::Note { event, text, .. } => format!("{event} · {text}"),
        }
    }
}

pub use crate::wording::size;

/// One row of the picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Index of its lane group.
    pub group: usize,
    /// Time of its (first) event.
    pub at: Duration,
    /// Time of its last event (a folded run).
    pub until: Duration,
    /// Index of its first event in the transcript.
    pub first: usize,
    /// What it shows.
    pub mark: Mark,
}

/// A transcript as lanes and rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sequence {
    /// One group per instance, in order of first appearance.
    pub groups: Vec<LaneGroup>,
    /// The rows, top-down.
    pub rows: Vec<Row>,
}

fn note_text(event: &TranscriptEvent) -> (Option<i32>, String) {
    match event {
        TranscriptEvent::Process(_) => (None, String::new()),
        TranscriptEvent::ScriptStep(step) => (None, step.action.clone()),
        TranscriptEvent::ScriptFailed(failed) => (
            None,
            format!("{} ({})", failed.action, failed.reason.as_str()),
        ),
        TranscriptEvent::Ready(_) => (None, "ready".into()),
        TranscriptEvent::HeldOpen(held) => (
            Some(held.fd),
            held.holders
                .iter()
                .map(|h| format!("{} {}", h.comm, h.pid))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    }
}

impl Sequence {
    /// Builds the lanes and rows of `records` (in their order), folding runs of at least
    /// [`FOLD_AT`] chunks on one fd of one instance.
    pub fn new(records: &[Record]) -> Sequence {
        let mut seq = Sequence::default();
        for (index, record) in records.iter().enumerate() {
            let group = seq.group_of(record);
            let mark = match &record.event {
                TranscriptEvent::Process(event) => match event {
                    ProcessEvent::ConnectionMade { pid } => Mark::Started { pid: *pid },
                    ProcessEvent::ChildDataReceived { fd, data } => Mark::Chunks {
                        fd: *fd,
                        count: 1,
                        bytes: record.len as u64,
                        excerpt: data[..data.len().min(60)].to_vec(),
                    },
                    ProcessEvent::ChildConnectionLost { fd } => Mark::Lost { fd: *fd },
                    ProcessEvent::ProcessExited { status } => Mark::Exited(*status),
                    ProcessEvent::ProcessEnded { status } => Mark::Ended(*status),
                },
                other => {
                    let (fd, text) = note_text(other);
                    Mark::Note {
                        event: other.name(),
                        fd,
                        text,
                    }
                }
            };
            if let Some(fd) = mark.fd() {
                let fds = &mut seq.groups[group].fds;
                if let Err(at) = fds.binary_search(&fd) {
                    fds.insert(at, fd);
                }
            }
            seq.rows.push(Row {
                group,
                at: record.at,
                until: record.at,
                first: index,
                mark,
            });
        }
        seq.fold();
        seq
    }

    fn group_of(&mut self, record: &Record) -> usize {
        let found = self
            .groups
            .iter()
            .position(|g| g.name == record.name && g.instance == record.instance);
        found.unwrap_or_else(|| {
            self.groups.push(LaneGroup {
                name: record.name.clone(),
                instance: record.instance,
                fds: Vec::new(),
            });
            self.groups.len() - 1
        })
    }

    /// Folds each run of at least [`FOLD_AT`] consecutive single-chunk rows of one fd.
    fn fold(&mut self) {
        let rows = std::mem::take(&mut self.rows);
        let mut out: Vec<Row> = Vec::with_capacity(rows.len());
        let mut i = 0;
        while i < rows.len() {
            let same = |r: &Row| {
                r.group == rows[i].group
                    && matches!(r.mark, Mark::Chunks { .. })
                    && r.mark.fd() == rows[i].mark.fd()
            };
            let mut end = i + 1;
            if matches!(rows[i].mark, Mark::Chunks { .. }) {
                while end < rows.len() && same(&rows[end]) {
                    end += 1;
                }
            }
            if end - i >= FOLD_AT {
                let bytes = rows[i..end]
                    .iter()
                    .map(|r| match r.mark {
                        Mark::Chunks { bytes, .. } => bytes,
                        _ => 0,
                    })
                    .sum();
                let mut row = rows[i].clone();
                if let Mark::Chunks {
                    count, bytes: b, ..
                } = &mut row.mark
                {
                    *count = end - i;
                    *b = bytes;
                }
                row.until = rows[end - 1].at;
                out.push(row);
            } else {
                out.extend(rows[i..end].iter().cloned());
            }
            i = end;
        }
        self.rows = out;
    }

    /// How many transcript events a row stands for.
    pub fn count(row: &Row) -> usize {
        match row.mark {
            Mark::Chunks { count, .. } => count,
            _ => 1,
        }
    }
}

/// The usual name of an fd lane: `fd 1 stdout`.
pub fn fd_title(fd: i32) -> String {
    match crate::transcript::fd_role(fd) {
        Some(role) => format!("fd {fd} {role}"),
        None => format!("fd {fd}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn chunk(fd: i32, ms: u64) -> Record {
        Record {
            at: Duration::from_millis(ms),
            name: None,
            instance: None,
            event: ProcessEvent::ChildDataReceived {
                fd,
                data: Bytes::from_static(b"ab"),
            }
            .into(),
            len: 2,
            has_data: true,
        }
    }

    #[test]
    fn runs_of_chunks_fold_and_short_ones_do_not() {
        let mut records: Vec<Record> = (0..5).map(|i| chunk(1, i)).collect();
        records.push(chunk(2, 6));
        records.push(chunk(1, 7));
        records.push(chunk(1, 8));
        let seq = Sequence::new(&records);
        let counts: Vec<(Option<i32>, usize)> = seq
            .rows
            .iter()
            .map(|r| (r.mark.fd(), Sequence::count(r)))
            .collect();
        assert_eq!(
            counts,
            [(Some(1), 5), (Some(2), 1), (Some(1), 1), (Some(1), 1)]
        );
        assert_eq!(seq.rows[0].mark.label(), "5 chunks · 10 B");
        assert_eq!(seq.rows[0].until, Duration::from_millis(4));
        assert_eq!(seq.groups[0].fds, [1, 2]);
    }
}
