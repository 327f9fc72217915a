//! tmux, the console a user would otherwise reach for: a `yes` pane in a detached tmux
//! server of the console's size, drained by tmux itself. Its own server (`-L`), no user
//! config (`-f /dev/null`), so nothing of the user's tmux is touched or counted.

use crate::console::{proc_field, COLS, ROWS};
use crate::worker::{Metrics, MIB};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A private tmux server, killed when dropped.
struct Server {
    socket: String,
}

impl Server {
    fn tmux(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", &self.socket, "-f", "/dev/null"])
            .stdin(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self
            .tmux()
            .arg("kill-server")
            .stdout(Stdio::null())
            .status();
    }
}

/// How fast tmux lets `yes` write, over `window` after a short warm-up (`None`: tmux is
/// not installed).
pub fn drain_yes(window: Duration) -> Option<Result<Metrics, String>> {
    let version = Command::new("tmux").arg("-V").output().ok()?;
    if !version.status.success() {
        return None;
    }
    let server = Server {
        socket: format!("fdscope-bench-{}", std::process::id()),
    };
    let started = server
        .tmux()
        .args([
            "new-session",
            "-d",
            "-x",
            &COLS.to_string(),
            "-y",
            &ROWS.to_string(),
            "yes",
        ])
        .output();
    match started {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            return Some(Err(format!(
                "tmux new-session: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
        Err(e) => return Some(Err(format!("tmux: {e}"))),
    }
    let pane = server
        .tmux()
        .args(["list-panes", "-F", "#{pane_pid}"])
        .output()
        .ok()
        .and_then(|out| {
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse::<u32>()
                .ok()
        });
    let Some(yes) = pane else {
        return Some(Err("tmux list-panes gave no pane pid".into()));
    };
    let io = format!("/proc/{yes}/io");
    std::thread::sleep(Duration::from_millis(500));
    let t0 = Instant::now();
    let w0 = proc_field(&io, "wchar");
    std::thread::sleep(window);
    let w1 = proc_field(&io, "wchar");
    let elapsed = t0.elapsed().as_secs_f64();
    Some(match (w0, w1) {
        (Some(w0), Some(w1)) => Ok(Metrics::from([(
            "mib_s".to_string(),
            (w1 - w0) as f64 / MIB / elapsed,
        )])),
        _ => Err("yes in tmux ended early".into()),
    })
}
