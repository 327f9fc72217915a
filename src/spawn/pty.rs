//! Pseudo-terminal helpers: open one with a size, resize it, read its EOF character.

use super::spec::PtySize;
use nix::pty::{openpty, Winsize};
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Mutex;

/// A new pty of `size`: (master, slave), both close-on-exec so no other child inherits them.
pub fn open(size: PtySize) -> io::Result<(OwnedFd, OwnedFd)> {
    let pair = openpty(Some(&winsize(size.rows, size.cols)), None)?;
    for fd in [&pair.master, &pair.slave] {
        nix::fcntl::fcntl(
            fd.as_fd(),
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        )?;
    }
    Ok((pair.master, pair.slave))
}

fn winsize(rows: u16, cols: u16) -> Winsize {
    Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

nix::ioctl_write_ptr_bad!(set_winsize, libc::TIOCSWINSZ, Winsize);

/// Sets the window size of the pty behind `master` (the kernel then signals SIGWINCH).
pub fn set_size(master: &OwnedFd, rows: u16, cols: u16) -> io::Result<()> {
    let size = winsize(rows, cols);
    // SAFETY: TIOCSWINSZ reads one Winsize from the pointer, which lives for the call.
    unsafe { set_winsize(master.as_raw_fd(), &size) }?;
    Ok(())
}

/// Ctrl-D, the usual EOF character.
pub const CTRL_D: u8 = 0x04;

/// The terminal's EOF character (VEOF, normally Ctrl-D) and whether the terminal is in
/// canonical (line-editing) mode, read from the pty's settings.
pub fn eof_settings(master: &Mutex<Option<OwnedFd>>) -> (u8, bool) {
    use nix::sys::termios::{tcgetattr, LocalFlags, SpecialCharacterIndices};
    let guard = master
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    match guard.as_ref().and_then(|fd| tcgetattr(fd).ok()) {
        Some(t) => {
            let eof = t.control_chars[SpecialCharacterIndices::VEOF as usize];
            let eof = if eof == 0 { CTRL_D } else { eof };
            (eof, t.local_flags.contains(LocalFlags::ICANON))
        }
        None => (CTRL_D, true),
    }
}
