//! `Effect`: what `update` asks the outside world to do. Update stays pure (no process,
//! task, file or terminal is touched there); the runner's [`super::effects::Performer`]
//! carries these out and answers with [`super::state::Msg`]s when there is something to
//! say (a spawned pid, an error).

use crate::{ProcessSpec, Signal};
use std::path::PathBuf;

/// One thing to do outside the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Spawn instance `id`; the answer is [`super::state::Msg::Spawned`] or
    /// [`super::state::Msg::SpawnFailed`].
    Spawn {
        /// The new instance.
        id: u64,
        /// Its command's name (for its `log_dir` file).
        name: String,
        /// What to start (the pty already sized from its pane).
        spec: ProcessSpec,
        /// Its script and `ready`, run by the one script runner beside it.
        script: Option<Box<crate::script::ScriptJob>>,
    },
    /// Write bytes to child fd `fd` of instance `id` (fd 0 of a pty: the terminal).
    Write {
        /// The instance.
        id: u64,
        /// The child fd.
        fd: i32,
        /// The bytes.
        data: Vec<u8>,
    },
    /// Close child fd `fd` of instance `id` (Ctrl-D on a pty's fd 0).
    Close {
        /// The instance.
        id: u64,
        /// The child fd.
        fd: i32,
    },
    /// Close every pipe of instance `id` (`lose_connection`).
    LoseConnection {
        /// The instance.
        id: u64,
    },
    /// Send a signal to instance `id`.
    Signal {
        /// The instance.
        id: u64,
        /// The signal.
        signal: Signal,
    },
    /// Resize the pty of instance `id`.
    Resize {
        /// The instance.
        id: u64,
        /// Rows.
        rows: u16,
        /// Columns.
        cols: u16,
    },
    /// Write to the console's stdin pipe (children mapped onto fd 0 read it).
    WriteConsoleStdin(Vec<u8>),
    /// Close the console's stdin pipe.
    CloseConsoleStdin,
    /// Write a file (a saved transcript): `what` names its contents for the status line.
    SaveFile {
        /// Where.
        path: PathBuf,
        /// The whole contents.
        contents: String,
        /// `6 events`: what the status line says was saved.
        what: String,
    },
    /// Bytes for the terminal itself (OSC 52 for the clipboard).
    Terminal(Vec<u8>),
    /// Capture the mouse (`true`) or release it.
    Mouse(bool),
    /// Inspect instance `id` in `/proc`; the answer is [`super::state::Msg::Inspected`].
    Inspect {
        /// The instance.
        id: u64,
    },
    /// Sample CPU % and RSS of these instances; the answer is [`super::state::Msg::Usage`].
    SampleUsage(Vec<u64>),
}
