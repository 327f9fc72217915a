//! `update`: the only place that changes the model. Messages come in (child events, keys,
//! the mouse, signals), keys become [`Action`]s through the key table, actions are done.

use super::action::{Action, Mode};
use super::instance;
use super::keyenc;
use super::keys;
use super::layout;
use super::model::{App, Menu, Msg, PaneRef, RunState};
use super::ops;
use super::pane::{Body, PaneKind};
use crossterm::event::{Event, KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use std::time::{Duration, Instant};

/// Applies one message.
pub fn handle(app: &mut App, msg: Msg) {
    match msg {
        Msg::Child { id, at, event } => instance::on_event(app, id, at, event),
        Msg::Console(data) => app.console.feed(&data),
        Msg::Term(Event::Key(key)) if key.kind != KeyEventKind::Release => on_key(app, key),
        Msg::Term(Event::Mouse(mouse)) => on_mouse(app, mouse),
        Msg::Term(Event::Paste(text)) => on_paste(app, &text),
        Msg::Term(Event::Resize(cols, rows)) => app.screen = Rect::new(0, 0, cols, rows),
        Msg::Term(_) => {}
        Msg::Terminate(_) => act(app, Action::Quit),
    }
    check_quit(app);
}

/// Reads a key according to the mode.
pub fn on_key(app: &mut App, key: KeyEvent) {
    match app.mode {
        Mode::Pty => pty_key(app, key),
        Mode::Help => act(app, Action::Back), // any key closes the help
        Mode::Input => match keys::lookup(Mode::Input, key) {
            Some(action) => act(app, action),
            None => {
                app.history_pos = None;
                app.input.input(key);
            }
        },
        Mode::Search => match keys::lookup(Mode::Search, key) {
            Some(action) => act(app, action),
            None => match key.code {
                crossterm::event::KeyCode::Char(c) => app.search.push(c),
                crossterm::event::KeyCode::Backspace => {
                    app.search.pop();
                }
                _ => {}
            },
        },
        mode => {
            if let Some(action) = keys::lookup(mode, key) {
                act(app, action);
            }
        }
    }
}

fn pty_key(app: &mut App, key: KeyEvent) {
    let chord = std::mem::take(&mut app.chord);
    let leader = keys::lookup(Mode::Pty, key) == Some(Action::ChordLeader);
    if !chord && leader {
        app.chord = true;
        return;
    }
    if chord && key.code == crossterm::event::KeyCode::Esc {
        app.mode = Mode::Normal;
        app.status = "left the pty".into();
        return;
    }
    let app_cursor = pty_pane(app).is_some_and(|p| match &app.pane(p).body {
        Body::Term(parser, _, _) => parser.screen().application_cursor(),
        Body::Log(_) => false,
    });
    let mut bytes = if chord && !leader {
        vec![0x01]
    } else {
        Vec::new()
    };
    bytes.extend(keyenc::encode(key, app_cursor));
    ops::send_to(app, 0, &bytes, false);
}

fn on_paste(app: &mut App, text: &str) {
    match app.mode {
        Mode::Input => {
            app.input.insert_str(text.replace(['\r', '\n'], " "));
        }
        Mode::Pty => {
            let bracketed = pty_pane(app).is_some_and(|p| match &app.pane(p).body {
                Body::Term(parser, _, _) => parser.screen().bracketed_paste(),
                Body::Log(_) => false,
            });
            let data = if bracketed {
                format!("\x1b[200~{text}\x1b[201~")
            } else {
                text.to_string()
            };
            ops::send_to(app, 0, data.as_bytes(), false);
        }
        Mode::Search => app.search.push_str(text),
        _ => {}
    }
}

fn on_mouse(app: &mut App, mouse: MouseEvent) {
    let at = Position::new(mouse.column, mouse.row);
    let panes = ops::pane_rects(app);
    let under = panes.iter().position(|(_, r)| r.contains(at));
    match mouse.kind {
        MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
            let lines = if mouse.kind == MouseEventKind::ScrollUp {
                3
            } else {
                -3
            };
            if let Some(i) = under {
                ops::scroll(app, panes[i].0, lines);
            }
        }
        MouseEventKind::Down(MouseButton::Left) => {
            if let Some(i) = under {
                app.pane = i;
            } else {
                let areas = layout::areas(app.screen, &[], None, app.show_timeline);
                if areas.list.contains(at) && at.y > areas.list.y {
                    let row = (at.y - areas.list.y - 1) as usize;
                    if row < app.rows().len() {
                        app.row = row;
                        app.pane = 0;
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

/// Does one action.
pub fn act(app: &mut App, action: Action) {
    let selected = app.selected_instance();
    match action {
        Action::Up | Action::Down => {
            let len = app.rows().len();
            app.row = if action == Action::Up {
                app.row.saturating_sub(1)
            } else {
                (app.row + 1).min(len - 1)
            };
            app.pane = 0;
            app.zoom = false;
        }
        Action::Start => match app.selected_command() {
            Some(ci) => {
                let ii = instance::start(app, ci);
                instance::select_instance(app, ii);
                app.pane = 0;
            }
            None => app.status = "select a command to start it".into(),
        },
        Action::Restart => match selected {
            Some(ii) if app.instances[ii].running() => {
                app.instances[ii].restart = true;
                instance::stop(app, ii);
            }
            Some(ii) => {
                let new = instance::start(app, app.instances[ii].command);
                instance::select_instance(app, new);
            }
            None => act(app, Action::Start),
        },
        Action::Stop => with_instance(app, selected, instance::stop),
        Action::SignalMenu => with_instance(app, selected, |app, _| {
            let items = ops::SIGNALS
                .iter()
                .map(|s| {
                    (
                        s.as_str().trim_start_matches("SIG").to_string(),
                        Action::Signal(*s),
                    )
                })
                .collect();
            open_menu(app, "send signal", items);
        }),
        Action::CloseMenu => with_instance(app, selected, |app, ii| {
            let inst = &app.instances[ii];
            let mut items: Vec<(String, Action)> = inst
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
        Action::LoseConnection => with_instance(app, selected, |app, ii| {
            if let Some(t) = &app.instances[ii].transport {
                t.lose_connection();
                app.status = "lose_connection: every pipe closed".into();
            }
        }),
        Action::CloseFd(fd) => with_instance(app, selected, |app, ii| ops::close_fd(app, ii, fd)),
        Action::Signal(sig) => with_instance(app, selected, |app, ii| {
            if let Some(t) = &app.instances[ii].transport {
                app.status = match t.signal_process(sig) {
                    Ok(()) => format!("sent {} to {}", sig.as_str(), app.instances[ii].name),
                    Err(e) => format!("{}: {e}", sig.as_str()),
                };
            }
        }),
        Action::Dismiss => with_instance(app, selected, |app, ii| {
            if matches!(
                app.instances[ii].state,
                RunState::Ended(_) | RunState::Failed(_)
            ) {
                app.instances.remove(ii);
                app.row = app.row.min(app.rows().len() - 1);
            } else {
                app.status = "only ended instances can be removed".into();
            }
        }),
        Action::FocusInput => match app.target() {
            Some(_) => app.mode = Mode::Input,
            None => app.status = "no writable fd here".into(),
        },
        Action::FocusPty => match pty_pane(app) {
            Some(_) => {
                app.mode = Mode::Pty;
                app.status = "pty focus: keys go to the child · Ctrl-A Esc to leave".into();
            }
            None => app.status = "this instance has no pty".into(),
        },
        Action::NextPane | Action::PrevPane => {
            let n = app.visible_panes().len().max(1);
            app.pane = if action == Action::NextPane {
                (app.pane + 1) % n
            } else {
                (app.pane + n - 1) % n
            };
        }
        Action::Zoom => app.zoom = !app.zoom,
        Action::ToggleTimeline => app.show_timeline = !app.show_timeline,
        Action::PageUp | Action::PageDown | Action::Top | Action::Bottom | Action::Scroll(_) => {
            if let Some(p) = app.focused_pane() {
                let page = ops::pane_rects(app)
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
                ops::scroll(app, p, lines);
            }
        }
        Action::Search => {
            app.search.clear();
            app.mode = Mode::Search;
        }
        Action::SearchConfirm => {
            app.mode = Mode::Normal;
            let term = app.search.clone();
            ops::search(app, Some(term), true);
        }
        Action::SearchNext => ops::search(app, None, true),
        Action::SearchPrev => ops::search(app, None, false),
        Action::Copy => ops::copy(app),
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
        Action::SaveTranscript => with_instance(app, selected, ops::save_transcript),
        Action::ToggleMouse => {
            app.mouse = !app.mouse;
            app.status = if app.mouse {
                "mouse captured: wheel scrolls panes".into()
            } else {
                "mouse released: select text with the terminal".into()
            };
        }
        Action::Help => app.mode = Mode::Help,
        Action::Quit => ops::quit(app),
        Action::Back => {
            app.mode = Mode::Normal;
            app.menu = None;
        }
        Action::Send => ops::send_line(app, true),
        Action::SendRaw => ops::send_line(app, false),
        Action::CloseTarget => {
            if let Some(fd) = app.target() {
                match selected {
                    Some(ii) => ops::close_fd(app, ii, fd),
                    None => ops::close_fd_console(app),
                }
            }
        }
        Action::NextTarget | Action::PrevTarget => {
            if let Some(ii) = selected {
                let fds = app.instances[ii].writable();
                if let Some(pos) = app.target().and_then(|t| fds.iter().position(|f| *f == t)) {
                    let n = fds.len();
                    let next = if action == Action::NextTarget {
                        pos + 1
                    } else {
                        pos + n - 1
                    };
                    app.instances[ii].target = fds[next % n];
                }
            }
        }
        Action::HistoryPrev | Action::HistoryNext => {
            ops::recall(app, action == Action::HistoryPrev)
        }
        Action::MenuUp | Action::MenuDown => {
            if let Some(menu) = &mut app.menu {
                let n = menu.items.len();
                menu.cursor = if action == Action::MenuUp {
                    (menu.cursor + n - 1) % n
                } else {
                    (menu.cursor + 1) % n
                };
            }
        }
        Action::MenuChoose => {
            if let Some(menu) = app.menu.take() {
                app.mode = Mode::Normal;
                act(app, menu.items[menu.cursor].1);
            }
        }
        Action::ChordLeader => app.chord = true,
    }
}

fn with_instance(app: &mut App, ii: Option<usize>, f: impl FnOnce(&mut App, usize)) {
    match ii {
        Some(ii) => f(app, ii),
        None => app.status = "select an instance first".into(),
    }
}

fn open_menu(app: &mut App, title: &str, items: Vec<(String, Action)>) {
    app.menu = Some(Menu {
        title: title.into(),
        items,
        cursor: 0,
    });
    app.mode = Mode::Menu;
}

/// Timers (KILL after grace, delayed signals, the quit deadline). True if the screen
/// should be redrawn.
pub fn tick(app: &mut App, now: Instant) -> bool {
    let changed = instance::tick(app, now);
    if app.quitting.is_some_and(|deadline| now >= deadline) {
        app.done = true;
    }
    check_quit(app);
    changed
}

/// Ends the loop once quitting and every child has ended.
fn check_quit(app: &mut App) {
    if app.quitting.is_some()
        && app
            .instances
            .iter()
            .all(|i| !matches!(i.state, RunState::Running | RunState::Exited(_)))
    {
        app.done = true;
    }
}

/// Resizes the selected instance's pty to its pane (after a resize, zoom, timeline toggle).
pub fn sync_pty_size(app: &mut App) {
    for (p, rect) in ops::pane_rects(app) {
        if let PaneRef::Instance(ii, pi) = p {
            if rect.width == 0 || rect.height == 0 {
                continue;
            }
            let (rows, cols) = layout::inner(rect);
            let inst = &mut app.instances[ii];
            if inst.panes[pi].resize(rows, cols) && inst.running() {
                if let Some(t) = &inst.transport {
                    let _ = t.resize(rows, cols);
                }
            }
        }
    }
}

/// How long until the next timer is due (for the loop's sleep).
pub fn next_timer(app: &App, now: Instant) -> Option<Duration> {
    app.instances
        .iter()
        .flat_map(|i| {
            i.kill_at
                .into_iter()
                .chain(i.pending_signals.iter().map(|(t, _)| *t))
        })
        .chain(app.quitting)
        .min()
        .map(|t| t.saturating_duration_since(now))
}
