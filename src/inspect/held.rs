//! Pipes held open after the child exited: the report, and `run`'s `held_open` note.

use super::holders::pipes_holders;
use super::{ChildInfo, HeldPipe};
use crate::transcript::{HeldOpen, Holder};
use std::fmt::Write as _;
use std::time::Duration;

/// For each of fdscope's pipes of `child` still open, who holds it (one `/proc` scan).
pub fn held_pipes(child: &ChildInfo) -> Vec<HeldPipe> {
    let open: Vec<(i32, u64)> = child
        .pipe_inodes
        .iter()
        .filter(|(fd, _)| child.open_pipes.contains(fd))
        .map(|(fd, inode)| (*fd, *inode))
        .collect();
    let inodes: Vec<u64> = open.iter().map(|(_, inode)| *inode).collect();
    open.iter()
        .zip(pipes_holders(&inodes))
        .map(|((fd, _), found)| HeldPipe {
            fd: *fd,
            holders: found.holders,
            unreadable: found.unreadable,
        })
        .collect()
}

/// `pid 4242 (sleep), pid 4243 (cat)`.
pub fn holders_text(holders: &[Holder]) -> String {
    holders
        .iter()
        .map(|h| format!("pid {} ({})", h.pid, h.comm))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The text line of a `held_open` note (no newline):
/// `[name]      512.345 ms  note: fd 1 still open, held by pid 4242 (sleep)`.
pub fn held_open_text(elapsed: Duration, held: &HeldOpen, name: Option<&str>) -> String {
    let mut line = String::new();
    if let Some(name) = name {
        let _ = write!(line, "[{name}] ");
    }
    let ms = (elapsed.as_secs_f64() * 1e6).round() / 1e3;
    let _ = write!(line, "{ms:>10.3} ms  note: fd {} still open, ", held.fd);
    if held.holders.is_empty() {
        line.push_str("held by a process /proc does not show (another user's?)");
    } else {
        let _ = write!(line, "held by {}", holders_text(&held.holders));
    }
    line
}

/// The JSON line of a `held_open` event (no newline):
/// `{"t_ms":512.3,"event":"held_open","fd":1,"holders":[{"pid":4242,"comm":"sleep"}]}`.
pub fn held_open_json(elapsed: Duration, held: &HeldOpen, name: Option<&str>) -> String {
    let ms = (elapsed.as_secs_f64() * 1e6).round() / 1e3;
    let mut line = format!("{{\"t_ms\":{ms},\"event\":\"held_open\"");
    if let Some(name) = name {
        let _ = write!(line, ",\"name\":{}", serde_json::Value::from(name));
    }
    let holders = serde_json::to_string(&held.holders).unwrap_or_else(|_| "[]".into());
    let _ = write!(line, ",\"fd\":{},\"holders\":{holders}}}", held.fd);
    line
}
