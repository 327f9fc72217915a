//! The console's terminal and its own fds 0–2.
//!
//! The console draws through a fd of its own on the terminal (`/dev/tty`), never through
//! fd 1: its fds 0, 1 and 2 are replaced by pipes, so a child mapped onto them (`{1: 1}`)
//! writes into the console pane instead of tearing the screen, and typing into that pane
//! feeds children that inherited fd 0. Everything is put back on every way out: normal
//! exit, error, panic (a hook), and the signals the loop turns into a quit.

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen};
use crossterm::{cursor, execute};
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::unistd::{dup2_stderr, dup2_stdin, dup2_stdout, pipe2};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

/// What `restore` needs, reachable from the panic hook.
struct Saved {
    tty: RawFd,
    /// Close-on-exec copies of the original fds 0, 1, 2 (`None` if one was closed).
    stdio: [Option<RawFd>; 3],
}

static SAVED: Mutex<Option<Saved>> = Mutex::new(None);

/// The console's terminal and the pipes that now are its fds 0–2.
pub struct Console {
    /// The terminal, for drawing (close-on-exec: children never get it).
    pub tty: File,
    /// Read end of the pipe that is fds 1 and 2: what children write there.
    pub output: OwnedFd,
    /// Write end of the pipe that is fd 0: what children that inherited fd 0 read.
    pub input: File,
}

fn open_tty() -> io::Result<File> {
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    {
        Ok(file) => Ok(file),
        Err(e) => {
            // No controlling terminal: fall back to stdout if it is one.
            if nix::unistd::isatty(io::stdout()).unwrap_or(false) {
                let fd = fcntl(io::stdout(), FcntlArg::F_DUPFD_CLOEXEC(3))?;
                // SAFETY: F_DUPFD_CLOEXEC returned a new fd that nothing else owns.
                Ok(unsafe { File::from_raw_fd(fd) })
            } else {
                Err(io::Error::new(
                    e.kind(),
                    format!("the console needs a terminal (/dev/tty: {e}); `fdscope run` works without one"),
                ))
            }
        }
    }
}

fn save(fd: RawFd) -> Option<RawFd> {
    // SAFETY: fd 0–2 are borrowed only for the duration of the fcntl call.
    let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    fcntl(borrowed, FcntlArg::F_DUPFD_CLOEXEC(10)).ok()
}

fn put(from: impl AsFd, onto: RawFd) -> io::Result<()> {
    match onto {
        0 => dup2_stdin(from)?,
        1 => dup2_stdout(from)?,
        _ => dup2_stderr(from)?,
    }
    Ok(())
}

/// Takes over the terminal: raw mode, alternate screen, mouse, bracketed paste; then swaps
/// fds 0–2 for pipes. Call [`restore`] to undo (the panic hook does it too).
pub fn setup() -> io::Result<Console> {
    let mut tty = open_tty()?;
    let stdio = [save(0), save(1), save(2)];
    // A copy of our own: the drawing end is dropped with the ratatui terminal, before
    // the restore runs.
    let tty_copy = fcntl(&tty, FcntlArg::F_DUPFD_CLOEXEC(10))?;
    *SAVED.lock().unwrap_or_else(|p| p.into_inner()) = Some(Saved {
        tty: tty_copy,
        stdio,
    });
    crossterm::terminal::enable_raw_mode()?;
    execute!(
        tty,
        EnterAlternateScreen,
        EnableMouseCapture,
        EnableBracketedPaste,
        cursor::Hide
    )?;
    let (out_read, out_write) = pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
    let (in_read, in_write) = pipe2(OFlag::O_CLOEXEC)?;
    // Children inherit blocking ends; only the console's own ends are non-blocking.
    fcntl(&out_write, FcntlArg::F_SETFL(OFlag::empty()))?;
    fcntl(&in_write, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    put(&in_read, 0)?;
    put(&out_write, 1)?;
    put(&out_write, 2)?;
    Ok(Console {
        tty,
        output: out_read,
        input: File::from(in_write),
    })
}

/// Puts the terminal and fds 0–2 back. Safe to call more than once, and from a panic.
pub fn restore() {
    let Some(saved) = SAVED.lock().unwrap_or_else(|p| p.into_inner()).take() else {
        return;
    };
    // SAFETY: `saved.tty` is our own copy of the terminal fd, consumed (closed) here.
    let mut tty = unsafe { File::from_raw_fd(saved.tty) };
    let _ = execute!(
        tty,
        DisableMouseCapture,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = tty.flush();
    let _ = crossterm::terminal::disable_raw_mode();
    for (target, fd) in saved.stdio.iter().enumerate() {
        if let Some(fd) = fd {
            // SAFETY: `fd` is our close-on-exec copy of the original; it is consumed here.
            let owned = unsafe { OwnedFd::from_raw_fd(*fd) };
            let _ = put(&owned, target as RawFd);
        }
    }
}

/// The console's children, for the panic hook: a panic unwinds past the loop that would
/// have stopped them, and without this they would outlive the console.
static CHILDREN: Mutex<Vec<crate::ProcessTransport>> = Mutex::new(Vec::new());

/// Remembers a started child so that a panic kills it (reaped ones are forgotten here).
pub fn track_child(transport: crate::ProcessTransport) {
    let mut children = CHILDREN.lock().unwrap_or_else(|p| p.into_inner());
    children.retain(|t| !t.is_reaped());
    children.push(transport);
}

/// Forgets the tracked children (the console has stopped them itself).
pub fn forget_children() {
    CHILDREN.lock().unwrap_or_else(|p| p.into_inner()).clear();
}

/// Sends KILL to every tracked child still running (from the panic hook).
fn kill_children() {
    // try_lock: a panic while the list is held must not deadlock the hook.
    let children = match CHILDREN.try_lock() {
        Ok(children) => children,
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return,
    };
    for child in children.iter() {
        let _ = child.signal_process(crate::Signal::SIGKILL);
    }
}

/// Restores the terminal and kills the children before the default hook prints the
/// panic message.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        kill_children();
        previous(info);
    }));
}
