//! `Emulator`: a pty pane's terminal (vt100), fed at the pace the screen is looked at.
//!
//! vt100 spends about 1 µs on every line that scrolls (it inserts and removes a row of a
//! `Vec` and allocates a fresh row), so it parses a `yes` flood at about 14 MB/s with
//! 10 000 rows of scrollback: less than the kernel's pty delivers. Output is therefore
//! held until someone looks at the screen (a frame, a key, a search), and then a run of
//! plain lines long enough to scroll everything held before it out of the scrollback is
//! cut: only its tail is parsed. What is cut would have scrolled out of sight, so the
//! screen and scrollback are the same as if every byte had been parsed, for any output
//! that is plain text (printable characters, `\r`, `\n`) from the cut on.
//!
//! The one difference: a cursor parked below a scroll region is not moved by line feeds,
//! so a flood there overwrites one row, and the cut lines' leftovers may differ on it.

use super::guard::OscGuard;
use std::cell::{Ref, RefCell};

/// Held output parsed at once beyond this, looked at or not (bounds memory).
const HOLD_LIMIT: usize = 1024 * 1024;

/// A terminal emulator with output held back until the screen is read.
pub struct Emulator {
    parser: RefCell<vt100::Parser>,
    held: RefCell<Vec<u8>>,
    guard: OscGuard,
    scrollback: usize,
}

impl Emulator {
    /// A screen of `rows`×`cols` keeping `scrollback` rows that scrolled out.
    pub fn new(rows: u16, cols: u16, scrollback: usize) -> Self {
        Emulator {
            parser: RefCell::new(vt100::Parser::new(rows, cols, scrollback)),
            held: RefCell::default(),
            guard: OscGuard::default(),
            scrollback,
        }
    }

    /// Output from the child.
    pub fn feed(&mut self, data: &[u8]) {
        let held = self.held.get_mut();
        self.guard
            .filter(data, |bytes| held.extend_from_slice(bytes));
        if held.len() >= HOLD_LIMIT {
            self.catch_up();
        }
    }

    /// The screen, with every byte received so far parsed.
    pub fn screen(&self) -> Ref<'_, vt100::Screen> {
        self.catch_up();
        Ref::map(self.parser.borrow(), vt100::Parser::screen)
    }

    /// The screen, to scroll back or resize, with every byte received so far parsed.
    pub fn screen_mut(&mut self) -> &mut vt100::Screen {
        self.catch_up();
        self.parser.get_mut().screen_mut()
    }

    /// Forgets screen and scrollback; the size stays.
    pub fn reset(&mut self) {
        let (rows, cols) = self.screen().size();
        self.held.get_mut().clear();
        *self.parser.get_mut() = vt100::Parser::new(rows, cols, self.scrollback);
    }

    /// Parses what is held.
    fn catch_up(&self) {
        let mut held = self.held.borrow_mut();
        if held.is_empty() {
            return;
        }
        let mut parser = self.parser.borrow_mut();
        let (rows, _) = parser.screen().size();
        // Enough line feeds to scroll every row of the screen (wherever the cursor is)
        // and then the whole scrollback: nothing written before them stays in sight.
        let feeds = 2 * usize::from(rows) + self.scrollback + 1;
        let from = plain_tail_start(&held, feeds);
        parser.process(&held[from..]);
        held.clear();
    }
}

/// Where to start parsing `held`: just after the line feed that has `feeds` more after it,
/// if everything from there to the end is plain text; else 0.
fn plain_tail_start(held: &[u8], feeds: usize) -> usize {
    let mut seen = 0;
    for (at, byte) in held.iter().enumerate().rev() {
        match *byte {
            b'\n' if seen == feeds => return at + 1,
            b'\n' => seen += 1,
            b'\r' => {}
            b if b < 0x20 => return 0,
            _ => {}
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::super::browse::term_lines;
    use super::*;

    /// Fed as one chunk (cut) and byte by byte through a plain parser: same screens.
    fn same_as_every_byte(data: &[u8], rows: u16, cols: u16, scrollback: usize) {
        let mut held = Emulator::new(rows, cols, scrollback);
        held.feed(data);
        let mut every = vt100::Parser::new(rows, cols, scrollback);
        every.process(data);
        assert_eq!(held.screen().contents(), every.screen().contents());
        assert_eq!(
            held.screen().cursor_position(),
            every.screen().cursor_position()
        );
        assert_eq!(
            term_lines(held.screen_mut()),
            term_lines(every.screen_mut())
        );
    }

    #[test]
    fn a_flood_of_lines_gives_the_screen_and_scrollback_of_every_byte() {
        let mut data = b"old text on the first rows\r\n\x1b[31mred\x1b[0m\r\n".to_vec();
        for i in 0..500 {
            data.extend_from_slice(format!("line {i} {}\r\n", "x".repeat(i % 37)).as_bytes());
        }
        data.extend_from_slice(b"prompt$ ");
        same_as_every_byte(&data, 5, 20, 30);
        // Cursor halfway up with old rows below it when the flood starts.
        let mut data = b"a\r\nb\r\nc\r\nd\r\n\x1b[2;1H".to_vec();
        data.extend_from_slice(&b"y\r\n".repeat(400));
        same_as_every_byte(&data, 5, 20, 30);
    }

    #[test]
    fn only_a_long_enough_plain_tail_is_cut() {
        // 2×5 + 30 + 1 = 41 feeds must follow the cut.
        let lines = b"y\r\n".repeat(41);
        assert_eq!(plain_tail_start(&lines, 41), 0);
        let more = b"y\r\n".repeat(42);
        assert_eq!(plain_tail_start(&more, 41), 3);
        // An escape sequence in the tail: nothing is cut.
        let mut styled = b"y\r\n".repeat(100);
        styled.extend_from_slice(b"\x1b[1mbold\r\n");
        assert_eq!(plain_tail_start(&styled, 41), 0);
        // Before the tail, anything goes.
        let mut after = b"\x1b[1mbold\r\n".to_vec();
        after.extend_from_slice(&b"y\r\n".repeat(100));
        assert_eq!(plain_tail_start(&after, 41), after.len() - 41 * 3);
        same_as_every_byte(&after, 5, 20, 30);
    }

    #[test]
    fn held_output_stays_bounded() {
        let mut emulator = Emulator::new(5, 20, 30);
        for _ in 0..20 {
            emulator.feed(&[b'z'; 1024 * 1024]);
        }
        assert!(emulator.held.get_mut().len() < HOLD_LIMIT);
        assert!(emulator.screen().contents().starts_with("zzzz"));
    }
}
