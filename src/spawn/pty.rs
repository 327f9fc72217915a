//! Pseudo-terminal helpers: open one with a size, resize it, and the master's writer that
//! types the end of input so the child sees it.
//!
//! Why not the `portable-pty` crate: it cannot put extra fds beside a pty (a pty for the
//! prompts plus a status pipe on fd 3 is a case fdscope exists for), and its unix spawn
//! closes every fd above 2 after fork, so such pipes could not even be passed by hand.
//! Opening the pty with nix and starting the child with our own fd plan does both.

use super::spec::PtySize;
use super::transport::{lock, LiveState, WriteCommand};
use bytes::{Buf, Bytes};
use nix::pty::{openpty, Winsize};
use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::Interest;
use tokio::net::unix::pipe;
use tokio::sync::{mpsc, Notify};

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

/// How often the pty's writer looks at the terminal while an end of input waits.
const EOF_POLL: Duration = Duration::from_millis(4);
/// How long after an EOF typed in canonical mode the writer watches for the child going
/// raw (readline) with that EOF turned into a NUL, to type it again in raw mode.
const EOF_WATCH: Duration = Duration::from_secs(10);

/// One thing queued for the pty master: bytes (`eof`: the EOF character first typed for a
/// close, whose mode is checked again once it lands), or the end of input still to be typed.
enum Item {
    Data { bytes: Bytes, eof: bool },
    Eof,
}

/// Bytes the child has not read yet from its terminal, asked of a fresh slave fd
/// (`TIOCGPTPEER`, closed again at once: a slave fd kept open would hide the child's end
/// from the master's reader). In canonical mode the kernel counts complete lines only and
/// not EOF characters; in raw mode every byte. An error (the terminal is gone) counts as 0.
fn unread(master: &impl AsRawFd) -> usize {
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC | libc::O_NONBLOCK;
    // SAFETY: TIOCGPTPEER takes the open flags as an integer and returns a new fd or -1.
    let peer = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTPEER, flags) };
    if peer < 0 {
        return 0;
    }
    // SAFETY: the kernel just returned this fd to us; nobody else owns it.
    let peer = unsafe { OwnedFd::from_raw_fd(peer) };
    let mut count: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through the pointer, which lives for the call.
    let rc = unsafe { libc::ioctl(peer.as_raw_fd(), libc::FIONREAD, &mut count) };
    if rc < 0 {
        0
    } else {
        count.max(0) as usize
    }
}

/// The terminal's EOF character (VEOF, normally Ctrl-D) and whether the terminal is in
/// canonical (line-editing) mode.
fn eof_settings(master: &impl AsFd) -> (u8, bool) {
    use nix::sys::termios::{tcgetattr, LocalFlags, SpecialCharacterIndices};
    match tcgetattr(master) {
        Ok(t) => {
            let eof = t.control_chars[SpecialCharacterIndices::VEOF as usize];
            let eof = if eof == 0 { CTRL_D } else { eof };
            (eof, t.local_flags.contains(LocalFlags::ICANON))
        }
        Err(_) => (CTRL_D, true),
    }
}

/// The pty master's writer: types queued bytes as the child's terminal takes them, and
/// turns `close_child_fd(0)` into an end of input the child actually sees.
///
/// The end of input is typed only once the child has read everything queued before it,
/// in the mode the terminal is in at that moment (twice after a partial line in canonical
/// mode: the first only ends the line). A canonical EOF still in the buffer when a
/// readline program switches to raw mode reaches it as a NUL; so for a while after a
/// canonical EOF the writer watches, and when the terminal is raw with nothing left
/// unread (the child waits for a key) it types the EOF character once more. It watches too
/// when an EOF typed in raw mode finds the terminal canonical once written: readline may
/// have left raw mode between the look and the write.
///
/// Keeps the transport's byte count and closed state up to date like a pipe's writer, sends
/// no event and is not waited for: it stops when `stop` is notified (the master's reader
/// saw the terminal go away) or when the transport closes the master.
pub(crate) async fn write_pty(
    sender: Arc<pipe::Sender>,
    mut commands: mpsc::UnboundedReceiver<WriteCommand>,
    live: Arc<Mutex<LiveState>>,
    stop: Arc<Notify>,
) {
    let mut queue: VecDeque<Item> = VecDeque::new();
    let mut closing = false;
    // The last byte typed left a partial line.
    let mut mid_line = false;
    // After a canonical EOF: until when to watch for the child going raw.
    let mut watch: Option<Instant> = None;
    loop {
        let wait_for_room = match queue.front_mut() {
            None if closing => break,
            None => false,
            Some(Item::Data { bytes, eof }) => match sender.try_write(bytes) {
                Ok(n) => {
                    let last = bytes.last().copied();
                    bytes.advance(n);
                    if bytes.is_empty() {
                        mid_line = !*eof && !matches!(last, Some(b'\n' | b'\r' | CTRL_D));
                        // The mode may have flipped between the look before typing an EOF
                        // and its landing (readline leaves raw mode right after the line it
                        // read): canonical now means it may have become a NUL, so watch.
                        if *eof && watch.is_none() && eof_settings(&*sender).1 {
                            watch = Some(Instant::now() + EOF_WATCH);
                        }
                        queue.pop_front();
                    }
                    if let Some(q) = lock(&live).queued.get_mut(&0) {
                        *q = q.saturating_sub(n);
                    }
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // EIO: the terminal is gone; the reader reports it.
                Err(_) => break,
            },
            Some(Item::Eof) => {
                if unread(&*sender) == 0 {
                    let (eof, canonical) = eof_settings(&*sender);
                    let count = if canonical && mid_line { 2 } else { 1 };
                    queue.pop_front();
                    let bytes = Bytes::from(vec![eof; count]);
                    queue.push_front(Item::Data { bytes, eof: true });
                    *lock(&live).queued.entry(0).or_default() += count;
                    watch = canonical.then(|| Instant::now() + EOF_WATCH);
                    continue;
                }
                false
            }
        };
        let polling = matches!(queue.front(), Some(Item::Eof)) || watch.is_some();
        tokio::select! {
            biased;
            _ = stop.notified() => break,
            command = commands.recv(), if !closing => match command {
                Some(WriteCommand::Data(data)) => {
                    watch = None;
                    queue.push_back(Item::Data { bytes: data, eof: false });
                }
                Some(WriteCommand::Eof) => queue.push_back(Item::Eof),
                Some(WriteCommand::Close) | None => closing = true,
            },
            ready = sender.ready(Interest::WRITABLE | Interest::ERROR), if wait_for_room => {
                if !matches!(ready, Ok(r) if !r.is_error()) {
                    break;
                }
            }
            _ = tokio::time::sleep(EOF_POLL), if polling && !wait_for_room => {
                if let (true, Some(until)) = (queue.is_empty(), watch) {
                    let (eof, canonical) = eof_settings(&*sender);
                    if !canonical && unread(&*sender) == 0 {
                        // Raw, and nothing left to read: the child waits for a key.
                        // Typed once: not watched again.
                        let bytes = Bytes::from(vec![eof]);
                        queue.push_back(Item::Data { bytes, eof: false });
                        *lock(&live).queued.entry(0).or_default() += 1;
                        watch = None;
                    } else if Instant::now() >= until {
                        watch = None;
                    }
                }
            }
        }
    }
    drop(sender);
    let mut live = lock(&live);
    live.closed.insert(0);
    live.queued.remove(&0);
}
