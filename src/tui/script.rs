//! Scripts in the console: the one script runner ([`crate::script::run`]) drives a
//! scripted instance beside the performer, and its events come back as messages in
//! order with the process events. A failed script leaves the child running: the user
//! takes over by hand.

use super::effect::Effect;
use super::pane::PaneKind;
use super::state::{App, Msg};
use crate::record::log::LogFile;
use crate::script::{ScriptJob, Step};
use crate::spawn::Process;
use crate::transcript::TranscriptEvent;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Where an instance's script is, for its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The steps, as a person reads them.
    pub steps: Vec<String>,
    /// Steps completed.
    pub done: usize,
    /// The failure: step index and `reason; last output "…"`.
    pub failed: Option<(usize, String)>,
}

impl Progress {
    /// A script about to run.
    pub fn new(steps: &[Step]) -> Progress {
        Progress {
            steps: steps.iter().map(Step::describe).collect(),
            done: 0,
            failed: None,
        }
    }

    /// `script 3/7: expect /1024/ on fd 1`, `script done (7 steps)`, or
    /// `script failed at step 3 (…): timeout; last output: "…"`.
    pub fn text(&self) -> String {
        if let Some((step, why)) = &self.failed {
            let action = self.steps.get(*step).cloned().unwrap_or_default();
            return format!("script failed at step {step} ({action}): {why}");
        }
        match self.steps.get(self.done) {
            Some(step) => format!("script {}/{}: {step}", self.done + 1, self.steps.len()),
            None => format!("script done ({} steps)", self.steps.len()),
        }
    }
}

/// Runs `job` on instance `id`'s process and forwards every event to the console:
/// process events as [`Msg::Child`], script events as [`Msg::Script`].
pub fn drive(
    id: u64,
    process: Process,
    job: ScriptJob,
    tx: mpsc::Sender<Msg>,
    mut log: Option<LogFile>,
) {
    let epoch = process.events.started();
    let (sink, mut events) = mpsc::channel(256);
    tokio::spawn(crate::script::run(process, job, id, sink, epoch));
    tokio::spawn(async move {
        while let Some((_, at, event)) = events.recv().await {
            if log
                .as_mut()
                .is_some_and(|f| f.write_event(at, &event).is_err())
            {
                log = None;
            }
            let msg = match event {
                TranscriptEvent::Process(event) => Msg::Child { id, at, event },
                event => Msg::Script { id, at, event },
            };
            if tx.send(msg).await.is_err() {
                break; // the console is gone; the runner still drains the child
            }
        }
    });
}

/// A script event of instance `id`: into its timeline and its header.
pub fn on_event(
    app: &mut App,
    id: u64,
    at: Duration,
    event: TranscriptEvent,
    now: Instant,
    fx: &mut Vec<Effect>,
) {
    let Some(ii) = app.index_of(id) else {
        return;
    };
    let command = &app.procs.commands[app.procs.instances[ii].command];
    let step_data = match &event {
        TranscriptEvent::ScriptStep(done) => match command.script.get(done.step) {
            Some(Step::Write { fd, data, repeat }) if !done.action.contains("(warning:") => {
                crate::script::expand(data, &Default::default())
                    .ok()
                    .map(|data| (*fd, data.repeat(*repeat as usize)))
            }
            _ => None,
        },
        _ => None,
    };
    let name = app.procs.instances[ii].name.clone();
    let inst = &mut app.procs.instances[ii];
    if let Some((fd, data)) = step_data {
        if let Some(pane) = inst.pane_of(fd).filter(|p| p.kind == PaneKind::Write) {
            pane.note_sent(at, &data);
        }
    }
    if let Some(progress) = &mut inst.script {
        match &event {
            TranscriptEvent::ScriptStep(done) => progress.done = done.step + 1,
            TranscriptEvent::ScriptFailed(failed) => {
                progress.failed = Some((
                    failed.step,
                    format!(
                        "{}; last output: \"{}\"",
                        failed.reason.as_str(),
                        crate::escape::escape(failed.tail.as_bytes())
                    ),
                ));
            }
            _ => {}
        }
    }
    match &event {
        TranscriptEvent::ScriptFailed(failed) => {
            app.view.status = format!(
                "{name}: script failed at step {}: {} — the child keeps running",
                failed.step,
                failed.reason.as_str()
            );
        }
        TranscriptEvent::Ready(ready) => {
            app.view.status = format!("{name} is ready");
            app.procs.instances[ii].ready_vars = Some(ready.groups.clone());
        }
        _ => {}
    }
    app.procs.instances[ii].timeline.push_note(at, event);
    super::deps::on_change(app, now, fx);
}

/// The header's script span: the step in progress, or the failure in red.
pub fn header_span(progress: &Progress) -> Span<'static> {
    let style = if progress.failed.is_some() {
        Style::default()
            .fg(Color::LightRed)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::default().fg(Color::LightCyan)
    };
    Span::styled(format!(" {} ", progress.text()), style)
}

/// A timeline row for a script event.
pub fn timeline_note(at: Duration, event: &TranscriptEvent) -> Line<'static> {
    let (detail, style) = match event {
        TranscriptEvent::ScriptStep(step) => {
            let mut text = format!("{}: {}", step.step, step.action);
            if let Some(matched) = &step.matched {
                text.push_str(&format!(
                    "  \"{}\"",
                    crate::escape::escape(&matched.as_bytes()[..matched.len().min(60)])
                ));
            }
            (text, Style::default().fg(Color::LightCyan))
        }
        TranscriptEvent::ScriptFailed(failed) => (
            format!(
                "{}: {}: {}  \"{}\"",
                failed.step,
                failed.action,
                failed.reason.as_str(),
                crate::escape::escape(failed.tail.as_bytes())
            ),
            Style::default().fg(Color::LightRed),
        ),
        TranscriptEvent::Ready(ready) => (
            ready
                .groups
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" "),
            Style::default().fg(Color::LightGreen),
        ),
        TranscriptEvent::HeldOpen(held) => (
            format!("fd {} held by {} processes", held.fd, held.holders.len()),
            Style::default().fg(Color::Yellow),
        ),
        TranscriptEvent::Process(_) => (String::new(), Style::default()),
    };
    Line::from(vec![
        Span::styled(
            format!("{:>10.3}ms ", at.as_secs_f64() * 1000.0),
            Style::default().add_modifier(Modifier::DIM),
        ),
        Span::raw("      "),
        Span::styled(format!("{:<21} ", event.name()), style),
        Span::styled(detail, style),
    ])
}
