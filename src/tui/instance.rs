//! Starting, stopping and following instances: panes sized from the layout, the spawn and
//! start actions as effects, what each event does to the state, the stop and quit timers.
//! Pure: every process operation is an [`Effect`] for the runner.

use super::action::Mode;
use super::effect::Effect;
use super::layout;
use super::pane::{Pane, PaneKind};
use super::state::{App, Instance, Row, RunState, PTY_SCROLLBACK};
use crate::config::CommandConfig;
use crate::{ChildFd, ProcessEvent, PtySize, Signal};
use std::time::{Duration, Instant};

/// A pane's role when the config gives no label: the usual name of a standard fd.
fn default_role(fd: i32) -> String {
    crate::transcript::fd_role(fd).unwrap_or("pipe").to_string()
}

/// The panes (and notes for fds without one) of a command, before it runs: its panes,
/// whether it uses the console pane, and the notes.
pub fn panes_for(cmd: &CommandConfig, scrollback: usize) -> (Vec<Pane>, bool, Vec<String>) {
    let mut panes = Vec::new();
    let mut notes = Vec::new();
    let mut uses_console = false;
    if cmd.spec.pty.is_some() {
        let role = cmd
            .labels
            .get(&0)
            .cloned()
            .unwrap_or_else(|| "terminal".into());
        let mut pane = Pane::terminal(24, 80, scrollback.min(PTY_SCROLLBACK));
        pane.role = role;
        panes.push(pane);
    }
    for (&fd, &what) in &cmd.spec.child_fds {
        let role = || {
            cmd.labels
                .get(&fd)
                .cloned()
                .unwrap_or_else(|| default_role(fd))
        };
        match what {
            ChildFd::Read => panes.push(Pane::text(fd, PaneKind::Read, role(), scrollback)),
            ChildFd::Write => panes.push(Pane::text(fd, PaneKind::Write, role(), scrollback)),
            ChildFd::Parent(n) if (0..=2).contains(&n) => {
                uses_console = true;
                notes.push(format!("fd {fd} = console fd {n}"));
            }
            ChildFd::Parent(n) => notes.push(format!("fd {fd} = parent fd {n}")),
            ChildFd::Null => notes.push(format!("fd {fd} = /dev/null")),
        }
    }
    (panes, uses_console, notes)
}

/// The kinds of a set of panes, as the layout wants them.
pub fn shapes(panes: &[Pane], uses_console: bool) -> Vec<layout::PaneShape> {
    let mut shapes: Vec<layout::PaneShape> = panes
        .iter()
        .map(|p| layout::PaneShape::open(p.kind))
        .collect();
    if uses_console {
        shapes.push(layout::PaneShape::open(PaneKind::Console));
    }
    shapes
}

/// Starts a new instance of command `ci` (an [`Effect::Spawn`]); returns its index in
/// `app.procs.instances`. The spawn's answer comes back as `Msg::Spawned` or
/// `Msg::SpawnFailed`. Its missing dependencies are started first; while their
/// conditions do not hold it waits (`waiting for server (ready)`).
pub fn start(app: &mut App, ci: usize, now: Instant, fx: &mut Vec<Effect>) -> usize {
    start_at_depth(app, ci, now, fx, 0)
}

fn start_at_depth(
    app: &mut App,
    ci: usize,
    now: Instant,
    fx: &mut Vec<Effect>,
    depth: usize,
) -> usize {
    let on = super::deps::start_dependencies(app, ci, now, fx, depth, start_at_depth);
    let cmd = &app.procs.commands[ci];
    let (mut panes, uses_console, notes) = panes_for(cmd, app.procs.settings.scrollback_lines);
    let mut spec = cmd.spec.clone();
    if spec.pty.is_some() {
        // Size the pty from its pane before the child prints anything.
        let shapes = shapes(&panes, uses_console);
        let areas = layout::areas(app.view.screen, &shapes, None, app.view.show_timeline);
        let (rows, cols) = layout::inner(areas.panes[0]);
        panes[0].resize(rows, cols);
        spec = spec.pty(PtySize { rows, cols });
    }
    let id = app.procs.next_id;
    app.procs.next_id += 1;
    let name = cmd.name.clone();
    let mut inst = Instance::new(id, ci, name.clone(), panes, uses_console, notes, now);
    if app.procs.started.len() <= ci {
        app.procs.started.resize(ci + 1, 0);
    }
    app.procs.started[ci] += 1;
    inst.number = app.procs.started[ci];
    if !cmd.script.is_empty() {
        inst.script = Some(super::script::Progress::new(&cmd.script));
    }
    app.procs.instances.push(inst);
    let ii = app.procs.instances.len() - 1;
    if on.is_empty() {
        let script = super::deps::script_job(&app.procs.commands[ci], Default::default());
        fx.push(Effect::Spawn {
            id,
            name,
            spec,
            script,
        });
    } else {
        app.procs.instances[ii].waiting = Some(super::deps::Waiting { on, spec });
        app.procs.instances[ii].state = RunState::Waiting("waiting".into());
        super::deps::on_change(app, now, fx);
    }
    ii
}

/// The runner spawned instance `id`: record it (its script runs beside it).
pub fn on_spawned(app: &mut App, id: u64, pid: u32, started: Instant, _fx: &mut Vec<Effect>) {
    let Some(ii) = app.index_of(id) else {
        return;
    };
    let inst = &mut app.procs.instances[ii];
    inst.pid = Some(pid);
    inst.started = started;
    app.view.status = format!("started {} (pid {pid})", inst.name);
}

/// The spawn of instance `id` failed: it stays in the list, in state `Failed`, with why.
pub fn on_spawn_failed(app: &mut App, id: u64, error: String) {
    if let Some(ii) = app.index_of(id) {
        app.procs.instances[ii].state = RunState::Failed(error.clone());
    }
    app.view.status = error;
}

/// Asks an instance to stop: TERM now, KILL when the grace period is over.
pub fn stop(app: &mut App, ii: usize, now: Instant, fx: &mut Vec<Effect>) {
    let grace = Duration::from_millis(app.procs.settings.stop_grace_ms);
    let inst = &mut app.procs.instances[ii];
    if !inst.running() {
        return;
    }
    fx.push(Effect::Signal {
        id: inst.id,
        signal: Signal::SIGTERM,
    });
    inst.kill_at = Some(now + grace);
    app.view.status = format!(
        "sent SIGTERM to {} (KILL in {} ms)",
        inst.name,
        grace.as_millis()
    );
}

/// Applies one event to its instance: panes, timeline, state.
pub fn on_event(
    app: &mut App,
    id: u64,
    at: Duration,
    event: ProcessEvent,
    now: Instant,
    fx: &mut Vec<Effect>,
) {
    let Some(ii) = app.index_of(id) else {
        return;
    };
    let quitting = app.quitting.is_some();
    let selected = app.selected_instance() == Some(ii);
    let budget = super::timeline::data_budget(app.procs.instances.len());
    let inst = &mut app.procs.instances[ii];
    inst.timeline.set_data_budget(budget);
    inst.timeline.push(at, &event);
    match event {
        ProcessEvent::ConnectionMade { pid } => {
            inst.pid = Some(pid);
            super::deps::on_change(app, now, fx);
        }
        ProcessEvent::ChildDataReceived { fd, data } => {
            if let Some(pane) = inst.pane_of(fd) {
                pane.feed(&data);
            }
        }
        ProcessEvent::ChildConnectionLost { fd } => {
            if let Some(pane) = inst.pane_of(fd) {
                let why = if pane.kind == PaneKind::Write {
                    "closed"
                } else {
                    "EOF"
                };
                pane.mark_closed(at, why);
            }
        }
        ProcessEvent::ProcessExited { status } => {
            inst.state = RunState::Exited(status);
            inst.exited_at = Some(at);
            inst.kill_at = None;
            inst.pending_signals.clear();
            if quitting {
                // A grandchild may hold a pipe: the console is leaving, let go of them.
                fx.push(Effect::LoseConnection { id });
            }
        }
        ProcessEvent::ProcessEnded { status } => {
            inst.state = RunState::Ended(status);
            inst.ended_at = Some(at);
            for pane in &mut inst.panes {
                if pane.kind == PaneKind::Pty {
                    pane.closed = true;
                }
            }
            app.view.status = format!("{} ended: {status}", inst.name);
            if selected && matches!(app.view.mode, Mode::Pty | Mode::PtyChord) {
                // Keys would go to a terminal nobody reads any more: give them back.
                app.view.mode = Mode::Normal;
                app.view.status.push_str(" · keys are back to the list");
            }
            if inst.restart && !quitting {
                inst.restart = false;
                let ci = inst.command;
                let new = start(app, ci, now, fx);
                select_instance(app, new);
            }
            super::deps::on_change(app, now, fx);
        }
    }
}

/// Moves the list's selection onto instance `ii`.
pub fn select_instance(app: &mut App, ii: usize) {
    if let Some(row) = app.rows().iter().position(|r| *r == Row::Instance(ii)) {
        app.view.row = row;
    }
}

/// Timers: KILL after the grace period, delayed start signals. True if anything happened.
pub fn tick(app: &mut App, now: Instant, fx: &mut Vec<Effect>) -> bool {
    let mut changed = false;
    for inst in app.procs.instances.iter_mut().filter(|i| i.pid.is_some()) {
        if inst.kill_at.is_some_and(|at| at <= now) {
            inst.kill_at = None;
            fx.push(Effect::Signal {
                id: inst.id,
                signal: Signal::SIGKILL,
            });
            changed = true;
        }
        let (due, later): (Vec<_>, Vec<_>) = inst
            .pending_signals
            .drain(..)
            .partition(|(at, _)| *at <= now);
        inst.pending_signals = later;
        for (_, signal) in due {
            fx.push(Effect::Signal {
                id: inst.id,
                signal,
            });
            changed = true;
        }
    }
    changed
}

/// Starts leaving: TERM to every running child (and a hangup to pty children), KILL after
/// the grace period; the loop ends once all have ended, or shortly after the KILL.
pub fn quit(app: &mut App, now: Instant, fx: &mut Vec<Effect>) {
    let grace = Duration::from_millis(app.procs.settings.stop_grace_ms);
    let mut stopping = 0;
    for inst in app.procs.instances.iter_mut() {
        match inst.state {
            RunState::Running if inst.pid.is_some() => {
                fx.push(Effect::Signal {
                    id: inst.id,
                    signal: Signal::SIGTERM,
                });
                if inst.pty {
                    fx.push(Effect::LoseConnection { id: inst.id });
                }
                inst.kill_at = Some(now + grace);
                stopping += 1;
            }
            RunState::Exited(_) => fx.push(Effect::LoseConnection { id: inst.id }),
            _ => {}
        }
    }
    app.quitting = Some(now + grace + Duration::from_secs(2));
    app.view.status = format!("stopping {stopping} children…");
}

/// Saves instance `ii`'s timeline to `fdscope-NAME-PID.jsonl` in the current directory.
pub fn save_transcript(app: &mut App, ii: usize, fx: &mut Vec<Effect>) {
    let inst = &app.procs.instances[ii];
    let path = std::path::PathBuf::from(format!(
        "fdscope-{}-{}.jsonl",
        inst.name,
        inst.pid.map_or(inst.id, u64::from)
    ));
    let mut contents = String::new();
    for entry in &inst.timeline.entries {
        contents.push_str(&super::timeline::json_line(entry, &inst.name));
        contents.push('\n');
    }
    fx.push(Effect::SaveFile {
        path,
        contents,
        what: crate::wording::count(inst.timeline.entries.len(), "event"),
    });
}
