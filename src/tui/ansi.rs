//! Pipe output with ANSI colours into a [`LineLog`]: `vte` parses (UTF-8 split across
//! chunks, escape sequences split across chunks), SGR sets the style, `\n \r \b \t` move,
//! every other control sequence is dropped. Bounded by the log and the [`OscGuard`].

use super::guard::OscGuard;
use super::log::LineLog;
use ratatui::style::{Color, Modifier, Style};

/// A pipe pane's terminal-less renderer: bytes in, styled lines out.
#[derive(Default)]
pub struct AnsiLog {
    parser: vte::Parser,
    guard: OscGuard,
    style: Style,
    /// The parser may hold part of an escape sequence or of a character: bytes since the
    /// last escape have not yet ended in a dispatched sequence or a printed character.
    pending: bool,
    /// The lines.
    pub lines: LineLog,
}

impl std::fmt::Debug for AnsiLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnsiLog")
            .field("lines", &self.lines)
            .finish()
    }
}

const ESC: u8 = 0x1b;

impl AnsiLog {
    /// An empty log of at most `max_lines` lines.
    pub fn new(max_lines: usize) -> Self {
        AnsiLog {
            lines: LineLog::new(max_lines),
            ..AnsiLog::default()
        }
    }

    /// Parses one chunk of output.
    ///
    /// A flood (`yes`) brings chunks of many thousand lines of which the log keeps only
    /// the last `max_lines`: when a chunk holds no escape sequence, the lines that would
    /// be dropped at once are counted instead of parsed, and the plain lines that stay
    /// are copied in one piece rather than parsed character by character. Both keep the
    /// console ahead of the child.
    pub fn feed(&mut self, data: &[u8]) {
        if data.len() > self.lines.max_lines() && memchr::memchr(ESC, data).is_none() {
            let keep = self.lines.max_lines() + 1;
            let cut = nth_newline_from_end(data, keep).map(|at| at + 1);
            let first = memchr::memchr(b'\n', data).map(|at| at + 1);
            if let (Some(cut), Some(first)) = (cut, first) {
                if first < cut {
                    self.take(&data[..first]);
                    self.lines
                        .skip(memchr::memchr_iter(b'\n', &data[first..cut]).count());
                    self.take(&data[cut..]);
                    return;
                }
            }
        }
        self.take(data);
    }

    /// Plain complete lines at a line start are copied; the rest is parsed.
    fn take(&mut self, data: &[u8]) {
        let plain = match memchr::memrchr(b'\n', data) {
            Some(last) if self.copies_plain_lines() => plain_lines(&data[..=last]),
            _ => None,
        };
        match plain {
            Some(lines) if self.lines.push_plain_lines(lines) => self.parse(&data[lines.len()..]),
            _ => self.parse(data),
        }
    }

    /// Plain lines may be copied: nothing pending in the parser, no colour set, at the
    /// start of a line.
    fn copies_plain_lines(&self) -> bool {
        !self.pending && self.style == Style::default() && self.lines.at_line_start()
    }

    fn parse(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        // Whatever the bytes before the last escape left pending, that escape starts anew;
        // after it, nothing is pending once a sequence is dispatched or a character printed.
        let (before, after) = match memchr::memrchr(ESC, data) {
            Some(at) => data.split_at(at),
            None => (data, &data[..0]),
        };
        self.run_parser(before);
        if !after.is_empty() {
            self.pending = true;
            self.run_parser(after);
        }
        // A character split across chunks waits in the parser too.
        if data.last().is_some_and(|b| *b >= 0x80) {
            self.pending = true;
        }
    }

    fn run_parser(&mut self, data: &[u8]) {
        let AnsiLog {
            parser,
            guard,
            style,
            pending,
            lines,
        } = self;
        let mut performer = Performer {
            lines,
            style,
            pending,
        };
        guard.filter(data, |bytes| parser.advance(&mut performer, bytes));
    }
}

/// The byte offset of the `n`-th `\n` counted from the end (1 = the last).
///
/// Counted a window at a time (a plain count vectorises; a search per newline costs a
/// call per line of a flood).
fn nth_newline_from_end(data: &[u8], n: usize) -> Option<usize> {
    const WINDOW: usize = 4096;
    let mut left = n;
    let mut end = data.len();
    while end > 0 {
        let start = end.saturating_sub(WINDOW);
        let window = &data[start..end];
        let here = window.iter().filter(|b| **b == b'\n').count();
        if here >= left {
            return memchr::memrchr_iter(b'\n', window)
                .nth(left - 1)
                .map(|at| start + at);
        }
        left -= here;
        end = start;
    }
    None
}

/// `data` as text if it is complete lines that the parser would print as they are:
/// printable ASCII or UTF-8, `\n`, no tab, no other control.
fn plain_lines(data: &[u8]) -> Option<&str> {
    let controls = data
        .iter()
        .fold(0usize, |n, b| n + usize::from(*b < 0x20 && *b != b'\n'));
    if controls > 0 {
        return None;
    }
    std::str::from_utf8(data).ok()
}

struct Performer<'a> {
    lines: &'a mut LineLog,
    style: &'a mut Style,
    pending: &'a mut bool,
}

impl vte::Perform for Performer<'_> {
    fn print(&mut self, c: char) {
        *self.pending = false;
        self.lines.print(*self.style, c);
    }

    fn esc_dispatch(&mut self, _: &[u8], _: bool, _: u8) {
        *self.pending = false;
    }

    fn osc_dispatch(&mut self, _: &[&[u8]], _: bool) {
        *self.pending = false;
    }

    fn unhook(&mut self) {
        *self.pending = false;
    }

    fn execute(&mut self, byte: u8) {
        match byte {
            b'\n' => self.lines.newline(),
            b'\r' => self.lines.carriage_return(),
            0x08 => self.lines.backspace(),
            b'\t' => {
                for _ in 0..4 {
                    self.lines.print(*self.style, ' ');
                }
            }
            _ => {}
        }
    }

    fn csi_dispatch(
        &mut self,
        params: &vte::Params,
        intermediates: &[u8],
        ignore: bool,
        action: char,
    ) {
        *self.pending = false;
        if action == 'm' && intermediates.is_empty() && !ignore {
            *self.style = apply_sgr(*self.style, params);
        }
    }
}

/// The style after an SGR sequence (`ESC [ … m`).
fn apply_sgr(mut style: Style, params: &vte::Params) -> Style {
    // Flatten `38;5;n` and `38:5:n` alike into one list of numbers.
    let codes: Vec<u16> = params.iter().flat_map(|p| p.iter().copied()).collect();
    if codes.is_empty() {
        return Style::default();
    }
    let mut i = 0;
    while i < codes.len() {
        let code = codes[i];
        i += 1;
        style = match code {
            0 => Style::default(),
            1 => style.add_modifier(Modifier::BOLD),
            2 => style.add_modifier(Modifier::DIM),
            3 => style.add_modifier(Modifier::ITALIC),
            4 => style.add_modifier(Modifier::UNDERLINED),
            5 => style.add_modifier(Modifier::SLOW_BLINK),
            7 => style.add_modifier(Modifier::REVERSED),
            9 => style.add_modifier(Modifier::CROSSED_OUT),
            22 => style.remove_modifier(Modifier::BOLD | Modifier::DIM),
            23 => style.remove_modifier(Modifier::ITALIC),
            24 => style.remove_modifier(Modifier::UNDERLINED),
            25 => style.remove_modifier(Modifier::SLOW_BLINK),
            27 => style.remove_modifier(Modifier::REVERSED),
            29 => style.remove_modifier(Modifier::CROSSED_OUT),
            30..=37 => style.fg(Color::Indexed((code - 30) as u8)),
            39 => style.fg(Color::Reset),
            40..=47 => style.bg(Color::Indexed((code - 40) as u8)),
            49 => style.bg(Color::Reset),
            90..=97 => style.fg(Color::Indexed((code - 90 + 8) as u8)),
            100..=107 => style.bg(Color::Indexed((code - 100 + 8) as u8)),
            38 | 48 => {
                let (color, used) = extended_color(&codes[i..]);
                i += used;
                match (code, color) {
                    (38, Some(c)) => style.fg(c),
                    (_, Some(c)) => style.bg(c),
                    _ => style,
                }
            }
            _ => style,
        };
    }
    style
}

/// `5;n` or `2;r;g;b` after a 38/48: the colour and how many numbers it used.
fn extended_color(rest: &[u16]) -> (Option<Color>, usize) {
    let byte = |v: u16| v.min(255) as u8;
    match rest {
        [5, n, ..] => (Some(Color::Indexed(byte(*n))), 2),
        [2, r, g, b, ..] => (Some(Color::Rgb(byte(*r), byte(*g), byte(*b))), 4),
        _ => (None, rest.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_become_styles_and_other_sequences_vanish() {
        let mut a = AnsiLog::new(100);
        a.feed(b"plain \x1b[1;31mred\x1b[0m \x1b[38;5;208mo\x1b[38;2;1;2;3mrgb\x1b[m\x1b[2K\n");
        let line = a.lines.line(0).unwrap();
        assert_eq!(line.text(), "plain red orgb");
        assert_eq!(
            line.spans()[1].0,
            Style::default()
                .add_modifier(Modifier::BOLD)
                .fg(Color::Indexed(1))
        );
        assert_eq!(line.spans()[3].0.fg, Some(Color::Indexed(208)));
        assert_eq!(line.spans()[4].0.fg, Some(Color::Rgb(1, 2, 3)));
    }

    #[test]
    fn sequences_and_utf8_split_across_chunks_survive() {
        let mut a = AnsiLog::new(100);
        let bytes = "é \x1b[32mgreen\x1b[0m\n".as_bytes();
        for b in bytes {
            a.feed(&[*b]);
        }
        let line = a.lines.line(0).unwrap();
        assert_eq!(line.text(), "é green");
        assert_eq!(line.spans()[1].0.fg, Some(Color::Indexed(2)));
    }

    #[test]
    fn a_flood_keeps_the_same_last_lines_as_line_by_line_parsing() {
        let mut text = String::new();
        for i in 0..50_000 {
            text.push_str(&format!("line {i}\n"));
        }
        text.push_str("tail");
        let mut fast = AnsiLog::new(100);
        fast.feed(b"start ");
        fast.feed(text.as_bytes());
        let mut slow = AnsiLog::new(100);
        slow.feed(b"start ");
        for chunk in text.as_bytes().chunks(1000) {
            slow.feed(chunk);
        }
        let lines = |a: &AnsiLog| {
            (0..a.lines.len())
                .map(|i| a.lines.line(i).unwrap().text().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(lines(&fast), lines(&slow));
        assert_eq!(fast.lines.dropped(), slow.lines.dropped());
        assert_eq!(lines(&fast).last().unwrap(), "tail");
    }

    fn texts(a: &AnsiLog) -> Vec<String> {
        (0..a.lines.len())
            .map(|i| a.lines.line(i).unwrap().text().to_string())
            .collect()
    }

    /// Every chunking of `chunks` gives the lines and styles of parsing byte by byte.
    fn same_as_byte_by_byte(chunks: &[&[u8]], max_lines: usize) -> AnsiLog {
        let mut whole = AnsiLog::new(max_lines);
        for chunk in chunks {
            whole.feed(chunk);
        }
        let mut bytes = AnsiLog::new(max_lines);
        for b in chunks.concat() {
            bytes.feed(&[b]);
        }
        assert_eq!(texts(&whole), texts(&bytes));
        for i in 0..whole.lines.len() {
            let (w, b) = (whole.lines.line(i).unwrap(), bytes.lines.line(i).unwrap());
            assert_eq!(w.spans(), b.spans(), "line {i}");
        }
        assert_eq!(whole.lines.dropped(), bytes.lines.dropped());
        whole
    }

    #[test]
    fn plain_lines_after_a_split_sequence_or_character_are_parsed_with_it() {
        let plain = "plain\n".repeat(20);
        // A colour cut after `ESC [ 3`: the plain lines that follow are red.
        let a = same_as_byte_by_byte(&[b"x\n\x1b[3", format!("1m{plain}").as_bytes()], 5);
        let red = Style::default().fg(Color::Indexed(1));
        assert_eq!(a.lines.line(3).unwrap().spans(), [(red, "plain")]);
        // `é` cut in two, then plain lines.
        let rest = [b"\xa9\n", plain.as_bytes()].concat();
        let a = same_as_byte_by_byte(&[b"\xc3", &rest], 50);
        assert_eq!(a.lines.line(0).unwrap().text(), "é");
        // A line open when plain lines come: they continue it.
        let a = same_as_byte_by_byte(&[b"prompt> ", plain.as_bytes()], 50);
        assert_eq!(a.lines.line(0).unwrap().text(), "prompt> plain");
        // A carriage return pending: the next line overwrites.
        same_as_byte_by_byte(&[b"10%\r", b"done\nplain\n"], 50);
        // Tabs, backspaces, other controls and long lines are not copied as they are.
        let long = format!("{}\n", "x".repeat(super::super::log::MAX_LINE_CHARS + 3));
        let a = same_as_byte_by_byte(&[b"a\tb\nab\x08c\n\x01d\n", long.as_bytes()], 50);
        assert_eq!(texts(&a)[..3], ["a    b", "ac", "d"]);
        assert_eq!(a.lines.len(), 5);
    }

    #[test]
    fn an_unterminated_osc_flood_stays_bounded() {
        let mut a = AnsiLog::new(100);
        a.feed(b"\x1b]0;");
        for _ in 0..100 {
            a.feed(&[b'z'; 64 * 1024]);
        }
        a.feed(b"\x07visible\n");
        assert_eq!(a.lines.line(0).unwrap().text(), "visible");
    }
}
