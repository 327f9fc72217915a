//! Pty mode: controlling terminal, window size, merged output with `\r\n`, Ctrl-D on
//! close, hang-up on lose_connection, extra pipes beside the pty.

mod engine_support;

use engine_support::*;
use fdscope::{ChildFd, ExitStatus, ProcessEvent, ProcessSpec, PtySize, Signal, TransportError};

const SIZE: PtySize = PtySize { rows: 24, cols: 80 };

fn on_pty(spec: ProcessSpec) -> ProcessSpec {
    spec.pty(SIZE)
}

#[tokio::test]
async fn the_pty_is_the_controlling_terminal_of_a_session_leader() {
    let mut process = start(&on_pty(
        ProcessSpec::new("cat").args(["cat", "/proc/self/stat"]),
    ));
    let pid = process.transport.pid().to_string();
    let run = Run::finish(&mut process).await;
    run.assert_contract(&[]);
    let stat = run.text(1);
    let after_comm = &stat[stat.rfind(')').expect("stat") + 1..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // state ppid pgrp session tty_nr tpgid
    let (pgrp, session, tty_nr, tpgid) = (fields[2], fields[3], fields[4], fields[5]);
    assert_eq!(pgrp, pid, "own process group: {stat}");
    assert_eq!(session, pid, "session leader: {stat}");
    assert_ne!(tty_nr, "0", "has a controlling tty: {stat}");
    assert_eq!(tpgid, pid, "in the terminal's foreground group: {stat}");

    let run = run_all(&on_pty(ProcessSpec::new("tty"))).await;
    let tty = run.text(1);
    assert!(tty.starts_with("/dev/pts/"), "{tty:?}");
    assert!(tty.ends_with("\r\n"), "{tty:?}");
    assert_eq!(run.status(), ExitStatus::Done);
}

#[tokio::test]
async fn window_size_is_set_before_the_child_starts() {
    let run = run_all(&on_pty(ProcessSpec::new("stty").args(["stty", "size"]))).await;
    assert_eq!(run.text(1), "24 80\r\n");
    let spec = ProcessSpec::new("stty")
        .args(["stty", "size"])
        .pty(PtySize {
            rows: 30,
            cols: 100,
        });
    assert_eq!(run_all(&spec).await.text(1), "30 100\r\n");
}

#[tokio::test]
async fn resize_changes_the_size_and_sends_sigwinch() {
    let mut process = start(&on_pty(sh(
        "trap 'stty size; exit 0' WINCH; echo ready; while :; do sleep 0.05; done",
    )));
    let events = until_data(&mut process, 1, b"ready\r\n").await;
    process.transport.resize(40, 132).unwrap();
    let run = Run::finish_after(&mut process, events).await;
    assert!(run.text(1).ends_with("40 132\r\n"), "{}", run.show());
    assert_eq!(run.status(), ExitStatus::Done, "{}", run.show());
}

#[tokio::test]
async fn output_is_fd_1_with_crlf_and_stderr_merged() {
    let run = run_all(&on_pty(sh("echo out; echo err >&2; printf 'a\\nb\\n'"))).await;
    run.assert_contract(&[]);
    assert_eq!(run.text(1), "out\r\nerr\r\na\r\nb\r\n");
    assert!(run.lost().is_empty(), "no child_connection_lost on a pty");
}

#[tokio::test]
async fn a_prompt_arrives_before_any_input_and_input_is_echoed() {
    let mut process = start(&on_pty(sh("printf 'Name: '; read n; echo \"hi $n\"")));
    let events = until_data(&mut process, 1, b"Name: ").await;
    process.transport.write("ann\n").unwrap();
    let run = Run::finish_after(&mut process, events).await;
    run.assert_contract(&[]);
    assert_eq!(run.text(1), "Name: ann\r\nhi ann\r\n");
}

#[tokio::test]
async fn close_stdin_types_ctrl_d_and_ends_cat() {
    let mut process = start(&on_pty(ProcessSpec::new("cat")));
    process.transport.write("hello\n").unwrap();
    let events = until_data(&mut process, 1, b"hello\r\nhello\r\n").await;
    process.transport.close_stdin().unwrap();
    let run = Run::finish_after(&mut process, events).await;
    run.assert_contract(&[]);
    assert_eq!(run.status(), ExitStatus::Done, "{}", run.show());
}

#[tokio::test]
async fn bc_on_a_pty_computes_and_ends_on_ctrl_d() {
    let mut process = start(&on_pty(ProcessSpec::new("bc").args(["bc", "-q"])));
    process.transport.write("2+3\n").unwrap();
    let events = until_data(&mut process, 1, b"5\r\n").await;
    process.transport.write("6*7\n").unwrap();
    let events = until_data_after(&mut process, 1, b"42\r\n", events).await;
    // Closed at once, while bc may still be computing outside readline's raw mode: the
    // engine must still deliver an end of input bc sees.
    process.transport.close_child_fd(0).unwrap();
    let run = Run::finish_after(&mut process, events).await;
    run.assert_contract(&[]);
    assert_eq!(run.status(), ExitStatus::Done, "{}", run.show());
}

#[tokio::test]
async fn typed_ctrl_c_interrupts_the_foreground_process() {
    let mut process = start(&on_pty(ProcessSpec::new("cat")));
    process.transport.write("x\n").unwrap();
    let events = until_data(&mut process, 1, b"x\r\nx\r\n").await;
    process.transport.write("\x03").unwrap();
    let run = Run::finish_after(&mut process, events).await;
    assert_eq!(run.status().signal(), Some(2), "{}", run.show());
}

#[tokio::test]
async fn lose_connection_hangs_up_the_terminal() {
    let mut process = start(&on_pty(ProcessSpec::new("cat")));
    process.transport.write("x\n").unwrap();
    let events = until_data(&mut process, 1, b"x\r\nx\r\n").await;
    process.transport.lose_connection();
    let run = Run::finish_after(&mut process, events).await;
    run.assert_contract(&[]);
    assert_eq!(run.status().signal(), Some(1), "SIGHUP: {}", run.show());
    assert!(matches!(
        process.transport.resize(10, 10),
        Err(TransportError::NotAPty)
    ));
}

#[tokio::test]
async fn extra_pipes_work_beside_the_pty() {
    let spec = on_pty(sh(
        "tty; echo status >&4; read x <&3; echo \"got $x\" >&4; echo done",
    ))
    .child_fd(3, ChildFd::Write)
    .child_fd(4, ChildFd::Read);
    let mut process = start(&spec);
    assert_eq!(process.transport.writable_fds(), vec![0, 3]);
    assert!(process.transport.is_pty());
    let events = until_data(&mut process, 4, b"status\n").await;
    process.transport.write_to_child(3, "secret\n").unwrap();
    process.transport.close_child_fd(3).unwrap();
    let run = Run::finish_after(&mut process, events).await;
    run.assert_contract(&[3, 4]);
    assert_eq!(run.text(4), "status\ngot secret\n");
    let out = run.text(1);
    assert!(out.starts_with("/dev/pts/"), "{out:?}");
    assert!(out.ends_with("\r\ndone\r\n"), "{out:?}");
    assert_eq!(run.status(), ExitStatus::Done);
}

#[tokio::test]
async fn many_lines_through_a_pty_drain_and_the_queue_empties() {
    // Echo off: the line discipline drops echoes when the master's buffer is full, so
    // with echo the output would not be an exact function of the input.
    let mut process = start(&on_pty(sh("stty -echo; echo ready; exec cat")));
    let events = until_data(&mut process, 1, b"ready\r\n").await;
    let mut all = String::new();
    for i in 0..300 {
        let line = format!("{i:04} {}\n", "x".repeat(90));
        all.push_str(&line);
        process.transport.write(line).unwrap();
    }
    assert_eq!(process.transport.queued_bytes(0), all.len());
    let expected = format!("ready\r\n{}", all.replace('\n', "\r\n"));
    let last = format!("0299 {}\r\n", "x".repeat(90));
    let events = until_data_after(&mut process, 1, last.as_bytes(), events).await;
    assert_eq!(process.transport.queued_bytes(0), 0);
    process.transport.close_stdin().unwrap();
    let run = Run::finish_after(&mut process, events).await;
    assert_eq!(run.status(), ExitStatus::Done, "{}", run.show());
    assert!(
        run.text(1) == expected,
        "cat's output differs: {}",
        run.show()
    );
}

#[tokio::test]
async fn writes_after_the_pty_child_is_gone_fail_cleanly() {
    let mut process = start(&on_pty(ProcessSpec::new("true")));
    let run = Run::finish(&mut process).await;
    run.assert_contract(&[]);
    let after = process.transport.write("anyone?\n");
    assert!(matches!(after, Err(TransportError::Closed(0))), "{after:?}");
    assert!(matches!(
        process.transport.close_stdin(),
        Err(TransportError::Closed(0))
    ));
    assert!(matches!(
        process.transport.signal_process(Signal::SIGTERM),
        Err(TransportError::ProcessExitedAlready)
    ));
    assert_eq!(process.transport.queued_bytes(0), 0);
}

#[tokio::test]
async fn a_grandchild_that_survives_the_hangup_delays_ended() {
    // The session leader exits; the grandchild ignores SIGHUP, keeps the terminal and
    // writes later: exited first, its output, then ended.
    let mut process = start(&on_pty(sh("trap '' HUP; (sleep 1; echo late) & exit 0")));
    let run = Run::finish(&mut process).await;
    run.assert_contract(&[]);
    let late = run
        .position(|e| {
            matches!(e, ProcessEvent::ChildDataReceived { fd: 1, data } if contains(data, b"late"))
        })
        .unwrap_or_else(|| panic!("no late output: {}", run.show()));
    assert!(run.exited_at() < late, "{}", run.show());
}

#[tokio::test]
async fn signal_process_reaches_a_pty_child() {
    let mut process = start(&on_pty(ProcessSpec::new("sleep").args(["sleep", "30"])));
    process.transport.signal_process(Signal::SIGTERM).unwrap();
    let run = Run::finish(&mut process).await;
    run.assert_contract(&[]);
    assert_eq!(run.status().signal(), Some(15));
}

#[tokio::test]
async fn close_stdin_ends_cat_even_after_a_partial_line() {
    // In canonical mode one Ctrl-D only hands a partial line to the reader; EOF needs a
    // Ctrl-D at the start of a line, as a person at the keyboard would type it.
    let mut process = start(&on_pty(ProcessSpec::new("cat")));
    process.transport.write("no newline").unwrap();
    let events = until_data(&mut process, 1, b"no newline").await;
    process.transport.close_stdin().unwrap();
    let run = Run::finish_after(&mut process, events).await;
    assert_eq!(run.status(), ExitStatus::Done, "{}", run.show());
    // Echo, then cat's copy of the partial line.
    assert_eq!(run.text(1), "no newlineno newline", "{}", run.show());
}

/// `2^10` typed and fd 0 closed at once, as `fdscope run --pty --write '0=2^10\n' --close 0
/// -- bc -q` does: the end of input must reach bc although it arrives before bc reads the
/// line, and bc reads it with readline in raw mode.
async fn bc_answers_and_ends(round: usize) {
    let mut process = start(&on_pty(ProcessSpec::new("bc").args(["bc", "-q"])));
    process.transport.write("2^10\n").unwrap();
    process.transport.close_child_fd(0).unwrap();
    let run = Run::finish(&mut process).await;
    run.assert_contract(&[]);
    assert!(
        run.text(1).contains("1024\r\n"),
        "round {round}: {}",
        run.show()
    );
    assert_eq!(
        run.status(),
        ExitStatus::Done,
        "round {round}: {}",
        run.show()
    );
}

#[tokio::test]
async fn closing_fd_0_right_after_typing_ends_bc_even_under_load() {
    // Several at once on one runtime: each child's startup, raw-mode switch and read race
    // with the others', as they do on a loaded machine.
    for round in 0..3 {
        let children = (0..8).map(|i| bc_answers_and_ends(round * 8 + i));
        futures_join_all(children).await;
    }
}

/// Awaits every future, concurrently, on the current task.
async fn futures_join_all<F: std::future::Future<Output = ()>>(futures: impl Iterator<Item = F>) {
    let mut set: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    std::future::poll_fn(move |cx| {
        set.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if set.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}

#[test]
fn the_readme_bc_example_finishes_with_exit_0() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let runs: Vec<_> = (0..6)
        .map(|_| {
            let mut child = Command::new(env!("CARGO_BIN_EXE_fdscope"))
                .args(["run", "--pty", "--write", "0=2^10\\n", "--close", "0", "--"])
                .args(["bc", "-q"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start fdscope");
            let mut stdout = child.stdout.take().expect("piped stdout");
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = stdout.read_to_string(&mut text);
                let _ = tx.send(text);
            });
            (child, rx)
        })
        .collect();
    for (mut child, rx) in runs {
        let Ok(out) = rx.recv_timeout(LIMIT) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("fdscope run --pty … bc -q did not finish within {LIMIT:?}");
        };
        let status = child.wait().expect("wait for fdscope");
        assert!(out.contains("1024"), "{out}");
        assert_eq!(status.code(), Some(0), "{out}");
    }
}
