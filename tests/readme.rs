//! Every `fdscope …` command line in README.md's code blocks, run as written (by `sh`,
//! with the built binary first on PATH, from the repository root) under a deadline: each
//! must finish, with the exit code or output the README promises where it says one.
//! Lines that open the console need a terminal: they are skipped here, with the reason,
//! and the console is driven on a pty by `tui_binary.rs` and `hardening_console.rs`.

mod cli_support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest any README line may take (`run --summary -- head -c 1G /dev/zero` takes about
/// a second in a debug build).
const DEADLINE: Duration = Duration::from_secs(60);

/// What the README says of a line (matched by a piece of it); lines not listed must exit 0.
const PROMISES: &[(&str, Promise)] = &[
    ("--signal 500:TERM", Promise::Exit(143)),
    ("value -- /bin/false", Promise::Stdout("1\n")),
    ("output -- echo hi", Promise::Stdout("hi\n")),
    // `my.toml` stands for the reader's own file: any answer will do, if it comes.
    ("check my.toml", Promise::Finishes),
];

#[derive(Debug, Clone, Copy)]
enum Promise {
    Exit(i32),
    Stdout(&'static str),
    Finishes,
}

/// Subcommands that run headless; anything else opens the console.
const HEADLESS: &[&str] = &[
    "run",
    "output",
    "value",
    "check",
    "help",
    "--help",
    "--version",
];

/// The `fdscope …` lines of the README's shell code blocks (`sh`, `console`, `bash`,
/// `shell`), a `$ ` prompt and a trailing `# comment` removed.
fn readme_lines(readme: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut in_shell = None;
    for line in readme.lines() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            in_shell = match in_shell {
                Some(_) => None,
                None => Some(matches!(info.trim(), "sh" | "console" | "bash" | "shell")),
            };
            continue;
        }
        if in_shell != Some(true) {
            continue;
        }
        let command = trimmed.strip_prefix("$ ").unwrap_or(trimmed);
        if command.starts_with("fdscope ") || command == "fdscope" {
            lines.push(strip_comment(command).trim_end().to_owned());
        }
    }
    lines
}

/// The line without a shell comment: a `#` that starts a word outside quotes.
fn strip_comment(line: &str) -> &str {
    let (mut single, mut double, mut previous) = (false, false, ' ');
    for (at, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && previous.is_whitespace() => return &line[..at],
            _ => {}
        }
        previous = c;
    }
    line
}

/// Why a line is not run here, if it is not.
fn skip_reason(line: &str) -> Option<&'static str> {
    let first = line.split_whitespace().nth(1);
    match first {
        Some(sub) if HEADLESS.contains(&sub) => None,
        _ => Some("opens the console, which needs a terminal (tui_binary.rs drives it on a pty)"),
    }
}

#[test]
fn readme_lines_are_found_and_comments_stripped() {
    let sample = "text\n```sh\nfdscope run -- echo '# not a comment' # a comment\n$ fdscope value -- true\ncargo test\n```\n```rust\nfdscope run -- x\n```\n";
    assert_eq!(
        readme_lines(sample),
        [
            "fdscope run -- echo '# not a comment'",
            "fdscope value -- true"
        ]
    );
    assert!(skip_reason("fdscope --config my.toml").is_some());
    assert!(skip_reason("fdscope").is_some());
    assert!(skip_reason("fdscope run -- true").is_none());
}

#[test]
fn every_fdscope_line_of_the_readme_finishes_as_promised() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let lines = readme_lines(&readme);
    assert!(
        lines.iter().filter(|l| skip_reason(l).is_none()).count() >= 5,
        "too few README lines found: {lines:?}"
    );
    // `fdscope` on PATH is the binary under test.
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_fdscope"), bin.path().join("fdscope")).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into())
    );
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    for line in &lines {
        if let Some(reason) = skip_reason(line) {
            skipped.push(format!("{line}: {reason}"));
            continue;
        }
        let promise = PROMISES
            .iter()
            .find(|(piece, _)| line.contains(piece))
            .map_or(Promise::Exit(0), |(_, promise)| *promise);
        let run = cli_support::Running::start(
            Command::new("sh")
                .args(["-c", line])
                .env("PATH", &path)
                .current_dir(root)
                .stdin(Stdio::null()),
        );
        let out = match run.finish(Instant::now() + DEADLINE) {
            Ok(out) => out,
            Err(partial) => {
                failures.push(format!(
                    "{line}\n  did not finish in {DEADLINE:?}: {partial}"
                ));
                continue;
            }
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let kept = match promise {
            Promise::Exit(code) => out.status.code() == Some(code),
            Promise::Stdout(text) => stdout == text,
            Promise::Finishes => true,
        };
        if !kept {
            failures.push(format!(
                "{line}\n  wanted {promise:?}, got {}\n  stdout: {stdout}\n  stderr: {stderr}",
                out.status
            ));
        }
    }
    println!(
        "ran {} lines; skipped:\n{}",
        lines.len() - skipped.len(),
        skipped.join("\n")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
