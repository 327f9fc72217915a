//! The peer: `tokio::process` on a current-thread runtime, as a user of tokio would
//! write each workload without fdscope (one reused 256 KiB buffer per reader).

use crate::raw::READ_SIZE;
use crate::worker::{self, Fairness, Metrics, FLOOD4_SCRIPT, LINE};
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::unistd::pipe2;
use std::cell::RefCell;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::process::Stdio;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::process::Command;

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

fn err<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// One child writes `n` bytes to its stdout; read with `AsyncReadExt::read`.
pub fn flood1(n: u64) -> Result<Metrics, String> {
    block_on(async {
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
            let k = out.read(&mut buf).await.map_err(err("read"))?;
            if k == 0 {
                break;
            }
            got += k as u64;
        }
        child.wait().await.map_err(err("wait"))?;
        worker::flood_metrics(n, got, start.elapsed())
    })
}

async fn count<R: AsyncRead + Unpin>(
    fd: i32,
    mut reader: R,
    fair: &RefCell<Fairness>,
) -> Result<(), String> {
    let mut buf = vec![0u8; READ_SIZE];
    loop {
        let k = reader.read(&mut buf).await.map_err(err("read"))?;
        if k == 0 {
            fair.borrow_mut().eof(fd);
            return Ok(());
        }
        fair.borrow_mut().add(fd, k);
    }
}

/// Four pipes flooded at once, each read by its own future on one thread.
pub fn flood4(n: u64) -> Result<Metrics, String> {
    block_on(async {
        let start = Instant::now();
        let mut ends = Vec::new();
        for _ in 0..2 {
            let (read, write) = pipe2(OFlag::O_CLOEXEC).map_err(err("pipe"))?;
            let high = fcntl(write.as_fd(), FcntlArg::F_DUPFD_CLOEXEC(10)).map_err(err("dup"))?;
            drop(write);
            // SAFETY: F_DUPFD_CLOEXEC just returned this fd and nothing else owns it.
            ends.push((read, high, unsafe { OwnedFd::from_raw_fd(high) }));
        }
        let (w3, w4) = (ends[0].1, ends[1].1);
        let mut cmd = Command::new("sh");
        cmd.args(["-c", FLOOD4_SCRIPT, "sh", &n.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: runs between fork and exec; dup2 is async-signal-safe.
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
        let mut readers = Vec::new();
        for (read, _, write) in ends {
            drop(write);
            readers.push(pipe::Receiver::from_owned_fd(read).map_err(err("register"))?);
        }
        let r4 = readers.pop().expect("two pipes");
        let r3 = readers.pop().expect("two pipes");
        let fair = RefCell::new(Fairness::default());
        let (a, b, c, d) = tokio::join!(
            count(1, child.stdout.take().expect("piped"), &fair),
            count(2, child.stderr.take().expect("piped"), &fair),
            count(3, r3, &fair),
            count(4, r4, &fair),
        );
        a.and(b).and(c).and(d)?;
        child.wait().await.map_err(err("wait"))?;
        let elapsed = start.elapsed();
        let result = fair.borrow().metrics(n, elapsed);
        result
    })
}

fn true_with_pipes() -> Command {
    let mut cmd = Command::new("/bin/true");
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// `count` sequential `/bin/true` with three pipes, each read to EOF and reaped.
pub fn spawn_seq(count: u64) -> Result<Metrics, String> {
    block_on(async {
        let start = Instant::now();
        let mut ended = 0;
        for _ in 0..count {
            let child = true_with_pipes().spawn().map_err(err("/bin/true"))?;
            let out = child.wait_with_output().await.map_err(err("wait"))?;
            ended += u64::from(out.status.success());
        }
        worker::spawn_metrics(count, ended, start.elapsed())
    })
}

/// `count` `/bin/true` at once, each awaited in its own task.
pub fn spawn_conc(count: u64) -> Result<Metrics, String> {
    block_on(async {
        let start = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..count {
            let child = true_with_pipes().spawn().map_err(err("/bin/true"))?;
            set.spawn(async move { child.wait_with_output().await.map(|o| o.status.success()) });
        }
        let mut ended = 0;
        while let Some(done) = set.join_next().await {
            ended += u64::from(matches!(done, Ok(Ok(true))));
        }
        worker::spawn_metrics(count, ended, start.elapsed())
    })
}

/// A 16-byte line through `cat` and back, `count` times.
pub fn roundtrip(count: u64) -> Result<Metrics, String> {
    block_on(async {
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
            stdin.write_all(LINE).await.map_err(err("write"))?;
            let mut got = 0;
            while got < LINE.len() {
                let k = stdout.read(&mut buf[got..]).await.map_err(err("read"))?;
                if k == 0 {
                    return Err("cat closed its stdout".into());
                }
                got += k;
            }
            latencies.push(t.elapsed().as_nanos() as u64);
        }
        drop(stdin);
        let mut rest = Vec::new();
        stdout.read_to_end(&mut rest).await.map_err(err("read"))?;
        child.wait().await.map_err(err("wait"))?;
        Ok(worker::roundtrip_metrics(&latencies))
    })
}
