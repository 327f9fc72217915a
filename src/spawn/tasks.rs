//! The tasks that watch one child: a reader per read pipe (and the pty master), a writer
//! per write pipe, and a reaper on the pidfd. They send events into one bounded channel;
//! the last of them to finish sends `process_ended`.
//!
//! Hot path: each reader reads straight into the spare capacity of one reused `BytesMut`
//! (no per-chunk allocation while the consumer keeps up, no copy: the chunk handed out
//! is a frozen slice of that buffer), as much as the pipe holds per read.

use super::spec::ChildFd;
use super::transport::{lock, LiveState, PipeControl, PtyControl, Shared, WriteCommand};
use super::{pty, EventStream, ExitStatus, Process, ProcessEvent, ProcessTransport};
use bytes::{Buf, Bytes, BytesMut};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncReadExt, Interest};
use tokio::net::unix::pipe;
use tokio::sync::{mpsc, Notify};

/// Bytes asked of the kernel per read: a whole default pipe buffer (a read never returns
/// more from a pipe of the default size, nor from a pty), so a flooding child is
/// drained in one read per wakeup. Larger buffers only cost memory.
const READ_SIZE: usize = 64 * 1024;
/// Capacity of the reused read buffer; chunks are slices of it until it is used up.
const BUFFER_SIZE: usize = 4 * READ_SIZE;
/// Events that may wait for the consumer before the readers pause (bounded memory: at
/// most this many reads of [`READ_SIZE`] per process, 1 MiB; a console with a hundred
/// flooding children holds that much per child).
const CHANNEL_CAPACITY: usize = 16;

/// The parent's ends of the child's pipes.
pub struct Pipes {
    pub readers: BTreeMap<i32, OwnedFd>,
    pub writers: BTreeMap<i32, OwnedFd>,
    pub pty_master: Option<OwnedFd>,
}

/// Where tasks send events, and how they agree on who sends `process_ended`.
#[derive(Clone)]
struct Sink {
    tx: mpsc::Sender<(Instant, ProcessEvent)>,
    /// The ordering point: an event is stamped and enqueued under this lock, so the
    /// channel's order is the order of the stamps and `t_ms` never decreases.
    order: Arc<Mutex<()>>,
    /// Tasks (pipes, pty reader, reaper) still running.
    pending: Arc<AtomicUsize>,
    status: Arc<Mutex<Option<ExitStatus>>>,
    live: Arc<Mutex<LiveState>>,
}

impl Sink {
    async fn send(&self, event: ProcessEvent) {
        // Wait for room first, stamp after: a stamp taken before the wait would be older
        // than the stamps of events that overtake it while it waits.
        // A dropped stream means nobody listens: keep draining the child, drop the event.
        let Ok(permit) = self.tx.reserve().await else {
            return;
        };
        let _order = self
            .order
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        permit.send((Instant::now(), event));
    }

    /// Marks pipe `fd` gone, and tells the consumer when `report` (pipes, not the pty).
    async fn lost(&self, fd: i32, report: bool) {
        {
            let mut live = lock(&self.live);
            live.closed.insert(fd);
            live.queued.remove(&fd);
        }
        if report {
            self.send(ProcessEvent::ChildConnectionLost { fd }).await;
        }
    }

    /// One task is done; the last one sends `process_ended`.
    async fn finish(&self) {
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            let status = lock_status(&self.status).unwrap_or(ExitStatus::Done);
            self.send(ProcessEvent::ProcessEnded { status }).await;
        }
    }
}

fn lock_status(status: &Mutex<Option<ExitStatus>>) -> Option<ExitStatus> {
    *status
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A task watching one child, not yet handed to the runtime.
type Task = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Registers the pipes with the runtime, queues `connection_made`, starts the tasks.
///
/// Nothing runs before every registration succeeded: on an error no task is started and
/// the caller kills and reaps the child.
pub fn start(
    pid: Pid,
    pidfd: OwnedFd,
    child_fds: BTreeMap<i32, ChildFd>,
    pipes: Pipes,
) -> io::Result<Process> {
    let started = Instant::now();
    let task_count =
        pipes.readers.len() + pipes.writers.len() + 1 + usize::from(pipes.pty_master.is_some());
    let (sink, rx) = Sink::new(task_count, pid, started);
    let mut tasks: Vec<Task> = Vec::with_capacity(task_count + 1);
    // The pipe inode of each parent-side end (the same inode as the child's end): the
    // inspector finds who else holds a pipe by looking for it in /proc/*/fd.
    let pipe_inodes: BTreeMap<i32, u64> = pipes
        .readers
        .iter()
        .chain(pipes.writers.iter())
        .filter_map(|(fd, end)| Some((*fd, nix::sys::stat::fstat(end).ok()?.st_ino)))
        .collect();
    let mut controls = BTreeMap::new();
    for (fd, end) in pipes.readers {
        controls.insert(fd, add_reader(fd, end, &sink, &mut tasks)?);
    }
    for (fd, end) in pipes.writers {
        controls.insert(fd, add_writer(fd, end, &sink, &mut tasks)?);
    }
    let pty = match pipes.pty_master {
        Some(master) => Some(add_pty(master, &sink, &mut tasks)?),
        None => None,
    };
    let pidfd = add_reaper(pid, pidfd, &sink, &mut tasks)?;
    for task in tasks {
        tokio::spawn(task);
    }
    let shared = Shared {
        pid: pid.as_raw() as u32,
        pidfd,
        child_fds,
        pipes: controls,
        pipe_inodes,
        pty,
        live: sink.live.clone(),
    };
    Ok(Process {
        transport: ProcessTransport {
            shared: Arc::new(shared),
        },
        events: EventStream { rx, started },
    })
}

impl Sink {
    /// The sink for `tasks` tasks, with `connection_made` already queued: the channel is
    /// new and has room, so it is always the first event.
    fn new(
        tasks: usize,
        pid: Pid,
        started: Instant,
    ) -> (Sink, mpsc::Receiver<(Instant, ProcessEvent)>) {
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let _ = tx.try_send((
            started,
            ProcessEvent::ConnectionMade {
                pid: pid.as_raw() as u32,
            },
        ));
        let sink = Sink {
            tx,
            order: Arc::new(Mutex::new(())),
            pending: Arc::new(AtomicUsize::new(tasks)),
            status: Arc::new(Mutex::new(None)),
            live: Arc::new(Mutex::new(LiveState::default())),
        };
        (sink, rx)
    }
}

/// A read pipe: its reader task, and the transport's handle to close it.
fn add_reader(
    fd: i32,
    end: OwnedFd,
    sink: &Sink,
    tasks: &mut Vec<Task>,
) -> io::Result<PipeControl> {
    set_nonblocking(&end)?;
    let receiver = pipe::Receiver::from_owned_fd_unchecked(end)?;
    let close = Arc::new(Notify::new());
    tasks.push(Box::pin(read_pipe(
        fd,
        receiver,
        close.clone(),
        sink.clone(),
        None,
    )));
    Ok(PipeControl::Reader(close))
}

/// A write pipe: its writer task, direct access for the transport, and its command queue.
fn add_writer(
    fd: i32,
    end: OwnedFd,
    sink: &Sink,
    tasks: &mut Vec<Task>,
) -> io::Result<PipeControl> {
    set_nonblocking(&end)?;
    let sender = Arc::new(pipe::Sender::from_owned_fd_unchecked(end)?);
    lock(&sink.live).direct.insert(fd, sender.clone());
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    tasks.push(Box::pin(write_pipe(fd, sender, cmd_rx, sink.clone())));
    Ok(PipeControl::Writer(cmd_tx))
}

/// The pty master: a reader (reported as fd 1), a writer (fd 0) and a dup for ioctls.
///
/// The pty's writer is not counted in `pending`: the master's reader decides when the
/// pty is gone, and then stops the writer.
fn add_pty(master: OwnedFd, sink: &Sink, tasks: &mut Vec<Task>) -> io::Result<PtyControl> {
    // One open file description behind all three fds: this covers the dups too.
    set_nonblocking(&master)?;
    let ioctl_fd = master.try_clone()?;
    let write_fd = master.try_clone()?;
    let receiver = pipe::Receiver::from_owned_fd_unchecked(master)?;
    let sender = Arc::new(pipe::Sender::from_owned_fd_unchecked(write_fd)?);
    let close = Arc::new(Notify::new());
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let writer_stop = Arc::new(Notify::new());
    tasks.push(Box::pin(read_pipe(
        1,
        receiver,
        close.clone(),
        sink.clone(),
        Some(writer_stop.clone()),
    )));
    tasks.push(Box::pin(pty::write_pty(
        sender,
        cmd_rx,
        sink.live.clone(),
        writer_stop,
    )));
    Ok(PtyControl {
        writer: cmd_tx,
        reader_close: close,
        master: Mutex::new(Some(ioctl_fd)),
    })
}

/// The reaper on the pidfd; returns the pidfd for the transport's signals.
///
/// One pidfd serves both: the reaper's registration goes when it is done, the fd itself
/// when the last transport clone is dropped.
fn add_reaper(
    pid: Pid,
    pidfd: OwnedFd,
    sink: &Sink,
    tasks: &mut Vec<Task>,
) -> io::Result<Arc<OwnedFd>> {
    let pidfd = Arc::new(pidfd);
    // SAFETY: the Arc keeps the fd open and unchanged for as long as the AsyncFd holds
    // its clone; nothing closes an fd owned by an OwnedFd behind our back.
    let reaper_fd = unsafe { AsyncFd::register_with_interest(pidfd.clone(), Interest::READABLE) }
        .map_err(|e| e.into_parts().1)?;
    let orphan = ReapOnDrop { pid: Some(pid) };
    tasks.push(Box::pin(reap(pid, reaper_fd, sink.clone(), orphan)));
    Ok(pidfd)
}

/// Reads the next chunk into `buf`'s spare capacity, waiting until there is one.
///
/// A pipe is read through tokio's `poll_read`, which takes a short read as "the pipe is
/// empty now" and waits for the next readiness event: the read that would only end in
/// `EAGAIN` is skipped (a round trip costs one read, not two), while full reads go on
/// reading at once. A pty master never returns more than the line discipline's 4 KiB per
/// read, so every read is short there: it is read until `EAGAIN` instead.
async fn next_chunk(
    receiver: &mut pipe::Receiver,
    buf: &mut BytesMut,
    pty: bool,
) -> io::Result<usize> {
    if !pty {
        return receiver.read_buf(buf).await;
    }
    loop {
        receiver.readable().await?;
        match receiver.try_read_buf(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            other => return other,
        }
    }
}

/// Puts the parent's end of a pipe (or the pty master) in non-blocking mode, as tokio's
/// `from_owned_fd_unchecked` requires: on a blocking fd, the `try_read`/`try_write` after a
/// readiness event would block the whole runtime thread once the pipe is empty (or full).
/// Only the parent's open file description changes; the child's end stays blocking.
fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    // The flags are known (fresh pipe2 ends and an openpty master carry no status flag
    // F_SETFL can change), so no F_GETFL first: one syscall per fd.
    fcntl(fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    Ok(())
}

/// Reads one pipe to EOF (or until closed by the transport) and reports each chunk.
///
/// For the pty master, `pty_writer` is set: the master's end (EIO once every slave fd is
/// closed) is the end of the terminal, reported without `child_connection_lost`; fd 0 is
/// marked closed before `process_ended` can go out, and the master's writer is stopped.
async fn read_pipe(
    fd: i32,
    receiver: pipe::Receiver,
    close: Arc<Notify>,
    sink: Sink,
    pty_writer: Option<Arc<Notify>>,
) {
    let mut buf = BytesMut::with_capacity(BUFFER_SIZE);
    let mut receiver = receiver;
    let pty = pty_writer.is_some();
    loop {
        if buf.capacity() < READ_SIZE {
            // Reclaims the same allocation when every chunk handed out is dropped.
            buf.reserve(BUFFER_SIZE);
        }
        let read = tokio::select! {
            biased;
            _ = close.notified() => break,
            read = next_chunk(&mut receiver, &mut buf, pty) => read,
        };
        match read {
            Ok(0) => break,
            Ok(_) => {
                let data: Bytes = buf.split().freeze();
                // A flood may never leave the pipe empty, and a slow consumer may keep
                // the send waiting: a close must win either way (the chunk is dropped,
                // as closing a read pipe discards unread data).
                tokio::select! {
                    biased;
                    _ = close.notified() => break,
                    _ = sink.send(ProcessEvent::ChildDataReceived { fd, data }) => {}
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // EIO is how a pty master says the terminal is gone; other errors end the
            // pipe the same way: nothing more can be read from it.
            Err(_) => break,
        }
    }
    drop(receiver);
    if let Some(writer) = &pty_writer {
        let mut live = lock(&sink.live);
        live.closed.insert(0);
        live.queued.remove(&0);
        drop(live);
        writer.notify_one();
    }
    sink.lost(fd, pty_writer.is_none()).await;
    sink.finish().await;
}

/// Writes queued data to one pipe as the child reads; closes it on request (after the
/// queue drains) or reports it lost as soon as the child's end is gone.
async fn write_pipe(
    fd: i32,
    sender: Arc<pipe::Sender>,
    mut commands: mpsc::UnboundedReceiver<WriteCommand>,
    sink: Sink,
) {
    let live = &sink.live;
    let mut queue: VecDeque<Bytes> = VecDeque::new();
    let mut closing = false;
    loop {
        if queue.is_empty() {
            if closing {
                break;
            }
            tokio::select! {
                biased;
                command = commands.recv() => match command {
                    Some(WriteCommand::Data(data)) => queue.push_back(data),
                    // Close asked (`Eof` is the pty writer's), or every transport dropped.
                    Some(WriteCommand::Close | WriteCommand::Eof) | None => closing = true,
                },
                // EPOLLERR on a pipe's write end: the child's read end is gone.
                _ = sender.ready(Interest::ERROR) => break,
            }
            continue;
        }
        match sender.try_write(queue.front().map(|b| &b[..]).unwrap_or_default()) {
            Ok(n) => {
                advance(&mut queue, n);
                if let Some(q) = lock(live).queued.get_mut(&fd) {
                    *q = q.saturating_sub(n);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                tokio::select! {
                    biased;
                    command = commands.recv(), if !closing => match command {
                        Some(WriteCommand::Data(data)) => queue.push_back(data),
                        Some(WriteCommand::Close | WriteCommand::Eof) | None => closing = true,
                    },
                    ready = sender.ready(Interest::WRITABLE | Interest::ERROR) => match ready {
                        Ok(r) if r.is_error() || r.is_write_closed() => break,
                        Ok(_) => {}
                        Err(_) => break,
                    },
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // EPIPE and friends: the child's end is gone; queued data is dropped.
            Err(_) => break,
        }
    }
    // Withdraw the transport's direct access first, so dropping ours really closes the fd.
    lock(live).direct.remove(&fd);
    drop(sender);
    sink.lost(fd, true).await;
    sink.finish().await;
}

fn advance(queue: &mut VecDeque<Bytes>, mut n: usize) {
    while n > 0 {
        let Some(front) = queue.front_mut() else {
            return;
        };
        if n >= front.len() {
            n -= front.len();
            queue.pop_front();
        } else {
            front.advance(n);
            n = 0;
        }
    }
    while queue.front().is_some_and(|b| b.is_empty()) {
        queue.pop_front();
    }
}

/// Waits for the child to exit, reaps it, and reports `process_exited`.
///
/// `orphan` is made by the caller, not in here: a task that never ran is dropped without
/// its body ever starting, and the guard must be dropped (and reap) in that case too.
async fn reap(pid: Pid, pidfd: AsyncFd<Arc<OwnedFd>>, sink: Sink, mut orphan: ReapOnDrop) {
    let status = loop {
        let Ok(mut guard) = pidfd.readable().await else {
            // The runtime is shutting down: nobody will see events any more, and blocking
            // here could hold the runtime for as long as the child lives.
            return;
        };
        let waited = waitpid(pid, Some(WaitPidFlag::WNOHANG));
        if matches!(waited, Ok(WaitStatus::StillAlive)) {
            guard.clear_ready();
        }
        match waited {
            Ok(WaitStatus::Exited(_, code)) => break ExitStatus::from_code(code),
            Ok(WaitStatus::Signaled(_, signal, _)) => break ExitStatus::from_signal(signal as i32),
            Ok(_) => continue,
            Err(nix::Error::EINTR) => continue,
            // ECHILD: someone else reaped it (a stray waitpid(-1)); the status is lost.
            Err(_) => {
                break ExitStatus::Terminated {
                    exit_code: None,
                    signal: None,
                }
            }
        }
    };
    orphan.pid = None;
    // Deregister before the events go out: once the consumer sees process_ended, the
    // engine holds nothing of this child but what the transport owns.
    drop(pidfd);
    lock(&sink.live).reaped = true;
    *sink
        .status
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(status);
    sink.send(ProcessEvent::ProcessExited { status }).await;
    sink.finish().await;
}

/// Reaps the child if the reaper task ends without doing so: when the runtime shuts down
/// while the child runs, its tasks are dropped, and without this the child would stay a
/// zombie for the rest of the parent's life. A child still running is waited for by a
/// small thread of its own (the child is not killed: dropping a runtime is not a signal).
struct ReapOnDrop {
    /// `None` once reaped.
    pid: Option<Pid>,
}

impl Drop for ReapOnDrop {
    fn drop(&mut self) {
        let Some(pid) = self.pid else { return };
        if let Ok(WaitStatus::StillAlive) = waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            let _ = std::thread::Builder::new()
                .name("fdscope-reaper".into())
                .stack_size(64 * 1024)
                .spawn(move || while let Err(nix::Error::EINTR) = waitpid(pid, None) {});
        }
    }
}
