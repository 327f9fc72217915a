//! `LineLog`: the bounded, styled scrollback of one pipe pane.
//!
//! Lines are kept as styled runs of text, independent of the pane's width (the view wraps
//! them), so resizing never loses output and search and copy see whole lines. Memory is
//! bounded twice: at most `max_lines` lines, and at most [`MAX_BYTES`] of text; a line
//! without a newline is broken after [`MAX_LINE_CHARS`] characters.

use ratatui::style::Style;
use std::collections::VecDeque;

/// Characters after which an unterminated line is broken (a child writing a gigabyte
/// without a newline must not make one gigabyte line).
pub const MAX_LINE_CHARS: usize = 4096;
/// Text bytes one log keeps at most; older lines go first.
pub const MAX_BYTES: usize = 8 * 1024 * 1024;

/// One line: its text, and where each style starts (no runs: all default style).
///
/// One allocation for a plain line (a flood of `y` lines is most of what a log holds).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StyledLine {
    text: String,
    /// (byte offset, style) where a style begins; neighbours differ.
    runs: Vec<(usize, Style)>,
    chars: usize,
}

impl StyledLine {
    fn style_at_end(&self) -> Style {
        self.runs.last().map_or(Style::default(), |(_, s)| *s)
    }

    /// Appends one character in `style`.
    pub fn push(&mut self, style: Style, c: char) {
        if style != self.style_at_end() {
            self.runs.push((self.text.len(), style));
        }
        self.text.push(c);
        self.chars += 1;
    }

    /// Removes the last character (backspace).
    pub fn pop(&mut self) {
        if self.text.pop().is_some() {
            self.chars -= 1;
            while self
                .runs
                .last()
                .is_some_and(|(at, _)| *at >= self.text.len())
            {
                self.runs.pop();
            }
        }
    }

    /// Characters in the line.
    pub fn chars(&self) -> usize {
        self.chars
    }

    /// Bytes of text.
    pub fn bytes(&self) -> usize {
        self.text.len()
    }

    /// The text without styles.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The runs of text, each with its style, in order.
    pub fn spans(&self) -> Vec<(Style, &str)> {
        let mut out = Vec::with_capacity(self.runs.len() + 1);
        let first = self.runs.first().map_or(self.text.len(), |(at, _)| *at);
        if first > 0 {
            out.push((Style::default(), &self.text[..first]));
        }
        for (i, (at, style)) in self.runs.iter().enumerate() {
            let end = self
                .runs
                .get(i + 1)
                .map_or(self.text.len(), |(next, _)| *next);
            if end > *at {
                out.push((*style, &self.text[*at..end]));
            }
        }
        out
    }

    fn clear(&mut self) {
        self.text.clear();
        self.runs.clear();
        self.chars = 0;
    }
}

/// The scrollback of one pane: complete lines plus the line being written.
#[derive(Debug, Clone)]
pub struct LineLog {
    lines: VecDeque<StyledLine>,
    /// The last line, still open (a prompt without a newline shows at once).
    current: StyledLine,
    max_lines: usize,
    bytes: usize,
    /// Lines dropped from the front so far: absolute line numbers stay stable.
    dropped: u64,
    /// A `\r` was seen: the next character overwrites the line (progress bars).
    carriage: bool,
}

impl Default for LineLog {
    fn default() -> Self {
        LineLog::new(10_000)
    }
}

impl LineLog {
    /// An empty log keeping at most `max_lines` lines (at least 1).
    pub fn new(max_lines: usize) -> Self {
        LineLog {
            lines: VecDeque::new(),
            current: StyledLine::default(),
            max_lines: max_lines.max(1),
            bytes: 0,
            dropped: 0,
            carriage: false,
        }
    }

    /// Appends a character in `style`.
    pub fn print(&mut self, style: Style, c: char) {
        if self.carriage {
            self.carriage = false;
            self.bytes -= self.current.bytes();
            self.current.clear();
        }
        if self.current.chars >= MAX_LINE_CHARS {
            self.newline();
        }
        self.current.push(style, c);
        self.bytes += c.len_utf8();
        self.trim();
    }

    /// Ends the current line.
    pub fn newline(&mut self) {
        self.carriage = false;
        let line = std::mem::take(&mut self.current);
        self.lines.push_back(line);
        self.trim();
    }

    /// A carriage return: the next printed character starts the line over.
    pub fn carriage_return(&mut self) {
        self.carriage = true;
    }

    /// Removes the last character of the current line.
    pub fn backspace(&mut self) {
        let before = self.current.bytes();
        self.current.pop();
        self.bytes -= before - self.current.bytes();
    }

    /// Appends `text` in `style`, `\n` ending lines (for notes the console writes itself).
    pub fn push_str(&mut self, style: Style, text: &str) {
        for c in text.chars() {
            if c == '\n' {
                self.newline();
            } else {
                self.print(style, c);
            }
        }
    }

    fn trim(&mut self) {
        while self.lines.len() + 1 > self.max_lines || self.bytes > MAX_BYTES {
            match self.lines.pop_front() {
                Some(line) => {
                    self.bytes -= line.bytes();
                    self.dropped += 1;
                }
                None => break,
            }
        }
    }

    /// Counts `n` complete lines that were never stored (they would have scrolled out
    /// of the log at once).
    pub fn skip(&mut self, n: usize) {
        self.dropped += n as u64;
    }

    /// The most lines kept.
    pub fn max_lines(&self) -> usize {
        self.max_lines
    }

    /// Forgets everything (the pane's "clear").
    pub fn clear(&mut self) {
        self.dropped += self.len() as u64;
        self.lines.clear();
        self.current.clear();
        self.bytes = 0;
        self.carriage = false;
    }

    /// Lines shown: the complete ones, plus the open one when it has text.
    pub fn len(&self) -> usize {
        self.lines.len() + usize::from(self.current.chars > 0)
    }

    /// True when nothing is shown.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Line `i` (0 = oldest kept).
    pub fn line(&self, i: usize) -> Option<&StyledLine> {
        if i < self.lines.len() {
            self.lines.get(i)
        } else if i == self.lines.len() && self.current.chars > 0 {
            Some(&self.current)
        } else {
            None
        }
    }

    /// Number of lines dropped before line 0 (to turn indexes into stable numbers).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Bytes of text held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(log: &LineLog) -> Vec<String> {
        (0..log.len())
            .map(|i| log.line(i).unwrap().text().to_string())
            .collect()
    }

    #[test]
    fn open_line_is_visible_and_lines_are_bounded() {
        let mut log = LineLog::new(3);
        log.push_str(Style::default(), "a\nb\nc\nd\nprompt> ");
        assert_eq!(texts(&log), ["c", "d", "prompt> "]);
        assert_eq!(log.dropped(), 2);
    }

    #[test]
    fn carriage_return_overwrites_and_long_lines_break() {
        let mut log = LineLog::new(100);
        log.push_str(Style::default(), "10%");
        log.carriage_return();
        log.push_str(Style::default(), "99%\n");
        assert_eq!(texts(&log), ["99%"]);
        let long = "x".repeat(MAX_LINE_CHARS * 2 + 5);
        log.push_str(Style::default(), &long);
        assert_eq!(log.len(), 4);
        assert_eq!(log.line(3).unwrap().chars(), 5);
    }

    #[test]
    fn byte_budget_holds_under_a_flood() {
        let mut log = LineLog::new(usize::MAX);
        let line = format!("{}\n", "y".repeat(1000));
        for _ in 0..20_000 {
            log.push_str(Style::default(), &line);
        }
        assert!(log.bytes() <= MAX_BYTES);
        assert!(log.len() > 1000);
    }
}
