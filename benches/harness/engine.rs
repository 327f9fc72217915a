//! The engine under test: `fdscope::spawn` on a current-thread runtime, consuming the
//! event stream the way a front end does (every event received, bytes counted).

use crate::worker::{self, Fairness, Metrics, FLOOD4_SCRIPT, LINE};
use bytes::Bytes;
use fdscope::{spawn, ChildFd, EventStream, ExitStatus, Process, ProcessEvent, ProcessSpec};
use std::time::{Duration, Instant};

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

fn start(spec: &ProcessSpec) -> Result<Process, String> {
    spawn(spec).map_err(|e| e.to_string())
}

/// Receives until `process_ended`, counting data bytes; returns (bytes, status).
async fn drain(events: &mut EventStream) -> (u64, Option<ExitStatus>) {
    let mut bytes = 0u64;
    while let Some(event) = events.recv().await {
        match event {
            ProcessEvent::ChildDataReceived { data, .. } => bytes += data.len() as u64,
            ProcessEvent::ProcessEnded { status } => return (bytes, Some(status)),
            _ => {}
        }
    }
    (bytes, None)
}

/// One child writes `n` bytes to fd 1; every chunk event is received and counted.
pub fn flood1(n: u64) -> Result<Metrics, String> {
    block_on(async {
        let t = Instant::now();
        let spec = ProcessSpec::new("head")
            .args(["head", "-c", &n.to_string(), "/dev/zero"])
            .child_fds([
                (0, ChildFd::Null),
                (1, ChildFd::Read),
                (2, ChildFd::Parent(2)),
            ]);
        let Process {
            transport,
            mut events,
        } = start(&spec)?;
        let (got, status) = drain(&mut events).await;
        let elapsed = t.elapsed();
        drop(transport);
        if status != Some(ExitStatus::Done) {
            return Err(format!("head ended with {status:?}"));
        }
        worker::flood_metrics(n, got, elapsed)
    })
}

/// Fds 1–4 flooded at once.
pub fn flood4(n: u64) -> Result<Metrics, String> {
    block_on(async {
        let t = Instant::now();
        let spec = ProcessSpec::new("sh")
            .args(["sh", "-c", FLOOD4_SCRIPT, "sh", &n.to_string()])
            .child_fds((1..=4).map(|fd| (fd, ChildFd::Read)));
        let Process {
            transport,
            mut events,
        } = start(&spec)?;
        let mut fair = Fairness::default();
        while let Some(event) = events.recv().await {
            match event {
                ProcessEvent::ChildDataReceived { fd, data } => fair.add(fd, data.len()),
                ProcessEvent::ChildConnectionLost { fd } => fair.eof(fd),
                ProcessEvent::ProcessEnded { .. } => break,
                _ => {}
            }
        }
        let elapsed = t.elapsed();
        drop(transport);
        fair.metrics(n, elapsed)
    })
}

/// `count` sequential `/bin/true` (default map: three pipes), each to `process_ended`.
pub fn spawn_seq(count: u64) -> Result<Metrics, String> {
    block_on(async {
        let t = Instant::now();
        let spec = ProcessSpec::new("/bin/true");
        let mut ended = 0;
        for _ in 0..count {
            let Process {
                transport,
                mut events,
            } = start(&spec)?;
            let (_, status) = drain(&mut events).await;
            drop(transport);
            ended += u64::from(status == Some(ExitStatus::Done));
        }
        worker::spawn_metrics(count, ended, t.elapsed())
    })
}

/// `count` `/bin/true` at once, each stream drained by its own task.
pub fn spawn_conc(count: u64) -> Result<Metrics, String> {
    block_on(async {
        let t = Instant::now();
        let spec = ProcessSpec::new("/bin/true");
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..count {
            let Process {
                transport,
                mut events,
            } = start(&spec)?;
            set.spawn(async move {
                let (_, status) = drain(&mut events).await;
                drop(transport);
                status == Some(ExitStatus::Done)
            });
        }
        let mut ended = 0;
        while let Some(done) = set.join_next().await {
            ended += u64::from(matches!(done, Ok(true)));
        }
        worker::spawn_metrics(count, ended, t.elapsed())
    })
}

/// A 16-byte line through `cat` and back, `count` times, via `transport.write`.
///
/// `in_task`: the loop runs in a spawned task rather than in `block_on` itself. tokio's
/// current-thread scheduler polls the I/O driver once more (a zero-timeout
/// `epoll_wait`) whenever a task wakes the `block_on` future, so the place of the
/// consumer changes the syscalls per event.
pub fn roundtrip(count: u64, in_task: bool) -> Result<Metrics, String> {
    if in_task {
        return block_on(async move {
            tokio::spawn(roundtrip_loop(count))
                .await
                .map_err(|e| e.to_string())?
        });
    }
    block_on(roundtrip_loop(count))
}

async fn roundtrip_loop(count: u64) -> Result<Metrics, String> {
    {
        let Process {
            transport,
            mut events,
        } = start(&ProcessSpec::new("cat"))?;
        let mut latencies = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let t = Instant::now();
            transport
                .write(Bytes::from_static(LINE))
                .map_err(|e| e.to_string())?;
            let mut got = 0;
            while got < LINE.len() {
                match events.recv().await {
                    Some(ProcessEvent::ChildDataReceived { fd: 1, data }) => got += data.len(),
                    Some(ProcessEvent::ProcessEnded { status }) => {
                        return Err(format!("cat ended early: {status}"))
                    }
                    Some(_) => {}
                    None => return Err("event stream ended".into()),
                }
            }
            latencies.push(t.elapsed().as_nanos() as u64);
        }
        transport.close_stdin().map_err(|e| e.to_string())?;
        drain(&mut events).await;
        Ok(worker::roundtrip_metrics(&latencies))
    }
}

/// Counts what `yes` writes for `duration`, then kills it and drains the rest.
pub fn drain_yes(duration: Duration) -> Result<Metrics, String> {
    block_on(async {
        let Process {
            transport,
            mut events,
        } = start(&ProcessSpec::new("yes").child_fds([(1, ChildFd::Read)]))?;
        let t = Instant::now();
        let mut got = 0u64;
        while t.elapsed() < duration {
            match events.recv().await {
                Some(ProcessEvent::ChildDataReceived { data, .. }) => got += data.len() as u64,
                Some(ProcessEvent::ProcessEnded { .. }) | None => {
                    return Err("yes ended early".into())
                }
                Some(_) => {}
            }
        }
        let elapsed = t.elapsed();
        let _ = transport.signal_process(fdscope::Signal::SIGKILL);
        drain(&mut events).await;
        Ok(worker::drain_metrics(got, elapsed))
    })
}
