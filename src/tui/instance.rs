//! Starting, stopping and following instances: spawn with panes sized from the layout, a
//! forwarder task per child that turns its events into [`Msg`]s, and what each event does.

use super::layout;
use super::model::{App, Instance, Msg, RunState, PTY_SCROLLBACK};
use super::pane::{Pane, PaneKind};
use crate::config::{CommandConfig, StartAction};
use crate::{spawn, ChildFd, ProcessEvent, PtySize, Signal};
use std::time::{Duration, Instant};

fn default_role(fd: i32) -> String {
    match fd {
        0 => "stdin".into(),
        1 => "stdout".into(),
        2 => "stderr".into(),
        _ => "pipe".into(),
    }
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
pub fn kinds(panes: &[Pane], uses_console: bool) -> Vec<PaneKind> {
    let mut kinds: Vec<PaneKind> = panes.iter().map(|p| p.kind).collect();
    if uses_console {
        kinds.push(PaneKind::Console);
    }
    kinds
}

/// Starts a new instance of command `ci`; returns its index in `app.instances`.
/// A failed spawn is an instance too, in state `Failed`, with the reason.
pub fn start(app: &mut App, ci: usize) -> usize {
    let cmd = &app.commands[ci];
    let name = cmd.name.clone();
    let (mut panes, uses_console, notes) = panes_for(cmd, app.settings.scrollback_lines);
    let mut spec = cmd.spec.clone();
    if spec.pty.is_some() {
        // Size the pty from its pane before the child prints anything.
        let kinds = kinds(&panes, uses_console);
        let areas = layout::areas(app.screen, &kinds, None, app.show_timeline);
        let (rows, cols) = layout::inner(areas.panes[0]);
        panes[0].resize(rows, cols);
        spec = spec.pty(PtySize { rows, cols });
    }
    let id = app.next_id;
    app.next_id += 1;
    let now = Instant::now();
    let mut inst = Instance::new(id, ci, name.clone(), panes, uses_console, notes, now);
    inst.target = inst.writable().first().copied().unwrap_or(0);
    match spawn(&spec) {
        Ok(process) => {
            inst.pid = Some(process.transport.pid());
            inst.started = process.events.started();
            let tx = app.tx.clone();
            let mut events = process.events;
            tokio::spawn(async move {
                while let Some((at, event)) = events.recv_timed().await {
                    if tx.send(Msg::Child { id, at, event }).await.is_err() {
                        break; // the console is gone; dropping `events` keeps the child drained
                    }
                }
            });
            super::terminal::track_child(process.transport.clone());
            inst.transport = Some(process.transport);
            run_start_actions(&mut inst, &app.commands[ci].on_start);
            app.status = format!("started {name} (pid {})", inst.pid.unwrap_or(0));
        }
        Err(err) => {
            app.status = err.to_string();
            inst.state = RunState::Failed(err.to_string());
        }
    }
    app.instances.push(inst);
    app.instances.len() - 1
}

fn run_start_actions(inst: &mut Instance, actions: &[StartAction]) {
    let Some(transport) = inst.transport.clone() else {
        return;
    };
    for action in actions {
        match action {
            StartAction::Write { fd, data } => {
                if transport.write_to_child(*fd, data.clone()).is_ok() {
                    if let Some(pane) = inst.pane_of(*fd) {
                        if pane.kind == PaneKind::Write {
                            pane.note_sent(Duration::ZERO, data);
                        }
                    }
                }
            }
            StartAction::Close { fd } => {
                let _ = transport.close_child_fd(*fd);
            }
            StartAction::Signal { after_ms, signal } => inst
                .pending_signals
                .push((inst.started + Duration::from_millis(*after_ms), *signal)),
        }
    }
}

/// Asks an instance to stop: TERM now, KILL when the grace period is over.
pub fn stop(app: &mut App, ii: usize) {
    let grace = Duration::from_millis(app.settings.stop_grace_ms);
    let inst = &mut app.instances[ii];
    if !inst.running() {
        return;
    }
    if let Some(t) = &inst.transport {
        let _ = t.signal_process(Signal::SIGTERM);
    }
    inst.kill_at = Some(Instant::now() + grace);
    app.status = format!(
        "sent SIGTERM to {} (KILL in {} ms)",
        inst.name,
        grace.as_millis()
    );
}

/// Applies one event to its instance: panes, timeline, state.
pub fn on_event(app: &mut App, id: u64, at: Duration, event: ProcessEvent) {
    let Some(ii) = app.instances.iter().position(|i| i.id == id) else {
        return;
    };
    let inst = &mut app.instances[ii];
    inst.timeline.push(at, &event);
    match event {
        ProcessEvent::ConnectionMade { pid } => inst.pid = Some(pid),
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
            if app.quitting.is_some() {
                // A grandchild may hold a pipe: the console is leaving, let go of them.
                if let Some(t) = &inst.transport {
                    t.lose_connection();
                }
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
            app.status = format!("{} ended: {status}", inst.name);
            if inst.restart && app.quitting.is_none() {
                inst.restart = false;
                let ci = inst.command;
                let new = start(app, ci);
                select_instance(app, new);
            }
        }
    }
}

/// Moves the list's selection onto instance `ii`.
pub fn select_instance(app: &mut App, ii: usize) {
    if let Some(row) = app
        .rows()
        .iter()
        .position(|r| *r == super::model::Row::Instance(ii))
    {
        app.row = row;
    }
}

/// Timers: KILL after the grace period, delayed start signals. True if anything happened.
pub fn tick(app: &mut App, now: Instant) -> bool {
    let mut changed = false;
    for inst in &mut app.instances {
        let Some(t) = inst.transport.clone() else {
            continue;
        };
        if inst.kill_at.is_some_and(|at| at <= now) {
            inst.kill_at = None;
            let _ = t.signal_process(Signal::SIGKILL);
            changed = true;
        }
        let (due, later): (Vec<_>, Vec<_>) = inst
            .pending_signals
            .drain(..)
            .partition(|(at, _)| *at <= now);
        inst.pending_signals = later;
        for (_, sig) in due {
            let _ = t.signal_process(sig);
            changed = true;
        }
    }
    changed
}
