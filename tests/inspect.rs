//! Why has it not ended? The inspector through the real binary: `run`'s `held_open`
//! note and `ctl inspect`, on a child whose grandchild keeps its pipes open.

mod cli_support;
mod control_support;

use cli_support::output_within;
use control_support::{ctl, wait_output, Place, Serve};
use std::process::{Command, Stdio};

fn kill(pid: u64) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
}

#[test]
fn run_notes_who_holds_the_pipes_after_the_child_exited() {
    let out = output_within(
        Command::new(env!("CARGO_BIN_EXE_fdscope"))
            .args(["run", "--json", "--", "sh", "-c", "sleep 2 & echo $!"])
            .stdin(Stdio::null()),
        30,
    );
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let grandchild: u64 = lines
        .iter()
        .find(|l| l["event"] == "child_data_received")
        .and_then(|l| l["data"].as_str()?.trim().parse().ok())
        .expect("the grandchild's pid on fd 1");
    let events: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
    let held: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["event"] == "held_open").collect();
    // Once per fd (1 and 2), each naming the sleep, after process_exited and before the
    // loss of that fd.
    assert_eq!(held.len(), 2, "{events:?}");
    for note in &held {
        assert_eq!(note["holders"][0]["pid"], grandchild, "{note}");
        assert_eq!(note["holders"][0]["comm"], "sleep", "{note}");
        let fd = note["fd"].as_i64().unwrap();
        let at = |pred: &dyn Fn(&serde_json::Value) -> bool| lines.iter().position(pred);
        let note_at = at(&|l| l == *note).unwrap();
        let exited = at(&|l| l["event"] == "process_exited").unwrap();
        let lost = at(&|l| l["event"] == "child_connection_lost" && l["fd"] == fd).unwrap();
        assert!(exited < note_at && note_at < lost, "{events:?}");
        assert!(note["t_ms"].as_f64().unwrap() >= 500.0, "{note}");
    }
}

#[test]
fn run_text_says_which_process_holds_the_pipe() {
    let out = output_within(
        Command::new(env!("CARGO_BIN_EXE_fdscope"))
            .args(["run", "--", "sh", "-c", "sleep 1 &"])
            .stdin(Stdio::null()),
        30,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.contains(" ms  note: fd 1 still open, held by pid ")
                && l.ends_with(" (sleep)")),
        "{text}"
    );
}

#[test]
fn a_child_that_ends_normally_gets_no_note() {
    let out = output_within(
        Command::new(env!("CARGO_BIN_EXE_fdscope"))
            .args(["run", "--", "sh", "-c", "echo hi; sleep 0.7"])
            .stdin(Stdio::null()),
        30,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("note:"), "{text}");
}

#[test]
fn ctl_inspect_shows_the_tree_the_fds_and_the_holders() {
    let place = Place::new();
    let _serve = Serve::start(&place, &["holder", "sleeper"]);
    wait_output(&place.socket, "holder", "1", "started");

    // A running child: its fds named, the pipes to fdscope with their panes.
    let out = ctl(&place.socket, &["inspect", "sleeper"]);
    assert!(out.status.success(), "{out:?}");
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let report = &reply["inspect"];
    assert_eq!(report["child"], "running", "{report}");
    assert_eq!(report["tree"][0]["comm"], "sleep", "{report}");
    assert_eq!(report["tree"][0]["depth"], 0, "{report}");
    assert!(
        report["tree"][0]["rss_bytes"].as_u64().unwrap() > 0,
        "{report}"
    );
    let fds = report["fds"].as_array().unwrap();
    let fd1 = fds.iter().find(|f| f["fd"] == 1).expect("fd 1");
    assert_eq!(fd1["kind"]["kind"], "pipe_to_fdscope", "{fd1}");
    assert_eq!(fd1["kind"]["pane_fd"], 1, "{fd1}");

    // The exited child whose grandchild holds its pipes: who holds which fd.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let report = loop {
        let out = ctl(&place.socket, &["inspect", "holder"]);
        let reply: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if reply["inspect"]["held_open"]
            .as_array()
            .is_some_and(|h| h.len() == 2)
        {
            break reply["inspect"].clone();
        }
        assert!(std::time::Instant::now() < deadline, "{reply}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let holder = report["held_open"][0]["holders"][0].clone();
    assert_eq!(holder["comm"], "sleep", "{report}");
    assert!(report["tree"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["pid"] == holder["pid"] && p["detached"] == true));
    kill(holder["pid"].as_u64().unwrap());

    let out = ctl(&place.socket, &["inspect", "nobody"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}
