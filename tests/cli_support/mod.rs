//! Runs the real `fdscope` binary with every wait bounded: its output is read on threads
//! (a full pipe never stalls it), and a run past its deadline is killed and reported.

#![allow(dead_code)]

use std::io::Read;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A pipe read on a thread of its own; what arrived so far is in `seen`.
pub struct Stream {
    rx: mpsc::Receiver<Vec<u8>>,
    /// Everything read so far.
    pub seen: Vec<u8>,
    /// True once the writer side closed (or failed).
    pub ended: bool,
}

impl Stream {
    /// Reads `pipe` on a thread until its end.
    pub fn new(mut pipe: impl Read + Send + 'static) -> Stream {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Stream {
            rx,
            seen: Vec::new(),
            ended: false,
        }
    }

    /// What was read so far, lossily decoded.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen).into_owned()
    }

    /// Takes what arrives until `deadline`, or until `done(seen)` holds or the pipe ends.
    /// True if `done` holds.
    pub fn wait(&mut self, deadline: Instant, done: impl Fn(&[u8]) -> bool) -> bool {
        while !done(&self.seen) && !self.ended {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(data) => self.seen.extend_from_slice(&data),
                Err(mpsc::RecvTimeoutError::Disconnected) => self.ended = true,
                Err(mpsc::RecvTimeoutError::Timeout) => break,
            }
        }
        done(&self.seen)
    }

    /// Waits until the text read contains `text`; true if it does by `deadline`.
    pub fn wait_text(&mut self, text: &str, deadline: Instant) -> bool {
        self.wait(deadline, |seen| {
            String::from_utf8_lossy(seen).contains(text)
        })
    }

    /// Reads to the end of the pipe; true if it ended by `deadline`.
    pub fn wait_end(&mut self, deadline: Instant) -> bool {
        self.wait(deadline, |_| false);
        self.ended
    }
}

/// A started `fdscope` (or any command) whose stdout and stderr are read on threads.
pub struct Running {
    pub child: Child,
    pub stdout: Stream,
    pub stderr: Stream,
}

impl Running {
    /// Starts `command` with stdout and stderr piped (stdin as the caller set it).
    pub fn start(command: &mut Command) -> Running {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the command");
        let out: ChildStdout = child.stdout.take().unwrap();
        let err: ChildStderr = child.stderr.take().unwrap();
        Running {
            child,
            stdout: Stream::new(out),
            stderr: Stream::new(err),
        }
    }

    /// Waits for the exit and the end of both pipes by `deadline`; on time, the output.
    /// Past the deadline the process is killed and `Err` carries what it printed.
    pub fn finish(mut self, deadline: Instant) -> Result<Output, String> {
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break Some(status);
            }
            if Instant::now() >= deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let pipes =
            status.is_some() && self.stdout.wait_end(deadline) && self.stderr.wait_end(deadline);
        match status {
            Some(status) if pipes => Ok(Output {
                status,
                stdout: self.stdout.seen,
                stderr: self.stderr.seen,
            }),
            _ => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                Err(format!(
                    "still running at the deadline; stdout {:?}, stderr {:?}",
                    self.stdout.text(),
                    self.stderr.text()
                ))
            }
        }
    }

    /// The exit status, waited for until `deadline` (then killed, and a panic).
    pub fn wait_status(&mut self, deadline: Instant) -> ExitStatus {
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("still running at the deadline");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Runs `command` to its end (stdout and stderr read), or panics after `secs`.
pub fn output_within(command: &mut Command, secs: u64) -> Output {
    let what = format!("{command:?}");
    Running::start(command)
        .finish(Instant::now() + Duration::from_secs(secs))
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}
