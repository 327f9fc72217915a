//! Pipes held open after the child exited: the report, and `run`'s `held_open` note.

use super::holders::pipes_holders;
use super::{ChildInfo, HeldPipe};
use crate::transcript::Holder;

/// For each of fdscope's pipes of `child` still open, who holds it (one `/proc` scan).
pub fn held_pipes(child: &ChildInfo) -> Vec<HeldPipe> {
    let open: Vec<(i32, u64)> = child
        .pipe_inodes
        .iter()
        .filter(|(fd, _)| child.open_pipes.contains(fd))
        .map(|(fd, inode)| (*fd, *inode))
        .collect();
    let inodes: Vec<u64> = open.iter().map(|(_, inode)| *inode).collect();
    open.iter()
        .zip(pipes_holders(&inodes))
        .map(|((fd, _), found)| HeldPipe {
            fd: *fd,
            holders: found.holders,
            unreadable: found.unreadable,
        })
        .collect()
}

/// `pid 4242 (sleep), pid 4243 (cat)`.
pub fn holders_text(holders: &[Holder]) -> String {
    holders
        .iter()
        .map(|h| format!("pid {} ({})", h.pid, h.comm))
        .collect::<Vec<_>>()
        .join(", ")
}
