//! The spawner engine: start a child with any fd map or on a pty, and report what
//! happens to it as ordered [`ProcessEvent`]s. Knows nothing about terminals or TOML.

mod child;
mod event;
mod fdmap;
mod protocol;
mod pty;
mod spec;
mod start;
mod sys;
mod tasks;
mod transport;

pub use event::{signal_name, ExitStatus, ProcessEvent};
pub use protocol::{drive, run_protocol, spawn_process, ProcessProtocol};
pub use spec::{
    is_pty_fd, parse_fd_assignment, parse_fd_number, ChildFd, ProcessSpec, PtySize, MAX_CHILD_FD,
};
pub use start::{spawn, SpawnError};
pub use transport::{parse_signal, ProcessTransport, Signal, TransportError, WRITE_QUEUE_LIMIT};

use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// A started child: the handle to act on it and the stream of what happens to it.
#[derive(Debug)]
pub struct Process {
    /// Write, close, signal, resize.
    pub transport: ProcessTransport,
    /// The events, in order; ends after `ProcessEnded`.
    pub events: EventStream,
}

/// The events of one child, in the order the contract fixes.
///
/// Bounded: while nobody receives, the engine stops reading the child's pipes and the
/// child blocks on a full pipe, so memory stays bounded. Dropping the stream is fine: the
/// engine then drains and discards the child's output, and still reaps it.
#[derive(Debug)]
pub struct EventStream {
    pub(crate) rx: mpsc::Receiver<(Instant, ProcessEvent)>,
    pub(crate) started: Instant,
}

impl EventStream {
    /// The next event, or `None` after `ProcessEnded`.
    pub async fn recv(&mut self) -> Option<ProcessEvent> {
        self.rx.recv().await.map(|(_, event)| event)
    }

    /// The next event with the time since the spawn at which the engine saw it.
    pub async fn recv_timed(&mut self) -> Option<(Duration, ProcessEvent)> {
        let (at, event) = self.rx.recv().await?;
        Some((at.saturating_duration_since(self.started), event))
    }

    /// An event that is ready now, without waiting (for a UI's drain loop).
    pub fn try_recv_timed(&mut self) -> Option<(Duration, ProcessEvent)> {
        let (at, event) = self.rx.try_recv().ok()?;
        Some((at.saturating_duration_since(self.started), event))
    }

    /// When the child was spawned.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Receives every remaining event, up to and including `ProcessEnded`.
    pub async fn collect(mut self) -> Vec<ProcessEvent> {
        let mut all = Vec::new();
        while let Some(event) = self.recv().await {
            all.push(event);
        }
        all
    }
}
