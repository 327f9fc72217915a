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
    /// be dropped at once are counted instead of parsed, which keeps the console ahead of
    /// the child.
    pub fn feed(&mut self, data: &[u8]) {
        const ESC: u8 = 0x1b;
        if data.len() > self.lines.max_lines() && memchr::memchr(ESC, data).is_none() {
            let keep = self.lines.max_lines() + 1;
            let cut = memchr::memrchr_iter(b'\n', data)
                .nth(keep - 1)
                .map(|at| at + 1);
            let first = memchr::memchr(b'\n', data).map(|at| at + 1);
            if let (Some(cut), Some(first)) = (cut, first) {
                if first < cut {
                    self.parse(&data[..first]);
                    self.lines
                        .skip(memchr::memchr_iter(b'\n', &data[first..cut]).count());
                    self.parse(&data[cut..]);
                    return;
                }
            }
        }
        self.parse(data);
    }

    fn parse(&mut self, data: &[u8]) {
        let AnsiLog {
            parser,
            guard,
            style,
            lines,
        } = self;
        let mut performer = Performer { lines, style };
        guard.filter(data, |bytes| parser.advance(&mut performer, bytes));
    }
}

struct Performer<'a> {
    lines: &'a mut LineLog,
    style: &'a mut Style,
}

impl vte::Perform for Performer<'_> {
    fn print(&mut self, c: char) {
        self.lines.print(*self.style, c);
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
