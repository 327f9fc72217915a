//! The console's update as a pure function: messages and actions in, state and effects
//! out. No runtime, no child, no terminal: every effect the update asks for is checked
//! here as data (the runner performing them is tested with real children in
//! `tui_update.rs` and end to end in `tui_e2e.rs`).

use bytes::Bytes;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use fdscope::config::{CommandConfig, ConsoleSettings};
use fdscope::tui::action::{Action, Mode};
use fdscope::tui::effect::Effect;
use fdscope::tui::state::{App, Msg, RunState};
use fdscope::tui::update;
use fdscope::{ExitStatus, ProcessEvent, ProcessSpec, PtySize, Signal};
use ratatui::layout::Rect;
use std::time::{Duration, Instant};

fn app(spec: ProcessSpec) -> App {
    let command = CommandConfig::new("bc", spec);
    let settings = ConsoleSettings {
        scrollback_lines: 100,
        stop_grace_ms: 3000,
    };
    App::new(vec![command], settings, Rect::new(0, 0, 120, 40))
}

/// The console drawn on a 120×40 TestBackend, one string per row.
fn screen_rows(app: &App, now: Instant) -> Vec<String> {
    let backend = ratatui::backend::TestBackend::new(120, 40);
    let mut terminal = ratatui::Terminal::new(backend).unwrap();
    terminal
        .draw(|f| fdscope::tui::view::draw(f, app, now))
        .unwrap();
    terminal
        .backend()
        .buffer()
        .content
        .chunks(120)
        .map(|row| row.iter().map(|c| c.symbol()).collect())
        .collect()
}

fn key(app: &mut App, code: KeyCode, mods: KeyModifiers, now: Instant) -> Vec<Effect> {
    update::handle(app, Msg::Term(Event::Key(KeyEvent::new(code, mods))), now)
}

fn typed(app: &mut App, text: &str, now: Instant) {
    for ch in text.chars() {
        assert!(key(app, KeyCode::Char(ch), KeyModifiers::NONE, now).is_empty());
    }
}

/// Selects the command, starts it and answers the spawn as the runner would.
fn started(app: &mut App, now: Instant) -> u64 {
    update::act(app, Action::Down, now);
    let fx = update::act(app, Action::Start, now);
    let [Effect::Spawn { id, spec, .. }] = fx.as_slice() else {
        panic!("Start should ask for exactly one spawn: {fx:?}");
    };
    assert_eq!(spec.argv()[0], "bc");
    let id = *id;
    let answer = Msg::Spawned {
        id,
        pid: 4242,
        started: now,
    };
    assert!(update::handle(app, answer, now).is_empty());
    assert_eq!(app.procs.instances[0].pid, Some(4242));
    id
}

fn child(app: &mut App, id: u64, event: ProcessEvent, now: Instant) -> Vec<Effect> {
    let msg = Msg::Child {
        id,
        at: Duration::from_millis(1),
        event,
    };
    update::handle(app, msg, now)
}

#[test]
fn a_typed_line_becomes_one_write_and_ctrl_d_one_close() {
    let now = Instant::now();
    let mut app = app(ProcessSpec::new("bc"));
    let id = started(&mut app, now);
    update::act(&mut app, Action::FocusInput, now);
    assert_eq!(app.view.mode, Mode::Input);
    typed(&mut app, "2^10", now);
    let fx = key(&mut app, KeyCode::Enter, KeyModifiers::NONE, now);
    assert_eq!(
        fx,
        vec![Effect::Write {
            id,
            fd: 0,
            data: b"2^10\n".to_vec()
        }]
    );
    let fx = key(&mut app, KeyCode::Char('d'), KeyModifiers::CONTROL, now);
    assert_eq!(fx, vec![Effect::Close { id, fd: 0 }]);
}

#[test]
fn stop_sends_term_then_kill_only_after_the_grace_period() {
    let now = Instant::now();
    let mut app = app(ProcessSpec::new("bc"));
    let id = started(&mut app, now);
    let fx = update::act(&mut app, Action::Stop, now);
    assert_eq!(
        fx,
        vec![Effect::Signal {
            id,
            signal: Signal::SIGTERM
        }]
    );
    // Ticks also sample CPU % and RSS; only signals matter here.
    let signals = |fx: Vec<Effect>| -> Vec<Effect> {
        fx.into_iter()
            .filter(|e| matches!(e, Effect::Signal { .. }))
            .collect()
    };
    let (_, early) = update::tick(&mut app, now + Duration::from_millis(2900));
    assert_eq!(signals(early), vec![], "KILL before the grace period");
    let (changed, late) = update::tick(&mut app, now + Duration::from_millis(3001));
    assert!(changed);
    assert_eq!(
        signals(late),
        vec![Effect::Signal {
            id,
            signal: Signal::SIGKILL
        }]
    );
    // Once the child has ended, nothing more is sent.
    let status = ExitStatus::from_signal(9);
    child(&mut app, id, ProcessEvent::ProcessEnded { status }, now);
    let (_, after) = update::tick(&mut app, now + Duration::from_secs(10));
    assert_eq!(signals(after), vec![]);
}

#[test]
fn data_goes_to_its_pane_and_the_end_to_the_state_without_effects() {
    let now = Instant::now();
    let mut app = app(ProcessSpec::new("bc"));
    let id = started(&mut app, now);
    let data = ProcessEvent::ChildDataReceived {
        fd: 1,
        data: Bytes::from_static(b"1024\n"),
    };
    assert!(child(&mut app, id, data, now).is_empty());
    let inst = &app.procs.instances[0];
    let pane = inst.panes.iter().find(|p| p.fd == 1).unwrap();
    assert_eq!(pane.bytes, 5);
    let status = ExitStatus::Done;
    assert!(child(&mut app, id, ProcessEvent::ProcessExited { status }, now).is_empty());
    assert!(matches!(app.procs.instances[0].state, RunState::Exited(_)));
    assert!(child(&mut app, id, ProcessEvent::ProcessEnded { status }, now).is_empty());
    assert!(matches!(app.procs.instances[0].state, RunState::Ended(_)));
    assert_eq!(app.view.status, "bc ended: done, exit code 0");
}

#[test]
fn when_a_pty_child_ends_the_keys_come_back_to_the_list() {
    let now = Instant::now();
    let mut app = app(ProcessSpec::new("bc").pty(PtySize::default()));
    let id = started(&mut app, now);
    update::act(&mut app, Action::FocusPty, now);
    assert_eq!(app.view.mode, Mode::Pty);
    let fx = key(&mut app, KeyCode::Char('x'), KeyModifiers::NONE, now);
    assert_eq!(
        fx,
        vec![Effect::Write {
            id,
            fd: 0,
            data: b"x".to_vec()
        }]
    );
    let status = ExitStatus::Done;
    child(&mut app, id, ProcessEvent::ProcessEnded { status }, now);
    assert_eq!(app.view.mode, Mode::Normal);
    assert!(
        app.view.status.contains("keys are back to the list"),
        "{}",
        app.view.status
    );
    // `x` is now the list's stop key again, and the ended child gets no signal.
    let fx = key(&mut app, KeyCode::Char('x'), KeyModifiers::NONE, now);
    assert!(fx.is_empty(), "{fx:?}");
}

#[test]
fn quit_signals_running_children_and_is_done_once_they_end() {
    let now = Instant::now();
    let mut app = app(ProcessSpec::new("bc"));
    let id = started(&mut app, now);
    let fx = update::act(&mut app, Action::Quit, now);
    assert!(
        fx.contains(&Effect::Signal {
            id,
            signal: Signal::SIGTERM
        }),
        "{fx:?}"
    );
    assert!(!app.done, "done before the child ended");
    let status = ExitStatus::from_signal(15);
    child(&mut app, id, ProcessEvent::ProcessEnded { status }, now);
    assert!(app.done);
}

#[test]
fn w_asks_to_save_the_transcript_as_json_lines() {
    let now = Instant::now();
    let mut app = app(ProcessSpec::new("bc"));
    let id = started(&mut app, now);
    child(
        &mut app,
        id,
        ProcessEvent::ConnectionMade { pid: 4242 },
        now,
    );
    let fx = update::act(&mut app, Action::SaveTranscript, now);
    let [Effect::SaveFile {
        path,
        contents,
        what,
    }] = fx.as_slice()
    else {
        panic!("one file to save: {fx:?}");
    };
    assert_eq!(path.to_str(), Some("fdscope-bc-4242.jsonl"));
    assert_eq!(what, "1 event");
    assert!(
        contents.contains("\"event\":\"connection_made\""),
        "{contents}"
    );
}

/// `t` shrinks the pty's pane; the console resizes the pty and the timeline marks the
/// place, so the child's redraw after it is not read as output of its own.
#[test]
fn a_resize_by_the_console_is_marked_in_the_timeline() {
    let now = Instant::now();
    let mut app = app(ProcessSpec::new("bc").pty(PtySize::default()));
    let id = started(&mut app, now);
    update::sync_pty_size(&mut app);
    let data = Bytes::from_static(b"1024\r\n");
    child(
        &mut app,
        id,
        ProcessEvent::ChildDataReceived { fd: 1, data },
        now,
    );
    update::act(&mut app, Action::ToggleTimeline, now);
    let fx = update::sync_pty_size(&mut app);
    assert!(
        matches!(fx.as_slice(), [Effect::Resize { id: i, .. }] if *i == id),
        "{fx:?}"
    );
    // Nothing changed size: no second resize, no second mark.
    assert!(update::sync_pty_size(&mut app).is_empty());
    let data = Bytes::from_static(b"\x1b[H\x1b[2J1024\r\n");
    child(
        &mut app,
        id,
        ProcessEvent::ChildDataReceived { fd: 1, data },
        now,
    );
    update::act(&mut app, Action::ToggleTimeline, now); // show it again, to read it
    update::sync_pty_size(&mut app);

    let screen = screen_rows(&app, now);
    let at = |text: &str| screen.iter().position(|l| l.contains(text));
    let mark = at("resized to").unwrap_or_else(|| panic!("{screen:#?}"));
    let rows: Vec<usize> = screen
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("child_data_received"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(rows.len(), 2, "{screen:#?}");
    assert!(rows[0] < mark && mark < rows[1], "{screen:#?}");
    // Showing the timeline again resized the pty back: a second mark, after the redraw.
    let marks: Vec<usize> = screen
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("resized to"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(marks.len(), 2, "{screen:#?}");
    assert!(marks[1] > rows[1], "{screen:#?}");
}

/// `l` shows the timeline as lanes: a column per fd and one for the process, events in
/// order top-down, runs of chunks folded; `l` again goes back to the list.
#[test]
fn l_shows_the_timeline_as_lanes() {
    let now = Instant::now();
    let mut app = app(ProcessSpec::new("bc"));
    let id = started(&mut app, now);
    for _ in 0..3 {
        let data = Bytes::from_static(b"40 250\n");
        child(
            &mut app,
            id,
            ProcessEvent::ChildDataReceived { fd: 1, data },
            now,
        );
    }
    for fd in [0, 1, 2] {
        child(&mut app, id, ProcessEvent::ChildConnectionLost { fd }, now);
    }
    let status = ExitStatus::Done;
    child(&mut app, id, ProcessEvent::ProcessExited { status }, now);
    child(&mut app, id, ProcessEvent::ProcessEnded { status }, now);
    let draw = |app: &App| screen_rows(app, now);
    assert!(update::act(&mut app, Action::ToggleLanes, now).is_empty());
    let screen = draw(&app);
    let at = |text: &str| {
        screen
            .iter()
            .position(|l| l.contains(text))
            .unwrap_or_else(|| panic!("{text}: {screen:#?}"))
    };
    let heading = at("· lanes");
    let columns = at("process          fd 0 stdin       fd 1 stdout      fd 2 stderr");
    let chunks = at("▶ 3× 21 B");
    let exited = at("◆ exited 0");
    let ended = at("■ ended 0");
    assert!(heading <= columns && columns < chunks && chunks < exited && exited < ended);
    // Each mark sits in its own fd's column.
    let column = |row: usize, text: &str| {
        let byte = screen[row].find(text).unwrap();
        screen[row][..byte].chars().count()
    };
    assert_eq!(
        column(chunks, "▶"),
        column(columns, "fd 1 stdout"),
        "{screen:#?}"
    );
    let losses: Vec<usize> = (chunks + 1..exited)
        .map(|row| column(row, "✕ lost"))
        .collect();
    let heads: Vec<usize> = ["fd 0", "fd 1", "fd 2"]
        .iter()
        .map(|h| column(columns, h))
        .collect();
    assert_eq!(losses, heads, "{screen:#?}");
    update::act(&mut app, Action::ToggleLanes, now);
    assert!(draw(&app).iter().any(|l| l.contains("child_data_received")));
}

fn command(name: &str, spec: ProcessSpec) -> CommandConfig {
    CommandConfig::new(name, spec)
}

fn spawns(fx: &[Effect]) -> Vec<(u64, Vec<String>)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Spawn { id, spec, .. } => Some((
                *id,
                spec.argv()
                    .iter()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect(),
            )),
            _ => None,
        })
        .collect()
}

/// Starting a command with `depends_on` starts its dependency first, lists it as
/// `waiting for server (ready)`, and spawns it with `${server.port}` once `ready` comes.
#[test]
fn a_dependent_waits_for_ready_and_gets_its_variables() {
    use fdscope::script::{Condition, Pattern, ReadySpec};
    use fdscope::transcript::{Ready, TranscriptEvent};
    let now = Instant::now();
    let mut server = command("server", ProcessSpec::new("server"));
    server.ready = Some(ReadySpec {
        pattern: Pattern::new(r"port (?P<port>\d+)").unwrap(),
        fd: 1,
        timeout: Duration::from_secs(10),
    });
    let mut client = command(
        "client",
        ProcessSpec::new("client").args(["client", "${server.port}"]),
    );
    client.depends_on = vec![("server".into(), Condition::Ready)];
    let settings = ConsoleSettings {
        scrollback_lines: 100,
        stop_grace_ms: 3000,
    };
    let mut app = App::new(vec![server, client], settings, Rect::new(0, 0, 120, 40));
    update::act(&mut app, Action::Down, now);
    update::act(&mut app, Action::Down, now);
    assert_eq!(app.selected_command(), Some(1));
    let fx = update::act(&mut app, Action::Start, now);
    let started = spawns(&fx);
    assert_eq!(started.len(), 1, "only the server: {fx:?}");
    assert_eq!(started[0].1, ["server"]);
    let client = app
        .procs
        .instances
        .iter()
        .find(|i| i.name == "client")
        .expect("the client is listed");
    assert_eq!(
        client.state,
        RunState::Waiting("waiting for server (ready)".into())
    );
    let server_id = started[0].0;
    let answer = Msg::Spawned {
        id: server_id,
        pid: 10,
        started: now,
    };
    assert!(spawns(&update::handle(&mut app, answer, now)).is_empty());
    let ready = TranscriptEvent::Ready(Ready {
        groups: [("port".to_string(), "4242".to_string())].into(),
    });
    let fx = update::handle(
        &mut app,
        Msg::Script {
            id: server_id,
            at: Duration::from_millis(5),
            event: ready,
        },
        now,
    );
    let started = spawns(&fx);
    assert_eq!(started.len(), 1, "{fx:?}");
    assert_eq!(started[0].1, ["client", "4242"]);
}

/// A scripted instance's header says which step runs; a failure says where it stopped
/// and leaves the child running for the user.
#[test]
fn the_header_follows_the_script_and_a_failure_leaves_the_child_running() {
    use fdscope::script::{Pattern, Step};
    use fdscope::transcript::{FailReason, ScriptFailed, ScriptStep, TranscriptEvent};
    let now = Instant::now();
    let mut bc = command("bc", ProcessSpec::new("bc"));
    bc.script = vec![
        Step::Write {
            fd: 0,
            data: b"2^10\n".to_vec(),
            repeat: 1,
        },
        Step::Expect {
            fd: 1,
            pattern: Pattern::new("^1024$").unwrap(),
            timeout: Duration::from_secs(10),
        },
    ];
    let settings = ConsoleSettings {
        scrollback_lines: 100,
        stop_grace_ms: 3000,
    };
    let mut app = App::new(vec![bc], settings, Rect::new(0, 0, 120, 40));
    let id = started(&mut app, now);
    let draw = |app: &App| screen_rows(app, now).join("\n");
    assert!(draw(&app).contains("script 1/2: write \"2^10\\n\" to fd 0"));
    let step = TranscriptEvent::ScriptStep(ScriptStep {
        step: 0,
        action: "write \"2^10\\n\" to fd 0".into(),
        matched: None,
        groups: None,
    });
    let script = |event| Msg::Script {
        id,
        at: Duration::from_millis(1),
        event,
    };
    update::handle(&mut app, script(step), now);
    assert!(draw(&app).contains("script 2/2: expect /^1024$/ on fd 1"));
    let failed = TranscriptEvent::ScriptFailed(ScriptFailed {
        step: 1,
        action: "expect /^1024$/ on fd 1".into(),
        reason: FailReason::Timeout,
        tail: "1023\n".into(),
    });
    let fx = update::handle(&mut app, script(failed), now);
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::Signal { .. })),
        "the child is left running: {fx:?}"
    );
    assert_eq!(app.procs.instances[0].state, RunState::Running);
    let shown = draw(&app);
    assert!(shown.contains("script failed at step 1"), "{shown}");
}
