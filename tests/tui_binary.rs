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

/// Key `o` on a child that exited while its grandchild holds its pipes: the inspector
/// says who holds them; the header shows the instance has not ended. And the console
/// names where its config came from (`./fdscope.toml` in the directory).
#[tokio::test]
async fn o_shows_who_holds_the_pipes_of_an_exited_child() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("fdscope.toml"),
        r#"
[console]
stop_grace_ms = 500

[[command]]
name = "holder"
program = "sh"
# The quotes keep the header's command line from matching the output's text.
args = ["sh", "-c", "sleep 30 & echo $! is the grand''child"]
"#,
    )
    .unwrap();
    let mut c = Console::binary(&["--start", "holder"], dir.path());
    c.wait_text("./fdscope.toml", 20).await;
    c.wait_text("is the grandchild", 10).await;
    c.wait_text("exited 0", 10).await;
    let screen = c.screen();
    let grandchild: u32 = regex::Regex::new(r"(\d+) is the grandchild")
        .unwrap()
        .captures(&screen)
        .and_then(|c| c[1].parse().ok())
        .unwrap_or_else(|| panic!("the grandchild's pid on screen:\n{screen}"));
    c.keys(b"o").await;
    c.wait_text("still open after the child exited", 10).await;
    c.wait_text(&format!("fd 1: held by pid {grandchild} (sleep)"), 10)
        .await;
    c.wait_text("exited and reaped", 10).await;
    c.keys(b"\x1b").await;
    c.wait_text("▸ holder", 10).await;
    kill_grandchild(grandchild);
    c.wait_text("ended 0", 10).await;
    c.keys(b"q").await;
    let status = c.wait_end(20).await;
    assert!(status.success(), "{status}");
}

fn kill_grandchild(pid: u32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
}
