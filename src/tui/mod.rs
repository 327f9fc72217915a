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
pub mod state;
pub mod terminal;
pub mod timeline;
pub mod update;
pub mod view;
mod view_overlay;
pub mod view_pane;

/// Runs the console for `config`, starting the commands named in `start` (and every
/// `autostart` one). Creates its own current-thread tokio runtime; restores the terminal
/// and fds 0–2 on every way out. Returns the exit code.
pub fn run(config: crate::config::Config, start: Vec<String>) -> anyhow::Result<i32> {
    for name in &start {
        if !config.commands.iter().any(|c| &c.name == name) {
            anyhow::bail!("--start {name}: no command of that name in the config");
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    terminal::install_panic_hook();
    let console = match terminal::setup() {
        Ok(console) => console,
        Err(e) => {
            terminal::restore();
            return Err(e.into());
        }
    };
    let result = runtime.block_on(runner::run_loop(config, start, console));
    terminal::restore();
    terminal::forget_children();
    // Children that ignored everything were sent KILL; do not wait for their tasks.
    runtime.shutdown_background();
    result
}
