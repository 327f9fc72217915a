//! cargo-fuzz target `control`: the harness lives in `fuzz/harness/control.rs`, shared with
//! `tests/control_fuzz_seeds.rs`, which replays the committed seeds in `cargo test`.
#![no_main]

include!("../harness/control.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| run(data));
