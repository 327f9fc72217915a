//! One `[[command]]` table -> a [`CommandConfig`].

use super::fds::{child_fd_value, fd_key};
use super::reader::{Key, Reader, Value};
use super::script::{self, Dependency, VarRef};
use super::CommandConfig;
use crate::{ChildFd, ProcessSpec, PtySize};
use std::collections::BTreeMap;
use std::ops::Range;
use toml::de::{DeTable, DeValue};

/// Every key a `[[command]]` table may have.
pub(crate) const KEYS: &[&str] = &[
    "name",
    "program",
    "args",
    "env",
    "inherit_env",
    "cwd",
    "uid",
    "gid",
    "pty",
    "child_fds",
    "labels",
    "description",
    "script",
    "ready",
    "depends_on",
    "autostart",
    "log_dir",
];

/// What reading one command gave: its name (when readable, for the duplicate check, even
/// if the rest is broken) and the command itself when it had no problem at all.
pub(crate) struct ReadCommand {
    pub(crate) name: Option<(String, Range<usize>)>,
    pub(crate) command: Option<CommandConfig>,
    /// Its `log_dir`, if it has one.
    pub(crate) log_dir: Option<std::path::PathBuf>,
    /// What the checks across commands need: `depends_on`, `${NAME.var}` uses, `ready`.
    pub(crate) links: Links,
}

/// A command's references to other commands, checked once every command is read.
#[derive(Default)]
pub(crate) struct Links {
    pub(crate) deps: Vec<Dependency>,
    pub(crate) refs: Vec<VarRef>,
    /// The named groups of its `ready` regex, when it has a (valid) `ready`.
    pub(crate) ready_groups: Option<Vec<String>>,
}

/// Reads one command; `span` is its `[[command]]` header (or inline table).
pub(crate) fn read(reader: &mut Reader, span: Range<usize>, table: &DeTable<'_>) -> ReadCommand {
    let before = reader.count();
    for (key, _) in table {
        if !KEYS.contains(&key.get_ref().as_ref()) {
            reader.unknown_key(key, "in [[command]]", KEYS);
        }
    }
    let field = |name: &str| table.get(name);

    let name = field("name").and_then(|value| {
        let name = reader.string("`name`", value)?;
        if name.trim().is_empty() {
            reader.error(value.span(), "`name` must not be empty");
            return None;
        }
        Some((name, value.span()))
    });
    if field("name").is_none() {
        reader.error(span.clone(), "[[command]] has no `name`");
    }

    let program = match field("program") {
        Some(value) => reader.c_string("`program`", value).and_then(|program| {
            if program.is_empty() {
                reader.error(value.span(), "`program` must not be empty");
                return None;
            }
            Some(program)
        }),
        None => {
            let who = name
                .as_ref()
                .map_or("[[command]]".to_owned(), |(n, _)| format!("command `{n}`"));
            reader.error(span.clone(), format!("{who} has no `program`"));
            None
        }
    };

    let args = field("args").and_then(|value| read_args(reader, value));
    let env = field("env").map(|value| read_env(reader, value));
    let inherit_env = field("inherit_env").and_then(|v| reader.boolean("`inherit_env`", v));
    let cwd = field("cwd").and_then(|value| {
        let cwd = reader.c_string("`cwd`", value)?;
        if cwd.is_empty() {
            reader.error(value.span(), "`cwd` must not be empty");
            return None;
        }
        Some(cwd)
    });
    let max_id = i128::from(u32::MAX);
    let uid = field("uid").and_then(|v| reader.integer("`uid`", v, 0, max_id));
    let gid = field("gid").and_then(|v| reader.integer("`gid`", v, 0, max_id));
    let pty = field("pty").and_then(|value| read_pty(reader, value));
    let description = field("description").and_then(|v| reader.string("`description`", v));
    let autostart = field("autostart").and_then(|v| reader.boolean("`autostart`", v));
    let log_dir = field("log_dir").and_then(|v| super::read_log_dir(reader, v));

    // The fd map, then what refers to it: labels, script and ready.
    let is_pty = matches!(pty, Some(Some(_)));
    let fds_before = reader.count();
    let explicit_fds = field("child_fds").map(|value| read_child_fds(reader, value, is_pty));
    let fds_ok = reader.count() == fds_before;
    let fds = match &explicit_fds {
        Some(map) => map.clone(),
        None if is_pty => BTreeMap::new(),
        None => ProcessSpec::default_child_fds(),
    };
    let labels = field("labels")
        .map(|value| read_labels(reader, value, &fds, is_pty, fds_ok))
        .unwrap_or_default();
    let steps = field("script")
        .map(|value| script::read(reader, value))
        .unwrap_or_default();
    let mut refs = script::check(reader, &steps, &fds, is_pty, fds_ok);
    let ready =
        field("ready").and_then(|value| script::read_ready(reader, value, &fds, is_pty, fds_ok));
    let deps = field("depends_on")
        .map(|value| script::read_depends_on(reader, value))
        .unwrap_or_default();
    if let Some(DeValue::Array(array)) = field("args").map(|v| v.get_ref()) {
        for arg in array {
            if let DeValue::String(text) = arg.get_ref() {
                refs.extend(script::dotted_refs(text, arg.span()));
            }
        }
    }
    if let Some(DeValue::Table(table)) = field("env").map(|v| v.get_ref()) {
        for (_, value) in table {
            if let DeValue::String(text) = value.get_ref() {
                refs.extend(script::dotted_refs(text, value.span()));
            }
        }
    }
    let links = Links {
        ready_groups: ready
            .as_ref()
            .map(|r| r.pattern.group_names().map(str::to_owned).collect()),
        deps,
        refs,
    };

    let command = if reader.count() != before {
        None
    } else {
        // Every field was read without a problem, so every `Option` read from a present
        // key is `Some` here; missing keys take their defaults.
        let (Some((name, _)), Some(program)) = (name.clone(), program) else {
            return ReadCommand {
                name,
                command: None,
                log_dir,
                links,
            };
        };
        let mut spec = ProcessSpec::new(program.clone())
            .args(args.unwrap_or_else(|| vec![program]))
            .inherit_env(inherit_env.unwrap_or(false));
        for (key, value) in env.into_iter().flatten().flatten() {
            spec = spec.env(key, value);
        }
        if let Some(cwd) = cwd {
            spec = spec.cwd(cwd);
        }
        if let Some(uid) = uid {
            spec = spec.uid(uid as u32);
        }
        if let Some(gid) = gid {
            spec = spec.gid(gid as u32);
        }
        if let Some(map) = explicit_fds {
            spec = spec.child_fds(map);
        }
        if let Some(Some(size)) = pty {
            spec = spec.pty(size);
        }
        Some(CommandConfig {
            name,
            spec,
            script: steps.into_iter().map(|entry| entry.step).collect(),
            ready,
            depends_on: links
                .deps
                .iter()
                .map(|d| (d.name.clone(), d.condition))
                .collect(),
            autostart: autostart.unwrap_or(false),
            labels,
            description,
        })
    };
    ReadCommand {
        name,
        command,
        log_dir,
        links,
    }
}

fn read_args(reader: &mut Reader, value: &Value<'_>) -> Option<Vec<String>> {
    let array = reader.array("`args`", value)?;
    if array.is_empty() {
        reader.error(
            value.span(),
            "`args` must not be empty: args[0] is the process name (leave `args` out for [program])",
        );
        return None;
    }
    let before = reader.count();
    let args: Vec<String> = array
        .iter()
        .enumerate()
        .filter_map(|(i, arg)| reader.c_string(&format!("`args[{i}]`"), arg))
        .collect();
    (reader.count() == before).then_some(args)
}

fn read_env(reader: &mut Reader, value: &Value<'_>) -> Option<Vec<(String, String)>> {
    let table = reader.table("`env`", value)?;
    let before = reader.count();
    let mut env = Vec::new();
    for (key, value) in table {
        let name: &str = key.get_ref();
        if name.is_empty() || name.contains('=') || name.contains('\0') {
            reader.error(
                key.span(),
                format!("`env`: {name:?} is not a valid variable name (it must be non-empty, without `=` or NUL)"),
            );
            continue;
        }
        if let Some(text) = reader.c_string(&format!("`env.{name}`"), value) {
            env.push((name.to_owned(), text));
        }
    }
    (reader.count() == before).then_some(env)
}

/// `Some(None)` for `pty = false`, `Some(Some(size))` for a pty, `None` on error.
fn read_pty(reader: &mut Reader, value: &Value<'_>) -> Option<Option<PtySize>> {
    const EXPECTED: &str = "true, false or a table { rows = N, cols = N }";
    match value.get_ref() {
        DeValue::Boolean(false) => Some(None),
        DeValue::Boolean(true) => Some(Some(PtySize::default())),
        DeValue::Table(table) => {
            let before = reader.count();
            for (key, _) in table {
                if !["rows", "cols"].contains(&key.get_ref().as_ref()) {
                    reader.unknown_key(key, "in `pty`", &["rows", "cols"]);
                }
            }
            let mut size = PtySize::default();
            let max = i128::from(u16::MAX);
            if let Some(rows) = table.get("rows") {
                size.rows = reader.integer("`pty.rows`", rows, 1, max).unwrap_or(0) as u16;
            }
            if let Some(cols) = table.get("cols") {
                size.cols = reader.integer("`pty.cols`", cols, 1, max).unwrap_or(0) as u16;
            }
            (reader.count() == before).then_some(Some(size))
        }
        other => {
            reader.mismatch("`pty`", EXPECTED, other, value.span());
            None
        }
    }
}

fn read_child_fds(reader: &mut Reader, value: &Value<'_>, pty: bool) -> BTreeMap<i32, ChildFd> {
    let mut map = BTreeMap::new();
    let Some(table) = reader.table("`child_fds`", value) else {
        return map;
    };
    let mut seen: BTreeMap<i32, &Key<'_>> = BTreeMap::new();
    for (key, value) in table {
        let Some(fd) = fd_key(reader, "child_fds", key) else {
            continue;
        };
        if let Some(first) = seen.insert(fd, key) {
            reader.error(
                key.span(),
                format!(
                    "`child_fds`: fd {fd} is mapped twice (`{}` and `{}`)",
                    first.get_ref(),
                    key.get_ref()
                ),
            );
            continue;
        }
        if pty && crate::spawn::is_pty_fd(fd) {
            reader.error(
                key.span(),
                format!("`child_fds`: fd {fd} cannot be mapped with `pty`: the pty is the child's fds 0, 1 and 2; map extra fds from 3 up"),
            );
            continue;
        }
        if let Some(what) = child_fd_value(reader, fd, value) {
            map.insert(fd, what);
        }
    }
    map
}

fn read_labels(
    reader: &mut Reader,
    value: &Value<'_>,
    fds: &BTreeMap<i32, ChildFd>,
    pty: bool,
    check_fds: bool,
) -> BTreeMap<i32, String> {
    let mut labels = BTreeMap::new();
    let Some(table) = reader.table("`labels`", value) else {
        return labels;
    };
    for (key, value) in table {
        let Some(fd) = fd_key(reader, "labels", key) else {
            continue;
        };
        let Some(label) = reader.string(&format!("`labels` fd {fd}"), value) else {
            continue;
        };
        if label.trim().is_empty() {
            reader.error(
                value.span(),
                format!("`labels`: the label of fd {fd} is empty"),
            );
            continue;
        }
        let exists = fds.contains_key(&fd) || (pty && crate::spawn::is_pty_fd(fd));
        if check_fds && !exists {
            reader.error(
                key.span(),
                format!("`labels`: fd {fd} is not in the child's fd map"),
            );
            continue;
        }
        if labels.insert(fd, label).is_some() {
            reader.error(key.span(), format!("`labels`: fd {fd} is labelled twice"));
        }
    }
    labels
}
