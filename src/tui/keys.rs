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
    /// The word or two the one-line hint bar of its mode shows, if it is shown there.
    pub hint: Option<&'static str>,
    /// The help text, where it says more than the action's own description in this mode.
    pub help: Option<&'static str>,
}

impl Binding {
    /// The help overlay's text for this row.
    pub fn help(&self) -> &'static str {
        self.help.unwrap_or_else(|| self.action.describe())
    }
}

const fn b(
    mode: Mode,
    keys: &'static [Key],
    action: Action,
    hint: Option<&'static str>,
) -> Binding {
    Binding {
        mode,
        keys,
        action,
        hint,
        help: None,
    }
}

const fn bh(
    mode: Mode,
    keys: &'static [Key],
    action: Action,
    hint: Option<&'static str>,
    help: &'static str,
) -> Binding {
    Binding {
        mode,
        keys,
        action,
        hint,
        help: Some(help),
    }
}

use KeyCode::{
    BackTab, Backspace, Down, End, Enter, Esc, Home, Left, PageDown, PageUp, Right, Tab, Up,
};
use Mode::{Help, Input, Inspect, Menu, Normal, Pty, PtyChord, Replay, Search};

/// Every key the console knows, by mode.
pub static BINDINGS: &[Binding] = &[
    b(Normal, &[k(Up), c('k')], Action::Up, None),
    b(Normal, &[k(Down), c('j')], Action::Down, None),
    b(Normal, &[k(Enter)], Action::Start, Some("start")),
    b(Normal, &[c('i')], Action::FocusInput, Some("input")),
    b(Normal, &[c('p')], Action::FocusPty, Some("pty")),
    b(Normal, &[c('s')], Action::SignalMenu, Some("signal")),
    b(Normal, &[c('x')], Action::Stop, Some("stop")),
    b(Normal, &[c('r')], Action::Restart, Some("restart")),
    b(Normal, &[c('c')], Action::CloseMenu, Some("close fd")),
    b(Normal, &[c('L')], Action::LoseConnection, None),
    b(Normal, &[c('d')], Action::Dismiss, None),
    b(Normal, &[k(Right), k(Tab)], Action::NextPane, None),
    b(
        Normal,
        &[k(Left), c('h'), k(BackTab)],
        Action::PrevPane,
        None,
    ),
    b(Normal, &[c('z')], Action::Zoom, Some("zoom")),
    b(Normal, &[c('t')], Action::ToggleTimeline, Some("timeline")),
    b(Normal, &[c('l')], Action::ToggleLanes, Some("lanes")),
    b(Normal, &[k(PageUp), ctrl('b')], Action::PageUp, None),
    b(Normal, &[k(PageDown), ctrl('f')], Action::PageDown, None),
    b(Normal, &[k(Home), c('g')], Action::Top, None),
    b(Normal, &[k(End), c('G')], Action::Bottom, None),
    b(Normal, &[c('/')], Action::Search, Some("search")),
    b(Normal, &[c('n')], Action::SearchNext, None),
    b(Normal, &[c('N')], Action::SearchPrev, None),
    b(Normal, &[c('y')], Action::Copy, None),
    b(Normal, &[ctrl('l')], Action::Clear, None),
    b(Normal, &[c('b')], Action::ToggleHex, None),
    b(Normal, &[c('w')], Action::SaveTranscript, None),
    b(Normal, &[c('m')], Action::ToggleMouse, None),
    b(Normal, &[c('o')], Action::Inspect, Some("inspect")),
    b(Normal, &[c('?')], Action::Help, Some("help")),
    b(Normal, &[c('q')], Action::Quit, Some("quit")),
    b(Input, &[k(Enter)], Action::Send, Some("send")),
    b(Input, &[alt(Enter)], Action::SendRaw, None),
    b(Input, &[ctrl('d')], Action::CloseTarget, Some("EOF")),
    b(Input, &[k(Tab)], Action::NextTarget, Some("target")),
    b(Input, &[k(BackTab)], Action::PrevTarget, None),
    b(Input, &[k(Up)], Action::HistoryPrev, None),
    b(Input, &[k(Down)], Action::HistoryNext, None),
    b(Input, &[k(Esc)], Action::Back, Some("back")),
    b(
        Pty,
        &[ctrl('a')],
        Action::ChordLeader,
        Some("then Esc: leave the pty"),
    ),
    b(PtyChord, &[k(Esc)], Action::LeavePty, Some("leave the pty")),
    b(Search, &[k(Enter)], Action::SearchConfirm, Some("find")),
    bh(Search, &[k(Esc)], Action::Back, Some("back"), "cancel"),
    b(Search, &[k(Backspace)], Action::SearchDeleteChar, None),
    b(Menu, &[k(Up), c('k')], Action::MenuUp, None),
    b(Menu, &[k(Down), c('j')], Action::MenuDown, None),
    b(Menu, &[k(Enter)], Action::MenuChoose, Some("choose")),
    bh(
        Menu,
        &[k(Esc), c('q')],
        Action::Back,
        Some("back"),
        "close the menu",
    ),
    b(Help, &[k(Down), c('j')], Action::Down, None),
    b(Help, &[k(Up), c('k')], Action::Up, None),
    b(Help, &[k(PageDown), c(' ')], Action::PageDown, Some("more")),
    b(Help, &[k(PageUp)], Action::PageUp, None),
    b(Inspect, &[k(Up), c('k')], Action::Scroll(-1), None),
    b(Inspect, &[k(Down), c('j')], Action::Scroll(1), None),
    bh(
        Inspect,
        &[k(Esc), c('o'), c('q')],
        Action::Back,
        Some("back"),
        "close the inspector",
    ),
    b(Replay, &[c(' ')], Action::ReplayStep, Some("step")),
    b(Replay, &[k(Enter)], Action::ReplayPlay, Some("play/pause")),
    b(Replay, &[c(']')], Action::ReplayFaster, Some("faster")),
    b(Replay, &[c('[')], Action::ReplaySlower, Some("slower")),
    b(Replay, &[c('g')], Action::ReplayEnd, Some("end")),
    bh(
        Help,
        &[k(Esc), c('?'), c('q')],
        Action::Back,
        Some("back"),
        "close the help",
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
            (b.mode, keys.join(" "), b.help())
        })
        .collect()
}

/// One entry of the hint bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    /// The key, as [`label`] writes it.
    pub key: String,
    /// The word or two shown after it.
    pub what: &'static str,
    /// Help and quit: kept when a narrow screen drops the others.
    pub essential: bool,
}

/// The hint bar of `mode`, in table order (which is also the order of importance).
pub fn hint(mode: Mode) -> Vec<Hint> {
    BINDINGS
        .iter()
        .filter(|b| b.mode == mode)
        .filter_map(|b| {
            Some(Hint {
                key: label(&b.keys[0]),
                what: b.hint?,
                essential: matches!(b.action, Action::Help | Action::Quit),
            })
        })
        .collect()
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
