//! `ProcessSpec`: everything `reactor.spawnProcess` takes, as one value.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::os::fd::RawFd;
use std::path::PathBuf;
use std::str::FromStr;

/// What the parent connects to one of the child's file descriptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChildFd {
    /// A pipe the child writes and the parent reads (`"r"` in Twisted's childFDs).
    Read,
    /// A pipe the parent writes and the child reads (`"w"`).
    Write,
    /// The parent's own fd with this number, shared with the child; no events.
    Parent(RawFd),
    /// `/dev/null`, open for reading and writing.
    Null,
}

/// Highest child fd number accepted; far above any real program's needs, and keeps the
/// child's "close what is not mapped" loop short.
pub const MAX_CHILD_FD: i32 = 4095;

/// With a pty, the child's fds 0, 1 and 2 are the terminal: a map may not name them, and
/// only fd 0 (the terminal's input) can be written to or closed. The one place this rule
/// lives; the engine, the config reader and the console ask here.
pub fn is_pty_fd(fd: i32) -> bool {
    PTY_FDS.contains(&fd)
}

/// The child fds a pty provides.
pub const PTY_FDS: std::ops::RangeInclusive<i32> = 0..=2;

/// Parses a child fd number: 0 to [`MAX_CHILD_FD`].
pub fn parse_fd_number(text: &str) -> Result<i32, String> {
    let fd: i32 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not an fd number"))?;
    if !(0..=MAX_CHILD_FD).contains(&fd) {
        return Err(format!("fd {fd} is out of range 0..={MAX_CHILD_FD}"));
    }
    Ok(fd)
}

/// Parses `N=SPEC` (`3=w`, `1=r`, `4=null`, `5=2`): a child fd and what it is connected to.
pub fn parse_fd_assignment(text: &str) -> Result<(i32, ChildFd), String> {
    let (fd, spec) = text.split_once('=').ok_or("expected N=SPEC, e.g. 3=w")?;
    let fd = parse_fd_number(fd)?;
    Ok((fd, spec.trim().parse()?))
}

impl ChildFd {
    /// What a child fd value may be, for messages.
    pub const EXPECTED: &'static str = "\"r\", \"w\", \"null\" or a parent fd number";

    /// `r`, `w` or `null` (a parent fd is a number, parsed by the caller's own rules).
    pub fn from_word(word: &str) -> Option<ChildFd> {
        match word {
            "r" => Some(ChildFd::Read),
            "w" => Some(ChildFd::Write),
            "null" => Some(ChildFd::Null),
            _ => None,
        }
    }

    /// True for `Read` and `Write`: the fds that produce `child_connection_lost`.
    pub fn is_pipe(self) -> bool {
        matches!(self, ChildFd::Read | ChildFd::Write)
    }
}

impl fmt::Display for ChildFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChildFd::Read => f.write_str("r"),
            ChildFd::Write => f.write_str("w"),
            ChildFd::Parent(n) => write!(f, "{n}"),
            ChildFd::Null => f.write_str("null"),
        }
    }
}

impl FromStr for ChildFd {
    type Err = String;

    /// Parses `r`, `w`, `null` or a parent fd number.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(what) = ChildFd::from_word(s) {
            return Ok(what);
        }
        match s.parse::<RawFd>() {
            Ok(n) if n >= 0 => Ok(ChildFd::Parent(n)),
            _ => Err(format!(
                "invalid fd value `{s}`: expected {}",
                ChildFd::EXPECTED
            )),
        }
    }
}

/// A terminal size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PtySize {
    /// Lines.
    pub rows: u16,
    /// Columns.
    pub cols: u16,
}

impl Default for PtySize {
    /// 24×80, the size of a classic terminal.
    fn default() -> Self {
        PtySize { rows: 24, cols: 80 }
    }
}

impl FromStr for PtySize {
    type Err = String;

    /// Parses `ROWSxCOLS`, e.g. `24x80`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("invalid pty size `{s}`: expected ROWSxCOLS, e.g. 24x80");
        let (rows, cols) = s.split_once(['x', 'X']).ok_or_else(bad)?;
        let rows: u16 = rows.trim().parse().map_err(|_| bad())?;
        let cols: u16 = cols.trim().parse().map_err(|_| bad())?;
        if rows == 0 || cols == 0 {
            return Err(bad());
        }
        Ok(PtySize { rows, cols })
    }
}

/// How to start one child: the arguments of Twisted's `reactor.spawnProcess`.
///
/// ```
/// use fdscope::{ChildFd, ProcessSpec};
/// let spec = ProcessSpec::new("gpg")
///     .args(["gpg", "--decrypt", "--passphrase-fd", "3", "--status-fd", "4"])
///     .child_fd(3, ChildFd::Write)
///     .child_fd(4, ChildFd::Read);
/// assert_eq!(spec.child_fds.len(), 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSpec {
    /// The file to execute. A name without `/` is searched like `execvpe` does: in the
    /// `PATH` of the child's environment, else in `/usr/bin:/bin`.
    pub program: OsString,
    /// The whole argv; `args[0]` is the process name. Empty means `[program]`.
    pub args: Vec<OsString>,
    /// The child's environment (on top of the parent's when `inherit_env` is set).
    pub env: BTreeMap<OsString, OsString>,
    /// Start from the parent's environment instead of an empty one.
    pub inherit_env: bool,
    /// Directory the child starts in; `None` keeps the parent's.
    pub cwd: Option<PathBuf>,
    /// User id to switch to (after the group).
    pub uid: Option<u32>,
    /// Group id to switch to; supplementary groups are reduced to this one.
    pub gid: Option<u32>,
    /// Run on a new pseudo-terminal of this size: fds 0, 1 and 2 are its slave.
    pub pty: Option<PtySize>,
    /// Child fd number -> what it is connected to. With `pty`, only fds 3 and up.
    pub child_fds: BTreeMap<i32, ChildFd>,
}

impl ProcessSpec {
    /// A spec for `program` with argv `[program]`, an empty environment and the
    /// default map `{0: Write, 1: Read, 2: Read}`.
    pub fn new(program: impl Into<OsString>) -> Self {
        ProcessSpec {
            program: program.into(),
            args: Vec::new(),
            env: BTreeMap::new(),
            inherit_env: false,
            cwd: None,
            uid: None,
            gid: None,
            pty: None,
            child_fds: Self::default_child_fds(),
        }
    }

    /// `{0: Write, 1: Read, 2: Read}`: stdin, stdout and stderr as pipes.
    pub fn default_child_fds() -> BTreeMap<i32, ChildFd> {
        BTreeMap::from([(0, ChildFd::Write), (1, ChildFd::Read), (2, ChildFd::Read)])
    }

    /// Sets the whole argv (`args[0]` is the process name).
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Adds one environment variable.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Starts from the parent's environment (`env` entries override it).
    pub fn inherit_env(mut self, inherit: bool) -> Self {
        self.inherit_env = inherit;
        self
    }

    /// Sets the directory the child starts in.
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Sets the user id to run as.
    pub fn uid(mut self, uid: u32) -> Self {
        self.uid = Some(uid);
        self
    }

    /// Sets the group id to run as.
    pub fn gid(mut self, gid: u32) -> Self {
        self.gid = Some(gid);
        self
    }

    /// Runs the child on a pseudo-terminal of `size`; removes fds 0–2 from the map
    /// (the pty provides them). Extra fds added before or after stay.
    pub fn pty(mut self, size: PtySize) -> Self {
        self.pty = Some(size);
        self.child_fds.retain(|fd, _| !is_pty_fd(*fd));
        self
    }

    /// Maps child fd `fd` to `what`, replacing any earlier mapping of it.
    pub fn child_fd(mut self, fd: i32, what: ChildFd) -> Self {
        self.child_fds.insert(fd, what);
        self
    }

    /// Replaces the whole fd map (an empty map gives the child no fds at all).
    pub fn child_fds(mut self, map: impl IntoIterator<Item = (i32, ChildFd)>) -> Self {
        self.child_fds = map.into_iter().collect();
        self
    }

    /// The argv the child gets: `args`, or `[program]` when `args` is empty.
    pub fn argv(&self) -> Vec<OsString> {
        if self.args.is_empty() {
            vec![self.program.clone()]
        } else {
            self.args.clone()
        }
    }

    /// The program as text, for messages.
    pub fn program_display(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_fd_parses_every_form_and_rejects_others() {
        assert_eq!("r".parse::<ChildFd>(), Ok(ChildFd::Read));
        assert_eq!("w".parse::<ChildFd>(), Ok(ChildFd::Write));
        assert_eq!("null".parse::<ChildFd>(), Ok(ChildFd::Null));
        assert_eq!("7".parse::<ChildFd>(), Ok(ChildFd::Parent(7)));
        assert!("-1".parse::<ChildFd>().is_err());
        assert!("rw".parse::<ChildFd>().is_err());
    }

    #[test]
    fn pty_size_parses_rows_by_cols() {
        assert_eq!(
            "30x100".parse::<PtySize>(),
            Ok(PtySize {
                rows: 30,
                cols: 100
            })
        );
        assert!("0x80".parse::<PtySize>().is_err());
        assert!("80".parse::<PtySize>().is_err());
    }

    #[test]
    fn pty_drops_standard_fds_but_keeps_extra_ones() {
        let spec = ProcessSpec::new("sh")
            .child_fd(4, ChildFd::Read)
            .pty(PtySize::default());
        assert_eq!(spec.child_fds, BTreeMap::from([(4, ChildFd::Read)]));
    }
}
