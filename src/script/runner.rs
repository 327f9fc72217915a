//! The one script runner: a [`Script`] on a [`Session`], every event sent in order.

use super::session::{ExpectError, Session, Tagged};
use super::{expand, ExitWant, ReadySpec, Script, Step, Vars};
use crate::spawn::{ExitStatus, Process, Signal};
use crate::transcript::{FailReason, ScriptFailed, ScriptStep, TranscriptEvent};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What to do with the child when a step fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Leave it running (the console: the user takes over by hand).
    Keep,
    /// TERM, then KILL after `grace` (headless).
    Stop {
        /// Time between TERM and KILL.
        grace: Duration,
    },
}

/// A script to run on one process, with its `ready` watch and its variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptJob {
    /// The steps.
    pub script: Script,
    /// The command's `ready`, watched beside the script.
    pub ready: Option<ReadySpec>,
    /// `${NAME.var}` of the dependencies.
    pub vars: Vars,
    /// What a failure does to the child.
    pub on_failure: OnFailure,
}

impl ScriptJob {
    /// The fds whose output the script or `ready` reads.
    pub fn watched_fds(&self) -> BTreeSet<i32> {
        self.script
            .iter()
            .filter_map(Step::expect_fd)
            .chain(self.ready.as_ref().map(|r| r.fd))
            .collect()
    }
}

/// A failed step: the event, and the message a person reads
/// (`step 2 (expect /1024/ on fd 1) failed: timeout after 10s; last output: "…"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The `script_failed` event.
    pub event: ScriptFailed,
    /// One line, for stderr.
    pub message: String,
}

/// How a run went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The failed step, if one failed.
    pub failed: Option<Failure>,
    /// How the process ended (`None` if its events stopped early).
    pub status: Option<ExitStatus>,
}

/// Runs `job` on `process`: sends every event of the process and of the script to `sink`
/// (tagged `tag`, times since `epoch`), in order, up to and including `process_ended`.
pub async fn run(
    process: Process,
    job: ScriptJob,
    tag: u64,
    sink: mpsc::Sender<Tagged>,
    epoch: Instant,
) -> Outcome {
    let mut session = Session::new(process)
        .with_epoch(epoch)
        .with_sink(tag, sink)
        .watch_only(job.watched_fds());
    if let Some(ready) = job.ready.clone() {
        session = session.with_ready(ready);
    }
    if !job.script.is_empty() {
        session.started().await;
    }
    let mut vars = job.vars.clone();
    let mut failed = None;
    for (index, step) in job.script.iter().enumerate() {
        match run_step(&mut session, step, &mut vars).await {
            Ok(done) => {
                session
                    .note(TranscriptEvent::ScriptStep(ScriptStep {
                        step: index,
                        action: done.action,
                        matched: done.matched,
                        groups: done.groups,
                    }))
                    .await
            }
            Err((reason, error)) => {
                let action = step.describe();
                let event = ScriptFailed {
                    step: index,
                    action: action.clone(),
                    reason,
                    tail: error.tail.clone(),
                };
                session
                    .note(TranscriptEvent::ScriptFailed(event.clone()))
                    .await;
                failed = Some(Failure {
                    message: format!("step {index} ({action}) failed: {}", error.message),
                    event,
                });
                break;
            }
        }
    }
    if let (Some(_), OnFailure::Stop { grace }) = (&failed, job.on_failure) {
        if session.exit_status().is_none() {
            let _ = session.signal(Signal::SIGTERM);
            if session.wait_exit(grace).await.is_err() {
                let _ = session.signal(Signal::SIGKILL);
            }
        }
        // A grandchild may hold a pipe: the script is over, let go of them.
        session.transport().lose_connection();
    }
    let status = session.finish().await;
    Outcome { failed, status }
}

struct Done {
    action: String,
    matched: Option<String>,
    groups: Option<crate::transcript::Groups>,
}

struct StepError {
    tail: String,
    message: String,
}

fn done(action: String) -> Done {
    Done {
        action,
        matched: None,
        groups: None,
    }
}

/// A step whose operation was refused completes with a warning in its description.
fn warn(step: &Step, result: Result<(), crate::TransportError>) -> Done {
    match result {
        Ok(()) => done(step.describe()),
        Err(e) => done(format!("{} (warning: {e})", step.describe())),
    }
}

fn expect_failure(error: ExpectError) -> (FailReason, StepError) {
    (
        error.reason,
        StepError {
            tail: error.tail.clone(),
            message: error.to_string(),
        },
    )
}

async fn run_step(
    session: &mut Session,
    step: &Step,
    vars: &mut Vars,
) -> Result<Done, (FailReason, StepError)> {
    match step {
        Step::Write { fd, data, repeat } => {
            let data = match expand(data, vars) {
                Ok(data) => data,
                Err(unknown) => {
                    // The config check rules this out; a library caller may still do it.
                    return Ok(done(format!("{} (warning: {unknown})", step.describe())));
                }
            };
            let data = data.repeat(*repeat as usize);
            Ok(warn(step, session.write(*fd, data)))
        }
        Step::Close { fd } => Ok(warn(step, session.close(*fd))),
        Step::Signal { signal } => Ok(warn(step, session.signal(*signal))),
        Step::Sleep { duration } => {
            session.sleep(*duration).await;
            Ok(done(step.describe()))
        }
        Step::Expect {
            fd,
            pattern,
            timeout,
        } => {
            let found = session
                .expect(*fd, pattern, *timeout)
                .await
                .map_err(expect_failure)?;
            vars.extend(found.groups.clone());
            Ok(Done {
                action: step.describe(),
                matched: Some(found.text),
                groups: Some(found.groups),
            })
        }
        Step::Exit { want, timeout } => {
            let status = session.wait_exit(*timeout).await.map_err(expect_failure)?;
            let wanted = match want {
                ExitWant::Code(code) => status.exit_code() == Some(*code),
                ExitWant::Signal(signal) => status.signal() == Some(*signal as i32),
            };
            if wanted {
                Ok(done(step.describe()))
            } else {
                Err((
                    FailReason::Exit,
                    StepError {
                        tail: session.tail(1),
                        message: format!("exit: the process {status}"),
                    },
                ))
            }
        }
    }
}

impl Default for ScriptJob {
    fn default() -> Self {
        ScriptJob {
            script: Vec::new(),
            ready: None,
            vars: Vars::new(),
            on_failure: OnFailure::Keep,
        }
    }
}
