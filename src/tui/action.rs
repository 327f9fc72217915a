//! `Action`: everything a user can ask of the console — from a key, a menu, the mouse, and
//! (in serde form) from a script step or a remote request. The key table
//! ([`super::keys`]) maps keys to these; `update` is the only place that carries them out;
//! [`Action::describe`] is the one line the help overlay shows for each.

use crate::Signal;
use serde::{Deserialize, Serialize};

/// Which part of the console has the keyboard; decides how keys are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The list of commands and instances, and the panes of the selected one.
    Normal,
    /// The input line, aimed at one writable fd.
    Input,
    /// The pty pane: keys go to the child.
    Pty,
    /// In pty focus, after the chord leader (Ctrl-A): Esc leaves, anything else goes to
    /// the child after a Ctrl-A.
    PtyChord,
    /// Typing a search term.
    Search,
    /// A menu (signals, fds to close) is open.
    Menu,
    /// The help overlay is open.
    Help,
    /// The inspector overlay is open (key `o`).
    Inspect,
    /// `fdscope replay`: keys read before the list's (Normal) ones.
    Replay,
}

impl Mode {
    /// The heading of this mode in the help overlay.
    pub fn title(self) -> &'static str {
        match self {
            Mode::Normal => "list and panes",
            Mode::Input => "input line",
            Mode::Pty => "pty focus",
            Mode::PtyChord => "pty focus, after Ctrl-A",
            Mode::Search => "search",
            Mode::Menu => "menus",
            Mode::Help => "help",
            Mode::Inspect => "inspector",
            Mode::Replay => "replay (fdscope replay FILE)",
        }
    }
}

/// One thing the console can do. Its serde form (`"quit"`, `{"signal":"TERM"}`) is what
/// scripts and remote requests name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Select the row above.
    Up,
    /// Select the row below.
    Down,
    /// Start a new instance of the selected command.
    Start,
    /// Stop the selected instance and start its command again.
    Restart,
    /// TERM, then KILL after the grace period.
    Stop,
    /// Open the signal menu.
    SignalMenu,
    /// Open the menu of fds to close.
    CloseMenu,
    /// Close every pipe of the instance (`lose_connection`).
    LoseConnection,
    /// Remove an ended instance from the list.
    Dismiss,
    /// Focus the input line.
    FocusInput,
    /// Focus the pty pane.
    FocusPty,
    /// Focus the next pane.
    NextPane,
    /// Focus the previous pane.
    PrevPane,
    /// Show the focused pane alone, or all panes again.
    Zoom,
    /// Show or hide the timeline.
    ToggleTimeline,
    /// Show the timeline as lanes: one column per fd.
    ToggleLanes,
    /// Replay: apply the next recorded event (and pause).
    ReplayStep,
    /// Replay: play at the current speed, or pause.
    ReplayPlay,
    /// Replay: play twice as fast.
    ReplayFaster,
    /// Replay: play half as fast.
    ReplaySlower,
    /// Replay: apply every remaining event.
    ReplayEnd,
    /// Scroll the focused pane up a page.
    PageUp,
    /// Scroll the focused pane down a page.
    PageDown,
    /// Scroll to the oldest line kept.
    Top,
    /// Scroll back to the end and follow new output.
    Bottom,
    /// Start typing a search term for the focused pane.
    Search,
    /// Jump to the next older match.
    SearchNext,
    /// Jump to the next newer match.
    SearchPrev,
    /// Copy the focused pane's visible text to the clipboard (OSC 52).
    Copy,
    /// Forget the focused pane's contents.
    Clear,
    /// Show the focused pane as a hex dump, or as text again.
    ToggleHex,
    /// Write the selected instance's events to a JSON-lines file.
    SaveTranscript,
    /// Capture the mouse, or release it for the terminal's own selection.
    ToggleMouse,
    /// Open the help overlay.
    Help,
    /// Open the inspector of the selected instance: process tree, fds, who holds a pipe.
    Inspect,
    /// Stop every child and leave.
    Quit,
    /// Leave the current mode (input, pty, search, menu, help).
    Back,
    /// Input: send the line plus `\n` to the target fd.
    Send,
    /// Input: send the line without a newline.
    SendRaw,
    /// Input: close the target fd (EOF).
    CloseTarget,
    /// Input: aim at the next writable fd.
    NextTarget,
    /// Input: aim at the previous writable fd.
    PrevTarget,
    /// Input: the previous line from history.
    HistoryPrev,
    /// Input: the next line from history.
    HistoryNext,
    /// Search: use the typed term.
    SearchConfirm,
    /// Search: delete the last character of the term.
    SearchDeleteChar,
    /// Menu: move up.
    MenuUp,
    /// Menu: move down.
    MenuDown,
    /// Menu: do the highlighted entry.
    MenuChoose,
    /// Pty: the escape chord leader (Ctrl-A); Esc after it leaves the pty.
    ChordLeader,
    /// Pty: leave the pty focus (after the chord leader).
    LeavePty,
    /// Send this signal to the selected instance.
    Signal(#[serde(with = "signal_name")] Signal),
    /// Close this fd of the selected instance.
    CloseFd(i32),
    /// Scroll the pane under the mouse by lines (negative: back in time).
    Scroll(i32),
}

impl Action {
    /// What the action does, in one line (the help overlay's text).
    pub fn describe(self) -> &'static str {
        match self {
            Action::Up => "select the row above",
            Action::Down => "select the row below",
            Action::Start => "start a new instance",
            Action::Restart => "restart the instance",
            Action::Stop => "stop: TERM, KILL after the grace period",
            Action::SignalMenu => "signal menu",
            Action::CloseMenu => "close one fd of the instance",
            Action::LoseConnection => "lose_connection (close every pipe)",
            Action::Dismiss => "remove an ended instance",
            Action::FocusInput => "type into a writable fd",
            Action::FocusPty => "focus the pty (keys go to the child)",
            Action::NextPane => "focus the next pane",
            Action::PrevPane => "focus the previous pane",
            Action::Zoom => "zoom the focused pane / show all",
            Action::ToggleTimeline => "show / hide the timeline",
            Action::ToggleLanes => "timeline as lanes: one column per fd / as a list",
            Action::ReplayStep => "step: apply the next recorded event (pauses)",
            Action::ReplayPlay => "play at the recorded pace / pause",
            Action::ReplayFaster => "play faster (x2)",
            Action::ReplaySlower => "play slower (/2)",
            Action::ReplayEnd => "jump to the end of the recording",
            Action::PageUp => "scroll the focused pane up",
            Action::PageDown => "scroll the focused pane down",
            Action::Top => "scroll to the oldest line",
            Action::Bottom => "scroll to the end and follow",
            Action::Search => "search the focused pane",
            Action::SearchNext => "next (older) match",
            Action::SearchPrev => "previous (newer) match",
            Action::Copy => "copy the visible text (OSC 52)",
            Action::Clear => "clear the focused pane",
            Action::ToggleHex => "hex view of the focused pane",
            Action::SaveTranscript => "save the transcript (JSON lines)",
            Action::ToggleMouse => "mouse capture on / off",
            Action::Help => "help",
            Action::Inspect => "inspect: process tree, open fds, who holds a pipe",
            Action::Quit => "quit (stops every child)",
            Action::Back => "back to the list",
            Action::Send => "send line + \\n (escapes \\n \\t \\xNN \\e)",
            Action::SendRaw => "send the line without a newline",
            Action::CloseTarget => "close the target fd (EOF)",
            Action::NextTarget => "next writable fd",
            Action::PrevTarget => "previous writable fd",
            Action::HistoryPrev => "previous line from history",
            Action::HistoryNext => "next line from history",
            Action::SearchConfirm => "search",
            Action::SearchDeleteChar => "delete a character",
            Action::MenuUp => "up",
            Action::MenuDown => "down",
            Action::MenuChoose => "do it",
            Action::ChordLeader => "then Esc: leave; then Ctrl-A: send Ctrl-A",
            Action::LeavePty => "leave the pty",
            Action::Signal(_) => "send a signal",
            Action::CloseFd(_) => "close an fd",
            Action::Scroll(_) => "scroll the pane under the mouse",
        }
    }
}

/// Signals in serde form by name: `"TERM"` (a `SIG` prefix and numbers are accepted too).
mod signal_name {
    use crate::Signal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(signal: &Signal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(signal.as_str().trim_start_matches("SIG"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Signal, D::Error> {
        let name = String::deserialize(d)?;
        crate::spawn::parse_signal(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown signal {name:?}")))
    }
}

/// The signal menu, in this order.
pub const SIGNALS: [Signal; 9] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGKILL,
    Signal::SIGSTOP,
    Signal::SIGCONT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_read_and_write_as_snake_case_json() {
        let cases = [
            (Action::Quit, r#""quit""#),
            (Action::FocusInput, r#""focus_input""#),
            (Action::Signal(Signal::SIGTERM), r#"{"signal":"TERM"}"#),
            (Action::CloseFd(3), r#"{"close_fd":3}"#),
        ];
        for (action, json) in cases {
            assert_eq!(serde_json::to_string(&action).unwrap(), json);
            assert_eq!(serde_json::from_str::<Action>(json).unwrap(), action);
        }
        assert_eq!(
            serde_json::from_str::<Action>(r#"{"signal":"SIGKILL"}"#).unwrap(),
            Action::Signal(Signal::SIGKILL)
        );
        assert!(serde_json::from_str::<Action>(r#"{"signal":"NOPE"}"#).is_err());
        assert!(serde_json::from_str::<Action>(r#""fly""#).is_err());
    }
}
