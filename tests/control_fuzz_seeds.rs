//! The remote-control request parser's fuzz harness over its committed seeds, in plain
//! `cargo test` (see `fuzz/harness/control.rs`).

#[allow(dead_code)]
mod control_harness {
    include!("../fuzz/harness/control.rs");
}

#[test]
fn control_fuzz_seeds_parse_or_fail_with_one_line_errors() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/control");
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 5, "too few seeds in {}", dir.display());
    let mut parsed = 0;
    for path in seeds {
        let bytes = std::fs::read(&path).unwrap();
        let result = std::panic::catch_unwind(|| control_harness::run(&bytes));
        assert!(
            result.is_ok(),
            "control harness failed on {}",
            path.display()
        );
        parsed += usize::from(fdscope::control::request::parse(&bytes).is_ok());
    }
    assert!(parsed >= 5, "the seeds should include valid requests");
}
