//! The headless console: runs children on the engine, with their scripts and in the order
//! of their dependencies, and prints their events (`fdscope run`), or the `utils` answers
//! (`fdscope output`, `fdscope value`).

use crate::inspect;
use crate::script::{self, Condition, OnFailure, ScriptJob, Step, Tagged, Vars};
use crate::spawn::{spawn, ExitStatus, ProcessEvent, ProcessSpec, ProcessTransport, Signal};
use crate::transcript::{event_json_line, event_text_line, HeldOpen, Summary, TranscriptEvent};
use crate::utils::{self, ProcessError};
use nix::sys::signal::SigSet;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Exit code when the program could not be started (as a shell says "command not found").
pub const SPAWN_FAILED: i32 = 127;

/// Exit code when a script step failed, or a dependency never met its condition.
pub const SCRIPT_FAILED: i32 = 124;

/// One child to run: what to start, its script, and what it waits for.
#[derive(Debug, Clone)]
pub struct Job {
    /// Printed on each line when several jobs run (`--config FILE NAME…`).
    pub name: Option<String>,
    /// What to start (`${NAME.var}` of its dependencies are expanded at its start).
    pub spec: ProcessSpec,
    /// Its script and `ready`.
    pub script: ScriptJob,
    /// Signals sent this many milliseconds after the start (`--signal MS:SIG`).
    pub signals: Vec<(u64, Signal)>,
    /// Jobs (indices) it waits for, and for what.
    pub depends_on: Vec<(usize, Condition)>,
    /// Named on the command line (others are only dependencies, stopped at the end).
    pub requested: bool,
    /// Log its transcript to `DIR/NAME-K.jsonl` (`log_dir`), with this `log_max_bytes`.
    pub log: Option<(PathBuf, u64)>,
}

impl Job {
    /// A job that runs `spec` with `script` and nothing to wait for.
    pub fn new(name: Option<String>, spec: ProcessSpec, script: script::Script) -> Job {
        Job {
            name,
            spec,
            script: ScriptJob {
                script,
                ..ScriptJob::default()
            },
            signals: Vec::new(),
            depends_on: Vec::new(),
            requested: true,
            log: None,
        }
    }
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
    /// Also draw the events as an SVG sequence diagram to this file.
    pub diagram: Option<PathBuf>,
    /// Time between TERM and KILL when a child is stopped (`stop_grace_ms`; default 3000).
    pub stop_grace_ms: Option<u64>,
}

/// Where one job is.
#[derive(Debug, Clone, PartialEq)]
enum State {
    /// Not started: waiting for its dependencies.
    Waiting,
    /// Spawned; `ready` once its ready regex matched.
    Running {
        ready: Option<Vars>,
        ready_by: Option<Instant>,
    },
    /// `process_ended` came.
    Ended(ExitStatus),
    /// Never started: the spawn failed, or a dependency failed its condition.
    Blocked,
}

/// Runs the jobs (each once its dependencies' conditions hold), prints their events, and
/// returns the exit code: the child's code (128 + signal if killed) for one requested
/// job; for several, the first requested job's non-zero code, else 0; 127 when a spawn
/// failed; 124 when a script failed or a dependency never met its condition.
pub async fn run(jobs: Vec<Job>, options: &RunOptions) -> anyhow::Result<i32> {
    let mut out: Box<dyn Write> = match &options.events {
        Some(path) => Box::new(io::BufWriter::new(std::fs::File::create(path).map_err(
            |e| anyhow::anyhow!("cannot write events to {}: {e}", path.display()),
        )?)),
        None => Box::new(io::BufWriter::new(io::stdout())),
    };
    let grace = Duration::from_millis(options.stop_grace_ms.unwrap_or(3000));
    let (tx, mut rx) = mpsc::channel::<Tagged>(256);
    let mut transports: Vec<Option<ProcessTransport>> = vec![None; jobs.len()];
    let mut codes = vec![None; jobs.len()];
    let mut states = vec![State::Waiting; jobs.len()];
    let mut summaries = vec![Summary::default(); jobs.len()];
    let mut runners = Vec::new();
    let names: Vec<Option<String>> = jobs.iter().map(|j| j.name.clone()).collect();
    let mut recorded = Vec::new();
    let mut logs: Vec<Option<crate::record::log::LogFile>> = jobs.iter().map(|_| None).collect();
    let forward = Forwarder::start()?;
    let epoch = Instant::now();
    let mut output_broken = false;
    let mut stopping_deps = false;
    loop {
        // Start what can start; block what never will.
        let mut progress = true;
        while progress {
            progress = false;
            for index in 0..jobs.len() {
                if states[index] != State::Waiting {
                    continue;
                }
                match readiness(&jobs[index], &jobs, &states) {
                    Gate::Wait => {}
                    Gate::Never(why) => {
                        eprintln!("fdscope: {}: {why}", display_name(&jobs[index]));
                        states[index] = State::Blocked;
                        codes[index] = Some(SCRIPT_FAILED);
                        progress = true;
                    }
                    Gate::Go(vars) => {
                        progress = true;
                        let job = &jobs[index];
                        let spec = script::expand_spec(&job.spec, &vars);
                        let process = match spawn(&spec) {
                            Ok(process) => process,
                            Err(e) => {
                                eprintln!("fdscope: {e}");
                                codes[index] = Some(SPAWN_FAILED);
                                states[index] = State::Blocked;
                                continue;
                            }
                        };
                        logs[index] = job.log.as_ref().and_then(|(dir, max)| {
                            let name = job.name.as_deref().unwrap_or("run");
                            crate::record::log::LogFile::create(dir, name, *max)
                                .map_err(|e| eprintln!("fdscope: log_dir {}: {e}", dir.display()))
                                .ok()
                        });
                        forward.add(process.transport.clone());
                        for &(after_ms, signal) in &job.signals {
                            let transport = process.transport.clone();
                            tokio::spawn(async move {
                                tokio::time::sleep(Duration::from_millis(after_ms)).await;
                                let _ = transport.signal_process(signal);
                            });
                        }
                        transports[index] = Some(process.transport.clone());
                        let mut script_job = job.script.clone();
                        let mut all_vars = vars;
                        all_vars.extend(script_job.vars);
                        script_job.vars = all_vars;
                        script_job.on_failure = OnFailure::Stop { grace };
                        let ready_by = script_job
                            .ready
                            .as_ref()
                            .map(|r| Instant::now() + r.timeout);
                        states[index] = State::Running {
                            ready: None,
                            ready_by,
                        };
                        let tx = tx.clone();
                        runners.push((
                            index,
                            tokio::spawn(script::run(process, script_job, index as u64, tx, epoch)),
                        ));
                    }
                }
            }
        }
        let requested_done = jobs
            .iter()
            .zip(&states)
            .filter(|(job, _)| job.requested)
            .all(|(_, state)| matches!(state, State::Ended(_) | State::Blocked));
        if requested_done && !stopping_deps {
            stopping_deps = true;
            for (index, state) in states.iter().enumerate() {
                if let (State::Running { .. }, Some(transport)) = (state, &transports[index]) {
                    stop(transport.clone(), grace);
                }
            }
        }
        let running = states.iter().any(|s| matches!(s, State::Running { .. }));
        if !running {
            break;
        }
        // Wake for the next event, or when a `ready` is overdue.
        let overdue = states
            .iter()
            .filter_map(|s| match s {
                State::Running {
                    ready: None,
                    ready_by: Some(at),
                } => Some(*at),
                _ => None,
            })
            .min();
        let item = match overdue {
            Some(at) => tokio::select! {
                item = rx.recv() => item,
                _ = tokio::time::sleep_until(at.into()) => {
                    let now = Instant::now();
                    for state in states.iter_mut() {
                        if let State::Running { ready: None, ready_by } = state {
                            if ready_by.is_some_and(|at| at <= now) {
                                *ready_by = None; // never ready now: dependents are blocked
                            }
                        }
                    }
                    continue;
                }
            },
            None => rx.recv().await,
        };
        let Some(mut item) = item else { break };
        loop {
            let (tag, elapsed, event) = &item;
            let index = *tag as usize;
            match event {
                TranscriptEvent::Process(ProcessEvent::ProcessExited { .. }) => {
                    if let Some(transport) = &transports[index] {
                        check_held_open(*tag, transport.clone(), tx.clone(), epoch);
                    }
                }
                TranscriptEvent::HeldOpen(_) if matches!(states[index], State::Ended(_)) => {
                    // Checked just as the pipes closed: no note after process_ended.
                    match rx.try_recv() {
                        Ok(next) => item = next,
                        Err(_) => break,
                    }
                    continue;
                }
                TranscriptEvent::Process(ProcessEvent::ProcessEnded { status }) => {
                    codes[index].get_or_insert(status.shell_code());
                    states[index] = State::Ended(*status);
                }
                TranscriptEvent::Ready(ready) => {
                    if let State::Running { ready: slot, .. } = &mut states[index] {
                        let name = jobs[index].name.clone().unwrap_or_default();
                        *slot = Some(
                            ready
                                .groups
                                .iter()
                                .map(|(k, v)| (format!("{name}.{k}"), v.clone()))
                                .collect(),
                        );
                    }
                }
                TranscriptEvent::ScriptFailed(_) => codes[index] = Some(SCRIPT_FAILED),
                _ => {}
            }
            let name = names[index].as_deref();
            if let Some(file) = &mut logs[index] {
                if let Err(e) = file.write_event(*elapsed, event) {
                    eprintln!("fdscope: {}: {e}", file.path().display());
                    logs[index] = None;
                }
            }
            if options.diagram.is_some() {
                recorded.push(crate::record::diagram::record_without_data(
                    *elapsed, event, name,
                ));
            }
            let line = if options.summary {
                if let TranscriptEvent::Process(event) = event {
                    summaries[index].add(*elapsed, event);
                }
                None
            } else if options.json {
                Some(event_json_line(*elapsed, event, name, !options.no_data))
            } else {
                Some(event_text_line(*elapsed, event, name, !options.no_data))
            };
            if let (Some(line), false) = (line, output_broken) {
                if writeln!(out, "{line}").is_err() {
                    output_broken = stop_on_broken_output(transports.iter().flatten());
                }
            }
            let ended = matches!(
                event,
                TranscriptEvent::Process(ProcessEvent::ProcessEnded { .. })
                    | TranscriptEvent::Ready(_)
            );
            // Print whatever else is ready, then flush once: prompt output shows at
            // once, and a flood costs one flush per batch, not per line. A state change
            // goes back to the top, to start what waited for it.
            if ended {
                break;
            }
            match rx.try_recv() {
                Ok(next) => item = next,
                Err(_) => break,
            }
        }
        if !output_broken && out.flush().is_err() {
            output_broken = stop_on_broken_output(transports.iter().flatten());
        }
    }
    drop(tx);
    for (index, runner) in runners {
        if let Ok(outcome) = runner.await {
            if let Some(failure) = outcome.failed {
                eprintln!(
                    "fdscope: {}: {}",
                    display_name(&jobs[index]),
                    failure.message
                );
            }
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
    if let Some(path) = &options.diagram {
        std::fs::write(path, crate::record::diagram::to_svg(&recorded))
            .map_err(|e| anyhow::anyhow!("cannot write the diagram to {}: {e}", path.display()))?;
    }
    let requested: Vec<Option<i32>> = jobs
        .iter()
        .zip(&codes)
        .filter(|(job, _)| job.requested)
        .map(|(_, code)| *code)
        .collect();
    Ok(exit_code(&requested))
}

fn display_name(job: &Job) -> String {
    job.name
        .clone()
        .unwrap_or_else(|| job.spec.program_display())
}

enum Gate {
    Wait,
    Never(String),
    Go(Vars),
}

/// Whether a waiting job may start now: every condition holds (with the variables of
/// its `ready` dependencies), one can never hold, or it must wait.
fn readiness(job: &Job, jobs: &[Job], states: &[State]) -> Gate {
    let mut vars = Vars::new();
    let mut wait = false;
    for &(dep, condition) in &job.depends_on {
        let state = &states[dep];
        let holds = match (condition, state) {
            (_, State::Blocked) => {
                return Gate::Never(format!(
                    "dependency {} never started",
                    display_name(&jobs[dep])
                ))
            }
            (_, State::Waiting) => None,
            (Condition::Started, _) => Some(true),
            (Condition::Ready, State::Running { ready: Some(v), .. }) => {
                vars.extend(v.clone());
                Some(true)
            }
            (Condition::Ready, State::Running { ready_by: None, .. }) => Some(false),
            (Condition::Ready, State::Running { .. }) => None,
            (Condition::Ready, State::Ended(_)) => Some(false),
            (Condition::Succeeded, State::Ended(status)) => Some(status.success()),
            (Condition::Ended, State::Ended(_)) => Some(true),
            (_, State::Running { .. }) => None,
        };
        match holds {
            Some(true) => {}
            Some(false) => {
                let what = match (condition, state) {
                    (Condition::Ready, State::Ended(status)) => {
                        format!("ended ({status}) before it was ready")
                    }
                    (Condition::Ready, _) => "was not ready within its `ready` timeout".into(),
                    (_, State::Ended(status)) => format!("did not succeed ({status})"),
                    _ => "failed".into(),
                };
                return Gate::Never(format!("dependency {} {what}", display_name(&jobs[dep])));
            }
            None => wait = true,
        }
    }
    if wait {
        Gate::Wait
    } else {
        Gate::Go(vars)
    }
}

/// TERM now, KILL after `grace` if it is still there.
///
/// A grandchild that inherited the pipes would keep `process_ended` away for as long as
/// it lives, so after the grace period (or at once, when the child is already reaped)
/// fdscope closes its own ends of the pipes too.
fn stop(transport: ProcessTransport, grace: Duration) {
    if transport.signal_process(Signal::SIGTERM).is_err() {
        transport.lose_connection();
        return;
    }
    tokio::spawn(async move {
        tokio::time::sleep(grace).await;
        let _ = transport.signal_process(Signal::SIGKILL);
        transport.lose_connection();
    });
}

/// After [`HELD_OPEN_AFTER`], a `held_open` note for each of the child's pipes still open
/// that another process holds (a grandchild that inherited it): the reason no
/// `process_ended` comes yet.
fn check_held_open(
    tag: u64,
    transport: ProcessTransport,
    tx: mpsc::Sender<Tagged>,
    epoch: Instant,
) {
    tokio::spawn(async move {
        tokio::time::sleep(HELD_OPEN_AFTER).await;
        let child = inspect::ChildInfo::of(&transport);
        for held in inspect::held_pipes(&child) {
            // No holder and nothing unreadable: the pipe is closing right now.
            if held.holders.is_empty() && held.unreadable.is_empty() {
                continue;
            }
            let note = TranscriptEvent::HeldOpen(HeldOpen {
                fd: held.fd,
                holders: held.holders,
            });
            if tx.send((tag, epoch.elapsed(), note)).await.is_err() {
                return;
            }
        }
    });
}

/// How long after `process_exited` a pipe still open gets a `held_open` note.
pub const HELD_OPEN_AFTER: Duration = Duration::from_millis(500);

/// Stdout is gone (`fdscope run … | head`): nobody reads the transcript any more, so ask
/// the children to stop rather than run on unseen.
fn stop_on_broken_output<'a>(transports: impl Iterator<Item = &'a ProcessTransport>) -> bool {
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

/// The script `fdscope run` builds from `--write`, `--close`, `--expect`, `--timeout` and
/// `--sleep`, given in command-line order.
pub fn cli_script(options: Vec<CliStep>) -> Result<script::Script, String> {
    let mut timeout = script::DEFAULT_TIMEOUT;
    let mut steps = Vec::new();
    for option in options {
        match option {
            CliStep::Write { fd, data } => steps.push(Step::Write {
                fd,
                data,
                repeat: 1,
            }),
            CliStep::Close { fd } => steps.push(Step::Close { fd }),
            CliStep::Timeout(seconds) => timeout = seconds,
            CliStep::Sleep(duration) => steps.push(Step::Sleep { duration }),
            CliStep::Expect { fd, regex } => {
                let pattern = script::Pattern::new(&regex)
                    .map_err(|e| format!("--expect {regex:?}: invalid regex: {e}"))?;
                steps.push(Step::Expect {
                    fd,
                    pattern,
                    timeout,
                });
            }
        }
    }
    Ok(steps)
}

/// One script option of `fdscope run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliStep {
    /// `--write FD=TEXT`
    Write {
        /// The fd.
        fd: i32,
        /// The bytes.
        data: Vec<u8>,
    },
    /// `--close FD`
    Close {
        /// The fd.
        fd: i32,
    },
    /// `--expect [FD=]REGEX`
    Expect {
        /// The fd (default 1).
        fd: i32,
        /// The regex.
        regex: String,
    },
    /// `--timeout SECS`, for the expects after it.
    Timeout(Duration),
    /// `--sleep SECS`
    Sleep(Duration),
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
