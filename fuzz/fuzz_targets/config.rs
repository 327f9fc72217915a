//! cargo-fuzz target `config`: the harness lives in `fuzz/harness/config.rs`, shared with
//! `tests/hardening_fuzz_seeds.rs`, which replays the committed seeds in `cargo test`.
#![no_main]

include!("../harness/config.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| run(data));
