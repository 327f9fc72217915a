//! Stand-in for the config loader (the real one lands from the `config` branch).
#![allow(missing_docs)]
use crate::spawn::{ProcessSpec, Signal};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

pub struct Config {
    pub commands: Vec<CommandConfig>,
    pub console: ConsoleSettings,
}
pub struct ConsoleSettings {
    pub scrollback_lines: usize,
    pub stop_grace_ms: u64,
}
pub struct CommandConfig {
    pub name: String,
    pub spec: ProcessSpec,
    pub on_start: Vec<StartAction>,
    pub autostart: bool,
    pub labels: BTreeMap<i32, String>,
    pub description: Option<String>,
}
#[derive(Clone)]
pub enum StartAction {
    Write { fd: i32, data: Vec<u8> },
    Close { fd: i32 },
    Signal { after_ms: u64, signal: Signal },
}
#[derive(Debug)]
pub struct ConfigError {
    pub diagnostics: Vec<Diagnostic>,
}
#[derive(Debug)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}
impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.diagnostics {
            writeln!(f, "{}:{}:{}: {}", d.file, d.line, d.column, d.message)?;
        }
        Ok(())
    }
}
impl std::error::Error for ConfigError {}
impl Config {
    pub fn builtin() -> Config {
        Config {
            commands: Vec::new(),
            console: ConsoleSettings {
                scrollback_lines: 10_000,
                stop_grace_ms: 3000,
            },
        }
    }
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let _ = path;
        Ok(Self::builtin())
    }
    pub fn command(&self, name: &str) -> Option<&CommandConfig> {
        self.commands.iter().find(|c| c.name == name)
    }
}
