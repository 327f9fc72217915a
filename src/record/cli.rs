//! The recording subcommands as the `fdscope` binary runs them: read a transcript, report
//! its bad lines on stderr (with their numbers), write the result. Each returns the exit
//! code.

use crate::transcript::{read_transcript_file, Transcript};
use std::path::{Path, PathBuf};

/// Exit code for a transcript that cannot be read at all.
const UNREADABLE: i32 = 1;

/// Reads `file`, reporting skipped lines on stderr.
pub fn load(file: &Path) -> Result<Transcript, i32> {
    let transcript = read_transcript_file(file).map_err(|e| {
        eprintln!("fdscope: cannot read {}: {e}", file.display());
        UNREADABLE
    })?;
    for error in &transcript.errors {
        eprintln!("fdscope: {}: {error} (skipped)", file.display());
    }
    if transcript.records.is_empty() {
        eprintln!("fdscope: {}: no events", file.display());
        return Err(UNREADABLE);
    }
    Ok(transcript)
}

fn write(path: &Path, contents: &str, what: &str) -> i32 {
    match std::fs::write(path, contents) {
        Ok(()) => {
            eprintln!("fdscope: wrote {what} to {}", path.display());
            0
        }
        Err(e) => {
            eprintln!("fdscope: cannot write {}: {e}", path.display());
            UNREADABLE
        }
    }
}

/// `fdscope diagram FILE [-o OUT.svg]` (default: FILE with `.svg`).
pub fn diagram(file: &Path, output: Option<PathBuf>) -> i32 {
    let transcript = match load(file) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let out = output.unwrap_or_else(|| file.with_extension("svg"));
    let svg = super::diagram::to_svg(&transcript.records);
    write(&out, &svg, "the diagram")
}

/// `fdscope export --asciicast FILE [--name NAME] [-o OUT.cast]` (default: FILE with
/// `.cast`).
pub fn export_asciicast(
    file: &Path,
    name: Option<String>,
    size: Option<(u16, u16)>,
    output: Option<PathBuf>,
) -> i32 {
    let transcript = match load(file) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let options = super::asciicast::Options { name, size };
    match super::asciicast::export(&transcript.records, &options) {
        Ok(cast) => {
            let out = output.unwrap_or_else(|| file.with_extension("cast"));
            write(&out, &cast, "the asciicast")
        }
        Err(e) => {
            eprintln!("fdscope: {}: {e}", file.display());
            UNREADABLE
        }
    }
}
