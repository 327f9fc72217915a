//! Drawing one pane: wrapped styled lines, a terminal screen, or a hex dump. Pure: reads
//! the pane, writes the frame.

use super::log::{LineLog, LineRef};
use super::pane::{Body, Pane, PaneKind};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use tui_term::widget::{Cursor, PseudoTerminal};

/// Draws `pane` in `area`; `focused` highlights the border, `typing` shows the pty cursor.
pub fn draw(frame: &mut Frame, pane: &Pane, area: Rect, focused: bool, typing: bool) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let border = match (focused, typing) {
        (true, true) => Style::default().fg(Color::LightGreen),
        (true, false) => Style::default().fg(Color::LightCyan),
        _ => Style::default().fg(Color::DarkGray),
    };
    let mut title = format!(" {} ", pane.title());
    if pane.scroll > 0 {
        title.push_str(&format!("· ↑{} ", pane.scroll));
    }
    let title_style = if pane.closed {
        Style::default().fg(Color::DarkGray)
    } else {
        Style::default().add_modifier(Modifier::BOLD)
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Span::styled(title, title_style))
        .title_bottom(Line::from(format!(" {} ", human_bytes(pane.bytes))).right_aligned());
    let inner = block.inner(area);
    if pane.hex {
        frame.render_widget(
            Paragraph::new(hex_lines(pane, inner.height as usize)).block(block),
            area,
        );
        return;
    }
    match &pane.body {
        Body::Term(emulator) => {
            let cursor = Cursor::default().visibility(typing && pane.scroll == 0);
            let screen = emulator.screen();
            frame.render_widget(
                PseudoTerminal::new(&*screen).block(block).cursor(cursor),
                area,
            );
        }
        Body::Log(log) => {
            let lines = wrapped(
                &log.lines,
                pane,
                inner.width as usize,
                inner.height as usize,
            );
            let empty = lines.is_empty();
            let mut paragraph = Paragraph::new(lines).block(block);
            if empty && pane.kind == PaneKind::Write && !pane.closed {
                paragraph = Paragraph::new(Line::styled(
                    "(nothing sent yet: i to type)",
                    Style::default().fg(Color::DarkGray),
                ))
                .block(
                    Block::default()
                        .borders(Borders::ALL)
                        .border_style(border)
                        .title(format!(" {} ", pane.title())),
                );
            }
            frame.render_widget(paragraph, area);
        }
    }
}

/// The rows that fill `height` rows of `width` columns, ending `pane.scroll` lines back.
fn wrapped(log: &LineLog, pane: &Pane, width: usize, height: usize) -> Vec<Line<'static>> {
    if width == 0 || height == 0 {
        return Vec::new();
    }
    let end = log.len().saturating_sub(pane.scroll);
    let mut rows: Vec<Line<'static>> = Vec::new();
    for i in (0..end).rev() {
        let Some(line) = log.line(i) else { continue };
        let hit = pane.hit == Some(i);
        let mut these = wrap(line, width, hit);
        these.reverse();
        rows.extend(these);
        if rows.len() >= height {
            break;
        }
    }
    rows.truncate(height);
    rows.reverse();
    rows
}

/// Breaks one line into rows of at most `width` characters.
fn wrap(line: LineRef<'_>, width: usize, hit: bool) -> Vec<Line<'static>> {
    let mark = |s: Style| {
        if hit {
            s.bg(Color::Yellow).fg(Color::Black)
        } else {
            s
        }
    };
    let mut rows = Vec::new();
    let mut row: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for (style, text) in line.spans() {
        let mut rest = text;
        while !rest.is_empty() {
            let room = width - used;
            let cut = rest
                .char_indices()
                .nth(room)
                .map_or(rest.len(), |(at, _)| at);
            let (piece, tail) = rest.split_at(cut);
            row.push(Span::styled(piece.to_string(), mark(style)));
            used += piece.chars().count();
            rest = tail;
            if used == width && !rest.is_empty() {
                rows.push(Line::from(std::mem::take(&mut row)));
                used = 0;
            }
        }
    }
    rows.push(Line::from(row));
    rows
}

/// `offset  hex bytes  |ascii|` rows of the pane's last raw bytes.
fn hex_lines(pane: &Pane, height: usize) -> Vec<Line<'static>> {
    let bytes = &pane.raw.bytes;
    let total_rows = bytes.len().div_ceil(16);
    let end = total_rows.saturating_sub(pane.scroll);
    let start = end.saturating_sub(height);
    (start..end)
        .map(|r| {
            let chunk: Vec<u8> = bytes.iter().skip(r * 16).take(16).copied().collect();
            let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            let ascii: String = chunk
                .iter()
                .map(|b| {
                    if b.is_ascii_graphic() || *b == b' ' {
                        *b as char
                    } else {
                        '.'
                    }
                })
                .collect();
            Line::from(vec![
                Span::styled(
                    format!("{:08x}  ", pane.raw.start + (r * 16) as u64),
                    Style::default().fg(Color::DarkGray),
                ),
                Span::raw(format!("{:<48} |{ascii}|", hex.join(" "))),
            ])
        })
        .collect()
}

/// `12 B`, `3.4 KiB`, `1.2 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}
