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
pub mod guard;
pub mod input;
pub mod instance;
pub mod keyenc;
pub mod keys;
pub mod lanes;
pub mod layout;
pub mod log;
pub mod pane;
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
    terminal::install_panic_hook();
    let console = match terminal::setup() {
        Ok(console) => console,
        Err(e) => {
            terminal::restore();
            return Err(e.into());
        }
    };
    let result = runtime.block_on(runner::run_loop(config, source, start, console, server));
    terminal::restore();
    terminal::forget_children();
    // Children that ignored everything were sent KILL; do not wait for their tasks.
    runtime.shutdown_background();
    result
}
