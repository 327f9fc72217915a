//! `log_dir`: each instance's transcript written to `DIR/NAME-K.jsonl` as it happens, in
//! the same JSON lines as `run --json` (with `name`).
//!
//! K is the first number from 1 for which no such file exists yet, so a new run never
//! overwrites an older log. Bounded: once a file has reached `log_max_bytes`, chunks are
//! logged with their length only (`len` without `data`), so a flood cannot fill the disk
//! with bytes while the order and sizes of every event are still there.

use crate::transcript::{TranscriptEvent, TranscriptLine};
use crate::ProcessEvent;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One instance's log file.
pub struct LogFile {
    file: io::BufWriter<File>,
    path: PathBuf,
    name: String,
    written: u64,
    max_bytes: u64,
}

impl LogFile {
    /// Creates `dir` if needed and the first free `dir/NAME-K.jsonl`.
    pub fn create(dir: &Path, name: &str, max_bytes: u64) -> io::Result<LogFile> {
        std::fs::create_dir_all(dir)?;
        let safe: String = name
            .chars()
            .map(|c| if c == '/' || c == '\0' { '_' } else { c })
            .collect();
        for k in 1u64.. {
            let path = dir.join(format!("{safe}-{k}.jsonl"));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    return Ok(LogFile {
                        file: io::BufWriter::new(file),
                        path,
                        name: name.to_string(),
                        written: 0,
                        max_bytes,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other("no free log file name"))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one engine event (its bytes only while the file is under the limit) and
    /// hands it to the OS at once: the log is there even if fdscope is killed.
    pub fn write(&mut self, at: Duration, event: &ProcessEvent) -> io::Result<()> {
        let with_data = self.written < self.max_bytes;
        self.append(TranscriptLine::of_process(
            at,
            event,
            Some(&self.name),
            with_data,
        ))
    }

    /// Appends any transcript event (script steps, readiness, held-open pipes too).
    pub fn write_event(&mut self, at: Duration, event: &TranscriptEvent) -> io::Result<()> {
        let with_data = self.written < self.max_bytes;
        self.append(TranscriptLine::new(at, event, Some(&self.name), with_data))
    }

    fn append(&mut self, line: TranscriptLine) -> io::Result<()> {
        let mut line = line.to_json();
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.flush()?;
        self.written += line.len() as u64;
        Ok(())
    }
}
