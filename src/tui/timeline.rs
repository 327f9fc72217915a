//! The timeline of one instance: every event in arrival order with its time since the
//! spawn, and the transcript saved from it as JSON lines.
//!
//! Bounded: at most [`MAX_ENTRIES`] entries (the oldest go first, counted), and at most
//! a data budget of chunk bytes (older chunks keep their length, lose their bytes): the
//! instances share [`ALL_DATA`], each keeping at least [`MIN_DATA`].
//! Chunk data is copied: a `Bytes` from the engine is a slice of a large shared read buffer,
//! and keeping it would keep the whole buffer alive.

use crate::transcript::{Record, TranscriptEvent, TranscriptLine};
use crate::ProcessEvent;
use bytes::Bytes;
use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// Entries kept per instance.
pub const MAX_ENTRIES: usize = 20_000;
/// Chunk bytes kept for the transcripts of all instances together.
pub const ALL_DATA: usize = 8 * 1024 * 1024;
/// Chunk bytes an instance keeps, however many there are.
pub const MIN_DATA: usize = 256 * 1024;

/// The data budget of one timeline when there are `instances`.
pub fn data_budget(instances: usize) -> usize {
    (ALL_DATA / instances.max(1)).max(MIN_DATA)
}

/// One event as it arrived.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Time since the spawn.
    pub at: Duration,
    /// The event; for chunks, `data` holds the kept bytes (empty once dropped). Script
    /// steps, failures and readiness are here too, in order with the process events.
    pub event: TranscriptEvent,
    /// For chunks: the real length.
    pub len: usize,
    /// For chunks: false once the bytes were dropped to stay in budget.
    pub has_data: bool,
}

/// The events of one instance.
#[derive(Debug)]
pub struct Timeline {
    /// The entries, oldest first.
    pub entries: VecDeque<Entry>,
    /// Entries dropped from the front.
    pub dropped: u64,
    data_bytes: usize,
    /// Index of the oldest entry that may still hold data.
    data_from: usize,
    /// Chunk bytes kept at most.
    data_budget: usize,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline {
            entries: VecDeque::new(),
            dropped: 0,
            data_bytes: 0,
            data_from: 0,
            data_budget: ALL_DATA,
        }
    }
}

impl Timeline {
    /// Keeps at most `bytes` of chunk data from the next event on.
    pub fn set_data_budget(&mut self, bytes: usize) {
        self.data_budget = bytes;
    }

    /// Records an event.
    pub fn push(&mut self, at: Duration, event: &ProcessEvent) {
        let (event, len) = match event {
            ProcessEvent::ChildDataReceived { fd, data } => (
                ProcessEvent::ChildDataReceived {
                    fd: *fd,
                    data: Bytes::copy_from_slice(data),
                },
                data.len(),
            ),
            other => (other.clone(), 0),
        };
        self.data_bytes += len;
        self.entries.push_back(Entry {
            at,
            event: TranscriptEvent::Process(event),
            len,
            has_data: true,
        });
        self.bound();
    }

    /// Records a script event (`script_step`, `script_failed`, `ready`) in its place.
    pub fn push_note(&mut self, at: Duration, event: TranscriptEvent) {
        self.entries.push_back(Entry {
            at,
            event,
            len: 0,
            has_data: true,
        });
        self.bound();
    }

    fn bound(&mut self) {
        if self.entries.len() > MAX_ENTRIES {
            if let Some(old) = self.entries.pop_front() {
                self.data_bytes -= data_len(&old);
                self.dropped += 1;
                self.data_from = self.data_from.saturating_sub(1);
            }
        }
        while self.data_bytes > self.data_budget && self.data_from < self.entries.len() {
            let entry = &mut self.entries[self.data_from];
            self.data_bytes -= data_len(entry);
            if let TranscriptEvent::Process(ProcessEvent::ChildDataReceived { data, .. }) =
                &mut entry.event
            {
                if !data.is_empty() {
                    *data = Bytes::new();
                    entry.has_data = false;
                }
            }
            self.data_from += 1;
        }
    }

    /// Number of entries kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Writes the transcript to `path`, one JSON object per line (ARCHITECTURE.md, "The transcript line").
    pub fn save(&self, path: &Path, name: &str) -> std::io::Result<usize> {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        for entry in &self.entries {
            writeln!(out, "{}", json_line(entry, name))?;
        }
        out.flush()?;
        Ok(self.entries.len())
    }
}

fn data_len(entry: &Entry) -> usize {
    match &entry.event {
        TranscriptEvent::Process(ProcessEvent::ChildDataReceived { data, .. }) => data.len(),
        _ => 0,
    }
}

impl Entry {
    /// The entry as a transcript record of instance `name`.
    pub fn record(&self, name: &str) -> Record {
        Record {
            at: self.at,
            name: Some(name.to_string()),
            instance: None,
            event: self.event.clone(),
            len: self.len,
            has_data: self.has_data,
        }
    }
}

/// One transcript line. Chunks whose bytes were dropped keep their `len`, without `data`.
pub fn json_line(entry: &Entry, name: &str) -> String {
    TranscriptLine::of_record(&entry.record(name)).to_json()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_data_are_bounded_and_lengths_survive() {
        let mut t = Timeline::default();
        let chunk = Bytes::from(vec![b'y'; 1024 * 1024]);
        for i in 0..40 {
            t.push(
                Duration::from_millis(i),
                &ProcessEvent::ChildDataReceived {
                    fd: 1,
                    data: chunk.clone(),
                },
            );
        }
        assert_eq!(t.data_bytes, ALL_DATA);
        assert!(!t.entries[0].has_data);
        assert!(t.entries[39].has_data);
        // A hundred instances: a smaller share each, from the next event on.
        t.set_data_budget(data_budget(100));
        t.push(
            Duration::from_millis(40),
            &ProcessEvent::ChildDataReceived {
                fd: 1,
                data: Bytes::from_static(b"y\n"),
            },
        );
        assert_eq!(data_budget(100), MIN_DATA);
        assert_eq!(data_budget(2), ALL_DATA / 2);
        assert!(t.data_bytes <= MIN_DATA);
        assert!(t.entries[40].has_data);
        let line = json_line(&t.entries[0], "yes");
        assert!(line.contains("\"len\":1048576"), "{line}");
        assert!(!line.contains("\"data\""), "{line}");
    }
}
