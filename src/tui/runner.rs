//! The loop: drain everything that is ready (keys first), run timers, then draw at most
//! once per frame, and only when something changed.
//!
//! Children never wait for the screen: their events arrive through a bounded channel that
//! the loop empties within a time budget per turn, whether or not their panes are visible.

use super::effects::{Driver, Performer};
use super::state::{App, Msg, RunState};
use super::{instance, terminal, update, view};
use crate::control::Remote;
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

/// Debug and test builds only: panics on the key named by `FDSCOPE_TEST_PANIC_ON_KEY`, so
/// tests can check what a panic inside the real console leaves behind.
#[cfg(debug_assertions)]
fn test_panic_on_key(event: &Event) {
    let want = std::env::var("FDSCOPE_TEST_PANIC_ON_KEY").ok();
    if let (Event::Key(key), Some(want)) = (event, want.and_then(|w| w.chars().next())) {
        assert!(
            key.code != crossterm::event::KeyCode::Char(want),
            "test panic on key {want}"
        );
    }
}
#[cfg(not(debug_assertions))]
fn test_panic_on_key(_: &Event) {}

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
    source: String,
    start: Vec<String>,
    console: terminal::Console,
    server: Option<crate::control::Server>,
) -> anyhow::Result<i32> {
    let (tx, mut rx) = mpsc::channel::<Msg>(CHANNEL);
    let (key_tx, mut keys) = mpsc::unbounded_channel::<Event>();
    spawn_key_reader(key_tx);
    spawn_console_reader(console.output, tx.clone())?;
    let mut term = Terminal::new(CrosstermBackend::new(console.tty))?;
    let size = term.size()?;
    let app = App::new(
        config.commands,
        config.console,
        Rect::new(0, 0, size.width, size.height),
    );
    let mut performer = Performer::new(tx, Some(console.input));
    performer.log = config.log;
    let mut driver = Driver::new(app, performer);
    driver.app.view.config_source = source;
    start_named(&mut driver, &start);
    let mut remote = server.map(Remote::new);
    let result = drive(&mut driver, &mut term, &mut keys, &mut rx, &mut remote).await;
    // On every way out (quit, signal, a terminal error) children are stopped and reaped.
    stop_all(&mut driver, &mut rx).await;
    if let Some(remote) = remote {
        remote.finish(&mut driver).await;
    }
    let _ = term.backend_mut().flush();
    result.map(|()| 0)
}

/// Starts the commands named by `--start` (as often as named) and the `autostart` ones.
pub fn start_named(driver: &mut Driver, start: &[String]) {
    let now = Instant::now();
    for ci in 0..driver.app.procs.commands.len() {
        let cmd = &driver.app.procs.commands[ci];
        let times = start
            .iter()
            .filter(|s| **s == cmd.name)
            .count()
            .max(usize::from(cmd.autostart));
        for _ in 0..times {
            let mut effects = Vec::new();
            let ii = instance::start(&mut driver.app, ci, now, &mut effects);
            instance::select_instance(&mut driver.app, ii);
            driver.perform(effects, now);
        }
    }
}

/// When the loop should wake up if nothing arrives: at the next frame when there is
/// something to draw, else for timers and the clocks of running instances.
fn idle_wait(app: &App, dirty: bool, last_draw: Instant, now: Instant) -> Duration {
    if dirty {
        return (last_draw + FRAME).saturating_duration_since(now);
    }
    let clock = app.procs.instances.iter().any(|i| i.running());
    let timer = update::next_timer(app, now).unwrap_or(IDLE);
    timer.min(if clock { CLOCK } else { IDLE })
}

/// What the loop remembers between turns.
struct Pacing {
    dirty: bool,
    answer_key: bool,
    last_draw: Instant,
}

/// Drains what is ready, keys before output, within a budget that ends no later than the
/// next frame: under a flood the slice would otherwise overrun the frame it should end in,
/// and the screen (and the answer to a key) would slip a whole slice.
fn drain(
    driver: &mut Driver,
    keys: &mut mpsc::UnboundedReceiver<Event>,
    rx: &mut mpsc::Receiver<Msg>,
    pacing: &mut Pacing,
) {
    let start = Instant::now();
    let budget = (start + DRAIN_BUDGET).min((pacing.last_draw + FRAME).max(start));
    loop {
        while let Ok(event) = keys.try_recv() {
            test_panic_on_key(&event);
            driver.handle(Msg::Term(event));
            pacing.dirty = true;
            pacing.answer_key = true;
        }
        if pacing.answer_key {
            break;
        }
        match rx.try_recv() {
            Ok(msg) => {
                driver.handle(msg);
                pacing.dirty = true;
            }
            Err(_) => break,
        }
        if Instant::now() >= budget {
            break;
        }
    }
}

/// Writes what the performer has for the terminal itself (OSC 52, mouse capture).
fn flush_to_terminal(
    driver: &mut Driver,
    term: &mut Terminal<CrosstermBackend<std::fs::File>>,
) -> anyhow::Result<()> {
    let performer = &mut driver.performer;
    if !performer.to_terminal.is_empty() {
        term.backend_mut().write_all(&performer.to_terminal)?;
        performer.to_terminal.clear();
    }
    match performer.mouse.take() {
        Some(true) => crossterm::execute!(term.backend_mut(), EnableMouseCapture)?,
        Some(false) => crossterm::execute!(term.backend_mut(), DisableMouseCapture)?,
        None => {}
    }
    Ok(())
}

/// Draws a frame: sizes the screen and the pty to it first.
fn draw(
    driver: &mut Driver,
    term: &mut Terminal<CrosstermBackend<std::fs::File>>,
    now: Instant,
) -> anyhow::Result<()> {
    let size = term.size()?;
    driver.app.view.screen = Rect::new(0, 0, size.width, size.height);
    let effects = update::sync_pty_size(&mut driver.app);
    driver.perform(effects, now);
    term.draw(|frame| view::draw(frame, &driver.app, now))?;
    Ok(())
}

/// The loop proper, until `app.done` or an error from the terminal.
async fn drive(
    driver: &mut Driver,
    term: &mut Terminal<CrosstermBackend<std::fs::File>>,
    keys: &mut mpsc::UnboundedReceiver<Event>,
    rx: &mut mpsc::Receiver<Msg>,
    remote: &mut Option<Remote>,
) -> anyhow::Result<()> {
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut pacing = Pacing {
        dirty: true,
        answer_key: false,
        last_draw: Instant::now() - FRAME,
    };
    while !driver.app.done {
        let wait = idle_wait(&driver.app, pacing.dirty, pacing.last_draw, Instant::now());
        tokio::select! {
            biased;
            Some(event) = keys.recv() => {
                test_panic_on_key(&event);
            driver.handle(Msg::Term(event));
                pacing.dirty = true;
                pacing.answer_key = true;
            }
            Some(msg) = rx.recv() => {
                driver.handle(msg);
                pacing.dirty = true;
            }
            Some(call) = Remote::next_call(remote) => {
                if let Some(r) = remote.as_mut() {
                    r.hub.call(driver, call);
                }
                // What a client did shows at once, as a key's effect does.
                pacing.dirty = true;
                pacing.answer_key = true;
            }
            _ = sigterm.recv() => quit_on_signal(driver),
            _ = sighup.recv() => quit_on_signal(driver),
            _ = sigint.recv() => quit_on_signal(driver),
            _ = tokio::time::sleep(wait) => {}
        }
        drain(driver, keys, rx, &mut pacing);
        let now = Instant::now();
        pacing.dirty |= driver.tick();
        if let Some(r) = remote.as_mut() {
            r.hub.flush(driver);
        }
        // Running instances show a clock with tenths of a second.
        if now >= pacing.last_draw + CLOCK && driver.app.procs.instances.iter().any(|i| i.running())
        {
            pacing.dirty = true;
        }
        flush_to_terminal(driver, term)?;
        // A key is answered on the next draw at once, not at the frame cap: the cap is
        // for output, and typing is far slower than 60 keys a second.
        let due = pacing.answer_key || now >= pacing.last_draw + FRAME;
        if pacing.dirty && due && !driver.app.done {
            draw(driver, term, now)?;
            pacing.last_draw = now;
            pacing.dirty = false;
            pacing.answer_key = false;
        }
    }
    Ok(())
}

/// Stops every child still alive (TERM, KILL after the grace period) and waits for them
/// to end, without drawing.
pub async fn stop_all(driver: &mut Driver, rx: &mut mpsc::Receiver<Msg>) {
    let alive = |app: &App| {
        app.procs
            .instances
            .iter()
            .any(|i| matches!(i.state, RunState::Running | RunState::Exited(_)))
    };
    if !alive(&driver.app) {
        return;
    }
    if driver.app.quitting.is_none() {
        driver.act(crate::tui::action::Action::Quit);
    }
    let deadline = driver.app.quitting.unwrap_or_else(Instant::now);
    while alive(&driver.app) && Instant::now() < deadline {
        let wait = update::next_timer(&driver.app, Instant::now()).unwrap_or(CLOCK);
        tokio::select! {
            Some(msg) = rx.recv() => driver.handle(msg),
            _ = tokio::time::sleep(wait.min(CLOCK)) => {}
        }
        driver.tick();
    }
    for inst in driver.app.procs.instances.iter().filter(|i| i.running()) {
        if let Some(t) = driver.performer.transport(inst.id) {
            let _ = t.signal_process(crate::Signal::SIGKILL);
        }
    }
}

/// SIGTERM, SIGHUP, SIGINT: leave as with `q`; asked twice, leave now.
pub fn quit_on_signal(driver: &mut Driver) {
    if driver.app.quitting.is_some() {
        driver.app.done = true; // asked twice: leave now
    } else {
        driver.handle(Msg::Terminate);
    }
}
