//! `LineLog`: the bounded, styled scrollback of one pipe pane.
//!
//! Lines are kept as styled runs of text, independent of the pane's width (the view wraps
//! them), so resizing never loses output and search and copy see whole lines. Memory is
//! bounded twice: at most `max_lines` lines, and at most [`MAX_BYTES`] of text; a line
//! without a newline is broken after [`MAX_LINE_CHARS`] characters.
//!
//! Complete lines live in blocks of text with an index of line ends, and styles only for
//! the lines that have any: a flood of plain lines costs a copy and an index entry per
//! line, with no allocation per line (one `String` per line held `yes` at a fifth of the
//! pace the pipe allows).

use ratatui::style::Style;
use std::collections::VecDeque;

/// Characters after which an unterminated line is broken (a child writing a gigabyte
/// without a newline must not make one gigabyte line).
pub const MAX_LINE_CHARS: usize = 4096;
/// Text bytes one log keeps at most; older lines go first.
pub const MAX_BYTES: usize = 8 * 1024 * 1024;
/// A block takes no more lines once it holds this much text or this many lines.
const BLOCK_BYTES: usize = 64 * 1024;
const BLOCK_LINES: usize = 4096;

/// The spans of `text` given where each style begins (`runs`: byte offset, style).
fn spans_of(text: &str, runs: impl Iterator<Item = (usize, Style)>) -> Vec<(Style, &str)> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut style = Style::default();
    for (start, next) in runs {
        if start > at {
            out.push((style, &text[at..start]));
        }
        at = start;
        style = next;
    }
    if text.len() > at {
        out.push((style, &text[at..]));
    }
    out
}

/// The line being written: its text, and where each style starts (no runs: all default
/// style). Kept and reused by the log, so writing it allocates only when it grows.
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

    fn clear(&mut self) {
        self.text.clear();
        self.runs.clear();
        self.chars = 0;
    }

    fn as_ref(&self) -> LineRef<'_> {
        LineRef {
            text: &self.text,
            runs: Runs::Open(&self.runs),
        }
    }
}

/// Where a line's styles are kept.
#[derive(Debug, Clone, Copy)]
enum Runs<'a> {
    Open(&'a [(usize, Style)]),
    Stored(&'a [(u32, Style)]),
}

/// One line of the log, borrowed: its text and its styled runs.
#[derive(Debug, Clone, Copy)]
pub struct LineRef<'a> {
    text: &'a str,
    runs: Runs<'a>,
}

impl<'a> LineRef<'a> {
    /// The text without styles.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// Characters in the line.
    pub fn chars(&self) -> usize {
        self.text.chars().count()
    }

    /// The runs of text, each with its style, in order.
    pub fn spans(&self) -> Vec<(Style, &'a str)> {
        match self.runs {
            Runs::Open(runs) => spans_of(self.text, runs.iter().copied()),
            Runs::Stored(runs) => spans_of(
                self.text,
                runs.iter().map(|(at, style)| (*at as usize, *style)),
            ),
        }
    }
}

/// Complete lines, each stored with its `\n`.
#[derive(Debug, Clone, Default)]
struct Block {
    text: String,
    /// Offset in `text` just past each line's `\n`.
    ends: Vec<u32>,
    /// (line in this block, index in `runs` of its first run), for styled lines only,
    /// by line.
    styled: Vec<(u32, u32)>,
    /// (byte offset in its line, style) where a style begins.
    runs: Vec<(u32, Style)>,
}

impl Block {
    fn full(&self) -> bool {
        self.text.len() >= BLOCK_BYTES || self.ends.len() >= BLOCK_LINES
    }

    fn start(&self, line: usize) -> usize {
        if line == 0 {
            0
        } else {
            self.ends[line - 1] as usize
        }
    }

    /// Bytes of line `line`, without its `\n`.
    fn line_bytes(&self, line: usize) -> usize {
        self.ends[line] as usize - self.start(line) - 1
    }

    fn line(&self, line: usize) -> LineRef<'_> {
        let text = &self.text[self.start(line)..self.ends[line] as usize - 1];
        let runs = match self
            .styled
            .binary_search_by_key(&(line as u32), |(l, _)| *l)
        {
            Ok(k) => {
                let from = self.styled[k].1 as usize;
                let to = self
                    .styled
                    .get(k + 1)
                    .map_or(self.runs.len(), |(_, r)| *r as usize);
                &self.runs[from..to]
            }
            Err(_) => &[],
        };
        LineRef {
            text,
            runs: Runs::Stored(runs),
        }
    }

    fn push(&mut self, line: &StyledLine) {
        if !line.runs.is_empty() {
            self.styled
                .push((self.ends.len() as u32, self.runs.len() as u32));
            self.runs
                .extend(line.runs.iter().map(|(at, style)| (*at as u32, *style)));
        }
        self.text.push_str(&line.text);
        self.text.push('\n');
        self.ends.push(self.text.len() as u32);
    }

    /// Appends plain lines, each ending in `\n`; returns how many, or `None` (and
    /// appends nothing) if one is longer than [`MAX_LINE_CHARS`] bytes.
    fn push_plain(&mut self, lines: &str) -> Option<usize> {
        let base = self.text.len() as u32;
        let before = self.ends.len();
        let mut last = base;
        for (at, byte) in lines.bytes().enumerate() {
            if byte == b'\n' {
                let end = base + at as u32 + 1;
                self.ends.push(end);
                if (end - last) as usize > MAX_LINE_CHARS + 1 {
                    self.ends.truncate(before);
                    return None;
                }
                last = end;
            }
        }
        self.text.push_str(lines);
        Some(self.ends.len() - before)
    }
}

/// The block of `blocks` that takes the next line.
fn open_block(blocks: &mut VecDeque<Block>) -> &mut Block {
    if blocks.back().is_none_or(Block::full) {
        blocks.push_back(Block::default());
    }
    blocks.back_mut().expect("just pushed")
}

/// The scrollback of one pane: complete lines plus the line being written.
#[derive(Debug, Clone)]
pub struct LineLog {
    blocks: VecDeque<Block>,
    /// Lines of the first block already dropped.
    front: usize,
    /// Complete lines kept.
    stored: usize,
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
            blocks: VecDeque::new(),
            front: 0,
            stored: 0,
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
        open_block(&mut self.blocks).push(&self.current);
        self.current.clear();
        self.stored += 1;
        self.trim();
    }

    /// True when plain lines can be appended with [`LineLog::push_plain_lines`]: no line
    /// is open and no carriage return is pending.
    pub fn at_line_start(&self) -> bool {
        self.current.chars == 0 && !self.carriage
    }

    /// Appends complete lines of plain text (each ending in `\n`, no control characters),
    /// as [`LineLog::print`] and [`LineLog::newline`] would, in one copy. Only at a line
    /// start. Appends nothing and returns false if a line is longer than
    /// [`MAX_LINE_CHARS`] bytes (it must be broken, character by character).
    pub fn push_plain_lines(&mut self, lines: &str) -> bool {
        debug_assert!(self.at_line_start() && lines.ends_with('\n'));
        let Some(count) = open_block(&mut self.blocks).push_plain(lines) else {
            return false;
        };
        self.stored += count;
        self.bytes += lines.len() - count;
        self.trim();
        true
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

    /// Drops the oldest lines until both bounds hold (the open line counts as one).
    fn trim(&mut self) {
        while self.stored > 0 && (self.stored + 1 > self.max_lines || self.bytes > MAX_BYTES) {
            let first = &self.blocks[0];
            let left = first.ends.len() - self.front;
            let excess = (self.stored + 1).saturating_sub(self.max_lines);
            if excess >= left {
                // The whole first block goes: no need to walk its lines.
                let text = first.text.len() - first.start(self.front);
                self.bytes -= text - left;
                self.drop_front(left);
                self.blocks.pop_front();
                self.front = 0;
            } else {
                self.bytes -= first.line_bytes(self.front);
                self.drop_front(1);
                self.front += 1;
                if self.front == self.blocks[0].ends.len() {
                    self.blocks.pop_front();
                    self.front = 0;
                }
            }
        }
    }

    fn drop_front(&mut self, lines: usize) {
        self.stored -= lines;
        self.dropped += lines as u64;
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
        self.blocks.clear();
        self.front = 0;
        self.stored = 0;
        self.current.clear();
        self.bytes = 0;
        self.carriage = false;
    }

    /// Lines shown: the complete ones, plus the open one when it has text.
    pub fn len(&self) -> usize {
        self.stored + usize::from(self.current.chars > 0)
    }

    /// True when nothing is shown.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Line `i` (0 = oldest kept).
    pub fn line(&self, i: usize) -> Option<LineRef<'_>> {
        if i >= self.stored {
            return (i == self.stored && self.current.chars > 0).then(|| self.current.as_ref());
        }
        // Readers look near the end (the view draws the last rows): search from there.
        let mut from_end = self.stored - i;
        for (k, block) in self.blocks.iter().enumerate().rev() {
            let skip = if k == 0 { self.front } else { 0 };
            let here = block.ends.len() - skip;
            if from_end <= here {
                return Some(block.line(block.ends.len() - from_end));
            }
            from_end -= here;
        }
        None
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
    fn lines_across_blocks_keep_their_text_styles_and_numbers() {
        let red = Style::default().fg(ratatui::style::Color::Red);
        let mut log = LineLog::new(BLOCK_LINES * 2 + 10);
        let mut want = Vec::new();
        for i in 0..BLOCK_LINES * 3 {
            if i % 7 == 0 {
                log.push_str(Style::default(), "plain ");
                log.push_str(red, &format!("red {i}\n"));
            } else if i % 2 == 0 {
                assert!(log.push_plain_lines(&format!("fast {i}\nfast {i}b\n")));
                want.push(format!("fast {i}"));
                want.push(format!("fast {i}b"));
                continue;
            } else {
                log.push_str(Style::default(), &format!("line {i}\n"));
            }
            want.push(if i % 7 == 0 {
                format!("plain red {i}")
            } else {
                format!("line {i}")
            });
        }
        log.push_str(red, "open");
        want.push("open".into());
        let kept = &want[want.len() - log.len()..];
        assert_eq!(log.len(), BLOCK_LINES * 2 + 10);
        assert_eq!(texts(&log), kept);
        assert_eq!(log.dropped() as usize, want.len() - log.len());
        let bytes: usize = kept.iter().map(String::len).sum();
        assert_eq!(log.bytes(), bytes);
        for i in 0..log.len() {
            let line = log.line(i).unwrap();
            let spans = line.spans();
            if line.text().starts_with("plain") {
                assert_eq!(spans.len(), 2, "{i}: {spans:?}");
                assert_eq!(spans[0], (Style::default(), "plain "));
                assert_eq!(spans[1].0, red);
            } else if line.text() == "open" {
                assert_eq!(spans, [(red, "open")]);
            } else {
                assert_eq!(spans, [(Style::default(), line.text())], "{i}");
            }
        }
        assert!(log.line(log.len()).is_none());
    }

    #[test]
    fn byte_budget_holds_under_a_flood() {
        let mut log = LineLog::new(usize::MAX);
        let line = format!("{}\n", "y".repeat(1000));
        for _ in 0..20_000 {
            log.push_str(Style::default(), &line);
        }
        assert!(log.bytes() <= MAX_BYTES);
        assert!(log.bytes() > MAX_BYTES - 1001);
        assert_eq!(log.len(), log.bytes() / 1000);
        let kept: usize = (0..log.len())
            .map(|i| log.line(i).unwrap().text().len())
            .sum();
        assert_eq!(kept, log.bytes());
    }
}
