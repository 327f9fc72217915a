//! Events: their order, raw chunks, exit statuses, grandchildren holding pipes, and the
//! hot path (floods on one and on four fds, every byte checked).

mod engine_support;

use engine_support::*;
use fdscope::{ChildFd, ExitStatus, ProcessEvent, ProcessSpec};
use std::time::Duration;

#[tokio::test]
async fn wc_transcript_follows_the_contract() {
    let mut process = start(&ProcessSpec::new("wc"));
    process.transport.write("hello world\n").unwrap();
    process
        .transport
        .write("accessing protocols through fdscope is fun!\n")
        .unwrap();
    process.transport.close_stdin().unwrap();
    let run = Run::finish(&mut process).await;
    run.assert_contract(&[0, 1, 2]);
    assert_eq!(run.text(1), "      2       8      56\n");
    assert_eq!(run.text(2), "");
    assert_eq!(run.status(), ExitStatus::Done);
    match run.events[0] {
        ProcessEvent::ConnectionMade { pid } => assert_eq!(pid, process.transport.pid()),
        ref other => panic!("first event {other:?}"),
    }
}

#[tokio::test]
async fn connection_made_is_first_even_when_the_child_is_long_gone() {
    for _ in 0..10 {
        let mut process = start(&ProcessSpec::new("/bin/true"));
        // Give the child time to exit and every task time to see it before we look.
        tokio::time::sleep(Duration::from_millis(30)).await;
        let run = Run::finish(&mut process).await;
        run.assert_contract(&[0, 1, 2]);
        assert_eq!(run.status(), ExitStatus::Done);
    }
}

#[tokio::test]
async fn nothing_is_delivered_before_spawn_returns() {
    // Only connection_made may be ready immediately: the rest comes from the tasks, which
    // have not run yet on this current-thread runtime.
    let mut process = start(&ProcessSpec::new("/bin/true"));
    let first = process.events.try_recv_timed();
    assert!(
        matches!(first, Some((_, ProcessEvent::ConnectionMade { .. }))),
        "{first:?}"
    );
    assert!(process.events.try_recv_timed().is_none());
    let run = Run::finish(&mut process).await;
    assert!(matches!(
        run.events.last(),
        Some(ProcessEvent::ProcessEnded { .. })
    ));
}

#[tokio::test]
async fn stdout_and_stderr_are_separate_fds() {
    let run = run_all(&sh("echo out; echo err >&2; echo out2")).await;
    run.assert_contract(&[0, 1, 2]);
    assert_eq!(run.text(1), "out\nout2\n");
    assert_eq!(run.text(2), "err\n");
}

#[tokio::test]
async fn chunks_are_raw_bytes_not_lines() {
    let run = run_all(&ProcessSpec::new("printf").args(["printf", "no newline"])).await;
    run.assert_contract(&[0, 1, 2]);
    assert_eq!(run.text(1), "no newline");

    // A prompt without a newline must arrive before the child gets any input.
    let mut process = start(&sh("printf 'Passphrase: '; read line; echo \"got $line\""));
    let events = until_data(&mut process, 1, b"Passphrase: ").await;
    process.transport.write("sesame\n").unwrap();
    let run = Run::finish_after(&mut process, events).await;
    run.assert_contract(&[0, 1, 2]);
    assert_eq!(run.text(1), "Passphrase: got sesame\n");

    // Binary data, NULs and invalid UTF-8 included, arrives untouched.
    let run = run_all(&ProcessSpec::new("printf").args(["printf", "\\000\\377\\n\\001"])).await;
    assert_eq!(run.data(1), b"\0\xff\n\x01");
}

#[tokio::test]
async fn exit_statuses_are_done_or_terminated() {
    let cases: Vec<(ProcessSpec, ExitStatus)> = vec![
        (ProcessSpec::new("true"), ExitStatus::Done),
        (
            ProcessSpec::new("false"),
            ExitStatus::Terminated {
                exit_code: Some(1),
                signal: None,
            },
        ),
        (
            sh("exit 3"),
            ExitStatus::Terminated {
                exit_code: Some(3),
                signal: None,
            },
        ),
        (
            sh("kill -TERM $$"),
            ExitStatus::Terminated {
                exit_code: None,
                signal: Some(15),
            },
        ),
        (
            sh("kill -KILL $$"),
            ExitStatus::Terminated {
                exit_code: None,
                signal: Some(9),
            },
        ),
    ];
    for (spec, expected) in cases {
        let run = run_all(&spec).await;
        run.assert_contract(&[0, 1, 2]);
        assert_eq!(run.status(), expected, "{spec:?}");
    }
}

#[tokio::test]
async fn grandchild_holding_stdout_delays_ended_not_exited() {
    let mut process = start(&sh("(sleep 1; echo late) & exit 0"));
    let run = Run::finish(&mut process).await;
    run.assert_contract(&[0, 1, 2]);
    assert_eq!(run.text(1), "late\n");
    assert_eq!(run.status(), ExitStatus::Done);
    let late = run
        .position(|e| matches!(e, ProcessEvent::ChildDataReceived { fd: 1, .. }))
        .unwrap();
    assert!(
        run.exited_at() < late,
        "exited must come first: {}",
        run.show()
    );
    assert!(late < run.lost_at(1), "{}", run.show());
}

#[tokio::test]
async fn lose_connection_at_exit_ends_without_waiting_for_the_grandchild() {
    // Twisted's workaround for a grandchild holding the pipes: loseConnection in
    // processExited. The grandchild's later write then fails instead of arriving.
    let mut process = start(&sh("(sleep 1; echo late) & exit 0"));
    let events = until_event(&mut process, |e| {
        matches!(e, ProcessEvent::ProcessExited { .. })
    })
    .await;
    process.transport.lose_connection();
    let run = Run::finish_after(&mut process, events).await;
    run.assert_contract(&[0, 1, 2]);
    assert_eq!(run.text(1), "", "{}", run.show());
}

#[tokio::test]
async fn every_pipe_is_lost_once_and_other_fds_produce_no_events() {
    let (our_read, our_write) = nix::unistd::pipe().unwrap();
    use std::os::fd::AsRawFd;
    let spec = sh("echo three >&3; cat <&4 >&3; echo six >&6; echo null >&5; echo err >&2")
        .child_fd(3, ChildFd::Read)
        .child_fd(4, ChildFd::Write)
        .child_fd(5, ChildFd::Null)
        .child_fd(6, ChildFd::Parent(our_write.as_raw_fd()));
    let mut process = start(&spec);
    process.transport.write_to_child(4, "four\n").unwrap();
    process.transport.close_child_fd(4).unwrap();
    let run = Run::finish(&mut process).await;
    run.assert_contract(&[0, 1, 2, 3, 4]);
    assert_eq!(run.text(3), "three\nfour\n");
    assert_eq!(run.text(2), "err\n");
    // The parent's own fd is neither watched nor closed: the child's line is in our pipe.
    drop(our_write);
    let mut got = String::new();
    use std::io::Read;
    std::fs::File::from(our_read)
        .read_to_string(&mut got)
        .unwrap();
    assert_eq!(got, "six\n");
}

#[tokio::test]
async fn child_that_closes_its_pipes_early_is_still_reaped() {
    let run = run_all(&sh("exec 0<&- 1>&- 2>&-; sleep 0.2; exit 4")).await;
    run.assert_contract(&[0, 1, 2]);
    assert_eq!(run.status().exit_code(), Some(4));
}

#[tokio::test]
async fn dropping_the_event_stream_still_drains_and_reaps() {
    let process = start(&sh("head -c 5000000 /dev/zero; echo done >&2"));
    let transport = process.transport.clone();
    drop(process);
    eventually("the child to be reaped", || transport.is_reaped()).await;
    eventually("its pipes to close", || {
        transport.is_closed(1) && transport.is_closed(2)
    })
    .await;
}

/// Checks a stream made of 1 MiB blocks, each `bytes(range(256))*4096` with its first
/// eight bytes replaced by the block's index (big-endian), as it arrives.
struct BlockCheck {
    offset: usize,
    block: Vec<u8>,
}

const MIB: usize = 1 << 20;

impl BlockCheck {
    fn new() -> Self {
        BlockCheck {
            offset: 0,
            block: (0..MIB).map(|i| i as u8).collect(),
        }
    }

    fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let index = self.offset / MIB;
            let within = self.offset % MIB;
            self.block[..8].copy_from_slice(&(index as u64).to_be_bytes());
            let n = data.len().min(MIB - within);
            assert!(
                data[..n] == self.block[within..within + n],
                "stream differs in block {index} at offset {}",
                self.offset
            );
            self.offset += n;
            data = &data[n..];
        }
    }
}

#[tokio::test]
async fn a_64_mib_flood_arrives_whole_and_in_order() {
    let code = "import sys\n\
                blk = bytes(range(256)) * 4096\n\
                out = sys.stdout.buffer\n\
                for i in range(64):\n    out.write(i.to_bytes(8, 'big') + blk[8:])\n\
                out.flush()\n";
    let mut process = start(&python(code));
    let mut check = BlockCheck::new();
    let mut events = Vec::new();
    loop {
        let event = within("flood events", process.events.recv()).await;
        let Some(event) = event else { break };
        match &event {
            ProcessEvent::ChildDataReceived { fd: 1, data } => {
                // Chunks come in any size, but never empty (an end is a loss, not data).
                assert!(!data.is_empty(), "an empty chunk");
                check.feed(data);
            }
            // Keep the small events for the contract check, not the 64 MiB.
            _ => events.push(event),
        }
    }
    let run = Run { events };
    assert_eq!(check.offset, 64 * MIB, "byte count");
    assert_eq!(run.status(), ExitStatus::Done, "{}", run.show());
    run.assert_contract(&[0, 1, 2]);
}

#[tokio::test]
async fn four_fds_flooding_at_once_each_arrive_exactly() {
    // Round-robin blocking writes of 64 KiB: the child stalls if any one fd is not drained.
    let code = "import os\n\
                size = 8 << 20\n\
                pats = {fd: bytes((j * (fd + 1) + fd) % 251 for j in range(65536)) for fd in (1, 2, 3, 4)}\n\
                left = dict.fromkeys(pats, size)\n\
                while left:\n    for fd in list(left):\n        view = memoryview(pats[fd])\n        while view:\n            view = view[os.write(fd, view):]\n        left[fd] -= 65536\n        if not left[fd]:\n            del left[fd]\n";
    let spec = python(code)
        .child_fd(0, ChildFd::Null)
        .child_fd(3, ChildFd::Read)
        .child_fd(4, ChildFd::Read);
    let run = run_all(&spec).await;
    run.assert_contract(&[1, 2, 3, 4]);
    assert_eq!(run.status(), ExitStatus::Done, "stderr: {}", run.text(2));
    for fd in 1..=4usize {
        let pattern: Vec<u8> = (0..65536usize)
            .map(|j| ((j * (fd + 1) + fd) % 251) as u8)
            .collect();
        let data = run.data(fd as i32);
        assert_eq!(data.len(), 8 << 20, "fd {fd} byte count");
        for (i, piece) in data.chunks(65536).enumerate() {
            assert!(piece == &pattern[..], "fd {fd} differs in piece {i}");
        }
    }
}

/// The seed guide's protocol: writes at connection_made, records every callback.
#[derive(Default)]
struct Recorder {
    calls: Vec<String>,
    out: Vec<u8>,
    err: Vec<u8>,
}

impl fdscope::ProcessProtocol for Recorder {
    fn connection_made(&mut self, transport: &fdscope::ProcessTransport) {
        self.calls.push("connection_made".into());
        transport.write("one two three\n").unwrap();
        transport.close_stdin().unwrap();
    }
    fn out_received(&mut self, data: &[u8]) {
        self.out.extend_from_slice(data);
    }
    fn err_received(&mut self, data: &[u8]) {
        self.err.extend_from_slice(data);
    }
    fn in_connection_lost(&mut self) {
        self.calls.push("in_connection_lost".into());
    }
    fn out_connection_lost(&mut self) {
        self.calls.push("out_connection_lost".into());
    }
    fn err_connection_lost(&mut self) {
        self.calls.push("err_connection_lost".into());
    }
    fn process_exited(&mut self, status: ExitStatus) {
        self.calls.push(format!("process_exited {status}"));
    }
    fn process_ended(&mut self, status: ExitStatus) {
        self.calls.push(format!("process_ended {status}"));
    }
}

#[tokio::test]
async fn a_process_protocol_gets_the_callbacks_in_order() {
    let spec = sh("wc -w; echo oops >&2; exit 2");
    let recorder = within(
        "the protocol run",
        fdscope::spawn::run_protocol(&spec, Recorder::default()),
    )
    .await
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&recorder.out), "3\n");
    assert_eq!(String::from_utf8_lossy(&recorder.err), "oops\n");
    assert_eq!(recorder.calls.first().unwrap(), "connection_made");
    assert_eq!(
        recorder.calls.last().unwrap(),
        "process_ended terminated, exit code 2"
    );
    for lost in [
        "in_connection_lost",
        "out_connection_lost",
        "err_connection_lost",
    ] {
        assert_eq!(
            recorder.calls.iter().filter(|c| *c == lost).count(),
            1,
            "{lost}"
        );
    }

    // spawn_process: the same on a task of its own, the transport handed back at once.
    let (transport, handle) =
        fdscope::spawn::spawn_process(Recorder::default(), &ProcessSpec::new("cat")).unwrap();
    assert!(transport.pid() > 0);
    let recorder = within("spawn_process", handle).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&recorder.out), "one two three\n");
    assert_eq!(
        recorder.calls.last().unwrap(),
        "process_ended done, exit code 0"
    );
}
