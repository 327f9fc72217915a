//! The console as users start it: the real `fdscope` binary, `--config FILE --start NAME`
//! and the built-in config, on a pty, driven by keys.

mod tui_support;

use tui_support::*;

#[tokio::test]
async fn fdscope_config_start_runs_bc_from_a_toml_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bc.toml");
    std::fs::write(
        &config,
        r#"
[console]
stop_grace_ms = 500

[[command]]
name = "calc"
program = "bc"
args = ["bc", "-q"]

[[command]]
name = "status"
program = "sh"
args = ["sh", "-c", "read l; echo \"got $l\" >&4"]
child_fds = { 0 = "w", 1 = "r", 2 = "r", 4 = "r" }
labels = { 4 = "status" }
"#,
    )
    .unwrap();
    let mut c = Console::binary(
        &["--config", config.to_str().unwrap(), "--start", "calc"],
        dir.path(),
    );
    c.wait_text("┌ fdscope ", 20).await;
    c.wait_text("#1", 10).await;
    c.keys(b"i").await;
    c.keys(b"2^10\r").await;
    c.wait_text("│1024", 10).await;
    c.keys(b"\x04").await;
    c.wait_text("ended 0", 10).await;
    c.keys(b"\x1b").await;
    // Down to the second command, start it, write to its stdin, see fd 4.
    c.keys(b"j").await;
    c.keys(b"j").await;
    c.keys(b"\r").await;
    c.wait_text("fd 4 ← status", 10).await;
    c.keys(b"i").await;
    c.keys(b"hi\r").await;
    c.wait_text("got hi", 10).await;
    c.keys(b"\x1b").await;
    c.keys(b"q").await;
    let status = c.wait_end(20).await;
    assert!(status.success(), "{status}");
    assert!(!c.parser.screen().alternate_screen());
}

#[tokio::test]
async fn fdscope_without_a_config_lists_the_built_in_commands() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Console::binary(&[], dir.path());
    c.wait_text("┌ fdscope ", 20).await;
    for name in ["wc-verbose", "bc", "inherit"] {
        c.wait_text(&format!("▸ {name}"), 10).await;
    }
    c.keys(b"q").await;
    let status = c.wait_end(20).await;
    assert!(status.success(), "{status}");
}
