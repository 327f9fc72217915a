//! The escapes users type (`--write 0='2^10\n'`, the console's input line) and the ones
//! fdscope shows (transcripts, the timeline): every byte, through the public functions
//! and through `fdscope run`.

mod cli_support;

use fdscope::escape::{escape, unescape};
use std::process::{Command, Stdio};

/// Printable ASCII (space to `~`) is shown as it is, except `\` and `"`; every control
/// character (0x00–0x1f and DEL) is an escape.
#[test]
fn escape_shows_each_ascii_byte_as_documented() {
    for byte in 0u8..=0x7f {
        let want = match byte {
            b'\n' => "\\n".to_owned(),
            b'\r' => "\\r".to_owned(),
            b'\t' => "\\t".to_owned(),
            b'\\' => "\\\\".to_owned(),
            b'"' => "\\\"".to_owned(),
            0..=0x1f | 0x7f => format!("\\x{byte:02x}"),
            _ => (byte as char).to_string(),
        };
        assert_eq!(escape(&[byte]), want, "byte {byte:#04x}");
    }
}

#[test]
fn escape_keeps_text_and_shows_invalid_utf8_as_hex() {
    assert_eq!(escape("größe 1 µs".as_bytes()), "größe 1 µs");
    assert_eq!(escape(b"a\xffb\xc3"), "a\\xffb\\xc3");
    assert_eq!(escape(b""), "");
}

/// What every escape a user may type turns into; anything else after a backslash is
/// kept as typed, backslash included.
#[test]
fn unescape_turns_each_escape_into_its_byte() {
    for (typed, bytes) in [
        (r"\n", &b"\n"[..]),
        (r"\r", b"\r"),
        (r"\t", b"\t"),
        (r"\0", b"\0"),
        (r"\e", b"\x1b"),
        (r"\\", b"\\"),
        (r"\x41", b"A"),
        (r"\xfF", b"\xff"),
        (r"\x00", b"\0"),
        (r"\q", b"\\q"),
        (r"\x4", b"\\x4"),
        (r"\xg1", b"\\xg1"),
        (r"\x", b"\\x"),
        ("\\", b"\\"),
        ("a\\", b"a\\"),
        ("", b""),
        ("plain text", b"plain text"),
        (r"2^10\n", b"2^10\n"),
        (r"\\n", b"\\n"),
        (r"a\tb\x04\\", b"a\tb\x04\\"),
        ("é\\n", "é\n".as_bytes()),
    ] {
        assert_eq!(unescape(typed), bytes, "{typed:?}");
    }
}

/// Every byte value but `"` survives escape then unescape. A `"` is shown as `\"` (the
/// transcript quotes its text), which unescape keeps as typed, like any unknown escape.
#[test]
fn every_byte_but_the_quote_round_trips() {
    let all: Vec<u8> = (0..=255).filter(|b| *b != b'"').collect();
    assert_eq!(unescape(&escape(&all)), all);
    for byte in all {
        assert_eq!(
            unescape(&escape(&[byte, b'x'])),
            [byte, b'x'],
            "{byte:#04x}"
        );
    }
    assert_eq!(unescape(&escape(b"\"")), b"\\\"");
}

/// Through the binary: `--write` unescapes what is typed, the text transcript shows the
/// child's output escaped again.
#[test]
fn run_write_unescapes_and_the_transcript_escapes() {
    let out = cli_support::output_within(
        Command::new(env!("CARGO_BIN_EXE_fdscope"))
            .args([
                "run",
                "--write",
                r"0=a b\tc\x41\\q\e\n",
                "--close",
                "0",
                "--",
                "cat",
            ])
            .stdin(Stdio::null()),
        30,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(r#"10 bytes: "a b\tcA\\q\x1b\n""#), "{text}");
}
