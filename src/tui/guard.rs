//! Bounds what a terminal parser may buffer.
//!
//! `vte` (under `vt100` and our pipe panes) collects an OSC string (`ESC ] … BEL`) in a
//! growing `Vec` until its terminator: a child printing `ESC ]` and then gigabytes without
//! a terminator would grow the console without limit (mprocs issue 206). The guard sits in
//! front of the parser, terminates an OSC that passes [`OSC_LIMIT`] bytes itself, and drops
//! the rest of that string. Every other sequence is bounded by `vte` already.

/// Longest OSC payload handed to the parser; window titles and hyperlinks fit easily.
pub const OSC_LIMIT: usize = 4096;

const ESC: u8 = 0x1b;
const BEL: u8 = 0x07;
const CAN: u8 = 0x18;
const SUB: u8 = 0x1a;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    #[default]
    Ground,
    /// Just saw ESC.
    Escape,
    /// Inside an OSC string, this many bytes in.
    Osc(usize),
    /// Inside an over-long OSC string: dropping until its end.
    Dropping,
    /// Saw ESC while dropping (ESC \ ends the string).
    DroppingEscape,
}

/// Where an OSC string stops in `rest`: BEL, ESC (of `ESC \\`), CAN or SUB.
fn string_end(rest: &[u8]) -> Option<usize> {
    match (
        memchr::memchr3(BEL, ESC, CAN, rest),
        memchr::memchr(SUB, rest),
    ) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A filter that passes bytes on unchanged except for over-long OSC strings.
#[derive(Debug, Default, Clone)]
pub struct OscGuard {
    state: State,
}

impl OscGuard {
    /// Feeds `input` through the guard; `sink` gets the bytes to parse, in order.
    pub fn filter(&mut self, input: &[u8], mut sink: impl FnMut(&[u8])) {
        let mut start = 0; // first byte not yet handed to sink
        let mut i = 0;
        while i < input.len() {
            match self.state {
                State::Ground => match memchr::memchr(ESC, &input[i..]) {
                    Some(at) => {
                        i += at + 1;
                        self.state = State::Escape;
                    }
                    None => i = input.len(),
                },
                State::Escape => {
                    self.state = match input[i] {
                        b']' => State::Osc(0),
                        ESC => State::Escape,
                        _ => State::Ground,
                    };
                    i += 1;
                }
                State::Osc(n) => {
                    let rest = &input[i..];
                    match string_end(rest) {
                        Some(at) if n + at <= OSC_LIMIT => {
                            self.state = if rest[at] == ESC {
                                State::Escape
                            } else {
                                State::Ground
                            };
                            i += at + 1;
                        }
                        None if n + rest.len() <= OSC_LIMIT => {
                            self.state = State::Osc(n + rest.len());
                            i = input.len();
                        }
                        _ => {
                            // Over the limit: end the string for the parser, drop the rest.
                            let keep = i + (OSC_LIMIT - n);
                            sink(&input[start..keep]);
                            sink(&[BEL]);
                            self.state = State::Dropping;
                            i = keep;
                            start = keep;
                        }
                    }
                }
                State::Dropping => {
                    let rest = &input[i..];
                    match string_end(rest) {
                        Some(at) => {
                            self.state = if rest[at] == ESC {
                                State::DroppingEscape
                            } else {
                                State::Ground
                            };
                            i += at + 1;
                        }
                        None => i = input.len(),
                    }
                    start = i;
                }
                State::DroppingEscape => {
                    if input[i] == b'\\' {
                        i += 1;
                        start = i;
                        self.state = State::Ground;
                    } else {
                        // The ESC began a new sequence: hand it over with what follows.
                        sink(&[ESC]);
                        start = i;
                        self.state = State::Escape;
                    }
                }
            }
        }
        if start < input.len() {
            sink(&input[start..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(guard: &mut OscGuard, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        guard.filter(input, |b| out.extend_from_slice(b));
        out
    }

    #[test]
    fn plain_text_and_short_sequences_pass_unchanged() {
        let mut g = OscGuard::default();
        let text = b"hello \x1b[31mred\x1b[0m \x1b]0;title\x07 done\n";
        assert_eq!(run(&mut g, text), text.to_vec());
    }

    #[test]
    fn an_endless_osc_is_cut_and_dropped_until_its_end() {
        let mut g = OscGuard::default();
        let mut out = run(&mut g, b"a\x1b]0;");
        for _ in 0..1000 {
            out.extend(run(&mut g, &[b'x'; 1000]));
        }
        out.extend(run(&mut g, b"\x07after"));
        assert!(out.len() < OSC_LIMIT + 100, "{} bytes passed", out.len());
        assert!(out.ends_with(b"\x07after"));
        assert_eq!(
            out.iter().filter(|b| **b == BEL).count(),
            1,
            "only the injected BEL"
        );
    }

    #[test]
    fn esc_backslash_ends_a_dropped_string_and_other_escapes_survive() {
        let mut g = OscGuard::default();
        let mut big = b"\x1b]".to_vec();
        big.extend(vec![b'y'; OSC_LIMIT + 10]);
        big.extend(b"\x1b\\ok\x1b[1mbold");
        let out = run(&mut g, &big);
        assert!(
            out.ends_with(b"ok\x1b[1mbold"),
            "{:?}",
            &out[out.len() - 20..]
        );
    }
}
