//! Helpers shared by the engine's integration tests (`tests/engine_*.rs`).
//!
//! Every wait goes through [`within`], so an engine bug shows up as a failed test with the
//! events seen so far, never as a hung test run.

#![allow(dead_code)]

use fdscope::{spawn, ExitStatus, Process, ProcessEvent, ProcessSpec};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

/// The longest any single wait in these tests may take.
pub const LIMIT: Duration = Duration::from_secs(20);

/// Awaits `fut`, failing the test with `what` if it takes longer than [`LIMIT`].
pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(LIMIT, fut).await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {LIMIT:?} waiting for {what}"),
    }
}

/// Spawns `spec`, failing the test with the spawn error.
pub fn start(spec: &ProcessSpec) -> Process {
    match spawn(spec) {
        Ok(process) => process,
        Err(e) => panic!("spawn of {:?} failed: {e}", spec.program),
    }
}

/// Every event of a finished child, with accessors for what tests check.
#[derive(Debug)]
pub struct Run {
    pub events: Vec<ProcessEvent>,
}

impl Run {
    /// Receives the rest of `process`'s events (until `ProcessEnded`).
    pub async fn finish(process: &mut Process) -> Run {
        Run::finish_after(process, Vec::new()).await
    }

    /// Like [`Run::finish`], with events already received put in front.
    pub async fn finish_after(process: &mut Process, mut events: Vec<ProcessEvent>) -> Run {
        loop {
            let next = tokio::time::timeout(LIMIT, process.events.recv()).await;
            match next {
                Ok(Some(event)) => events.push(event),
                Ok(None) => break,
                Err(_) => panic!(
                    "timed out after {LIMIT:?} waiting for the end; events so far:\n{}",
                    summary(&events)
                ),
            }
        }
        Run { events }
    }

    /// Everything received on `fd`, concatenated.
    pub fn data(&self, fd: i32) -> Vec<u8> {
        let mut all = Vec::new();
        for event in &self.events {
            if let ProcessEvent::ChildDataReceived { fd: f, data } = event {
                if *f == fd {
                    all.extend_from_slice(data);
                }
            }
        }
        all
    }

    /// [`Run::data`] as text.
    pub fn text(&self, fd: i32) -> String {
        String::from_utf8_lossy(&self.data(fd)).into_owned()
    }

    /// The status of `ProcessEnded` (after checking it matches `ProcessExited`).
    pub fn status(&self) -> ExitStatus {
        let exited = self.events.iter().find_map(|e| match e {
            ProcessEvent::ProcessExited { status } => Some(*status),
            _ => None,
        });
        let ended = self.events.iter().find_map(|e| match e {
            ProcessEvent::ProcessEnded { status } => Some(*status),
            _ => None,
        });
        assert_eq!(exited, ended, "exited and ended disagree: {}", self.show());
        ended.expect("no ProcessEnded")
    }

    /// The fds that got a `ChildConnectionLost`, in arrival order.
    pub fn lost(&self) -> Vec<i32> {
        self.events
            .iter()
            .filter_map(|e| match e {
                ProcessEvent::ChildConnectionLost { fd } => Some(*fd),
                _ => None,
            })
            .collect()
    }

    /// The position of the first event matching `pred`.
    pub fn position(&self, pred: impl Fn(&ProcessEvent) -> bool) -> Option<usize> {
        self.events.iter().position(pred)
    }

    /// Index of `ProcessExited`.
    pub fn exited_at(&self) -> usize {
        self.position(|e| matches!(e, ProcessEvent::ProcessExited { .. }))
            .expect("no ProcessExited")
    }

    /// Index of `ChildConnectionLost { fd }`.
    pub fn lost_at(&self, fd: i32) -> usize {
        self.position(|e| matches!(e, ProcessEvent::ChildConnectionLost { fd: f } if *f == fd))
            .unwrap_or_else(|| panic!("no ChildConnectionLost for fd {fd}: {}", self.show()))
    }

    /// Asserts the event contract (ARCHITECTURE.md) for a child whose pipes are `pipes`
    /// (child fd numbers that must each be lost exactly once; no other fd may be).
    pub fn assert_contract(&self, pipes: &[i32]) {
        let show = self.show();
        assert!(
            matches!(
                self.events.first(),
                Some(ProcessEvent::ConnectionMade { .. })
            ),
            "connection_made must be first: {show}"
        );
        let made = self
            .events
            .iter()
            .filter(|e| matches!(e, ProcessEvent::ConnectionMade { .. }))
            .count();
        assert_eq!(made, 1, "one connection_made: {show}");
        let exited = self
            .events
            .iter()
            .filter(|e| matches!(e, ProcessEvent::ProcessExited { .. }))
            .count();
        assert_eq!(exited, 1, "one process_exited: {show}");
        let ended: Vec<usize> = self
            .events
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(e, ProcessEvent::ProcessEnded { .. }))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(
            ended,
            vec![self.events.len() - 1],
            "one process_ended, last: {show}"
        );
        assert!(self.exited_at() < ended[0], "exited before ended: {show}");

        let mut lost_count: BTreeMap<i32, usize> = BTreeMap::new();
        let mut gone = BTreeSet::new();
        for event in &self.events {
            match event {
                ProcessEvent::ChildDataReceived { fd, data } => {
                    assert!(!data.is_empty(), "empty data chunk on fd {fd}: {show}");
                    assert!(
                        !gone.contains(fd),
                        "data on fd {fd} after its connection was lost: {show}"
                    );
                }
                ProcessEvent::ChildConnectionLost { fd } => {
                    *lost_count.entry(*fd).or_default() += 1;
                    gone.insert(*fd);
                }
                _ => {}
            }
        }
        let expected: BTreeMap<i32, usize> = pipes.iter().map(|fd| (*fd, 1)).collect();
        assert_eq!(
            lost_count, expected,
            "one child_connection_lost per pipe: {show}"
        );
    }

    /// The events, one per line, data shortened, for failure messages.
    pub fn show(&self) -> String {
        summary(&self.events)
    }
}

/// The events, one per line, data shortened, for failure messages.
pub fn summary(events: &[ProcessEvent]) -> String {
    let mut out = String::from("\n");
    for event in events {
        let line = match event {
            ProcessEvent::ChildDataReceived { fd, data } => {
                let text = String::from_utf8_lossy(&data[..data.len().min(80)]);
                format!("  data fd {fd} ({} bytes) {text:?}", data.len())
            }
            other => format!("  {other:?}"),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Spawns `spec` and returns all its events.
pub async fn run_all(spec: &ProcessSpec) -> Run {
    let mut process = start(spec);
    Run::finish(&mut process).await
}

/// Receives events until fd `fd` has delivered data containing `needle`; returns the
/// events received so far (to be passed to [`Run::finish_after`]).
pub async fn until_data(process: &mut Process, fd: i32, needle: &[u8]) -> Vec<ProcessEvent> {
    until_data_after(process, fd, needle, Vec::new()).await
}

/// [`until_data`], continuing from `events` already received.
pub async fn until_data_after(
    process: &mut Process,
    fd: i32,
    needle: &[u8],
    mut events: Vec<ProcessEvent>,
) -> Vec<ProcessEvent> {
    let mut seen: Vec<u8> = Vec::new();
    for event in &events {
        if let ProcessEvent::ChildDataReceived { fd: f, data } = event {
            if *f == fd {
                seen.extend_from_slice(data);
            }
        }
    }
    while !contains(&seen, needle) {
        let next = tokio::time::timeout(LIMIT, process.events.recv()).await;
        match next {
            Ok(Some(event)) => {
                if let ProcessEvent::ChildDataReceived { fd: f, data } = &event {
                    if *f == fd {
                        seen.extend_from_slice(data);
                    }
                }
                events.push(event);
            }
            Ok(None) => panic!(
                "events ended before fd {fd} said {:?}:{}",
                String::from_utf8_lossy(needle),
                summary(&events)
            ),
            Err(_) => panic!(
                "timed out waiting for {:?} on fd {fd}; events so far:{}",
                String::from_utf8_lossy(needle),
                summary(&events)
            ),
        }
    }
    events
}

/// Receives events until one matches `pred`; returns all received, that one last.
pub async fn until_event(
    process: &mut Process,
    pred: impl Fn(&ProcessEvent) -> bool,
) -> Vec<ProcessEvent> {
    let mut events = Vec::new();
    loop {
        let next = tokio::time::timeout(LIMIT, process.events.recv()).await;
        match next {
            Ok(Some(event)) => {
                let hit = pred(&event);
                events.push(event);
                if hit {
                    return events;
                }
            }
            Ok(None) => panic!("events ended before the awaited one:{}", summary(&events)),
            Err(_) => panic!(
                "timed out waiting for an event; so far:{}",
                summary(&events)
            ),
        }
    }
}

/// True when `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// A `sh -c SCRIPT` spec (argv `sh -c SCRIPT`), empty environment.
pub fn sh(script: &str) -> ProcessSpec {
    ProcessSpec::new("sh").args(["sh", "-c", script])
}

/// A `python3 -c CODE` spec (python3 from /usr/bin, found through the default path).
pub fn python(code: &str) -> ProcessSpec {
    ProcessSpec::new("python3").args(["python3", "-c", code])
}

/// The open fd numbers of process `pid` (from `/proc/PID/fd`), with their link targets.
pub fn fds_of(pid: u32) -> BTreeMap<i32, String> {
    let mut fds = BTreeMap::new();
    let dir = format!("/proc/{pid}/fd");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return fds;
    };
    for entry in entries.flatten() {
        let Ok(fd) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let target = std::fs::read_link(entry.path())
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        fds.insert(fd, target);
    }
    fds
}

/// The fds of this test process that the engine could leak: pipes, pidfds and pty
/// masters (the runtimes of tests that just finished may still be closing their own
/// epoll and event fds, so those are not counted).
pub fn own_engine_fds() -> BTreeMap<i32, String> {
    fds_of(std::process::id())
        .into_iter()
        .filter(|(_, target)| {
            target.starts_with("pipe:")
                || target.contains("pidfd")
                || target.starts_with("/dev/ptmx")
                || target.starts_with("/dev/pts/")
        })
        .collect()
}

/// Children of this process that are zombies, as (pid, comm).
pub fn zombie_children() -> Vec<(u32, String)> {
    let me = std::process::id();
    let mut zombies = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let name = entry.file_name();
        let Ok(pid) = name.to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid …": comm may hold spaces and parens, so split at the last ')'.
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let comm = stat[stat.find('(').map_or(0, |i| i + 1)..close].to_string();
        let mut rest = stat[close + 1..].split_whitespace();
        let state = rest.next().unwrap_or("");
        let ppid: u32 = rest.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if ppid == me && state == "Z" {
            zombies.push((pid, comm));
        }
    }
    zombies
}

/// One `Name:` line of `/proc/PID/status`-formatted text, split into fields.
pub fn status_field(status: &str, name: &str) -> Vec<String> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name}: line in {status}"))
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Polls `cond` every 10 ms until it holds, failing with `what` after [`LIMIT`].
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    within(what, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
}

/// Waits until process `pid` is blocked waiting for input (from `/proc/PID/syscall`):
/// in `read(fd, …)`, or in `select`/`poll` as readline does. That is the point where a
/// terminal program has set its terminal modes and waits for a key.
pub async fn waiting_for_input(pid: u32, fd: i32) {
    let path = format!("/proc/{pid}/syscall");
    let read = libc::SYS_read.to_string();
    let waits = [libc::SYS_pselect6, libc::SYS_ppoll]
        .iter()
        .chain(WAIT_CALLS)
        .map(|n| n.to_string())
        .collect::<Vec<_>>();
    let fd_arg = format!("{fd:#x}");
    eventually(&format!("process {pid} to wait for input"), || {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let mut fields = text.split_whitespace();
        let call = fields.next().unwrap_or("").to_string();
        let first = fields.next().unwrap_or("");
        (call == read && first == fd_arg) || waits.contains(&call)
    })
    .await
}

/// The older `select` and `poll` calls, where the architecture has them.
#[cfg(target_arch = "x86_64")]
const WAIT_CALLS: &[libc::c_long] = &[libc::SYS_select, libc::SYS_poll];
#[cfg(not(target_arch = "x86_64"))]
const WAIT_CALLS: &[libc::c_long] = &[];
