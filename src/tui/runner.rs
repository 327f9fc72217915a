//! The loop: drain everything that is ready (keys first), run timers, then draw at most
//! once per frame, and only when something changed.
//!
//! Children never wait for the screen: their events arrive through a bounded channel that
//! the loop empties within a time budget per turn, whether or not their panes are visible.

use super::model::{App, Msg, RunState};
use super::{instance, ops, terminal, update, view};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture, Event};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::Terminal;
use std::io::Write;
use std::time::{Duration, Instant};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

/// Shortest time between two frames (a 60 fps cap).
const FRAME: Duration = Duration::from_millis(16);
/// Longest time spent draining child events before looking at keys and the screen again.
const DRAIN_BUDGET: Duration = Duration::from_millis(10);
/// How often the elapsed clocks of running instances move.
const CLOCK: Duration = Duration::from_millis(100);
/// Sleep when nothing at all is due.
const IDLE: Duration = Duration::from_secs(3600);
/// Messages that may wait for the loop. Small on purpose: a chunk pins the engine's read
/// buffer it was sliced from, so a lagging loop must make the children wait, not pile up.
const CHANNEL: usize = 32;

/// Reads the terminal's events on a thread of its own (crossterm's reader blocks).
fn spawn_key_reader(tx: mpsc::UnboundedSender<Event>) {
    std::thread::Builder::new()
        .name("fdscope-keys".into())
        .spawn(move || {
            while let Ok(event) = crossterm::event::read() {
                if tx.send(event).is_err() {
                    break;
                }
            }
        })
        .expect("spawn the key reader thread");
}

/// Forwards what children write to the console's own fds 1 and 2.
fn spawn_console_reader(fd: std::os::fd::OwnedFd, tx: mpsc::Sender<Msg>) -> std::io::Result<()> {
    let pipe = tokio::net::unix::pipe::Receiver::from_owned_fd(fd)?;
    tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            if pipe.readable().await.is_err() {
                break;
            }
            match pipe.try_read(&mut buf) {
                Ok(0) => {}
                Ok(n) => {
                    let data = bytes::Bytes::copy_from_slice(&buf[..n]);
                    if tx.send(Msg::Console(data)).await.is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
        }
    });
    Ok(())
}

/// Runs the console until the user quits (or a signal asks it to); returns the exit code.
pub async fn run_loop(
    config: crate::config::Config,
    start: Vec<String>,
    console: terminal::Console,
) -> anyhow::Result<i32> {
    let (tx, mut rx) = mpsc::channel::<Msg>(CHANNEL);
    let (key_tx, mut keys) = mpsc::unbounded_channel::<Event>();
    spawn_key_reader(key_tx);
    spawn_console_reader(console.output, tx.clone())?;
    let mut term = Terminal::new(CrosstermBackend::new(console.tty))?;
    let size = term.size()?;
    let mut app = App::new(
        config.commands,
        config.console,
        tx,
        Rect::new(0, 0, size.width, size.height),
    );
    app.console_in = Some(console.input);
    for ci in 0..app.commands.len() {
        let cmd = &app.commands[ci];
        let times = start
            .iter()
            .filter(|s| **s == cmd.name)
            .count()
            .max(usize::from(cmd.autostart));
        for _ in 0..times {
            let ii = instance::start(&mut app, ci);
            instance::select_instance(&mut app, ii);
        }
    }

    let result = drive(&mut app, &mut term, &mut keys, &mut rx).await;
    // On every way out (quit, signal, a terminal error) children are stopped and reaped.
    stop_all(&mut app, &mut rx).await;
    let _ = term.backend_mut().flush();
    result.map(|()| 0)
}

/// The loop proper, until `app.done` or an error from the terminal.
async fn drive(
    app: &mut App,
    term: &mut Terminal<CrosstermBackend<std::fs::File>>,
    keys: &mut mpsc::UnboundedReceiver<Event>,
    rx: &mut mpsc::Receiver<Msg>,
) -> anyhow::Result<()> {
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut dirty = true;
    let mut answer_key = false;
    let mut last_draw = Instant::now() - FRAME;
    let mut mouse = app.mouse;
    while !app.done {
        let now = Instant::now();
        let wait = if dirty {
            (last_draw + FRAME).saturating_duration_since(now)
        } else {
            // Wake for timers, and to move the elapsed clocks of running instances.
            let clock = app.instances.iter().any(|i| i.running());
            let timer = update::next_timer(app, now).unwrap_or(IDLE);
            timer.min(if clock { CLOCK } else { IDLE })
        };
        tokio::select! {
            biased;
            Some(event) = keys.recv() => {
                update::handle(app, Msg::Term(event));
                dirty = true;
                answer_key = true;
            }
            Some(msg) = rx.recv() => {
                update::handle(app, msg);
                dirty = true;
            }
            _ = sigterm.recv() => quit_on_signal(app, 15),
            _ = sighup.recv() => quit_on_signal(app, 1),
            _ = sigint.recv() => quit_on_signal(app, 2),
            _ = tokio::time::sleep(wait) => {}
        }
        // Drain what is ready, keys before output, within a budget that ends no later than
        // the next frame: under a flood the slice would otherwise overrun the frame it
        // should end in, and the screen (and the answer to a key) would slip a whole slice.
        let start = Instant::now();
        let budget = (start + DRAIN_BUDGET).min((last_draw + FRAME).max(start));
        loop {
            while let Ok(event) = keys.try_recv() {
                update::handle(app, Msg::Term(event));
                dirty = true;
                answer_key = true;
            }
            if answer_key {
                break;
            }
            match rx.try_recv() {
                Ok(msg) => {
                    update::handle(app, msg);
                    dirty = true;
                }
                Err(_) => break,
            }
            if Instant::now() >= budget {
                break;
            }
        }
        let now = Instant::now();
        dirty |= update::tick(app, now);
        // Running instances show a clock with tenths of a second.
        if now >= last_draw + CLOCK && app.instances.iter().any(|i| i.running()) {
            dirty = true;
        }
        for bytes in app.outbox.drain(..) {
            term.backend_mut().write_all(&bytes)?;
        }
        if mouse != app.mouse {
            mouse = app.mouse;
            if mouse {
                crossterm::execute!(term.backend_mut(), EnableMouseCapture)?;
            } else {
                crossterm::execute!(term.backend_mut(), DisableMouseCapture)?;
            }
        }
        // A key is answered on the next draw at once, not at the frame cap: the cap is
        // for output, and typing is far slower than 60 keys a second.
        if dirty && (answer_key || now >= last_draw + FRAME) && !app.done {
            let size = term.size()?;
            app.screen = Rect::new(0, 0, size.width, size.height);
            update::sync_pty_size(app);
            term.draw(|frame| view::draw(frame, app, now))?;
            last_draw = now;
            dirty = false;
            answer_key = false;
        }
    }
    Ok(())
}

/// Stops every child still alive (TERM, KILL after the grace period) and waits for them
/// to end, without drawing.
async fn stop_all(app: &mut App, rx: &mut mpsc::Receiver<Msg>) {
    let alive = |app: &App| {
        app.instances
            .iter()
            .any(|i| matches!(i.state, RunState::Running | RunState::Exited(_)))
    };
    if !alive(app) {
        return;
    }
    if app.quitting.is_none() {
        ops::quit(app);
    }
    let deadline = app.quitting.unwrap_or_else(Instant::now);
    while alive(app) && Instant::now() < deadline {
        let wait = update::next_timer(app, Instant::now()).unwrap_or(CLOCK);
        tokio::select! {
            Some(msg) = rx.recv() => update::handle(app, msg),
            _ = tokio::time::sleep(wait.min(CLOCK)) => {}
        }
        update::tick(app, Instant::now());
    }
    for inst in app.instances.iter().filter(|i| i.running()) {
        if let Some(t) = &inst.transport {
            let _ = t.signal_process(crate::Signal::SIGKILL);
        }
    }
}

fn quit_on_signal(app: &mut App, sig: i32) {
    if app.quitting.is_some() {
        app.done = true; // asked twice: leave now
    } else {
        update::handle(app, Msg::Terminate(sig));
    }
}
