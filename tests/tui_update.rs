//! The console's model and update with real children, without a terminal: actions in,
//! child events through the same messages the loop uses, state checked.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use fdscope::config::{CommandConfig, ConsoleSettings, StartAction};
use fdscope::tui::action::{Action, Mode};
use fdscope::tui::model::{App, Msg, RunState};
use fdscope::tui::pane::Body;
use fdscope::tui::update;
use fdscope::{ChildFd, ExitStatus, ProcessSpec, Signal};
use ratatui::layout::Rect;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

fn command(name: &str, spec: ProcessSpec) -> CommandConfig {
    CommandConfig {
        name: name.into(),
        spec,
        on_start: Vec::new(),
        autostart: false,
        labels: BTreeMap::new(),
        description: None,
    }
}

fn sh(script: &str) -> ProcessSpec {
    ProcessSpec::new("sh").args(["sh", "-c", script])
}

fn app(commands: Vec<CommandConfig>) -> (App, mpsc::Receiver<Msg>) {
    let (tx, rx) = mpsc::channel(64);
    let settings = ConsoleSettings {
        scrollback_lines: 500,
        stop_grace_ms: 300,
    };
    (
        App::new(commands, settings, tx, Rect::new(0, 0, 120, 40)),
        rx,
    )
}

/// Feeds child messages (and timers) to the app until `done` holds; fails after 10 s.
async fn run_until(
    app: &mut App,
    rx: &mut mpsc::Receiver<Msg>,
    what: &str,
    done: impl Fn(&App) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(app) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; status: {}",
            app.status
        );
        if let Ok(Some(msg)) = tokio::time::timeout(Duration::from_millis(50), rx.recv()).await {
            update::handle(app, msg);
        }
        update::tick(app, Instant::now());
    }
}

fn ended(app: &App) -> bool {
    matches!(
        app.instances.last().map(|i| &i.state),
        Some(RunState::Ended(_))
    )
}

fn text_of(app: &App, fd: i32) -> String {
    let inst = app.instances.last().unwrap();
    let pane = inst.panes.iter().find(|p| p.fd == fd).unwrap();
    let Body::Log(log) = &pane.body else {
        panic!("fd {fd} is a terminal")
    };
    (0..log.log.len())
        .map(|i| log.log.line(i).unwrap().text().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn key(app: &mut App, code: KeyCode) {
    update::handle(
        app,
        Msg::Term(Event::Key(KeyEvent::new(code, KeyModifiers::NONE))),
    );
}

fn type_text(app: &mut App, text: &str) {
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
    update::act(&mut app, Action::Start);
    update::act(&mut app, Action::FocusInput);
    assert_eq!(app.mode, Mode::Input);
    assert_eq!(app.target(), Some(0));
    type_text(&mut app, r"a\tb");
    key(&mut app, KeyCode::Enter);
    run_until(&mut app, &mut rx, "a<tab>b on stderr", |a| {
        text_of(a, 2).contains("a    b")
    })
    .await;
    // Tab aims at fd 3; the line is recalled from history with Up.
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.target(), Some(3));
    key(&mut app, KeyCode::Up);
    assert_eq!(app.input.lines(), [r"a\tb"]);
    key(&mut app, KeyCode::Enter);
    run_until(&mut app, &mut rx, "the line on fd 4", |a| {
        text_of(a, 4).contains("a    b")
    })
    .await;
    assert!(
        text_of(&app, 3).contains(r"a\tb\n"),
        "fd 3 pane shows what was sent"
    );
    // Ctrl-D closes fd 3, then Shift-Tab back to 0 and close it too: both cats end.
    update::handle(
        &mut app,
        Msg::Term(Event::Key(KeyEvent::new(
            KeyCode::Char('d'),
            KeyModifiers::CONTROL,
        ))),
    );
    update::handle(
        &mut app,
        Msg::Term(Event::Key(KeyEvent::new(
            KeyCode::BackTab,
            KeyModifiers::SHIFT,
        ))),
    );
    assert_eq!(app.target(), Some(0));
    update::act(&mut app, Action::CloseTarget);
    run_until(&mut app, &mut rx, "the end", ended).await;
    assert_eq!(app.instances[0].state, RunState::Ended(ExitStatus::Done));
    assert!(text_of(&app, 3).contains("closed"), "{}", text_of(&app, 3));
}

#[tokio::test]
async fn search_scroll_hex_clear_and_copy_work_on_a_pane() {
    let (mut app, mut rx) = app(vec![command(
        "seq",
        ProcessSpec::new("seq").args(["seq", "1", "2000"]),
    )]);
    update::act(&mut app, Action::Start);
    run_until(&mut app, &mut rx, "seq to end", ended).await;
    // Focus stdout (fd 1 is the second pane), search for 1500.
    update::act(&mut app, Action::NextPane);
    let focused = app.focused_pane().unwrap();
    update::act(&mut app, Action::Search);
    type_text(&mut app, "1600");
    key(&mut app, KeyCode::Enter);
    let pane = app.pane(focused);
    let Body::Log(log) = &pane.body else { panic!() };
    let hit = pane.hit.expect("a match");
    assert_eq!(log.log.line(hit).unwrap().text(), "1600");
    assert_eq!(pane.scroll, log.log.len() - 1 - hit, "the match is in view");
    update::act(&mut app, Action::SearchNext);
    assert!(app.status.contains("no more matches"), "{}", app.status);
    // Scrolling is bounded by the scrollback (500 lines kept of 2000).
    update::act(&mut app, Action::Top);
    let kept = app.pane(focused).line_count();
    assert!(kept <= 500, "{kept} lines kept");
    assert_eq!(app.pane(focused).scroll, kept - 1);
    update::act(&mut app, Action::Bottom);
    assert_eq!(app.pane(focused).scroll, 0);
    // Copy puts an OSC 52 sequence in the outbox.
    update::act(&mut app, Action::Copy);
    let osc = String::from_utf8(app.outbox.pop().unwrap()).unwrap();
    assert!(
        osc.starts_with("\x1b]52;c;") && osc.ends_with('\x07'),
        "{osc:?}"
    );
    // Hex view shows the raw bytes; clear empties the pane.
    update::act(&mut app, Action::ToggleHex);
    assert!(app.pane(focused).hex);
    assert_eq!(app.pane(focused).raw.bytes.back(), Some(&b'\n'));
    update::act(&mut app, Action::Clear);
    assert_eq!(app.pane(focused).line_count(), 0);
}

#[tokio::test]
async fn stop_sends_term_then_kill_after_the_grace_period() {
    let spec = sh("trap 'echo got TERM' TERM; while :; do sleep 0.05; done");
    let (mut app, mut rx) = app(vec![command("stubborn", spec)]);
    update::act(&mut app, Action::Start);
    run_until(&mut app, &mut rx, "the trap set", |a| {
        !a.instances[0].timeline.is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    update::act(&mut app, Action::Stop);
    run_until(&mut app, &mut rx, "the end", ended).await;
    assert_eq!(
        app.instances[0].state,
        RunState::Ended(ExitStatus::from_signal(9))
    );
    assert!(
        text_of(&app, 1).contains("got TERM"),
        "{}",
        text_of(&app, 1)
    );
}

#[tokio::test]
async fn on_start_actions_write_close_and_signal() {
    let mut cmd = command("wc", ProcessSpec::new("wc").args(["wc", "-c"]));
    cmd.on_start = vec![
        StartAction::Write {
            fd: 0,
            data: b"12345".to_vec(),
        },
        StartAction::Close { fd: 0 },
    ];
    let mut sleeper = command("sleeper", ProcessSpec::new("sleep").args(["sleep", "100"]));
    sleeper.on_start = vec![StartAction::Signal {
        after_ms: 100,
        signal: Signal::SIGUSR1,
    }];
    let (mut app, mut rx) = app(vec![cmd, sleeper]);
    update::act(&mut app, Action::Start);
    run_until(&mut app, &mut rx, "wc to end", ended).await;
    assert_eq!(text_of(&app, 1).trim(), "5");
    update::act(&mut app, Action::Down);
    update::act(&mut app, Action::Down);
    update::act(&mut app, Action::Start);
    run_until(&mut app, &mut rx, "sleep killed by USR1", ended).await;
    assert_eq!(
        app.instances[1].state,
        RunState::Ended(ExitStatus::from_signal(10))
    );
}

#[tokio::test]
async fn restart_starts_a_new_instance_after_the_old_one_ended() {
    let (mut app, mut rx) = app(vec![command(
        "sleep",
        ProcessSpec::new("sleep").args(["sleep", "100"]),
    )]);
    update::act(&mut app, Action::Start);
    run_until(&mut app, &mut rx, "the pid", |a| {
        !a.instances[0].timeline.is_empty()
    })
    .await;
    update::act(&mut app, Action::Restart);
    run_until(&mut app, &mut rx, "a second instance", |a| {
        a.instances.len() == 2
    })
    .await;
    assert_eq!(
        app.instances[0].state,
        RunState::Ended(ExitStatus::from_signal(15))
    );
    assert!(app.instances[1].running());
    assert_eq!(app.selected_instance(), Some(1));
    update::act(&mut app, Action::Quit);
    run_until(&mut app, &mut rx, "quit", |a| a.done).await;
}

#[tokio::test]
async fn a_missing_program_is_a_failed_instance_with_the_reason() {
    let (mut app, _rx) = app(vec![command("nope", ProcessSpec::new("/nonexistent/prog"))]);
    update::act(&mut app, Action::Start);
    let RunState::Failed(why) = &app.instances[0].state else {
        panic!("{:?}", app.instances[0].state)
    };
    assert!(why.contains("/nonexistent/prog"), "{why}");
    update::act(&mut app, Action::Dismiss);
    assert!(app.instances.is_empty());
}

#[tokio::test]
async fn search_finds_lines_in_a_terminal_panes_scrollback() {
    let spec = sh("seq 1 300; sleep 100").pty(fdscope::PtySize::default());
    let (mut app, mut rx) = app(vec![command("seq", spec)]);
    update::act(&mut app, Action::Start);
    let screen_has = |a: &App, text: &str| {
        let Body::Term(parser, _, _) = &a.instances[0].panes[0].body else {
            panic!("not a terminal")
        };
        parser.screen().contents().contains(text)
    };
    run_until(&mut app, &mut rx, "300 on the screen", |a| {
        screen_has(a, "300")
    })
    .await;
    update::act(&mut app, Action::Search);
    type_text(&mut app, "150");
    key(&mut app, KeyCode::Enter);
    assert!(app.status.starts_with("match"), "{}", app.status);
    assert!(app.instances[0].panes[0].scroll > 0, "scrolled back");
    assert!(screen_has(&app, "150"), "the match is on the screen");
    assert!(!screen_has(&app, "300"), "the end is out of view");
    update::act(&mut app, Action::Bottom);
    assert!(screen_has(&app, "300"));
    update::act(&mut app, Action::Quit);
    run_until(&mut app, &mut rx, "quit", |a| a.done).await;
}

#[tokio::test]
async fn the_mouse_wheel_scrolls_the_pane_under_it() {
    use crossterm::event::{MouseEvent, MouseEventKind};
    let (mut app, mut rx) = app(vec![command(
        "seq",
        ProcessSpec::new("seq").args(["seq", "1", "100"]),
    )]);
    update::act(&mut app, Action::Start);
    run_until(&mut app, &mut rx, "seq to end", ended).await;
    let (target, rect) = fdscope::tui::ops::pane_rects(&app)[1];
    let wheel = |kind| MouseEvent {
        kind,
        column: rect.x + 2,
        row: rect.y + 2,
        modifiers: KeyModifiers::NONE,
    };
    update::handle(
        &mut app,
        Msg::Term(Event::Mouse(wheel(MouseEventKind::ScrollUp))),
    );
    assert_eq!(app.pane(target).scroll, 3);
    update::handle(
        &mut app,
        Msg::Term(Event::Mouse(wheel(MouseEventKind::ScrollDown))),
    );
    assert_eq!(app.pane(target).scroll, 0);
}
