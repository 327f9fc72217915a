//! The key table: data that drives both dispatch ([`lookup`]) and the help overlay
//! ([`help_rows`]) and hint bar, so they cannot disagree.

use super::action::{Action, Mode};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// One key, as matched (Shift is ignored for characters: `N` is `N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The key.
    pub code: KeyCode,
    /// Ctrl / Alt (Shift only for non-character keys).
    pub mods: KeyModifiers,
}

const fn k(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}

const fn c(ch: char) -> Key {
    k(KeyCode::Char(ch))
}

const fn ctrl(ch: char) -> Key {
    Key {
        code: KeyCode::Char(ch),
        mods: KeyModifiers::CONTROL,
    }
}

const fn alt(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::ALT,
    }
}

/// A row of the key table.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// Where it applies.
    pub mode: Mode,
    /// The keys (the first is the one shown in the hint bar).
    pub keys: &'static [Key],
    /// What it does.
    pub action: Action,
    /// The help text.
    pub help: &'static str,
    /// Shown in the one-line hint bar of its mode.
    pub hint: bool,
}

const fn b(
    mode: Mode,
    keys: &'static [Key],
    action: Action,
    help: &'static str,
    hint: bool,
) -> Binding {
    Binding {
        mode,
        keys,
        action,
        help,
        hint,
    }
}

use KeyCode::{BackTab, Down, End, Enter, Esc, Home, Left, PageDown, PageUp, Right, Tab, Up};
use Mode::{Help, Input, Menu, Normal, Pty, Search};

/// Every key the console knows, by mode.
pub static BINDINGS: &[Binding] = &[
    b(
        Normal,
        &[k(Up), c('k')],
        Action::Up,
        "select the row above",
        false,
    ),
    b(
        Normal,
        &[k(Down), c('j')],
        Action::Down,
        "select the row below",
        false,
    ),
    b(
        Normal,
        &[k(Enter)],
        Action::Start,
        "start a new instance",
        true,
    ),
    b(
        Normal,
        &[c('i')],
        Action::FocusInput,
        "type into a writable fd",
        true,
    ),
    b(
        Normal,
        &[c('p')],
        Action::FocusPty,
        "focus the pty (keys go to the child)",
        true,
    ),
    b(Normal, &[c('s')], Action::SignalMenu, "signal menu", true),
    b(
        Normal,
        &[c('x')],
        Action::Stop,
        "stop: TERM, KILL after the grace period",
        true,
    ),
    b(
        Normal,
        &[c('r')],
        Action::Restart,
        "restart the instance",
        true,
    ),
    b(
        Normal,
        &[c('c')],
        Action::CloseMenu,
        "close one fd of the instance",
        true,
    ),
    b(
        Normal,
        &[c('L')],
        Action::LoseConnection,
        "lose_connection (close every pipe)",
        false,
    ),
    b(
        Normal,
        &[c('d')],
        Action::Dismiss,
        "remove an ended instance",
        false,
    ),
    b(
        Normal,
        &[k(Right), c('l'), k(Tab)],
        Action::NextPane,
        "focus the next pane",
        false,
    ),
    b(
        Normal,
        &[k(Left), c('h'), k(BackTab)],
        Action::PrevPane,
        "focus the previous pane",
        false,
    ),
    b(
        Normal,
        &[c('z')],
        Action::Zoom,
        "zoom the focused pane / show all",
        true,
    ),
    b(
        Normal,
        &[c('t')],
        Action::ToggleTimeline,
        "show / hide the timeline",
        true,
    ),
    b(
        Normal,
        &[k(PageUp), ctrl('b')],
        Action::PageUp,
        "scroll the focused pane up",
        false,
    ),
    b(
        Normal,
        &[k(PageDown), ctrl('f')],
        Action::PageDown,
        "scroll the focused pane down",
        false,
    ),
    b(
        Normal,
        &[k(Home), c('g')],
        Action::Top,
        "scroll to the oldest line",
        false,
    ),
    b(
        Normal,
        &[k(End), c('G')],
        Action::Bottom,
        "scroll to the end and follow",
        false,
    ),
    b(
        Normal,
        &[c('/')],
        Action::Search,
        "search the focused pane",
        true,
    ),
    b(
        Normal,
        &[c('n')],
        Action::SearchNext,
        "next (older) match",
        false,
    ),
    b(
        Normal,
        &[c('N')],
        Action::SearchPrev,
        "previous (newer) match",
        false,
    ),
    b(
        Normal,
        &[c('y')],
        Action::Copy,
        "copy the visible text (OSC 52)",
        false,
    ),
    b(
        Normal,
        &[ctrl('l')],
        Action::Clear,
        "clear the focused pane",
        false,
    ),
    b(
        Normal,
        &[c('b')],
        Action::ToggleHex,
        "hex view of the focused pane",
        false,
    ),
    b(
        Normal,
        &[c('w')],
        Action::SaveTranscript,
        "save the transcript (JSON lines)",
        false,
    ),
    b(
        Normal,
        &[c('m')],
        Action::ToggleMouse,
        "mouse capture on / off",
        false,
    ),
    b(Normal, &[c('?')], Action::Help, "help", true),
    b(
        Normal,
        &[c('q')],
        Action::Quit,
        "quit (stops every child)",
        true,
    ),
    b(
        Input,
        &[k(Enter)],
        Action::Send,
        "send line + \\n (escapes \\n \\t \\xNN \\e)",
        true,
    ),
    b(
        Input,
        &[alt(Enter)],
        Action::SendRaw,
        "send the line without a newline",
        false,
    ),
    b(
        Input,
        &[ctrl('d')],
        Action::CloseTarget,
        "close the target fd (EOF)",
        true,
    ),
    b(
        Input,
        &[k(Tab)],
        Action::NextTarget,
        "next writable fd",
        true,
    ),
    b(
        Input,
        &[k(BackTab)],
        Action::PrevTarget,
        "previous writable fd",
        false,
    ),
    b(
        Input,
        &[k(Up)],
        Action::HistoryPrev,
        "previous line from history",
        false,
    ),
    b(
        Input,
        &[k(Down)],
        Action::HistoryNext,
        "next line from history",
        false,
    ),
    b(Input, &[k(Esc)], Action::Back, "back to the list", true),
    b(
        Pty,
        &[ctrl('a')],
        Action::ChordLeader,
        "then Esc: leave; then Ctrl-A: send Ctrl-A",
        true,
    ),
    b(Search, &[k(Enter)], Action::SearchConfirm, "search", true),
    b(Search, &[k(Esc)], Action::Back, "cancel", true),
    b(Menu, &[k(Up), c('k')], Action::MenuUp, "up", false),
    b(Menu, &[k(Down), c('j')], Action::MenuDown, "down", false),
    b(Menu, &[k(Enter)], Action::MenuChoose, "do it", true),
    b(
        Menu,
        &[k(Esc), c('q')],
        Action::Back,
        "close the menu",
        true,
    ),
    b(
        Help,
        &[k(Esc), c('?'), c('q')],
        Action::Back,
        "close the help",
        true,
    ),
];

fn normalize(key: KeyEvent) -> Key {
    let mut mods =
        key.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
    if matches!(key.code, KeyCode::Char(_) | KeyCode::BackTab) {
        mods.remove(KeyModifiers::SHIFT);
    }
    let code = match key.code {
        // Ctrl with a letter may arrive as upper case.
        KeyCode::Char(ch) if mods.contains(KeyModifiers::CONTROL) => {
            KeyCode::Char(ch.to_ascii_lowercase())
        }
        code => code,
    };
    Key { code, mods }
}

/// The action bound to `key` in `mode`, if any.
pub fn lookup(mode: Mode, key: KeyEvent) -> Option<Action> {
    let key = normalize(key);
    BINDINGS
        .iter()
        .find(|b| b.mode == mode && b.keys.contains(&key))
        .map(|b| b.action)
}

/// How a key is written in the help and the hint bar: `Ctrl-D`, `PgUp`, `↑`, `q`.
pub fn label(key: &Key) -> String {
    let name = match key.code {
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char(ch) => ch.to_string(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "Shift-Tab".into(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::Left => "←".into(),
        KeyCode::Right => "→".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::PageDown => "PgDn".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        other => format!("{other:?}"),
    };
    let mut out = String::new();
    if key.mods.contains(KeyModifiers::CONTROL) {
        out.push_str("Ctrl-");
        return out + &name.to_uppercase();
    }
    if key.mods.contains(KeyModifiers::ALT) {
        out.push_str("Alt-");
    }
    out + &name
}

/// The rows of the help overlay: (mode heading, keys, text), in table order.
pub fn help_rows() -> Vec<(Mode, String, &'static str)> {
    BINDINGS
        .iter()
        .map(|b| {
            let keys: Vec<String> = b.keys.iter().map(label).collect();
            (b.mode, keys.join(" "), b.help)
        })
        .collect()
}

/// The one-line hint for `mode`: `key action · key action …` from the table.
pub fn hint(mode: Mode) -> Vec<(String, &'static str)> {
    BINDINGS
        .iter()
        .filter(|b| b.mode == mode && b.hint)
        .map(|b| (label(&b.keys[0]), short(b.action)))
        .collect()
}

/// A word or two for the hint bar.
fn short(action: Action) -> &'static str {
    match action {
        Action::Start => "start",
        Action::FocusInput => "input",
        Action::FocusPty => "pty",
        Action::SignalMenu => "signal",
        Action::Stop => "stop",
        Action::Restart => "restart",
        Action::CloseMenu => "close fd",
        Action::Zoom => "zoom",
        Action::ToggleTimeline => "timeline",
        Action::Search => "search",
        Action::Help => "help",
        Action::Quit => "quit",
        Action::Send => "send",
        Action::CloseTarget => "EOF",
        Action::NextTarget => "target",
        Action::Back => "back",
        Action::ChordLeader => "then Esc: leave the pty",
        Action::SearchConfirm => "find",
        Action::MenuChoose => "choose",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use KeyCode::Char;

    fn key(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn lookup_follows_the_table_and_ignores_shift_on_letters() {
        assert_eq!(
            lookup(Normal, key(Char('q'), KeyModifiers::NONE)),
            Some(Action::Quit)
        );
        assert_eq!(
            lookup(Normal, key(Char('N'), KeyModifiers::SHIFT)),
            Some(Action::SearchPrev)
        );
        assert_eq!(
            lookup(Input, key(Char('D'), KeyModifiers::CONTROL)),
            Some(Action::CloseTarget)
        );
        assert_eq!(
            lookup(Input, key(BackTab, KeyModifiers::SHIFT)),
            Some(Action::PrevTarget)
        );
        assert_eq!(lookup(Input, key(Char('q'), KeyModifiers::NONE)), None);
    }

    #[test]
    fn no_key_is_bound_twice_in_one_mode() {
        for (i, a) in BINDINGS.iter().enumerate() {
            for b2 in &BINDINGS[i + 1..] {
                if a.mode == b2.mode {
                    for key in a.keys {
                        assert!(!b2.keys.contains(key), "{key:?} twice in {:?}", a.mode);
                    }
                }
            }
        }
    }

    #[test]
    fn labels_read_like_keys() {
        assert_eq!(label(&ctrl('d')), "Ctrl-D");
        assert_eq!(label(&k(PageUp)), "PgUp");
        assert_eq!(label(&alt(Enter)), "Alt-Enter");
    }
}
