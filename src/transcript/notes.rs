//! Transcript lines for every [`TranscriptEvent`]: the engine's events as
//! [`super::text_line`] / [`super::json_line`] print them, and the notes the layers above
//! add (`script_step`, `script_failed`, `ready`, `held_open`).

use super::{text_line, TranscriptEvent};
use crate::escape::escape;
use std::fmt::Write as _;
use std::time::Duration;

fn groups_text(groups: &super::Groups) -> String {
    let parts: Vec<String> = groups
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v.as_bytes())))
        .collect();
    parts.join(" ")
}

/// One event as a human-readable line (no trailing newline).
pub fn event_text_line(
    elapsed: Duration,
    event: &TranscriptEvent,
    name: Option<&str>,
    with_data: bool,
) -> String {
    if let TranscriptEvent::Process(event) = event {
        return text_line(elapsed, event, name, with_data);
    }
    let mut line = String::new();
    if let Some(name) = name {
        let _ = write!(line, "[{name}] ");
    }
    let millis = (elapsed.as_secs_f64() * 1e6).round() / 1e3;
    if let TranscriptEvent::HeldOpen(held) = event {
        // A note rather than an event of the child: says why `process_ended` waits.
        let _ = write!(line, "{millis:>10.3} ms  note: fd {} still open, ", held.fd);
        if held.holders.is_empty() {
            line.push_str("held by a process /proc does not show (another user's?)");
        } else {
            let holders: Vec<String> = held
                .holders
                .iter()
                .map(|h| format!("pid {} ({})", h.pid, h.comm))
                .collect();
            let _ = write!(line, "held by {}", holders.join(", "));
        }
        return line;
    }
    let _ = write!(line, "{millis:>10.3} ms  {:<22} ", event.name());
    match event {
        TranscriptEvent::ScriptStep(step) => {
            let _ = write!(line, "step {}: {}", step.step, step.action);
            if let Some(matched) = &step.matched {
                let _ = write!(line, " matched \"{}\"", escape(matched.as_bytes()));
            }
            if let Some(groups) = step.groups.as_ref().filter(|g| !g.is_empty()) {
                let _ = write!(line, " {}", groups_text(groups));
            }
        }
        TranscriptEvent::ScriptFailed(failed) => {
            let _ = write!(
                line,
                "step {}: {}: {}; last output: \"{}\"",
                failed.step,
                failed.action,
                failed.reason.as_str(),
                escape(failed.tail.as_bytes())
            );
        }
        TranscriptEvent::Ready(ready) => line.push_str(&groups_text(&ready.groups)),
        TranscriptEvent::HeldOpen(_) => {}
        TranscriptEvent::Process(_) => {}
    }
    line.trim_end().to_owned()
}

/// One event as a JSON line (no trailing newline): the one [`super::TranscriptLine`].
pub fn event_json_line(
    elapsed: Duration,
    event: &TranscriptEvent,
    name: Option<&str>,
    with_data: bool,
) -> String {
    super::TranscriptLine::new(elapsed, event, name, with_data).to_json()
}
