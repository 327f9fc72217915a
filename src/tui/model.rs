//! The console's state: commands, instances and their panes, what has the keyboard.
//! Plain data and small queries; `update` changes it, `view` draws it.

use super::action::{Action, Mode};
use super::pane::{Pane, PaneKind};
use super::timeline::Timeline;
use crate::config::{CommandConfig, ConsoleSettings};
use crate::{ExitStatus, ProcessEvent, ProcessTransport, Signal};
use bytes::Bytes;
use ratatui::layout::Rect;
use ratatui_textarea::TextArea;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Terminal scrollback rows per pty pane (vt100 cells are 32 bytes: 1000 rows of 200
/// columns is 6 MiB).
pub const PTY_SCROLLBACK: usize = 1000;

/// What reaches the console's loop: everything from children comes this way.
#[derive(Debug)]
pub enum Msg {
    /// An event of instance `id`, `at` its time since the spawn.
    Child {
        /// The instance.
        id: u64,
        /// Time since the spawn.
        at: Duration,
        /// The event.
        event: ProcessEvent,
    },
    /// Bytes written to the console's own fds 1 and 2 (by children mapped onto them).
    Console(Bytes),
    /// A key, the mouse, a paste or a resize.
    Term(crossterm::event::Event),
    /// The console got SIGTERM or SIGHUP: leave as with `q`.
    Terminate(i32),
}

/// Where an instance is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    /// Started, not reaped yet.
    Running,
    /// Reaped, some pipe still open (a grandchild may hold it).
    Exited(ExitStatus),
    /// Reaped and every pipe lost.
    Ended(ExitStatus),
    /// The spawn failed: the message names the program and the OS reason.
    Failed(String),
}

/// One started child of a command.
pub struct Instance {
    /// Unique, never reused.
    pub id: u64,
    /// Index of its command.
    pub command: usize,
    /// The command's name.
    pub name: String,
    /// The handle to act on it (`None` if the spawn failed).
    pub transport: Option<ProcessTransport>,
    /// The process id.
    pub pid: Option<u32>,
    /// When it was spawned.
    pub started: Instant,
    /// Time from spawn to `process_exited`.
    pub exited_at: Option<Duration>,
    /// Time from spawn to `process_ended`.
    pub ended_at: Option<Duration>,
    /// Running, exited, ended, failed.
    pub state: RunState,
    /// One pane per pipe (or the pty).
    pub panes: Vec<Pane>,
    /// Fds mapped onto the console's own 0–2: the console pane is shown with its panes.
    pub uses_console: bool,
    /// Every event, in order.
    pub timeline: Timeline,
    /// The fd the input line writes to (-1: the console's stdin).
    pub target: i32,
    /// When a stop turns from TERM into KILL.
    pub kill_at: Option<Instant>,
    /// Signals from `on_start` still to send.
    pub pending_signals: Vec<(Instant, Signal)>,
    /// Start the command again once this one has ended (restart).
    pub restart: bool,
    /// Fds that have no pane: `fd 1 = console fd 1`, `fd 5 = /dev/null`.
    pub notes: Vec<String>,
}

impl Instance {
    /// A new instance in state `Running`, with no process attached yet, an empty
    /// timeline and nothing pending: what `instance::start` fills in.
    pub fn new(
        id: u64,
        command: usize,
        name: String,
        panes: Vec<Pane>,
        uses_console: bool,
        notes: Vec<String>,
        started: Instant,
    ) -> Instance {
        Instance {
            id,
            command,
            name,
            transport: None,
            pid: None,
            started,
            exited_at: None,
            ended_at: None,
            state: RunState::Running,
            panes,
            uses_console,
            timeline: Timeline::default(),
            target: 0,
            kill_at: None,
            pending_signals: Vec::new(),
            restart: false,
            notes,
        }
    }

    /// True while the process has not been reaped.
    pub fn running(&self) -> bool {
        self.state == RunState::Running
    }

    /// The writable fds, in order (pty: 0).
    pub fn writable(&self) -> Vec<i32> {
        let mut fds: Vec<i32> = self
            .panes
            .iter()
            .filter(|p| matches!(p.kind, PaneKind::Write | PaneKind::Pty))
            .map(|p| p.fd)
            .collect();
        if self.uses_console {
            fds.push(-1);
        }
        fds
    }

    /// The pane of child fd `fd` (the pty pane for 0–2 on a pty).
    pub fn pane_of(&mut self, fd: i32) -> Option<&mut Pane> {
        let pty = self.panes.iter().any(|p| p.kind == PaneKind::Pty);
        let fd = if pty && (0..=2).contains(&fd) { 0 } else { fd };
        self.panes.iter_mut().find(|p| p.fd == fd)
    }

    /// Elapsed time: until the end, or until now.
    pub fn elapsed(&self, now: Instant) -> Duration {
        self.ended_at
            .unwrap_or_else(|| now.saturating_duration_since(self.started))
    }
}

/// A row of the list on the left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// The console's own fds 0–2.
    Console,
    /// A configured command.
    Command(usize),
    /// An instance (index into `App::instances`).
    Instance(usize),
}

/// Which pane of the right side: one of the instance's, or the console's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneRef {
    /// The console pane.
    Console,
    /// Pane `1` of instance `0`.
    Instance(usize, usize),
}

/// An open menu.
#[derive(Debug, Clone)]
pub struct Menu {
    /// The heading.
    pub title: String,
    /// Label and what choosing it does.
    pub items: Vec<(String, Action)>,
    /// The highlighted entry.
    pub cursor: usize,
}

/// The whole console.
pub struct App {
    /// The configured commands.
    pub commands: Vec<CommandConfig>,
    /// Scrollback, grace period.
    pub settings: ConsoleSettings,
    /// Every instance started, in start order.
    pub instances: Vec<Instance>,
    /// Next instance id.
    pub next_id: u64,
    /// The selected row of the list.
    pub row: usize,
    /// What has the keyboard.
    pub mode: Mode,
    /// The focused pane of the right side.
    pub pane: usize,
    /// Show the focused pane alone.
    pub zoom: bool,
    /// Show the timeline.
    pub show_timeline: bool,
    /// The open menu.
    pub menu: Option<Menu>,
    /// The input line.
    pub input: TextArea<'static>,
    /// Lines sent, oldest first.
    pub history: Vec<String>,
    /// Position while recalling history.
    pub history_pos: Option<usize>,
    /// The search term being typed.
    pub search: String,
    /// Ctrl-A was typed in pty focus.
    pub chord: bool,
    /// What children wrote to the console's fds 1 and 2.
    pub console: Pane,
    /// The write end of the pipe that is the console's fd 0 (children inherit the read end).
    pub console_in: Option<std::fs::File>,
    /// The status line: the last thing that happened or went wrong.
    pub status: String,
    /// Set by quit: when the grace period for stopping children ends.
    pub quitting: Option<Instant>,
    /// The loop should end now.
    pub done: bool,
    /// The terminal's size.
    pub screen: Rect,
    /// The mouse is captured.
    pub mouse: bool,
    /// Bytes for the terminal itself (OSC 52, mouse mode), written by the loop.
    pub outbox: Vec<Vec<u8>>,
    /// Where instances' forwarders send their events.
    pub tx: mpsc::Sender<Msg>,
}

impl App {
    /// A console for `commands`, nothing started yet.
    pub fn new(
        commands: Vec<CommandConfig>,
        settings: ConsoleSettings,
        tx: mpsc::Sender<Msg>,
        screen: Rect,
    ) -> Self {
        let console = Pane::text(
            -1,
            PaneKind::Console,
            "fds 0 1 2",
            settings.scrollback_lines,
        );
        let input = App::fresh_input();
        App {
            commands,
            settings,
            instances: Vec::new(),
            next_id: 1,
            row: 1,
            mode: Mode::Normal,
            pane: 0,
            zoom: false,
            show_timeline: true,
            menu: None,
            input,
            history: Vec::new(),
            history_pos: None,
            search: String::new(),
            chord: false,
            console,
            console_in: None,
            status: String::new(),
            quitting: None,
            done: false,
            screen,
            mouse: true,
            outbox: Vec::new(),
            tx,
        }
    }

    /// An empty input line.
    pub fn fresh_input() -> TextArea<'static> {
        let mut input = TextArea::default();
        input.set_cursor_line_style(ratatui::style::Style::default());
        input
    }

    /// The rows of the list: the console, then each command followed by its instances.
    pub fn rows(&self) -> Vec<Row> {
        let mut rows = vec![Row::Console];
        for (ci, _) in self.commands.iter().enumerate() {
            rows.push(Row::Command(ci));
            rows.extend(
                self.instances
                    .iter()
                    .enumerate()
                    .filter(|(_, inst)| inst.command == ci)
                    .map(|(ii, _)| Row::Instance(ii)),
            );
        }
        rows
    }

    /// The selected row.
    pub fn current_row(&self) -> Row {
        let rows = self.rows();
        rows[self.row.min(rows.len() - 1)]
    }

    /// The command of the selected row.
    pub fn selected_command(&self) -> Option<usize> {
        match self.current_row() {
            Row::Console => None,
            Row::Command(ci) => Some(ci),
            Row::Instance(ii) => Some(self.instances[ii].command),
        }
    }

    /// The instance shown on the right: the selected one, or the newest of the selected command.
    pub fn selected_instance(&self) -> Option<usize> {
        match self.current_row() {
            Row::Console => None,
            Row::Instance(ii) => Some(ii),
            Row::Command(ci) => self.instances.iter().rposition(|i| i.command == ci),
        }
    }

    /// The panes on the right side, in display order.
    pub fn visible_panes(&self) -> Vec<PaneRef> {
        match self.selected_instance() {
            None if self.current_row() == Row::Console => vec![PaneRef::Console],
            None => Vec::new(),
            Some(ii) => {
                let inst = &self.instances[ii];
                let mut panes: Vec<PaneRef> = (0..inst.panes.len())
                    .map(|pi| PaneRef::Instance(ii, pi))
                    .collect();
                if inst.uses_console {
                    panes.push(PaneRef::Console);
                }
                panes
            }
        }
    }

    /// The pane behind a reference.
    pub fn pane(&self, at: PaneRef) -> &Pane {
        match at {
            PaneRef::Console => &self.console,
            PaneRef::Instance(ii, pi) => &self.instances[ii].panes[pi],
        }
    }

    /// The pane behind a reference, to change it.
    pub fn pane_mut(&mut self, at: PaneRef) -> &mut Pane {
        match at {
            PaneRef::Console => &mut self.console,
            PaneRef::Instance(ii, pi) => &mut self.instances[ii].panes[pi],
        }
    }

    /// The focused pane, if the right side shows any.
    pub fn focused_pane(&self) -> Option<PaneRef> {
        let panes = self.visible_panes();
        panes
            .get(self.pane.min(panes.len().saturating_sub(1)))
            .copied()
    }

    /// The input line's target fd for the selected instance (or the console).
    pub fn target(&self) -> Option<i32> {
        match self.selected_instance() {
            Some(ii) => {
                let inst = &self.instances[ii];
                let fds = inst.writable();
                fds.contains(&inst.target)
                    .then_some(inst.target)
                    .or(fds.first().copied())
            }
            None if self.current_row() == Row::Console => Some(-1),
            None => None,
        }
    }

    /// Finds an instance by id.
    pub fn instance_by_id(&mut self, id: u64) -> Option<&mut Instance> {
        self.instances.iter_mut().find(|i| i.id == id)
    }
}
