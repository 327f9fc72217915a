//! The console's state, update and effects with real children, without a terminal:
//! actions in, effects performed by the console's own performer, child events through
//! the same messages the loop uses, state checked. (Pure state transitions, with no
//! runtime and no child, are in `tui_transitions.rs`.)

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use fdscope::config::{CommandConfig, ConsoleSettings};
use fdscope::script::Step;
use fdscope::tui::action::{Action, Mode};
use fdscope::tui::effects::{Driver, Performer};
use fdscope::tui::pane::Body;
use fdscope::tui::state::{App, Msg, RunState, Target};
use fdscope::{ChildFd, ExitStatus, ProcessSpec, Signal};
use ratatui::layout::Rect;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

fn command(name: &str, spec: ProcessSpec) -> CommandConfig {
    CommandConfig::new(name, spec)
}

fn sh(script: &str) -> ProcessSpec {
    ProcessSpec::new("sh").args(["sh", "-c", script])
}

fn app(commands: Vec<CommandConfig>) -> (Driver, mpsc::Receiver<Msg>) {
    let (tx, rx) = mpsc::channel(64);
    let settings = ConsoleSettings {
        scrollback_lines: 500,
        stop_grace_ms: 300,
    };
    let app = App::new(commands, settings, Rect::new(0, 0, 120, 40));
    (Driver::new(app, Performer::new(tx, None)), rx)
}

/// Feeds child messages (and timers) to the app until `done` holds; fails after 10 s.
async fn run_until(
    app: &mut Driver,
    rx: &mut mpsc::Receiver<Msg>,
    what: &str,
    done: impl Fn(&App) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(&app.app) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; status: {}",
            app.app.view.status
        );
        if let Ok(Some(msg)) = tokio::time::timeout(Duration::from_millis(50), rx.recv()).await {
            app.handle(msg);
        }
        app.tick();
    }
}

fn ended(app: &App) -> bool {
    matches!(
        app.procs.instances.last().map(|i| &i.state),
        Some(RunState::Ended(_))
    )
}

fn text_of(app: &App, fd: i32) -> String {
    let inst = app.procs.instances.last().unwrap();
    let pane = inst.panes.iter().find(|p| p.fd == fd).unwrap();
    let Body::Log(log) = &pane.body else {
        panic!("fd {fd} is a terminal")
    };
    (0..log.lines.len())
        .map(|i| log.lines.line(i).unwrap().text().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Lines a pipe pane holds.
fn lines_of(pane: &fdscope::tui::pane::Pane) -> usize {
    let Body::Log(log) = &pane.body else {
        panic!("not a pipe pane")
    };
    log.lines.len()
}

fn key(app: &mut Driver, code: KeyCode) {
    app.handle(Msg::Term(Event::Key(KeyEvent::new(
        code,
        KeyModifiers::NONE,
    ))));
}

fn type_text(app: &mut Driver, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

#[tokio::test]
async fn input_line_sends_escapes_keeps_history_and_switches_target() {
    let spec = sh("cat <&3 >&4 & cat >&2; wait")
        .child_fd(3, ChildFd::Write)
        .child_fd(4, ChildFd::Read);
    let (mut app, mut rx) = app(vec![command("cat2", spec)]);
    app.act(Action::Start);
    app.act(Action::FocusInput);
    assert_eq!(app.app.view.mode, Mode::Input);
    assert_eq!(app.app.target(), Some(Target::Fd(0)));
    type_text(&mut app, r"a\tb");
    key(&mut app, KeyCode::Enter);
    run_until(&mut app, &mut rx, "a<tab>b on stderr", |a| {
        text_of(a, 2).contains("a    b")
    })
    .await;
    // Tab aims at fd 3; the line is recalled from history with Up.
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.app.target(), Some(Target::Fd(3)));
    key(&mut app, KeyCode::Up);
    assert_eq!(app.app.editors.input.lines(), [r"a\tb"]);
    key(&mut app, KeyCode::Enter);
    run_until(&mut app, &mut rx, "the line on fd 4", |a| {
        text_of(a, 4).contains("a    b")
    })
    .await;
    assert!(
        text_of(&app.app, 3).contains(r"a\tb\n"),
        "fd 3 pane shows what was sent"
    );
    // Ctrl-D closes fd 3, then Shift-Tab back to 0 and close it too: both cats end.
    app.handle(Msg::Term(Event::Key(KeyEvent::new(
        KeyCode::Char('d'),
        KeyModifiers::CONTROL,
    ))));
    app.handle(Msg::Term(Event::Key(KeyEvent::new(
        KeyCode::BackTab,
        KeyModifiers::SHIFT,
    ))));
    assert_eq!(app.app.target(), Some(Target::Fd(0)));
    app.act(Action::CloseTarget);
    run_until(&mut app, &mut rx, "the end", ended).await;
    assert_eq!(
        app.app.procs.instances[0].state,
        RunState::Ended(ExitStatus::Done)
    );
    assert!(
        text_of(&app.app, 3).contains("closed"),
        "{}",
        text_of(&app.app, 3)
    );
}

#[tokio::test]
async fn search_scroll_hex_clear_and_copy_work_on_a_pane() {
    let (mut app, mut rx) = app(vec![command(
        "seq",
        ProcessSpec::new("seq").args(["seq", "1", "2000"]),
    )]);
    app.act(Action::Start);
    run_until(&mut app, &mut rx, "seq to end", ended).await;
    // Focus stdout (fd 1 is the second pane), search for 1500.
    app.act(Action::NextPane);
    let focused = app.app.focused_pane().unwrap();
    app.act(Action::Search);
    type_text(&mut app, "1600");
    key(&mut app, KeyCode::Enter);
    let pane = app.app.pane(focused);
    let Body::Log(log) = &pane.body else { panic!() };
    let hit = pane.hit.expect("a match");
    assert_eq!(log.lines.line(hit).unwrap().text(), "1600");
    assert_eq!(
        pane.scroll,
        log.lines.len() - 1 - hit,
        "the match is in view"
    );
    app.act(Action::SearchNext);
    assert!(
        app.app.view.status.contains("no more matches"),
        "{}",
        app.app.view.status
    );
    // Scrolling is bounded by the scrollback (500 lines kept of 2000).
    app.act(Action::Top);
    // The scrollback setting is 500 rows: the last 499 complete lines, and the open line
    // the next output would go to.
    let kept = lines_of(app.app.pane(focused));
    assert_eq!(kept, 499, "lines kept of 2000");
    let text = text_of(&app.app, 1);
    assert!(
        text.starts_with("1502\n") && text.ends_with("\n2000"),
        "{text}"
    );
    assert_eq!(app.app.pane(focused).scroll, kept - 1);
    app.act(Action::Bottom);
    assert_eq!(app.app.pane(focused).scroll, 0);
    // Copy puts an OSC 52 sequence in the outbox.
    app.act(Action::Copy);
    let osc = String::from_utf8(std::mem::take(&mut app.performer.to_terminal)).unwrap();
    assert!(
        osc.starts_with("\x1b]52;c;") && osc.ends_with('\x07'),
        "{osc:?}"
    );
    // Hex view shows the raw bytes; clear empties the pane.
    app.act(Action::ToggleHex);
    assert!(app.app.pane(focused).hex);
    assert_eq!(app.app.pane(focused).raw.bytes.back(), Some(&b'\n'));
    app.act(Action::Clear);
    assert_eq!(lines_of(app.app.pane(focused)), 0);
}

#[tokio::test]
async fn stop_sends_term_then_kill_after_the_grace_period() {
    let spec = sh("trap 'echo got TERM' TERM; echo armed; while :; do sleep 0.05; done");
    let (mut app, mut rx) = app(vec![command("stubborn", spec)]);
    app.act(Action::Start);
    run_until(&mut app, &mut rx, "the trap set", |a| {
        text_of(a, 1).contains("armed")
    })
    .await;
    app.act(Action::Stop);
    run_until(&mut app, &mut rx, "the end", ended).await;
    assert_eq!(
        app.app.procs.instances[0].state,
        RunState::Ended(ExitStatus::from_signal(9))
    );
    assert!(
        text_of(&app.app, 1).contains("got TERM"),
        "{}",
        text_of(&app.app, 1)
    );
}

#[tokio::test]
async fn script_steps_write_close_sleep_and_signal() {
    let mut cmd = command("wc", ProcessSpec::new("wc").args(["wc", "-c"]));
    cmd.script = vec![
        Step::Write {
            fd: 0,
            data: b"12345".to_vec(),
            repeat: 1,
        },
        Step::Close { fd: 0 },
    ];
    let mut sleeper = command("sleeper", ProcessSpec::new("sleep").args(["sleep", "100"]));
    sleeper.script = vec![
        Step::Sleep {
            duration: Duration::from_millis(100),
        },
        Step::Signal {
            signal: Signal::SIGUSR1,
        },
    ];
    let (mut app, mut rx) = app(vec![cmd, sleeper]);
    app.act(Action::Start);
    run_until(&mut app, &mut rx, "wc to end", ended).await;
    assert_eq!(text_of(&app.app, 1).trim(), "5");
    app.act(Action::Down);
    app.act(Action::Down);
    app.act(Action::Start);
    run_until(&mut app, &mut rx, "sleep killed by USR1", ended).await;
    assert_eq!(
        app.app.procs.instances[1].state,
        RunState::Ended(ExitStatus::from_signal(10))
    );
}

#[tokio::test]
async fn restart_starts_a_new_instance_after_the_old_one_ended() {
    let (mut app, mut rx) = app(vec![command(
        "sleep",
        ProcessSpec::new("sleep").args(["sleep", "100"]),
    )]);
    app.act(Action::Start);
    run_until(&mut app, &mut rx, "the pid", |a| {
        !a.procs.instances[0].timeline.is_empty()
    })
    .await;
    app.act(Action::Restart);
    run_until(&mut app, &mut rx, "a second instance", |a| {
        a.procs.instances.len() == 2
    })
    .await;
    assert_eq!(
        app.app.procs.instances[0].state,
        RunState::Ended(ExitStatus::from_signal(15))
    );
    assert!(app.app.procs.instances[1].running());
    assert_eq!(app.app.selected_instance(), Some(1));
    app.act(Action::Quit);
    run_until(&mut app, &mut rx, "quit", |a| a.done).await;
}

#[tokio::test]
async fn a_missing_program_is_a_failed_instance_with_the_reason() {
    let (mut app, _rx) = app(vec![command("nope", ProcessSpec::new("/nonexistent/prog"))]);
    app.act(Action::Start);
    let RunState::Failed(why) = &app.app.procs.instances[0].state else {
        panic!("{:?}", app.app.procs.instances[0].state)
    };
    assert!(why.contains("/nonexistent/prog"), "{why}");
    app.act(Action::Dismiss);
    assert!(app.app.procs.instances.is_empty());
}

#[tokio::test]
async fn search_finds_lines_in_a_terminal_panes_scrollback() {
    let spec = sh("seq 1 300; sleep 100").pty(fdscope::PtySize::default());
    let (mut app, mut rx) = app(vec![command("seq", spec)]);
    app.act(Action::Start);
    let screen_has = |a: &App, text: &str| {
        let Body::Term(emulator) = &a.procs.instances[0].panes[0].body else {
            panic!("not a terminal")
        };
        emulator.screen().contents().contains(text)
    };
    run_until(&mut app, &mut rx, "300 on the screen", |a| {
        screen_has(a, "300")
    })
    .await;
    app.act(Action::Search);
    type_text(&mut app, "150");
    key(&mut app, KeyCode::Enter);
    assert!(
        app.app.view.status.starts_with("match"),
        "{}",
        app.app.view.status
    );
    assert!(
        app.app.procs.instances[0].panes[0].scroll > 0,
        "scrolled back"
    );
    assert!(screen_has(&app.app, "150"), "the match is on the screen");
    assert!(!screen_has(&app.app, "300"), "the end is out of view");
    app.act(Action::Bottom);
    assert!(screen_has(&app.app, "300"));
    app.act(Action::Quit);
    run_until(&mut app, &mut rx, "quit", |a| a.done).await;
}

#[tokio::test]
async fn the_mouse_wheel_scrolls_the_pane_under_it() {
    use crossterm::event::{MouseEvent, MouseEventKind};
    let (mut app, mut rx) = app(vec![command(
        "seq",
        ProcessSpec::new("seq").args(["seq", "1", "100"]),
    )]);
    app.act(Action::Start);
    run_until(&mut app, &mut rx, "seq to end", ended).await;
    let (target, rect) = fdscope::tui::layout::pane_rects(&app.app)[1];
    let wheel = |kind| MouseEvent {
        kind,
        column: rect.x + 2,
        row: rect.y + 2,
        modifiers: KeyModifiers::NONE,
    };
    app.handle(Msg::Term(Event::Mouse(wheel(MouseEventKind::ScrollUp))));
    assert_eq!(app.app.pane(target).scroll, 3);
    app.handle(Msg::Term(Event::Mouse(wheel(MouseEventKind::ScrollDown))));
    assert_eq!(app.app.pane(target).scroll, 0);
}
