//! `fdscope serve`: the console without a screen. The same [`Driver`] (state, update,
//! effects) and the same [`super::Hub`] as `fdscope --listen`, so every request behaves
//! exactly as in the console; runs until `ctl quit`, SIGTERM, SIGINT or SIGHUP, then stops
//! its children as `q` does.

use super::{Remote, Server};
use crate::config::Config;
use crate::tui::effects::{Driver, Performer};
use crate::tui::state::{App, Msg};
use crate::tui::{runner, update};
use ratatui::layout::Rect;
use std::time::{Duration, Instant};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

/// The screen a headless console lays out for: a pty pane alone gets 24×80 inside.
const SCREEN: Rect = Rect {
    x: 0,
    y: 0,
    width: 120,
    height: 32,
};
/// Child messages waiting for the loop (as in the console).
const CHANNEL: usize = 32;
/// Messages handled before the loop looks at requests and timers again.
const BATCH: usize = 256;

/// Runs the headless server on `server` until quit; returns the exit code (0).
pub async fn serve(config: Config, start: Vec<String>, server: Server) -> anyhow::Result<i32> {
    let (tx, mut rx) = mpsc::channel::<Msg>(CHANNEL);
    let mut app = App::new(config.commands, config.console, SCREEN);
    app.view.show_timeline = false;
    let mut driver = Driver::new(app, Performer::new(tx, None));
    let mut remote = Some(Remote::new(server));
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sighup = signal(SignalKind::hangup())?;
    // Said once the signals are ours: from here SIGTERM is a clean stop.
    if let Some(r) = &remote {
        if let Some(path) = r.server.path() {
            eprintln!("fdscope: listening on {}", path.display());
        }
    }
    runner::start_named(&mut driver, &start);
    while !driver.app.done {
        let wait =
            update::next_timer(&driver.app, Instant::now()).unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            Some(msg) = rx.recv() => {
                driver.handle(msg);
                for _ in 0..BATCH {
                    match rx.try_recv() {
                        Ok(msg) => driver.handle(msg),
                        Err(_) => break,
                    }
                }
            }
            Some(call) = Remote::next_call(&mut remote) => {
                if let Some(r) = remote.as_mut() {
                    r.hub.call(&mut driver, call);
                }
            }
            _ = sigterm.recv() => runner::quit_on_signal(&mut driver),
            _ = sigint.recv() => runner::quit_on_signal(&mut driver),
            _ = sighup.recv() => runner::quit_on_signal(&mut driver),
            _ = tokio::time::sleep(wait) => {}
        }
        driver.tick();
        if let Some(r) = remote.as_mut() {
            r.hub.flush(&mut driver);
        }
    }
    runner::stop_all(&mut driver, &mut rx).await;
    if let Some(r) = remote {
        r.finish(&mut driver).await;
    }
    Ok(0)
}
