//! Running one measured child: stdout and stderr captured, a deadline, and the peak RSS
//! the kernel recorded for it (`wait4`'s `ru_maxrss`, the child's VmHWM at exit).

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a finished child left behind.
pub struct Finished {
    pub stdout: String,
    pub stderr: String,
    /// Exit code, or 128 + signal.
    pub code: i32,
    /// Peak resident set size in MiB.
    pub rss_mib: f64,
    /// Spawn to reap.
    pub wall: Duration,
}

fn pidfd_open(pid: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes two integers and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this fd to us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Waits for `pid` to exit (up to `timeout`, then SIGKILL), reaps it and returns its
/// shell-style code and peak RSS in MiB.
pub fn wait_measured(pid: i32, timeout: Duration) -> std::io::Result<(i32, f64, bool)> {
    let pidfd = pidfd_open(pid)?;
    let mut pfd = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let deadline = Instant::now() + timeout;
    let mut killed = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(i32::MAX as u128) as i32) };
        if n > 0 {
            break;
        }
        if n == 0 {
            // Not yet reaped by anyone, so the pid cannot have been reused.
            // SAFETY: kill takes two integers.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed = true;
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    let mut status = 0;
    // SAFETY: all-zero is a valid rusage.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4 writes the status and the rusage we pass by pointer.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    Ok((code, usage.ru_maxrss as f64 / 1024.0, killed))
}

/// Runs `cmd` to completion with stdout and stderr captured.
pub fn run(cmd: &mut Command, timeout: Duration) -> Result<Finished, String> {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    let pid = child.id() as i32;
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    // Both pipes are drained while the child runs so that neither can fill up.
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        text
    });
    let out_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        text
    });
    let (code, rss_mib, killed) =
        wait_measured(pid, timeout).map_err(|e| format!("waiting for {pid}: {e}"))?;
    let wall = start.elapsed();
    let stdout = out_reader.join().unwrap_or_default();
    let mut stderr = err_reader.join().unwrap_or_default();
    if killed {
        stderr.push_str(&format!("\n(killed after {timeout:?})"));
    }
    Ok(Finished {
        stdout,
        stderr,
        code,
        rss_mib,
        wall,
    })
}

/// The last `n` characters of `text`, on one line (for error messages).
pub fn tail(text: &str, n: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars: Vec<char> = flat.chars().collect();
    chars[chars.len().saturating_sub(n)..].iter().collect()
}
