//! `fdscope replay FILE.jsonl`: the console on a recorded transcript. The recorded events
//! go through the same `update` as live ones (as `Msg::Spawned` / `Msg::Child` /
//! `Msg::Script`), so panes, pty screens, timeline and statuses are rebuilt exactly as
//! they were drawn live; nothing is spawned. Space steps one event, Enter plays at the
//! recorded pace (or pauses), `]`/`[` double or halve the speed, `g` jumps to the end.

use super::action::{Action, Mode};
use super::effect::Effect;
use super::state::{App, Msg};
use super::{instance, keys, update};
use crate::config::{CommandConfig, ConsoleSettings};
use crate::spawn::{ChildFd, ProcessSpec, PtySize};
use crate::transcript::{Record, Transcript, TranscriptEvent};
use crate::ProcessEvent;
use crossterm::event::{Event, KeyEvent, KeyEventKind};
use ratatui::layout::Rect;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// Where a replay is: the recording and how far it has been applied.
#[derive(Debug)]
pub struct Replay {
    records: Vec<Record>,
    /// Records applied so far.
    pub next: usize,
    /// Playing at the recorded pace (times `speed`), or paused.
    pub playing: bool,
    /// Playback speed (1 = as recorded).
    pub speed: f64,
    /// Recorded time reached (the `at` of the last record applied, or more while playing).
    position: Duration,
    /// (name, instance) of the recording → console instance id.
    instances: HashMap<(String, u64), u64>,
    file: String,
}

/// The name a recording without names is shown under.
const UNNAMED: &str = "recording";

impl Replay {
    /// The console for `transcript` (read from `file`), paused before its first event.
    pub fn new(transcript: Transcript, file: &str, screen: Rect) -> (App, Replay) {
        let commands = commands_of(&transcript.records);
        let settings = ConsoleSettings {
            scrollback_lines: 10_000,
            stop_grace_ms: 0,
        };
        let mut app = App::new(commands, settings, screen);
        app.view.config_source = format!("replay of {file}");
        let replay = Replay {
            records: transcript.records,
            next: 0,
            playing: false,
            speed: 1.0,
            position: Duration::ZERO,
            instances: HashMap::new(),
            file: file.to_string(),
        };
        app.view.status = replay.status();
        (app, replay)
    }

    /// Events in the recording.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True for an empty recording.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// `replay of F: event 3 of 9, paused · Space step …`.
    pub fn status(&self) -> String {
        let state = if self.next == self.records.len() {
            "at the end".to_string()
        } else if self.playing {
            format!("playing ×{}", self.speed)
        } else {
            "paused".to_string()
        };
        format!(
            "replay of {}: event {} of {}, {state} · Space step · Enter play · ] faster · [ slower · g end",
            self.file,
            self.next,
            self.records.len()
        )
    }

    /// Applies the next recorded event; false at the end.
    pub fn step(&mut self, app: &mut App, now: Instant) -> bool {
        let Some(record) = self.records.get(self.next).cloned() else {
            return false;
        };
        self.next += 1;
        self.position = self.position.max(record.at);
        self.apply(app, record, now);
        true
    }

    /// Applies every event due by the recorded time `position` (while playing).
    fn catch_up(&mut self, app: &mut App, now: Instant) {
        while self
            .records
            .get(self.next)
            .is_some_and(|r| r.at <= self.position)
        {
            self.step(app, now);
        }
        if self.next == self.records.len() {
            self.playing = false;
        }
    }

    /// Advances a playing replay by `real` time.
    pub fn advance(&mut self, app: &mut App, real: Duration, now: Instant) {
        if self.playing {
            self.position += real.mul_f64(self.speed);
            self.catch_up(app, now);
        }
    }

    /// How long until the next event is due while playing.
    pub fn next_due(&self) -> Option<Duration> {
        let next = self.records.get(self.next)?;
        self.playing
            .then(|| next.at.saturating_sub(self.position).div_f64(self.speed))
    }

    fn apply(&mut self, app: &mut App, record: Record, now: Instant) {
        let name = record.name.clone().unwrap_or_else(|| UNNAMED.to_string());
        let key = (name.clone(), record.instance.unwrap_or(1));
        let id = match self.instances.get(&key) {
            Some(id) => *id,
            None => {
                let Some(ci) = app.procs.commands.iter().position(|c| c.name == name) else {
                    return;
                };
                // Started as the console starts a command; the spawn it asks for is not
                // performed: the recording says what the child did.
                let mut ignored = Vec::new();
                let ii = instance::start(app, ci, now, &mut ignored);
                let id = app.procs.instances[ii].id;
                let pid = match &record.event {
                    TranscriptEvent::Process(ProcessEvent::ConnectionMade { pid }) => *pid,
                    _ => 0,
                };
                let started = now.checked_sub(record.at).unwrap_or(now);
                update::handle(app, Msg::Spawned { id, pid, started }, now);
                instance::select_instance(app, ii);
                self.instances.insert(key, id);
                id
            }
        };
        let msg = match record.event {
            TranscriptEvent::Process(event) => Msg::Child {
                id,
                at: record.at,
                event,
            },
            event => Msg::Script {
                id,
                at: record.at,
                event,
            },
        };
        update::handle(app, msg, now);
    }

    /// A key: the replay's own keys first, then the console's view keys. Keys that
    /// would act on a live child are refused (a replay is read-only). True to quit.
    pub fn key(&mut self, app: &mut App, key: KeyEvent, now: Instant) -> bool {
        if key.kind == KeyEventKind::Release {
            return false;
        }
        if app.view.mode == Mode::Normal {
            if let Some(action) = keys::lookup(Mode::Replay, key) {
                self.act(app, action, now);
                return false;
            }
            if let Some(action) = keys::lookup(Mode::Normal, key) {
                if action == Action::Quit {
                    return true;
                }
                if !read_only(&action) {
                    app.view.status = format!(
                        "a replay is read-only: {} is for live children",
                        action.describe()
                    );
                    return false;
                }
            }
        }
        let effects = update::handle(app, Msg::Term(Event::Key(key)), now);
        drop_effects(app, effects);
        if app.view.mode == Mode::Normal && app.view.status.is_empty() {
            app.view.status = self.status();
        }
        false
    }

    /// The replay's own actions.
    pub fn act(&mut self, app: &mut App, action: Action, now: Instant) {
        match action {
            Action::ReplayStep => {
                self.playing = false;
                self.step(app, now);
            }
            Action::ReplayPlay => self.playing = !self.playing && self.next < self.records.len(),
            Action::ReplayFaster => self.speed = (self.speed * 2.0).min(64.0),
            Action::ReplaySlower => self.speed = (self.speed / 2.0).max(1.0 / 64.0),
            Action::ReplayEnd => {
                while self.step(app, now) {}
                self.playing = false;
            }
            _ => {}
        }
        app.view.status = self.status();
    }
}

/// Actions that only change what the screen shows.
fn read_only(action: &Action) -> bool {
    !matches!(
        action,
        Action::Start
            | Action::Restart
            | Action::Stop
            | Action::SignalMenu
            | Action::CloseMenu
            | Action::LoseConnection
            | Action::CloseFd(_)
            | Action::Signal(_)
            | Action::FocusInput
            | Action::FocusPty
            | Action::Dismiss
    )
}

/// Effects of view keys (a save, the clipboard, the mouse) are harmless but need a
/// performer; a replay has none, so they are named on the status line instead.
fn drop_effects(app: &mut App, effects: Vec<Effect>) {
    if !effects.is_empty() {
        app.view.status = "not available in a replay".into();
    }
}

/// One command per recorded name, with the fds the recording shows: a pty when no fd of
/// 0–2 ever reported a loss (a pty's fds have none), else pipes.
fn commands_of(records: &[Record]) -> Vec<CommandConfig> {
    let mut names: Vec<String> = Vec::new();
    let mut fds: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
    let mut lost: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
    for record in records {
        let name = record.name.clone().unwrap_or_else(|| UNNAMED.to_string());
        if !names.contains(&name) {
            names.push(name.clone());
        }
        if let TranscriptEvent::Process(event) = &record.event {
            match event {
                ProcessEvent::ChildDataReceived { fd, .. } => {
                    fds.entry(name).or_default().insert(*fd);
                }
                ProcessEvent::ChildConnectionLost { fd } => {
                    fds.entry(name.clone()).or_default().insert(*fd);
                    lost.entry(name).or_default().insert(*fd);
                }
                _ => {}
            }
        }
    }
    names
        .into_iter()
        .map(|name| {
            let seen = fds.remove(&name).unwrap_or_default();
            let lost = lost.remove(&name).unwrap_or_default();
            let pty = !lost.iter().any(|fd| (0..=2).contains(fd)) && !seen.is_empty();
            let mut spec = ProcessSpec::new(&name).args([name.as_str()]);
            if pty {
                spec = spec.pty(PtySize::default());
                for fd in seen.iter().filter(|fd| **fd > 2) {
                    spec = spec.child_fd(*fd, ChildFd::Read);
                }
            } else {
                let map: BTreeMap<i32, ChildFd> = seen
                    .iter()
                    .chain([0, 1, 2].iter())
                    .map(|fd| {
                        let kind = if *fd == 0 {
                            ChildFd::Write
                        } else {
                            ChildFd::Read
                        };
                        (*fd, kind)
                    })
                    .collect();
                for (fd, kind) in map {
                    spec = spec.child_fd(fd, kind);
                }
            }
            let mut command = CommandConfig::new(name, spec);
            command.description = Some("recorded".into());
            command
        })
        .collect()
}
