//! The code that runs in the child between `clone` and `exec`.
//!
//! The child is started with `clone(CLONE_VM | CLONE_VFORK)`, as glibc's `posix_spawn`
//! does: it runs on a small stack of its own in the parent's memory while the parent waits
//! for its exec. So everything here is async-signal-safe: the parent prepared every
//! string, pointer array and fd number (`ExecPlan`) before; the child only makes raw
//! syscalls on that memory — no allocation, no locks, no std I/O — and reports a failure
//! as (stage, errno) in the parent's memory ([`Failure`]) before `_exit(127)`.

use super::fdmap::FdPlan;
use std::ffi::{c_char, CString};

/// Where in the child's setup a failure happened; sent to the parent with the errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Stage {
    Fds = 1,
    Session = 2,
    Chdir = 3,
    Groups = 4,
    Gid = 5,
    Uid = 6,
    Exec = 7,
}

impl Stage {
    pub fn from_code(code: i32) -> Option<Stage> {
        [
            Stage::Fds,
            Stage::Session,
            Stage::Chdir,
            Stage::Groups,
            Stage::Gid,
            Stage::Uid,
            Stage::Exec,
        ]
        .into_iter()
        .find(|s| *s as i32 == code)
    }
}

/// Where the child leaves (stage, errno) when it cannot exec; (0, 0) means it exec'd.
pub type Failure = [i32; 2];

/// Everything the child needs, built in the parent.
pub struct ExecPlan {
    pub fds: FdPlan,
    /// Paths to try, in order (the `PATH` search done ahead of time).
    pub candidates: Vec<CString>,
    pub argv: NulTerminated,
    pub envp: NulTerminated,
    /// `["/bin/sh", <candidate>, argv[1..]…, NULL]`, for scripts without `#!` (as execvp).
    pub sh_argv: Vec<*const c_char>,
    pub cwd: Option<CString>,
    /// Reduce supplementary groups to this one gid (only possible, and only done, as root).
    pub set_groups: Option<libc::gid_t>,
    pub gid: Option<libc::gid_t>,
    pub uid: Option<libc::uid_t>,
    /// Become a session leader with fd 0 (the pty slave) as controlling terminal.
    pub controlling_tty: bool,
    pub empty_mask: libc::sigset_t,
}

/// A C array of strings ending in NULL, with the strings it points into.
pub struct NulTerminated {
    _strings: Vec<CString>,
    pub ptrs: Vec<*const c_char>,
}

impl NulTerminated {
    pub fn new(strings: Vec<CString>) -> Self {
        let mut ptrs: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        NulTerminated {
            _strings: strings,
            ptrs,
        }
    }
}

const SH: &std::ffi::CStr = c"/bin/sh";

/// Sets up the child and execs; only returns by `_exit`.
///
/// Called in the child right after `clone`; `plan` is the parent's (the parent is
/// suspended until the exec), `status` where a failure is reported.
pub fn exec_child(plan: &mut ExecPlan, status: *mut Failure) -> ! {
    setup_fds(plan, status);
    reset_signals(plan);
    if plan.controlling_tty {
        // SAFETY: setsid and TIOCSCTTY take no pointers; fd 0 is the pty slave by now.
        let ok = unsafe { libc::setsid() >= 0 && libc::ioctl(0, libc::TIOCSCTTY, 0) >= 0 };
        if !ok {
            fail(status, Stage::Session);
        }
    }
    if let Some(dir) = &plan.cwd {
        // SAFETY: `dir` is a NUL-terminated string prepared by the parent.
        if unsafe { libc::chdir(dir.as_ptr()) } < 0 {
            fail(status, Stage::Chdir);
        }
    }
    switch_identity(plan, status);
    exec(plan, status)
}

fn setup_fds(plan: &mut ExecPlan, status: *mut Failure) {
    let fds = &mut plan.fds;
    let high = fds.max_target + 1;
    // Park every source above the highest target first: a later dup2 can then never
    // overwrite a source that another assignment still needs.
    for (parked, a) in fds.parked.iter_mut().zip(&fds.assignments) {
        // SAFETY: fcntl(F_DUPFD_CLOEXEC) on an fd number; no memory is passed.
        *parked = unsafe { libc::fcntl(a.source, libc::F_DUPFD_CLOEXEC, high) };
        if *parked < 0 {
            fail(status, Stage::Fds);
        }
    }
    for (parked, a) in fds.parked.iter().zip(&fds.assignments) {
        // SAFETY: dup2 on fd numbers; the result is inheritable (no CLOEXEC), as wanted.
        if unsafe { libc::dup2(*parked, a.target) } < 0 {
            fail(status, Stage::Fds);
        }
    }
    for fd in &fds.to_close {
        // SAFETY: closing fd numbers the child must not keep; EBADF is fine.
        unsafe { libc::close(*fd) };
    }
    // Everything above the targets (the parent's other fds, our parked copies) is marked
    // close-on-exec: exec drops it.
    // SAFETY: close_range takes integers only.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            high as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if rc < 0 {
        fail(status, Stage::Fds);
    }
}

/// Highest signal number of the kernel (`_NSIG` on Linux): signals 1..=64.
const LAST_SIGNAL: libc::c_int = 64;

fn reset_signals(plan: &ExecPlan) {
    // The parent may ignore signals (SIGPIPE always, SIGINT under nohup, others inherited
    // from whoever started it); exec keeps ignored dispositions, so put every one back
    // to default. This goes straight to the kernel: glibc's sigaction refuses the
    // signals it reserves for itself (32 and 33), which can be inherited as ignored too,
    // and the last real-time signal (64) counts as well. Errors (SIGKILL, SIGSTOP) are
    // expected and harmless. An all-zero kernel `struct sigaction` is SIG_DFL with no
    // flags and an empty mask whatever the architecture's field order; the buffer is
    // larger than any layout of it.
    let default_action = [0u64; 8];
    for sig in 1..=LAST_SIGNAL {
        // SAFETY: rt_sigaction reads one kernel sigaction from a live, zeroed buffer of
        // sufficient size; the old action is not asked for; 8 is the kernel's sigset size.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                default_action.as_ptr(),
                std::ptr::null_mut::<u64>(),
                8usize,
            )
        };
    }
    // SAFETY: the mask was built (empty) by the parent; the parent blocked all signals
    // around fork, and this lifts that for the new program.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &plan.empty_mask, std::ptr::null_mut()) };
}

fn switch_identity(plan: &ExecPlan, status: *mut Failure) {
    // Group before user: after setuid we would no longer be allowed to change groups.
    if let Some(group) = plan.set_groups {
        let groups = [group];
        // SAFETY: one gid read from a local array.
        if unsafe { libc::setgroups(1, groups.as_ptr()) } < 0 {
            fail(status, Stage::Groups);
        }
    }
    if let Some(gid) = plan.gid {
        // SAFETY: integer argument.
        if unsafe { libc::setgid(gid) } < 0 {
            fail(status, Stage::Gid);
        }
    }
    if let Some(uid) = plan.uid {
        // SAFETY: integer argument.
        if unsafe { libc::setuid(uid) } < 0 {
            fail(status, Stage::Uid);
        }
    }
}

fn exec(plan: &mut ExecPlan, status: *mut Failure) -> ! {
    let mut error = libc::ENOENT;
    let mut saw_eacces = false;
    for candidate in &plan.candidates {
        let mut e = execve(
            candidate.as_ptr(),
            plan.argv.ptrs.as_ptr(),
            plan.envp.ptrs.as_ptr(),
        );
        if e == libc::ENOEXEC {
            // A script without `#!`: run it with /bin/sh, as execvp does.
            plan.sh_argv[1] = candidate.as_ptr();
            e = execve(SH.as_ptr(), plan.sh_argv.as_ptr(), plan.envp.ptrs.as_ptr());
        }
        match e {
            libc::EACCES => saw_eacces = true,
            libc::ENOENT | libc::ENOTDIR | libc::ESTALE | libc::ENODEV | libc::ETIMEDOUT => {}
            other => {
                error = other;
                break;
            }
        }
        error = e;
    }
    if saw_eacces && error != libc::EACCES && matches!(error, libc::ENOENT | libc::ENOTDIR) {
        error = libc::EACCES;
    }
    report(status, Stage::Exec, error)
}

/// `execve`, retried for a while on ETXTBSY; returns the errno when it fails.
///
/// ETXTBSY means some process holds the file open for writing. In a multi-threaded parent
/// that is often a sibling child forked by another thread just while this thread had a
/// freshly written script open: the sibling's copy of that fd goes away at its own exec,
/// microseconds later. Retrying (about a second in all) rides that out.
fn execve(path: *const c_char, argv: *const *const c_char, envp: *const *const c_char) -> i32 {
    let mut pause_ns: libc::c_long = 1_000_000;
    for _ in 0..12 {
        // SAFETY: path, argv and envp are NUL-terminated strings and NULL-terminated
        // arrays that live in the plan; execve only returns on failure.
        unsafe { libc::execve(path, argv, envp) };
        let e = errno();
        if e != libc::ETXTBSY {
            return e;
        }
        let pause = libc::timespec {
            tv_sec: 0,
            tv_nsec: pause_ns,
        };
        // SAFETY: nanosleep reads one timespec from the stack; it is async-signal-safe.
        unsafe { libc::nanosleep(&pause, std::ptr::null_mut()) };
        pause_ns = (pause_ns * 2).min(200_000_000);
    }
    libc::ETXTBSY
}

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

fn fail(status: *mut Failure, stage: Stage) -> ! {
    report(status, stage, errno())
}

fn report(status: *mut Failure, stage: Stage, error: i32) -> ! {
    // SAFETY: `status` points at the parent's `Failure`, alive and untouched while the
    // parent is suspended (CLONE_VFORK); the parent reads it once we are gone. _exit ends
    // the child without running the parent's atexit handlers or flushing its stdio.
    unsafe {
        std::ptr::write_volatile(status, [stage as i32, error]);
        libc::_exit(127)
    }
}
