//! `ProcessTransport`: what a caller can do to a running child (write, close, signal, resize).
//!
//! A cheap, cloneable handle. Every operation returns at once: writes are queued and
//! drained by the child's writer task as the child reads, never blocking the caller.

use super::pty;
use super::spec::ChildFd;
use bytes::{Buf, Bytes};
use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{mpsc, Notify};

pub use nix::sys::signal::Signal;

/// Most bytes that may wait in one write pipe's queue; past it `write_to_child` fails with
/// [`TransportError::QueueFull`] instead of growing without bound (a child that never
/// reads its stdin must not eat the parent's memory).
pub const WRITE_QUEUE_LIMIT: usize = 64 * 1024 * 1024;

/// Why a transport operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The fd is not a pipe the parent writes (not in the map, or a read pipe).
    #[error("child fd {0} is not a write pipe")]
    NotWritable(i32),
    /// The fd is not a pipe of this child (a parent fd, /dev/null, or not mapped).
    #[error("child fd {0} is not a pipe of this child")]
    NotAPipe(i32),
    /// The pipe was already closed (by us or by the child).
    #[error("child fd {0} is already closed")]
    Closed(i32),
    /// The write queue of the fd holds `WRITE_QUEUE_LIMIT` bytes already.
    #[error("child fd {fd}: write queue full ({limit} bytes waiting; the child is not reading)")]
    QueueFull {
        /// The fd.
        fd: i32,
        /// The limit in bytes.
        limit: usize,
    },
    /// The child has been reaped: it can no longer be signalled (Twisted's ProcessExitedAlready).
    #[error("the process has exited already")]
    ProcessExitedAlready,
    /// `resize` on a child that has no pty, or whose pty is closed.
    #[error("the process has no pseudo-terminal")]
    NotAPty,
    /// The OS refused.
    #[error("{0}")]
    Os(#[from] io::Error),
}

/// What the writer task of one fd is asked to do.
#[derive(Debug)]
pub(crate) enum WriteCommand {
    /// Queue these bytes.
    Data(Bytes),
    /// Flush the queue, then close the pipe.
    Close,
    /// Pty only: type the end of input once the child has read what is queued before it.
    Eof,
}

/// The transport's end of one pipe's task.
#[derive(Debug)]
pub(crate) enum PipeControl {
    /// A pipe the parent writes: commands to its writer task.
    Writer(mpsc::UnboundedSender<WriteCommand>),
    /// A pipe the parent reads: notified to close it (unread data is discarded).
    Reader(Arc<Notify>),
}

/// State the tasks and the transport both touch.
#[derive(Debug, Default)]
pub(crate) struct LiveState {
    /// The child has been reaped: signals would go nowhere (or to a stranger).
    pub reaped: bool,
    /// Pipes (child fd numbers) that are gone.
    pub closed: std::collections::BTreeSet<i32>,
    /// Write pipes asked to close: their queue still drains, but no new write is taken
    /// (it would land behind the close and be dropped).
    pub closing: std::collections::BTreeSet<i32>,
    /// Bytes queued per write pipe and not yet written.
    pub queued: BTreeMap<i32, usize>,
    /// Write pipes the transport may write to directly while their queue is empty (one
    /// syscall instead of a hop through the writer task: halves a round trip's wakeups).
    /// The writer task removes its pipe here before closing it.
    pub direct: BTreeMap<i32, Arc<tokio::net::unix::pipe::Sender>>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub pid: u32,
    pub pidfd: Arc<OwnedFd>,
    pub child_fds: BTreeMap<i32, ChildFd>,
    pub pipes: BTreeMap<i32, PipeControl>,
    /// Child fd -> inode of its pipe (`pipe:[INODE]` in /proc/PID/fd).
    pub pipe_inodes: BTreeMap<i32, u64>,
    /// With a pty: the master's writer (fd 0), its reader (fd 1), and a dup for ioctls.
    pub pty: Option<PtyControl>,
    pub live: Arc<Mutex<LiveState>>,
}

#[derive(Debug)]
pub(crate) struct PtyControl {
    pub writer: mpsc::UnboundedSender<WriteCommand>,
    pub reader_close: Arc<Notify>,
    pub master: Mutex<Option<OwnedFd>>,
}

pub(crate) fn lock(live: &Mutex<LiveState>) -> MutexGuard<'_, LiveState> {
    // A panic while holding this lock leaves plain data behind; keep going.
    live.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Controls one running child. Clone it freely; all clones act on the same child.
#[derive(Debug, Clone)]
pub struct ProcessTransport {
    pub(crate) shared: Arc<Shared>,
}

impl ProcessTransport {
    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.shared.pid
    }

    /// True when the child runs on a pseudo-terminal.
    pub fn is_pty(&self) -> bool {
        self.shared.pty.is_some()
    }

    /// The fd map the child was started with (without the pty's fds 0–2).
    pub fn child_fds(&self) -> &BTreeMap<i32, ChildFd> {
        &self.shared.child_fds
    }

    /// Child fd -> the inode of its pipe to fdscope (what `/proc/PID/fd/N` shows as
    /// `pipe:[INODE]`), for every `r` and `w` fd of the map.
    pub fn pipe_inodes(&self) -> &BTreeMap<i32, u64> {
        &self.shared.pipe_inodes
    }

    /// The fds `write_to_child` accepts: write pipes, and 0 for a pty.
    pub fn writable_fds(&self) -> Vec<i32> {
        let pty = self.is_pty().then_some(0);
        pty.into_iter()
            .chain(
                self.shared
                    .child_fds
                    .iter()
                    .filter(|(_, what)| **what == ChildFd::Write)
                    .map(|(fd, _)| *fd),
            )
            .collect()
    }

    /// True once the pipe on `fd` is gone (closed by either side).
    pub fn is_closed(&self, fd: i32) -> bool {
        lock(&self.shared.live).closed.contains(&fd)
    }

    /// True once the child has been reaped.
    pub fn is_reaped(&self) -> bool {
        lock(&self.shared.live).reaped
    }

    /// Bytes written to `fd` but not yet taken by the child.
    pub fn queued_bytes(&self, fd: i32) -> usize {
        lock(&self.shared.live)
            .queued
            .get(&fd)
            .copied()
            .unwrap_or(0)
    }

    /// Writes to the child's stdin (fd 0, or the pty). Same as `write_to_child(0, data)`.
    pub fn write(&self, data: impl Into<Bytes>) -> Result<(), TransportError> {
        self.write_to_child(0, data)
    }

    /// Queues `data` for child fd `fd`; it is written as the child reads.
    pub fn write_to_child(&self, fd: i32, data: impl Into<Bytes>) -> Result<(), TransportError> {
        let data = data.into();
        let writer = self.writer(fd)?;
        // The lock is held across the send so a concurrent close cannot slip in between
        // the check and the queueing (the data would then follow the close and be lost).
        let mut live = lock(&self.shared.live);
        if live.closed.contains(&fd) || live.closing.contains(&fd) {
            return Err(TransportError::Closed(fd));
        }
        let queued = live.queued.get(&fd).copied().unwrap_or(0);
        if queued + data.len() > WRITE_QUEUE_LIMIT {
            return Err(TransportError::QueueFull {
                fd,
                limit: WRITE_QUEUE_LIMIT,
            });
        }
        let mut data = data;
        if queued == 0 {
            if let Some(pipe) = live.direct.get(&fd) {
                match pipe.try_write(&data) {
                    Ok(n) if n == data.len() => return Ok(()),
                    Ok(n) => data.advance(n),
                    Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {
                        return Err(TransportError::Closed(fd))
                    }
                    // Full pipe (or a passing error): the writer task takes it from here.
                    Err(_) => {}
                }
            }
        }
        let len = data.len();
        writer
            .send(WriteCommand::Data(data))
            .map_err(|_| TransportError::Closed(fd))?;
        *live.queued.entry(fd).or_default() += len;
        Ok(())
    }

    fn writer(&self, fd: i32) -> Result<&mpsc::UnboundedSender<WriteCommand>, TransportError> {
        match (&self.shared.pty, self.shared.pipes.get(&fd)) {
            (Some(pty), _) if fd == 0 => Ok(&pty.writer),
            (_, Some(PipeControl::Writer(tx))) => Ok(tx),
            _ => Err(TransportError::NotWritable(fd)),
        }
    }

    /// Closes the parent's end of the pipe on child fd `fd`.
    ///
    /// A write pipe is closed after its queued bytes are written (the child sees EOF);
    /// a read pipe is closed at once, unread data discarded (the child's next write
    /// gets SIGPIPE). On a pty, `close_child_fd(0)` types the terminal's EOF character
    /// once the child has read what was typed before, in the mode it then reads in (twice
    /// after a partial line in canonical mode), and again if a readline child turned it
    /// into a NUL: see `pty::write_pty`.
    pub fn close_child_fd(&self, fd: i32) -> Result<(), TransportError> {
        if let (Some(pty), 0) = (&self.shared.pty, fd) {
            if lock(&self.shared.live).closed.contains(&0) {
                return Err(TransportError::Closed(0));
            }
            return pty
                .writer
                .send(WriteCommand::Eof)
                .map_err(|_| TransportError::Closed(0));
        }
        let mut live = lock(&self.shared.live);
        if live.closed.contains(&fd) || live.closing.contains(&fd) {
            return Err(TransportError::Closed(fd));
        }
        match self.shared.pipes.get(&fd) {
            Some(PipeControl::Writer(tx)) => {
                tx.send(WriteCommand::Close)
                    .map_err(|_| TransportError::Closed(fd))?;
                live.closing.insert(fd);
                Ok(())
            }
            Some(PipeControl::Reader(close)) => {
                live.closing.insert(fd);
                close.notify_one();
                Ok(())
            }
            None => Err(TransportError::NotAPipe(fd)),
        }
    }

    /// `close_child_fd(0)`.
    pub fn close_stdin(&self) -> Result<(), TransportError> {
        self.close_child_fd(0)
    }

    /// `close_child_fd(1)`.
    pub fn close_stdout(&self) -> Result<(), TransportError> {
        self.close_child_fd(1)
    }

    /// `close_child_fd(2)`.
    pub fn close_stderr(&self) -> Result<(), TransportError> {
        self.close_child_fd(2)
    }

    /// Closes every pipe (write pipes after their queues drain). With a pty, closes the
    /// master: the child's terminal hangs up and it gets SIGHUP. Does not kill.
    pub fn lose_connection(&self) {
        for fd in self.shared.pipes.keys() {
            // Already-closed pipes answer Closed; nothing to do for them.
            let _ = self.close_child_fd(*fd);
        }
        if let Some(pty) = &self.shared.pty {
            let _ = pty.writer.send(WriteCommand::Close);
            pty.reader_close.notify_one();
            pty.master
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take();
        }
    }

    /// Sends `signal` to the child (the process, not its group). Fails with
    /// `ProcessExitedAlready` once the child has been reaped; never reaches another
    /// process that reused the pid (the signal goes through a pidfd).
    pub fn signal_process(&self, signal: Signal) -> Result<(), TransportError> {
        let live = lock(&self.shared.live);
        if live.reaped {
            return Err(TransportError::ProcessExitedAlready);
        }
        match super::sys::pidfd_send_signal(self.shared.pidfd.as_raw_fd(), signal as i32) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {
                Err(TransportError::ProcessExitedAlready)
            }
            Err(e) => Err(TransportError::Os(e)),
        }
    }

    /// Sets the pty's window size; the kernel sends SIGWINCH to the child's foreground group.
    pub fn resize(&self, rows: u16, cols: u16) -> Result<(), TransportError> {
        let pty = self.shared.pty.as_ref().ok_or(TransportError::NotAPty)?;
        let master = pty
            .master
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let master = master.as_ref().ok_or(TransportError::NotAPty)?;
        pty::set_size(master, rows, cols).map_err(TransportError::Os)
    }
}

/// Parses `TERM`, `SIGTERM`, `term` or `15` into a signal.
pub fn parse_signal(text: &str) -> Option<Signal> {
    let upper = text.trim().to_ascii_uppercase();
    if let Ok(n) = upper.parse::<i32>() {
        return Signal::try_from(n).ok();
    }
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_signal_accepts_names_with_and_without_sig_and_numbers() {
        assert_eq!(parse_signal("TERM"), Some(Signal::SIGTERM));
        assert_eq!(parse_signal("sigkill"), Some(Signal::SIGKILL));
        assert_eq!(parse_signal("2"), Some(Signal::SIGINT));
        assert_eq!(parse_signal("NOPE"), None);
    }
}
