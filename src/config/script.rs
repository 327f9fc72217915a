//! `script`, `ready` and `depends_on` of a command: steps that drive the child, the match
//! that makes it ready, and the commands it waits for. Errors point at file:line:col.

use super::fds::fd_value;
use super::reader::{list, Reader, Value};
use crate::script::{references, Condition, ExitWant, Pattern, ReadySpec, Step, DEFAULT_TIMEOUT};
use crate::spawn::parse_signal;
use crate::ChildFd;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::time::Duration;
use toml::de::{DeTable, DeValue};

/// Upper bound on the bytes one `write` step may produce (`write` × `repeat`): the data
/// is held in memory, and a typo in `repeat` should be an error, not an allocation failure.
pub(crate) const MAX_WRITE_BYTES: u64 = 64 << 20;

/// Longest wait a config may ask for (a day): `Duration` must not overflow.
const MAX_SECONDS: f64 = 86_400.0;

const KINDS: &[&str] = &["write", "close", "expect", "signal", "sleep", "exit"];

fn keys_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "write" => &["write", "fd", "repeat"],
        "close" => &["close"],
        "expect" => &["expect", "fd", "timeout"],
        "signal" => &["signal"],
        "sleep" => &["sleep"],
        _ => &["exit", "timeout"],
    }
}

/// One parsed step with the spans to blame: its fd (or the step when `fd` was left to
/// its default) and, for a write, its text.
pub(crate) struct Entry {
    pub(crate) step: Step,
    pub(crate) fd_span: Range<usize>,
    pub(crate) span: Range<usize>,
}

/// A `${NAME.var}` (or `${var}`) found in a string of the config, with where it is.
#[derive(Debug, Clone)]
pub(crate) struct VarRef {
    pub(crate) name: String,
    pub(crate) span: Range<usize>,
}

/// Reads the `script` array; bad steps are reported and left out.
pub(crate) fn read(reader: &mut Reader, value: &Value<'_>) -> Vec<Entry> {
    let Some(array) = reader.array("`script`", value) else {
        return Vec::new();
    };
    array
        .iter()
        .filter_map(|item| {
            let table = reader.table("a `script` step", item)?;
            entry(reader, item.span(), table)
        })
        .collect()
}

fn entry(reader: &mut Reader, span: Range<usize>, table: &DeTable<'_>) -> Option<Entry> {
    let before = reader.count();
    let mut kinds = table
        .iter()
        .filter(|(key, _)| KINDS.contains(&key.get_ref().as_ref()))
        .collect::<Vec<_>>();
    kinds.sort_by_key(|(key, _)| key.span().start);
    let Some(&(kind_key, kind_value)) = kinds.first() else {
        reader.error(
            span,
            format!("a `script` step needs one of {}", list(KINDS)),
        );
        return None;
    };
    let kind: &str = kind_key.get_ref();
    for (extra, _) in &kinds[1..] {
        reader.error(
            extra.span(),
            format!(
                "a `script` step has both `{kind}` and `{}`: use one step per action",
                extra.get_ref()
            ),
        );
    }
    let allowed = keys_of(kind);
    for (key, _) in table {
        let name: &str = key.get_ref();
        if !allowed.contains(&name) && !KINDS.contains(&name) {
            reader.unknown_key(key, &format!("in a `{kind}` step of `script`"), allowed);
        }
    }
    let field = |name: &str| table.get(name);
    let fd_of = |reader: &mut Reader, default: i32| match field("fd") {
        Some(value) => (fd_value(reader, "`fd`", value), value.span()),
        None => (Some(default), span.clone()),
    };
    let timeout_of = |reader: &mut Reader| match field("timeout") {
        Some(value) => seconds(reader, "`timeout`", value, false),
        None => Some(DEFAULT_TIMEOUT),
    };
    let parsed = match kind {
        "write" => {
            let (fd, fd_span) = fd_of(reader, 0);
            write_step(reader, kind_value, fd, field("repeat")).map(|step| (step, fd_span))
        }
        "close" => fd_value(reader, "`script` close", kind_value)
            .map(|fd| (Step::Close { fd }, kind_value.span())),
        "expect" => {
            let (fd, fd_span) = fd_of(reader, 1);
            let pattern = regex(reader, "`expect`", kind_value);
            let timeout = timeout_of(reader);
            match (fd, pattern, timeout) {
                (Some(fd), Some(pattern), Some(timeout)) => Some((
                    Step::Expect {
                        fd,
                        pattern,
                        timeout,
                    },
                    fd_span,
                )),
                _ => None,
            }
        }
        "signal" => signal(reader, kind_value).map(|signal| (Step::Signal { signal }, 0..0)),
        "sleep" => seconds(reader, "`sleep`", kind_value, true)
            .map(|duration| (Step::Sleep { duration }, 0..0)),
        _ => {
            let want = exit_want(reader, kind_value);
            let timeout = timeout_of(reader);
            match (want, timeout) {
                (Some(want), Some(timeout)) => Some((Step::Exit { want, timeout }, 0..0)),
                _ => None,
            }
        }
    };
    let (step, fd_span) = parsed?;
    (reader.count() == before).then_some(Entry {
        step,
        fd_span,
        span: kind_value.span(),
    })
}

/// A regex, compiled as an expect compiles it; its error at the value.
pub(crate) fn regex(reader: &mut Reader, what: &str, value: &Value<'_>) -> Option<Pattern> {
    let source = reader.string(what, value)?;
    match Pattern::new(&source) {
        Ok(pattern) => Some(pattern),
        Err(error) => {
            let detail = error.to_string();
            let last = detail
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            reader.error(
                value.span(),
                format!("{what}: invalid regex /{source}/: {}", last.trim()),
            );
            None
        }
    }
}

/// Seconds as an integer or a float: > 0, or ≥ 0 when `zero_ok`.
pub(crate) fn seconds(
    reader: &mut Reader,
    what: &str,
    value: &Value<'_>,
    zero_ok: bool,
) -> Option<Duration> {
    let number = match value.get_ref() {
        DeValue::Integer(int) => i128::from_str_radix(int.as_str(), int.radix())
            .ok()
            .map(|n| n as f64),
        DeValue::Float(float) => float.as_str().replace('_', "").parse::<f64>().ok(),
        other => {
            reader.mismatch(what, "a number of seconds", other, value.span());
            return None;
        }
    };
    let bound = if zero_ok { "at least 0" } else { "more than 0" };
    match number {
        Some(n) if n.is_finite() && (n > 0.0 || (zero_ok && n == 0.0)) && n <= MAX_SECONDS => {
            Some(Duration::from_secs_f64(n))
        }
        _ => {
            reader.error(
                value.span(),
                format!(
                    "{what} must be a number of seconds {bound} and at most {MAX_SECONDS}, found {}",
                    super::reader::describe(value.get_ref())
                ),
            );
            None
        }
    }
}

fn write_step(
    reader: &mut Reader,
    text: &Value<'_>,
    fd: Option<i32>,
    repeat: Option<&Value<'_>>,
) -> Option<Step> {
    let text = reader.string("`write`", text);
    let repeat = match repeat {
        Some(value) => reader
            .integer("`repeat`", value, 1, i128::from(u32::MAX))
            .map(|n| (n as u64, value.span())),
        None => Some((1, 0..0)),
    };
    let (text, fd, (repeat, repeat_span)) = (text?, fd?, repeat?);
    let total = text.len() as u64 * repeat;
    if total > MAX_WRITE_BYTES {
        reader.error(
            repeat_span,
            format!(
                "`script` write of {total} bytes ({} × {repeat}) is above the limit of {MAX_WRITE_BYTES} bytes",
                text.len()
            ),
        );
        return None;
    }
    Some(Step::Write {
        fd,
        data: text.into_bytes(),
        repeat: repeat as u32,
    })
}

fn signal(reader: &mut Reader, name: &Value<'_>) -> Option<crate::Signal> {
    let text = reader.string("`signal`", name)?;
    let signal = parse_signal(&text);
    if signal.is_none() {
        reader.error(
            name.span(),
            format!("`script`: unknown signal {text:?}; expected a name such as TERM, INT, HUP, KILL, USR1 (SIG prefix optional) or a number"),
        );
    }
    signal
}

fn exit_want(reader: &mut Reader, value: &Value<'_>) -> Option<ExitWant> {
    match value.get_ref() {
        DeValue::String(_) => signal(reader, value).map(ExitWant::Signal),
        DeValue::Integer(_) => reader
            .integer("`exit`", value, 0, 255)
            .map(|code| ExitWant::Code(code as i32)),
        other => {
            reader.mismatch(
                "`exit`",
                "an exit code (0 to 255) or a signal name",
                other,
                value.span(),
            );
            None
        }
    }
}

/// Whether the parent reads child fd `fd` (an expect can watch it).
fn readable(fd: i32, fds: &BTreeMap<i32, ChildFd>, pty: bool) -> Result<(), String> {
    if pty && fd == 1 {
        return Ok(());
    }
    if pty && fd <= 2 {
        return Err(format!(
            "fd {fd} is part of the pty: its output is read as fd 1"
        ));
    }
    match fds.get(&fd) {
        Some(ChildFd::Read) => Ok(()),
        None => Err(format!("fd {fd}, which is not in the child's fd map")),
        Some(ChildFd::Parent(n)) => Err(format!(
            "fd {fd}, which fdscope does not read: it is mapped to parent fd {n}"
        )),
        Some(other) => Err(format!(
            "fd {fd}, which fdscope does not read: it is mapped to \"{other}\""
        )),
    }
}

/// Checks the steps against the child's fd map, in order: a write goes to a write pipe
/// (or fd 0 of a pty), a close names a pipe (or fd 0 of a pty, which types Ctrl-D and
/// may be repeated) not closed before, an expect reads a fd fdscope reads, `exit` comes
/// once, and every `${var}` of a write is defined by an earlier expect's named group (or
/// is `${NAME.var}`, returned for the check against `depends_on`).
pub(crate) fn check(
    reader: &mut Reader,
    entries: &[Entry],
    fds: &BTreeMap<i32, ChildFd>,
    pty: bool,
    fds_ok: bool,
) -> Vec<VarRef> {
    let mut closed = BTreeSet::new();
    let mut defined = BTreeSet::new();
    let mut foreign = Vec::new();
    let mut exit_seen = false;
    for entry in entries {
        let span = entry.fd_span.clone();
        let (verb, fd, is_write) = match &entry.step {
            Step::Write { fd, data, .. } => {
                for name in references(data) {
                    if name.contains('.') {
                        foreign.push(VarRef {
                            name,
                            span: entry.span.clone(),
                        });
                    } else if !defined.contains(&name) {
                        reader.error(
                            entry.span.clone(),
                            format!("`script` writes ${{{name}}}, an unknown variable: no earlier expect has a named group (?P<{name}>…) (write $${{ for a literal ${{)"),
                        );
                    }
                }
                ("writes to", *fd, true)
            }
            Step::Close { fd } => ("closes", *fd, false),
            Step::Expect { fd, pattern, .. } => {
                if fds_ok {
                    if let Err(why) = readable(*fd, fds, pty) {
                        reader.error(span, format!("`script` expects on {why}"));
                    }
                }
                defined.extend(pattern.group_names().map(str::to_owned));
                continue;
            }
            Step::Exit { .. } => {
                if exit_seen {
                    reader.error(
                        entry.span.clone(),
                        "`script` has `exit` twice: the process exits once",
                    );
                }
                exit_seen = true;
                continue;
            }
            Step::Signal { .. } | Step::Sleep { .. } => continue,
        };
        if !fds_ok {
            continue;
        }
        let problem = if pty && fd == 0 {
            // Closing fd 0 of a pty types Ctrl-D: the terminal stays open for more.
            None
        } else if closed.contains(&fd) {
            Some(format!(
                "`script` {verb} fd {fd} after an earlier step closed it"
            ))
        } else if pty && fd <= 2 {
            Some(format!(
                "`script` {verb} fd {fd}, which is the pty's output: with `pty`, only fd 0 (the terminal's input) can be written to or closed"
            ))
        } else {
            match fds.get(&fd) {
                None => Some(format!(
                    "`script` {verb} fd {fd}, which is not in the child's fd map"
                )),
                Some(ChildFd::Write) => None,
                Some(ChildFd::Read) if !is_write => None,
                Some(what) => {
                    let expected = if is_write {
                        "a write pipe (\"w\")"
                    } else {
                        "a pipe"
                    };
                    let mapped = match what {
                        ChildFd::Parent(n) => format!("parent fd {n}"),
                        other => format!("\"{other}\""),
                    };
                    Some(format!(
                        "`script` {verb} fd {fd}, which is not {expected}: it is mapped to {mapped}"
                    ))
                }
            }
        };
        match problem {
            Some(message) => reader.error(span, message),
            None if !is_write => {
                closed.insert(fd);
            }
            None => {}
        }
    }
    foreign
}

/// Reads `ready = { expect = '…', fd = 1, timeout = 10 }`.
pub(crate) fn read_ready(
    reader: &mut Reader,
    value: &Value<'_>,
    fds: &BTreeMap<i32, ChildFd>,
    pty: bool,
    fds_ok: bool,
) -> Option<ReadySpec> {
    const KEYS: &[&str] = &["expect", "fd", "timeout"];
    let table = reader.table("`ready`", value)?;
    let before = reader.count();
    for (key, _) in table {
        if !KEYS.contains(&key.get_ref().as_ref()) {
            reader.unknown_key(key, "in `ready`", KEYS);
        }
    }
    let pattern = match table.get("expect") {
        Some(value) => regex(reader, "`ready.expect`", value),
        None => {
            reader.error(value.span(), "`ready` needs `expect = 'REGEX'`");
            None
        }
    };
    let fd = match table.get("fd") {
        Some(value) => {
            let fd = fd_value(reader, "`ready.fd`", value);
            if let (Some(fd), true) = (fd, fds_ok) {
                if let Err(why) = readable(fd, fds, pty) {
                    reader.error(value.span(), format!("`ready` expects on {why}"));
                }
            }
            fd
        }
        None => Some(1),
    };
    let timeout = match table.get("timeout") {
        Some(value) => seconds(reader, "`ready.timeout`", value, false),
        None => Some(DEFAULT_TIMEOUT),
    };
    if reader.count() != before {
        return None;
    }
    Some(ReadySpec {
        pattern: pattern?,
        fd: fd?,
        timeout: timeout?,
    })
}

/// One `depends_on` entry: the dependency's name and condition, with their spans.
pub(crate) struct Dependency {
    pub(crate) name: String,
    pub(crate) condition: Condition,
    pub(crate) name_span: Range<usize>,
    pub(crate) condition_span: Range<usize>,
}

/// Reads `depends_on = { server = "ready" }`.
pub(crate) fn read_depends_on(reader: &mut Reader, value: &Value<'_>) -> Vec<Dependency> {
    const WORDS: &[&str] = &["started", "ready", "succeeded", "ended"];
    let Some(table) = reader.table("`depends_on`", value) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in table {
        let Some(word) = reader.string(&format!("`depends_on.{}`", key.get_ref()), value) else {
            continue;
        };
        match Condition::parse(&word) {
            Some(condition) => out.push(Dependency {
                name: key.get_ref().to_string(),
                condition,
                name_span: key.span(),
                condition_span: value.span(),
            }),
            None => reader.error(
                value.span(),
                format!(
                    "`depends_on`: unknown condition {word:?}; expected {}",
                    list(WORDS)
                ),
            ),
        }
    }
    out
}

/// The `${NAME.var}` references of an args or env string (others pass through there).
pub(crate) fn dotted_refs(text: &str, span: Range<usize>) -> Vec<VarRef> {
    references(text.as_bytes())
        .into_iter()
        .filter(|name| name.contains('.'))
        .map(|name| VarRef {
            name,
            span: span.clone(),
        })
        .collect()
}
