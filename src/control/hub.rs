//! Answers requests on the console's own state: the one implementation behind both
//! `fdscope --listen` and `fdscope serve` (which is the console's driver without a
//! screen). Every request that changes something is done the way a key does it: the
//! instance it names is selected for the moment and the console's [`Action`] is done
//! through [`Driver::act`] (a write goes through the input line's own `send_to`), so a
//! client's start, stop, signal, close and write show on the screen at once, exactly as if
//! typed. Queries (`list`, `output`, `wait`, `events`) read the same state.

use super::registry::Registry;
use super::request::{self, Request};
use super::server::{Call, Conn};
use crate::tui::action::{Action, Mode};
use crate::tui::effect::Effect;
use crate::tui::effects::Driver;
use crate::tui::pane::Body;
use crate::tui::state::{App, Row, RunState, Target};
use crate::tui::{browse, input, instance};
use crate::{ExitStatus, ProcessEvent};
use serde_json::json;
use std::time::Instant;

/// A client following events: of one instance, or of all (`None`).
struct Subscriber {
    conn: Conn,
    only: Option<u64>,
}

/// The server's side of the console: instance ids, event subscribers, pending waits.
#[derive(Default)]
pub struct Hub {
    registry: Registry,
    subscribers: Vec<Subscriber>,
    waiters: Vec<(u64, Conn)>,
    quitters: Vec<Conn>,
    /// CPU % of `inspect` replies: the change since this client-independent sampler's
    /// previous look at the same process.
    sampler: crate::inspect::Sampler,
}

/// The selection of the list, kept across a request so the user's view stays put.
struct Selection {
    row: Option<SavedRow>,
    focus: usize,
}

enum SavedRow {
    Console,
    Command(usize),
    Instance(u64),
}

impl Selection {
    fn save(app: &App) -> Selection {
        let row = match app.current_row() {
            Row::Console => SavedRow::Console,
            Row::Command(ci) => SavedRow::Command(ci),
            Row::Instance(ii) => SavedRow::Instance(app.procs.instances[ii].id),
        };
        Selection {
            row: Some(row),
            focus: app.view.focus,
        }
    }

    fn restore(self, app: &mut App) {
        let want = match self.row {
            Some(SavedRow::Console) => Some(Row::Console),
            Some(SavedRow::Command(ci)) => Some(Row::Command(ci)),
            Some(SavedRow::Instance(id)) => app.index_of(id).map(Row::Instance),
            None => None,
        };
        let rows = app.rows();
        if let Some(row) = want.and_then(|w| rows.iter().position(|r| *r == w)) {
            app.view.row = row;
            app.view.focus = self.focus;
        } else {
            app.view.row = app.view.row.min(rows.len() - 1);
        }
    }
}

/// `{"kind":…,"exit_code":…,"signal":…}`, as in the transcript.
fn status_json(status: ExitStatus) -> serde_json::Value {
    json!({
        "kind": if status.success() { "done" } else { "terminated" },
        "exit_code": status.exit_code(),
        "signal": status.signal(),
    })
}

/// The text a pane holds: a pipe's lines, or a terminal's scrollback and screen.
fn pane_text(body: &mut Body) -> String {
    let mut lines: Vec<String> = match body {
        Body::Log(log) => (0..log.lines.len())
            .filter_map(|i| log.lines.line(i).map(|l| l.text().to_string()))
            .collect(),
        Body::Term(emulator) => browse::term_lines(emulator.screen_mut())
            .into_iter()
            .map(|l| l.trim_end().to_string())
            .collect(),
    };
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    text
}

impl Hub {
    /// A hub with no client yet.
    pub fn new() -> Hub {
        Hub::default()
    }

    /// `NAME#K` of the instance at index `ii`.
    fn label(&mut self, app: &App, ii: usize) -> String {
        self.registry.sync(app);
        let inst = &app.procs.instances[ii];
        self.registry
            .label(inst.id)
            .unwrap_or_else(|| format!("{}#?", inst.name))
    }

    /// Answers one request (a `wait` and `events` answer later, from [`Hub::flush`]).
    pub fn call(&mut self, driver: &mut Driver, call: Call) {
        let Call { request, conn } = call;
        let reply = match request {
            Ok(request) => self.answer(driver, request, &conn),
            Err(message) => Some(request::error(message)),
        };
        if let Some(line) = reply {
            conn.send(line);
        }
        self.sync_tap(driver);
    }

    /// Records child events for subscribers only while there are any.
    fn sync_tap(&mut self, driver: &mut Driver) {
        self.subscribers.retain(|s| !s.conn.is_closed());
        if self.subscribers.is_empty() {
            driver.tap = None;
        } else if driver.tap.is_none() {
            driver.tap = Some(Vec::new());
        }
    }

    /// The reply to `request`, or `None` when it comes later.
    fn answer(&mut self, driver: &mut Driver, request: Request, conn: &Conn) -> Option<String> {
        let result = match request {
            Request::List => Ok(self.list(&driver.app)),
            Request::Start { name } => self.start(driver, &name),
            Request::Stop { id } => self.resolve_running(&driver.app, &id).map(|ii| {
                on_instance(driver, ii, Action::Stop);
                json!({})
            }),
            Request::Signal { id, signal } => {
                match crate::spawn::parse_signal(&signal)
                    .ok_or_else(|| format!("unknown signal {signal:?}"))
                {
                    Ok(sig) => self.resolve_running(&driver.app, &id).map(|ii| {
                        on_instance(driver, ii, Action::Signal(sig));
                        json!({})
                    }),
                    Err(e) => Err(e),
                }
            }
            Request::Write { id, fd, text } => self.write(driver, &id, fd, &text),
            Request::Close { id, fd } => self.close_fd(driver, &id, fd),
            Request::Resize { id, rows, cols } => self.resize(driver, &id, rows, cols),
            Request::Output { id, fd } => self.output(driver, &id, fd),
            Request::Events { id } => return self.subscribe(&driver.app, id, conn),
            Request::Wait { id } => match self.registry.resolve(&driver.app, &id) {
                Ok(ii) => {
                    let inst_id = driver.app.procs.instances[ii].id;
                    self.waiters.push((inst_id, conn.clone()));
                    self.flush_waiters(&driver.app);
                    return None;
                }
                Err(e) => Err(e),
            },
            Request::Inspect { id } => self.registry.resolve(&driver.app, &id).and_then(|ii| {
                let inst_id = driver.app.procs.instances[ii].id;
                let transport = driver
                    .performer
                    .transport(inst_id)
                    .ok_or_else(|| format!("{id} has no process (it never started)"))?;
                let report = self
                    .sampler
                    .inspect(&crate::inspect::ChildInfo::of(transport));
                serde_json::to_value(report)
                    .map(|report| json!({ "inspect": report }))
                    .map_err(|e| e.to_string())
            }),
            Request::Quit => {
                driver.act(Action::Quit);
                self.quitters.push(conn.clone());
                Ok(json!({}))
            }
        };
        Some(match result {
            Ok(fields) => request::ok(fields),
            Err(message) => request::error(message),
        })
    }

    fn list(&mut self, app: &App) -> serde_json::Value {
        self.registry.sync(app);
        let commands: Vec<_> = app
            .procs
            .commands
            .iter()
            .map(|c| json!({ "name": c.name, "description": c.description }))
            .collect();
        let instances: Vec<_> = app
            .procs
            .instances
            .iter()
            .map(|inst| {
                let (state, status, error) = match &inst.state {
                    RunState::Running => ("running", None, None),
                    RunState::Exited(s) => ("exited", Some(status_json(*s)), None),
                    RunState::Ended(s) => ("ended", Some(status_json(*s)), None),
                    RunState::Failed(e) => ("failed", None, Some(e.clone())),
                    RunState::Waiting(why) => ("waiting", None, Some(why.clone())),
                };
                let mut value = json!({
                    "id": self.registry.label(inst.id),
                    "name": inst.name,
                    "state": state,
                    "pid": inst.pid,
                    "status": status,
                });
                if let Some(error) = error {
                    value["error"] = error.into();
                }
                value
            })
            .collect();
        json!({ "commands": commands, "instances": instances })
    }

    /// The instance `id` names, if it has a process that has not been reaped.
    fn resolve_running(&mut self, app: &App, id: &str) -> Result<usize, String> {
        let ii = self.registry.resolve(app, id)?;
        let inst = &app.procs.instances[ii];
        if inst.pid.is_none() || !inst.running() {
            let label = self.label(app, ii);
            return Err(format!("{label} is not running"));
        }
        Ok(ii)
    }

    /// Starts command `name` as the Enter key does on its row.
    fn start(&mut self, driver: &mut Driver, name: &str) -> Result<serde_json::Value, String> {
        let app = &mut driver.app;
        let ci = app
            .procs
            .commands
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| format!("no command named {name:?}"))?;
        // Like a key: the new instance is shown, unless the user is busy typing.
        let follow = app.view.mode == Mode::Normal;
        let keep = Selection::save(app);
        if let Some(row) = app.rows().iter().position(|r| *r == Row::Command(ci)) {
            app.view.row = row;
        }
        driver.act(Action::Start);
        if !follow {
            keep.restore(&mut driver.app);
        }
        let app = &driver.app;
        let ii = app
            .procs
            .instances
            .iter()
            .rposition(|i| i.command == ci)
            .ok_or_else(|| format!("{name} did not start"))?;
        let label = self.label(app, ii);
        match &app.procs.instances[ii].state {
            RunState::Failed(error) => Err(format!("{label}: {error}")),
            _ => Ok(json!({ "id": label, "pid": app.procs.instances[ii].pid })),
        }
    }

    fn write(
        &mut self,
        driver: &mut Driver,
        id: &str,
        fd: i32,
        text: &str,
    ) -> Result<serde_json::Value, String> {
        let ii = self.registry.resolve(&driver.app, id)?;
        let label = self.label(&driver.app, ii);
        let inst = &mut driver.app.procs.instances[ii];
        if inst.pid.is_none() || inst.finished() {
            return Err(format!("{label} has ended"));
        }
        if !inst.writable().contains(&Target::Fd(fd)) {
            let fds: Vec<String> = inst
                .writable()
                .iter()
                .filter_map(|t| match t {
                    Target::Fd(n) => Some(n.to_string()),
                    Target::ConsoleStdin => None,
                })
                .collect();
            return Err(format!(
                "{label} has no writable fd {fd} (writable: {})",
                if fds.is_empty() {
                    "none".to_string()
                } else {
                    fds.join(", ")
                }
            ));
        }
        if inst.pane_of(fd).is_some_and(|p| p.closed) {
            return Err(format!("fd {fd} of {label} is closed"));
        }
        let data = crate::escape::unescape(text);
        let now = Instant::now();
        let keep = Selection::save(&driver.app);
        instance::select_instance(&mut driver.app, ii);
        let mut fx = Vec::new();
        input::send_to(&mut driver.app, Target::Fd(fd), &data, true, now, &mut fx);
        keep.restore(&mut driver.app);
        driver.perform(fx, now);
        Ok(json!({ "bytes": data.len() }))
    }

    fn close_fd(
        &mut self,
        driver: &mut Driver,
        id: &str,
        fd: i32,
    ) -> Result<serde_json::Value, String> {
        let ii = self.registry.resolve(&driver.app, id)?;
        let label = self.label(&driver.app, ii);
        let inst = &mut driver.app.procs.instances[ii];
        if inst.pid.is_none() || inst.finished() {
            return Err(format!("{label} has ended"));
        }
        let on_pty = inst.pty && (0..=2).contains(&fd);
        match inst.pane_of(fd) {
            None => return Err(format!("{label} has no pipe on fd {fd}")),
            Some(p) if p.closed && !on_pty => {
                return Err(format!("fd {fd} of {label} is already closed"))
            }
            Some(_) => {}
        }
        on_instance(driver, ii, Action::CloseFd(fd));
        Ok(json!({}))
    }

    fn resize(
        &mut self,
        driver: &mut Driver,
        id: &str,
        rows: u16,
        cols: u16,
    ) -> Result<serde_json::Value, String> {
        let ii = self.resolve_running(&driver.app, id)?;
        let label = self.label(&driver.app, ii);
        if !(1..=1000).contains(&rows) || !(1..=1000).contains(&cols) {
            return Err(format!("bad size {rows}x{cols} (1 to 1000 each)"));
        }
        let inst = &mut driver.app.procs.instances[ii];
        if !inst.pty {
            return Err(format!("{label} has no pty"));
        }
        if let Some(pane) = inst.pane_of(0) {
            pane.resize(rows, cols);
        }
        let effect = Effect::Resize {
            id: inst.id,
            rows,
            cols,
        };
        driver.perform(vec![effect], Instant::now());
        Ok(json!({}))
    }

    fn output(
        &mut self,
        driver: &mut Driver,
        id: &str,
        fd: i32,
    ) -> Result<serde_json::Value, String> {
        let ii = self.registry.resolve(&driver.app, id)?;
        let label = self.label(&driver.app, ii);
        let inst = &mut driver.app.procs.instances[ii];
        let pane = inst
            .pane_of(fd)
            .ok_or_else(|| format!("{label} has no pane for fd {fd}"))?;
        Ok(json!({ "text": pane_text(&mut pane.body) }))
    }

    fn subscribe(&mut self, app: &App, id: Option<String>, conn: &Conn) -> Option<String> {
        let only = match id {
            None => None,
            Some(id) => match self.registry.resolve(app, &id) {
                Ok(ii) => Some(ii),
                Err(e) => return Some(request::error(e)),
            },
        };
        let Some(ii) = only else {
            conn.send(request::ok(json!({ "events": "all" })));
            self.subscribers.push(Subscriber {
                conn: conn.clone(),
                only: None,
            });
            return None;
        };
        let label = self.label(app, ii);
        let inst = &app.procs.instances[ii];
        conn.send(request::ok(json!({ "events": label })));
        if inst.finished() {
            conn.end(); // nothing more will happen to it
        } else {
            self.subscribers.push(Subscriber {
                conn: conn.clone(),
                only: Some(inst.id),
            });
        }
        None
    }

    /// Sends the events recorded since the last call to their subscribers, and the replies
    /// of waits whose instance has ended. Call after every turn of the loop.
    pub fn flush(&mut self, driver: &mut Driver) {
        if let Some(tap) = driver.tap.as_mut() {
            let events = std::mem::take(tap);
            if !events.is_empty() {
                self.registry.sync(&driver.app);
            }
            for (id, at, event) in events {
                self.publish(id, at, &event);
            }
        }
        self.flush_waiters(&driver.app);
        self.quitters.retain(|c| !c.is_closed());
        self.sync_tap(driver);
    }

    fn publish(&mut self, id: u64, at: std::time::Duration, event: &ProcessEvent) {
        let Some((name, k)) = self.registry.number(id) else {
            return;
        };
        let name = name.to_string();
        let mut line = None;
        let ended = matches!(event, ProcessEvent::ProcessEnded { .. });
        self.subscribers.retain(|s| {
            if s.only.is_some_and(|only| only != id) {
                return true;
            }
            let line = line.get_or_insert_with(|| event_line(at, event, &name, k));
            if !s.conn.send(line.clone()) {
                return false;
            }
            if ended && s.only.is_some() {
                s.conn.end();
                return false;
            }
            true
        });
    }

    fn flush_waiters(&mut self, app: &App) {
        let mut still = Vec::new();
        for (id, conn) in std::mem::take(&mut self.waiters) {
            let Some(ii) = app.index_of(id) else {
                conn.send(request::error("the instance was removed"));
                continue;
            };
            let inst = &app.procs.instances[ii];
            let label = self.registry.label(id).unwrap_or_default();
            let reply = match &inst.state {
                RunState::Ended(status) => request::ok(json!({
                    "id": label,
                    "status": status_json(*status),
                    "exit_code": status.shell_code(),
                })),
                RunState::Failed(error) => request::ok(json!({
                    "id": label,
                    "spawn_error": error,
                    "exit_code": 127,
                })),
                _ => {
                    if !conn.is_closed() {
                        still.push((id, conn));
                    }
                    continue;
                }
            };
            conn.send(reply);
        }
        self.waiters = still;
    }

    /// The server is going away: followers and waiters are told, queued lines are flushed
    /// by the writers, and every client is let go.
    pub fn close(&mut self) {
        for s in self.subscribers.drain(..) {
            s.conn.end();
        }
        for (_, conn) in self.waiters.drain(..) {
            conn.send(request::error(
                "the server stopped before the instance ended",
            ));
            conn.end();
        }
        for conn in self.quitters.drain(..) {
            conn.end();
        }
    }
}

/// One event line: the transcript line of `run --json` with `name`, and `instance` (K of
/// `NAME#K`), as every transcript writes it (so `replay` reads `ctl events` back).
pub fn event_line(at: std::time::Duration, event: &ProcessEvent, name: &str, k: u32) -> String {
    let mut line = crate::transcript::TranscriptLine::of_process(at, event, Some(name), true);
    line.instance = Some(u64::from(k));
    line.to_json()
}

/// Does `action` on instance `ii` as a key would with it selected; the user's selection
/// is put back after.
fn on_instance(driver: &mut Driver, ii: usize, action: Action) {
    let keep = Selection::save(&driver.app);
    instance::select_instance(&mut driver.app, ii);
    driver.act(action);
    keep.restore(&mut driver.app);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lines_are_run_json_lines_plus_the_instance() {
        let event = ProcessEvent::ConnectionMade { pid: 42 };
        let at = std::time::Duration::from_micros(80);
        assert_eq!(
            event_line(at, &event, "bc", 2),
            r#"{"t_ms":0.08,"event":"connection_made","name":"bc","instance":2,"pid":42}"#
        );
    }
}
