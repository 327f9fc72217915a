// The console's keyboard, mouse, paste and resize handling on arbitrary input: every
// event goes through `update::handle` (the console's only way to change its state), with
// child output interleaved, and the whole console is drawn after each one. Never a panic.
//
// Children are never started: update is pure and its effects (spawns, writes, a saved
// transcript) are dropped, so Enter and `r` leave instances waiting for their spawn.
//
// Included by `fuzz/fuzz_targets/keys.rs` and by `tests/hardening_fuzz_seeds.rs`.

#[allow(dead_code)]
mod pane_fixture {
    include!("pane.rs");
}

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers, MouseButton, MouseEvent,
    MouseEventKind,
};
use fdscope::tui::state::Msg;
use fdscope::tui::{update, view};
use fdscope::ProcessEvent;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::time::{Duration, Instant};

fn key_code(b: u8) -> KeyCode {
    const NAMED: [KeyCode; 18] = [
        KeyCode::Enter,
        KeyCode::Esc,
        KeyCode::Tab,
        KeyCode::BackTab,
        KeyCode::Backspace,
        KeyCode::Up,
        KeyCode::Down,
        KeyCode::Left,
        KeyCode::Right,
        KeyCode::PageUp,
        KeyCode::PageDown,
        KeyCode::Home,
        KeyCode::End,
        KeyCode::Delete,
        KeyCode::Insert,
        KeyCode::F(1),
        KeyCode::F(12),
        KeyCode::Null,
    ];
    match b {
        0..=17 => NAMED[usize::from(b)],
        18..=31 => KeyCode::Char(char::from(b'a' + b - 18)),
        0x80.. => KeyCode::Char(char::from_u32(0x00e0 + u32::from(b)).unwrap_or('é')),
        _ => KeyCode::Char(char::from(b)),
    }
}

fn modifiers(b: u8) -> KeyModifiers {
    let mut m = KeyModifiers::NONE;
    if b & 1 != 0 {
        m |= KeyModifiers::SHIFT;
    }
    if b & 2 != 0 {
        m |= KeyModifiers::CONTROL;
    }
    if b & 4 != 0 {
        m |= KeyModifiers::ALT;
    }
    m
}

/// The next event of the input, and how many bytes it used.
fn event(data: &[u8]) -> Option<(Msg, usize)> {
    let [kind, a, b, ..] = *data else {
        return None;
    };
    let msg = match kind % 10 {
        0..=5 => Msg::Term(Event::Key(KeyEvent {
            code: key_code(a),
            modifiers: modifiers(b),
            kind: match b >> 6 {
                0 | 1 => KeyEventKind::Press,
                2 => KeyEventKind::Repeat,
                _ => KeyEventKind::Release,
            },
            state: KeyEventState::NONE,
        })),
        6 => Msg::Term(Event::Mouse(MouseEvent {
            kind: match a % 5 {
                0 => MouseEventKind::ScrollUp,
                1 => MouseEventKind::ScrollDown,
                2 => MouseEventKind::Down(MouseButton::Left),
                3 => MouseEventKind::Drag(MouseButton::Left),
                _ => MouseEventKind::Moved,
            },
            column: u16::from(b),
            row: u16::from(a / 5),
            modifiers: KeyModifiers::NONE,
        })),
        7 => {
            let len = usize::from(a % 16).min(data.len() - 3);
            let text = String::from_utf8_lossy(&data[3..3 + len]).into_owned();
            return Some((Msg::Term(Event::Paste(text)), 3 + len));
        }
        8 => Msg::Term(Event::Resize(u16::from(a), u16::from(b % 80))),
        _ => {
            let len = usize::from(a).min(data.len() - 3);
            let event = ProcessEvent::ChildDataReceived {
                fd: i32::from(b % 4),
                data: bytes::Bytes::copy_from_slice(&data[3..3 + len]),
            };
            let id = u64::from(b >> 7) + 1;
            return Some((
                Msg::Child {
                    id,
                    at: Duration::ZERO,
                    event,
                },
                3 + len,
            ));
        }
    };
    Some((msg, 3))
}

/// Checks one input; panics on a broken promise.
pub fn run(data: &[u8]) {
    let mut app = pane_fixture::fixture(30, 100, 32);
    let mut term = Terminal::new(TestBackend::new(100, 30)).expect("test terminal");
    let mut rest = data;
    let mut steps = 0;
    while let Some((msg, used)) = event(rest) {
        rest = &rest[used..];
        steps += 1;
        if steps > 400 || app.done {
            break;
        }
        // Update is pure: the effects (spawns, writes, a saved transcript) are dropped.
        let _ = update::handle(&mut app, msg, Instant::now());
        let _ = update::tick(&mut app, Instant::now());
        let size = app.view.screen;
        term.backend_mut().resize(size.width, size.height);
        let _ = term.resize(size);
        let _ = update::sync_pty_size(&mut app);
        term.draw(|frame| view::draw(frame, &app, Instant::now()))
            .expect("drawing into a TestBackend cannot fail");
    }
}
