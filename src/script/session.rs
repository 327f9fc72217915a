//! [`Session`]: expect-style control of one spawned process.
//!
//! The session reads the process's events itself and keeps, per readable fd, a window of
//! the output not yet consumed by a match: an expect sees output that arrived before it
//! started and matches across chunk boundaries; a match consumes the output up to its end,
//! so the next expect does not see it again. The window is bounded ([`WINDOW`] bytes of
//! unmatched output are always kept, at most twice that is held), so a flood before the
//! match costs no more memory.

use super::{groups_of, ReadySpec};
use crate::spawn::{EventStream, ExitStatus, Process, ProcessEvent, ProcessTransport, Signal};
use crate::transcript::{FailReason, Groups, Ready, TranscriptEvent};
use crate::TransportError;
use bytes::Bytes;
use regex::bytes::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Unmatched output always kept per fd: a match may start this far back (1 MiB).
pub const WINDOW: usize = 1 << 20;

/// On each new batch of output, the search restarts this far before it: a match that
/// spans chunks is found as long as it is shorter than this plus the new output. The
/// whole window is searched when an expect starts. (Searching the whole window on every
/// chunk would cost window ÷ chunk times the output under a flood.)
const LOOKBACK: usize = 64 << 10;

/// After `process_exited`, how long an expect still waits for output that was already
/// written to its pipe (the engine reads it after the reap) before it fails with `exit`.
const EXIT_DRAIN: Duration = Duration::from_millis(50);

/// Events taken in one go before searching again (a flood is searched per batch).
const BATCH: usize = 64;

/// Bytes of the fd shown when a step fails.
const TAIL: usize = 200;

/// What an expect matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The matched text (invalid UTF-8 replaced).
    pub text: String,
    /// The named groups (`""` for a group that did not take part).
    pub groups: Groups,
}

/// Why an expect (or `wait_exit`) failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectError {
    /// `timeout`, `eof` (the fd was lost) or `exit` (the process was reaped).
    pub reason: FailReason,
    /// The last ≤ 200 bytes of the fd, as text.
    pub tail: String,
    /// How long the step waited (for messages: `timeout after 10s`).
    pub waited: Duration,
}

impl fmt::Display for ExpectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            FailReason::Timeout => write!(f, "timeout after {}s", self.waited.as_secs_f64())?,
            FailReason::Eof => f.write_str("eof")?,
            FailReason::Exit => f.write_str("exit")?,
        }
        write!(
            f,
            "; last output: \"{}\"",
            crate::escape::escape(self.tail.as_bytes())
        )
    }
}

impl std::error::Error for ExpectError {}

/// Output of one fd not yet consumed by a match.
#[derive(Debug, Default)]
struct Window {
    buf: Vec<u8>,
    /// Where unconsumed output starts (bytes before it are context for `^` and `\b`).
    start: usize,
    /// Searched up to here with the current regex, without a match.
    searched: usize,
    /// New output since the last search.
    dirty: bool,
}

impl Window {
    fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
        self.dirty = true;
        let cut = if self.buf.len() - self.start > 2 * WINDOW {
            // Unmatched output beyond the window: drop the oldest.
            self.buf.len() - WINDOW
        } else if self.start > WINDOW {
            // Consumed output: keep one byte of context.
            self.start - 1
        } else {
            return;
        };
        self.buf.drain(..cut);
        self.start = self.start.saturating_sub(cut);
        self.searched = self.searched.saturating_sub(cut).max(self.start);
    }

    /// A new expect: search all unconsumed output again.
    fn rewind(&mut self) {
        self.searched = self.start;
        self.dirty = true;
    }

    fn search(&mut self, regex: &Regex) -> Option<Match> {
        if !self.dirty {
            return None;
        }
        self.dirty = false;
        let from = self.searched.saturating_sub(LOOKBACK).max(self.start);
        let Some(found) = regex.find_at(&self.buf, from) else {
            self.searched = self.buf.len();
            return None;
        };
        let groups = regex
            .captures_at(&self.buf, found.start())
            .map(|captures| groups_of(regex, &captures))
            .unwrap_or_default();
        let text = String::from_utf8_lossy(found.as_bytes()).into_owned();
        self.start = found.end();
        self.searched = found.end();
        self.dirty = true; // what follows the match is unsearched for the next regex
        Some(Match { text, groups })
    }

    fn tail(&self) -> String {
        let from = self.buf.len().saturating_sub(TAIL);
        let mut from = from;
        // Start on a character boundary when the text is UTF-8.
        while from < self.buf.len() && (self.buf[from] & 0xc0) == 0x80 && from > 0 {
            from += 1;
        }
        String::from_utf8_lossy(&self.buf[from..]).into_owned()
    }
}

struct ReadyWatch {
    spec: ReadySpec,
    window: Window,
    deadline: Instant,
}

/// One item a session sends to its sink: a tag naming the process (an index, an
/// instance id), the time since the run's start, and the event.
pub type Tagged = (u64, Duration, TranscriptEvent);

enum Pumped {
    Progress,
    Timeout,
    End,
}

/// Expect-style control of one spawned process. See the [module](super) example.
pub struct Session {
    transport: ProcessTransport,
    events: EventStream,
    epoch: Instant,
    watch: Option<BTreeSet<i32>>,
    windows: BTreeMap<i32, Window>,
    lost: BTreeSet<i32>,
    exited: Option<(Instant, ExitStatus)>,
    ended: Option<(Duration, ExitStatus)>,
    stream_done: bool,
    sink: Option<(u64, mpsc::Sender<Tagged>)>,
    last: Duration,
    ready: Option<ReadyWatch>,
    ready_state: Option<Result<Groups, ()>>,
}

impl Session {
    /// A session on a process just spawned (before any of its events was received).
    pub fn new(process: Process) -> Session {
        let epoch = process.events.started();
        Session {
            transport: process.transport,
            events: process.events,
            epoch,
            watch: None,
            windows: BTreeMap::new(),
            lost: BTreeSet::new(),
            exited: None,
            ended: None,
            stream_done: false,
            sink: None,
            last: Duration::ZERO,
            ready: None,
            ready_state: None,
        }
    }

    /// Event times count from `epoch` (the first spawn of a run) instead of this spawn.
    pub fn with_epoch(mut self, epoch: Instant) -> Session {
        self.epoch = epoch.min(self.epoch);
        self
    }

    /// Sends every event (the process's, in order, and the script's) to `sink`, tagged.
    /// `process_ended` is held back until [`Session::finish`].
    pub fn with_sink(mut self, tag: u64, sink: mpsc::Sender<Tagged>) -> Session {
        self.sink = Some((tag, sink));
        self
    }

    /// Keeps windows only for these fds (the default is every fd that sends output):
    /// output of other fds is passed on, not copied.
    pub fn watch_only(mut self, fds: impl IntoIterator<Item = i32>) -> Session {
        self.watch = Some(fds.into_iter().collect());
        self
    }

    /// Watches for the command's `ready` match (an event `ready`), beside the script.
    pub fn with_ready(mut self, spec: ReadySpec) -> Session {
        self.ready = Some(ReadyWatch {
            deadline: Instant::now() + spec.timeout,
            spec,
            window: Window::default(),
        });
        self
    }

    /// The process's transport (write, close, signal, resize).
    pub fn transport(&self) -> &ProcessTransport {
        &self.transport
    }

    /// `Some(Ok(groups))` once the `ready` regex matched, `Some(Err(()))` once it timed
    /// out or can no longer match, `None` while waiting (or without `ready`).
    pub fn ready_state(&self) -> Option<&Result<Groups, ()>> {
        self.ready_state.as_ref()
    }

    /// How the process exited, once it has.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.exited.map(|(_, status)| status)
    }

    /// Time since the epoch, never less than the last event sent.
    pub fn now(&mut self) -> Duration {
        let now = self.epoch.elapsed().max(self.last);
        self.last = now;
        now
    }

    /// Queues `data` for child fd `fd` (fd 0 of a pty child is the terminal).
    pub fn write(&self, fd: i32, data: impl Into<Bytes>) -> Result<(), TransportError> {
        self.transport.write_to_child(fd, data)
    }

    /// Closes child fd `fd` (Ctrl-D on a pty's fd 0).
    pub fn close(&self, fd: i32) -> Result<(), TransportError> {
        self.transport.close_child_fd(fd)
    }

    /// Sends a signal.
    pub fn signal(&self, signal: Signal) -> Result<(), TransportError> {
        self.transport.signal_process(signal)
    }

    /// Sends a script event (or any note) to the sink, in order with the process events.
    pub async fn note(&mut self, event: TranscriptEvent) {
        let at = self.now();
        self.send(at, event).await;
    }

    async fn send(&mut self, at: Duration, event: TranscriptEvent) {
        if let Some((tag, sink)) = &self.sink {
            if sink.send((*tag, at, event)).await.is_err() {
                self.sink = None;
            }
        }
    }

    /// Waits until `regex` matches output of `fd` received since the previous match on
    /// that fd (output from before this call included), at most `timeout`. Fails at once
    /// with `eof` when the fd is lost, and with `exit` when the process is reaped, without
    /// a match.
    pub async fn expect(
        &mut self,
        fd: i32,
        pattern: &super::Pattern,
        timeout: Duration,
    ) -> Result<Match, ExpectError> {
        let begun = Instant::now();
        let deadline = begun + timeout;
        self.windows.entry(fd).or_default().rewind();
        loop {
            let window = self.windows.entry(fd).or_default();
            if let Some(found) = window.search(pattern.regex()) {
                return Ok(found);
            }
            let fail = |s: &Self, reason| ExpectError {
                reason,
                tail: s.windows.get(&fd).map(Window::tail).unwrap_or_default(),
                waited: if reason == FailReason::Timeout {
                    timeout
                } else {
                    begun.elapsed()
                },
            };
            if self.lost.contains(&fd) {
                return Err(fail(self, FailReason::Eof));
            }
            if self.stream_done || self.ended.is_some() {
                return Err(fail(self, FailReason::Exit));
            }
            let mut until = deadline;
            if let Some((reaped, _)) = self.exited {
                let drained = reaped + EXIT_DRAIN;
                if Instant::now() >= drained {
                    return Err(fail(self, FailReason::Exit));
                }
                until = until.min(drained);
            }
            match self.pump(Some(until)).await {
                Pumped::Progress => {}
                Pumped::Timeout if Instant::now() >= deadline => {
                    let reason = if self.exited.is_some() {
                        FailReason::Exit
                    } else {
                        FailReason::Timeout
                    };
                    return Err(fail(self, reason));
                }
                Pumped::Timeout => {}
                Pumped::End => return Err(fail(self, FailReason::Exit)),
            }
        }
    }

    /// Receives the first event (`connection_made`), so that script events come after it.
    pub async fn started(&mut self) {
        if self.last == Duration::ZERO && !self.stream_done {
            self.pump(None).await;
        }
    }

    /// Waits for `process_exited`, at most `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus, ExpectError> {
        let begun = Instant::now();
        let deadline = begun + timeout;
        loop {
            if let Some((_, status)) = self.exited {
                return Ok(status);
            }
            let reason = match self.pump(Some(deadline)).await {
                Pumped::Progress => continue,
                Pumped::Timeout => FailReason::Timeout,
                Pumped::End => FailReason::Exit,
            };
            let tail = self
                .windows
                .values()
                .next()
                .map(Window::tail)
                .unwrap_or_default();
            return Err(ExpectError {
                reason,
                tail,
                waited: if reason == FailReason::Timeout {
                    timeout
                } else {
                    begun.elapsed()
                },
            });
        }
    }

    /// Waits `duration`, passing events on meanwhile.
    pub async fn sleep(&mut self, duration: Duration) {
        let deadline = Instant::now() + duration;
        while let Pumped::Progress | Pumped::End = self.pump(Some(deadline)).await {
            if self.stream_done {
                tokio::time::sleep_until(deadline.into()).await;
                return;
            }
        }
    }

    /// Passes every remaining event on, then `process_ended`; returns how it ended.
    pub async fn finish(mut self) -> Option<ExitStatus> {
        while !matches!(self.pump(None).await, Pumped::End) {}
        let (at, status) = self.ended.take()?;
        let at = at.max(self.last);
        self.send(at, ProcessEvent::ProcessEnded { status }.into())
            .await;
        Some(status)
    }

    /// The last ≤ 200 bytes received on `fd`.
    pub fn tail(&self, fd: i32) -> String {
        self.windows.get(&fd).map(Window::tail).unwrap_or_default()
    }

    /// Receives events until one came (and whatever else is ready), `until` passed, or
    /// the stream ended.
    async fn pump(&mut self, until: Option<Instant>) -> Pumped {
        let ready_deadline = self.ready.as_ref().map(|r| r.deadline);
        let wake = match (until, ready_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if self.stream_done {
            return Pumped::End;
        }
        let received = match wake {
            Some(wake) => {
                tokio::select! {
                    received = self.events.recv_timed() => Some(received),
                    _ = tokio::time::sleep_until(wake.into()) => None,
                }
            }
            None => Some(self.events.recv_timed().await),
        };
        match received {
            Some(Some((elapsed, event))) => {
                self.absorb(elapsed, event).await;
                for _ in 0..BATCH {
                    match self.events.try_recv_timed() {
                        Some((elapsed, event)) => self.absorb(elapsed, event).await,
                        None => break,
                    }
                }
                Pumped::Progress
            }
            Some(None) => {
                self.stream_done = true;
                self.give_up_ready();
                Pumped::End
            }
            None => {
                let now = Instant::now();
                if self.ready.as_ref().is_some_and(|r| r.deadline <= now) {
                    self.give_up_ready();
                }
                if until.is_some_and(|u| u <= now) {
                    Pumped::Timeout
                } else {
                    Pumped::Progress
                }
            }
        }
    }

    fn give_up_ready(&mut self) {
        if self.ready.take().is_some() {
            self.ready_state = Some(Err(()));
        }
    }

    async fn absorb(&mut self, elapsed: Duration, event: ProcessEvent) {
        let at = (self.events.started() + elapsed).saturating_duration_since(self.epoch);
        let at = at.max(self.last);
        self.last = at;
        let mut ready = None;
        match &event {
            ProcessEvent::ChildDataReceived { fd, data } => {
                if self.watch.as_ref().is_none_or(|w| w.contains(fd)) {
                    self.windows.entry(*fd).or_default().push(data);
                }
                if let Some(watch) = self.ready.as_mut().filter(|r| r.spec.fd == *fd) {
                    watch.window.push(data);
                    ready = watch.window.search(watch.spec.pattern.regex());
                }
            }
            ProcessEvent::ChildConnectionLost { fd } => {
                self.lost.insert(*fd);
                if self.ready.as_ref().is_some_and(|r| r.spec.fd == *fd) {
                    self.give_up_ready();
                }
            }
            ProcessEvent::ProcessExited { status } => {
                self.exited = Some((Instant::now(), *status));
            }
            ProcessEvent::ProcessEnded { status } => {
                // Held back: script events never come after the end.
                self.ended = Some((at, *status));
                self.give_up_ready();
                return;
            }
            ProcessEvent::ConnectionMade { .. } => {}
        }
        self.send(at, event.into()).await;
        if let Some(found) = ready {
            self.ready = None;
            self.ready_state = Some(Ok(found.groups.clone()));
            self.send(
                at,
                TranscriptEvent::Ready(Ready {
                    groups: found.groups,
                }),
            )
            .await;
        }
    }
}
