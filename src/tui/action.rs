//! `Action`: everything a user can ask of the console, from a key, a menu or the mouse.
//! The key table ([`super::keys`]) maps keys to these; `update` is the only place that
//! carries them out.

use crate::Signal;

/// Which part of the console has the keyboard; decides how keys are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The list of commands and instances, and the panes of the selected one.
    Normal,
    /// The input line, aimed at one writable fd.
    Input,
    /// The pty pane: keys go to the child.
    Pty,
    /// Typing a search term.
    Search,
    /// A menu (signals, fds to close) is open.
    Menu,
    /// The help overlay is open.
    Help,
}

impl Mode {
    /// The heading of this mode in the help overlay.
    pub fn title(self) -> &'static str {
        match self {
            Mode::Normal => "list and panes",
            Mode::Input => "input line",
            Mode::Pty => "pty focus",
            Mode::Search => "search",
            Mode::Menu => "menus",
            Mode::Help => "help",
        }
    }
}

/// One thing the console can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// Menu: move up.
    MenuUp,
    /// Menu: move down.
    MenuDown,
    /// Menu: do the highlighted entry.
    MenuChoose,
    /// Send this signal to the selected instance.
    Signal(Signal),
    /// Close this fd of the selected instance.
    CloseFd(i32),
    /// Scroll the pane under the mouse by lines (negative: back in time).
    Scroll(i32),
    /// Pty: the escape chord leader was typed (Ctrl-A).
    ChordLeader,
}
