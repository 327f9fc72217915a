//! Scale: many children at once, and many one after the other without leaking fds or
//! leaving zombies. The tests count this process's fds, so they run one at a time.

mod engine_support;

use engine_support::*;
use fdscope::{spawn, ExitStatus, ProcessSpec};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Raises the soft fd limit to the hard one, as a console running hundreds of children
/// would: 200 children hold about 800 pipe and pidfd ends, near a default limit of 1024.
fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write one rlimit on our stack.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
}

#[tokio::test]
async fn two_hundred_concurrent_children_all_end_with_their_data() {
    let _serial = SERIAL.lock().await;
    raise_fd_limit();
    let before = own_engine_fds();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let mut process = start(&sh("echo $$"));
        tasks.spawn(async move {
            let pid = process.transport.pid();
            let run = Run::finish(&mut process).await;
            (pid, run)
        });
    }
    let mut done = 0;
    while let Some(joined) = within("200 children", tasks.join_next()).await {
        let (pid, run) = joined.expect("child task");
        run.assert_contract(&[0, 1, 2]);
        assert_eq!(run.status(), ExitStatus::Done, "{}", run.show());
        assert_eq!(run.text(1), format!("{pid}\n"));
        assert_eq!(run.text(2), "");
        done += 1;
    }
    assert_eq!(done, 200);
    assert_eq!(own_engine_fds(), before, "fds leaked");
    assert!(zombie_children().is_empty(), "{:?}", zombie_children());
}

#[tokio::test]
async fn a_thousand_sequential_spawns_leak_nothing() {
    let _serial = SERIAL.lock().await;
    let before = own_engine_fds();
    let mut failures = 0;
    for i in 0..1000 {
        if i % 50 == 49 {
            // Failed spawns must not leak their pipes or leave a child behind either.
            let bad = if i % 100 == 99 {
                ProcessSpec::new("fdscope-no-such-program")
            } else {
                ProcessSpec::new("/bin/true").cwd("/nonexistent-dir")
            };
            assert!(spawn(&bad).is_err());
            failures += 1;
            continue;
        }
        let spec = if i % 10 == 0 {
            // Now and then a pty child, whose master has more fds behind it.
            ProcessSpec::new("/bin/true").pty(Default::default())
        } else {
            ProcessSpec::new("/bin/true")
        };
        let mut process = start(&spec);
        let run = Run::finish(&mut process).await;
        assert_eq!(run.status(), ExitStatus::Done, "{}", run.show());
    }
    assert_eq!(failures, 20);
    assert_eq!(own_engine_fds(), before, "fds leaked");
    assert!(zombie_children().is_empty(), "{:?}", zombie_children());
}

#[test]
fn children_of_a_dropped_runtime_are_still_reaped() {
    // A runtime that goes away (end of a test, end of a program's main) while its children
    // run must not leave them as zombies for the rest of this process's life.
    let _serial = SERIAL.blocking_lock();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pids: Vec<u32> = runtime.block_on(async {
        (0..3)
            .map(|_| {
                start(&ProcessSpec::new("sleep").args(["sleep", "0.2"]))
                    .transport
                    .pid()
            })
            .collect()
    });
    drop(runtime);
    let deadline = std::time::Instant::now() + LIMIT;
    while pids
        .iter()
        .any(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "children left behind: {:?}",
            zombie_children()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
