//! Instance ids for clients: `NAME#K` (K as the console numbers its instances, from 1 in
//! start order); `NAME` alone is its newest instance. A K is never reused, even after an ended
//! instance is removed from the list.

use crate::tui::state::App;
use std::collections::HashMap;

/// The ids given out so far.
#[derive(Debug, Default)]
pub struct Registry {
    /// Console instance id → (name, K).
    labels: HashMap<u64, (String, u32)>,
    /// Highest console instance id seen (instances are appended in id order).
    seen: u64,
}

impl Registry {
    /// Numbers the instances started since the last call.
    pub fn sync(&mut self, app: &App) {
        let seen = self.seen;
        for inst in app.procs.instances.iter().filter(|i| i.id > seen) {
            self.labels
                .insert(inst.id, (inst.name.clone(), inst.number));
            self.seen = self.seen.max(inst.id);
        }
    }

    /// The name and K of console instance `id`.
    pub fn number(&self, id: u64) -> Option<(&str, u32)> {
        self.labels.get(&id).map(|(name, k)| (name.as_str(), *k))
    }

    /// `NAME#K` of console instance `id`.
    pub fn label(&self, id: u64) -> Option<String> {
        self.labels.get(&id).map(|(name, k)| format!("{name}#{k}"))
    }

    /// The index in `app.procs.instances` of the instance a client names.
    pub fn resolve(&mut self, app: &App, text: &str) -> Result<usize, String> {
        self.sync(app);
        let found = match text.rsplit_once('#') {
            Some((name, k)) => {
                let k: u32 = k
                    .parse()
                    .map_err(|_| format!("bad instance id {text:?} (expected NAME#K)"))?;
                app.procs.instances.iter().position(|i| {
                    self.labels
                        .get(&i.id)
                        .is_some_and(|(n, kk)| n == name && *kk == k)
                })
            }
            None => app.procs.instances.iter().rposition(|i| i.name == text),
        };
        found.ok_or_else(|| {
            let name = text.rsplit_once('#').map_or(text, |(n, _)| n);
            if app.procs.commands.iter().any(|c| c.name == name) {
                format!("no instance {text}")
            } else {
                format!("no command or instance named {text:?}")
            }
        })
    }
}
