// The console's pane data path on arbitrary bytes: what a child writes, fed to a pty
// pane (vt100 behind the OSC guard), pipe panes (ANSI log), the console pane, the
// timeline and the transcript; then search (pipe and terminal scrollback), scrolling, the
// hex view, resizing and drawing the whole console. Never a panic, and the buffers stay
// within their documented bounds.
//
// Input layout: 4 header bytes (rows, cols, flags, search-term length), the search term,
// then the payload, fed in chunks whose size comes from the flags.
//
// Included by `fuzz/fuzz_targets/pane.rs` and by `tests/hardening_fuzz_seeds.rs`.

use fdscope::config::{CommandConfig, ConsoleSettings};
use fdscope::tui::state::{App, Instance, Msg, PaneRef};
use fdscope::tui::pane::{Body, HEX_BYTES};
use fdscope::tui::{browse, instance, log, update, view};
use fdscope::{ChildFd, ProcessEvent, ProcessSpec, PtySize};
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::Terminal;
use std::time::{Duration, Instant};

/// A command and a not-started instance of it with the panes the console would make.
fn instance_of(app: &mut App, name: &str, spec: ProcessSpec) -> u64 {
    let command = CommandConfig::new(name, spec);
    let (panes, uses_console, notes) = instance::panes_for(&command, app.procs.settings.scrollback_lines);
    app.procs.commands.push(command);
    let id = app.procs.next_id;
    app.procs.next_id += 1;
    let command = app.procs.commands.len() - 1;
    let mut inst = Instance::new(id, command, name.into(), panes, uses_console, notes, Instant::now());
    inst.pid = Some(4242);
    app.procs.instances.push(inst);
    id
}

/// A console with a pty instance and a pipes instance, as a fuzz or test fixture.
pub fn fixture(rows: u16, cols: u16, scrollback: usize) -> App {
    let settings = ConsoleSettings {
        scrollback_lines: scrollback,
        stop_grace_ms: 10,
    };
    let mut app = App::new(Vec::new(), settings, Rect::new(0, 0, cols, rows));
    instance_of(
        &mut app,
        "term",
        ProcessSpec::new("sh")
            .pty(PtySize { rows: 24, cols: 80 })
            .child_fd(3, ChildFd::Read),
    );
    instance_of(
        &mut app,
        "pipes",
        ProcessSpec::new("sh").child_fds([
            (0, ChildFd::Write),
            (1, ChildFd::Read),
            (2, ChildFd::Read),
            (5, ChildFd::Parent(1)),
        ]),
    );
    app
}

fn draw(app: &App, term: &mut Terminal<TestBackend>) {
    let size = app.view.screen;
    term.backend_mut().resize(size.width, size.height);
    let _ = term.resize(size);
    term.draw(|frame| view::draw(frame, app, Instant::now()))
        .expect("drawing into a TestBackend cannot fail");
}

fn check_bounds(app: &App) {
    for pane in app
        .procs
        .instances
        .iter()
        .flat_map(|i| &i.panes)
        .chain([&app.procs.console])
    {
        assert!(pane.raw.bytes.len() <= HEX_BYTES);
        if let Body::Log(ansi) = &pane.body {
            assert!(ansi.lines.bytes() <= log::MAX_BYTES + 4 * log::MAX_LINE_CHARS);
            assert!(ansi.lines.len() <= ansi.lines.max_lines());
            for i in 0..ansi.lines.len() {
                assert!(ansi.lines.line(i).unwrap().chars() <= log::MAX_LINE_CHARS);
            }
        }
    }
}

/// Checks one input; panics on a broken promise.
pub fn run(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let (head, rest) = data.split_at(4);
    let rows = u16::from(head[0] % 60);
    let cols = u16::from(head[1] % 200);
    let flags = head[2];
    let (needle, payload) = rest.split_at(usize::from(head[3] % 16).min(rest.len()));
    let needle = String::from_utf8_lossy(needle).into_owned();
    let chunk = usize::from(flags >> 3) * 37 + 1;
    let mut app = fixture(rows, cols, 64);
    let (term_id, pipes_id) = (app.procs.instances[0].id, app.procs.instances[1].id);

    for (n, piece) in payload.chunks(chunk).enumerate() {
        let at = Duration::from_millis(n as u64);
        let data = bytes::Bytes::copy_from_slice(piece);
        for (id, fd) in [(term_id, 1), (term_id, 3), (pipes_id, 1), (pipes_id, 2)] {
            let event = ProcessEvent::ChildDataReceived {
                fd,
                data: data.clone(),
            };
            let _ = fdscope::transcript::json_line(at, &event, Some("x"), true);
            let _ = fdscope::transcript::text_line(at, &event, None, true);
            update::handle(&mut app, Msg::Child { id, at, event }, Instant::now());
        }
        update::handle(&mut app, Msg::Console(data), Instant::now());
    }
    let _ = fdscope::escape::unescape(&String::from_utf8_lossy(payload));
    let _ = fdscope::escape::escape(payload);
    for inst in &app.procs.instances {
        if let Some(entry) = inst.timeline.entries.back() {
            let _ = fdscope::tui::timeline::json_line(entry, &inst.name);
        }
    }
    check_bounds(&app);

    let mut term = Terminal::new(TestBackend::new(cols, rows)).expect("test terminal");
    // Rows of the list: console, term, its instance, pipes, its instance.
    for row in [0usize, 2, 4] {
        app.view.row = row;
        let panes = app.visible_panes().len().max(1);
        for pane in 0..panes {
            app.view.focus = pane;
            app.view.zoom = flags & 1 != 0;
            app.view.show_timeline = flags & 2 == 0;
            if let Some(at) = app.focused_pane() {
                app.pane_mut(at).hex = flags & 4 != 0;
                browse::search(&mut app, Some(needle.clone()), true);
                browse::search(&mut app, None, true);
                browse::search(&mut app, None, false);
                browse::scroll(&mut app, at, i32::from(head[0]) - 100);
                browse::copy(&mut app, &mut Vec::new());
                update::sync_pty_size(&mut app);
                draw(&app, &mut term);
                browse::scroll(&mut app, at, i32::MIN / 2);
                app.pane_mut(at).hex = !app.pane(at).hex;
                draw(&app, &mut term);
                if let PaneRef::Instance(ii, pi) = at {
                    app.procs.instances[ii].panes[pi].resize(rows, cols);
                }
            }
        }
    }
    check_bounds(&app);
}
