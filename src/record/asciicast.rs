//! `fdscope export --asciicast`: what an instance wrote on fd 1 (a pty child's screen
//! output, or a pipe child's stdout) as an asciicast v2 file, the format `asciinema play`
//! and the asciinema web player replay: a header line, then `[seconds, "o", text]` per
//! chunk.

use crate::transcript::{Record, TranscriptEvent};
use crate::ProcessEvent;
use serde::Serialize;

/// The asciicast v2 header.
#[derive(Debug, Serialize)]
struct Header {
    version: u32,
    width: u16,
    height: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
}

/// The screen size written to the header when none is given.
pub const DEFAULT_SIZE: (u16, u16) = (80, 24);

/// What to export.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only the events of this name (required when the transcript has several).
    pub name: Option<String>,
    /// Terminal columns and rows for the header (default 80x24).
    pub size: Option<(u16, u16)>,
}

/// Why nothing could be exported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// Several names and none chosen.
    #[error("the transcript has several commands ({0}): choose one with --name")]
    Ambiguous(String),
    /// No event of that name.
    #[error("no events named `{0}` in the transcript")]
    NoSuchName(String),
    /// No data on fd 1, or only lengths (`--no-data`).
    #[error("nothing written on fd 1 with its bytes recorded (a --no-data transcript keeps only lengths)")]
    NoData,
}

/// Pipe output has bare `\n`; a terminal needs `\r\n` to go back to column 0 (pty output
/// already has it, and is left as it is).
fn terminal_newlines(text: &str, previous_cr: &mut bool) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if c == '\n' && !*previous_cr {
            out.push('\r');
        }
        *previous_cr = c == '\r';
        out.push(c);
    }
    out
}

/// The asciicast v2 text of fd 1 of the chosen instance in `records`.
pub fn export(records: &[Record], options: &Options) -> Result<String, ExportError> {
    let mut names: Vec<&str> = Vec::new();
    for r in records {
        if let Some(n) = r.name.as_deref() {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    let chosen = match (&options.name, names.len()) {
        (Some(name), _) if !names.contains(&name.as_str()) => {
            return Err(ExportError::NoSuchName(name.clone()))
        }
        (Some(name), _) => Some(name.as_str()),
        (None, n) if n > 1 => return Err(ExportError::Ambiguous(names.join(", "))),
        (None, _) => names.first().copied(),
    };
    let (width, height) = options.size.unwrap_or(DEFAULT_SIZE);
    let header = Header {
        version: 2,
        width,
        height,
        title: chosen.map(|n| format!("fdscope: {n}")),
    };
    let mut out = serde_json::to_string(&header).unwrap_or_default();
    out.push('\n');
    let mut pending: Vec<u8> = Vec::new();
    let mut previous_cr = false;
    let mut frames = 0;
    for record in records.iter().filter(|r| r.name.as_deref() == chosen) {
        let TranscriptEvent::Process(ProcessEvent::ChildDataReceived { fd: 1, data }) =
            &record.event
        else {
            continue;
        };
        if !record.has_data {
            continue;
        }
        pending.extend_from_slice(data);
        // Keep an incomplete UTF-8 sequence at the end for the next chunk.
        let valid = match std::str::from_utf8(&pending) {
            Ok(_) => pending.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => pending.len(),
        };
        let text = String::from_utf8_lossy(&pending[..valid]).into_owned();
        pending.drain(..valid);
        if text.is_empty() {
            continue;
        }
        let text = terminal_newlines(&text, &mut previous_cr);
        let frame = serde_json::json!([record.at.as_secs_f64(), "o", text]);
        out.push_str(&frame.to_string());
        out.push('\n');
        frames += 1;
    }
    if frames == 0 {
        return Err(ExportError::NoData);
    }
    Ok(out)
}
