//! Scale: thousands of sequential spawns leave no zombie and no leaked fd; hundreds of
//! concurrent children all end with their data intact. One test at a time in this file:
//! fd counts and zombies are properties of the whole test process.

mod hardening_support;

use fdscope::{spawn, ExitStatus, ProcessEvent, ProcessSpec};
use hardening_support::*;
use std::time::{Duration, Instant};

/// Waits until the open fds are exactly `before` again: the engine's tasks finish with
/// process_ended and the runtime drops what they held soon after, so the runtime runs
/// between looks. A leak never comes back: the deadline fails it.
async fn fds_come_back_to(before: &[i32]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = open_fds();
        if now == before {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "fds before {before:?} and after {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `test` alone in this process, on a current-thread runtime built after the lock
/// is taken (a runtime's own fds must not appear or vanish during another test).
fn alone<F: std::future::Future<Output = ()>>(test: F) {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(test);
}

/// 10,000 spawns of /bin/true, one after the other, each to `process_ended`: afterwards
/// the process has exactly the fds it had before and no zombie child.
#[test]
fn ten_thousand_sequential_spawns_leak_nothing() {
    alone(ten_thousand_sequential_spawns());
}

async fn ten_thousand_sequential_spawns() {
    let before = open_fds();
    let spec = ProcessSpec::new("/bin/true").child_fds([]);
    let started = Instant::now();
    for i in 0..10_000 {
        let mut p = spawn(&spec).unwrap_or_else(|e| panic!("spawn {i}: {e}"));
        let events = rest(&mut p.events, 10).await;
        assert_eq!(
            events.last(),
            Some(&ProcessEvent::ProcessEnded {
                status: ExitStatus::Done
            }),
            "spawn {i}: {}",
            summary(&events)
        );
    }
    eprintln!("10,000 sequential spawns in {:?}", started.elapsed());
    fds_come_back_to(&before).await;
    assert!(
        zombie_children().is_empty(),
        "zombies: {:?}",
        zombie_children()
    );
}

/// 500 `cat`s at once, each fed its own 64 KiB and then EOF: every one ends with exit 0
/// and gives back exactly its bytes; no fd, no zombie left.
#[test]
fn five_hundred_concurrent_children_keep_their_data() {
    alone(five_hundred_concurrent_children());
}

async fn five_hundred_concurrent_children() {
    let before = open_fds();
    let mut running = Vec::new();
    for i in 0..500u32 {
        let payload: Vec<u8> = (0..64 * 1024u32)
            .map(|j| (i.wrapping_mul(31).wrapping_add(j.wrapping_mul(7)) % 251) as u8)
            .collect();
        let p = spawn(&ProcessSpec::new("cat")).unwrap_or_else(|e| panic!("spawn {i}: {e}"));
        p.transport.write(payload.clone()).unwrap();
        p.transport.close_stdin().unwrap();
        running.push((p, payload));
    }
    // Drain them all at once: each on a task of its own, as a console would.
    let tasks: Vec<_> = running
        .into_iter()
        .map(|(mut p, payload)| {
            tokio::spawn(async move {
                let events = rest(&mut p.events, 60).await;
                (events, payload)
            })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let (events, payload) = task.await.unwrap();
        let status = check_contract(&events, &[0, 1, 2]);
        assert_eq!(status, ExitStatus::Done, "child {i}");
        assert!(
            data(&events, 1) == payload,
            "child {i}: its bytes came back changed"
        );
        assert!(data(&events, 2).is_empty(), "child {i} wrote to stderr");
    }
    fds_come_back_to(&before).await;
    assert!(
        zombie_children().is_empty(),
        "zombies: {:?}",
        zombie_children()
    );
}
