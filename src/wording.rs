//! How fdscope words things for people: counts with the right plural, and a command line
//! shown the way a shell would need it typed. One home, so the console's header, its
//! status line and `fdscope check` say things the same way.

use std::ffi::OsStr;
use std::time::Duration;

/// `1 event`, `2 events`, `0 commands`.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `sh -c 'printf "a b"⏎echo hi'`: each argument quoted as a POSIX shell needs it, a
/// newline shown as `⏎` so a multi-line script stays on one line, and the whole cut to
/// `width` characters with `…` when longer.
pub fn command_line<S: AsRef<OsStr>>(argv: &[S], width: usize) -> String {
    let words: Vec<String> = argv
        .iter()
        .map(|a| a.as_ref().to_string_lossy())
        .map(|a| shell_words::quote(&a).replace('\n', "⏎"))
        .collect();
    cut(&words.join(" "), width)
}

/// An event's time since the spawn, as every view shows it: `+294.753ms`. One unit
/// everywhere (panes, timeline, header), fine enough to order events microseconds apart.
pub fn offset(d: Duration) -> String {
    format!("+{:.3}ms", d.as_secs_f64() * 1000.0)
}

/// `text` cut to `width` characters, its last one `…` when something was cut.
pub fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    if width > 0 {
        out.push('…');
    }
    out
}

/// `24 B`, `1.5 KiB`, `3.0 MiB`.
pub fn size(bytes: u64) -> String {
    const K: f64 = 1024.0;
    let b = bytes as f64;
    if b < K {
        format!("{bytes} B")
    } else if b < K * K {
        format!("{:.1} KiB", b / K)
    } else if b < K * K * K {
        format!("{:.1} MiB", b / K / K)
    } else {
        format!("{:.1} GiB", b / K / K / K)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_say_one_thing_and_many_things() {
        assert_eq!(count(1, "event"), "1 event");
        assert_eq!(count(0, "event"), "0 events");
        assert_eq!(count(14, "command"), "14 commands");
    }

    #[test]
    fn a_multi_line_script_is_quoted_and_its_newlines_shown() {
        let argv = ["sh", "-c", "printf \"your name? \"\nIFS= read -r name"];
        assert_eq!(
            command_line(&argv, 200),
            "sh -c 'printf \"your name? \"⏎IFS= read -r name'"
        );
        assert_eq!(command_line(&["echo", "it's"], 200), "echo 'it'\\''s'");
        assert_eq!(command_line(&["wc", "-l"], 200), "wc -l");
    }

    #[test]
    fn offsets_are_milliseconds_to_the_microsecond() {
        assert_eq!(offset(Duration::from_micros(294_753)), "+294.753ms");
        assert_eq!(offset(Duration::from_secs(12)), "+12000.000ms");
    }

    #[test]
    fn a_long_line_is_cut_with_an_ellipsis_at_the_width() {
        let line = command_line(&["gpg", "--batch", "--no-options", "--decrypt"], 12);
        assert_eq!(line, "gpg --batch…");
        assert_eq!(line.chars().count(), 12);
        assert_eq!(cut("short", 12), "short");
    }
}
