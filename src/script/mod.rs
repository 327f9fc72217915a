//! Scripts: driving prompt-driven programs (expect / write), readiness and start
//! dependencies. One implementation, used by the library, `fdscope run` and the console.
//!
//! - [`Session`]: an expect-style handle on a spawned process: wait for a regex on an fd
//!   (with a timeout) and get its captures, write, close, signal, wait for the exit.
//! - [`run`]: runs a [`Script`] (a list of [`Step`]s) on a [`Session`] and sends every
//!   event, the process's and the script's (`script_step`, `script_failed`, `ready`), in order.
//! - [`Plan`]: which commands start first, and when, from `depends_on`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use fdscope::script::{Pattern, Session};
//! use fdscope::{spawn, ProcessSpec};
//! use std::time::Duration;
//! let process = spawn(&ProcessSpec::new("bc").args(["bc", "-q"]))?;
//! let mut bc = Session::new(process);
//! bc.write(0, "2^10\n")?;
//! let answer = bc.expect(1, &Pattern::new(r"^(?P<n>\d+)$")?, Duration::from_secs(5)).await?;
//! assert_eq!(answer.groups["n"], "1024");
//! bc.close(0)?;
//! assert!(bc.wait_exit(Duration::from_secs(5)).await?.success());
//! # Ok(()) }
//! ```

mod plan;
mod runner;
mod session;

pub use plan::{Condition, Plan, PlanError};
pub use runner::{run, Failure, OnFailure, Outcome, ScriptJob};
pub use session::{ExpectError, Match, Session, Tagged, WINDOW};

use crate::escape::escape;
use crate::transcript::Groups;
use crate::Signal;
use regex::bytes::Regex;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Default `timeout` of an `expect`, a `ready` and an `exit` step: 10 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A compiled expect regex: Rust `regex` syntax, multi-line and CRLF-aware (`(?mR)`), on
/// bytes (a child may print anything). Compares by its source text.
#[derive(Clone)]
pub struct Pattern {
    source: String,
    regex: Regex,
}

impl Pattern {
    /// Compiles `source` as `(?mR)source`: `^` and `$` match at each line, and `\r\n`
    /// counts as one line end (`^1024$` matches bc's `1024\r\n` on a pty).
    pub fn new(source: &str) -> Result<Pattern, regex::Error> {
        let regex = regex::bytes::RegexBuilder::new(source)
            .multi_line(true)
            .crlf(true)
            .size_limit(1 << 22)
            .build()?;
        Ok(Pattern {
            source: source.to_owned(),
            regex,
        })
    }

    /// The regex as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The compiled regex.
    pub fn regex(&self) -> &Regex {
        &self.regex
    }

    /// The names of its named groups (the variables a match defines).
    pub fn group_names(&self) -> impl Iterator<Item = &str> {
        self.regex.capture_names().flatten()
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}
impl Eq for Pattern {}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}/", self.source)
    }
}

/// What an `exit` step wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitWant {
    /// Exited with this code.
    Code(i32),
    /// Killed by this signal.
    Signal(Signal),
}

impl fmt::Display for ExitWant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitWant::Code(code) => write!(f, "{code}"),
            ExitWant::Signal(signal) => f.write_str(signal.as_str().trim_start_matches("SIG")),
        }
    }
}

/// One step of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Write `data` (`${var}` expanded) `repeat` times to child fd `fd`.
    Write {
        /// The child fd (0 = the terminal on a pty child).
        fd: i32,
        /// The text, before `${var}` expansion.
        data: Vec<u8>,
        /// How many times.
        repeat: u32,
    },
    /// Close a write pipe (Ctrl-D on a pty's fd 0).
    Close {
        /// The child fd.
        fd: i32,
    },
    /// Wait until `pattern` matches output of `fd` received since the previous match.
    Expect {
        /// The child fd (1 = the terminal on a pty child).
        fd: i32,
        /// The regex.
        pattern: Pattern,
        /// How long to wait.
        timeout: Duration,
    },
    /// Send a signal.
    Signal {
        /// The signal.
        signal: Signal,
    },
    /// Wait.
    Sleep {
        /// How long.
        duration: Duration,
    },
    /// Wait for `process_exited`; fails if the status differs.
    Exit {
        /// The status wanted.
        want: ExitWant,
        /// How long to wait.
        timeout: Duration,
    },
}

/// A script: its steps, in order.
pub type Script = Vec<Step>;

/// Longest written text shown in a step's description.
const SHOWN_WRITE: usize = 40;

impl Step {
    /// The step as a person reads it: `expect /1024/ on fd 1`, `write "2^10\n" to fd 0`.
    pub fn describe(&self) -> String {
        match self {
            Step::Write { fd, data, repeat } => {
                let shown = escape(&data[..data.len().min(SHOWN_WRITE)]);
                let more = if data.len() > SHOWN_WRITE { "…" } else { "" };
                let times = if *repeat > 1 {
                    format!(" × {repeat}")
                } else {
                    String::new()
                };
                format!("write \"{shown}{more}\"{times} to fd {fd}")
            }
            Step::Close { fd } => format!("close fd {fd}"),
            Step::Expect { fd, pattern, .. } => format!("expect /{}/ on fd {fd}", pattern.as_str()),
            Step::Signal { signal } => format!("signal {}", signal.as_str()),
            Step::Sleep { duration } => format!("sleep {}s", duration.as_secs_f64()),
            Step::Exit { want, .. } => format!("exit {want}"),
        }
    }

    /// The fd an expect reads, if this step is one.
    pub fn expect_fd(&self) -> Option<i32> {
        match self {
            Step::Expect { fd, .. } => Some(*fd),
            _ => None,
        }
    }
}

/// A command's readiness: `ready = { expect = '…', fd = 1, timeout = 10 }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadySpec {
    /// The regex; its named groups are `${NAME.var}` for dependents.
    pub pattern: Pattern,
    /// The fd it watches.
    pub fd: i32,
    /// How long to wait.
    pub timeout: Duration,
}

/// Variables for `${var}` expansion: `var` from this script's matches, `NAME.var` from
/// the `ready` match of dependency NAME.
pub type Vars = BTreeMap<String, String>;

/// Why a `${…}` could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVar(pub String);

impl fmt::Display for UnknownVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown variable ${{{}}}", self.0)
    }
}

/// The `${name}` references of a text, in order (for the config's checks). `$${` is a
/// literal `${` and refers to nothing.
pub fn references(text: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    let _ = expand_with(text, |name| {
        names.push(name.to_owned());
        Some(String::new())
    });
    names
}

/// Expands `${var}` and `${NAME.var}` from `vars`; `$${` writes a literal `${`; any other
/// `$` passes through.
pub fn expand(text: &[u8], vars: &Vars) -> Result<Vec<u8>, UnknownVar> {
    expand_with(text, |name| vars.get(name).cloned())
}

fn expand_with(
    text: &[u8],
    mut lookup: impl FnMut(&str) -> Option<String>,
) -> Result<Vec<u8>, UnknownVar> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i..].starts_with(b"$${") {
            out.extend_from_slice(b"${");
            i += 3;
        } else if text[i..].starts_with(b"${") {
            match text[i + 2..].iter().position(|&b| b == b'}') {
                Some(len) => {
                    let name = String::from_utf8_lossy(&text[i + 2..i + 2 + len]).into_owned();
                    match lookup(&name) {
                        Some(value) => out.extend_from_slice(value.as_bytes()),
                        None => return Err(UnknownVar(name)),
                    }
                    i += 2 + len + 1;
                }
                None => {
                    out.extend_from_slice(&text[i..]);
                    break;
                }
            }
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// Expands the `${NAME.var}` of `vars` in a spec's args and env values (the variables of
/// its dependencies' `ready` matches); any other `$` text is left as it is.
pub fn expand_spec(spec: &crate::ProcessSpec, vars: &Vars) -> crate::ProcessSpec {
    use std::ffi::OsString;
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    if vars.is_empty() {
        return spec.clone();
    }
    let known = |text: &OsString| -> OsString {
        let bytes = text.as_bytes();
        let out = expand_with(bytes, |name| {
            Some(
                vars.get(name)
                    .cloned()
                    .unwrap_or_else(|| format!("${{{name}}}")),
            )
        });
        OsString::from_vec(out.unwrap_or_else(|_| bytes.to_vec()))
    };
    let mut spec = spec.clone();
    spec.args = spec.args.iter().map(known).collect();
    spec.env = spec
        .env
        .iter()
        .map(|(key, value)| (key.clone(), known(value)))
        .collect();
    spec
}

/// The named groups of a match as variables (`""` for a group that did not take part).
pub fn groups_of(regex: &Regex, captures: &regex::bytes::Captures<'_>) -> Groups {
    regex
        .capture_names()
        .flatten()
        .map(|name| {
            let text = captures
                .name(name)
                .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned())
                .unwrap_or_default();
            (name.to_owned(), text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_handles_vars_literals_and_unknowns() {
        let mut vars = Vars::new();
        vars.insert("port".into(), "4242".into());
        vars.insert("server.port".into(), "80".into());
        assert_eq!(
            expand(b"nc ${port} ${server.port} $HOME $${x}", &vars).unwrap(),
            b"nc 4242 80 $HOME ${x}"
        );
        assert_eq!(expand(b"${nope}", &vars), Err(UnknownVar("nope".into())));
        assert_eq!(references(b"a ${x} $${y} ${s.p}"), vec!["x", "s.p"]);
    }

    #[test]
    fn patterns_are_crlf_aware() {
        let p = Pattern::new("^1024$").unwrap();
        assert!(p.regex().is_match(b"2^10\r\n1024\r\n"));
        assert!(Pattern::new("(").is_err());
    }

    #[test]
    fn steps_describe_themselves() {
        let step = Step::Expect {
            fd: 1,
            pattern: Pattern::new("1024").unwrap(),
            timeout: DEFAULT_TIMEOUT,
        };
        assert_eq!(step.describe(), "expect /1024/ on fd 1");
        let write = Step::Write {
            fd: 0,
            data: b"2^10\n".to_vec(),
            repeat: 1,
        };
        assert_eq!(write.describe(), "write \"2^10\\n\" to fd 0");
        let long = Step::Write {
            fd: 3,
            data: vec![b'y'; SHOWN_WRITE + 1],
            repeat: 2,
        };
        let shown = "y".repeat(SHOWN_WRITE);
        assert_eq!(long.describe(), format!("write \"{shown}…\" × 2 to fd 3"));
        let whole = Step::Write {
            fd: 3,
            data: vec![b'y'; SHOWN_WRITE],
            repeat: 1,
        };
        assert_eq!(whole.describe(), format!("write \"{shown}\" to fd 3"));
        let others = [
            (Step::Close { fd: 0 }, "close fd 0"),
            (
                Step::Signal {
                    signal: Signal::SIGINT,
                },
                "signal SIGINT",
            ),
            (
                Step::Sleep {
                    duration: Duration::from_millis(1500),
                },
                "sleep 1.5s",
            ),
            (
                Step::Exit {
                    want: ExitWant::Code(3),
                    timeout: DEFAULT_TIMEOUT,
                },
                "exit 3",
            ),
            (
                Step::Exit {
                    want: ExitWant::Signal(Signal::SIGTERM),
                    timeout: DEFAULT_TIMEOUT,
                },
                "exit TERM",
            ),
        ];
        for (step, text) in others {
            assert_eq!(step.describe(), text);
        }
        assert_eq!(step.expect_fd(), Some(1));
        assert_eq!(write.expect_fd(), None);
    }

    #[test]
    fn patterns_compare_and_show_by_their_source() {
        let a = Pattern::new("a+").unwrap();
        assert_eq!(a, Pattern::new("a+").unwrap());
        assert_ne!(a, Pattern::new("a*").unwrap());
        assert_eq!(format!("{a:?}"), "/a+/");
        assert_eq!(
            UnknownVar("x.y".into()).to_string(),
            "unknown variable ${x.y}"
        );
    }
}
