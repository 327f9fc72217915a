//! The headless console: runs children on the engine and prints their events
//! (`fdscope run`), or the `utils` answers (`fdscope output`, `fdscope value`).

use crate::config::StartAction;
use crate::inspect;
use crate::spawn::EventStream;
use crate::spawn::{spawn, ProcessEvent, ProcessSpec, ProcessTransport, Signal};
use crate::transcript::{json_line, text_line, Summary};
use crate::transcript::{HeldOpen, TranscriptEvent};
use crate::utils::{self, ProcessError};
use nix::sys::signal::SigSet;
use std::collections::BTreeSet;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Exit code when the program could not be started (as a shell says "command not found").
pub const SPAWN_FAILED: i32 = 127;

/// One child to run, with the actions to take at `connection_made`.
pub struct Job {
    /// Printed on each line when several jobs run (`--config FILE NAME…`).
    pub name: Option<String>,
    /// What to start.
    pub spec: ProcessSpec,
    /// Writes, closes and delayed signals, in order.
    pub actions: Vec<StartAction>,
}

/// How `run` prints.
#[derive(Debug, Default, Clone)]
pub struct RunOptions {
    /// JSON lines instead of text.
    pub json: bool,
    /// Leave chunk contents out (lengths only).
    pub no_data: bool,
    /// Only per-fd byte counts and the final status.
    pub summary: bool,
    /// Write events to this file instead of stdout.
    pub events: Option<PathBuf>,
}

/// Runs every job concurrently, prints their events, and returns the exit code:
/// the child's code (128 + signal if killed) for one job; for several, the first
/// job's non-zero code, else 0; 127 when a spawn failed.
pub async fn run(jobs: Vec<Job>, options: &RunOptions) -> anyhow::Result<i32> {
    let mut out: Box<dyn Write> = match &options.events {
        Some(path) => Box::new(io::BufWriter::new(std::fs::File::create(path).map_err(
            |e| anyhow::anyhow!("cannot write events to {}: {e}", path.display()),
        )?)),
        None => Box::new(io::BufWriter::new(io::stdout())),
    };
    let (tx, mut rx) = mpsc::channel(256);
    let mut transports = Vec::new();
    let mut codes = vec![None; jobs.len()];
    let mut summaries = vec![Summary::default(); jobs.len()];
    let names: Vec<Option<String>> = jobs.iter().map(|j| j.name.clone()).collect();
    let forward = Forwarder::start()?;
    for (index, job) in jobs.into_iter().enumerate() {
        let process = match spawn(&job.spec) {
            Ok(process) => process,
            Err(e) => {
                eprintln!("fdscope: {e}");
                codes[index] = Some(SPAWN_FAILED);
                continue;
            }
        };
        apply_actions(&process.transport, job.actions);
        forward.add(process.transport.clone());
        transports.push(process.transport.clone());
        tokio::spawn(forward_events(
            index,
            process.events,
            process.transport.clone(),
            tx.clone(),
        ));
    }
    drop(tx);

    let mut output_broken = false;
    loop {
        let Some(mut item) = rx.recv().await else {
            break;
        };
        loop {
            let (index, elapsed, event) = &item;
            let event = match event {
                TranscriptEvent::Process(event) => event,
                other => {
                    if let TranscriptEvent::HeldOpen(held) = other {
                        let name = names[*index].as_deref();
                        let line = if options.json {
                            inspect::held_open_json(*elapsed, held, name)
                        } else {
                            inspect::held_open_text(*elapsed, held, name)
                        };
                        if !options.summary && !output_broken && writeln!(out, "{line}").is_err() {
                            output_broken = stop_on_broken_output(&transports);
                        }
                    }
                    match rx.try_recv() {
                        Ok(next) => item = next,
                        Err(_) => break,
                    }
                    continue;
                }
            };
            if let ProcessEvent::ProcessEnded { status } = event {
                codes[*index] = Some(status.shell_code());
            }
            let name = names[*index].as_deref();
            let line = if options.summary {
                summaries[*index].add(*elapsed, event);
                None
            } else if options.json {
                Some(json_line(*elapsed, event, name, !options.no_data))
            } else {
                Some(text_line(*elapsed, event, name, !options.no_data))
            };
            if let (Some(line), false) = (line, output_broken) {
                if writeln!(out, "{line}").is_err() {
                    output_broken = stop_on_broken_output(&transports);
                }
            }
            // Print whatever else is ready, then flush once: prompt output shows at
            // once, and a flood costs one flush per batch, not per line.
            match rx.try_recv() {
                Ok(next) => item = next,
                Err(_) => break,
            }
        }
        if !output_broken && out.flush().is_err() {
            output_broken = stop_on_broken_output(&transports);
        }
    }
    if options.summary {
        for (summary, name) in summaries.iter().zip(&names) {
            let text = if options.json {
                summary.json(name.as_deref())
            } else {
                summary.text(name.as_deref())
            };
            let _ = out.write_all(text.as_bytes());
        }
    }
    let _ = out.flush();
    Ok(exit_code(&codes))
}

/// Forwards one child's events to `tx`. 500 ms after `process_exited`, each pipe not lost
/// yet that another process holds gets one `held_open` note, which goes out before that
/// pipe's `child_connection_lost` and `process_ended` (this task forwards those too).
async fn forward_events(
    index: usize,
    mut events: EventStream,
    transport: ProcessTransport,
    tx: mpsc::Sender<(usize, Duration, TranscriptEvent)>,
) {
    let mut lost = BTreeSet::new();
    let mut check_at = None;
    loop {
        let next = match check_at {
            Some(at) => tokio::select! {
                biased;
                next = events.recv_timed() => next,
                _ = tokio::time::sleep_until(at) => {
                    check_at = None;
                    let mut child = inspect::ChildInfo::of(&transport);
                    child.open_pipes.retain(|fd| !lost.contains(fd));
                    let elapsed = events.started().elapsed();
                    for held in inspect::held_pipes(&child) {
                        // No holder and nothing unreadable: the pipe is closing right now.
                        if held.holders.is_empty() && held.unreadable.is_empty() {
                            continue;
                        }
                        let note = TranscriptEvent::HeldOpen(HeldOpen {
                            fd: held.fd,
                            holders: held.holders,
                        });
                        if tx.send((index, elapsed, note)).await.is_err() {
                            return;
                        }
                    }
                    continue;
                }
            },
            None => events.recv_timed().await,
        };
        let Some((elapsed, event)) = next else { break };
        match &event {
            ProcessEvent::ChildConnectionLost { fd } => {
                lost.insert(*fd);
            }
            ProcessEvent::ProcessExited { .. } => {
                check_at = Some(tokio::time::Instant::now() + HELD_OPEN_AFTER);
            }
            _ => {}
        }
        if tx.send((index, elapsed, event.into())).await.is_err() {
            break;
        }
    }
}

/// How long after `process_exited` a pipe still open gets a `held_open` note.
pub const HELD_OPEN_AFTER: Duration = Duration::from_millis(500);

/// Stdout is gone (`fdscope run … | head`): nobody reads the transcript any more, so ask
/// the children to stop rather than run on unseen.
fn stop_on_broken_output(transports: &[ProcessTransport]) -> bool {
    for transport in transports {
        let _ = transport.signal_process(Signal::SIGTERM);
    }
    true
}

fn exit_code(codes: &[Option<i32>]) -> i32 {
    if codes.len() == 1 {
        return codes[0].unwrap_or(1);
    }
    codes
        .iter()
        .flatten()
        .copied()
        .find(|c| *c != 0)
        .unwrap_or(0)
}

/// Takes the actions at `connection_made`: writes and closes now, in order; signals after
/// their delay. A refused action (fd not writable, child gone) is reported, not fatal.
pub fn apply_actions(transport: &ProcessTransport, actions: Vec<StartAction>) {
    for action in actions {
        let result = match action {
            StartAction::Write { fd, data } => transport.write_to_child(fd, data),
            StartAction::Close { fd } => transport.close_child_fd(fd),
            StartAction::Signal { after_ms, signal } => {
                let transport = transport.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(after_ms)).await;
                    let _ = transport.signal_process(signal);
                });
                Ok(())
            }
        };
        if let Err(e) = result {
            eprintln!("fdscope: {e}");
        }
    }
}

/// SIGINT, SIGTERM and SIGHUP sent to fdscope, passed on to the children from a thread of
/// its own: the event loop may be stuck writing to a stdout nobody reads (a paused pager),
/// and the signal must reach the children all the same.
struct Forwarder {
    transports: Arc<Mutex<Vec<ProcessTransport>>>,
}

impl Forwarder {
    /// Blocks the three signals in this thread (threads started later inherit the mask)
    /// and starts the thread that waits for them with sigwait. Call it before spawning:
    /// a signal that comes before a child is known waits, pending, until it is.
    fn start() -> io::Result<Self> {
        let mut set = SigSet::empty();
        for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
            set.add(signal);
        }
        set.thread_block()?;
        let transports: Arc<Mutex<Vec<ProcessTransport>>> = Arc::default();
        let shared = transports.clone();
        std::thread::Builder::new()
            .name("fdscope-signals".into())
            .spawn(move || loop {
                let Ok(signal) = set.wait() else { continue };
                let transports = shared.lock().unwrap_or_else(|p| p.into_inner());
                for transport in transports.iter() {
                    // A child that has exited already has nothing to forward to.
                    let _ = transport.signal_process(signal);
                }
            })?;
        Ok(Forwarder { transports })
    }

    /// A child to forward signals to.
    fn add(&self, transport: ProcessTransport) {
        self.transports
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(transport);
    }
}

/// `fdscope output`: prints the child's stdout; fails, showing the stderr text, if the
/// child wrote to stderr. Returns the exit code for fdscope.
pub async fn output(spec: &ProcessSpec) -> i32 {
    match utils::get_process_output(spec).await {
        Ok(stdout) => {
            let mut out = io::stdout();
            let _ = out.write_all(&stdout).and_then(|_| out.flush());
            0
        }
        Err(ProcessError::Stderr(collected)) => {
            let mut out = io::stdout();
            let _ = out.write_all(&collected.stdout).and_then(|_| out.flush());
            eprintln!(
                "fdscope: {} wrote to stderr: {}",
                spec.program_display(),
                String::from_utf8_lossy(&collected.stderr).trim_end()
            );
            match collected.status.shell_code() {
                0 => 1,
                code => code,
            }
        }
        Err(e) => report(e),
    }
}

/// `fdscope value`: prints the child's exit code.
pub async fn value(spec: &ProcessSpec) -> i32 {
    match utils::get_process_value(spec).await {
        Ok(code) => {
            println!("{code}");
            0
        }
        Err(e) => report(e),
    }
}

fn report(error: ProcessError) -> i32 {
    eprintln!("fdscope: {error}");
    match error {
        ProcessError::Spawn(_) => SPAWN_FAILED,
        ProcessError::Signaled { signal, .. } => 128 + signal,
        ProcessError::Stderr(_) => 1,
    }
}
