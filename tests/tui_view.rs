//! The console's view, drawn into ratatui's TestBackend: layouts with 1, 3 and 5 fds, the
//! pty pane, the timeline, the help overlay, menus. Instances are built by hand (fixed
//! pids and times) so the screens are the same on every run.

use bytes::Bytes;
use fdscope::config::{CommandConfig, ConsoleSettings};
use fdscope::tui::action::{Action, Mode};
use fdscope::tui::state::{App, Instance, RunState};
use fdscope::tui::{instance, update, view};
use fdscope::{ChildFd, ExitStatus, ProcessEvent, ProcessSpec, PtySize};
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::Terminal;
use std::time::{Duration, Instant};

const W: u16 = 110;
const H: u16 = 34;

fn command(name: &str, spec: ProcessSpec, labels: &[(i32, &str)]) -> CommandConfig {
    let mut command = CommandConfig::new(name, spec);
    command.labels = labels.iter().map(|(fd, l)| (*fd, l.to_string())).collect();
    command.description = Some(format!("the {name} example"));
    command
}

fn app(commands: Vec<CommandConfig>) -> App {
    App::new(
        commands,
        ConsoleSettings {
            scrollback_lines: 1000,
            stop_grace_ms: 3000,
        },
        Rect::new(0, 0, W, H),
    )
}

/// Adds an instance of command `ci` as if it had run, without a process behind it.
fn add_instance(app: &mut App, ci: usize, state: RunState) -> usize {
    let cmd = &app.procs.commands[ci];
    let (panes, uses_console, notes) = instance::panes_for(cmd, 1000);
    let started = Instant::now() - Duration::from_secs(2);
    let id = app.procs.next_id;
    app.procs.next_id += 1;
    let ended = matches!(state, RunState::Ended(_));
    let name = cmd.name.clone();
    let mut inst = Instance::new(id, ci, name, panes, uses_console, notes, started);
    inst.pid = Some(4242);
    inst.exited_at = ended.then_some(Duration::from_micros(1500));
    inst.ended_at = ended.then_some(Duration::from_micros(2250));
    inst.state = state;
    app.procs.instances.push(inst);
    let ii = app.procs.instances.len() - 1;
    instance::select_instance(app, ii);
    ii
}

fn event(app: &mut App, ii: usize, micros: u64, event: ProcessEvent) {
    let id = app.procs.instances[ii].id;
    instance::on_event(
        app,
        id,
        Duration::from_micros(micros),
        event,
        Instant::now(),
        &mut Vec::new(),
    );
}

fn data(fd: i32, text: &str) -> ProcessEvent {
    ProcessEvent::ChildDataReceived {
        fd,
        data: Bytes::copy_from_slice(text.as_bytes()),
    }
}

fn render(app: &App) -> Terminal<TestBackend> {
    render_at(app, W, H)
}

fn render_at(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    let now = app
        .procs
        .instances
        .last()
        .map_or_else(Instant::now, |i| i.started + Duration::from_millis(1500));
    terminal.draw(|f| view::draw(f, app, now)).unwrap();
    terminal
}

fn text(terminal: &Terminal<TestBackend>) -> String {
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let mut line = String::new();
        for x in 0..buffer.area.width {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn wc_run() -> App {
    let mut app = app(vec![command("wc", ProcessSpec::new("wc"), &[])]);
    let ii = add_instance(&mut app, 0, RunState::Running);
    event(&mut app, ii, 80, ProcessEvent::ConnectionMade { pid: 4242 });
    app.procs.instances[ii].panes[0].note_sent(
        Duration::from_micros(100),
        b"Aleph-null bottles of beer on the wall,\n",
    );
    event(
        &mut app,
        ii,
        950,
        ProcessEvent::ChildConnectionLost { fd: 0 },
    );
    event(&mut app, ii, 1400, data(1, "      1       6      40\n"));
    let done = ExitStatus::Done;
    event(
        &mut app,
        ii,
        1500,
        ProcessEvent::ProcessExited { status: done },
    );
    event(
        &mut app,
        ii,
        1900,
        ProcessEvent::ChildConnectionLost { fd: 2 },
    );
    event(
        &mut app,
        ii,
        2000,
        ProcessEvent::ChildConnectionLost { fd: 1 },
    );
    event(
        &mut app,
        ii,
        2250,
        ProcessEvent::ProcessEnded { status: done },
    );
    app
}

#[test]
fn three_fds_and_the_timeline_with_exited_before_ended() {
    let app = wc_run();
    let screen = text(&render(&app));
    assert!(screen.contains("fd 0 → stdin · closed"), "{screen}");
    assert!(screen.contains("fd 1 ← stdout · closed"), "{screen}");
    assert!(screen.contains("fd 2 ← stderr · closed"), "{screen}");
    assert!(screen.contains("ended 0"), "{screen}");
    let exited = screen.find("process_exited").unwrap();
    let lost = screen.find("1.900ms fd 2  child_connection_lost").unwrap();
    let ended = screen.find("process_ended").unwrap();
    assert!(exited < lost && lost < ended, "{screen}");
    insta::assert_snapshot!("three_fds", screen);
}

#[test]
fn one_fd_fills_the_right_side() {
    let spec = ProcessSpec::new("date").child_fds([(1, ChildFd::Read)]);
    let mut app = app(vec![command("date", spec, &[])]);
    let ii = add_instance(&mut app, 0, RunState::Running);
    event(&mut app, ii, 80, ProcessEvent::ConnectionMade { pid: 4242 });
    event(&mut app, ii, 300, data(1, "Thu Jan  1 00:00:00 UTC 1970\n"));
    let screen = text(&render(&app));
    assert!(screen.contains("fd 1 ← stdout"), "{screen}");
    assert!(screen.contains("running"), "{screen}");
    insta::assert_snapshot!("one_fd", screen);
}

#[test]
fn five_fds_with_labels_in_two_columns() {
    let app = gpg_run();
    let screen = text(&render(&app));
    for title in [
        "fd 0 → stdin",
        "fd 1 ← stdout",
        "fd 2 ← stderr",
        "fd 3 → passphrase",
        "fd 4 ← status",
    ] {
        assert!(screen.contains(title), "{title} missing:\n{screen}");
    }
    assert!(screen.contains("hunter2\\n"), "{screen}");
    insta::assert_snapshot!("five_fds", screen);
}

#[test]
fn the_pty_pane_is_a_terminal_with_colours() {
    let spec = ProcessSpec::new("sh").pty(PtySize::default());
    let mut app = app(vec![command("shell", spec, &[])]);
    let ii = add_instance(&mut app, 0, RunState::Running);
    update::sync_pty_size(&mut app);
    event(&mut app, ii, 80, ProcessEvent::ConnectionMade { pid: 4242 });
    event(
        &mut app,
        ii,
        500,
        data(
            1,
            "$ ls\r\n\x1b[1;34mbin\x1b[0m  \x1b[32mrun.sh\x1b[0m\r\n$ ",
        ),
    );
    app.view.mode = Mode::Pty;
    let terminal = render(&app);
    let screen = text(&terminal);
    assert!(screen.contains("pty ⇄ terminal"), "{screen}");
    assert!(screen.contains("bin  run.sh"), "{screen}");
    let buffer = terminal.backend().buffer();
    let (x, y) = find(&screen, "bin");
    assert_eq!(
        buffer[(x, y)].fg,
        ratatui::style::Color::Indexed(4),
        "bin is blue"
    );
    assert!(
        screen.contains("PTY"),
        "the hint bar says keys go to the child:\n{screen}"
    );
    assert!(screen.contains("Ctrl-A"), "and how to leave:\n{screen}");
    insta::assert_snapshot!("pty", screen);
}

fn find(screen: &str, needle: &str) -> (u16, u16) {
    for (y, line) in screen.lines().enumerate() {
        if let Some(byte) = line.find(needle) {
            return (line[..byte].chars().count() as u16, y as u16);
        }
    }
    panic!("{needle} not on screen:\n{screen}");
}

#[test]
fn help_lists_the_key_table() {
    let mut app = wc_run();
    let _ = update::act(&mut app, Action::Help, Instant::now());
    let screen = text(&render(&app));
    // What does not fit is one PgDn away (the footer says so).
    assert!(screen.contains("PgDn more"), "{screen}");
    let _ = update::act(&mut app, Action::PageDown, Instant::now());
    let next = text(&render(&app));
    for row in [
        "quit (stops every child)",
        "close the target fd (EOF)",
        "signal menu",
        "zoom",
        "inspect: process tree",
        "timeline as lanes",
    ] {
        assert!(
            screen.contains(row) || next.contains(row),
            "{row} missing:\n{screen}\n{next}"
        );
    }
    insta::assert_snapshot!("help", screen);
}

#[test]
fn signal_menu_lists_every_signal() {
    let mut app = wc_run();
    app.procs.instances[0].state = RunState::Running;
    let _ = update::act(&mut app, Action::SignalMenu, Instant::now());
    let screen = text(&render(&app));
    for sig in [
        "TERM", "INT", "HUP", "KILL", "STOP", "CONT", "USR1", "USR2", "WINCH",
    ] {
        assert!(
            screen.contains(&format!(" {sig}")),
            "{sig} missing:\n{screen}"
        );
    }
}

#[test]
fn zoom_gives_one_pane_the_whole_right_side() {
    let mut app = wc_run();
    let _ = update::act(&mut app, Action::NextPane, Instant::now());
    let _ = update::act(&mut app, Action::Zoom, Instant::now());
    let screen = text(&render(&app));
    assert!(screen.contains("fd 1 ← stdout"), "{screen}");
    assert!(!screen.contains("fd 0 → stdin"), "{screen}");
    assert!(!screen.contains("fd 2 ← stderr"), "{screen}");
}

#[test]
fn states_at_a_glance() {
    let mut app = app(vec![command("x", ProcessSpec::new("x"), &[])]);
    add_instance(&mut app, 0, RunState::Ended(ExitStatus::from_code(3)));
    add_instance(&mut app, 0, RunState::Ended(ExitStatus::from_signal(15)));
    add_instance(&mut app, 0, RunState::Exited(ExitStatus::Done));
    add_instance(
        &mut app,
        0,
        RunState::Failed("cannot run x: No such file or directory".into()),
    );
    let screen = text(&render(&app));
    for state in [
        "ended 3",
        "killed by SIGTERM",
        "exited 0",
        "failed",
        "No such file or directory",
    ] {
        assert!(screen.contains(state), "{state} missing:\n{screen}");
    }
}

fn gpg_run() -> App {
    let spec = ProcessSpec::new("gpg")
        .args([
            "gpg",
            "--decrypt",
            "--passphrase-fd",
            "3",
            "--status-fd",
            "4",
        ])
        .child_fd(3, ChildFd::Write)
        .child_fd(4, ChildFd::Read);
    let mut app = app(vec![command(
        "gpg",
        spec,
        &[(3, "passphrase"), (4, "status")],
    )]);
    let ii = add_instance(&mut app, 0, RunState::Running);
    event(&mut app, ii, 80, ProcessEvent::ConnectionMade { pid: 4242 });
    app.procs.instances[ii].panes[3].note_sent(Duration::from_micros(200), b"hunter2\n");
    event(&mut app, ii, 900, data(4, "[GNUPG:] NEED_PASSPHRASE\n"));
    event(
        &mut app,
        ii,
        1200,
        data(2, "gpg: encrypted with 1 passphrase\n"),
    );
    app
}

fn pty_run() -> App {
    let spec = ProcessSpec::new("bc")
        .args(["bc", "-q"])
        .pty(PtySize::default());
    let mut app = app(vec![command("bc-pty", spec, &[])]);
    let ii = add_instance(&mut app, 0, RunState::Running);
    update::sync_pty_size(&mut app);
    event(&mut app, ii, 80, ProcessEvent::ConnectionMade { pid: 4242 });
    event(&mut app, ii, 500, data(1, "2^10\r\n1024\r\n"));
    app
}

/// The console at a small size: `scenario` drawn at `w`×`h`, its snapshot taken, and the
/// footer's help and quit hints checked.
fn small(mut app: App, name: &str, w: u16, h: u16) -> String {
    app.view.screen = Rect::new(0, 0, w, h);
    update::sync_pty_size(&mut app);
    let screen = text(&render_at(&app, w, h));
    let footer = screen.lines().last().unwrap_or_default();
    let leave = if app.view.mode == Mode::Help {
        footer.contains("Esc back")
    } else {
        footer.contains("? help") && footer.contains("q quit")
    };
    assert!(
        leave,
        "{name} at {w}x{h}: footer without help/quit: {footer:?}\n{screen}"
    );
    insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen);
    screen
}

#[test]
fn at_80x24_and_100x30_the_output_and_the_help_and_quit_hints_stay_visible() {
    for (w, h) in [(80, 24), (100, 30)] {
        let screen = small(gpg_run(), "gpg", w, h);
        for data in ["gpg: encrypted with", "[GNUPG:] NEED_PASSPHRASE"] {
            assert!(screen.contains(data), "{data} hidden at {w}x{h}:\n{screen}");
        }
        let screen = small(wc_run(), "wc", w, h);
        assert!(screen.contains("1       6      40"), "{screen}");
        let screen = small(pty_run(), "pty", w, h);
        assert!(screen.contains("1024"), "{screen}");
        let mut help = wc_run();
        let _ = update::act(&mut help, Action::Help, Instant::now());
        help.view.screen = Rect::new(0, 0, w, h);
        let mut pages = small(help_copy(&help), "help", w, h);
        // A small screen scrolls the help: every row can be reached with Space/PgDn.
        for _ in 0..6 {
            let _ = update::act(&mut help, Action::PageDown, Instant::now());
            pages.push_str(&text(&render_at(&help, w, h)));
        }
        for row in [
            "select the row above",
            "quit (stops every child)",
            "close the menu",
        ] {
            assert!(
                pages.contains(row),
                "{row} unreachable at {w}x{h}:\n{pages}"
            );
        }
    }
}

/// The help-overlay state of `app` on a fresh copy of its scenario.
fn help_copy(app: &App) -> App {
    let mut copy = wc_run();
    copy.view.mode = app.view.mode;
    copy.view.help_scroll = app.view.help_scroll;
    copy
}
