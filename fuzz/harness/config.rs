// The config loader on arbitrary bytes (`Config::parse_bytes`), with the promises a user
// relies on: never a panic; a failure has at least one diagnostic, each at a real line
// (1..=lines of the file) and column (>= 1) of the named file, one line of text each; a
// success has unique, non-empty command names.
//
// Included by `fuzz/fuzz_targets/config.rs` and by `tests/hardening_fuzz_seeds.rs`.

/// Checks one input; panics on a broken promise.
pub fn run(data: &[u8]) {
    const FILE: &str = "fuzz.toml";
    match fdscope::config::Config::parse_bytes(data, FILE) {
        Ok(config) => {
            let mut names: Vec<&str> = config.commands.iter().map(|c| c.name.as_str()).collect();
            assert!(names.iter().all(|n| !n.trim().is_empty()), "empty name");
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "duplicate command names accepted");
            for command in &config.commands {
                assert!(
                    !command.spec.args.is_empty(),
                    "empty argv for {}",
                    command.name
                );
            }
        }
        Err(error) => {
            assert!(
                !error.diagnostics.is_empty(),
                "an error without a diagnostic"
            );
            let lines = 1 + data.iter().filter(|b| **b == b'\n').count();
            for d in &error.diagnostics {
                assert_eq!(d.file, FILE);
                assert!(
                    (1..=lines).contains(&d.line) && d.column >= 1,
                    "diagnostic outside the file ({lines} lines): {d}"
                );
                assert!(!d.message.contains('\n'), "a message spans lines: {d:?}");
            }
            let text = error.to_string();
            assert_eq!(
                text.lines().count(),
                error.diagnostics.len(),
                "one line per diagnostic:\n{text}"
            );
        }
    }
}
