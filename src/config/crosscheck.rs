//! Checks across commands, once all are read: `depends_on` names and conditions,
//! dependency cycles, and `${NAME.var}` uses.

use super::command::Links;
use super::reader::Reader;
use crate::script::Condition;
use std::collections::BTreeMap;

/// Checks every command's links against the others; `links` is (name, links) per
/// command, in file order.
pub(crate) fn check(reader: &mut Reader, links: &[(String, Links)]) {
    let by_name: BTreeMap<&str, &Links> = links.iter().map(|(n, l)| (n.as_str(), l)).collect();
    for (name, own) in links {
        for dep in &own.deps {
            let Some(target) = by_name.get(dep.name.as_str()) else {
                let known: Vec<&str> = by_name.keys().copied().collect();
                reader.error(
                    dep.name_span.clone(),
                    format!(
                        "`depends_on`: no command `{}` (the config has: {})",
                        dep.name,
                        known.join(", ")
                    ),
                );
                continue;
            };
            if dep.name == *name {
                reader.error(
                    dep.name_span.clone(),
                    format!("`depends_on`: command `{name}` depends on itself"),
                );
                continue;
            }
            if dep.condition == Condition::Ready && target.ready_groups.is_none() {
                reader.error(
                    dep.condition_span.clone(),
                    format!(
                        "`depends_on`: `{}` has no `ready`, so it is never \"ready\" (give it `ready = {{ expect = '…' }}`, or use \"started\")",
                        dep.name
                    ),
                );
            }
        }
        for var in &own.refs {
            let (command, group) = var.name.split_once('.').unwrap_or((&var.name, ""));
            let ready_dep = own
                .deps
                .iter()
                .any(|d| d.name == command && d.condition == Condition::Ready);
            let problem = if !ready_dep {
                format!(
                    "${{{}}} needs `depends_on = {{ {command} = \"ready\" }}`: variables come from a dependency's `ready` match",
                    var.name
                )
            } else {
                match by_name.get(command).and_then(|t| t.ready_groups.as_ref()) {
                    Some(groups) if !groups.iter().any(|g| g == group) => format!(
                        "${{{}}} is an unknown variable: the `ready` regex of `{command}` has no named group (?P<{group}>…)",
                        var.name
                    ),
                    _ => continue,
                }
            };
            reader.error(var.span.clone(), problem);
        }
    }
    cycles(reader, links, &by_name);
}

/// Reports each dependency cycle once, at the `depends_on` entry that closes it.
fn cycles(reader: &mut Reader, links: &[(String, Links)], by_name: &BTreeMap<&str, &Links>) {
    // 0 unvisited, 1 on the path, 2 done.
    let mut state: BTreeMap<&str, u8> = BTreeMap::new();
    for (name, _) in links {
        let mut path = Vec::new();
        visit(reader, name, by_name, &mut state, &mut path);
    }
}

fn visit<'a>(
    reader: &mut Reader,
    name: &'a str,
    by_name: &BTreeMap<&'a str, &'a Links>,
    state: &mut BTreeMap<&'a str, u8>,
    path: &mut Vec<&'a str>,
) {
    if state.get(name).copied().unwrap_or(0) != 0 {
        return;
    }
    let Some(own) = by_name.get(name) else {
        return;
    };
    state.insert(name, 1);
    path.push(name);
    for dep in &own.deps {
        let Some((&target, _)) = by_name.get_key_value(dep.name.as_str()) else {
            continue;
        };
        if target == name {
            continue; // reported as depending on itself
        }
        match state.get(target).copied().unwrap_or(0) {
            1 => {
                let from = path.iter().position(|n| *n == target).unwrap_or(0);
                let mut cycle: Vec<&str> = path[from..].to_vec();
                cycle.push(target);
                reader.error(
                    dep.name_span.clone(),
                    format!("`depends_on`: dependency cycle {}", cycle.join(" → ")),
                );
            }
            0 => visit(reader, target, by_name, state, path),
            _ => {}
        }
    }
    path.pop();
    state.insert(name, 2);
}
