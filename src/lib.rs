//! fdscope: spawn child processes with any file-descriptor map or on a pseudo-terminal,
//! and watch every chunk, closed pipe, exit and end as ordered events.
//!
//! The engine ([`spawn()`]) is Twisted's `reactor.spawnProcess` done the tokio way;
//! [`ProcessProtocol`] gives the seed guide's callbacks on top of it, and [`utils`] the
//! `getProcessOutput` family. The front ends (headless transcript, config, console)
//! live beside it and the engine knows nothing about them.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use fdscope::{spawn, ProcessEvent, ProcessSpec};
//! let mut process = spawn(&ProcessSpec::new("wc"))?;
//! process.transport.write("accessing protocols through fdscope is fun!\n")?;
//! process.transport.close_stdin()?;
//! while let Some(event) = process.events.recv().await {
//!     if let ProcessEvent::ChildDataReceived { fd: 1, data } = &event {
//!         print!("{}", String::from_utf8_lossy(data));
//!     }
//! }
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod config;
pub mod control;
pub mod escape;
pub mod headless;
pub mod inspect;
pub mod record;
pub mod script;
pub mod spawn;
pub mod transcript;
pub mod tui;
pub mod utils;
pub mod wording;

pub use spawn::{
    spawn, ChildFd, EventStream, ExitStatus, Process, ProcessEvent, ProcessProtocol, ProcessSpec,
    ProcessTransport, PtySize, Signal, SpawnError, TransportError,
};
