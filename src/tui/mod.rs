//! The interactive console: configured commands in a list, one pane per child fd, a real
//! terminal emulator for pty children, an input line for any writable fd, the timeline of
//! events, signals and closes from menus.
//!
//! Split the Elm way: [`state`] (plain data, no I/O handle), [`update`] (the only code that
//! changes it, from messages and [`action::Action`]s; pure: it returns [`effect::Effect`]s),
//! [`effects`] (performs them: spawns, writes, signals, files, the terminal), [`view`]
//! (draws the state, no I/O); [`keys`] is the key table that drives dispatch, the help and
//! the hint bar; children reach the UI only as [`state::Msg`]s; [`runner`] is the loop and
//! [`terminal`] owns the screen and fds 0–2.

#![warn(missing_docs)]

pub mod action;
pub mod ansi;
pub mod browse;
pub mod deps;
pub mod effect;
pub mod effects;
pub mod emulator;
pub mod guard;
pub mod input;
pub mod instance;
pub mod keyenc;
pub mod keys;
pub mod lanes;
pub mod layout;
pub mod log;
pub mod pane;
pub mod replay;
pub mod runner;
pub mod script;
pub mod state;
pub mod terminal;
pub mod timeline;
pub mod update;
pub mod view;
pub mod view_inspect;
mod view_overlay;
pub mod view_pane;

/// Runs the console for `config`, starting the commands named in `start` (and every
/// `autostart` one). Creates its own current-thread tokio runtime; restores the terminal
/// and fds 0–2 on every way out. Returns the exit code.
pub fn run(config: crate::config::Config, start: Vec<String>) -> anyhow::Result<i32> {
    run_listening(config, "built-in".into(), start, None)
}

/// [`run`], with the header naming where the config came from (`source`), also serving
/// remote-control clients on the socket `listen` (see [`crate::control`]). The socket is
/// bound before the screen is taken, so an error (another fdscope listening there) is a
/// plain message.
pub fn run_listening(
    config: crate::config::Config,
    source: String,
    start: Vec<String>,
    listen: Option<std::path::PathBuf>,
) -> anyhow::Result<i32> {
    config
        .check_names("--start ", &start)
        .map_err(anyhow::Error::msg)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let server = match listen {
        Some(path) => {
            let _inside = runtime.enter();
            Some(crate::control::bind(&path).map_err(anyhow::Error::msg)?)
        }
        None => None,
    };
    let console = take_terminal()?;
    let result = runtime.block_on(runner::run_loop(config, source, start, console, server));
    terminal::restore();
    terminal::forget_children();
    // Children that ignored everything were sent KILL; do not wait for their tasks.
    runtime.shutdown_background();
    result
}

/// `fdscope replay FILE`: the console on a recorded transcript (see [`replay`]). No
/// process is started, so no runtime either: keys are polled between due events. Lines
/// of the file that cannot be read are reported (with their numbers) before the screen
/// is taken, and again on the status line; the rest is replayed.
pub fn run_replay(file: &std::path::Path) -> anyhow::Result<i32> {
    use crossterm::event::{poll, read, Event};
    use ratatui::backend::CrosstermBackend;
    use std::time::{Duration, Instant};

    let transcript = crate::transcript::read_transcript_file(file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    for error in &transcript.errors {
        eprintln!("fdscope: {}: {error}", file.display());
    }
    let skipped = transcript.errors.len();
    let first_error = transcript.errors.first().map(|e| e.to_string());
    let console = take_terminal()?;
    let result = (|| -> anyhow::Result<i32> {
        let mut term = ratatui::Terminal::new(CrosstermBackend::new(console.tty))?;
        let size = term.size()?;
        let screen = ratatui::layout::Rect::new(0, 0, size.width, size.height);
        let (mut app, mut replay) =
            replay::Replay::new(transcript, &file.display().to_string(), screen);
        if let Some(first) = first_error {
            app.view.status = format!(
                "{} line(s) skipped, the first: {first}; the rest is replayed",
                skipped
            );
        }
        let mut last = Instant::now();
        loop {
            let now = Instant::now();
            replay.advance(&mut app, now - last, now);
            last = now;
            let size = term.size()?;
            app.view.screen = ratatui::layout::Rect::new(0, 0, size.width, size.height);
            update::sync_pty_size(&mut app); // the recorded child cannot be resized
            term.draw(|frame| view::draw(frame, &app, now))?;
            let wait = replay
                .next_due()
                .unwrap_or(Duration::from_millis(500))
                .min(Duration::from_millis(100));
            if poll(wait)? {
                match read()? {
                    Event::Key(key) => {
                        if replay.key(&mut app, key, Instant::now()) {
                            return Ok(0);
                        }
                    }
                    Event::Resize(..) => {}
                    other => {
                        update::handle(&mut app, state::Msg::Term(other), Instant::now());
                    }
                }
            }
        }
    })();
    terminal::restore();
    result
}

/// Takes the terminal (the panic hook first, so a panic still gives it back).
fn take_terminal() -> anyhow::Result<terminal::Console> {
    terminal::install_panic_hook();
    terminal::setup().map_err(|e| {
        terminal::restore();
        e.into()
    })
}
