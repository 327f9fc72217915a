//! The wire format: one JSON request per line, one JSON reply per line.
//!
//! A request is the serde form of something the console can be asked to do, externally
//! tagged and snake_case like [`crate::tui::action::Action`]: a bare `"list"` for a verb
//! without fields, `{"start":{"name":"bc"}}` for one with fields. A reply is
//! `{"ok":true,…}` or `{"ok":false,"error":"…"}`.

use serde::{Deserialize, Serialize};

/// Longest request line accepted (without its newline): 1 MiB.
pub const MAX_LINE: usize = 1024 * 1024;

/// One request from a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// The commands and their instances.
    List,
    /// Start a new instance of command `name`; the reply names it (`bc#2`).
    Start {
        /// The command.
        name: String,
    },
    /// TERM, then KILL after the grace period.
    Stop {
        /// The instance (`bc#1`, or `bc` for the newest).
        id: String,
    },
    /// Send a signal (`TERM`, `SIGUSR1`, `9`).
    Signal {
        /// The instance.
        id: String,
        /// The signal's name or number.
        signal: String,
    },
    /// Write TEXT (escapes `\n \t \\ \xNN`) to a writable fd (0 of a pty: the terminal).
    Write {
        /// The instance.
        id: String,
        /// The child fd.
        fd: i32,
        /// The text, escapes as typed.
        text: String,
    },
    /// Close a child fd (Ctrl-D on a pty's fd 0).
    Close {
        /// The instance.
        id: String,
        /// The child fd.
        fd: i32,
    },
    /// Resize the instance's pty.
    Resize {
        /// The instance.
        id: String,
        /// Rows.
        rows: u16,
        /// Columns.
        cols: u16,
    },
    /// Follow events as JSON lines (those of `run --json`, plus `name` and `instance`):
    /// of one instance until its `process_ended`, or of every instance (`id` absent).
    Events {
        /// The instance, or every one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    /// What a pane holds, as text (a pty: its scrollback and screen).
    Output {
        /// The instance.
        id: String,
        /// The child fd (0–2 of a pty: the terminal).
        fd: i32,
    },
    /// Reply once the instance has ended, with `run`'s exit code.
    Wait {
        /// The instance.
        id: String,
    },
    /// The inspector's view of the instance.
    Inspect {
        /// The instance.
        id: String,
    },
    /// Stop every child (as `q` does) and end the server.
    Quit,
}

impl Request {
    /// The request as one line of JSON (no newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Reads one request line (without its newline). Never panics; the error is the text of
/// the error reply.
pub fn parse(line: &[u8]) -> Result<Request, String> {
    if line.len() > MAX_LINE {
        return Err(format!("request line over {MAX_LINE} bytes"));
    }
    let value: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| format!("malformed request: {e}"))?;
    // `"events"` alone follows every instance, like `{"events":{}}`.
    let value = match value {
        serde_json::Value::String(verb) if verb == "events" => {
            serde_json::json!({ "events": {} })
        }
        other => other,
    };
    serde_json::from_value(value).map_err(|e| format!("bad request: {e}"))
}

/// `{"ok":true}` plus the fields of `fields` (an object; anything else adds nothing).
pub fn ok(fields: serde_json::Value) -> String {
    let mut line = String::from("{\"ok\":true");
    if let serde_json::Value::Object(map) = fields {
        for (key, value) in map {
            line.push(',');
            line.push_str(&serde_json::Value::from(key).to_string());
            line.push(':');
            line.push_str(&value.to_string());
        }
    }
    line.push('}');
    line
}

/// `{"ok":false,"error":"…"}`.
pub fn error(message: impl std::fmt::Display) -> String {
    format!(
        "{{\"ok\":false,\"error\":{}}}",
        serde_json::Value::from(message.to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_externally_tagged_snake_case() {
        assert_eq!(parse(br#""list""#), Ok(Request::List));
        assert_eq!(parse(br#""quit""#), Ok(Request::Quit));
        assert_eq!(
            parse(br#"{"start":{"name":"bc"}}"#),
            Ok(Request::Start { name: "bc".into() })
        );
        assert_eq!(parse(br#""events""#), Ok(Request::Events { id: None }));
        assert_eq!(parse(br#"{"events":{}}"#), Ok(Request::Events { id: None }));
        let write = Request::Write {
            id: "bc#1".into(),
            fd: 0,
            text: "2^10\\n".into(),
        };
        assert_eq!(
            write.to_line(),
            r#"{"write":{"id":"bc#1","fd":0,"text":"2^10\\n"}}"#
        );
        assert_eq!(parse(write.to_line().as_bytes()), Ok(write));
    }

    #[test]
    fn bad_requests_are_errors_not_panics() {
        assert!(parse(b"{").unwrap_err().starts_with("malformed request"));
        assert!(parse(br#""fly""#).unwrap_err().contains("unknown variant"));
        assert!(parse(br#"{"start":{}}"#).unwrap_err().contains("name"));
        assert!(parse(br#"{"start":{"name":"a","x":1}}"#).is_err());
        // A valid request padded to the limit is read; one byte more is refused unread.
        let padded = |len: usize| format!("{}{}", r#""list""#, " ".repeat(len - 6));
        assert_eq!(parse(padded(MAX_LINE).as_bytes()), Ok(Request::List));
        assert_eq!(
            parse(padded(MAX_LINE + 1).as_bytes()),
            Err(format!("request line over {MAX_LINE} bytes"))
        );
        assert!(parse(b"\xff\xfe").is_err());
    }

    #[test]
    fn replies_start_with_ok() {
        assert_eq!(
            ok(serde_json::json!({"id":"bc#2"})),
            r#"{"ok":true,"id":"bc#2"}"#
        );
        assert_eq!(ok(serde_json::Value::Null), r#"{"ok":true}"#);
        assert_eq!(error("no \"x\""), r#"{"ok":false,"error":"no \"x\""}"#);
    }
}
