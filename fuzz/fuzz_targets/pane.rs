//! cargo-fuzz target `pane`: the harness lives in `fuzz/harness/pane.rs`, shared with
//! `tests/hardening_fuzz_seeds.rs`, which replays the committed seeds in `cargo test`.
#![no_main]

include!("../harness/pane.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| run(data));
