//! Reading a pane: scrolling, searching (scrollback included), copying what it shows.

use super::effect::Effect;
use super::layout;
use super::pane::Body;
use super::state::{App, PaneRef};
use base64::Engine;

/// Scrolls a pane by `lines` (positive: back in time), within what it holds.
pub fn scroll(app: &mut App, at: PaneRef, lines: i32) {
    let pane = app.pane_mut(at);
    match &mut pane.body {
        Body::Term(emulator) if !pane.hex => {
            let screen = emulator.screen_mut();
            let want = (screen.scrollback() as i64 + lines as i64).max(0) as usize;
            screen.set_scrollback(want);
            pane.scroll = screen.scrollback();
        }
        body => {
            let max = if pane.hex {
                pane.raw.bytes.len().div_ceil(16)
            } else if let Body::Log(log) = body {
                log.lines.len()
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
pub fn term_lines(screen: &mut vt100::Screen) -> Vec<String> {
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
        Body::Log(log) => (0..log.lines.len())
            .filter_map(|i| log.lines.line(i).map(|l| l.text().to_string()))
            .collect(),
        Body::Term(emulator) => term_lines(emulator.screen_mut()),
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
            if let Body::Term(emulator) = &mut pane.body {
                let screen = emulator.screen_mut();
                screen.set_scrollback(len - 1 - line);
                pane.scroll = screen.scrollback();
            }
            app.view.status = format!("match at line {}", line + 1);
        }
        None if len == 0 || find(&lines, &needle, len - 1, false).is_none() => {
            app.view.status = format!("no match for {needle:?}")
        }
        None => app.view.status = format!("no more matches for {needle:?} this way"),
    }
}

/// Copies the focused pane's visible text to the clipboard through OSC 52.
pub fn copy(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(at) = app.focused_pane() else {
        return;
    };
    let height = layout::pane_rects(app)
        .iter()
        .find(|(p, _)| *p == at)
        .map_or(20, |(_, r)| r.height.saturating_sub(2) as usize);
    let pane = app.pane(at);
    let text = match &pane.body {
        Body::Term(emulator) => emulator.screen().contents(),
        Body::Log(log) => {
            let end = log.lines.len().saturating_sub(pane.scroll);
            let start = end.saturating_sub(height);
            (start..end)
                .filter_map(|i| log.lines.line(i).map(|l| l.text().to_string()))
                .collect::<Vec<_>>()
                .join("\n")
        }
    };
    let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    fx.push(Effect::Terminal(
        format!("\x1b]52;c;{encoded}\x07").into_bytes(),
    ));
    app.view.status = format!(
        "copied {} lines to the clipboard (OSC 52)",
        text.lines().count()
    );
}
