//! `on_start`: what to do to a child as soon as it is started.

use super::fds::fd_value;
use super::reader::{list, Reader, Value};
use super::StartAction;
use crate::spawn::parse_signal;
use crate::ChildFd;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use toml::de::DeTable;

/// Upper bound on the bytes one `write` entry may produce (`write` × `repeat`): the data
/// is held in memory, and a typo in `repeat` should be an error, not an allocation failure.
pub(crate) const MAX_WRITE_BYTES: u64 = 64 << 20;

const WRITE_KEYS: &[&str] = &["write", "fd", "repeat"];
const CLOSE_KEYS: &[&str] = &["close"];
const SIGNAL_KEYS: &[&str] = &["signal", "after_ms"];
const KINDS: &[&str] = &["write", "close", "signal"];

/// One parsed entry, with the span to blame when its fd does not fit the fd map (the
/// `fd` value, or the entry when `fd` was left to its default).
pub(crate) struct Entry {
    pub(crate) action: StartAction,
    pub(crate) fd_span: Range<usize>,
}

/// Reads the `on_start` array; bad entries are reported and left out.
pub(crate) fn read(reader: &mut Reader, value: &Value<'_>) -> Vec<Entry> {
    let Some(array) = reader.array("`on_start`", value) else {
        return Vec::new();
    };
    array
        .iter()
        .filter_map(|item| {
            let table = reader.table("an `on_start` entry", item)?;
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
            format!("an `on_start` entry needs one of {}", list(KINDS)),
        );
        return None;
    };
    let kind: &str = kind_key.get_ref();
    for (extra, _) in &kinds[1..] {
        reader.error(
            extra.span(),
            format!(
                "an `on_start` entry has both `{kind}` and `{}`: use one entry per action",
                extra.get_ref()
            ),
        );
    }
    let allowed = match kind {
        "write" => WRITE_KEYS,
        "close" => CLOSE_KEYS,
        _ => SIGNAL_KEYS,
    };
    for (key, _) in table {
        if !allowed.contains(&key.get_ref().as_ref()) && !KINDS.contains(&key.get_ref().as_ref()) {
            reader.unknown_key(key, &format!("in a `{kind}` entry of `on_start`"), allowed);
        }
    }
    let field = |name: &str| table.get(name);
    let parsed = match kind {
        "write" => write_entry(reader, span, kind_value, field("fd"), field("repeat")),
        "close" => fd_value(reader, "`on_start` close", kind_value).map(|fd| Entry {
            action: StartAction::Close { fd },
            fd_span: kind_value.span(),
        }),
        _ => signal_entry(reader, kind_value, field("after_ms")),
    };
    (reader.count() == before).then_some(parsed).flatten()
}

fn write_entry(
    reader: &mut Reader,
    span: Range<usize>,
    text: &Value<'_>,
    fd: Option<&Value<'_>>,
    repeat: Option<&Value<'_>>,
) -> Option<Entry> {
    let text = reader.string("`write`", text);
    let (fd, fd_span) = match fd {
        Some(value) => (fd_value(reader, "`fd`", value), value.span()),
        None => (Some(0), span),
    };
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
                "`on_start` write of {total} bytes ({} × {repeat}) is above the limit of {MAX_WRITE_BYTES} bytes",
                text.len()
            ),
        );
        return None;
    }
    Some(Entry {
        action: StartAction::Write {
            fd,
            data: text.repeat(repeat as usize).into_bytes(),
        },
        fd_span,
    })
}

fn signal_entry(
    reader: &mut Reader,
    name: &Value<'_>,
    after_ms: Option<&Value<'_>>,
) -> Option<Entry> {
    let signal = reader.string("`signal`", name).and_then(|text| {
        let signal = parse_signal(&text);
        if signal.is_none() {
            reader.error(
                name.span(),
                format!("`on_start`: unknown signal {text:?}; expected a name such as TERM, INT, HUP, KILL, USR1 (SIG prefix optional) or a number"),
            );
        }
        signal
    });
    let after_ms = match after_ms {
        Some(value) => reader
            .integer("`after_ms`", value, 0, i128::from(u64::MAX))
            .map(|n| n as u64),
        None => Some(0),
    };
    Some(Entry {
        action: StartAction::Signal {
            after_ms: after_ms?,
            signal: signal?,
        },
        fd_span: name.span(),
    })
}

/// Checks each write and close against the child's fd map, in order: a write must go to
/// a write pipe (or fd 0 of a pty), a close must name a pipe (or fd 0 of a pty, which
/// types Ctrl-D and may be repeated), and a pipe cannot be used again once closed.
pub(crate) fn check(
    reader: &mut Reader,
    entries: &[Entry],
    fds: &BTreeMap<i32, ChildFd>,
    pty: bool,
) {
    let mut closed = BTreeSet::new();
    for entry in entries {
        let span = entry.fd_span.clone();
        let (verb, fd) = match entry.action {
            StartAction::Write { fd, .. } => ("writes to", fd),
            StartAction::Close { fd } => ("closes", fd),
            StartAction::Signal { .. } => continue,
        };
        let is_write = matches!(entry.action, StartAction::Write { .. });
        let problem = if pty && fd == 0 {
            // Closing fd 0 of a pty types Ctrl-D: the terminal stays open for more.
            None
        } else if closed.contains(&fd) {
            Some(format!(
                "`on_start` {verb} fd {fd} after an earlier entry closed it"
            ))
        } else if pty && crate::spawn::is_pty_fd(fd) {
            Some(format!(
                "`on_start` {verb} fd {fd}, which is the pty's output: with `pty`, only fd 0 (the terminal's input) can be written to or closed"
            ))
        } else {
            match fds.get(&fd) {
                None => Some(format!(
                    "`on_start` {verb} fd {fd}, which is not in the child's fd map"
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
                        "`on_start` {verb} fd {fd}, which is not {expected}: it is mapped to {mapped}"
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
}
