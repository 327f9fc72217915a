//! Stand-in for `crate::config` until the config loader lands: the same types, to the
//! contract in HELPERS.md, so the console compiles and its tests build configs in code.
//! Replaced by `pub use crate::config::*` once `git merge main` brings the real one.

use crate::{ProcessSpec, Signal};
use std::collections::BTreeMap;

/// Every command and the console's own settings.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The configured commands, in file order.
    pub commands: Vec<CommandConfig>,
    /// `[console]` settings.
    pub console: ConsoleSettings,
}

/// `[console]` settings.
#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    /// Lines kept per pane.
    pub scrollback_lines: usize,
    /// Time between TERM and KILL when stopping a child.
    pub stop_grace_ms: u64,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        ConsoleSettings {
            scrollback_lines: 10_000,
            stop_grace_ms: 3000,
        }
    }
}

/// One launchable command.
#[derive(Debug, Clone)]
pub struct CommandConfig {
    /// Unique name.
    pub name: String,
    /// How to spawn it.
    pub spec: ProcessSpec,
    /// Done right after the spawn.
    pub on_start: Vec<StartAction>,
    /// Started when the console starts.
    pub autostart: bool,
    /// Pane roles per fd.
    pub labels: BTreeMap<i32, String>,
    /// One line for the list.
    pub description: Option<String>,
}

/// Something done to a fresh child.
#[derive(Debug, Clone)]
pub enum StartAction {
    /// Write bytes to a fd.
    Write {
        /// The child fd.
        fd: i32,
        /// The bytes.
        data: Vec<u8>,
    },
    /// Close a fd.
    Close {
        /// The child fd.
        fd: i32,
    },
    /// Send a signal after a delay.
    Signal {
        /// Delay after the spawn.
        after_ms: u64,
        /// The signal.
        signal: Signal,
    },
}
