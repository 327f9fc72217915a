//! The interactive console with `--listen`, on a pty of its own, driven by `fdscope ctl`:
//! what a client does shows on the screen at once, as if typed.

mod control_support;
mod tui_support;

use control_support::{ctl, ctl_ok, wait_output, Place};
use tui_support::Console;

#[tokio::test(flavor = "current_thread")]
async fn ctl_drives_the_console_and_the_screen_shows_it() {
    let place = Place::new();
    let config = place.config.to_str().unwrap().to_string();
    let socket = place.socket.to_str().unwrap().to_string();
    let mut console = Console::binary(
        &["--config", &config, "--listen", &socket],
        place.dir.path(),
    );
    console.wait_text("bc-pty", 20).await;
    let s = place.socket.clone();
    let run = |args: &'static [&'static str]| {
        let s = s.clone();
        tokio::task::spawn_blocking(move || ctl_ok(&s, args))
    };
    // The console must keep drawing (its output read) while a client waits for it.
    async fn pumped<T>(console: &mut Console, task: tokio::task::JoinHandle<T>) -> T {
        while !task.is_finished() {
            console.pump(std::time::Duration::from_millis(20)).await;
        }
        task.await.unwrap()
    }

    assert_eq!(
        pumped(&mut console, run(&["start", "bc"])).await.trim(),
        "bc#1"
    );
    console.wait_text("pid", 20).await;
    pumped(&mut console, run(&["write", "bc", "0", r"2^10\n"])).await;
    // bc's pane shows the answer: the client's write went where a typed line goes.
    console.wait_text("1024", 20).await;
    let s2 = s.clone();
    let out = pumped(
        &mut console,
        tokio::task::spawn_blocking(move || wait_output(&s2, "bc#1", "1", "1024")),
    )
    .await;
    assert_eq!(out, "1024\n");

    // A pty instance: its screen holds the echo and the answer.
    assert_eq!(
        pumped(&mut console, run(&["start", "bc-pty"])).await.trim(),
        "bc-pty#1"
    );
    pumped(&mut console, run(&["write", "bc-pty", "0", r"7*6\n"])).await;
    console.wait_text("7*6", 20).await;
    console.wait_text("42", 20).await;

    // Close bc's stdin: it ends, wait returns its exit code, the list says so.
    pumped(&mut console, run(&["close", "bc#1", "0"])).await;
    let s3 = s.clone();
    let waited = pumped(
        &mut console,
        tokio::task::spawn_blocking(move || ctl(&s3, &["wait", "bc#1"])),
    )
    .await;
    assert_eq!(waited.status.code(), Some(0));
    console.wait_text("ended 0", 20).await;

    // quit from the client leaves the console as `q` does, and the socket goes with it.
    let s4 = s.clone();
    let quit = tokio::task::spawn_blocking(move || ctl(&s4, &["quit"]));
    let status = console.wait_end(30).await;
    assert_eq!(quit.await.unwrap().status.code(), Some(0));
    assert_eq!(status.exit_code(), Some(0));
    assert!(!place.socket.exists());
}
