//! The child's fd table and signal state: exactly the mapped fds (nothing of the parent's
//! or of sibling children), any map including collisions and swaps, default signal
//! dispositions and an empty mask.
//!
//! These tests change process-wide state (fd numbers, signal dispositions), so they run
//! one at a time under [`SERIAL`].

mod engine_support;

use engine_support::*;
use fdscope::{ChildFd, ExitStatus, ProcessEvent, ProcessSpec, PtySize, Signal};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, SigmaskHow};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Waits until the child `pid` has exactly the fds `expected` (the dynamic loader may still
/// hold a library open for a moment after exec), and returns their link targets.
async fn fds_become(pid: u32, expected: &[i32]) -> BTreeMap<i32, String> {
    let expected: BTreeSet<i32> = expected.iter().copied().collect();
    let mut last = BTreeMap::new();
    let found = tokio::time::timeout(LIMIT, async {
        loop {
            last = fds_of(pid);
            if last.keys().copied().collect::<BTreeSet<_>>() == expected {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(
        found.is_ok(),
        "child {pid} should have fds {expected:?}, has {last:?}"
    );
    last
}

/// (device, inode) of what `path` (e.g. `/proc/PID/fd/N`) refers to.
fn identity_of_path(path: &str) -> (u64, u64) {
    let st = nix::sys::stat::stat(path).unwrap_or_else(|e| panic!("stat {path}: {e}"));
    (st.st_dev, st.st_ino)
}

/// (device, inode) of the parent's own fd.
fn identity_of_fd(fd: RawFd) -> (u64, u64) {
    identity_of_path(&format!("/proc/self/fd/{fd}"))
}

#[tokio::test]
async fn only_the_mapped_fds_reach_the_child() {
    let _serial = SERIAL.lock().await;
    // Fds the child must not see: inheritable ones (no CLOEXEC) included.
    let file = std::fs::File::open("/proc/self/status").unwrap();
    let inheritable_file = nix::unistd::dup(&file).unwrap();
    let (inheritable_read, inheritable_write) = nix::unistd::pipe().unwrap();
    // A sibling holding its pipes while the next child starts.
    let mut sibling = start(&ProcessSpec::new("cat"));
    let sibling_fds = fds_become(sibling.transport.pid(), &[0, 1, 2]).await;

    let mut process = start(&ProcessSpec::new("cat"));
    let fds = fds_become(process.transport.pid(), &[0, 1, 2]).await;
    for (fd, target) in &fds {
        assert!(target.starts_with("pipe:"), "fd {fd} is {target}");
        assert!(
            !sibling_fds.values().any(|t| t == target),
            "fd {fd} is a sibling's pipe"
        );
    }

    // Seen from inside: ls lists 0, 1, 2 and its own handle on the directory.
    let run = run_all(&ProcessSpec::new("ls").args(["ls", "/proc/self/fd"])).await;
    assert_eq!(run.text(1), "0\n1\n2\n3\n", "{}", run.show());

    // Gaps stay gaps; Null and Parent mappings are exactly there.
    let spec = ProcessSpec::new("ls")
        .args(["ls", "/proc/self/fd"])
        .child_fds([(1, ChildFd::Read), (4, ChildFd::Null)])
        .child_fd(6, ChildFd::Parent(inheritable_write.as_raw_fd()));
    let run = run_all(&spec).await;
    // ls opens the directory on the lowest free fd: 0.
    assert_eq!(run.text(1), "0\n1\n4\n6\n", "{}", run.show());

    // A pty child with extra pipes: the pty's three fds and the extras, nothing else.
    let spec = ProcessSpec::new("cat")
        .pty(PtySize::default())
        .child_fd(3, ChildFd::Write)
        .child_fd(5, ChildFd::Read);
    let mut pty = start(&spec);
    let fds = fds_become(pty.transport.pid(), &[0, 1, 2, 3, 5]).await;
    for fd in 0..=2 {
        assert!(fds[&fd].starts_with("/dev/pts/"), "{fds:?}");
    }

    // An empty map: no fds at all.
    let mut bare = start(
        &ProcessSpec::new("sleep")
            .args(["sleep", "30"])
            .child_fds([]),
    );
    fds_become(bare.transport.pid(), &[]).await;

    for p in [&mut sibling, &mut process, &mut pty, &mut bare] {
        p.transport.signal_process(Signal::SIGKILL).unwrap();
        let run = Run::finish(p).await;
        assert_eq!(run.status().signal(), Some(9));
    }
    drop((file, inheritable_file, inheritable_read, inheritable_write));
}

/// Reads a `/proc/PID/status`-style hex mask field as a number.
fn mask(status: &str, name: &str) -> u64 {
    u64::from_str_radix(&status_field(status, name)[0], 16).unwrap()
}

#[tokio::test]
async fn the_child_starts_with_default_signals_and_an_empty_mask() {
    let _serial = SERIAL.lock().await;
    let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
    let rtmax = libc::SIGRTMAX();
    // SAFETY: installing SIG_IGN runs no code of ours in a signal handler.
    let old_int = unsafe { sigaction(Signal::SIGINT, &ignore) }.unwrap();
    let ignore_rt = libc::sigaction {
        sa_sigaction: libc::SIG_IGN,
        ..unsafe { std::mem::zeroed() }
    };
    let mut old_rt: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: plain sigaction calls with valid pointers; SIG_IGN runs no code.
    assert_eq!(
        unsafe { libc::sigaction(rtmax, &ignore_rt, &mut old_rt) },
        0
    );
    let mut blocked = SigSet::empty();
    blocked.add(Signal::SIGUSR1);
    blocked.add(Signal::SIGTERM);
    let mut old_mask = SigSet::empty();
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&blocked), Some(&mut old_mask))
        .unwrap();

    let own = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    assert_ne!(mask(&own, "SigIgn") & (1 << (libc::SIGINT - 1)), 0);
    assert_ne!(mask(&own, "SigIgn") & (1 << (libc::SIGPIPE - 1)), 0);
    assert_ne!(mask(&own, "SigIgn") & (1 << (rtmax - 1)), 0);
    assert_ne!(mask(&own, "SigBlk") & (1 << (libc::SIGUSR1 - 1)), 0);

    let plain = ProcessSpec::new("cat").args(["cat", "/proc/self/status"]);
    let results = [
        run_all(&plain).await,
        run_all(&plain.clone().pty(PtySize::default())).await,
    ];

    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old_mask), None).unwrap();
    // SAFETY: restoring the dispositions saved above.
    unsafe {
        sigaction(Signal::SIGINT, &old_int).unwrap();
        libc::sigaction(rtmax, &old_rt, std::ptr::null_mut());
    }

    for run in results {
        assert_eq!(run.status(), ExitStatus::Done, "{}", run.show());
        let status = run.text(1);
        for field in ["SigBlk", "SigIgn", "SigCgt"] {
            assert_eq!(mask(&status, field), 0, "{field} in the child:\n{status}");
        }
    }
}

#[tokio::test]
async fn swapped_parent_fds_are_a_parallel_assignment() {
    let _serial = SERIAL.lock().await;
    for fd in [60, 61] {
        assert!(
            !fds_of(std::process::id()).contains_key(&fd),
            "fd {fd} is already in use in the test process"
        );
    }
    let (a_read, a_write) = nix::unistd::pipe().unwrap();
    let (b_read, b_write) = nix::unistd::pipe().unwrap();
    // SAFETY: dup2 onto free fd numbers (checked above); we own the results.
    let sixty = unsafe {
        assert_eq!(libc::dup2(a_write.as_raw_fd(), 60), 60);
        OwnedFd::from_raw_fd(60)
    };
    let sixty_one = unsafe {
        assert_eq!(libc::dup2(b_write.as_raw_fd(), 61), 61);
        OwnedFd::from_raw_fd(61)
    };
    drop((a_write, b_write));
    let code = "import os; os.write(60, b'child sixty'); os.write(61, b'child sixty-one')";
    let spec = python(code)
        .child_fd(60, ChildFd::Parent(61))
        .child_fd(61, ChildFd::Parent(60));
    let run = run_all(&spec).await;
    assert_eq!(run.status(), ExitStatus::Done, "{}", run.text(2));
    drop((sixty, sixty_one));
    let read_all = |fd: OwnedFd| {
        let mut s = String::new();
        std::fs::File::from(fd).read_to_string(&mut s).unwrap();
        s
    };
    // Child 60 was parent 61 (pipe b), child 61 was parent 60 (pipe a).
    assert_eq!(read_all(b_read), "child sixty");
    assert_eq!(read_all(a_read), "child sixty-one");
}

#[tokio::test]
async fn a_rotation_of_the_parents_own_fds_lands_where_asked() {
    let _serial = SERIAL.lock().await;
    let pipes: Vec<(OwnedFd, OwnedFd)> = (0..3).map(|_| nix::unistd::pipe().unwrap()).collect();
    let w: Vec<RawFd> = pipes.iter().map(|(_, w)| w.as_raw_fd()).collect();
    // Child fd w0 gets parent w1, w1 gets w2, w2 gets w0: every target is also a source.
    let spec = python(&format!(
        "import os\nfor fd in ({}, {}, {}): os.write(fd, b'%d' % fd)",
        w[0], w[1], w[2]
    ))
    .child_fd(w[0], ChildFd::Parent(w[1]))
    .child_fd(w[1], ChildFd::Parent(w[2]))
    .child_fd(w[2], ChildFd::Parent(w[0]));
    let run = run_all(&spec).await;
    assert_eq!(run.status(), ExitStatus::Done, "{}", run.text(2));
    let mut got = Vec::new();
    for (read, write) in pipes {
        drop(write);
        let mut s = String::new();
        std::fs::File::from(read).read_to_string(&mut s).unwrap();
        got.push(s);
    }
    // Parent pipe i received what the child wrote on the fd mapped to it.
    assert_eq!(
        got,
        vec![w[2].to_string(), w[0].to_string(), w[1].to_string()]
    );
}

#[tokio::test]
async fn stdin_and_stdout_of_the_parent_swapped() {
    let _serial = SERIAL.lock().await;
    let spec = ProcessSpec::new("sleep").args(["sleep", "30"]).child_fds([
        (0, ChildFd::Parent(1)),
        (1, ChildFd::Parent(0)),
        (2, ChildFd::Parent(2)),
    ]);
    let mut process = start(&spec);
    let pid = process.transport.pid();
    fds_become(pid, &[0, 1, 2]).await;
    for (child, parent) in [(0, 1), (1, 0), (2, 2)] {
        assert_eq!(
            identity_of_path(&format!("/proc/{pid}/fd/{child}")),
            identity_of_fd(parent),
            "child fd {child} must be the parent's fd {parent}"
        );
    }
    if identity_of_fd(0) == identity_of_fd(1) {
        eprintln!(
            "note: the test process's fds 0 and 1 are the same file; the swap check is weak here"
        );
    }
    process.transport.signal_process(Signal::SIGKILL).unwrap();
    let run = Run::finish(&mut process).await;
    // Parent fds produce no events; the test's own fds 0-2 must still be open.
    run.assert_contract(&[]);
    for fd in 0..=2 {
        assert!(fds_of(std::process::id()).contains_key(&fd));
    }
}

#[tokio::test]
async fn targets_colliding_with_the_engines_own_pipes_are_handled() {
    let _serial = SERIAL.lock().await;
    // Child fds 3..=40 read pipes and 41..=50 write pipes: the parent's ends of these
    // pipes get numbers in the same range, so many sources are also targets.
    let code = "import os\n\
                for fd in range(3, 41): os.write(fd, b'%d' % fd)\n\
                for fd in range(41, 51): os.write(1, b'%d=' % fd + os.read(fd, 100) + b';')\n";
    let mut spec = python(code).child_fd(0, ChildFd::Null);
    for fd in 3..=40 {
        spec = spec.child_fd(fd, ChildFd::Read);
    }
    for fd in 41..=50 {
        spec = spec.child_fd(fd, ChildFd::Write);
    }
    let mut process = start(&spec);
    for fd in 41..=50 {
        process
            .transport
            .write_to_child(fd, format!("w{fd}"))
            .unwrap();
        process.transport.close_child_fd(fd).unwrap();
    }
    let run = Run::finish(&mut process).await;
    assert_eq!(run.status(), ExitStatus::Done, "{}", run.text(2));
    let pipes: Vec<i32> = (1..=50).collect();
    run.assert_contract(&pipes);
    for fd in 3..=40 {
        assert_eq!(run.text(fd), fd.to_string(), "fd {fd}");
    }
    let expected: String = (41..=50).map(|fd| format!("{fd}=w{fd};")).collect();
    assert_eq!(run.text(1), expected);
}

#[tokio::test]
async fn identity_mapping_makes_a_close_on_exec_fd_inheritable() {
    let _serial = SERIAL.lock().await;
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let n = write.as_raw_fd();
    let spec =
        python(&format!("import os; os.write({n}, b'inherited')")).child_fd(n, ChildFd::Parent(n));
    let run = run_all(&spec).await;
    assert_eq!(run.status(), ExitStatus::Done, "{}", run.text(2));
    // Still close-on-exec and open in the parent: the engine did not touch our fd.
    let flags = nix::fcntl::fcntl(&write, nix::fcntl::FcntlArg::F_GETFD).unwrap();
    assert_ne!(flags & libc::FD_CLOEXEC, 0);
    drop(write);
    let mut s = String::new();
    std::fs::File::from(read).read_to_string(&mut s).unwrap();
    assert_eq!(s, "inherited");
}

#[tokio::test]
async fn null_fds_read_eof_and_swallow_writes() {
    let _serial = SERIAL.lock().await;
    let spec = sh("cat; echo out; echo err >&2").child_fds([
        (0, ChildFd::Null),
        (1, ChildFd::Read),
        (2, ChildFd::Null),
    ]);
    let run = run_all(&spec).await;
    run.assert_contract(&[1]);
    assert_eq!(run.text(1), "out\n");
    assert!(!run
        .events
        .iter()
        .any(|e| matches!(e, ProcessEvent::ChildDataReceived { fd: 2, .. })));
    assert_eq!(run.status(), ExitStatus::Done);
}

#[tokio::test]
async fn a_parent_with_default_sigpipe_survives_writing_to_a_gone_child() {
    let _serial = SERIAL.lock().await;
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    // SAFETY: SIG_DFL runs no code of ours. Serialized: no other test of this binary runs
    // while SIGPIPE is at its default (it would kill the whole test process).
    let old = unsafe { sigaction(Signal::SIGPIPE, &default) }.unwrap();
    // The writer must have written once (so tokio believes the pipe writable), then the
    // child exits while the runtime is blocked, then the write comes: the writer tries it
    // before the runtime can see that the pipe's reader is gone, and gets EPIPE.
    let mut process = start(&sh("read x; sleep 0.3; exit 0"));
    process.transport.write("x\n").unwrap();
    eventually("the first line to be written", || {
        process.transport.queued_bytes(0) == 0
    })
    .await;
    let stat = format!("/proc/{}/stat", process.transport.pid());
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        let text = std::fs::read_to_string(&stat).unwrap();
        if text[text.rfind(')').unwrap() + 1..]
            .trim_start()
            .starts_with('Z')
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "child did not exit");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // Either queued for the writer task (which then meets EPIPE) or refused at once by the
    // transport's direct write (EPIPE reported as Closed): never a SIGPIPE death.
    let late = process.transport.write(vec![b'x'; 1 << 20]);
    assert!(
        matches!(late, Ok(()) | Err(fdscope::TransportError::Closed(0))),
        "{late:?}"
    );
    let run = Run::finish(&mut process).await;
    // Still alive: the engine made sure a broken pipe is an EPIPE, not a death.
    let now = unsafe { sigaction(Signal::SIGPIPE, &old) }.unwrap();
    run.assert_contract(&[0, 1, 2]);
    assert_eq!(run.status(), ExitStatus::Done);
    assert_eq!(now.handler(), SigHandler::SigIgn);
}
