//! Performs the [`Effect`]s `update` returns: the console's only code that spawns, writes
//! to children, signals, saves files and talks to the terminal. It owns the I/O handles
//! (the transports of the instances, the console's stdin pipe) that the state must not
//! hold, and answers with [`Msg`]s when there is something to report.

use super::effect::Effect;
use super::state::Msg;
use super::terminal;
use crate::{spawn, ProcessTransport};
use std::collections::HashMap;
use std::io::Write;
use tokio::sync::mpsc;

/// The I/O side of the console.
pub struct Performer {
    transports: HashMap<u64, ProcessTransport>,
    console_stdin: Option<std::fs::File>,
    tx: mpsc::Sender<Msg>,
    /// Bytes for the terminal itself, written by the loop before the next frame.
    pub to_terminal: Vec<u8>,
    /// The mouse capture the loop should set, if it changed.
    pub mouse: Option<bool>,
    /// Where instance transcripts are logged (`log_dir`).
    pub log: crate::config::LogSettings,
    /// CPU % needs the previous sample of each process.
    sampler: crate::inspect::Sampler,
}

impl Performer {
    /// A performer whose children's events go to `tx`; `console_stdin` is the write end of
    /// the pipe that is the console's fd 0 for children (`None` without one).
    pub fn new(tx: mpsc::Sender<Msg>, console_stdin: Option<std::fs::File>) -> Self {
        Performer {
            transports: HashMap::new(),
            console_stdin,
            tx,
            to_terminal: Vec::new(),
            mouse: None,
            log: crate::config::LogSettings::default(),
            sampler: crate::inspect::Sampler::new(),
        }
    }

    /// The transport of instance `id`, while it has one.
    pub fn transport(&self, id: u64) -> Option<&ProcessTransport> {
        self.transports.get(&id)
    }

    /// Every transport, to stop them all on the way out.
    pub fn transports(&self) -> impl Iterator<Item = &ProcessTransport> {
        self.transports.values()
    }

    /// Does the effects in order; returns the answers to feed back to `update` at once.
    /// Must run inside a tokio runtime (a spawn starts the instance's forwarder task).
    pub fn perform(&mut self, effects: Vec<Effect>) -> Vec<Msg> {
        let mut answers = Vec::new();
        for effect in effects {
            if let Some(msg) = self.perform_one(effect) {
                answers.push(msg);
            }
        }
        answers
    }

    fn perform_one(&mut self, effect: Effect) -> Option<Msg> {
        match effect {
            Effect::Spawn {
                id,
                name,
                spec,
                script,
            } => Some(self.spawn(id, &name, &spec, script.map(|job| *job))),
            Effect::Write { id, fd, data } => {
                let t = self.transports.get(&id)?;
                t.write_to_child(fd, data)
                    .err()
                    .map(|e| Msg::Failed(format!("fd {fd}: {e}")))
            }
            Effect::Close { id, fd } => {
                let t = self.transports.get(&id)?;
                t.close_child_fd(fd)
                    .err()
                    .map(|e| Msg::Failed(format!("close fd {fd}: {e}")))
            }
            Effect::LoseConnection { id } => {
                self.transports.get(&id)?.lose_connection();
                None
            }
            Effect::Signal { id, signal } => {
                let t = self.transports.get(&id)?;
                t.signal_process(signal)
                    .err()
                    .map(|e| Msg::Failed(format!("{}: {e}", signal.as_str())))
            }
            Effect::Resize { id, rows, cols } => {
                let _ = self.transports.get(&id)?.resize(rows, cols);
                None
            }
            Effect::WriteConsoleStdin(data) => {
                let result = match &mut self.console_stdin {
                    Some(file) => file.write_all(&data),
                    None => Err(std::io::Error::other("the console's stdin is closed")),
                };
                result
                    .err()
                    .map(|e| Msg::Failed(format!("console stdin: {e}")))
            }
            Effect::CloseConsoleStdin => {
                self.console_stdin = None;
                None
            }
            Effect::SaveFile {
                path,
                contents,
                what,
            } => Some(save(&path, &contents, &what)),
            Effect::Terminal(bytes) => {
                self.to_terminal.extend(bytes);
                None
            }
            Effect::Mouse(on) => {
                self.mouse = Some(on);
                None
            }
            Effect::Inspect { id } => {
                let report = self.transports.get(&id).map(|t| {
                    let child = crate::inspect::ChildInfo::of(t);
                    Box::new(self.sampler.inspect(&child))
                });
                Some(Msg::Inspected { id, report })
            }
            Effect::SampleUsage(ids) => {
                let usage: Vec<_> = ids
                    .into_iter()
                    .map(|id| {
                        let pid = self.transports.get(&id).map(|t| t.pid());
                        (id, pid.and_then(|pid| self.sampler.usage(pid)))
                    })
                    .collect();
                let alive: std::collections::HashSet<u32> = self
                    .transports
                    .values()
                    .filter(|t| !t.is_reaped())
                    .map(|t| t.pid())
                    .collect();
                // Descendants sampled by the inspector stay known while it is open.
                if usage.is_empty() {
                    self.sampler.retain(|pid| alive.contains(&pid));
                }
                Some(Msg::Usage(usage))
            }
        }
    }

    /// Spawns instance `id`, tracks it for the panic hook, and forwards its events.
    fn spawn(
        &mut self,
        id: u64,
        name: &str,
        spec: &crate::ProcessSpec,
        script: Option<crate::script::ScriptJob>,
    ) -> Msg {
        let process = match spawn(spec) {
            Ok(process) => process,
            Err(err) => {
                return Msg::SpawnFailed {
                    id,
                    error: err.to_string(),
                }
            }
        };
        let pid = process.transport.pid();
        let started = process.events.started();
        let tx = self.tx.clone();
        let transport = process.transport.clone();
        // The log is written where events arrive, not by `update`: it is I/O.
        let log = self.log.dir_for(name).and_then(|dir| {
            crate::record::log::LogFile::create(dir, name, self.log.max_bytes).ok()
        });
        match script {
            Some(job) => super::script::drive(id, process, job, tx, log),
            None => {
                let mut events = process.events;
                let mut log = log;
                tokio::spawn(async move {
                    while let Some((at, event)) = events.recv_timed().await {
                        if log.as_mut().is_some_and(|f| f.write(at, &event).is_err()) {
                            log = None;
                        }
                        if tx.send(Msg::Child { id, at, event }).await.is_err() {
                            break; // the console is gone; dropping `events` keeps the child drained
                        }
                    }
                });
            }
        }
        terminal::track_child(transport.clone());
        self.transports.insert(id, transport);
        Msg::Spawned { id, pid, started }
    }
}

/// Writes a saved file; the status line names the whole path.
fn save(path: &std::path::Path, contents: &str, what: &str) -> Msg {
    let shown = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match std::fs::write(path, contents) {
        Ok(()) => Msg::Done(format!("saved {what} to {}", shown.display())),
        Err(e) => Msg::Failed(format!("cannot save {}: {e}", shown.display())),
    }
}

/// The state and its performer together: what the loop (and a test with real children)
/// drives. Each entry point runs `update`, performs the effects, and feeds their answers
/// back until nothing is left.
pub struct Driver {
    /// The console's state.
    pub app: super::state::App,
    /// Its I/O side.
    pub performer: Performer,
    /// While `Some`, every child event handled is also recorded here (time since spawn,
    /// event) for the remote-control server's event followers, which take them after each
    /// turn of the loop.
    pub tap: Option<Vec<(u64, std::time::Duration, crate::ProcessEvent)>>,
}

impl Driver {
    /// A driver for `app`, performing through `performer`.
    pub fn new(app: super::state::App, performer: Performer) -> Self {
        Driver {
            app,
            performer,
            tap: None,
        }
    }

    /// Handles one message as of now.
    pub fn handle(&mut self, msg: Msg) {
        if let (Some(tap), Msg::Child { id, at, event }) = (&mut self.tap, &msg) {
            tap.push((*id, *at, event.clone()));
        }
        let now = std::time::Instant::now();
        let effects = super::update::handle(&mut self.app, msg, now);
        self.perform(effects, now);
    }

    /// Does one action as of now.
    pub fn act(&mut self, action: super::action::Action) {
        let now = std::time::Instant::now();
        let effects = super::update::act(&mut self.app, action, now);
        self.perform(effects, now);
    }

    /// Runs the timers as of now; true if the screen should be redrawn.
    pub fn tick(&mut self) -> bool {
        let now = std::time::Instant::now();
        let (changed, effects) = super::update::tick(&mut self.app, now);
        self.perform(effects, now);
        changed
    }

    /// Performs `effects`, then the effects of their answers, until nothing is left.
    pub fn perform(&mut self, mut effects: Vec<Effect>, now: std::time::Instant) {
        while !effects.is_empty() {
            let answers = self.performer.perform(effects);
            effects = Vec::new();
            for msg in answers {
                effects.extend(super::update::handle(&mut self.app, msg, now));
            }
        }
    }
}
