//! Every TOML snippet in README.md runs as written: `fdscope check` accepts it, and each
//! command in it runs to a clean end under `fdscope run --config` — with a fresh HOME, so a
//! snippet that would write to the user's home (gpg creating `~/.gnupg`) is caught.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const README: &str = include_str!("../README.md");

/// The bodies of the README's ```toml blocks.
fn toml_blocks() -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in README.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```toml") => current = Some(String::new()),
            (Some(body), "```") => {
                blocks.push(std::mem::take(body));
                current = None;
            }
            (Some(body), _) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// Runs `fdscope ARGS` with HOME set to `home`; fails the test after 30 s.
fn fdscope(args: &[&str], home: &Path) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fdscope"))
        .args(args)
        .env("HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fdscope runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            return (status.code().unwrap_or(-1), text);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("fdscope {args:?} did not finish in 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_config_snippet_in_the_readme_checks_and_runs() {
    let blocks = toml_blocks();
    assert!(!blocks.is_empty(), "README.md has no ```toml block");
    for (n, block) in blocks.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir(&home).unwrap();
        let file = dir.path().join(format!("snippet-{n}.toml"));
        std::fs::write(&file, block).unwrap();
        let file = file.to_str().unwrap();
        let (code, out) = fdscope(&["check", file], &home);
        assert_eq!(code, 0, "snippet {n} does not check:\n{block}\n{out}");
        let names: Vec<&str> = block
            .lines()
            .filter_map(|l| l.strip_prefix("name = \""))
            .filter_map(|l| l.strip_suffix('"'))
            .collect();
        for name in names {
            let (code, out) = fdscope(&["run", "--config", file, name], &home);
            assert_eq!(code, 0, "snippet {n}, command {name}:\n{out}");
            assert!(out.contains("process_ended"), "{name}:\n{out}");
        }
        let left: Vec<_> = std::fs::read_dir(&home).unwrap().collect();
        assert!(left.is_empty(), "snippet {n} wrote into HOME: {left:?}");
    }
}
