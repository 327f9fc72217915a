//! The longer actions of `update`: writing to fds, closing them, scrolling, searching,
//! copying, saving the transcript, quitting.

use super::layout;
use super::model::{App, PaneRef};
use super::pane::{Body, PaneKind};
use crate::Signal;
use base64::Engine;
use ratatui::layout::Rect;
use std::io::Write;
use std::time::{Duration, Instant};

/// The signal menu, in this order.
pub const SIGNALS: [Signal; 9] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGKILL,
    Signal::SIGSTOP,
    Signal::SIGCONT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

/// The visible panes and where they are on the screen.
pub fn pane_rects(app: &App) -> Vec<(PaneRef, Rect)> {
    let panes = app.visible_panes();
    let kinds: Vec<PaneKind> = panes.iter().map(|p| app.pane(*p).kind).collect();
    let zoom = app
        .zoom
        .then_some(app.pane.min(panes.len().saturating_sub(1)));
    let areas = layout::areas(app.screen, &kinds, zoom, app.show_timeline);
    panes.into_iter().zip(areas.panes).collect()
}

/// Writes `data` to fd `fd` of the selected instance (-1: the console's stdin pipe);
/// `note` records it in the fd's pane.
pub fn send_to(app: &mut App, fd: i32, data: &[u8], note: bool) -> bool {
    if fd == -1 {
        let result = match &mut app.console_in {
            Some(file) => file.write(data).map(|_| ()),
            None => Err(std::io::Error::other("the console's stdin is closed")),
        };
        return match result {
            Ok(()) => {
                if note {
                    app.console.note(
                        &format!("→ {}", crate::escape::escape(data)),
                        ratatui::style::Style::default()
                            .add_modifier(ratatui::style::Modifier::DIM),
                    );
                }
                true
            }
            Err(e) => {
                app.status = format!("console stdin: {e}");
                false
            }
        };
    }
    let Some(ii) = app.selected_instance() else {
        return false;
    };
    let inst = &mut app.instances[ii];
    let Some(transport) = inst.transport.clone() else {
        return false;
    };
    match transport.write_to_child(fd, data.to_vec()) {
        Ok(()) => {
            if note {
                let at = inst.started.elapsed();
                if let Some(pane) = inst.pane_of(fd).filter(|p| p.kind == PaneKind::Write) {
                    pane.note_sent(at, data);
                }
            }
            true
        }
        Err(e) => {
            app.status = format!("fd {fd}: {e}");
            false
        }
    }
}

/// Sends the input line (unescaped; plus `\n` when `newline`) to the target fd.
pub fn send_line(app: &mut App, newline: bool) {
    let Some(fd) = app.target() else {
        app.status = "no writable fd here".into();
        return;
    };
    let text = app.input.lines().join("");
    let mut data = crate::escape::unescape(&text);
    if newline {
        data.push(b'\n');
    }
    if send_to(app, fd, &data, true) {
        if !text.is_empty() && app.history.last() != Some(&text) {
            app.history.push(text);
        }
        app.history_pos = None;
        app.input = App::fresh_input();
    }
}

/// Recalls the previous (`older`) or next line from history into the input line.
pub fn recall(app: &mut App, older: bool) {
    if app.history.is_empty() {
        return;
    }
    let last = app.history.len() - 1;
    let pos = match (app.history_pos, older) {
        (None, true) => Some(last),
        (None, false) => None,
        (Some(p), true) => Some(p.saturating_sub(1)),
        (Some(p), false) if p < last => Some(p + 1),
        (Some(_), false) => None,
    };
    app.history_pos = pos;
    app.input = App::fresh_input();
    if let Some(p) = pos {
        app.input.insert_str(&app.history[p]);
    }
}

/// Closes child fd `fd` of instance `ii` (a read pipe too: the child's next write gets SIGPIPE).
pub fn close_fd(app: &mut App, ii: usize, fd: i32) {
    let inst = &mut app.instances[ii];
    if fd == -1 {
        return close_fd_console(app);
    }
    let Some(t) = inst.transport.clone() else {
        return;
    };
    app.status = match t.close_child_fd(fd) {
        Ok(()) if t.is_pty() && fd == 0 => "sent EOF (Ctrl-D) to the pty".into(),
        Ok(()) => format!("closing fd {fd} of {}", inst.name),
        Err(e) => format!("close fd {fd}: {e}"),
    };
}

/// Closes the console's stdin pipe: children that inherited fd 0 read EOF.
pub fn close_fd_console(app: &mut App) {
    app.console_in = None;
    app.console.note(
        "── console stdin closed ──",
        ratatui::style::Style::default(),
    );
    app.status = "closed the console's stdin".into();
}

/// Scrolls a pane by `lines` (positive: back in time), within what it holds.
pub fn scroll(app: &mut App, at: PaneRef, lines: i32) {
    let pane = app.pane_mut(at);
    match &mut pane.body {
        Body::Term(parser, _, _) if !pane.hex => {
            let want = (parser.screen().scrollback() as i64 + lines as i64).max(0) as usize;
            parser.screen_mut().set_scrollback(want);
            pane.scroll = parser.screen().scrollback();
        }
        body => {
            let max = if pane.hex {
                pane.raw.bytes.len().div_ceil(16)
            } else if let Body::Log(log) = body {
                log.log.len()
            } else {
                0
            };
            let want = (pane.scroll as i64 + lines as i64).clamp(0, max.saturating_sub(1) as i64);
            pane.scroll = want as usize;
        }
    }
}

/// Every line of a terminal pane, oldest first: its scrollback, then the screen.
/// (vt100 shows the scrollback a screenful at a time; the view is put back after.)
fn term_lines(parser: &mut vt100::Parser) -> Vec<String> {
    let screen = parser.screen_mut();
    let (rows, cols) = screen.size();
    let saved = screen.scrollback();
    screen.set_scrollback(usize::MAX);
    let max = screen.scrollback();
    let mut lines = Vec::with_capacity(max + rows as usize);
    let mut back = max;
    loop {
        // At `back` rows of scrollback the first visible row is line `max - back`.
        let first = max - back;
        for (i, row) in screen.rows(0, cols).enumerate() {
            if first + i == lines.len() {
                lines.push(row);
            }
        }
        if back == 0 {
            break;
        }
        back = back.saturating_sub(rows as usize);
        screen.set_scrollback(back);
    }
    screen.set_scrollback(saved);
    lines
}

/// Index of the nearest line at/before (`forward` false) or at/after `from` holding `needle`,
/// ignoring ASCII case.
fn find(lines: &[String], needle: &str, from: usize, forward: bool) -> Option<usize> {
    if needle.is_empty() || lines.is_empty() {
        return None;
    }
    let needle = needle.to_ascii_lowercase();
    let hit = |i: &usize| lines[*i].to_ascii_lowercase().contains(&needle);
    if forward {
        (from..lines.len()).find(hit)
    } else {
        (0..=from.min(lines.len() - 1)).rev().find(hit)
    }
}

/// Searches the focused pane (pipe or terminal, scrollback included): a new `term`, or
/// the next match older/newer than the last. The match is scrolled to the bottom row.
pub fn search(app: &mut App, term: Option<String>, older: bool) {
    let Some(at) = app.focused_pane() else {
        return;
    };
    let pane = app.pane_mut(at);
    let lines: Vec<String> = match &mut pane.body {
        Body::Log(log) => (0..log.log.len())
            .filter_map(|i| log.log.line(i).map(|l| l.text().to_string()))
            .collect(),
        Body::Term(parser, _, _) => term_lines(parser),
    };
    let len = lines.len();
    let (needle, from) = match term {
        Some(t) => (t, len.saturating_sub(1 + pane.scroll)),
        None => match (&pane.search, pane.hit) {
            (Some(t), Some(hit)) if older && hit > 0 => (t.clone(), hit - 1),
            (Some(t), Some(hit)) if !older => (t.clone(), hit + 1),
            (Some(t), None) => (t.clone(), len.saturating_sub(1)),
            _ => return,
        },
    };
    let hit = find(&lines, &needle, from, !older);
    pane.search = Some(needle.clone());
    pane.hit = hit;
    match hit {
        Some(line) => {
            pane.scroll = len - 1 - line;
            if let Body::Term(parser, _, _) = &mut pane.body {
                parser.screen_mut().set_scrollback(len - 1 - line);
                pane.scroll = parser.screen().scrollback();
            }
            app.status = format!("match at line {}", line + 1);
        }
        None => app.status = format!("no more matches for {needle:?}"),
    }
}

/// Copies the focused pane's visible text to the clipboard through OSC 52.
pub fn copy(app: &mut App) {
    let Some(at) = app.focused_pane() else {
        return;
    };
    let height = pane_rects(app)
        .iter()
        .find(|(p, _)| *p == at)
        .map_or(20, |(_, r)| r.height.saturating_sub(2) as usize);
    let pane = app.pane(at);
    let text = match &pane.body {
        Body::Term(parser, _, _) => parser.screen().contents(),
        Body::Log(log) => {
            let end = log.log.len().saturating_sub(pane.scroll);
            let start = end.saturating_sub(height);
            (start..end)
                .filter_map(|i| log.log.line(i).map(|l| l.text().to_string()))
                .collect::<Vec<_>>()
                .join("\n")
        }
    };
    let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    app.outbox
        .push(format!("\x1b]52;c;{encoded}\x07").into_bytes());
    app.status = format!(
        "copied {} lines to the clipboard (OSC 52)",
        text.lines().count()
    );
}

/// Saves instance `ii`'s timeline to `fdscope-NAME-PID.jsonl` in the current directory.
pub fn save_transcript(app: &mut App, ii: usize) {
    let inst = &app.instances[ii];
    let path = std::path::PathBuf::from(format!(
        "fdscope-{}-{}.jsonl",
        inst.name,
        inst.pid.map_or(inst.id, u64::from)
    ));
    app.status = match inst.timeline.save(&path, &inst.name) {
        Ok(n) => format!("saved {n} events to {}", path.display()),
        Err(e) => format!("cannot save {}: {e}", path.display()),
    };
}

/// Starts leaving: TERM to every running child (and a hangup to pty children), KILL after
/// the grace period; the loop ends once all have ended, or shortly after the KILL.
pub fn quit(app: &mut App) {
    let grace = Duration::from_millis(app.settings.stop_grace_ms);
    let now = Instant::now();
    let mut stopping = 0;
    for inst in app.instances.iter_mut().filter(|i| i.running()) {
        if let Some(t) = &inst.transport {
            let _ = t.signal_process(Signal::SIGTERM);
            if t.is_pty() {
                t.lose_connection();
            }
            stopping += 1;
        }
        inst.kill_at = Some(now + grace);
    }
    for inst in app.instances.iter_mut() {
        if let (super::model::RunState::Exited(_), Some(t)) = (&inst.state, &inst.transport) {
            t.lose_connection();
        }
    }
    app.quitting = Some(now + grace + Duration::from_secs(2));
    app.status = format!("stopping {stopping} children…");
}
