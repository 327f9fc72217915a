//! The real `fdscope` binary as a remote-control server (`serve`) and client (`ctl`), on a
//! socket in a temporary directory. Every wait is bounded by a deadline.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub const EXE: &str = env!("CARGO_BIN_EXE_fdscope");

/// The commands the tests use; a short grace period so stops end quickly.
pub const CONFIG: &str = r#"
[console]
stop_grace_ms = 500

[[command]]
name = "bc"
program = "bc"
args = ["bc", "-q"]

[[command]]
name = "bc-pty"
program = "bc"
args = ["bc", "-q"]
pty = true

[[command]]
name = "flood"
program = "yes"
args = ["yes", "a line of output, again and again, as fast as the pipe takes it"]

[[command]]
name = "sleeper"
program = "sleep"
args = ["sleep", "1000"]

[[command]]
name = "holder"
program = "sh"
args = ["sh", "-c", "sleep 20 & echo started"]
"#;

/// A temporary directory with the config, and the socket path in it.
pub struct Place {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub socket: PathBuf,
}

impl Place {
    pub fn new() -> Place {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("fdscope.toml");
        std::fs::write(&config, CONFIG).unwrap();
        let socket = dir.path().join("ctl.sock");
        Place {
            dir,
            config,
            socket,
        }
    }
}

/// A running `fdscope serve`.
pub struct Serve {
    pub child: Child,
    pub stderr: BufReader<std::process::ChildStderr>,
}

impl Serve {
    /// Starts `serve` on `place` with `--start` for each of `start`; returns once it says
    /// it is listening.
    pub fn start(place: &Place, start: &[&str]) -> Serve {
        let serve = Serve::spawn(place, start);
        serve.expect_listening()
    }

    /// Starts `serve` without waiting.
    pub fn spawn(place: &Place, start: &[&str]) -> Serve {
        let mut cmd = Command::new(EXE);
        cmd.arg("serve")
            .arg("--config")
            .arg(&place.config)
            .arg("--listen")
            .arg(&place.socket);
        for name in start {
            cmd.args(["--start", name]);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        Serve { child, stderr }
    }

    /// Reads stderr until `fdscope: listening on …` (the socket is bound by then).
    pub fn expect_listening(mut self) -> Serve {
        let mut line = String::new();
        self.stderr.read_line(&mut line).unwrap();
        assert!(
            line.starts_with("fdscope: listening on "),
            "serve said {line:?}"
        );
        self
    }

    /// Everything else serve writes to stderr, once it has ended.
    pub fn rest_of_stderr(&mut self) -> String {
        let mut rest = String::new();
        let _ = self.stderr.read_to_string(&mut rest);
        rest
    }

    /// Waits (bounded) for serve to end; its exit code.
    pub fn wait(&mut self, secs: u64) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "serve did not end");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `fdscope ctl --socket SOCKET ARGS…` to completion.
pub fn ctl(socket: &Path, args: &[&str]) -> Output {
    Command::new(EXE)
        .arg("ctl")
        .arg("--socket")
        .arg(socket)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// `ctl` that must succeed; its stdout.
pub fn ctl_ok(socket: &Path, args: &[&str]) -> String {
    let out = ctl(socket, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "ctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Polls `ctl output ID FD` until it holds `text` (a deadline, not a timing assertion).
pub fn wait_output(socket: &Path, id: &str, fd: &str, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = ctl_ok(socket, &["output", id, fd]);
        if out.contains(text) {
            return out;
        }
        assert!(
            Instant::now() < deadline,
            "{id} fd {fd} never showed {text:?}: {out:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A raw client: one connection, lines in and out.
pub struct Client {
    pub stream: UnixStream,
    reader: BufReader<UnixStream>,
}

impl Client {
    pub fn connect(socket: &Path) -> Client {
        let stream = UnixStream::connect(socket).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Client { stream, reader }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// The next line, as JSON.
    pub fn line(&mut self) -> serde_json::Value {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).unwrap();
        assert!(n > 0, "connection closed");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    }

    /// Sends one request line, returns the reply.
    pub fn ask(&mut self, request: &str) -> serde_json::Value {
        self.send(format!("{request}\n").as_bytes());
        self.line()
    }
}
