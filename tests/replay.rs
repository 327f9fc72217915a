//! `fdscope replay`: a recording of a real run, replayed through the console's own
//! update; step by step, to the end, and in a real terminal.

mod cli_support;
mod tui_support;

use cli_support::output_within;
use fdscope::transcript::read_transcript;
use fdscope::tui::replay::Replay;
use fdscope::tui::state::{App, RunState};
use ratatui::layout::Rect;
use std::process::{Command, Stdio};
use std::time::Instant;

/// A recording of the built-in `wc-verbose`, made by `fdscope run --json`.
fn recording() -> Vec<u8> {
    let out = output_within(
        Command::new(env!("CARGO_BIN_EXE_fdscope"))
            .args(["run", "--json", "--config"])
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/default.toml"))
            .arg("wc-verbose")
            .stdin(Stdio::null()),
        30,
    );
    assert!(out.status.success(), "{out:?}");
    out.stdout
}

fn screen(app: &App) -> String {
    let backend = ratatui::backend::TestBackend::new(100, 30);
    let mut terminal = ratatui::Terminal::new(backend).unwrap();
    terminal
        .draw(|f| fdscope::tui::view::draw(f, app, Instant::now()))
        .unwrap();
    terminal
        .backend()
        .buffer()
        .content
        .chunks(100)
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>() + "\n")
        .collect()
}

#[test]
fn a_recorded_run_replays_to_the_same_panes_and_status() {
    let bytes = recording();
    let transcript = read_transcript(bytes.as_slice()).unwrap();
    let wc_output: String = transcript
        .records
        .iter()
        .filter_map(|r| match &r.event {
            fdscope::transcript::TranscriptEvent::Process(
                fdscope::ProcessEvent::ChildDataReceived { fd: 1, data },
            ) => Some(String::from_utf8_lossy(data).into_owned()),
            _ => None,
        })
        .collect();
    let total = transcript.records.len();
    let (mut app, mut replay) = Replay::new(transcript, "wc.jsonl", Rect::new(0, 0, 100, 30));
    assert_eq!(replay.len(), total);
    let now = Instant::now();
    while replay.step(&mut app, now) {}
    assert_eq!(replay.next, total);
    assert_eq!(app.procs.instances.len(), 1);
    let inst = &app.procs.instances[0];
    assert_eq!(inst.name, "wc-verbose");
    assert_eq!(inst.state, RunState::Ended(fdscope::ExitStatus::Done));
    assert_eq!(inst.timeline.len(), total, "every event in the timeline");
    let shown = screen(&app);
    assert!(shown.contains("ended 0"), "{shown}");
    assert!(shown.contains(wc_output.trim()), "{shown}");
    assert!(shown.contains("replay of wc.jsonl"), "{shown}");
    // Every pane the live console had: fd 0 (written, closed), fd 1, fd 2.
    assert!(shown.contains("fd 0 → stdin · closed"), "{shown}");
    assert!(shown.contains("fd 1 ← stdout"), "{shown}");
}

#[test]
fn space_steps_exactly_one_event() {
    let transcript = read_transcript(recording().as_slice()).unwrap();
    let (mut app, mut replay) = Replay::new(transcript, "wc.jsonl", Rect::new(0, 0, 100, 30));
    let now = Instant::now();
    let space = crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char(' '));
    assert!(!replay.key(&mut app, space, now));
    assert_eq!(replay.next, 1);
    assert_eq!(app.procs.instances[0].timeline.len(), 1);
    assert!(!replay.key(&mut app, space, now));
    assert_eq!(replay.next, 2);
    assert_eq!(app.procs.instances[0].timeline.len(), 2);
    assert!(
        app.view.status.contains("event 2 of"),
        "{}",
        app.view.status
    );
    // A key for live children is refused, and changes nothing.
    let x = crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('x'));
    replay.key(&mut app, x, now);
    assert!(app.view.status.contains("read-only"), "{}", app.view.status);
    assert_eq!(replay.next, 2);
    // g: to the end.
    let g = crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('g'));
    replay.key(&mut app, g, now);
    assert_eq!(replay.next, replay.len());
    assert!(
        app.view.status.contains("at the end"),
        "{}",
        app.view.status
    );
}

#[test]
fn a_truncated_file_names_its_line_and_the_rest_is_replayed() {
    let mut bytes = recording();
    let lines = bytes.iter().filter(|b| **b == b'\n').count();
    bytes.extend_from_slice(b"{\"t_ms\":99,\"event\":\"chi");
    let transcript = read_transcript(bytes.as_slice()).unwrap();
    assert_eq!(transcript.errors.len(), 1);
    assert_eq!(transcript.errors[0].line, lines + 1);
    assert_eq!(transcript.records.len(), lines);
}

/// The real binary in a terminal: open a recording, step, jump to the end, quit.
#[tokio::test]
async fn replay_in_a_terminal_steps_and_ends() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wc.jsonl");
    std::fs::write(&file, recording()).unwrap();
    let mut c = tui_support::Console::binary(&["replay", file.to_str().unwrap()], dir.path());
    c.wait_text("event 0 of", 20).await;
    c.keys(b" ").await;
    c.wait_text("event 1 of", 10).await;
    c.wait_text("connection_made", 10).await;
    c.keys(b"g").await;
    c.wait_text("at the end", 10).await;
    c.wait_text("ended 0", 10).await;
    c.keys(b"q").await;
    let status = c.wait_end(20).await;
    assert!(status.success(), "{status}");
    assert!(!c.parser.screen().alternate_screen());
}

/// A pty recording replays on a terminal emulator: escape sequences are drawn, not shown.
#[test]
fn a_pty_recording_is_redrawn_by_the_emulator() {
    let out = output_within(
        Command::new(env!("CARGO_BIN_EXE_fdscope"))
            .args(["run", "--json", "--pty", "--", "sh", "-c"])
            .arg("printf '\\033[2J\\033[Hred: \\033[31mRED\\033[0m done'")
            .stdin(Stdio::null()),
        30,
    );
    assert!(out.status.success(), "{out:?}");
    let transcript = read_transcript(out.stdout.as_slice()).unwrap();
    let (mut app, mut replay) = Replay::new(transcript, "pty.jsonl", Rect::new(0, 0, 100, 30));
    while replay.step(&mut app, Instant::now()) {}
    let shown = screen(&app);
    assert!(shown.contains("red: RED done"), "{shown}");
    assert!(!shown.contains("[31m"), "{shown}");
    assert_eq!(
        app.procs.instances[0].state,
        RunState::Ended(fdscope::ExitStatus::Done)
    );
}
