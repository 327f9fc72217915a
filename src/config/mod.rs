//! The config file: TOML -> commands ready to spawn ([`ProcessSpec`] + start actions),
//! with every error reported at its file, line and column.
//!
//! ```toml
//! [[command]]
//! name = "wc"
//! program = "wc"
//! on_start = [ { write = "accessing protocols through Twisted is fun!\n" }, { close = 0 } ]
//!
//! [console]
//! scrollback_lines = 10000
//! ```
//!
//! `config.example.toml` at the top of the repository documents every key;
//! `assets/default.toml` is the built-in config ([`Config::builtin`]).

mod command;
pub mod discover;
mod diagnostic;
mod fds;
mod reader;
pub mod schema;
mod start;

pub use diagnostic::{ConfigError, Diagnostic};

use crate::escape::escape;
use crate::{ProcessSpec, Signal};
use diagnostic::{LineIndex, Problems};
use reader::Reader;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use toml::de::{DeTable, DeValue};

/// The text of the built-in config (`assets/default.toml`), for showing or copying it.
pub const BUILTIN_TOML: &str = include_str!("../../assets/default.toml");

/// The file name diagnostics of the built-in config carry.
pub const BUILTIN_ORIGIN: &str = "<built-in default.toml>";

/// Largest config file read: `--config /dev/zero` (or a huge file by mistake) must give an
/// error, not eat the machine's memory.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// The file's bytes, at most `MAX_CONFIG_BYTES + 1` of them (one more tells it is too big).
fn read_limited(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// At most this many TOML syntax errors are reported: a binary file would give one per
/// byte, which helps nobody.
const MAX_SYNTAX_ERRORS: usize = 20;

/// A whole config file: the commands, in file order, and the console's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The `[[command]]` entries, in the order of the file; names are unique.
    pub commands: Vec<CommandConfig>,
    /// The `[console]` table (defaults when absent).
    pub console: ConsoleSettings,
}

/// Settings of the interactive console (`[console]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleSettings {
    /// Lines kept per pane (`scrollback_lines`, default 10 000).
    pub scrollback_lines: usize,
    /// On quit, milliseconds between TERM and KILL (`stop_grace_ms`, default 3000).
    pub stop_grace_ms: u64,
}

impl Default for ConsoleSettings {
    /// 10 000 scrollback lines, 3 s of grace.
    fn default() -> Self {
        ConsoleSettings {
            scrollback_lines: 10_000,
            stop_grace_ms: 3000,
        }
    }
}

/// One `[[command]]`: how to spawn it and what to do once it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandConfig {
    /// Unique, non-empty name (`fdscope run --config FILE NAME`).
    pub name: String,
    /// What to spawn; `args` is always filled (`[program]` when the file has none).
    pub spec: ProcessSpec,
    /// Actions to take at `connection_made`, in order (signals after their delay).
    pub on_start: Vec<StartAction>,
    /// Start this command when the console opens.
    pub autostart: bool,
    /// Pane roles by child fd, e.g. `{3: "passphrase", 4: "status"}` (key `labels`).
    pub labels: BTreeMap<i32, String>,
    /// One line for the command list.
    pub description: Option<String>,
}

/// Something done to a child as soon as it is started (`on_start`).
#[derive(Clone, PartialEq, Eq)]
pub enum StartAction {
    /// Write `data` to child fd `fd` (`{ write = "…", fd = 0, repeat = 1 }`; `data` is
    /// the text repeated). The fd is a write pipe, or fd 0 of a pty.
    Write {
        /// The child fd.
        fd: i32,
        /// The bytes to write.
        data: Vec<u8>,
    },
    /// Close child fd `fd` (`{ close = 0 }`): EOF for a write pipe, Ctrl-D on fd 0 of a pty.
    Close {
        /// The child fd.
        fd: i32,
    },
    /// Send `signal` `after_ms` milliseconds after the start (`{ signal = "TERM", after_ms = 500 }`).
    Signal {
        /// Delay from the start, in milliseconds.
        after_ms: u64,
        /// The signal to send.
        signal: Signal,
    },
}

impl fmt::Debug for StartAction {
    /// Shows written data as escaped text (`"2^10\n"`), not a list of byte values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartAction::Write { fd, data } => f
                .debug_struct("Write")
                .field("fd", fd)
                .field("data", &format_args!("\"{}\"", escape(data)))
                .finish(),
            StartAction::Close { fd } => f.debug_struct("Close").field("fd", fd).finish(),
            StartAction::Signal { after_ms, signal } => f
                .debug_struct("Signal")
                .field("after_ms", after_ms)
                .field("signal", signal)
                .finish(),
        }
    }
}

impl Config {
    /// The built-in config (`assets/default.toml`, embedded at build time): the seed's
    /// examples ready to launch. Never fails; a test keeps the embedded file valid.
    pub fn builtin() -> Config {
        match Config::parse(BUILTIN_TOML, BUILTIN_ORIGIN) {
            Ok(config) => config,
            Err(error) => panic!("the built-in config is invalid (a bug in fdscope):\n{error}"),
        }
    }

    /// Reads and parses the file at `path`; diagnostics name it as given.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let origin = path.display().to_string();
        match read_limited(path) {
            Ok(bytes) if bytes.len() as u64 > MAX_CONFIG_BYTES => Err(ConfigError {
                diagnostics: vec![Diagnostic {
                    file: origin,
                    line: 0,
                    column: 0,
                    message: format!(
                        "the config file is larger than {MAX_CONFIG_BYTES} bytes: not a config"
                    ),
                }],
            }),
            Ok(bytes) => Config::parse_bytes(&bytes, &origin),
            Err(error) => Err(ConfigError {
                diagnostics: vec![Diagnostic {
                    file: origin,
                    line: 0,
                    column: 0,
                    message: format!("cannot read the config file: {error}"),
                }],
            }),
        }
    }

    /// Parses raw file contents: like [`Config::parse`], plus an error at the first
    /// invalid UTF-8 sequence when the bytes are not text.
    pub fn parse_bytes(bytes: &[u8], origin: &str) -> Result<Config, ConfigError> {
        match std::str::from_utf8(bytes) {
            Ok(text) => Config::parse(text, origin),
            Err(error) => {
                let valid = &bytes[..error.valid_up_to()];
                // The prefix is valid UTF-8 by definition of `valid_up_to`.
                let prefix = std::str::from_utf8(valid).unwrap_or_default();
                let (line, column) = LineIndex::new(prefix).position(prefix.len());
                let invalid = bytes[error.valid_up_to()..]
                    .utf8_chunks()
                    .filter(|chunk| !chunk.invalid().is_empty())
                    .count();
                Err(ConfigError {
                    diagnostics: vec![Diagnostic {
                        file: origin.to_owned(),
                        line,
                        column,
                        message: format!(
                            "invalid UTF-8 (byte 0x{:02x}; {invalid} invalid sequence{} in the file): a config file must be UTF-8 text",
                            bytes[error.valid_up_to()],
                            if invalid == 1 { "" } else { "s" },
                        ),
                    }],
                })
            }
        }
    }

    /// Parses config text; `origin` is the file name diagnostics carry.
    ///
    /// TOML syntax errors are reported alone (up to 20); otherwise every problem of
    /// every command and of `[console]` is reported, in file order.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let (root, syntax) = DeTable::parse_recoverable(text);
        if !syntax.is_empty() {
            return Err(syntax_error(text, origin, &syntax));
        }
        let mut reader = Reader::default();
        let mut commands = Vec::new();
        let mut console = ConsoleSettings::default();
        let mut names: BTreeMap<String, Range<usize>> = BTreeMap::new();
        let index = LineIndex::new(text);
        for (key, value) in root.get_ref() {
            match key.get_ref().as_ref() {
                "command" => {
                    for read in read_commands(&mut reader, value) {
                        if let Some((name, span)) = &read.name {
                            if let Some(first) = names.get(name) {
                                let (line, _) = index.position(first.start);
                                reader.error(
                                    span.clone(),
                                    format!("duplicate command name `{name}` (first defined on line {line})"),
                                );
                                continue;
                            }
                            names.insert(name.clone(), span.clone());
                        }
                        commands.extend(read.command);
                    }
                }
                "console" => {
                    if let Some(settings) = read_console(&mut reader, value) {
                        console = settings;
                    }
                }
                _ => reader.unknown_key(key, "at the top level", &["command", "console"]),
            }
        }
        if reader.problems.is_empty() {
            Ok(Config { commands, console })
        } else {
            Err(reader.problems.into_error(text, origin))
        }
    }

    /// The command called `name`.
    pub fn command(&self, name: &str) -> Option<&CommandConfig> {
        self.commands.iter().find(|command| command.name == name)
    }
}

fn syntax_error(text: &str, origin: &str, errors: &[toml::de::Error]) -> ConfigError {
    let mut problems = Problems::default();
    let mut errors: Vec<_> = errors.iter().collect();
    errors.sort_by_key(|error| error.span().map_or(0, |span| span.start));
    for (i, error) in errors.iter().enumerate() {
        let span = error.span().unwrap_or(0..0);
        if i == MAX_SYNTAX_ERRORS {
            problems.add(
                span,
                format!(
                    "{} more TOML syntax errors not shown",
                    errors.len() - MAX_SYNTAX_ERRORS
                ),
            );
            break;
        }
        let message = match error.message() {
            "duplicate key" => format!(
                "duplicate key `{}`",
                text.get(span.clone()).unwrap_or_default()
            ),
            other => format!("TOML syntax error: {other}"),
        };
        problems.add(span, message);
    }
    problems.into_error(text, origin)
}

fn read_commands(reader: &mut Reader, value: &reader::Value<'_>) -> Vec<command::ReadCommand> {
    let array = match value.get_ref() {
        DeValue::Array(array) => array,
        DeValue::Table(_) => {
            reader.error(
                value.span(),
                "`command` must be an array of tables: write [[command]], not [command]",
            );
            return Vec::new();
        }
        other => {
            reader.mismatch(
                "`command`",
                "an array of tables ([[command]])",
                other,
                value.span(),
            );
            return Vec::new();
        }
    };
    array
        .iter()
        .filter_map(|item| {
            let table = reader.table("a `command` entry", item)?;
            Some(command::read(reader, item.span(), table))
        })
        .collect()
}

fn read_console(reader: &mut Reader, value: &reader::Value<'_>) -> Option<ConsoleSettings> {
    const KEYS: &[&str] = &["scrollback_lines", "stop_grace_ms"];
    let table = reader.table("`console`", value)?;
    let before = reader.count();
    let mut settings = ConsoleSettings::default();
    for (key, value) in table {
        match key.get_ref().as_ref() {
            "scrollback_lines" => {
                let max = i128::try_from(usize::MAX).unwrap_or(i128::MAX);
                if let Some(n) = reader.integer("`scrollback_lines`", value, 1, max) {
                    settings.scrollback_lines = n as usize;
                }
            }
            "stop_grace_ms" => {
                let max = i128::from(u64::MAX);
                if let Some(n) = reader.integer("`stop_grace_ms`", value, 0, max) {
                    settings.stop_grace_ms = n as u64;
                }
            }
            _ => reader.unknown_key(key, "in [console]", KEYS),
        }
    }
    (reader.count() == before).then_some(settings)
}
