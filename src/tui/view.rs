//! `view`: draws the model. No I/O and no changes: the same model gives the same screen
//! (the clock is passed in).

use super::action::Mode;
use super::keys;
use super::layout::{self, Areas};
use super::pane::PaneKind;
use super::state::{App, Instance, Row, RunState, Target};
use super::view_overlay;
use super::view_pane;
use crate::spawn::signal_name;
use crate::transcript::TranscriptEvent;
use crate::wording;
use crate::{ExitStatus, ProcessEvent};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph};
use ratatui::Frame;
use std::time::{Duration, Instant};

const DIM: Style = Style::new().fg(Color::DarkGray);

/// Draws the whole console as of `now`.
pub fn draw(frame: &mut Frame, app: &App, now: Instant) {
    let (areas, panes) = layout::console_on(frame.area(), app);
    let focused = app.view.focus.min(panes.len().saturating_sub(1));
    draw_list(frame, app, areas.list, now);
    draw_header(frame, app, areas.header, now);
    for (i, (p, rect)) in panes.iter().zip(&areas.panes).enumerate() {
        let typing = matches!(app.view.mode, Mode::Pty | Mode::PtyChord)
            && app.pane(*p).kind == PaneKind::Pty;
        view_pane::draw(frame, app.pane(*p), *rect, i == focused, typing);
    }
    if panes.is_empty() {
        let text = match app.current_row() {
            Row::Command(_) => "not started yet: Enter starts it",
            _ => "",
        };
        let rect = layout_right(&areas);
        frame.render_widget(Paragraph::new(text).style(DIM), rect);
    }
    if let Some(rect) = areas.timeline {
        draw_timeline(frame, app, rect);
    }
    draw_input(frame, app, areas.input);
    draw_hint(frame, app, areas.hint);
    match app.view.mode {
        Mode::Help => view_overlay::help(frame, app.view.help_scroll),
        Mode::Inspect => {
            if let Some(view) = &app.view.inspect {
                let name = app
                    .index_of(view.id)
                    .map_or("", |ii| app.procs.instances[ii].name.as_str());
                super::view_inspect::draw(frame, view, name);
            }
        }
        Mode::Menu => {
            if let Some(menu) = &app.view.menu {
                view_overlay::menu(frame, menu);
            }
        }
        _ => {}
    }
}

fn layout_right(areas: &Areas) -> Rect {
    let top = areas.header.y + areas.header.height;
    Rect::new(
        areas.header.x + 1,
        top,
        areas.header.width.saturating_sub(1),
        1,
    )
}

/// `running`, `exited 3`, `ended 0`, `killed by SIGTERM`, `failed`, and its colour.
pub fn state_label(state: &RunState) -> (String, Style) {
    let status = |what: &str, s: &ExitStatus| match (s.exit_code(), s.signal()) {
        (Some(0), _) => (format!("{what} 0"), Style::default()),
        (Some(code), _) => (
            format!("{what} {code}"),
            Style::default().fg(Color::LightRed),
        ),
        (None, Some(sig)) => (
            format!("{what} by {}", signal_name(sig)),
            Style::default().fg(Color::LightMagenta),
        ),
        _ => (what.to_string(), Style::default()),
    };
    match state {
        RunState::Running => ("running".into(), Style::default().fg(Color::LightGreen)),
        RunState::Exited(s) => {
            let (text, style) = status("exited", s);
            (text, style.add_modifier(Modifier::ITALIC))
        }
        RunState::Ended(s) if s.signal().is_some() => status("killed", s),
        RunState::Ended(s) => status("ended", s),
        RunState::Failed(_) => ("failed".into(), Style::default().fg(Color::LightRed)),
        RunState::Waiting(what) => (what.clone(), Style::default().fg(Color::Yellow)),
    }
}

/// `0.4s`, `12.0s`, `3m07s`, `2h05m`.
pub fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{:.1}s", d.as_secs_f64()),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// ` 3% 12.0 MiB` for a running instance that was sampled; empty otherwise.
pub fn usage_text(inst: &Instance) -> String {
    match inst.usage {
        Some(u) if inst.running() => {
            let cpu = u.cpu_percent.map_or(String::new(), |c| format!(" {c:.0}%"));
            format!("{cpu} {}", crate::wording::size(u.rss_bytes))
        }
        _ => String::new(),
    }
}

fn instance_line(inst: &Instance, now: Instant) -> Line<'static> {
    let (state, style) = state_label(&inst.state);
    let pid = inst.pid.map_or("-".into(), |p| p.to_string());
    Line::from(vec![
        Span::raw(format!("  #{} ", inst.number)),
        Span::styled(format!("{pid} "), DIM),
        Span::styled(state, style),
        Span::styled(format!(" {}", elapsed(inst.elapsed(now))), DIM),
        Span::styled(usage_text(inst), DIM),
    ])
}

/// Where the config came from, on the list's bottom border: ` built-in `,
/// ` ./fdscope.toml `; a long path keeps its end (the file name) and loses its start.
fn config_title(source: &str, width: u16) -> String {
    let room = usize::from(width.saturating_sub(4));
    let chars: Vec<char> = source.chars().collect();
    if chars.len() <= room {
        return format!(" {source} ");
    }
    let tail: String = chars[chars.len() + 1 - room.max(1)..].iter().collect();
    format!(" …{tail} ")
}

fn draw_list(frame: &mut Frame, app: &App, area: Rect, now: Instant) {
    let items: Vec<ListItem> = app
        .rows()
        .into_iter()
        .map(|row| match row {
            Row::Console => ListItem::new(Line::styled("⌂ console fds 0-2", DIM)),
            Row::Command(ci) => {
                let cmd = &app.procs.commands[ci];
                let pty = if cmd.spec.pty.is_some() { " ⌨" } else { "" };
                ListItem::new(Line::from(vec![
                    Span::styled(
                        format!("▸ {}", cmd.name),
                        Style::default().add_modifier(Modifier::BOLD),
                    ),
                    Span::styled(pty, DIM),
                ]))
            }
            Row::Instance(ii) => ListItem::new(instance_line(&app.procs.instances[ii], now)),
        })
        .collect();
    let focused = matches!(app.view.mode, Mode::Normal | Mode::Menu | Mode::Help);
    let list = List::new(items)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(" fdscope ")
                .title_bottom(Line::styled(
                    config_title(&app.view.config_source, area.width),
                    DIM,
                ))
                .border_style(if focused { Style::default() } else { DIM }),
        )
        .highlight_style(
            Style::default()
                .bg(Color::DarkGray)
                .add_modifier(Modifier::BOLD),
        );
    let mut state = ListState::default().with_selected(Some(app.view.row));
    frame.render_stateful_widget(list, area, &mut state);
}

fn draw_header(frame: &mut Frame, app: &App, area: Rect, now: Instant) {
    let lines = match app.selected_instance() {
        Some(ii) => {
            let inst = &app.procs.instances[ii];
            let cmd = &app.procs.commands[inst.command];
            let (state, style) = state_label(&inst.state);
            let mut first = vec![
                Span::styled(format!(" {}", inst.label()), Style::default().add_modifier(Modifier::BOLD)),
                Span::raw(format!("  pid {}  ", inst.pid.map_or("-".into(), |p| p.to_string()))),
                Span::styled(state, style),
                Span::styled(format!("  {}", elapsed(inst.elapsed(now))), DIM),
                Span::styled(usage_text(inst), DIM),
            ];
            if let (Some(x), Some(e)) = (inst.exited_at, inst.ended_at) {
                first.push(Span::styled(
                    format!(
                        "  exited {} ended {}",
                        wording::offset(x),
                        wording::offset(e)
                    ),
                    DIM,
                ));
            }
            let width = usize::from(area.width).saturating_sub(3);
            let mut second = format!(" $ {}", wording::command_line(&cmd.spec.argv(), width));
            if let RunState::Failed(why) = &inst.state {
                second = format!(" {why}");
            }
            for note in &inst.notes {
                second.push_str(&format!("  · {note}"));
            }
            let mut second = vec![Span::styled(second, DIM)];
            if let Some(progress) = &inst.script {
                second.insert(0, super::script::header_span(progress));
            }
            vec![Line::from(first), Line::from(second)]
        }
        None if app.current_row() == Row::Console => vec![
            Line::styled(" console", Style::default().add_modifier(Modifier::BOLD)),
            Line::styled(" what children mapped onto the console's fds 1 and 2 wrote; input goes to its fd 0", DIM),
        ],
        None => match app.selected_command() {
            Some(ci) => {
                let cmd = &app.procs.commands[ci];
                vec![
                    Line::styled(format!(" {}", cmd.name), Style::default().add_modifier(Modifier::BOLD)),
                    Line::styled(format!(" {}", cmd.description.clone().unwrap_or_default()), DIM),
                ]
            }
            None => Vec::new(),
        },
    };
    frame.render_widget(Paragraph::new(lines), area);
}

/// One timeline row of any transcript event: script events show their step (a failure
/// in red), process events as [`timeline_line`].
pub fn timeline_row(at: Duration, event: &TranscriptEvent, len: usize) -> Line<'static> {
    match event {
        TranscriptEvent::Process(event) => timeline_line(at, event, len),
        note => super::script::timeline_note(at, note),
    }
}

/// One timeline row: `+1.234ms  fd 1  child_data_received  24 B  "text…"`.
pub fn timeline_line(at: Duration, event: &ProcessEvent, len: usize) -> Line<'static> {
    let fd = event.fd().map_or("    ".into(), |fd| format!("fd {fd:<2}"));
    let (detail, style) = match event {
        ProcessEvent::ConnectionMade { pid } => {
            (format!("pid {pid}"), Style::default().fg(Color::LightGreen))
        }
        ProcessEvent::ChildDataReceived { data, .. } => {
            let mut text = crate::escape::escape(&data[..data.len().min(60)]);
            // At most 60 bytes, cut on a character boundary (the text may be UTF-8).
            let mut cut = text.len().min(60);
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            (format!("{len} B  \"{text}\""), Style::default())
        }
        ProcessEvent::ChildConnectionLost { .. } => {
            (String::new(), Style::default().fg(Color::Yellow))
        }
        ProcessEvent::ProcessExited { status } | ProcessEvent::ProcessEnded { status } => {
            (status.to_string(), Style::default().fg(Color::LightMagenta))
        }
    };
    Line::from(vec![
        Span::styled(format!("{:>12} ", wording::offset(at)), DIM),
        Span::raw(format!("{fd} ")),
        Span::styled(format!("{:<21} ", event.name()), style),
        Span::raw(detail),
    ])
}

fn draw_timeline(frame: &mut Frame, app: &App, area: Rect) {
    let block = Block::default().borders(Borders::TOP).border_style(DIM);
    let Some(ii) = app.selected_instance() else {
        frame.render_widget(block.title(" timeline "), area);
        return;
    };
    let t = &app.procs.instances[ii].timeline;
    let title = format!(
        " timeline · {}{} ",
        crate::wording::count(t.len() + t.dropped as usize, "event"),
        if t.dropped > 0 {
            format!(" ({} oldest dropped)", t.dropped)
        } else {
            String::new()
        }
    );
    let rows = area.height.saturating_sub(1) as usize;
    if app.view.lanes {
        let name = &app.procs.instances[ii].name;
        let lines = super::lanes::lines(t, name, rows, area.width as usize);
        let title = format!("{title}· lanes ");
        frame.render_widget(Paragraph::new(lines).block(block.title(title)), area);
        return;
    }
    let resizes = &app.procs.instances[ii].resizes;
    let mark = |at: u64| {
        resizes.iter().find(|(pos, _, _)| *pos == at).map(|(_, r, c)| {
            Line::styled(
                format!("      ↔ resized to {r}×{c} by the console: what follows is the child's redraw"),
                DIM,
            )
        })
    };
    // Only the tail is drawn: format no more entries than fit.
    let first = t.len().saturating_sub(rows);
    let mut lines: Vec<Line> = Vec::new();
    for (i, e) in t.entries.iter().enumerate().skip(first) {
        let at = t.dropped + i as u64;
        lines.extend(mark(at));
        lines.push(timeline_row(e.at, &e.event, e.len));
    }
    lines.extend(mark(t.dropped + t.len() as u64));
    let lines = lines.split_off(lines.len().saturating_sub(rows));
    frame.render_widget(Paragraph::new(lines).block(block.title(title)), area);
}

fn draw_input(frame: &mut Frame, app: &App, area: Rect) {
    let active = app.view.mode == Mode::Input;
    let target = app.target();
    let target_name = match (app.selected_instance(), target) {
        (_, None) => "no writable fd".to_string(),
        (_, Some(Target::ConsoleStdin)) => "console fd 0".to_string(),
        (Some(ii), Some(Target::Fd(fd))) => {
            let inst = &app.procs.instances[ii];
            let pane = inst.panes.iter().find(|p| p.fd == fd);
            match pane {
                Some(p) if p.kind == PaneKind::Pty => "pty".into(),
                Some(p) => format!(
                    "fd {fd} {}{}",
                    p.role,
                    if p.closed { " (closed)" } else { "" }
                ),
                None => format!("fd {fd}"),
            }
        }
        (None, Some(Target::Fd(fd))) => format!("fd {fd}"),
    };
    if app.view.mode == Mode::Search {
        let block = Block::default().borders(Borders::ALL).title(" search ");
        frame.render_widget(
            Paragraph::new(format!("/{}▏", app.editors.search)).block(block),
            area,
        );
        return;
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if active {
            Style::default().fg(Color::LightCyan)
        } else {
            DIM
        })
        .title(format!(" → {target_name} "));
    if active {
        let mut input = app.editors.input.clone();
        input.set_block(block);
        frame.render_widget(&input, area);
    } else {
        let text = app.editors.input.lines().join("");
        frame.render_widget(Paragraph::new(Line::styled(text, DIM)).block(block), area);
    }
}

fn draw_hint(frame: &mut Frame, app: &App, area: Rect) {
    let mode = app.view.mode;
    let width = usize::from(area.width);
    let mut spans = Vec::new();
    if matches!(mode, Mode::Pty | Mode::PtyChord) {
        spans.push(Span::styled(
            " PTY ",
            Style::default().bg(Color::Green).fg(Color::Black),
        ));
    }
    let shown = fit_hints(keys::hint(mode), width, app.view.status.chars().count());
    for hint in &shown {
        spans.push(Span::styled(
            format!(" {}", hint.key),
            Style::default().fg(Color::LightCyan),
        ));
        spans.push(Span::raw(format!(" {}", hint.what)));
    }
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    let room = width.saturating_sub(used + 2);
    if !app.view.status.is_empty() && room > 4 {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(
            wording::cut(&app.view.status, room),
            Style::default().fg(Color::Yellow),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The hints that fit in `width` columns beside a status of `status` characters: help and
/// quit always; the others in order of importance while they fit, leaving the status up
/// to half of the line.
fn fit_hints(hints: Vec<keys::Hint>, width: usize, status: usize) -> Vec<keys::Hint> {
    let cost = |h: &keys::Hint| h.key.chars().count() + h.what.chars().count() + 2;
    let essential: usize = hints.iter().filter(|h| h.essential).map(cost).sum();
    let for_status = if status == 0 {
        0
    } else {
        (status + 2).min(width / 2)
    };
    let mut room = width.saturating_sub(essential + for_status + 5);
    let mut keep = Vec::new();
    for hint in hints {
        if hint.essential {
            keep.push(hint);
        } else if cost(&hint) <= room {
            room -= cost(&hint);
            keep.push(hint);
        } else {
            room = 0;
        }
    }
    keep
}
