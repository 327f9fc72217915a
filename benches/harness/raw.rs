//! The practical limits: plain `std::process` with blocking reads and writes, no event
//! loop, one 256 KiB buffer reused for every read; and shell pipelines timed whole.

use crate::worker::{self, Fairness, Metrics, FLOOD4_SCRIPT, LINE};
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::pipe2;
use std::io::{Read, Write};
use std::os::fd::{AsFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Read size of every blocking reader here.
pub const READ_SIZE: usize = 256 * 1024;

fn err(what: &str) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// Times `sh -c script` (which moves `total` bytes) from spawn to exit.
pub fn shell(script: &str, total: u64) -> Result<Metrics, String> {
    let start = Instant::now();
    let status = Command::new("sh")
        .args(["-c", script])
        .status()
        .map_err(err("sh"))?;
    let elapsed = start.elapsed();
    if !status.success() {
        return Err(format!("sh -c {script:?}: {status}"));
    }
    worker::flood_metrics(total, total, elapsed)
}

/// One child writes `n` bytes to its stdout; a blocking loop reads them all.
pub fn flood1(n: u64) -> Result<Metrics, String> {
    let start = Instant::now();
    let mut child = Command::new("head")
        .args(["-c", &n.to_string(), "/dev/zero"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(err("head"))?;
    let mut out = child.stdout.take().expect("piped");
    let mut buf = vec![0u8; READ_SIZE];
    let mut got = 0u64;
    loop {
        match out.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => got += k as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    child.wait().map_err(err("wait"))?;
    worker::flood_metrics(n, got, start.elapsed())
}

/// A pipe whose write end sits at fd 10 or above, so dup2 onto 3 and 4 cannot clobber it.
fn high_pipe() -> Result<(OwnedFd, RawFd, OwnedFd), String> {
    let (read, write) = pipe2(OFlag::O_CLOEXEC).map_err(|e| format!("pipe: {e}"))?;
    let high = fcntl(write.as_fd(), FcntlArg::F_DUPFD_CLOEXEC(10)).map_err(|e| e.to_string())?;
    drop(write);
    // SAFETY: F_DUPFD_CLOEXEC just returned this fd and nothing else owns it.
    let high_owned = unsafe { OwnedFd::from_raw_fd(high) };
    Ok((read, high, high_owned))
}

/// Four pipes flooded at once, drained by one thread with `poll` and blocking reads.
pub fn flood4(n: u64) -> Result<Metrics, String> {
    let start = Instant::now();
    let (r3, w3, w3_owned) = high_pipe()?;
    let (r4, w4, w4_owned) = high_pipe()?;
    let mut cmd = Command::new("sh");
    cmd.args(["-c", FLOOD4_SCRIPT, "sh", &n.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: the closure runs between fork and exec and calls only dup2, which is
    // async-signal-safe; dup2 leaves the new fds 3 and 4 without close-on-exec.
    unsafe {
        cmd.pre_exec(move || {
            for (from, to) in [(w3, 3), (w4, 4)] {
                if libc::dup2(from, to) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(err("sh"))?;
    drop((w3_owned, w4_owned));
    let fds: [OwnedFd; 4] = [
        child.stdout.take().expect("piped").into(),
        child.stderr.take().expect("piped").into(),
        r3,
        r4,
    ];
    let mut files: Vec<Option<std::fs::File>> = fds
        .into_iter()
        .map(|f| Some(std::fs::File::from(f)))
        .collect();
    let mut fair = Fairness::default();
    let mut buf = vec![0u8; READ_SIZE];
    while files.iter().any(Option::is_some) {
        let open: Vec<usize> = (0..4).filter(|&i| files[i].is_some()).collect();
        let mut ready = [false; 4];
        {
            let mut pfds: Vec<PollFd> = open
                .iter()
                .map(|&i| PollFd::new(files[i].as_ref().unwrap().as_fd(), PollFlags::POLLIN))
                .collect();
            match poll(&mut pfds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(nix::Error::EINTR) => continue,
                Err(e) => return Err(format!("poll: {e}")),
            }
            for (k, pfd) in pfds.iter().enumerate() {
                if pfd.revents().is_some_and(|r| !r.is_empty()) {
                    ready[open[k]] = true;
                }
            }
        }
        for i in 0..4 {
            if !ready[i] {
                continue;
            }
            let fd = i as i32 + 1;
            match files[i].as_mut().unwrap().read(&mut buf) {
                Ok(0) => {
                    fair.eof(fd);
                    files[i] = None;
                }
                Ok(k) => fair.add(fd, k),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("read fd {fd}: {e}")),
            }
        }
    }
    child.wait().map_err(err("wait"))?;
    fair.metrics(n, start.elapsed())
}

/// `count` sequential `/bin/true`, each spawned and waited for (piped: read to EOF).
pub fn spawn_seq(count: u64, how: StdSpawn) -> Result<Metrics, String> {
    let start = Instant::now();
    let mut ended = 0;
    for _ in 0..count {
        let mut cmd = true_command(how);
        let ok = if how == StdSpawn::Plain {
            cmd.status().map_err(err("/bin/true"))?.success()
        } else {
            cmd.output().map_err(err("/bin/true"))?.status.success()
        };
        ended += u64::from(ok);
    }
    worker::spawn_metrics(count, ended, start.elapsed())
}

/// How the std baseline spawns.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum StdSpawn {
    /// Inherited stdio: std uses posix_spawn (a vfork-style clone).
    Plain,
    /// stdin, stdout and stderr as pipes, read to EOF (the engine's default map).
    Piped,
    /// Three pipes and a no-op `pre_exec`, which makes std fork() like the engine does.
    PipedFork,
}

fn true_command(how: StdSpawn) -> Command {
    let mut cmd = Command::new("/bin/true");
    if how != StdSpawn::Plain {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
    }
    if how == StdSpawn::PipedFork {
        // SAFETY: the closure does nothing; it only makes std take its fork path.
        unsafe {
            cmd.pre_exec(|| Ok(()));
        }
    }
    cmd
}

/// `count` `/bin/true` spawned at once, then all waited for.
pub fn spawn_conc(count: u64, how: StdSpawn) -> Result<Metrics, String> {
    let start = Instant::now();
    let mut children = Vec::new();
    for _ in 0..count {
        let mut cmd = true_command(how);
        children.push(cmd.spawn().map_err(err("/bin/true"))?);
    }
    let mut ended = 0;
    for child in children {
        let out = child.wait_with_output().map_err(err("wait"))?;
        ended += u64::from(out.status.success());
    }
    worker::spawn_metrics(count, ended, start.elapsed())
}

/// A 16-byte line written to `cat` and read back, `count` times, blocking both ways.
pub fn roundtrip(count: u64) -> Result<Metrics, String> {
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(err("cat"))?;
    let mut stdin = child.stdin.take().expect("piped");
    let mut stdout = child.stdout.take().expect("piped");
    let mut latencies = Vec::with_capacity(count as usize);
    let mut buf = [0u8; 64];
    for _ in 0..count {
        let t = Instant::now();
        stdin.write_all(LINE).map_err(err("write"))?;
        let mut got = 0;
        while got < LINE.len() {
            match stdout.read(&mut buf[got..]) {
                Ok(0) => return Err("cat closed its stdout".into()),
                Ok(k) => got += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("read: {e}")),
            }
        }
        latencies.push(t.elapsed().as_nanos() as u64);
    }
    drop(stdin);
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).map_err(err("read"))?;
    child.wait().map_err(err("wait"))?;
    Ok(worker::roundtrip_metrics(&latencies))
}

/// Reads what `yes` writes for `duration` with a blocking loop.
pub fn drain_yes(duration: Duration) -> Result<Metrics, String> {
    let mut child = Command::new("yes")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(err("yes"))?;
    let mut out = child.stdout.take().expect("piped");
    let mut buf = vec![0u8; READ_SIZE];
    let start = Instant::now();
    let mut got = 0u64;
    while start.elapsed() < duration {
        match out.read(&mut buf) {
            Ok(0) => return Err("yes stopped".into()),
            Ok(k) => got += k as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    let elapsed = start.elapsed();
    let _ = child.kill();
    drop(out);
    let _ = child.wait();
    Ok(worker::drain_metrics(got, elapsed))
}

/// Reads what `yes` writes to a pty for `duration` with a blocking loop on the master:
/// the kernel's pty is the limit a console on a pty can reach. The rate is what `yes`
/// wrote (`wchar`), as for the consoles, not the bytes read (the terminal adds a `\r`
/// per line).
pub fn drain_yes_pty(duration: Duration) -> Result<Metrics, String> {
    use crate::console::{proc_field, COLS, ROWS};
    let size = nix::pty::Winsize {
        ws_row: ROWS,
        ws_col: COLS,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(Some(&size), None).map_err(|e| format!("openpty: {e}"))?;
    let slave = std::fs::File::from(pty.slave);
    let mut child = Command::new("yes")
        .stdin(Stdio::null())
        .stdout(slave.try_clone().map_err(err("dup"))?)
        .stderr(Stdio::null())
        .spawn()
        .map_err(err("yes"))?;
    drop(slave);
    let mut master = std::fs::File::from(pty.master);
    let io = format!("/proc/{}/io", child.id());
    let mut buf = vec![0u8; READ_SIZE];
    let mut read_for = |d: Duration| -> Result<(), String> {
        let start = Instant::now();
        while start.elapsed() < d {
            match master.read(&mut buf) {
                Ok(0) => return Err("yes stopped".into()),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("read: {e}")),
            }
        }
        Ok(())
    };
    read_for(Duration::from_millis(200))?;
    let start = Instant::now();
    let w0 = proc_field(&io, "wchar").ok_or("no wchar")?;
    read_for(duration)?;
    let w1 = proc_field(&io, "wchar").ok_or("no wchar")?;
    let elapsed = start.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    Ok(worker::drain_metrics(w1 - w0, elapsed))
}
