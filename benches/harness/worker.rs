//! One measured run in a fresh process: `harness --worker WORKLOAD IMPL N`.
//!
//! Each sample runs in its own process so that one implementation's heap, runtime and
//! page cache of buffers never colours the next one, and so the parent can read the
//! worker's peak RSS from `wait4`. The worker prints one JSON object of metrics (or
//! `{"error": …}`) on stdout; Python peers print the same shape.

use crate::raw::StdSpawn;
use crate::{engine, raw, tokio_peer};
use std::collections::BTreeMap;
use std::time::Duration;

/// Metric name -> value, as printed by a worker.
pub type Metrics = BTreeMap<String, f64>;

/// Bytes in a MiB.
pub const MIB: f64 = 1024.0 * 1024.0;

/// The line sent through `cat` in the round-trip workload: 16 bytes.
pub const LINE: &[u8; 16] = b"0123456789abcde\n";

/// A child that writes N bytes of zeros to each of fds 1, 2, 3 and 4 at once.
///
/// Each `head` keeps only its own pipe and the shell closes its copies, so every fd
/// reaches EOF when its own writer is done (not when the last one is).
pub const FLOOD4_SCRIPT: &str = "head -c \"$1\" /dev/zero 2>&- 3>&- 4>&- & \
     head -c \"$1\" /dev/zero >&2 3>&- 4>&- & \
     head -c \"$1\" /dev/zero >&3 2>&- 3>&- 4>&- & \
     head -c \"$1\" /dev/zero >&4 2>&- 3>&- 4>&- & \
     exec >&- 2>&- 3>&- 4>&-; wait";

/// The physical limit for one flood: the same writer into `cat`, no event loop.
pub fn flood1_shell_script(n: u64) -> String {
    format!("head -c {n} /dev/zero | cat >/dev/null")
}

/// Four `head | cat` pipelines at once.
pub fn flood4_shell_script(n: u64) -> String {
    format!("for i in 1 2 3 4; do head -c {n} /dev/zero | cat >/dev/null & done; wait")
}

/// Byte counts per fd (1–4) and a snapshot taken when the first fd reaches EOF.
#[derive(Debug, Default)]
pub struct Fairness {
    pub counts: [u64; 4],
    pub at_first_eof: Option<[u64; 4]>,
}

impl Fairness {
    /// Counts `n` bytes received on child fd `fd` (1–4).
    pub fn add(&mut self, fd: i32, n: usize) {
        self.counts[(fd - 1) as usize] += n as u64;
    }

    /// Child fd `fd` reached EOF; the first EOF freezes the snapshot.
    pub fn eof(&mut self, _fd: i32) {
        if self.at_first_eof.is_none() {
            self.at_first_eof = Some(self.counts);
        }
    }

    /// Total rate and the slowest fd's share of the bytes received by the first EOF.
    pub fn metrics(&self, each: u64, elapsed: Duration) -> Result<Metrics, String> {
        if self.counts.iter().any(|&c| c != each) {
            return Err(format!(
                "expected {each} bytes on each of fds 1-4, got {:?}",
                self.counts
            ));
        }
        let snap = self.at_first_eof.unwrap_or(self.counts);
        let total: u64 = snap.iter().sum();
        let min = snap.iter().copied().min().unwrap_or(0);
        let share = if total == 0 {
            0.0
        } else {
            100.0 * min as f64 / total as f64
        };
        Ok(Metrics::from([
            (
                "mib_s".into(),
                4.0 * each as f64 / MIB / elapsed.as_secs_f64(),
            ),
            ("share".into(), share),
            ("secs".into(), elapsed.as_secs_f64()),
        ]))
    }
}

/// Metrics of a single flood: checks that every byte arrived.
pub fn flood_metrics(expected: u64, got: u64, elapsed: Duration) -> Result<Metrics, String> {
    if expected != got {
        return Err(format!("expected {expected} bytes, received {got}"));
    }
    Ok(Metrics::from([
        ("mib_s".into(), got as f64 / MIB / elapsed.as_secs_f64()),
        ("secs".into(), elapsed.as_secs_f64()),
    ]))
}

/// Metrics of a spawn workload.
pub fn spawn_metrics(count: u64, ended: u64, elapsed: Duration) -> Result<Metrics, String> {
    if count != ended {
        return Err(format!("{ended} of {count} children ended"));
    }
    Ok(Metrics::from([
        ("per_s".into(), count as f64 / elapsed.as_secs_f64()),
        ("secs".into(), elapsed.as_secs_f64()),
    ]))
}

/// Metrics of a round-trip workload from per-iteration latencies.
pub fn roundtrip_metrics(latencies_ns: &[u64]) -> Metrics {
    let (mean, p99) = crate::stats::latency_us(latencies_ns);
    Metrics::from([("mean_us".into(), mean), ("p99_us".into(), p99)])
}

/// Metrics of a drain workload (bytes read from `yes` during a fixed time).
pub fn drain_metrics(bytes: u64, elapsed: Duration) -> Metrics {
    Metrics::from([("mib_s".into(), bytes as f64 / MIB / elapsed.as_secs_f64())])
}

/// Runs one worker and exits; never returns.
pub fn main(args: &[String]) -> ! {
    raise_fd_limit();
    let result = match args {
        [workload, imp, n] => match n.parse::<u64>() {
            Ok(n) => dispatch(workload, imp, n),
            Err(_) => Err(format!("bad count {n:?}")),
        },
        _ => Err("usage: harness --worker WORKLOAD IMPL N".into()),
    };
    match result {
        Ok(mut metrics) => {
            if let Some(kib) = own_peak_rss_kib() {
                metrics.insert("rss_mib".into(), kib as f64 / 1024.0);
            }
            println!(
                "{}",
                serde_json::to_string(&metrics).expect("metrics are numbers")
            );
            std::process::exit(0)
        }
        Err(error) => {
            println!("{}", serde_json::json!({ "error": error }));
            std::process::exit(1)
        }
    }
}

/// This process's own peak RSS (`VmHWM`). `wait4`'s `ru_maxrss` in the harness is not it:
/// a child spawned with `posix_spawn` shares the harness's memory until it execs, and
/// Linux counts the harness's peak at that exec into the child's, so every worker would
/// show at least the harness's own size (4 MiB and growing with the rounds).
fn own_peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn dispatch(workload: &str, imp: &str, n: u64) -> Result<Metrics, String> {
    match (workload, imp) {
        ("flood1", "shell") => raw::shell(&flood1_shell_script(n), n),
        ("flood1", "std") => raw::flood1(n),
        ("flood1", "tokio") => tokio_peer::flood1(n),
        ("flood1", "fdscope") => engine::flood1(n),
        ("flood4", "shell") => raw::shell(&flood4_shell_script(n), 4 * n),
        ("flood4", "std") => raw::flood4(n),
        ("flood4", "tokio") => tokio_peer::flood4(n),
        ("flood4", "fdscope") => engine::flood4(n),
        ("spawn-seq", "std") => raw::spawn_seq(n, StdSpawn::Plain),
        ("spawn-seq", "std-piped") => raw::spawn_seq(n, StdSpawn::Piped),
        ("spawn-seq", "std-fork") => raw::spawn_seq(n, StdSpawn::PipedFork),
        ("spawn-seq", "tokio") => tokio_peer::spawn_seq(n),
        ("spawn-seq", "fdscope") => engine::spawn_seq(n),
        ("spawn-conc", "std") => raw::spawn_conc(n, StdSpawn::Plain),
        ("spawn-conc", "std-piped") => raw::spawn_conc(n, StdSpawn::Piped),
        ("spawn-conc", "std-fork") => raw::spawn_conc(n, StdSpawn::PipedFork),
        ("spawn-conc", "tokio") => tokio_peer::spawn_conc(n),
        ("spawn-conc", "fdscope") => engine::spawn_conc(n),
        ("roundtrip", "std") => raw::roundtrip(n),
        ("roundtrip", "tokio") => tokio_peer::roundtrip(n),
        ("roundtrip", "fdscope") => engine::roundtrip(n, false),
        ("roundtrip", "fdscope-task") => engine::roundtrip(n, true),
        ("drain-yes", "std") => raw::drain_yes(Duration::from_millis(n)),
        ("drain-yes", "fdscope") => engine::drain_yes(Duration::from_millis(n)),
        ("drain-pty", "bare-pty") => raw::drain_yes_pty(Duration::from_millis(n)),
        _ => Err(format!("no worker for {workload}/{imp}")),
    }
}

/// 200 concurrent children with three pipes each need more than 1024 fds.
fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the one struct passed by pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
