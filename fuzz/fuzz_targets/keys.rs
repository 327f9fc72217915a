//! cargo-fuzz target `keys`: the harness lives in `fuzz/harness/keys.rs`, shared with
//! `tests/hardening_fuzz_seeds.rs`, which replays the committed seeds in `cargo test`.
#![no_main]

include!("../harness/keys.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| run(data));
