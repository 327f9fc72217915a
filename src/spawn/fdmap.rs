//! Checks a child fd map and turns it into a collision-safe plan for the child.

use super::spec::{is_pty_fd, ChildFd, ProcessSpec, MAX_CHILD_FD};
use nix::fcntl::{fcntl, FcntlArg};
use std::os::fd::{BorrowedFd, RawFd};

/// Why a map cannot be used.
pub fn validate(spec: &ProcessSpec) -> Result<(), String> {
    for (&fd, &what) in &spec.child_fds {
        if !(0..=MAX_CHILD_FD).contains(&fd) {
            return Err(format!("child fd {fd} is out of range 0..={MAX_CHILD_FD}"));
        }
        if spec.pty.is_some() && is_pty_fd(fd) {
            return Err(format!(
                "child fd {fd} is taken by the pty (fds 0, 1 and 2); map extra fds from 3 up"
            ));
        }
        if let ChildFd::Parent(parent) = what {
            if !parent_fd_is_open(parent) {
                return Err(format!(
                    "child fd {fd} maps parent fd {parent}, which is not open"
                ));
            }
        }
    }
    Ok(())
}

fn parent_fd_is_open(fd: RawFd) -> bool {
    if fd < 0 {
        return false;
    }
    // SAFETY: the fd is only used for the duration of this F_GETFD query; if it is not
    // open, fcntl answers EBADF, which is what we want to know.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    fcntl(borrowed, FcntlArg::F_GETFD).is_ok()
}

/// One `dup2` the child performs: its `target` fd becomes a copy of parent fd `source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    pub target: RawFd,
    pub source: RawFd,
}

/// The child's fd work, computed before fork so the child only reads it.
///
/// All assignments are applied as a parallel assignment: the child first copies every
/// source above `max_target` (so no `dup2` can clobber a source still needed), then
/// `dup2`s those copies into place. That handles any map, swaps included.
#[derive(Debug, Default)]
pub struct FdPlan {
    pub assignments: Vec<Assignment>,
    /// Parking place for the high copies, one per assignment (filled in the child).
    pub parked: Vec<RawFd>,
    /// Fds in `0..=max_target` that are not targets: the child closes them.
    pub to_close: Vec<RawFd>,
    /// Highest target fd (or -1 for an empty map).
    pub max_target: RawFd,
}

impl FdPlan {
    pub fn new(assignments: Vec<Assignment>) -> Self {
        let max_target = assignments.iter().map(|a| a.target).max().unwrap_or(-1);
        let to_close = (0..=max_target)
            .filter(|fd| !assignments.iter().any(|a| a.target == *fd))
            .collect();
        FdPlan {
            parked: vec![-1; assignments.len()],
            assignments,
            to_close,
            max_target,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spawn::spec::PtySize;

    #[test]
    fn plan_closes_every_gap_below_the_highest_target() {
        let plan = FdPlan::new(vec![
            Assignment {
                target: 0,
                source: 9,
            },
            Assignment {
                target: 4,
                source: 8,
            },
        ]);
        assert_eq!(plan.max_target, 4);
        assert_eq!(plan.to_close, vec![1, 2, 3]);
    }

    #[test]
    fn validate_rejects_std_fds_with_pty_and_closed_parent_fds() {
        let pty = ProcessSpec::new("sh")
            .pty(PtySize::default())
            .child_fd(1, ChildFd::Read);
        assert!(validate(&pty).unwrap_err().contains("taken by the pty"));
        let closed = ProcessSpec::new("sh").child_fd(3, ChildFd::Parent(987_654));
        assert!(validate(&closed).unwrap_err().contains("not open"));
        let negative = ProcessSpec::new("sh").child_fd(-1, ChildFd::Read);
        assert!(validate(&negative).is_err());
    }
}
