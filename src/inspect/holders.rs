//! Who holds a pipe: every process (but fdscope) with an fd on its inode.

use crate::transcript::Holder;
use procfs::process::FDTarget;
use procfs::ProcError;
use serde::Serialize;
use std::collections::BTreeSet;

/// The processes holding a pipe open.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Holders {
    /// Processes with an fd on the pipe, by pid.
    pub holders: Vec<Holder>,
    /// Processes whose fds could not be read (another user's, without privileges): one of
    /// them may hold the pipe too. Never guessed either way.
    pub unreadable: Vec<u32>,
}

/// Every process but fdscope holding an fd on the pipe `inode` (from `/proc/*/fd`).
/// Processes that vanish during the scan are skipped; unreadable ones are listed.
pub fn pipe_holders(inode: u64) -> Holders {
    pipes_holders(&[inode]).pop().unwrap_or_default()
}

/// [`pipe_holders`] for several inodes in one scan of `/proc` (same order as `inodes`).
pub fn pipes_holders(inodes: &[u64]) -> Vec<Holders> {
    let mut found: Vec<(BTreeSet<u32>, Vec<Holder>)> = inodes
        .iter()
        .map(|_| (BTreeSet::new(), Vec::new()))
        .collect();
    let mut unreadable = Vec::new();
    let me = std::process::id() as i32;
    let Ok(all) = procfs::process::all_processes() else {
        return inodes.iter().map(|_| Holders::default()).collect();
    };
    for process in all.flatten() {
        if process.pid == me {
            continue;
        }
        let fds = match process.fd() {
            Ok(fds) => fds,
            Err(ProcError::PermissionDenied(_)) => {
                unreadable.push(process.pid as u32);
                continue;
            }
            // Gone since the listing, or a kernel thread: holds nothing.
            Err(_) => continue,
        };
        let mut comm = None;
        for info in fds.flatten() {
            let FDTarget::Pipe(inode) = info.target else {
                continue;
            };
            for (index, wanted) in inodes.iter().enumerate() {
                let pid = process.pid as u32;
                if *wanted == inode && found[index].0.insert(pid) {
                    let comm = comm.get_or_insert_with(|| {
                        process
                            .stat()
                            .map(|s| s.comm)
                            .unwrap_or_else(|_| "?".into())
                    });
                    found[index].1.push(Holder {
                        pid,
                        comm: comm.clone(),
                    });
                }
            }
        }
    }
    found
        .into_iter()
        .map(|(_, mut holders)| {
            holders.sort_by_key(|h| h.pid);
            Holders {
                holders,
                unreadable: unreadable.clone(),
            }
        })
        .collect()
}
