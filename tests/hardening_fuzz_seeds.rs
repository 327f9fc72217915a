//! The fuzz harnesses of `fuzz/` run over their committed seeds (and the inputs that once
//! crashed them, kept as `regression-*` seeds) in plain `cargo test`, so what fuzzing
//! found stays fixed without cargo-fuzz or a nightly compiler. See RELIABILITY.md.

use std::path::{Path, PathBuf};

#[allow(dead_code)]
mod config_harness {
    include!("../fuzz/harness/config.rs");
}
#[allow(dead_code)]
mod pane_harness {
    include!("../fuzz/harness/pane.rs");
}
#[allow(dead_code)]
mod keys_harness {
    include!("../fuzz/harness/keys.rs");
}

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut all: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    all.sort();
    assert!(all.len() >= 5, "too few seeds in {}", dir.display());
    all
}

fn replay(target: &str, run: fn(&[u8])) {
    for (path, bytes) in seeds(target) {
        let result = std::panic::catch_unwind(|| run(&bytes));
        assert!(
            result.is_ok(),
            "{target} harness failed on {}",
            path.display()
        );
    }
}

#[test]
fn config_fuzz_seeds_load_or_fail_with_located_diagnostics() {
    replay("config", config_harness::run);
}

#[test]
fn pane_fuzz_seeds_feed_search_and_draw_without_panic() {
    replay("pane", pane_harness::run);
}

#[test]
fn keys_fuzz_seeds_drive_the_console_without_panic() {
    replay("keys", keys_harness::run);
}

/// Found by the pane fuzz target: the timeline's chunk preview was cut at byte 60 even
/// inside a UTF-8 character, and any child printing non-ASCII text crashed the console.
#[test]
fn timeline_preview_of_multibyte_text_is_cut_on_a_character_boundary() {
    use fdscope::ProcessEvent;
    for shift in 0..4 {
        let text = format!("{}{}", "x".repeat(shift), "é漢🎉".repeat(20));
        let event = ProcessEvent::ChildDataReceived {
            fd: 1,
            data: bytes::Bytes::from(text.clone()),
        };
        let line = fdscope::tui::view::timeline_line(
            std::time::Duration::from_millis(5),
            &event,
            text.len(),
        );
        let shown: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        let start = format!("\"{}é漢", "x".repeat(shift));
        assert!(shown.contains(&start), "{shown}");
    }
}

/// Found by the keys fuzz target: a terminal resized to a sliver gave a pty pane one row,
/// and vt100 panics when a line wraps on a 1-row screen. Panes keep at least 2×2.
#[test]
fn a_pty_pane_squeezed_to_one_row_survives_wrapping_output() {
    use fdscope::tui::pane::{Body, Pane};
    let mut pane = Pane::terminal(1, 1, 10);
    pane.feed("wrapping text 漢字 and more\r\n".repeat(20).as_bytes());
    pane.resize(0, 0);
    pane.resize(1, 1);
    pane.feed("still wrapping 🎉🎉 text".repeat(20).as_bytes());
    let Body::Term(emulator) = &pane.body else {
        panic!("a terminal pane")
    };
    assert_eq!(emulator.screen().size(), (2, 2));
}
