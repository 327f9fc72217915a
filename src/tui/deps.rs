//! Dependencies in the console: starting a command starts its missing dependencies
//! first; it waits (`waiting for server (ready)`) until each condition holds, then is
//! spawned with the `${NAME.var}` of their `ready` matches. Pure, like `update`.

use super::effect::Effect;
use super::state::{App, RunState};
use crate::config::CommandConfig;
use crate::script::{expand_spec, Condition, OnFailure, ScriptJob, Vars};
use crate::ProcessSpec;
use std::time::Instant;

/// Deepest chain of dependencies followed (the config check rules out cycles; this
/// guards configs built by hand).
const MAX_DEPTH: usize = 32;

/// What a waiting instance waits for, and what it will spawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Waiting {
    /// (instance id, command name, condition) of each dependency.
    pub on: Vec<(u64, String, Condition)>,
    /// The spec to spawn (pty already sized), before `${NAME.var}` expansion.
    pub spec: ProcessSpec,
}

/// The script job of a command, or `None` when it has neither script nor `ready`.
pub fn script_job(cmd: &CommandConfig, vars: Vars) -> Option<Box<ScriptJob>> {
    if cmd.script.is_empty() && cmd.ready.is_none() {
        return None;
    }
    Some(Box::new(ScriptJob {
        script: cmd.script.clone(),
        ready: cmd.ready.clone(),
        vars,
        on_failure: OnFailure::Keep,
    }))
}

type Starter = fn(&mut App, usize, Instant, &mut Vec<Effect>, usize) -> usize;

/// For each dependency of command `ci`: a live instance of it, or a new one started
/// with `start`. Returns what the new instance waits for.
pub fn start_dependencies(
    app: &mut App,
    ci: usize,
    now: Instant,
    fx: &mut Vec<Effect>,
    depth: usize,
    start: Starter,
) -> Vec<(u64, String, Condition)> {
    if depth >= MAX_DEPTH {
        return Vec::new();
    }
    let mut on = Vec::new();
    for (name, condition) in app.procs.commands[ci].depends_on.clone() {
        let Some(dci) = app.procs.commands.iter().position(|c| c.name == name) else {
            continue;
        };
        let live = app.procs.instances.iter().rposition(|i| {
            i.command == dci && !matches!(i.state, RunState::Ended(_) | RunState::Failed(_))
        });
        let dii = match live {
            Some(dii) => dii,
            None => start(app, dci, now, fx, depth + 1),
        };
        on.push((app.procs.instances[dii].id, name, condition));
    }
    on
}

enum Gate {
    Wait(String),
    Never(String),
    Go(Vars),
}

fn gate(app: &App, on: &[(u64, String, Condition)]) -> Gate {
    let mut vars = Vars::new();
    let mut waiting = Vec::new();
    for (id, name, condition) in on {
        let Some(dep) = app.index_of(*id).map(|i| &app.procs.instances[i]) else {
            return Gate::Never(format!("dependency {name} is gone"));
        };
        let started = dep.pid.is_some();
        let holds = match (&dep.state, condition) {
            (RunState::Failed(_), _) => Some(false),
            (RunState::Waiting(_), _) => None,
            (_, Condition::Started) => Some(started).filter(|s| *s),
            (_, Condition::Ready) if dep.ready_vars.is_some() => {
                for (k, v) in dep.ready_vars.iter().flatten() {
                    vars.insert(format!("{name}.{k}"), v.clone());
                }
                Some(true)
            }
            (RunState::Ended(_), Condition::Ready) => Some(false),
            (RunState::Ended(status), Condition::Succeeded) => Some(status.success()),
            (RunState::Ended(_), Condition::Ended) => Some(true),
            _ => None,
        };
        match holds {
            Some(true) => {}
            Some(false) => {
                return Gate::Never(format!(
                    "dependency {name} ended or failed before it was {condition}"
                ))
            }
            None => waiting.push(format!("{name} ({condition})")),
        }
    }
    if waiting.is_empty() {
        Gate::Go(vars)
    } else {
        Gate::Wait(format!("waiting for {}", waiting.join(", ")))
    }
}

/// Something changed (a start, a `ready`, an end): spawn the waiting instances whose
/// conditions now hold, fail those whose conditions never will.
pub fn on_change(app: &mut App, now: Instant, fx: &mut Vec<Effect>) {
    let _ = now;
    loop {
        let mut changed = false;
        for ii in 0..app.procs.instances.len() {
            let Some(waiting) = app.procs.instances[ii].waiting.clone() else {
                continue;
            };
            match gate(app, &waiting.on) {
                Gate::Wait(text) => app.procs.instances[ii].state = RunState::Waiting(text),
                Gate::Never(why) => {
                    let inst = &mut app.procs.instances[ii];
                    inst.waiting = None;
                    inst.state = RunState::Failed(why.clone());
                    app.view.status = format!("{}: {why}", inst.name);
                    changed = true;
                }
                Gate::Go(vars) => {
                    let cmd = &app.procs.commands[app.procs.instances[ii].command];
                    let spec = expand_spec(&waiting.spec, &vars);
                    let script = script_job(cmd, vars);
                    let inst = &mut app.procs.instances[ii];
                    inst.waiting = None;
                    inst.state = RunState::Running;
                    fx.push(Effect::Spawn {
                        id: inst.id,
                        name: inst.name.clone(),
                        spec,
                        script,
                    });
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
}
