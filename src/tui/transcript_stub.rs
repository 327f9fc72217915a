//! Stand-in for `crate::transcript::json_line` until the lead's transcript module lands:
//! same signature, DESIGN.md's JSON-lines format. Removed at the next `git merge main`.

use crate::{ExitStatus, ProcessEvent};
use base64::Engine;
use std::time::Duration;

/// One event as a JSON line (no trailing newline).
pub fn json_line(
    elapsed: Duration,
    event: &ProcessEvent,
    name: Option<&str>,
    with_data: bool,
) -> String {
    let mut out = format!(
        "{{\"t_ms\":{:.3},\"event\":\"{}\"",
        elapsed.as_secs_f64() * 1000.0,
        event.name()
    );
    if let Some(name) = name {
        out.push_str(&format!(",\"name\":{}", serde_json::Value::from(name)));
    }
    match event {
        ProcessEvent::ConnectionMade { pid } => out.push_str(&format!(",\"pid\":{pid}")),
        ProcessEvent::ChildDataReceived { fd, data } => {
            out.push_str(&format!(",\"fd\":{fd},\"len\":{}", data.len()));
            if with_data {
                match std::str::from_utf8(data) {
                    Ok(text) => {
                        out.push_str(&format!(",\"data\":{}", serde_json::Value::from(text)))
                    }
                    Err(_) => out.push_str(&format!(
                        ",\"data_b64\":\"{}\"",
                        base64::engine::general_purpose::STANDARD.encode(data)
                    )),
                }
            }
        }
        ProcessEvent::ChildConnectionLost { fd } => out.push_str(&format!(",\"fd\":{fd}")),
        ProcessEvent::ProcessExited { status } | ProcessEvent::ProcessEnded { status } => {
            out.push_str(&format!(",\"status\":{}", status_json(*status)))
        }
    }
    out.push('}');
    out
}

fn status_json(status: ExitStatus) -> String {
    let kind = if status.success() {
        "done"
    } else {
        "terminated"
    };
    let opt = |v: Option<i32>| v.map_or("null".to_string(), |v| v.to_string());
    format!(
        "{{\"kind\":\"{kind}\",\"exit_code\":{},\"signal\":{}}}",
        opt(status.exit_code()),
        opt(status.signal())
    )
}
