//! The inspector: why hasn't it ended? Reads `/proc` (through the `procfs` crate) to tell,
//! for one child of fdscope, its process tree (pid, state, command, CPU %, RSS), what each
//! of its fds is, and — for fdscope's pipes still open after the child exited — which
//! processes hold the other end.
//!
//! One implementation for every front end: the console's `o` overlay, `run`'s `held_open`
//! notes and `ctl inspect`. Whatever `/proc` does not show (another user's process, a pid
//! that vanished between two reads) is reported as such, never guessed.

mod held;
mod holders;

pub use held::{held_pipes, holders_text};
pub use holders::{pipe_holders, pipes_holders, Holders};

use crate::spawn::{ChildFd, ProcessTransport};
use procfs::process::{FDTarget, Process};
use procfs::ProcError;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

/// What fdscope knows of one child, besides its pid: enough to name each fd.
#[derive(Debug, Clone, Default)]
pub struct ChildInfo {
    /// The child's pid.
    pub pid: u32,
    /// The child's fd map (what fdscope gave it).
    pub child_fds: BTreeMap<i32, ChildFd>,
    /// Child fd -> inode of its pipe to fdscope.
    pub pipe_inodes: BTreeMap<i32, u64>,
    /// Runs on a pty (fds 0-2 are the pty's slave).
    pub pty: bool,
    /// Child fds whose pipe fdscope still has open (not yet lost).
    pub open_pipes: BTreeSet<i32>,
    /// The child has been reaped (`process_exited` came).
    pub exited: bool,
}

impl ChildInfo {
    /// What the transport tells of its child.
    pub fn of(transport: &ProcessTransport) -> ChildInfo {
        let open_pipes = transport
            .pipe_inodes()
            .keys()
            .copied()
            .filter(|fd| !transport.is_closed(*fd))
            .collect();
        ChildInfo {
            pid: transport.pid(),
            child_fds: transport.child_fds().clone(),
            pipe_inodes: transport.pipe_inodes().clone(),
            pty: transport.is_pty(),
            open_pipes,
            exited: transport.is_reaped(),
        }
    }
}

/// Everything the inspector found about one child.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The child's pid.
    pub pid: u32,
    /// The child as `/proc` shows it: `running`, `zombie`, `gone` (reaped), `unreadable`.
    pub child: ChildState,
    /// The child and its descendants, depth first; then any holder of fdscope's pipes that
    /// is no longer in that tree (its parent exited), with its own descendants.
    pub tree: Vec<ProcessEntry>,
    /// Each fd of the child, in fd order (empty once the child is gone).
    pub fds: Vec<FdEntry>,
    /// Why `fds` is empty or partial, when it is (`permission denied: …`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fds_error: Option<String>,
    /// For each pipe of fdscope's still open after the child exited: who holds it.
    pub held_open: Vec<HeldPipe>,
}

/// The child's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildState {
    /// It runs (or sleeps, or is stopped): `/proc/PID` exists and is not a zombie.
    Running,
    /// It has exited and is not reaped yet.
    Zombie,
    /// It has been reaped: no `/proc/PID` any more.
    Gone,
    /// `/proc/PID` exists but cannot be read.
    Unreadable,
}

/// One process of the tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessEntry {
    /// Its pid.
    pub pid: u32,
    /// Its parent's pid.
    pub ppid: u32,
    /// 0 for the child (or a detached holder), 1 for its children, …
    pub depth: usize,
    /// `R`, `S`, `D`, `Z`, `T`, … as in `ps`.
    pub state: char,
    /// `/proc/PID/comm`.
    pub comm: String,
    /// The command line (`comm` in brackets when it has none, as `ps` does).
    pub command: String,
    /// CPU use since the previous sample of the same [`Sampler`], in percent of one core;
    /// `None` on the first sample.
    pub cpu_percent: Option<f64>,
    /// Resident memory, in bytes.
    pub rss_bytes: u64,
    /// Not a descendant of the child any more: a holder of one of fdscope's pipes whose
    /// parent exited (it was re-parented to `ppid`).
    pub detached: bool,
}

/// What one fd of the child is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FdEntry {
    /// The child's fd number.
    pub fd: i32,
    /// What it is.
    pub kind: FdKind,
    /// The link in `/proc/PID/fd` (`pipe:[1234]`, `/dev/pts/3`, a path).
    pub target: String,
}

/// The kinds of fd the inspector tells apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FdKind {
    /// A pipe to fdscope: the pane of child fd `pane_fd` (`r`: fdscope reads it).
    PipeToFdscope {
        /// The child fd whose pane shows (or feeds) this pipe.
        pane_fd: i32,
        /// `r` (fdscope reads) or `w` (fdscope writes).
        direction: String,
    },
    /// Another pipe (made by the child itself, or inherited from elsewhere).
    Pipe,
    /// A pseudo-terminal (`/dev/pts/N`).
    Pty,
    /// `/dev/null`.
    DevNull,
    /// An fd of fdscope's own, shared with the child (`child_fds = { N = M }`).
    InheritedFromFdscope {
        /// fdscope's fd number.
        parent_fd: i32,
    },
    /// A socket.
    Socket,
    /// A file or device.
    File,
    /// Something else (an anonymous inode such as an eventfd, a memfd, …).
    Other,
}

impl FdKind {
    /// A short phrase: `pipe to fdscope (pane fd 1, fdscope reads)`, `pty`, `file`, ….
    pub fn describe(&self) -> String {
        match self {
            FdKind::PipeToFdscope { pane_fd, direction } => {
                let who = if direction == "r" {
                    "fdscope reads"
                } else {
                    "fdscope writes"
                };
                format!("pipe to fdscope (pane fd {pane_fd}, {who})")
            }
            FdKind::Pipe => "pipe (not fdscope's)".into(),
            FdKind::Pty => "pty".into(),
            FdKind::DevNull => "/dev/null".into(),
            FdKind::InheritedFromFdscope { parent_fd } => {
                format!("inherited fd {parent_fd} of fdscope")
            }
            FdKind::Socket => "socket".into(),
            FdKind::File => "file".into(),
            FdKind::Other => "other".into(),
        }
    }
}

/// One of fdscope's pipes still open after the child exited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldPipe {
    /// The child fd of the pipe.
    pub fd: i32,
    /// The processes holding it open, other than fdscope.
    pub holders: Vec<crate::transcript::Holder>,
    /// Processes whose fds could not be read (another user's): one of them may hold it.
    pub unreadable: Vec<u32>,
}

/// Samples processes over time, for CPU %: keep one per view and call
/// [`Sampler::inspect`] at each refresh.
#[derive(Debug, Default)]
pub struct Sampler {
    /// pid -> (start time in ticks, utime + stime in ticks, when sampled).
    previous: HashMap<u32, (u64, u64, Instant)>,
}

/// CPU % and RSS of one process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// Percent of one core since the previous sample (`None` on the first).
    pub cpu_percent: Option<f64>,
    /// Resident memory in bytes.
    pub rss_bytes: u64,
}

impl Sampler {
    /// A sampler with no history.
    pub fn new() -> Sampler {
        Sampler::default()
    }

    /// CPU % (since this sampler last saw the process) and RSS of `stat`'s process.
    fn sample(&mut self, stat: &procfs::process::Stat, now: Instant) -> Usage {
        let pid = stat.pid as u32;
        let ticks = stat.utime + stat.stime;
        let cpu_percent = match self.previous.get(&pid) {
            Some(&(start, before, at)) if start == stat.starttime => {
                let seconds = now.duration_since(at).as_secs_f64();
                (seconds > 0.0).then(|| {
                    let used =
                        ticks.saturating_sub(before) as f64 / procfs::ticks_per_second() as f64;
                    used / seconds * 100.0
                })
            }
            _ => None,
        };
        self.previous.insert(pid, (stat.starttime, ticks, now));
        Usage {
            cpu_percent,
            rss_bytes: stat.rss * procfs::page_size(),
        }
    }

    /// CPU % and RSS of one process; `None` if it is gone or unreadable.
    pub fn usage(&mut self, pid: u32) -> Option<Usage> {
        let stat = Process::new(pid as i32).ok()?.stat().ok()?;
        if stat.state == 'Z' {
            return None;
        }
        Some(self.sample(&stat, Instant::now()))
    }

    /// Forgets processes not sampled for a while (call now and then; bounded memory).
    pub fn retain(&mut self, alive: impl Fn(u32) -> bool) {
        self.previous.retain(|pid, _| alive(*pid));
    }

    /// The full report on `child`.
    pub fn inspect(&mut self, child: &ChildInfo) -> Report {
        let now = Instant::now();
        let table = process_table();
        let child_stat = table.get(&child.pid);
        let state = match child_stat {
            Some(stat) if stat.state == 'Z' => ChildState::Zombie,
            Some(_) => ChildState::Running,
            None if child.exited => ChildState::Gone,
            None => match Process::new(child.pid as i32) {
                Err(ProcError::PermissionDenied(_)) => ChildState::Unreadable,
                _ => ChildState::Gone,
            },
        };
        let (fds, fds_error) = match state {
            ChildState::Running => child_fds(child),
            ChildState::Zombie | ChildState::Gone => (Vec::new(), None),
            ChildState::Unreadable => (
                Vec::new(),
                Some(format!(
                    "/proc/{} cannot be read (another user's process?)",
                    child.pid
                )),
            ),
        };
        let held_open = if child.exited {
            held_pipes(child)
        } else {
            Vec::new()
        };

        let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
        for stat in table.values() {
            children
                .entry(stat.ppid as u32)
                .or_default()
                .push(stat.pid as u32);
        }
        for list in children.values_mut() {
            list.sort_unstable();
        }
        let mut tree = Vec::new();
        let mut seen = BTreeSet::new();
        if child_stat.is_some() {
            self.walk(
                child.pid, 0, false, &table, &children, &mut tree, &mut seen, now,
            );
        }
        for holder in held_open.iter().flat_map(|h| &h.holders) {
            if !seen.contains(&holder.pid) && table.contains_key(&holder.pid) {
                self.walk(
                    holder.pid, 0, true, &table, &children, &mut tree, &mut seen, now,
                );
            }
        }
        Report {
            pid: child.pid,
            child: state,
            tree,
            fds,
            fds_error,
            held_open,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn walk(
        &mut self,
        pid: u32,
        depth: usize,
        detached: bool,
        table: &HashMap<u32, procfs::process::Stat>,
        children: &HashMap<u32, Vec<u32>>,
        tree: &mut Vec<ProcessEntry>,
        seen: &mut BTreeSet<u32>,
        now: Instant,
    ) {
        // A pid seen twice would mean a cycle in a racy table: stop rather than loop.
        if !seen.insert(pid) {
            return;
        }
        let Some(stat) = table.get(&pid) else { return };
        let usage = self.sample(stat, now);
        let command = Process::new(pid as i32)
            .and_then(|p| p.cmdline())
            .ok()
            .filter(|argv| !argv.is_empty())
            .map(|argv| argv.join(" "))
            .unwrap_or_else(|| format!("[{}]", stat.comm));
        tree.push(ProcessEntry {
            pid,
            ppid: stat.ppid as u32,
            depth,
            state: stat.state,
            comm: stat.comm.clone(),
            command,
            cpu_percent: usage.cpu_percent,
            rss_bytes: usage.rss_bytes,
            detached,
        });
        for &kid in children.get(&pid).into_iter().flatten() {
            self.walk(kid, depth + 1, false, table, children, tree, seen, now);
        }
    }
}

/// `stat` of every process `/proc` lists now (vanished and unreadable ones left out).
fn process_table() -> HashMap<u32, procfs::process::Stat> {
    let Ok(all) = procfs::process::all_processes() else {
        return HashMap::new();
    };
    all.flatten()
        .filter_map(|p| p.stat().ok())
        .map(|stat| (stat.pid as u32, stat))
        .collect()
}

/// The child's fds, each named; or why they cannot be read.
fn child_fds(child: &ChildInfo) -> (Vec<FdEntry>, Option<String>) {
    let fds = match Process::new(child.pid as i32).and_then(|p| p.fd()) {
        Ok(fds) => fds,
        Err(error) => return (Vec::new(), Some(proc_error(child.pid, &error))),
    };
    let ours: HashMap<u64, i32> = child
        .pipe_inodes
        .iter()
        .map(|(fd, inode)| (*inode, *fd))
        .collect();
    // fdscope's own fds that it gave the child, by what they point at.
    let myself = Process::myself().ok();
    let inherited: Vec<(i32, FDTarget)> = child
        .child_fds
        .values()
        .filter_map(|what| match what {
            ChildFd::Parent(n) => Some(*n),
            _ => None,
        })
        .filter_map(|n| {
            let info = myself.as_ref()?.fd_from_fd(n).ok()?;
            Some((n, info.target))
        })
        .collect();
    let mut entries: Vec<FdEntry> = fds
        .flatten()
        .map(|info| {
            let kind = match &info.target {
                FDTarget::Pipe(inode) => match ours.get(inode) {
                    Some(&pane_fd) => FdKind::PipeToFdscope {
                        pane_fd,
                        direction: match child.child_fds.get(&pane_fd) {
                            Some(ChildFd::Write) => "w".into(),
                            _ => "r".into(),
                        },
                    },
                    None => inherited_or(&inherited, &info.target, FdKind::Pipe),
                },
                FDTarget::Path(path) if path.as_os_str() == "/dev/null" => FdKind::DevNull,
                FDTarget::Path(path) if path.starts_with("/dev/pts/") || path == "/dev/ptmx" => {
                    inherited_or(&inherited, &info.target, FdKind::Pty)
                }
                FDTarget::Path(_) => inherited_or(&inherited, &info.target, FdKind::File),
                FDTarget::Socket(_) | FDTarget::Net(_) => {
                    inherited_or(&inherited, &info.target, FdKind::Socket)
                }
                _ => inherited_or(&inherited, &info.target, FdKind::Other),
            };
            FdEntry {
                fd: info.fd,
                kind,
                target: target_text(&info.target),
            }
        })
        .collect();
    entries.sort_by_key(|e| e.fd);
    (entries, None)
}

/// `InheritedFromFdscope` if `target` is what one of fdscope's shared fds points at.
fn inherited_or(inherited: &[(i32, FDTarget)], target: &FDTarget, otherwise: FdKind) -> FdKind {
    match inherited.iter().find(|(_, t)| t == target) {
        Some((parent_fd, _)) => FdKind::InheritedFromFdscope {
            parent_fd: *parent_fd,
        },
        None => otherwise,
    }
}

/// The fd's link as `ls -l /proc/PID/fd` shows it.
fn target_text(target: &FDTarget) -> String {
    match target {
        FDTarget::Path(path) => path.display().to_string(),
        FDTarget::Socket(inode) => format!("socket:[{inode}]"),
        FDTarget::Net(inode) => format!("net:[{inode}]"),
        FDTarget::Pipe(inode) => format!("pipe:[{inode}]"),
        FDTarget::AnonInode(what) => format!("anon_inode:{what}"),
        FDTarget::MemFD(name) => format!("/memfd:{name}"),
        FDTarget::Other(what, inode) => format!("{what}:[{inode}]"),
        FDTarget::Unknown(what, extra) => format!("{what}:{extra}"),
    }
}

/// A `/proc` error as a user reads it.
fn proc_error(pid: u32, error: &ProcError) -> String {
    match error {
        ProcError::PermissionDenied(_) => {
            format!("/proc/{pid}/fd cannot be read: permission denied (another user's process)")
        }
        ProcError::NotFound(_) => format!("pid {pid} is gone"),
        other => format!("/proc/{pid}/fd cannot be read: {other}"),
    }
}
