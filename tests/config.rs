//! The config loader: every rule, against fixture files and inline examples.

use fdscope::config::Config;
use std::fs;
use std::path::{Path, PathBuf};

fn fixtures(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/configs")
        .join(kind)
}

/// Each `invalid/NAME.toml` must fail with exactly the lines of `invalid/NAME.expected`
/// (`NAME.toml:line:col: message`). With `FDSCOPE_BLESS=1` the expected files are
/// (re)written instead — review the diff before committing.
#[test]
fn every_invalid_fixture_gives_exactly_its_expected_diagnostics() {
    let dir = fixtures("invalid");
    let bless = std::env::var_os("FDSCOPE_BLESS").is_some();
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    entries.sort();
    for path in entries {
        let file = path.file_name().unwrap().to_str().unwrap().to_owned();
        let bytes = fs::read(&path).unwrap();
        let got = match Config::parse_bytes(&bytes, &file) {
            Ok(config) => format!("<loaded without error: {} commands>", config.commands.len()),
            Err(error) => error.to_string(),
        };
        let expected_path = path.with_extension("expected");
        if bless {
            fs::write(&expected_path, format!("{got}\n")).unwrap();
            continue;
        }
        let expected = fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        if got.trim_end() != expected.trim_end() {
            failures.push(format!(
                "== {file}\n-- expected:\n{}\n-- got:\n{got}",
                expected.trim_end()
            ));
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        bless || checked >= 15,
        "only {checked} fixtures found in {}",
        dir.display()
    );
}
