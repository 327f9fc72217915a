//! The inspector overlay (key `o`): the selected instance's process tree with CPU % and
//! RSS, each fd of the child and what it is, and who holds fdscope's pipes open after the
//! child exited — the answer to "why has it not ended?".

use super::state::InspectView;
use crate::inspect::{ChildState, Report};
use crate::wording::size;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

const BOLD: Style = Style::new().add_modifier(Modifier::BOLD);
const DIM: Style = Style::new().fg(Color::DarkGray);

/// The report as lines of text (also what a test reads).
pub fn lines(report: &Report) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let child = match report.child {
        ChildState::Running => "running",
        ChildState::Zombie => "exited, not reaped yet (zombie)",
        ChildState::Gone => "exited and reaped",
        ChildState::Unreadable => "/proc/PID cannot be read (another user's process?)",
    };
    out.push(Line::from(vec![
        Span::styled(format!("pid {}", report.pid), BOLD),
        Span::raw(format!(": {child}")),
    ]));
    out.push(Line::raw(""));
    out.push(Line::styled("processes", BOLD));
    out.push(Line::styled("  PID     S  CPU%    RSS       COMMAND", DIM));
    if report.tree.is_empty() {
        out.push(Line::styled("  (none left)", DIM));
    }
    for p in &report.tree {
        let cpu = p.cpu_percent.map_or("-".to_string(), |c| format!("{c:.0}"));
        let detached = if p.detached {
            "  (holds a pipe; its parent exited)"
        } else {
            ""
        };
        out.push(Line::raw(format!(
            "  {:<7} {}  {:>4}  {:>9}  {}{}{}",
            p.pid,
            p.state,
            cpu,
            size(p.rss_bytes),
            "  ".repeat(p.depth),
            p.command,
            detached
        )));
    }
    out.push(Line::raw(""));
    out.push(Line::styled("fds of the child", BOLD));
    if let Some(error) = &report.fds_error {
        out.push(Line::styled(
            format!("  {error}"),
            Style::new().fg(Color::LightRed),
        ));
    } else if report.fds.is_empty() {
        out.push(Line::styled("  (the child is gone)", DIM));
    }
    for fd in &report.fds {
        out.push(Line::raw(format!(
            "  {:>3}  {:<40} {}",
            fd.fd,
            fd.kind.describe(),
            fd.target
        )));
    }
    if !report.held_open.is_empty() {
        out.push(Line::raw(""));
        out.push(Line::styled(
            "still open after the child exited",
            BOLD.fg(Color::Yellow),
        ));
        for held in &report.held_open {
            let who = if held.holders.is_empty() {
                "held by a process /proc does not show (another user's?)".to_string()
            } else {
                format!("held by {}", crate::inspect::holders_text(&held.holders))
            };
            out.push(Line::raw(format!("  fd {}: {who}", held.fd)));
        }
    }
    out
}

/// Draws the overlay over everything but the hint bar.
pub fn draw(frame: &mut Frame, view: &InspectView, name: &str) {
    let screen = frame.area();
    let area = Rect {
        height: screen.height.saturating_sub(1),
        ..screen
    };
    let text = match &view.report {
        Some(report) => lines(report),
        None => vec![Line::styled("reading /proc…", DIM)],
    };
    let block = Block::default().borders(Borders::ALL).title(format!(
        " inspect {name} · refreshed every second · Esc closes "
    ));
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(text).block(block).scroll((view.scroll, 0)),
        area,
    );
}
