//! What the user sends to children: the input line (with escapes and history), keys and
//! pastes in pty focus, closing an fd. Pure: the bytes leave as [`Effect`]s.

use super::effect::Effect;
use super::pane::PaneKind;
use super::state::{App, Editors, Target};
use ratatui::style::{Modifier, Style};
use std::time::Instant;

/// Writes `data` to `target` of the selected instance (or the console's stdin); `note`
/// records it in the fd's pane. False if there is nothing to write to.
pub fn send_to(
    app: &mut App,
    target: Target,
    data: &[u8],
    note: bool,
    now: Instant,
    fx: &mut Vec<Effect>,
) -> bool {
    let fd = match target {
        Target::ConsoleStdin => {
            if app.procs.console_stdin_closed {
                app.view.status = "console stdin: the console's stdin is closed".into();
                return false;
            }
            if note {
                app.procs.console.note(
                    &format!("→ {}", crate::escape::escape(data)),
                    Style::default().add_modifier(Modifier::DIM),
                );
            }
            fx.push(Effect::WriteConsoleStdin(data.to_vec()));
            return true;
        }
        Target::Fd(fd) => fd,
    };
    let Some(ii) = app.selected_instance() else {
        return false;
    };
    let inst = &mut app.procs.instances[ii];
    if inst.pid.is_none() {
        return false;
    }
    if note {
        let at = now.saturating_duration_since(inst.started);
        if let Some(pane) = inst
            .pane_of(fd)
            .filter(|p| p.kind == PaneKind::Write && !p.closed)
        {
            pane.note_sent(at, data);
        }
    }
    fx.push(Effect::Write {
        id: inst.id,
        fd,
        data: data.to_vec(),
    });
    true
}

/// Sends the input line (unescaped; plus `\n` when `newline`) to the target.
pub fn send_line(app: &mut App, newline: bool, now: Instant, fx: &mut Vec<Effect>) {
    let Some(target) = app.target() else {
        app.view.status = "no writable fd here".into();
        return;
    };
    let text = app.editors.input.lines().join("");
    let mut data = crate::escape::unescape(&text);
    if newline {
        data.push(b'\n');
    }
    if send_to(app, target, &data, true, now, fx) {
        let editors = &mut app.editors;
        if !text.is_empty() && editors.history.last() != Some(&text) {
            editors.history.push(text);
        }
        editors.history_pos = None;
        editors.input = Editors::fresh_input();
    }
}

/// Recalls the previous (`older`) or next line from history into the input line.
pub fn recall(editors: &mut Editors, older: bool) {
    if editors.history.is_empty() {
        return;
    }
    let last = editors.history.len() - 1;
    let pos = match (editors.history_pos, older) {
        (None, true) => Some(last),
        (None, false) => None,
        (Some(p), true) => Some(p.saturating_sub(1)),
        (Some(p), false) if p < last => Some(p + 1),
        (Some(_), false) => None,
    };
    editors.history_pos = pos;
    editors.input = Editors::fresh_input();
    if let Some(p) = pos {
        editors.input.insert_str(&editors.history[p]);
    }
}

/// Closes `target` of instance `ii` (a read pipe too: the child's next write gets SIGPIPE).
pub fn close(app: &mut App, ii: usize, target: Target, fx: &mut Vec<Effect>) {
    let fd = match target {
        Target::ConsoleStdin => return close_console_stdin(app, fx),
        Target::Fd(fd) => fd,
    };
    let inst = &app.procs.instances[ii];
    if inst.pid.is_none() {
        return;
    }
    fx.push(Effect::Close { id: inst.id, fd });
    app.view.status = if inst.pty && fd == 0 {
        "sent EOF (Ctrl-D) to the pty".into()
    } else {
        format!("closing fd {fd} of {}", inst.name)
    };
}

/// Closes the console's stdin pipe: children that inherited fd 0 read EOF.
pub fn close_console_stdin(app: &mut App, fx: &mut Vec<Effect>) {
    app.procs.console_stdin_closed = true;
    app.procs
        .console
        .note("── console stdin closed ──", Style::default());
    app.view.status = "closed the console's stdin".into();
    fx.push(Effect::CloseConsoleStdin);
}
