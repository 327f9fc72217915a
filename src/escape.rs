//! C-style escapes for text typed by a user (`--write 0='2^10\n'`, the console's input line).

/// Turns `\n \r \t \0 \\ \e \xNN` into bytes; anything else after a backslash is kept as typed.
///
/// ```
/// assert_eq!(fdscope::escape::unescape(r"a\tb\x04\\"), b"a\tb\x04\\".to_vec());
/// ```
pub fn unescape(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 == bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let (value, used) = match bytes[i + 1] {
            b'n' => (b'\n', 2),
            b'r' => (b'\r', 2),
            b't' => (b'\t', 2),
            b'0' => (0, 2),
            b'e' => (0x1b, 2),
            b'\\' => (b'\\', 2),
            b'x' => match bytes.get(i + 2..i + 4).and_then(hex_byte) {
                Some(v) => (v, 4),
                None => (b'\\', 1),
            },
            _ => (b'\\', 1),
        };
        out.push(value);
        i += used;
    }
    out
}

fn hex_byte(pair: &[u8]) -> Option<u8> {
    std::str::from_utf8(pair)
        .ok()
        .and_then(|s| u8::from_str_radix(s, 16).ok())
}

/// Shows bytes as text with the same escapes, for transcripts and the timeline.
pub fn escape(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len());
    for chunk in data.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    out.push_str(&format!("\\x{:02x}", c as u32))
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_handles_every_escape_and_keeps_unknown_ones() {
        assert_eq!(unescape(r"2^10\n"), b"2^10\n");
        assert_eq!(unescape(r"\x04\e\0\r\t\\"), b"\x04\x1b\0\r\t\\");
        assert_eq!(unescape(r"\q\x4"), b"\\q\\x4");
        assert_eq!(unescape("trailing\\"), b"trailing\\");
    }

    #[test]
    fn escape_round_trips_through_unescape() {
        let raw = b"a\nb\x04\xff\"c\\";
        assert_eq!(escape(raw), r#"a\nb\x04\xff\"c\\"#);
        assert_eq!(unescape(&escape(b"a\nb\x04\\")), b"a\nb\x04\\");
    }
}
