//! [`Plan`]: which commands start, in which order, and when, from `depends_on`.

use crate::config::{CommandConfig, Config};
use std::collections::BTreeMap;
use std::fmt;

/// When a dependency lets its dependent start (`depends_on = { server = "ready" }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Condition {
    /// Once it was spawned.
    Started,
    /// Once its `ready` regex matched.
    Ready,
    /// Once it ended with exit code 0.
    Succeeded,
    /// Once it ended, however.
    Ended,
}

impl Condition {
    /// `started`, `ready`, `succeeded`, `ended`.
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Started => "started",
            Condition::Ready => "ready",
            Condition::Succeeded => "succeeded",
            Condition::Ended => "ended",
        }
    }

    /// Parses the config's word.
    pub fn parse(text: &str) -> Option<Condition> {
        Some(match text {
            "started" => Condition::Started,
            "ready" => Condition::Ready,
            "succeeded" => Condition::Succeeded,
            "ended" => Condition::Ended,
            _ => return None,
        })
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// No command of that name.
    Unknown(String),
    /// The commands depend on each other in a circle (names in order).
    Cycle(Vec<String>),
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::Unknown(name) => write!(f, "no command `{name}`"),
            PlanError::Cycle(names) => write!(f, "dependency cycle: {}", names.join(" → ")),
        }
    }
}

impl std::error::Error for PlanError {}

/// The commands to start for some named ones: their missing dependencies first
/// (transitively), each command once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Command names, every dependency before its dependents.
    pub order: Vec<String>,
    /// The names asked for (the others are there as dependencies).
    pub requested: Vec<String>,
}

impl Plan {
    /// Plans starting `names` of `config`.
    pub fn new(config: &Config, names: &[String]) -> Result<Plan, PlanError> {
        let mut order = Vec::new();
        let mut state: BTreeMap<&str, bool> = BTreeMap::new(); // false: in progress
        let mut path = Vec::new();
        for name in names {
            visit(config, name, &mut state, &mut path, &mut order)?;
        }
        Ok(Plan {
            order,
            requested: names.to_vec(),
        })
    }

    /// True if `name` was asked for, not only a dependency.
    pub fn is_requested(&self, name: &str) -> bool {
        self.requested.iter().any(|n| n == name)
    }
}

fn visit<'c>(
    config: &'c Config,
    name: &str,
    state: &mut BTreeMap<&'c str, bool>,
    path: &mut Vec<String>,
    order: &mut Vec<String>,
) -> Result<(), PlanError> {
    let command: &CommandConfig = config
        .command(name)
        .ok_or_else(|| PlanError::Unknown(name.to_owned()))?;
    match state.get(command.name.as_str()) {
        Some(true) => return Ok(()),
        Some(false) => {
            let from = path.iter().position(|n| n == name).unwrap_or(0);
            let mut cycle = path[from..].to_vec();
            cycle.push(name.to_owned());
            return Err(PlanError::Cycle(cycle));
        }
        None => {}
    }
    state.insert(&command.name, false);
    path.push(command.name.clone());
    for (dependency, _) in &command.depends_on {
        visit(config, dependency, state, path, order)?;
    }
    path.pop();
    state.insert(&command.name, true);
    order.push(command.name.clone());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_read_and_show_as_the_config_writes_them() {
        for word in ["started", "ready", "succeeded", "ended"] {
            let condition = Condition::parse(word).unwrap();
            assert_eq!(condition.as_str(), word);
            assert_eq!(condition.to_string(), word);
        }
        assert_eq!(Condition::parse("done"), None);
    }

    #[test]
    fn plan_errors_name_the_command_or_the_circle() {
        assert_eq!(
            PlanError::Unknown("db".into()).to_string(),
            "no command `db`"
        );
        let cycle = PlanError::Cycle(vec!["a".into(), "b".into(), "a".into()]);
        assert_eq!(cycle.to_string(), "dependency cycle: a → b → a");
    }

    #[test]
    fn a_circle_is_named_from_where_it_closes() {
        // x needs a, a needs b, b needs a: the circle is a → b → a, without x.
        let command = |name: &str, needs: &str| {
            let mut c = CommandConfig::new(name, crate::ProcessSpec::new("true"));
            c.depends_on = vec![(needs.to_owned(), Condition::Started)];
            c
        };
        let config = Config {
            commands: vec![command("x", "a"), command("a", "b"), command("b", "a")],
            console: Default::default(),
            log: Default::default(),
        };
        assert_eq!(
            Plan::new(&config, &["x".to_owned()]),
            Err(PlanError::Cycle(vec!["a".into(), "b".into(), "a".into()]))
        );
    }
}
