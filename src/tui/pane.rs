//! One pane: what a child fd (or the pty, or the console's own fds) has shown so far,
//! plus how the user is looking at it (scroll, search, hex). No I/O here.

use super::ansi::AnsiLog;
use super::emulator::Emulator;
use ratatui::style::{Modifier, Style};
use std::collections::VecDeque;
use std::time::Duration;

/// Raw bytes kept per pane for the hex view.
pub const HEX_BYTES: usize = 64 * 1024;

/// What kind of fd a pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneKind {
    /// A pipe the child writes and the console reads.
    Read,
    /// A pipe the console writes (the pane shows what was sent).
    Write,
    /// The child's pty (fds 0–2), a terminal emulator.
    Pty,
    /// The console's own fds 0–2, shared with children mapped onto them.
    Console,
}

/// The text, styled lines or a terminal screen.
pub enum Body {
    /// Pipe output (or what was sent) with ANSI colours.
    Log(Box<AnsiLog>),
    /// A terminal emulator.
    Term(Box<Emulator>),
}

/// The last bytes seen, for the hex view, and the offset of the first of them.
#[derive(Debug, Default)]
pub struct HexRing {
    /// The bytes (at most [`HEX_BYTES`]).
    pub bytes: VecDeque<u8>,
    /// Offset in the stream of `bytes[0]`.
    pub start: u64,
}

impl HexRing {
    fn push(&mut self, data: &[u8]) {
        let data = &data[data.len().saturating_sub(HEX_BYTES)..];
        let over = (self.bytes.len() + data.len()).saturating_sub(HEX_BYTES);
        self.bytes.drain(..over);
        self.start += over as u64;
        self.bytes.extend(data);
    }
}

/// The emulator's size for a pane of `rows`×`cols`: at least 2×2. vt100 0.16 panics
/// (subtract with overflow in `Grid::col_wrap`) when a line wraps on a 1-row screen, which
/// a very small terminal gives a pty pane.
fn term_size(rows: u16, cols: u16) -> (u16, u16) {
    (rows.max(2), cols.max(2))
}

/// One pane and the user's view of it.
pub struct Pane {
    /// The child fd (0 for the pty, -1 for the console pane).
    pub fd: i32,
    /// Read, write, pty or console.
    pub kind: PaneKind,
    /// The role shown in the title: `stdout`, `passphrase`, …
    pub role: String,
    /// The contents.
    pub body: Body,
    /// The fd is gone (EOF, or closed by the console).
    pub closed: bool,
    /// Bytes through this fd so far.
    pub bytes: u64,
    /// Raw bytes for the hex view.
    pub raw: HexRing,
    /// Lines scrolled back from the end (0: following the output).
    pub scroll: usize,
    /// Showing the hex dump instead of the text.
    pub hex: bool,
    /// The search term, once confirmed.
    pub search: Option<String>,
    /// The line index of the current match.
    pub hit: Option<usize>,
}

impl std::fmt::Debug for Pane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pane")
            .field("fd", &self.fd)
            .field("kind", &self.kind)
            .field("role", &self.role)
            .finish()
    }
}

impl Pane {
    /// A pane with a text body (read, write, or console).
    pub fn text(fd: i32, kind: PaneKind, role: impl Into<String>, scrollback: usize) -> Self {
        Self::with_body(
            fd,
            kind,
            role,
            Body::Log(Box::new(AnsiLog::new(scrollback))),
        )
    }

    /// A terminal pane of `rows`×`cols`.
    pub fn terminal(rows: u16, cols: u16, scrollback: usize) -> Self {
        let (rows, cols) = term_size(rows, cols);
        Self::with_body(
            0,
            PaneKind::Pty,
            "terminal",
            Body::Term(Box::new(Emulator::new(rows, cols, scrollback))),
        )
    }

    fn with_body(fd: i32, kind: PaneKind, role: impl Into<String>, body: Body) -> Self {
        Pane {
            fd,
            kind,
            role: role.into(),
            body,
            closed: false,
            bytes: 0,
            raw: HexRing::default(),
            scroll: 0,
            hex: false,
            search: None,
            hit: None,
        }
    }

    /// The title: `fd 1 ← stdout`, `fd 3 → passphrase`, `pty ⇄ terminal`.
    pub fn title(&self) -> String {
        let mut title = match self.kind {
            PaneKind::Read => format!("fd {} ← {}", self.fd, self.role),
            PaneKind::Write => format!("fd {} → {}", self.fd, self.role),
            PaneKind::Pty => format!("pty ⇄ {}", self.role),
            PaneKind::Console => format!("console ⇄ {}", self.role),
        };
        if self.closed {
            title.push_str(" · closed");
        }
        if self.hex {
            title.push_str(" · hex");
        }
        title
    }

    /// Output from the fd: parsed into the body, and kept raw for the hex view.
    pub fn feed(&mut self, data: &[u8]) {
        self.bytes += data.len() as u64;
        self.raw.push(data);
        match &mut self.body {
            Body::Log(log) => {
                let before = log.lines.len() as u64 + log.lines.dropped();
                log.feed(data);
                if self.scroll > 0 {
                    // Keep the lines the user is reading in place while output arrives.
                    let after = log.lines.len() as u64 + log.lines.dropped();
                    let max = log.lines.len().saturating_sub(1);
                    self.scroll = (self.scroll + (after - before) as usize).min(max);
                }
            }
            Body::Term(emulator) => emulator.feed(data),
        }
    }

    /// Records bytes the console sent to a writable fd, as one line `+t  text`.
    pub fn note_sent(&mut self, at: Duration, data: &[u8]) {
        self.bytes += data.len() as u64;
        self.raw.push(data);
        let line = format!(
            "{}  {}",
            crate::wording::offset(at),
            crate::escape::escape(data)
        );
        self.note(&line, Style::default());
    }

    /// Adds a line written by the console itself (dimmed), e.g. `closed (EOF)`.
    pub fn note(&mut self, text: &str, style: Style) {
        if let Body::Log(log) = &mut self.body {
            log.lines.push_str(style, text);
            log.lines.newline();
        }
    }

    /// Marks the fd gone, with a note in write panes.
    pub fn mark_closed(&mut self, at: Duration, why: &str) {
        if self.closed {
            return;
        }
        self.closed = true;
        if self.kind == PaneKind::Write {
            let line = format!("{}  ── {why} ──", crate::wording::offset(at));
            self.note(&line, Style::default().add_modifier(Modifier::DIM));
        }
    }

    /// Forgets the contents (the view's "clear"); a terminal keeps its screen size.
    pub fn clear(&mut self) {
        self.raw = HexRing::default();
        self.scroll = 0;
        self.hit = None;
        match &mut self.body {
            Body::Log(log) => log.lines.clear(),
            Body::Term(emulator) => emulator.reset(),
        }
    }

    /// Resizes a terminal pane's emulator; true when the size changed.
    pub fn resize(&mut self, rows: u16, cols: u16) -> bool {
        let size = term_size(rows, cols);
        match &mut self.body {
            Body::Term(emulator) if emulator.screen().size() != size => {
                emulator.screen_mut().set_size(size.0, size.1);
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_name_fd_direction_and_role() {
        let mut p = Pane::text(1, PaneKind::Read, "stdout", 10);
        assert_eq!(p.title(), "fd 1 ← stdout");
        p.closed = true;
        assert_eq!(p.title(), "fd 1 ← stdout · closed");
        assert_eq!(
            Pane::text(3, PaneKind::Write, "passphrase", 10).title(),
            "fd 3 → passphrase"
        );
    }

    #[test]
    fn hex_ring_keeps_the_last_bytes_and_their_offset() {
        let mut p = Pane::text(1, PaneKind::Read, "stdout", 10);
        p.feed(&vec![1u8; HEX_BYTES]);
        p.feed(&[2, 3]);
        assert_eq!(p.raw.bytes.len(), HEX_BYTES);
        assert_eq!(p.raw.start, 2);
        assert_eq!(p.raw.bytes.back(), Some(&3));
    }

    #[test]
    fn terminal_pane_renders_through_vt100() {
        let mut p = Pane::terminal(5, 20, 100);
        p.feed(b"\x1b[31mred\x1b[0m\r\nnext");
        let Body::Term(emulator) = &p.body else {
            panic!()
        };
        assert_eq!(emulator.screen().contents(), "red\nnext");
        assert_eq!(
            emulator.screen().cell(0, 0).unwrap().fgcolor(),
            vt100::Color::Idx(1)
        );
    }
}
