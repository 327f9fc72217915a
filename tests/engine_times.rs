//! Event times: `t_ms` never decreases along a transcript, even when four fds flood at
//! once and the consumer falls behind (the engine's channel is full and readers wait).

mod engine_support;

use engine_support::*;
use fdscope::{ChildFd, ProcessEvent, ProcessSpec};
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

/// 10 MiB on each of fds 1, 2, 3 and 4 at once (the command of issue 8).
const FLOOD: &str = "head -c 10485760 /dev/zero >&3 & head -c 10485760 /dev/zero >&4 & \
                     head -c 10485760 /dev/zero >&2 & head -c 10485760 /dev/zero; wait";

fn flood_spec() -> ProcessSpec {
    sh(FLOOD)
        .child_fd(3, ChildFd::Read)
        .child_fd(4, ChildFd::Read)
}

/// Index and values of the first place where `times` goes backwards.
fn first_decrease<T: PartialOrd + Copy>(times: &[T]) -> Option<(usize, T, T)> {
    times
        .windows(2)
        .enumerate()
        .find(|(_, w)| w[1] < w[0])
        .map(|(i, w)| (i + 1, w[0], w[1]))
}

#[tokio::test]
async fn library_times_never_decrease_under_a_four_fd_flood() {
    for round in 0..3 {
        let mut process = start(&flood_spec());
        let mut times = Vec::new();
        let mut bytes = [0usize; 5];
        let mut received = 0usize;
        loop {
            let next = within("the next event", process.events.recv_timed()).await;
            let Some((at, event)) = next else { break };
            if let ProcessEvent::ChildDataReceived { fd, data } = &event {
                bytes[*fd as usize] += data.len();
            }
            times.push(at);
            received += 1;
            // A consumer that falls behind now and then: the channel fills and every
            // reader waits for room, which is when stamps used to go out of order.
            if received.is_multiple_of(16) {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        assert_eq!(
            bytes[1..],
            [10 << 20; 4],
            "round {round}: every byte arrives"
        );
        assert!(times.len() > 8, "round {round}: {} events", times.len());
        if let Some((i, before, after)) = first_decrease(&times) {
            panic!("round {round}: event {i} at {after:?} comes after one at {before:?}");
        }
    }
}

/// Runs `fdscope args…`, returning its stdout; fails the test past [`LIMIT`].
fn fdscope(args: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fdscope"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start fdscope");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        let _ = tx.send(text);
    });
    let Ok(text) = rx.recv_timeout(LIMIT) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("fdscope {args:?} did not finish within {LIMIT:?}");
    };
    let status = child.wait().expect("wait for fdscope");
    assert!(status.success(), "fdscope {args:?}: {status}");
    text
}

#[test]
fn run_json_times_never_decrease_under_a_four_fd_flood() {
    for round in 0..3 {
        let out = fdscope(&[
            "run",
            "--json",
            "--no-data",
            "--fd",
            "1=r",
            "--fd",
            "2=r",
            "--fd",
            "3=r",
            "--fd",
            "4=r",
            "--",
            "sh",
            "-c",
            FLOOD,
        ]);
        let mut times = Vec::new();
        let mut bytes = [0u64; 5];
        for line in out.lines() {
            let value: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("round {round}: not JSON ({e}): {line}"));
            let t = value["t_ms"]
                .as_f64()
                .unwrap_or_else(|| panic!("round {round}: no t_ms in {line}"));
            times.push(t);
            if value["event"] == "child_data_received" {
                let fd = value["fd"].as_u64().unwrap_or(0) as usize;
                bytes[fd.min(4)] += value["len"].as_u64().unwrap_or(0);
            }
        }
        assert_eq!(
            bytes[1..],
            [10 << 20; 4],
            "round {round}: every byte reported"
        );
        if let Some((i, before, after)) = first_decrease(&times) {
            panic!("round {round}: line {i} has t_ms {after} after {before}");
        }
    }
}
