//! The transport: queued writes, closing pipes either way, lose_connection, signals, and
//! what happens when the child is gone.

mod engine_support;

use engine_support::*;
use fdscope::{ChildFd, ExitStatus, ProcessEvent, ProcessSpec, Signal, TransportError};
use std::time::Duration;

/// `len` bytes of a pattern with a period that is not a power of two, so a lost, doubled
/// or reordered pipe-sized piece shows up.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i / 251) as u8)
        .collect()
}

async fn through_cat(total: usize, pieces: usize) {
    let data = pattern(total);
    let mut process = start(&ProcessSpec::new("cat"));
    for piece in data.chunks(total / pieces) {
        process
            .transport
            .write(bytes::Bytes::copy_from_slice(piece))
            .unwrap();
    }
    // Nothing has run yet on this current-thread runtime: every byte is queued, and the
    // writes returned without blocking although the pipe holds far less.
    assert_eq!(process.transport.queued_bytes(0), total);
    process.transport.close_stdin().unwrap();
    let run = Run::finish(&mut process).await;
    assert_eq!(run.status(), ExitStatus::Done, "{}", run.text(2));
    let out = run.data(1);
    assert_eq!(out.len(), total, "byte count");
    assert!(out == data, "cat's output differs from its input");
    assert_eq!(process.transport.queued_bytes(0), 0);
    run.assert_contract(&[0, 1, 2]);
}

#[tokio::test]
async fn a_megabyte_through_cat_comes_back_whole() {
    through_cat(1 << 20, 1).await;
}

#[tokio::test]
async fn sixteen_mib_through_cat_comes_back_whole_and_in_order() {
    through_cat(16 << 20, 64).await;
}

#[tokio::test]
async fn writes_drain_as_the_child_reads() {
    // A line at a time through cat: each answer comes back before the next write.
    let mut process = start(&ProcessSpec::new("cat"));
    let mut events = Vec::new();
    for i in 0..20 {
        let line = format!("line {i}\n");
        process.transport.write(line.clone()).unwrap();
        events = until_data_after(&mut process, 1, line.as_bytes(), events).await;
    }
    process.transport.close_stdin().unwrap();
    let run = Run::finish_after(&mut process, events).await;
    run.assert_contract(&[0, 1, 2]);
    let expected: String = (0..20).map(|i| format!("line {i}\n")).collect();
    assert_eq!(run.text(1), expected);
}

#[tokio::test]
async fn extra_write_pipe_and_close_child_fd() {
    let spec = sh("cat <&3; echo eof-on-3")
        .child_fds([(1, ChildFd::Read), (3, ChildFd::Write)])
        .child_fd(2, ChildFd::Read);
    let mut process = start(&spec);
    assert_eq!(process.transport.writable_fds(), vec![3]);
    process.transport.write_to_child(3, "via three\n").unwrap();
    process.transport.close_child_fd(3).unwrap();
    let run = Run::finish(&mut process).await;
    run.assert_contract(&[1, 2, 3]);
    assert_eq!(run.text(1), "via three\neof-on-3\n");
}

#[tokio::test]
async fn closing_a_read_pipe_gives_the_writer_sigpipe() {
    let mut process = start(&sh("while :; do echo x; done"));
    let events = until_data(&mut process, 1, b"x").await;
    process.transport.close_stdout().unwrap();
    let run = Run::finish_after(&mut process, events).await;
    run.assert_contract(&[0, 1, 2]);
    assert_eq!(
        run.status(),
        ExitStatus::Terminated {
            exit_code: None,
            signal: Some(13)
        },
        "{}",
        run.show()
    );
}

#[tokio::test]
async fn closing_stderr_gives_sigpipe_too() {
    let mut process = start(&sh("while :; do echo x >&2; done"));
    let events = until_data(&mut process, 2, b"x").await;
    process.transport.close_stderr().unwrap();
    let run = Run::finish_after(&mut process, events).await;
    run.assert_contract(&[0, 1, 2]);
    assert_eq!(run.status().signal(), Some(13), "{}", run.show());
}

#[tokio::test]
async fn write_pipe_is_lost_when_the_child_closes_it_though_we_never_write() {
    let mut process = start(&sh("exec 0<&-; echo closed; sleep 2"));
    let events = until_event(&mut process, |e| {
        matches!(e, ProcessEvent::ChildConnectionLost { fd: 0 })
    })
    .await;
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ProcessEvent::ProcessExited { .. })),
        "fd 0 must be lost while the child still runs: {}",
        summary(&events)
    );
    assert!(process.transport.is_closed(0));
    assert!(matches!(
        process.transport.write("too late\n"),
        Err(TransportError::Closed(0))
    ));
    process.transport.signal_process(Signal::SIGTERM).unwrap();
    let run = Run::finish_after(&mut process, events).await;
    run.assert_contract(&[0, 1, 2]);
    assert_eq!(run.status().signal(), Some(15));
}

#[tokio::test]
async fn lose_connection_closes_every_pipe_but_does_not_kill() {
    // Reads stdin to EOF, then exits 7 without writing: exit 7 proves it was not killed.
    let mut process = start(&sh("while read line; do :; done; sleep 0.1; exit 7"));
    process.transport.write("one\ntwo\n").unwrap();
    process.transport.lose_connection();
    let run = Run::finish(&mut process).await;
    run.assert_contract(&[0, 1, 2]);
    assert_eq!(run.status().exit_code(), Some(7), "{}", run.show());
    for fd in 0..=2 {
        assert!(process.transport.is_closed(fd));
    }
}

#[tokio::test]
async fn queued_bytes_are_flushed_before_a_close() {
    let mut process = start(&ProcessSpec::new("wc").args(["wc", "-c"]));
    let line = vec![b'z'; 100_000];
    for _ in 0..10 {
        process.transport.write(line.clone()).unwrap();
    }
    process.transport.close_stdin().unwrap();
    let run = Run::finish(&mut process).await;
    assert_eq!(run.text(1).trim(), "1000000");
}

#[tokio::test]
async fn writing_after_close_is_refused() {
    let mut process = start(&ProcessSpec::new("cat"));
    process.transport.write("before\n").unwrap();
    process.transport.close_stdin().unwrap();
    // The close is queued behind "before"; a write after it must not be silently dropped.
    let late = process.transport.write("after\n");
    assert!(matches!(late, Err(TransportError::Closed(0))), "{late:?}");
    let run = Run::finish(&mut process).await;
    assert_eq!(run.text(1), "before\n");
    assert_eq!(process.transport.queued_bytes(0), 0);
}

#[tokio::test]
async fn signal_process_and_process_exited_already() {
    let mut process = start(&ProcessSpec::new("sleep").args(["sleep", "30"]));
    process.transport.signal_process(Signal::SIGSTOP).unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    process.transport.signal_process(Signal::SIGCONT).unwrap();
    process.transport.signal_process(Signal::SIGTERM).unwrap();
    let run = Run::finish(&mut process).await;
    run.assert_contract(&[0, 1, 2]);
    assert_eq!(
        run.status(),
        ExitStatus::Terminated {
            exit_code: None,
            signal: Some(15)
        }
    );
    assert!(process.transport.is_reaped());
    for signal in [Signal::SIGTERM, Signal::SIGKILL] {
        let err = process.transport.signal_process(signal);
        assert!(
            matches!(err, Err(TransportError::ProcessExitedAlready)),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn writing_to_a_child_that_is_gone_is_an_error_not_a_crash() {
    // The child exits without reading: the big write hits a pipe with no reader.
    let mut process = start(&sh("exit 0"));
    process.transport.write(vec![b'x'; 1 << 20]).unwrap();
    let run = Run::finish(&mut process).await;
    run.assert_contract(&[0, 1, 2]);
    assert_eq!(run.status(), ExitStatus::Done);
    let after = process.transport.write("hello?\n");
    assert!(matches!(after, Err(TransportError::Closed(0))), "{after:?}");
    assert!(matches!(
        process.transport.close_stdin(),
        Err(TransportError::Closed(0))
    ));
    assert!(matches!(
        process.transport.close_stdout(),
        Err(TransportError::Closed(1))
    ));
    assert_eq!(process.transport.queued_bytes(0), 0);

    // A child that closed stdin but still runs: writes fail or vanish, nothing dies.
    let mut process = start(&sh("exec 0<&-; sleep 0.2"));
    for _ in 0..50 {
        let _ = process.transport.write(vec![b'y'; 65536]);
        tokio::task::yield_now().await;
    }
    let run = Run::finish(&mut process).await;
    run.assert_contract(&[0, 1, 2]);
    assert_eq!(run.status(), ExitStatus::Done);
}

#[tokio::test]
async fn operations_on_the_wrong_fds_are_refused() {
    let spec = ProcessSpec::new("sleep")
        .args(["sleep", "30"])
        .child_fd(3, ChildFd::Null)
        .child_fd(4, ChildFd::Write);
    let mut process = start(&spec);
    let t = &process.transport;
    assert!(matches!(
        t.write_to_child(1, "x"),
        Err(TransportError::NotWritable(1))
    ));
    assert!(matches!(
        t.write_to_child(3, "x"),
        Err(TransportError::NotWritable(3))
    ));
    assert!(matches!(
        t.write_to_child(9, "x"),
        Err(TransportError::NotWritable(9))
    ));
    assert!(matches!(
        t.close_child_fd(3),
        Err(TransportError::NotAPipe(3))
    ));
    assert!(matches!(
        t.close_child_fd(9),
        Err(TransportError::NotAPipe(9))
    ));
    assert!(matches!(t.resize(30, 100), Err(TransportError::NotAPty)));
    assert!(!t.is_pty());
    assert_eq!(t.writable_fds(), vec![0, 4]);
    let limit = fdscope::spawn::WRITE_QUEUE_LIMIT;
    let full = t.write_to_child(4, vec![0u8; limit + 1]);
    assert!(
        matches!(full, Err(TransportError::QueueFull { fd: 4, .. })),
        "{full:?}"
    );
    t.signal_process(Signal::SIGKILL).unwrap();
    let run = Run::finish(&mut process).await;
    run.assert_contract(&[0, 1, 2, 4]);
    assert_eq!(run.status().signal(), Some(9));
}

#[tokio::test]
async fn closing_a_flooding_read_pipe_takes_effect_at_once() {
    // `cat /dev/zero` never lets the pipe run dry: the close must not wait for a pause.
    let mut process = start(&ProcessSpec::new("cat").args(["cat", "/dev/zero"]));
    let events = until_data(&mut process, 1, b"\0").await;
    process.transport.close_stdout().unwrap();
    let run = Run::finish_after(&mut process, events).await;
    run.assert_contract(&[0, 1, 2]);
    assert_eq!(run.status().signal(), Some(13), "{:?}", run.status());
}

#[tokio::test]
async fn the_transport_can_be_used_from_other_threads() {
    // A UI thread writing while the runtime drains: writes from two threads at once,
    // then a close from a third; every byte arrives, each thread's bytes in order.
    let mut process = start(&ProcessSpec::new("cat"));
    let writers: Vec<_> = (0..2u8)
        .map(|id| {
            let transport = process.transport.clone();
            std::thread::spawn(move || {
                for i in 0..2000u32 {
                    transport.write(format!("{id}:{i:05}\n")).unwrap();
                }
            })
        })
        .collect();
    let closer = {
        let transport = process.transport.clone();
        std::thread::spawn(move || {
            for writer in writers {
                writer.join().unwrap();
            }
            transport.close_stdin().unwrap();
        })
    };
    let run = Run::finish(&mut process).await;
    closer.join().unwrap();
    run.assert_contract(&[0, 1, 2]);
    let text = run.text(1);
    for id in 0..2 {
        let mine: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with(&format!("{id}:")))
            .collect();
        let expected: Vec<String> = (0..2000).map(|i| format!("{id}:{i:05}")).collect();
        assert_eq!(mine, expected, "writer {id}");
    }
}
