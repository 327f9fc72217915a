//! The console's state, in three parts with one job each: [`Procs`] (the commands, the
//! instances started from them and everything they wrote), [`View`] (what the screen shows
//! and what has the keyboard) and [`Editors`] (the input and search lines being typed).
//! Plain data and small queries, no I/O handle: `update` changes it and returns the
//! effects to perform, `view` draws it.

use super::action::{Action, Mode};
use super::pane::{Pane, PaneKind};
use super::timeline::Timeline;
use crate::config::{CommandConfig, ConsoleSettings};
use crate::{ExitStatus, ProcessEvent, Signal};
use bytes::Bytes;
use ratatui::layout::Rect;
use ratatui_textarea::TextArea;
use std::time::{Duration, Instant};

/// Terminal scrollback rows per pty pane (vt100 cells are 32 bytes: 1000 rows of 200
/// columns is 6 MiB).
pub const PTY_SCROLLBACK: usize = 1000;

/// What reaches the console's `update`: everything from children, the terminal and the
/// effects the runner performed comes this way.
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
    /// A script's event for instance `id` (`script_step`, `script_failed`, `ready`), in
    /// order with its [`Msg::Child`] events.
    Script {
        /// The instance.
        id: u64,
        /// Time since the spawn.
        at: Duration,
        /// The event.
        event: crate::transcript::TranscriptEvent,
    },
    /// Bytes written to the console's own fds 1 and 2 (by children mapped onto them).
    Console(Bytes),
    /// A key, the mouse, a paste or a resize.
    Term(crossterm::event::Event),
    /// The console got SIGTERM, SIGHUP or SIGINT: leave as with `q`.
    Terminate,
    /// The runner spawned instance `id` (effect [`super::effect::Effect::Spawn`]).
    Spawned {
        /// The instance.
        id: u64,
        /// Its process id.
        pid: u32,
        /// When the engine spawned it (the origin of its event times).
        started: Instant,
    },
    /// A report of the inspector on instance `id` (effect [`super::effect::Effect::Inspect`]).
    Inspected {
        /// The instance.
        id: u64,
        /// What `/proc` told (`None`: the instance has no process).
        report: Option<Box<crate::inspect::Report>>,
    },
    /// CPU % and RSS of instances (effect [`super::effect::Effect::SampleUsage`]).
    Usage(Vec<(u64, Option<crate::inspect::Usage>)>),
    /// The spawn of instance `id` failed: the message names the program and the OS reason.
    SpawnFailed {
        /// The instance.
        id: u64,
        /// What went wrong.
        error: String,
    },
    /// An effect could not be done (a write to a closed fd, a signal after the reap,
    /// a transcript that could not be saved): the status line says so.
    Failed(String),
    /// An effect was done and has something to say (`saved 6 events to PATH`).
    Done(String),
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
    /// Not started yet: `waiting for server (ready)`.
    Waiting(String),
}

/// Where the input line writes: a child fd, or the console's own stdin pipe (which children
/// mapped onto the console's fd 0 read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Child fd `n` of the instance.
    Fd(i32),
    /// The console's stdin pipe.
    ConsoleStdin,
}

/// One started child of a command.
pub struct Instance {
    /// Unique, never reused.
    pub id: u64,
    /// Index of its command.
    pub command: usize,
    /// The command's name.
    pub name: String,
    /// K of `NAME#K`: 1 for the first instance of its command, never reused.
    pub number: u32,
    /// The process id (`None` until spawned, or if the spawn failed).
    pub pid: Option<u32>,
    /// Spawned on a pseudo-terminal.
    pub pty: bool,
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
    /// Where the console resized its pty: (timeline position, rows, cols). The timeline
    /// marks them, so the child's redraw after a resize is not taken for output of its own.
    pub resizes: Vec<(u64, u16, u16)>,
    /// Where the input line writes.
    pub target: Target,
    /// When a stop turns from TERM into KILL.
    pub kill_at: Option<Instant>,
    /// Signals from the start actions still to send.
    pub pending_signals: Vec<(Instant, Signal)>,
    /// Start the command again once this one has ended (restart).
    pub restart: bool,
    /// Fds that have no pane: `fd 1 = console fd 1`, `fd 5 = /dev/null`.
    pub notes: Vec<String>,
    /// Its script's progress, for the header (`None` without a script).
    pub script: Option<super::script::Progress>,
    /// What it waits for before it is spawned (`depends_on`).
    pub waiting: Option<super::deps::Waiting>,
    /// The named groups of its `ready` match, once it matched.
    pub ready_vars: Option<crate::transcript::Groups>,
    /// CPU % and RSS at the last sample, while it runs.
    pub usage: Option<crate::inspect::Usage>,
}

impl Instance {
    /// `NAME#K`: how the list, the header and remote clients name it.
    pub fn label(&self) -> String {
        format!("{}#{}", self.name, self.number)
    }

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
        let pty = panes.iter().any(|p| p.kind == PaneKind::Pty);
        let mut inst = Instance {
            id,
            command,
            name,
            number: 1,
            pid: None,
            pty,
            started,
            exited_at: None,
            ended_at: None,
            state: RunState::Running,
            panes,
            uses_console,
            timeline: Timeline::default(),
            resizes: Vec::new(),
            target: Target::Fd(0),
            kill_at: None,
            pending_signals: Vec::new(),
            restart: false,
            notes,
            script: None,
            waiting: None,
            ready_vars: None,
            usage: None,
        };
        if let Some(first) = inst.writable().first() {
            inst.target = *first;
        }
        inst
    }

    /// True while the process has not been reaped.
    pub fn running(&self) -> bool {
        self.state == RunState::Running
    }

    /// True once the process is reaped and every pipe lost, or the spawn failed.
    pub fn finished(&self) -> bool {
        matches!(
            self.state,
            RunState::Ended(_) | RunState::Failed(_) | RunState::Waiting(_)
        )
    }

    /// Where the input line can write, in order (a pty: its fd 0).
    pub fn writable(&self) -> Vec<Target> {
        let mut targets: Vec<Target> = self
            .panes
            .iter()
            .filter(|p| matches!(p.kind, PaneKind::Write | PaneKind::Pty))
            .map(|p| Target::Fd(p.fd))
            .collect();
        if self.uses_console {
            targets.push(Target::ConsoleStdin);
        }
        targets
    }

    /// The pane of child fd `fd` (the pty pane for 0–2 on a pty).
    pub fn pane_of(&mut self, fd: i32) -> Option<&mut Pane> {
        let fd = if self.pty && crate::spawn::is_pty_fd(fd) {
            0
        } else {
            fd
        };
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
    /// An instance (index into `Procs::instances`).
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

/// The commands, the instances started from them, and what they wrote.
pub struct Procs {
    /// The configured commands.
    pub commands: Vec<CommandConfig>,
    /// Scrollback, grace period.
    pub settings: ConsoleSettings,
    /// Every instance started, in start order.
    pub instances: Vec<Instance>,
    /// Next instance id.
    pub next_id: u64,
    /// Instances started so far of each command (by index): the K of `NAME#K`.
    pub started: Vec<u32>,
    /// What children wrote to the console's fds 1 and 2.
    pub console: Pane,
    /// The console's stdin pipe was closed (children mapped onto fd 0 read EOF).
    pub console_stdin_closed: bool,
}

/// What the screen shows and what has the keyboard.
pub struct View {
    /// The selected row of the list.
    pub row: usize,
    /// What has the keyboard.
    pub mode: Mode,
    /// Index of the focused pane among the visible ones.
    pub focus: usize,
    /// Show the focused pane alone.
    pub zoom: bool,
    /// Show the timeline.
    pub show_timeline: bool,
    /// Show the timeline as lanes (one column per fd) rather than a list.
    pub lanes: bool,
    /// The open menu.
    pub menu: Option<Menu>,
    /// The status line: the last thing that happened or went wrong.
    pub status: String,
    /// The terminal's size.
    pub screen: Rect,
    /// The mouse is captured.
    pub mouse: bool,
    /// How far the help overlay is scrolled (a small screen cannot show it whole).
    pub help_scroll: u16,
    /// Where the config came from (`./fdscope.toml`, `built-in`): the header names it.
    pub config_source: String,
    /// The inspector overlay (key `o`), while shown.
    pub inspect: Option<InspectView>,
    /// When CPU % / RSS (and the open inspector) are sampled next.
    pub next_sample: Option<Instant>,
}

/// How often the inspector and the CPU % / RSS of running instances are refreshed.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// The inspector overlay of one instance.
#[derive(Debug, Clone)]
pub struct InspectView {
    /// The instance inspected.
    pub id: u64,
    /// The last report (`None` until the first arrives, or if the instance has no process).
    pub report: Option<crate::inspect::Report>,
    /// Lines scrolled down.
    pub scroll: u16,
}

/// The lines being typed: the input line with its history, and the search term.
pub struct Editors {
    /// The input line.
    pub input: TextArea<'static>,
    /// Lines sent, oldest first.
    pub history: Vec<String>,
    /// Position while recalling history.
    pub history_pos: Option<usize>,
    /// The search term being typed.
    pub search: String,
}

impl Editors {
    /// Empty lines, no history.
    pub fn new() -> Self {
        Editors {
            input: Editors::fresh_input(),
            history: Vec::new(),
            history_pos: None,
            search: String::new(),
        }
    }

    /// An empty input line.
    pub fn fresh_input() -> TextArea<'static> {
        let mut input = TextArea::default();
        input.set_cursor_line_style(ratatui::style::Style::default());
        input
    }
}

impl Default for Editors {
    fn default() -> Self {
        Editors::new()
    }
}

/// The whole console.
pub struct App {
    /// Commands, instances, their output.
    pub procs: Procs,
    /// What the screen shows.
    pub view: View,
    /// The lines being typed.
    pub editors: Editors,
    /// Set by quit: when the grace period for stopping children ends.
    pub quitting: Option<Instant>,
    /// The loop should end now.
    pub done: bool,
}

impl App {
    /// A console for `commands`, nothing started yet.
    pub fn new(commands: Vec<CommandConfig>, settings: ConsoleSettings, screen: Rect) -> Self {
        let console = Pane::text(0, PaneKind::Console, "fds 0 1 2", settings.scrollback_lines);
        App {
            procs: Procs {
                commands,
                settings,
                instances: Vec::new(),
                next_id: 1,
                started: Vec::new(),
                console,
                console_stdin_closed: false,
            },
            view: View {
                row: 1,
                mode: Mode::Normal,
                focus: 0,
                zoom: false,
                show_timeline: true,
                lanes: false,
                menu: None,
                status: String::new(),
                screen,
                mouse: true,
                help_scroll: 0,
                config_source: "built-in".into(),
                inspect: None,
                next_sample: None,
            },
            editors: Editors::new(),
            quitting: None,
            done: false,
        }
    }

    /// The rows of the list: the console, then each command followed by its instances.
    pub fn rows(&self) -> Vec<Row> {
        let mut rows = vec![Row::Console];
        for (ci, _) in self.procs.commands.iter().enumerate() {
            rows.push(Row::Command(ci));
            rows.extend(
                self.procs
                    .instances
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
        rows[self.view.row.min(rows.len() - 1)]
    }

    /// The command of the selected row.
    pub fn selected_command(&self) -> Option<usize> {
        match self.current_row() {
            Row::Console => None,
            Row::Command(ci) => Some(ci),
            Row::Instance(ii) => Some(self.procs.instances[ii].command),
        }
    }

    /// The instance shown on the right: the selected one, or the newest of the selected command.
    pub fn selected_instance(&self) -> Option<usize> {
        match self.current_row() {
            Row::Console => None,
            Row::Instance(ii) => Some(ii),
            Row::Command(ci) => self.procs.instances.iter().rposition(|i| i.command == ci),
        }
    }

    /// The index of the instance with id `id`.
    pub fn index_of(&self, id: u64) -> Option<usize> {
        self.procs.instances.iter().position(|i| i.id == id)
    }

    /// The panes on the right side, in display order.
    pub fn visible_panes(&self) -> Vec<PaneRef> {
        match self.selected_instance() {
            None if self.current_row() == Row::Console => vec![PaneRef::Console],
            None => Vec::new(),
            Some(ii) => {
                let inst = &self.procs.instances[ii];
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
            PaneRef::Console => &self.procs.console,
            PaneRef::Instance(ii, pi) => &self.procs.instances[ii].panes[pi],
        }
    }

    /// The pane behind a reference, to change it.
    pub fn pane_mut(&mut self, at: PaneRef) -> &mut Pane {
        match at {
            PaneRef::Console => &mut self.procs.console,
            PaneRef::Instance(ii, pi) => &mut self.procs.instances[ii].panes[pi],
        }
    }

    /// The focused pane, if the right side shows any.
    pub fn focused_pane(&self) -> Option<PaneRef> {
        let panes = self.visible_panes();
        panes
            .get(self.view.focus.min(panes.len().saturating_sub(1)))
            .copied()
    }

    /// The input line's target for the selected instance (or the console).
    pub fn target(&self) -> Option<Target> {
        match self.selected_instance() {
            Some(ii) => {
                let inst = &self.procs.instances[ii];
                let targets = inst.writable();
                targets
                    .contains(&inst.target)
                    .then_some(inst.target)
                    .or(targets.first().copied())
            }
            None if self.current_row() == Row::Console => Some(Target::ConsoleStdin),
            None => None,
        }
    }
}
