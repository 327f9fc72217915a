//! `update`: the only place that changes the state. Messages come in (child events, keys,
//! the mouse, signals, the answers of performed effects), keys become [`Action`]s through
//! the key table, actions are done. Pure: it takes the clock as an argument and returns
//! the [`Effect`]s to perform, so it runs in tests without a runtime or a child.

use super::action::{Action, Mode, SIGNALS};
use super::browse;
use super::effect::Effect;
use super::input;
use super::instance;
use super::keyenc;
use super::keys;
use super::layout;
use super::pane::{Body, PaneKind};
use super::state::{App, InspectView, Menu, Msg, PaneRef, RunState, Target, SAMPLE_EVERY};
use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};
use std::time::{Duration, Instant};

/// Applies one message as of `now`; returns what to do outside.
pub fn handle(app: &mut App, msg: Msg, now: Instant) -> Vec<Effect> {
    let mut fx = Vec::new();
    match msg {
        Msg::Child { id, at, event } => instance::on_event(app, id, at, event, now, &mut fx),
        Msg::Script { id, at, event } => super::script::on_event(app, id, at, event, now, &mut fx),
        Msg::Console(data) => app.procs.console.feed(&data),
        Msg::Term(Event::Key(key)) if key.kind != KeyEventKind::Release => {
            on_key(app, key, now, &mut fx)
        }
        Msg::Term(Event::Mouse(mouse)) => on_mouse(app, mouse, now, &mut fx),
        Msg::Term(Event::Paste(text)) => on_paste(app, &text, now, &mut fx),
        Msg::Term(Event::Resize(cols, rows)) => app.view.screen = Rect::new(0, 0, cols, rows),
        Msg::Term(_) => {}
        Msg::Terminate => act_into(app, Action::Quit, now, &mut fx),
        Msg::Spawned { id, pid, started } => instance::on_spawned(app, id, pid, started, &mut fx),
        Msg::SpawnFailed { id, error } => instance::on_spawn_failed(app, id, error),
        Msg::Failed(text) | Msg::Done(text) => app.view.status = text,
        Msg::Inspected { id, report } => {
            if let Some(view) = app.view.inspect.as_mut().filter(|v| v.id == id) {
                view.report = report.map(|r| *r);
            }
        }
        Msg::Usage(samples) => {
            for (id, usage) in samples {
                if let Some(ii) = app.index_of(id) {
                    app.procs.instances[ii].usage = usage;
                }
            }
        }
    }
    check_quit(app);
    fx
}

/// Does one action as of `now`; returns what to do outside.
pub fn act(app: &mut App, action: Action, now: Instant) -> Vec<Effect> {
    let mut fx = Vec::new();
    act_into(app, action, now, &mut fx);
    check_quit(app);
    fx
}

/// How far a scrolling action moves the help overlay, when it is open.
fn help_step(action: Action) -> Option<i32> {
    match action {
        Action::Up => Some(-1),
        Action::Down => Some(1),
        Action::PageUp => Some(-10),
        Action::PageDown => Some(10),
        _ => None,
    }
}

/// Reads a key according to the mode: the key table first; what it does not bind is text
/// for the line being edited, or bytes for the pty.
fn on_key(app: &mut App, key: KeyEvent, now: Instant, fx: &mut Vec<Effect>) {
    let mode = app.view.mode;
    if let Some(action) = keys::lookup(mode, key) {
        return act_into(app, action, now, fx);
    }
    match mode {
        Mode::Pty => send_key_to_pty(app, key, false, now, fx),
        Mode::PtyChord => {
            // Ctrl-A then anything else: the child gets the Ctrl-A, then the key.
            app.view.mode = Mode::Pty;
            let leader_again = keys::lookup(Mode::Pty, key) == Some(Action::ChordLeader);
            send_key_to_pty(app, key, !leader_again, now, fx);
        }
        Mode::Input => {
            app.editors.history_pos = None;
            app.editors.input.input(key);
        }
        Mode::Search => {
            if let KeyCode::Char(c) = key.code {
                app.editors.search.push(c);
            }
        }
        _ => {}
    }
}

/// Sends a key to the pty as a terminal would encode it, after a Ctrl-A when `after_leader`
/// (the chord leader followed by a key that is not Esc).
fn send_key_to_pty(
    app: &mut App,
    key: KeyEvent,
    after_leader: bool,
    now: Instant,
    fx: &mut Vec<Effect>,
) {
    let app_cursor = pty_pane(app).is_some_and(|p| match &app.pane(p).body {
        Body::Term(emulator) => emulator.screen().application_cursor(),
        Body::Log(_) => false,
    });
    let mut bytes = Vec::new();
    if after_leader {
        bytes.push(0x01);
    }
    bytes.extend(keyenc::encode(key, app_cursor));
    input::send_to(app, Target::Fd(0), &bytes, false, now, fx);
}

fn on_paste(app: &mut App, text: &str, now: Instant, fx: &mut Vec<Effect>) {
    match app.view.mode {
        Mode::Input => {
            app.editors
                .input
                .insert_str(text.replace(['\r', '\n'], " "));
        }
        Mode::Pty | Mode::PtyChord => {
            let bracketed = pty_pane(app).is_some_and(|p| match &app.pane(p).body {
                Body::Term(emulator) => emulator.screen().bracketed_paste(),
                Body::Log(_) => false,
            });
            let data = if bracketed {
                format!("\x1b[200~{text}\x1b[201~")
            } else {
                text.to_string()
            };
            input::send_to(app, Target::Fd(0), data.as_bytes(), false, now, fx);
        }
        Mode::Search => app.editors.search.push_str(text),
        _ => {}
    }
}

fn on_mouse(app: &mut App, mouse: MouseEvent, now: Instant, fx: &mut Vec<Effect>) {
    let at = Position::new(mouse.column, mouse.row);
    let panes = layout::pane_rects(app);
    let under = panes.iter().position(|(_, r)| r.contains(at));
    match mouse.kind {
        MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
            if let Some(i) = under {
                // The wheel scrolls the pane under it, focused or not: the focus moves there
                // for the scroll and back.
                let focus = std::mem::replace(&mut app.view.focus, i);
                let lines = if mouse.kind == MouseEventKind::ScrollUp {
                    3
                } else {
                    -3
                };
                act_into(app, Action::Scroll(lines), now, fx);
                app.view.focus = focus;
            }
        }
        MouseEventKind::Down(MouseButton::Left) => {
            if let Some(i) = under {
                app.view.focus = i;
            } else {
                let areas = layout::areas(app.view.screen, &[], None, app.view.show_timeline);
                if areas.list.contains(at) && at.y > areas.list.y {
                    let row = (at.y - areas.list.y - 1) as usize;
                    if row < app.rows().len() {
                        app.view.row = row;
                        app.view.focus = 0;
                    }
                }
            }
        }
        _ => {}
    }
}

/// The pty pane of the selected instance.
pub fn pty_pane(app: &App) -> Option<PaneRef> {
    app.visible_panes()
        .into_iter()
        .find(|p| app.pane(*p).kind == PaneKind::Pty)
}

fn act_into(app: &mut App, action: Action, now: Instant, fx: &mut Vec<Effect>) {
    if app.view.mode == Mode::Help {
        if let Some(by) = help_step(action) {
            let most = keys::help_rows().len() as i32;
            app.view.help_scroll = (i32::from(app.view.help_scroll) + by).clamp(0, most) as u16;
            return;
        }
    }
    use Action::*;
    match action {
        Start | Restart | Stop | SignalMenu | CloseMenu | LoseConnection | CloseFd(_)
        | Signal(_) | Dismiss | SaveTranscript | Inspect | Quit => {
            on_instance(app, action, now, fx)
        }
        FocusInput | Send | SendRaw | CloseTarget | NextTarget | PrevTarget | HistoryPrev
        | HistoryNext => on_input(app, action, now, fx),
        MenuUp | MenuDown | MenuChoose => on_menu(app, action, now, fx),
        _ => on_view(app, action, fx),
    }
}

/// Actions on the selected instance (or command): start, stop, signal, close, save.
fn on_instance(app: &mut App, action: Action, now: Instant, fx: &mut Vec<Effect>) {
    let selected = app.selected_instance();
    match action {
        Action::Start => match app.selected_command() {
            Some(ci) => {
                let ii = instance::start(app, ci, now, fx);
                instance::select_instance(app, ii);
                app.view.focus = 0;
            }
            None => app.view.status = "select a command to start it".into(),
        },
        Action::Restart => match selected {
            Some(ii) if app.procs.instances[ii].running() => {
                app.procs.instances[ii].restart = true;
                instance::stop(app, ii, now, fx);
            }
            Some(ii) => {
                let new = instance::start(app, app.procs.instances[ii].command, now, fx);
                instance::select_instance(app, new);
            }
            None => act_into(app, Action::Start, now, fx),
        },
        Action::Stop => with_instance(app, selected, |app, ii| instance::stop(app, ii, now, fx)),
        Action::SignalMenu => with_instance(app, selected, |app, _| {
            let items = SIGNALS
                .iter()
                .map(|s| {
                    let name = s.as_str().trim_start_matches("SIG").to_string();
                    (name, Action::Signal(*s))
                })
                .collect();
            open_menu(app, "send signal", items);
        }),
        Action::CloseMenu => with_instance(app, selected, |app, ii| {
            let mut items: Vec<(String, Action)> = app.procs.instances[ii]
                .panes
                .iter()
                .filter(|p| !p.closed)
                .map(|p| (p.title(), Action::CloseFd(p.fd)))
                .collect();
            items.push((
                "every pipe (lose_connection)".into(),
                Action::LoseConnection,
            ));
            open_menu(app, "close fd", items);
        }),
        Action::LoseConnection => with_live_instance(app, selected, |app, id| {
            fx.push(Effect::LoseConnection { id });
            app.view.status = "lose_connection: every pipe closed".into();
        }),
        Action::CloseFd(fd) => with_instance(app, selected, |app, ii| {
            input::close(app, ii, Target::Fd(fd), fx)
        }),
        Action::Signal(signal) => with_live_instance(app, selected, |app, id| {
            fx.push(Effect::Signal { id, signal });
            let name = &app.procs.instances[app.index_of(id).unwrap_or(0)].name;
            app.view.status = format!("sent {} to {name}", signal.as_str());
        }),
        Action::Dismiss => with_instance(app, selected, |app, ii| {
            if app.procs.instances[ii].finished() {
                app.procs.instances.remove(ii);
                app.view.row = app.view.row.min(app.rows().len() - 1);
            } else {
                app.view.status = "only ended instances can be removed".into();
            }
        }),
        Action::Inspect => with_live_instance(app, selected, |app, id| {
            app.view.inspect = Some(InspectView {
                id,
                report: None,
                scroll: 0,
            });
            app.view.mode = Mode::Inspect;
            fx.push(Effect::Inspect { id });
        }),
        Action::SaveTranscript => with_instance(app, selected, |app, ii| {
            instance::save_transcript(app, ii, fx)
        }),
        Action::Quit => instance::quit(app, now, fx),
        // The other groups' actions: see `act_into`.
        _ => {}
    }
}

/// The input line: focus, send, close the target, pick the target, history.
fn on_input(app: &mut App, action: Action, now: Instant, fx: &mut Vec<Effect>) {
    let selected = app.selected_instance();
    match action {
        Action::FocusInput => match app.target() {
            Some(_) => app.view.mode = Mode::Input,
            None => app.view.status = "no writable fd here".into(),
        },
        Action::Send | Action::SendRaw => input::send_line(app, action == Action::Send, now, fx),
        Action::CloseTarget => match (app.target(), selected) {
            (Some(target), Some(ii)) => input::close(app, ii, target, fx),
            (Some(Target::ConsoleStdin), None) => input::close_console_stdin(app, fx),
            _ => {}
        },
        Action::NextTarget | Action::PrevTarget => {
            if let Some(ii) = selected {
                let targets = app.procs.instances[ii].writable();
                let current = app.target();
                if let Some(pos) = targets.iter().position(|t| Some(*t) == current) {
                    let n = targets.len();
                    let next = if action == Action::NextTarget {
                        pos + 1
                    } else {
                        pos + n - 1
                    };
                    app.procs.instances[ii].target = targets[next % n];
                }
            }
        }
        Action::HistoryPrev | Action::HistoryNext => {
            input::recall(&mut app.editors, action == Action::HistoryPrev)
        }
        // The other groups' actions: see `act_into`.
        _ => {}
    }
}

/// The open menu: move, choose.
fn on_menu(app: &mut App, action: Action, now: Instant, fx: &mut Vec<Effect>) {
    match action {
        Action::MenuUp | Action::MenuDown => {
            if let Some(menu) = &mut app.view.menu {
                let n = menu.items.len();
                menu.cursor = if action == Action::MenuUp {
                    (menu.cursor + n - 1) % n
                } else {
                    (menu.cursor + 1) % n
                };
            }
        }
        Action::MenuChoose => {
            if let Some(menu) = app.view.menu.take() {
                app.view.mode = Mode::Normal;
                act_into(app, menu.items[menu.cursor].1, now, fx);
            }
        }

        // The other groups' actions: see `act_into`.
        _ => {}
    }
}

/// What the screen shows: panes, zoom, timeline, scrolling, search, help.
fn on_view(app: &mut App, action: Action, fx: &mut Vec<Effect>) {
    match action {
        Action::Up | Action::Down => move_selection(app, action == Action::Up),
        Action::FocusPty => match pty_pane(app) {
            Some(_) => {
                app.view.mode = Mode::Pty;
                app.view.status = "pty focus: keys go to the child · Ctrl-A Esc to leave".into();
            }
            None => app.view.status = "this instance has no pty".into(),
        },
        Action::ChordLeader => app.view.mode = Mode::PtyChord,
        Action::LeavePty => {
            app.view.mode = Mode::Normal;
            app.view.status = "left the pty".into();
        }
        Action::NextPane | Action::PrevPane => {
            let n = app.visible_panes().len().max(1);
            let focus = app.view.focus;
            app.view.focus = if action == Action::NextPane {
                (focus + 1) % n
            } else {
                (focus + n - 1) % n
            };
        }
        Action::Zoom => app.view.zoom = !app.view.zoom,
        Action::ToggleTimeline => app.view.show_timeline = !app.view.show_timeline,
        Action::Scroll(lines) if app.view.mode == Mode::Inspect => {
            if let Some(view) = &mut app.view.inspect {
                view.scroll = view.scroll.saturating_add_signed(lines as i16);
            }
        }
        Action::ToggleLanes => {
            app.view.lanes = !app.view.lanes;
            app.view.show_timeline = true;
        }
        Action::ReplayStep
        | Action::ReplayPlay
        | Action::ReplayFaster
        | Action::ReplaySlower
        | Action::ReplayEnd => {
            app.view.status = "that key is for fdscope replay FILE".into();
        }
        Action::PageUp | Action::PageDown | Action::Top | Action::Bottom | Action::Scroll(_) => {
            scroll_focused(app, action)
        }
        Action::Search => {
            app.editors.search.clear();
            app.view.mode = Mode::Search;
        }
        Action::SearchDeleteChar => {
            app.editors.search.pop();
        }
        Action::SearchConfirm => {
            app.view.mode = Mode::Normal;
            let term = app.editors.search.clone();
            browse::search(app, Some(term), true);
        }
        Action::SearchNext => browse::search(app, None, true),
        Action::SearchPrev => browse::search(app, None, false),
        Action::Copy => browse::copy(app, fx),
        Action::Clear => {
            if let Some(p) = app.focused_pane() {
                app.pane_mut(p).clear();
            }
        }
        Action::ToggleHex => {
            if let Some(p) = app.focused_pane() {
                let pane = app.pane_mut(p);
                pane.hex = !pane.hex;
                pane.scroll = 0;
            }
        }
        Action::ToggleMouse => {
            app.view.mouse = !app.view.mouse;
            fx.push(Effect::Mouse(app.view.mouse));
            app.view.status = if app.view.mouse {
                "mouse captured: wheel scrolls panes".into()
            } else {
                "mouse released: select text with the terminal".into()
            };
        }
        Action::Help => {
            app.view.mode = Mode::Help;
            app.view.help_scroll = 0;
        }
        Action::Back => {
            app.view.mode = Mode::Normal;
            app.view.menu = None;
            app.view.inspect = None;
        }
        // The other groups' actions: see `act_into`.
        _ => {}
    }
}

fn move_selection(app: &mut App, up: bool) {
    let len = app.rows().len();
    app.view.row = if up {
        app.view.row.saturating_sub(1)
    } else {
        (app.view.row + 1).min(len - 1)
    };
    app.view.focus = 0;
    app.view.zoom = false;
}

/// Scrolls the focused pane: a page (its height), to either end, or by lines.
fn scroll_focused(app: &mut App, action: Action) {
    let Some(p) = app.focused_pane() else {
        return;
    };
    let page = layout::pane_rects(app)
        .iter()
        .find(|(r, _)| *r == p)
        .map_or(10, |(_, rect)| rect.height.saturating_sub(3).max(1) as i32);
    let lines = match action {
        Action::PageUp => page,
        Action::PageDown => -page,
        Action::Top => i32::MAX / 2,
        Action::Bottom => i32::MIN / 2,
        Action::Scroll(n) => n,
        _ => 0,
    };
    browse::scroll(app, p, lines);
}

fn with_instance(app: &mut App, ii: Option<usize>, f: impl FnOnce(&mut App, usize)) {
    match ii {
        Some(ii) => f(app, ii),
        None => app.view.status = "select an instance first".into(),
    }
}

/// Like [`with_instance`], for an instance that has a process (not a failed spawn).
fn with_live_instance(app: &mut App, ii: Option<usize>, f: impl FnOnce(&mut App, u64)) {
    with_instance(app, ii, |app, ii| {
        let inst = &app.procs.instances[ii];
        if inst.pid.is_some() {
            let id = inst.id;
            f(app, id)
        }
    })
}

fn open_menu(app: &mut App, title: &str, items: Vec<(String, Action)>) {
    app.view.menu = Some(Menu {
        title: title.into(),
        items,
        cursor: 0,
    });
    app.view.mode = Mode::Menu;
}

/// Timers (KILL after grace, delayed signals, the quit deadline) as of `now`: whether the
/// screen should be redrawn, and what to do outside.
pub fn tick(app: &mut App, now: Instant) -> (bool, Vec<Effect>) {
    let mut fx = Vec::new();
    let mut changed = instance::tick(app, now, &mut fx);
    changed |= sample(app, now, &mut fx);
    if app.quitting.is_some_and(|deadline| now >= deadline) {
        app.done = true;
    }
    check_quit(app);
    (changed, fx)
}

/// Every [`SAMPLE_EVERY`]: CPU % and RSS of the running instances, and the open inspector.
/// Whether anything was asked for (the screen will change when the answers come).
fn sample(app: &mut App, now: Instant, fx: &mut Vec<Effect>) -> bool {
    if app.view.next_sample.is_some_and(|at| now < at) {
        return false;
    }
    let running: Vec<u64> = app
        .procs
        .instances
        .iter()
        .filter(|i| i.running() && i.pid.is_some())
        .map(|i| i.id)
        .collect();
    // Instances that stopped running lose their figures (the list shows them no more).
    for inst in app.procs.instances.iter_mut().filter(|i| !i.running()) {
        inst.usage = None;
    }
    let inspecting = app.view.inspect.as_ref().map(|v| v.id);
    if running.is_empty() && inspecting.is_none() {
        app.view.next_sample = None;
        return false;
    }
    app.view.next_sample = Some(now + SAMPLE_EVERY);
    fx.push(Effect::SampleUsage(running));
    if let Some(id) = inspecting {
        fx.push(Effect::Inspect { id });
    }
    true
}

/// Ends the loop once quitting and every child has ended.
fn check_quit(app: &mut App) {
    if app.quitting.is_some()
        && app
            .procs
            .instances
            .iter()
            .all(|i| !matches!(i.state, RunState::Running | RunState::Exited(_)))
    {
        app.done = true;
    }
}

/// Resize marks kept per instance (older ones scroll out of the timeline anyway).
const MAX_RESIZE_MARKS: usize = 64;

/// Resizes the selected instance's pty to its pane (after a resize, zoom, timeline toggle).
pub fn sync_pty_size(app: &mut App) -> Vec<Effect> {
    let mut fx = Vec::new();
    for (p, rect) in layout::pane_rects(app) {
        if let PaneRef::Instance(ii, pi) = p {
            if rect.width == 0 || rect.height == 0 {
                continue;
            }
            let (rows, cols) = layout::inner(rect);
            let inst = &mut app.procs.instances[ii];
            if inst.panes[pi].resize(rows, cols) && inst.running() && inst.pid.is_some() {
                let at = inst.timeline.len() as u64 + inst.timeline.dropped;
                inst.resizes.retain(|(pos, _, _)| *pos != at); // one mark per place
                inst.resizes.push((at, rows, cols));
                if inst.resizes.len() > MAX_RESIZE_MARKS {
                    inst.resizes.remove(0);
                }
                fx.push(Effect::Resize {
                    id: inst.id,
                    rows,
                    cols,
                });
            }
        }
    }
    fx
}

/// How long until the next timer is due (for the loop's sleep).
pub fn next_timer(app: &App, now: Instant) -> Option<Duration> {
    app.procs
        .instances
        .iter()
        .flat_map(|i| {
            i.kill_at
                .into_iter()
                .chain(i.pending_signals.iter().map(|(t, _)| *t))
        })
        .chain(app.quitting)
        .chain(app.view.next_sample)
        .min()
        .map(|t| t.saturating_duration_since(now))
}
