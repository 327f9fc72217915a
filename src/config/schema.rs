//! The JSON Schema of the config file (`fdscope schema`), for editors: taplo and Even
//! Better TOML complete and check a file that starts with
//! `#:schema ./fdscope.schema.json` (or any path or URL of the schema).
//!
//! The config is read by a hand-written reader (for line:column errors on every key), so
//! the schema is derived (schemars) from the parallel serde types below, which describe
//! the same keys. A unit test keeps them in step with the reader's key lists: adding a key
//! to `[[command]]` or `[console]` without adding it here fails that test.

use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A whole fdscope config file.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "fdscope config")]
pub struct ConfigFile {
    /// Settings of the interactive console.
    pub console: Option<Console>,
    /// One table per launchable command, listed in this order.
    #[serde(default)]
    pub command: Vec<Command>,
}

/// `[console]`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Console {
    /// Lines of output kept per pane (default 10000).
    #[schemars(range(min = 1))]
    pub scrollback_lines: Option<u64>,
    /// On quit, milliseconds between SIGTERM and SIGKILL (default 3000).
    pub stop_grace_ms: Option<u64>,
    /// Write each instance's transcript to DIR/NAME-K.jsonl as it happens.
    pub log_dir: Option<String>,
    /// Bytes of chunk data a log file keeps; beyond, chunks are logged by length only.
    pub log_max_bytes: Option<u64>,
}

/// One `[[command]]`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Command {
    /// Unique, non-empty name (`fdscope run --config FILE NAME`).
    #[schemars(length(min = 1))]
    pub name: String,
    /// The file to execute; a name without `/` is searched in the child's PATH.
    #[schemars(length(min = 1))]
    pub program: String,
    /// The whole argv; args[0] is the process name (default: [program]).
    #[schemars(length(min = 1))]
    pub args: Option<Vec<String>>,
    /// The child's environment (empty unless `inherit_env`).
    pub env: Option<BTreeMap<String, String>>,
    /// Start from fdscope's own environment (default false).
    pub inherit_env: Option<bool>,
    /// Directory the child starts in.
    #[schemars(length(min = 1))]
    pub cwd: Option<String>,
    /// User id to run as.
    pub uid: Option<u32>,
    /// Group id to run as.
    pub gid: Option<u32>,
    /// Run on a pseudo-terminal: true (24x80) or { rows, cols }.
    pub pty: Option<Pty>,
    /// The child's fds: fd number -> "r", "w", "null" or a parent fd number.
    pub child_fds: Option<BTreeMap<FdNumber, FdSpec>>,
    /// Pane roles by fd number.
    pub labels: Option<BTreeMap<FdNumber, String>>,
    /// One line shown next to the name.
    pub description: Option<String>,
    /// Steps that drive the child, in order, from its start.
    pub script: Option<Vec<ScriptStep>>,
    /// The output that makes the command ready (for `depends_on = { NAME = "ready" }`).
    pub ready: Option<Ready>,
    /// Commands to wait for: name -> "started", "ready", "succeeded" or "ended".
    pub depends_on: Option<BTreeMap<String, Condition>>,
    /// Start this command when the console opens (default false).
    pub autostart: Option<bool>,
    /// Write this command's transcripts to DIR/NAME-K.jsonl (overrides `[console]`).
    pub log_dir: Option<String>,
}

/// `ready = { expect = 'REGEX', fd = 1, timeout = 10 }`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ready {
    /// The regex; its named groups are `${NAME.var}` for dependents.
    pub expect: String,
    /// The child fd it reads (default 1).
    pub fd: Option<u32>,
    /// Seconds to wait (default 10).
    pub timeout: Option<f64>,
}

/// When a dependency lets its dependent start.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Once it is spawned.
    Started,
    /// Once its `ready` matched.
    Ready,
    /// Once it ended with exit code 0.
    Succeeded,
    /// Once it ended, however.
    Ended,
}

/// A child fd number as a TOML key (`3 = "r"`).
pub type FdNumber = u32;

/// `pty = true` or `pty = { rows = 24, cols = 80 }`.
#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Pty {
    /// On (24x80) or off.
    On(bool),
    /// A size.
    Size(PtySize),
}

/// `{ rows = N, cols = N }`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PtySize {
    /// Rows (default 24).
    #[schemars(range(min = 1, max = 65535))]
    pub rows: Option<u32>,
    /// Columns (default 80).
    #[schemars(range(min = 1, max = 65535))]
    pub cols: Option<u32>,
}

/// What a child fd is.
#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum FdSpec {
    /// A pipe fdscope reads (`r`), writes (`w`), or /dev/null.
    Kind(FdKind),
    /// fdscope's own fd number, shared.
    Parent(u32),
}

/// `r`, `w` or `null`.
#[derive(Deserialize, JsonSchema)]
pub enum FdKind {
    /// A pipe the child writes and fdscope reads.
    #[serde(rename = "r")]
    Read,
    /// A pipe fdscope writes.
    #[serde(rename = "w")]
    Write,
    /// /dev/null.
    #[serde(rename = "null")]
    Null,
}

/// One script step.
#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ScriptStep {
    /// `{ write = "TEXT", fd = 0, repeat = 1 }`.
    Write(WriteStep),
    /// `{ close = FD }`.
    Close(CloseStep),
    /// `{ expect = 'REGEX', fd = 1, timeout = 10 }`.
    Expect(ExpectStep),
    /// `{ signal = "TERM" }`.
    Signal(SignalStep),
    /// `{ sleep = 0.5 }`.
    Sleep(SleepStep),
    /// `{ exit = 0 }` or `{ exit = "TERM" }`.
    Exit(ExitStep),
}

/// Write text to an fd (`${var}` expanded).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteStep {
    /// The text.
    pub write: String,
    /// The child fd (default 0).
    pub fd: Option<u32>,
    /// How many times (default 1).
    pub repeat: Option<u64>,
}

/// Close an fd.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseStep {
    /// The child fd.
    pub close: u32,
}

/// Wait until a regex matches the fd's output since the previous match.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectStep {
    /// The regex (Rust `regex` syntax, multi-line, CRLF-aware).
    pub expect: String,
    /// The child fd (default 1).
    pub fd: Option<u32>,
    /// Seconds to wait (default 10).
    pub timeout: Option<f64>,
}

/// Send a signal.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignalStep {
    /// TERM, INT, HUP, KILL, … (with or without SIG).
    pub signal: String,
}

/// Wait.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SleepStep {
    /// Seconds.
    pub sleep: f64,
}

/// Wait for `process_exited`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExitStep {
    /// The exit code, or the signal name that killed it.
    pub exit: ExitWant,
    /// Seconds to wait (default 10).
    pub timeout: Option<f64>,
}

/// An exit code or a signal name.
#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ExitWant {
    /// An exit code.
    Code(i32),
    /// A signal name.
    Signal(String),
}

/// The JSON Schema of the config file, pretty-printed.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(ConfigFile);
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(schema: &serde_json::Value, pointer: &str) -> Vec<String> {
        let mut keys: Vec<String> = schema
            .pointer(pointer)
            .and_then(|v| v.as_object())
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        keys
    }

    /// The schema lists exactly the keys the reader accepts: a key added to the reader
    /// must be described here too.
    #[test]
    fn schema_keys_follow_the_reader() {
        let schema: serde_json::Value = serde_json::from_str(&json_schema()).unwrap();
        let mut command: Vec<String> = super::super::command::KEYS
            .iter()
            .map(|k| k.to_string())
            .collect();
        command.sort();
        assert_eq!(keys(&schema, "/$defs/Command/properties"), command);
        assert_eq!(
            keys(&schema, "/$defs/Console/properties"),
            [
                "log_dir",
                "log_max_bytes",
                "scrollback_lines",
                "stop_grace_ms"
            ]
        );
    }
}
