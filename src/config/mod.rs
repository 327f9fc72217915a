//! The config file: TOML -> commands ready to spawn ([`ProcessSpec`] + script, readiness
//! and dependencies),
//! with every error reported at its file, line and column.
//!
//! ```toml
//! [[command]]
//! name = "wc"
//! program = "wc"
//! script = [ { write = "accessing protocols through Twisted is fun!\n" }, { close = 0 } ]
//!
//! [console]
//! scrollback_lines = 10000
//! ```
//!
//! `config.example.toml` at the top of the repository documents every key;
//! `assets/default.toml` is the built-in config ([`Config::builtin`]).

mod command;
mod crosscheck;
mod diagnostic;
pub mod discover;
mod fds;
mod reader;
pub mod schema;
mod script;

pub use diagnostic::{ConfigError, Diagnostic};

use crate::script::{Condition, ReadySpec, Script};
use crate::ProcessSpec;
use diagnostic::{LineIndex, Problems};
use reader::Reader;
use std::collections::BTreeMap;
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
    /// Where instance transcripts are logged (`log_dir`, `log_max_bytes`).
    pub log: LogSettings,
}

/// Transcript log files: `log_dir` in `[console]` (every command) or in a `[[command]]`
/// (that one, overriding), and `log_max_bytes` in `[console]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// `[console] log_dir`: the directory for every command's logs.
    pub dir: Option<std::path::PathBuf>,
    /// Per command `log_dir`, by command name.
    pub commands: BTreeMap<String, std::path::PathBuf>,
    /// Size of a log file beyond which chunks are logged without their bytes
    /// (`log_max_bytes`, default 64 MiB).
    pub max_bytes: u64,
}

impl Default for LogSettings {
    /// No logs; 64 MiB before lengths only.
    fn default() -> Self {
        LogSettings {
            dir: None,
            commands: BTreeMap::new(),
            max_bytes: 64 << 20,
        }
    }
}

impl LogSettings {
    /// The log directory of command `name`, if it is logged.
    pub fn dir_for(&self, name: &str) -> Option<&Path> {
        self.commands
            .get(name)
            .or(self.dir.as_ref())
            .map(|p| p.as_path())
    }
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
    /// The steps run once it is started (`script`), in order.
    pub script: Script,
    /// What makes it ready for its dependents (`ready`).
    pub ready: Option<ReadySpec>,
    /// The commands it waits for, and for what (`depends_on`), in file order.
    pub depends_on: Vec<(String, Condition)>,
    /// Start this command when the console opens.
    pub autostart: bool,
    /// Pane roles by child fd, e.g. `{3: "passphrase", 4: "status"}` (key `labels`).
    pub labels: BTreeMap<i32, String>,
    /// One line for the command list.
    pub description: Option<String>,
}

impl CommandConfig {
    /// A command that runs `spec` under `name`, with nothing else configured (no script,
    /// readiness, dependencies, labels or description; not started at launch).
    pub fn new(name: impl Into<String>, spec: ProcessSpec) -> CommandConfig {
        CommandConfig {
            name: name.into(),
            spec,
            script: Vec::new(),
            ready: None,
            depends_on: Vec::new(),
            autostart: false,
            labels: BTreeMap::new(),
            description: None,
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
        let mut log = LogSettings::default();
        let mut names: BTreeMap<String, Range<usize>> = BTreeMap::new();
        let index = LineIndex::new(text);
        let mut links = Vec::new();
        for (key, value) in root.get_ref() {
            match key.get_ref().as_ref() {
                "command" => {
                    for read in read_commands(&mut reader, value) {
                        if let Some((name, _)) = &read.name {
                            if !names.contains_key(name) {
                                links.push((name.clone(), read.links));
                            }
                        }
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
                        if let (Some(command), Some(dir)) = (&read.command, &read.log_dir) {
                            log.commands.insert(command.name.clone(), dir.clone());
                        }
                        commands.extend(read.command);
                    }
                }
                "console" => {
                    if let Some((settings, dir, max)) = read_console(&mut reader, value) {
                        console = settings;
                        log.dir = dir;
                        log.max_bytes = max.unwrap_or(log.max_bytes);
                    }
                }
                _ => reader.unknown_key(key, "at the top level", &["command", "console"]),
            }
        }
        crosscheck::check(&mut reader, &links);
        if reader.problems.is_empty() {
            Ok(Config {
                commands,
                console,
                log,
            })
        } else {
            Err(reader.problems.into_error(text, origin))
        }
    }

    /// The command called `name`.
    pub fn command(&self, name: &str) -> Option<&CommandConfig> {
        self.commands.iter().find(|command| command.name == name)
    }

    /// Checks names given on the command line (`--start NAME`, `run --config F NAME`):
    /// the first unknown one is an error that lists the names the config has.
    pub fn check_names<S: AsRef<str>>(&self, option: &str, names: &[S]) -> Result<(), String> {
        match names.iter().find(|n| self.command(n.as_ref()).is_none()) {
            None => Ok(()),
            Some(name) => {
                let known: Vec<&str> = self.commands.iter().map(|c| c.name.as_str()).collect();
                Err(format!(
                    "{option}{}: no command of that name in the config (it has: {})",
                    name.as_ref(),
                    known.join(", ")
                ))
            }
        }
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

/// `[console]`: the settings, `log_dir` and `log_max_bytes`.
type ReadConsole = (ConsoleSettings, Option<std::path::PathBuf>, Option<u64>);

fn read_console(reader: &mut Reader, value: &reader::Value<'_>) -> Option<ReadConsole> {
    const KEYS: &[&str] = &[
        "scrollback_lines",
        "stop_grace_ms",
        "log_dir",
        "log_max_bytes",
    ];
    let table = reader.table("`console`", value)?;
    let before = reader.count();
    let mut settings = ConsoleSettings::default();
    let mut log_dir = None;
    let mut log_max = None;
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
            "log_dir" => log_dir = read_log_dir(reader, value),
            "log_max_bytes" => {
                let max = i128::from(u64::MAX);
                log_max = reader
                    .integer("`log_max_bytes`", value, 0, max)
                    .map(|n| n as u64);
            }
            _ => reader.unknown_key(key, "in [console]", KEYS),
        }
    }
    (reader.count() == before).then_some((settings, log_dir, log_max))
}

/// A `log_dir` value: a non-empty path.
pub(crate) fn read_log_dir(
    reader: &mut Reader,
    value: &reader::Value<'_>,
) -> Option<std::path::PathBuf> {
    let dir = reader.string("`log_dir`", value)?;
    if dir.trim().is_empty() {
        reader.error(value.span(), "`log_dir` must not be empty");
        return None;
    }
    Some(dir.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commands_own_log_dir_wins_over_the_consoles() {
        let config = Config::parse(
            "[console]\nlog_dir = \"/logs\"\n[[command]]\nname = \"a\"\nprogram = \"true\"\n\
             [[command]]\nname = \"b\"\nprogram = \"true\"\nlog_dir = \"/b\"\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(config.log.dir_for("a"), Some(Path::new("/logs")));
        assert_eq!(config.log.dir_for("b"), Some(Path::new("/b")));
        let quiet = Config::parse("[[command]]\nname = \"a\"\nprogram = \"true\"\n", "t.toml");
        assert_eq!(quiet.unwrap().log.dir_for("a"), None);
    }

    #[test]
    fn a_pty_command_gets_no_pipes_unless_it_asks() {
        let config = Config::parse(
            "[[command]]\nname = \"t\"\nprogram = \"sh\"\npty = true\n\
             [[command]]\nname = \"p\"\nprogram = \"sh\"\n",
            "t.toml",
        )
        .unwrap();
        assert!(config.commands[0].spec.pty.is_some());
        assert!(config.commands[0].spec.child_fds.is_empty());
        let fds: Vec<i32> = config.commands[1].spec.child_fds.keys().copied().collect();
        assert_eq!(fds, [0, 1, 2]);
    }
}
