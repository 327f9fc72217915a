//! `spawn`: builds the child's plan, forks, execs, and starts the tasks that watch it.

use super::child::{self, ExecPlan, Failure, NulTerminated, Stage};
use super::fdmap::{self, Assignment, FdPlan};
use super::spec::{ChildFd, ProcessSpec, PTY_FDS};
use super::tasks::{self, Pipes};
use super::{pty, sys, Process};
use nix::fcntl::OFlag;
use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow};
use nix::unistd::{pipe2, Pid};
use std::collections::BTreeMap;
use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

/// Why a child could not be started. Every variant names the program.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The program could not be executed (missing, not executable, …).
    #[error("cannot run {program}: {error}")]
    Exec {
        /// The program as given.
        program: String,
        /// The OS reason.
        error: io::Error,
    },
    /// The working directory could not be entered.
    #[error("cannot run {program}: cannot change directory to {}: {error}", dir.display())]
    Cwd {
        /// The program as given.
        program: String,
        /// The directory.
        dir: PathBuf,
        /// The OS reason.
        error: io::Error,
    },
    /// The user or group switch was refused; the child was not run.
    #[error("cannot run {program}: cannot switch {what}: {error}")]
    Identity {
        /// The program as given.
        program: String,
        /// `uid 1000`, `gid 1000` or `supplementary groups`.
        what: String,
        /// The OS reason.
        error: io::Error,
    },
    /// The fd map cannot be used.
    #[error("cannot run {program}: bad fd map: {reason}")]
    FdMap {
        /// The program as given.
        program: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Setting up pipes, the pty or the child failed.
    #[error("cannot run {program}: {what}: {error}")]
    Setup {
        /// The program as given.
        program: String,
        /// The step that failed.
        what: &'static str,
        /// The OS reason.
        error: io::Error,
    },
    /// `spawn` was called outside a tokio runtime.
    #[error("cannot run {program}: spawn must be called inside a tokio runtime")]
    NoRuntime {
        /// The program as given.
        program: String,
    },
}

/// Starts the child described by `spec` and returns its transport and event stream.
///
/// Synchronous: when it returns `Ok`, the child has exec'd its program; when it returns
/// `Err`, no child is left behind and no event is produced. Events are produced by
/// tasks on the current tokio runtime (a current-thread runtime is the fastest choice),
/// never from inside `spawn`. Outside a runtime it returns [`SpawnError::NoRuntime`];
/// in a runtime built without IO it panics, as tokio's own I/O types do.
///
/// If the calling process has SIGPIPE at its default disposition (a Rust binary ignores
/// it, a C host or a Rust program built to keep the default may not), `spawn` sets it to
/// ignored: writing to a child that has gone must be an `EPIPE`, not the death of the
/// whole process. A SIGPIPE handler the program installed is left alone.
pub fn spawn(spec: &ProcessSpec) -> Result<Process, SpawnError> {
    let program = spec.program_display();
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(SpawnError::NoRuntime { program });
    }
    ignore_default_sigpipe();
    fdmap::validate(spec).map_err(|reason| SpawnError::FdMap {
        program: program.clone(),
        reason,
    })?;
    let ends = open_ends(spec, &program)?;
    let mut plan =
        build_plan(spec, FdPlan::new(ends.assignments)).map_err(|error| SpawnError::Exec {
            program: program.clone(),
            error,
        })?;
    let (pid, pidfd) = clone_exec(spec, &program, &mut plan, ends.child)?;
    watch(pid, pidfd, spec, program, ends.parent, ends.pty_master)
}

/// Maps an OS error of setup step `what` to a [`SpawnError::Setup`] naming `program`.
fn setup<'a>(program: &'a str, what: &'static str) -> impl FnOnce(nix::Error) -> SpawnError + 'a {
    move |e| SpawnError::Setup {
        program: program.to_owned(),
        what,
        error: e.into(),
    }
}

/// Every fd the child will get, opened in the parent before the fork.
struct Ends {
    /// The parent's ends of the pipes.
    parent: ParentEnds,
    /// The child's ends (closed in the parent once the child has them).
    child: Vec<OwnedFd>,
    /// Which of them goes to which child fd.
    assignments: Vec<Assignment>,
    pty_master: Option<OwnedFd>,
}

/// Opens the pty, the pipes and /dev/null the map asks for.
fn open_ends(spec: &ProcessSpec, program: &str) -> Result<Ends, SpawnError> {
    let mut ends = Ends {
        parent: ParentEnds::default(),
        child: Vec::new(),
        assignments: Vec::new(),
        pty_master: None,
    };
    if let Some(size) = spec.pty {
        let (master, slave) = pty::open(size).map_err(|e| SpawnError::Setup {
            program: program.to_owned(),
            what: "openpty",
            error: e,
        })?;
        for target in PTY_FDS {
            ends.assignments.push(Assignment {
                target,
                source: slave.as_raw_fd(),
            });
        }
        ends.child.push(slave);
        ends.pty_master = Some(master);
    }
    for (&target, &what) in &spec.child_fds {
        let source = match what {
            ChildFd::Parent(fd) => fd,
            ChildFd::Null => {
                let null = nix::fcntl::open(
                    "/dev/null",
                    OFlag::O_RDWR | OFlag::O_CLOEXEC,
                    nix::sys::stat::Mode::empty(),
                )
                .map_err(setup(program, "open /dev/null"))?;
                let raw = null.as_raw_fd();
                ends.child.push(null);
                raw
            }
            ChildFd::Read | ChildFd::Write => {
                let (read, write) = pipe2(OFlag::O_CLOEXEC).map_err(setup(program, "pipe"))?;
                let (parent, child) = if what == ChildFd::Read {
                    (read, write)
                } else {
                    (write, read)
                };
                let raw = child.as_raw_fd();
                ends.parent.insert(target, what, parent);
                ends.child.push(child);
                raw
            }
        };
        ends.assignments.push(Assignment { target, source });
    }
    Ok(ends)
}

/// Stack of the child between `clone` and `exec`: only `child::exec_child` runs on it
/// (raw syscalls, small frames), with room to spare for a debug build.
const CHILD_STACK: usize = 64 * 1024;

/// What the child's entry point needs: pointers into the suspended parent's frame.
struct ChildArgs {
    plan: *mut ExecPlan,
    failure: *mut Failure,
}

/// The child's entry point after `clone`; never returns (exec or `_exit`).
extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `ChildArgs` in `clone_exec`'s frame, which stays alive and
    // untouched while the parent is suspended (CLONE_VFORK) until we exec or exit.
    let args = unsafe { &*(arg as *const ChildArgs) };
    // SAFETY: as above; the parent does not touch the plan until we are gone.
    let plan = unsafe { &mut *args.plan };
    child::exec_child(plan, args.failure)
}

/// Starts the child on `plan` with `clone(CLONE_VM | CLONE_VFORK)` (the parent resumes
/// once the child has exec'd or failed, as with glibc's `posix_spawn`: no page tables are
/// copied) and returns it with its pidfd (`CLONE_PIDFD`: no separate `pidfd_open`).
/// A failure in the child comes back synchronously, through shared memory.
fn clone_exec(
    spec: &ProcessSpec,
    program: &str,
    plan: &mut ExecPlan,
    child_ends: Vec<OwnedFd>,
) -> Result<(Pid, OwnedFd), SpawnError> {
    let mut failure: Failure = [0, 0];
    let mut stack: Vec<u8> = Vec::with_capacity(CHILD_STACK);
    // The stack grows down from its (16-byte aligned) top.
    let top = (stack.as_mut_ptr() as usize + CHILD_STACK) & !15;
    let args = ChildArgs {
        plan,
        failure: &mut failure,
    };
    // Block every signal around clone so no handler of ours runs in the child (on the
    // parent's memory) before it resets dispositions; the child unblocks after the reset,
    // the parent right away.
    let mut saved = SigSet::empty();
    pthread_sigmask(
        SigmaskHow::SIG_SETMASK,
        Some(&SigSet::all()),
        Some(&mut saved),
    )
    .map_err(setup(program, "block signals"))?;
    let mut pidfd: libc::c_int = -1;
    let mut flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PIDFD | libc::SIGCHLD;
    let mut pid;
    loop {
        // SAFETY: `top` is the aligned end of a live allocation of CHILD_STACK bytes that
        // outlives the child's use of it (the parent is suspended until exec or exit);
        // `child_main` only runs async-signal-safe code; `args` and `pidfd` live in this
        // frame. With CLONE_PIDFD the kernel stores the pidfd through the parent_tid slot.
        pid = unsafe {
            libc::clone(
                child_main,
                top as *mut libc::c_void,
                flags,
                &args as *const ChildArgs as *mut libc::c_void,
                &mut pidfd as *mut libc::c_int,
            )
        };
        // A kernel older than 5.2 has no CLONE_PIDFD: open the pidfd afterwards.
        if pid < 0
            && flags & libc::CLONE_PIDFD != 0
            && nix::errno::Errno::last_raw() == libc::EINVAL
        {
            flags &= !libc::CLONE_PIDFD;
            continue;
        }
        break;
    }
    let clone_error = io::Error::last_os_error();
    let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&saved), None);
    drop(child_ends);
    drop(stack);
    if pid < 0 {
        return Err(SpawnError::Setup {
            program: program.to_owned(),
            what: "clone",
            error: clone_error,
        });
    }
    let pid = Pid::from_raw(pid);
    // SAFETY: the child is gone from our memory (exec'd or exited): nothing writes here.
    let [stage, errno] = unsafe { std::ptr::read_volatile(&failure) };
    if stage != 0 {
        // The child reported a failure and exited with 127: reap it now.
        let _ = nix::sys::wait::waitpid(pid, None);
        if pidfd >= 0 {
            // SAFETY: the kernel gave us this fd; nobody else owns it.
            drop(unsafe { OwnedFd::from_raw_fd(pidfd) });
        }
        return Err(stage_error(
            spec,
            stage,
            io::Error::from_raw_os_error(errno),
        ));
    }
    let pidfd = if pidfd >= 0 {
        // SAFETY: the kernel gave us this fd (close-on-exec); nobody else owns it.
        unsafe { OwnedFd::from_raw_fd(pidfd) }
    } else {
        sys::pidfd_open(pid.as_raw()).map_err(|e| {
            kill_and_reap(pid);
            SpawnError::Setup {
                program: program.to_owned(),
                what: "pidfd_open",
                error: e,
            }
        })?
    };
    Ok((pid, pidfd))
}

/// Starts the tasks that watch the child; kills and reaps it if that fails, so no
/// half-started child is left behind.
fn watch(
    pid: Pid,
    pidfd: OwnedFd,
    spec: &ProcessSpec,
    program: String,
    parent_ends: ParentEnds,
    pty_master: Option<OwnedFd>,
) -> Result<Process, SpawnError> {
    let pipes = Pipes {
        readers: parent_ends.readers,
        writers: parent_ends.writers,
        pty_master,
    };
    tasks::start(pid, pidfd, spec.child_fds.clone(), pipes).map_err(|e| {
        kill_and_reap(pid);
        SpawnError::Setup {
            program,
            what: "register pipes",
            error: e,
        }
    })
}

#[derive(Default)]
struct ParentEnds {
    readers: BTreeMap<i32, OwnedFd>,
    writers: BTreeMap<i32, OwnedFd>,
}

impl ParentEnds {
    fn insert(&mut self, fd: i32, what: ChildFd, end: OwnedFd) {
        if what == ChildFd::Read {
            self.readers.insert(fd, end);
        } else {
            self.writers.insert(fd, end);
        }
    }
}

/// Makes SIGPIPE ignored if it is at its default (which kills the process).
fn ignore_default_sigpipe() {
    // SAFETY: a zeroed sigaction is a valid out-parameter; with a null new action the
    // first call only reads the current disposition. SIG_IGN runs no code of ours.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut current) == 0
            && current.sa_sigaction == libc::SIG_DFL
        {
            let mut ignore: libc::sigaction = std::mem::zeroed();
            ignore.sa_sigaction = libc::SIG_IGN;
            libc::sigaction(libc::SIGPIPE, &ignore, std::ptr::null_mut());
        }
    }
}

fn kill_and_reap(pid: Pid) {
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    let _ = nix::sys::wait::waitpid(pid, None);
}

fn stage_error(spec: &ProcessSpec, stage: i32, error: io::Error) -> SpawnError {
    let program = spec.program_display();
    match Stage::from_code(stage) {
        Some(Stage::Chdir) => SpawnError::Cwd {
            program,
            dir: spec.cwd.clone().unwrap_or_default(),
            error,
        },
        Some(Stage::Groups) => identity(program, "supplementary groups".into(), error),
        Some(Stage::Gid) => identity(program, format!("to gid {}", spec.gid.unwrap_or(0)), error),
        Some(Stage::Uid) => identity(program, format!("to uid {}", spec.uid.unwrap_or(0)), error),
        Some(Stage::Fds) => SpawnError::Setup {
            program,
            what: "set up the child's fds",
            error,
        },
        Some(Stage::Session) => SpawnError::Setup {
            program,
            what: "make the pty the controlling terminal",
            error,
        },
        Some(Stage::Exec) | None => SpawnError::Exec { program, error },
    }
}

fn identity(program: String, what: String, error: io::Error) -> SpawnError {
    SpawnError::Identity {
        program,
        what,
        error,
    }
}

fn cstring(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "an argument, variable or path contains a NUL byte",
        )
    })
}

/// The child's environment: the spec's, on top of the parent's with `inherit_env`.
fn child_env(spec: &ProcessSpec) -> BTreeMap<OsString, OsString> {
    let mut env: BTreeMap<OsString, OsString> = if spec.inherit_env {
        std::env::vars_os().collect()
    } else {
        BTreeMap::new()
    };
    env.extend(spec.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    env
}

/// The paths execvpe would try for `program` with `path` (the child's PATH).
fn candidates(program: &OsStr, path: Option<&OsStr>) -> Vec<PathBuf> {
    if program.as_bytes().contains(&b'/') {
        return vec![PathBuf::from(program)];
    }
    let path = path.unwrap_or(OsStr::new("/usr/bin:/bin"));
    path.as_bytes()
        .split(|b| *b == b':')
        .map(|dir| {
            if dir.is_empty() {
                PathBuf::from(program)
            } else {
                PathBuf::from(OsStr::from_bytes(dir)).join(program)
            }
        })
        .collect()
}

fn build_plan(spec: &ProcessSpec, fds: FdPlan) -> io::Result<ExecPlan> {
    let env = child_env(spec);
    let candidates = candidates(
        &spec.program,
        env.get(OsStr::new("PATH")).map(|p| p.as_os_str()),
    )
    .into_iter()
    .map(|p| cstring(p.as_os_str().as_bytes()))
    .collect::<io::Result<Vec<_>>>()?;
    let argv_strings = spec
        .argv()
        .iter()
        .map(|a| cstring(a.as_bytes()))
        .collect::<io::Result<Vec<_>>>()?;
    let envp = env
        .iter()
        .map(|(k, v)| {
            let mut entry = k.clone().into_vec();
            entry.push(b'=');
            entry.extend_from_slice(v.as_bytes());
            cstring(&entry)
        })
        .collect::<io::Result<Vec<_>>>()?;
    let argv = NulTerminated::new(argv_strings);
    let mut sh_argv = vec![c"/bin/sh".as_ptr(), std::ptr::null()];
    sh_argv.extend(argv.ptrs.iter().skip(1).copied());
    let cwd = spec
        .cwd
        .as_ref()
        .map(|d| cstring(d.as_os_str().as_bytes()))
        .transpose()?;
    let is_root = nix::unistd::geteuid().is_root();
    let switching = spec.uid.is_some() || spec.gid.is_some();
    let set_groups =
        (is_root && switching).then(|| spec.gid.unwrap_or_else(|| nix::unistd::getegid().as_raw()));
    Ok(ExecPlan {
        fds,
        candidates,
        argv,
        envp: NulTerminated::new(envp),
        sh_argv,
        cwd,
        set_groups,
        gid: spec.gid,
        uid: spec.uid,
        controlling_tty: spec.pty.is_some(),
        empty_mask: *SigSet::empty().as_ref(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_follow_execvp_rules() {
        assert_eq!(
            candidates(OsStr::new("wc"), None),
            vec![PathBuf::from("/usr/bin/wc"), PathBuf::from("/bin/wc")]
        );
        assert_eq!(
            candidates(OsStr::new("wc"), Some(OsStr::new("/opt/x::/y"))),
            vec![
                PathBuf::from("/opt/x/wc"),
                PathBuf::from("wc"),
                PathBuf::from("/y/wc")
            ]
        );
        assert_eq!(
            candidates(OsStr::new("./run"), Some(OsStr::new("/bin"))),
            vec![PathBuf::from("./run")]
        );
    }
}
