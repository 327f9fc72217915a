//! The interactive console under a `yes` flood, driven from outside through a real pty,
//! as a user's terminal would: no hook inside the console is needed.
//!
//! - memory: VmRSS sampled every 50 ms and VmHWM at the end of the window;
//! - drain rate: how many bytes `yes` managed to write (`wchar` in `/proc/<yes>/io`);
//!   `yes` only writes as fast as the console empties its pipe;
//! - CPU: the console's user + system time over the window (100 = one core busy);
//! - frames: every ratatui `Terminal::draw` ends by hiding or showing the cursor, so the
//!   count of `ESC[?25l` / `ESC[?25h` in the output is the count of frames drawn;
//! - key to screen: `?` is typed and the time is taken until the end of the first frame
//!   after which the screen (kept by a vt100 parser fed with everything the console
//!   writes) shows the help overlay, i.e. at least `OVERLAY_ROWS` more rows mention keys
//!   than before; `Esc` closes it again.

use crate::procs;
use crate::worker::{Metrics, MIB};
use nix::pty::{openpty, Winsize};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Why the console could not be measured.
pub enum NotMeasured {
    /// The binary cannot do it yet (exits, draws nothing, starts no child).
    Pending(String),
    /// Something went wrong on our side.
    Failed(String),
}

/// What the console's one configured command does, started at launch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Child {
    /// `yes` on pipes: a pipe pane under a flood.
    Pipe,
    /// `yes` on a pty: a terminal pane under a flood.
    Pty,
    /// `sleep`: an idle console, for comparison.
    Idle,
    /// [`SCALE`] commands running `yes` on pipes at once.
    Hundred,
}

/// Instances of [`Child::Hundred`].
pub const SCALE: usize = 100;

impl Child {
    /// The child's command name, as `/proc` shows it.
    pub fn comm(self) -> &'static str {
        match self {
            Child::Pipe | Child::Pty | Child::Hundred => "yes",
            Child::Idle => "sleep",
        }
    }

    fn config_text(self) -> String {
        let (program, args, pty) = match self {
            Child::Hundred => {
                return (0..SCALE)
                    .map(|i| {
                        format!(
                            "[[command]]\nname = \"y{i}\"\nprogram = \"yes\"\nautostart = true\n"
                        )
                    })
                    .collect();
            }
            Child::Pipe => ("yes", "", false),
            Child::Pty => ("yes", "", true),
            Child::Idle => ("sleep", "args = [\"sleep\", \"600\"]\n", false),
        };
        format!(
            "# written by the fdscope benchmark harness\n[[command]]\nname = \"bench\"\nprogram = \"{program}\"\n{args}pty = {pty}\nautostart = true\n"
        )
    }
}

/// The size of the console's terminal (and of tmux's, for comparison).
pub const ROWS: u16 = 40;
pub const COLS: u16 = 140;
/// Words of the key help; a row containing one counts as a "help row".
const MARKERS: &[&str] = &[
    "shift-tab",
    "ctrl-d",
    "ctrl-a",
    "restart",
    "signal",
    "quit",
    "help",
    "select",
    "enter",
    "esc",
];
/// How many more help rows than before mean "the overlay is drawn".
const OVERLAY_ROWS: usize = 4;

struct Probe {
    baseline: usize,
    opening: bool,
    seen: Option<Instant>,
}

struct Screen {
    parser: vt100::Parser,
    frames: u64,
    bytes: u64,
    tail: Vec<u8>,
    probe: Option<Probe>,
    closed: bool,
}

fn help_rows(parser: &vt100::Parser) -> usize {
    parser
        .screen()
        .rows(0, COLS)
        .filter(|row| {
            let row = row.to_lowercase();
            MARKERS.iter().any(|m| row.contains(m))
        })
        .count()
}

fn count(haystack: &[u8], needle: &[u8]) -> u64 {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count() as u64
}

/// Feeds the console's output to the parser, counts frames, answers the terminal
/// queries a real terminal would (cursor position, device attributes), and marks the
/// moment an armed probe sees its condition.
fn read_screen(mut master: File, mut answer: File, screen: Arc<Mutex<Screen>>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match master.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // EIO: every slave fd is closed, the console is gone.
            Err(_) => break,
        };
        let now = Instant::now();
        let chunk = &buf[..n];
        let mut replies = Vec::new();
        {
            let mut s = screen.lock().unwrap();
            s.parser.process(chunk);
            s.bytes += n as u64;
            let mut joined = std::mem::take(&mut s.tail);
            joined.extend_from_slice(chunk);
            let frame_ends = count(&joined, b"\x1b[?25l") + count(&joined, b"\x1b[?25h");
            s.frames += frame_ends;
            if count(&joined, b"\x1b[6n") > 0 {
                let (row, col) = s.parser.screen().cursor_position();
                replies.extend(format!("\x1b[{};{}R", row + 1, col + 1).into_bytes());
            }
            if count(&joined, b"\x1b[c") + count(&joined, b"\x1b[0c") > 0 {
                replies.extend_from_slice(b"\x1b[?62;22c");
            }
            s.tail = joined[joined.len().saturating_sub(5)..].to_vec();
            // Judged only where a frame ends, so the time is that of a finished redraw,
            // not of the first rows of one.
            if let (Some(p), true) = (&s.probe, frame_ends > 0) {
                if p.seen.is_none() {
                    let rows = help_rows(&s.parser);
                    let done = if p.opening {
                        rows >= p.baseline + OVERLAY_ROWS
                    } else {
                        rows <= p.baseline + 1
                    };
                    if done {
                        s.probe.as_mut().unwrap().seen = Some(now);
                    }
                }
            }
        }
        if !replies.is_empty() {
            let _ = answer.write_all(&replies);
        }
    }
    screen.lock().unwrap().closed = true;
}

pub fn proc_field(path: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// The pid of a child of `parent` whose command name is `comm`.
pub fn find_child(parent: u32, comm: &str) -> Option<u32> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = &stat[open + 1..close];
        let ppid = stat[close + 1..]
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok());
        if name == comm && ppid == Some(parent) {
            return Some(pid);
        }
    }
    None
}

/// User plus system CPU time of `pid` so far, in seconds.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    // Fields after the command name start at field 3 (state); utime and stime are 14, 15.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks / hz)
}

fn screen_text(screen: &Mutex<Screen>) -> String {
    procs::tail(&screen.lock().unwrap().parser.screen().contents(), 300)
}

/// Types `key` and waits until the armed condition shows on screen; the latency in ms.
fn probe(screen: &Mutex<Screen>, keyboard: &mut File, key: &[u8], opening: bool) -> Option<f64> {
    {
        let mut s = screen.lock().unwrap();
        let baseline = match &s.probe {
            // Closing compares with the rows counted before the overlay was opened.
            Some(p) if !opening => p.baseline,
            _ => help_rows(&s.parser),
        };
        s.probe = Some(Probe {
            baseline,
            opening,
            seen: None,
        });
    }
    let typed = Instant::now();
    keyboard.write_all(key).ok()?;
    let deadline = typed + Duration::from_secs(1);
    while Instant::now() < deadline {
        let s = screen.lock().unwrap();
        if let Some(seen) = s.probe.as_ref().and_then(|p| p.seen) {
            if std::env::var_os("FDSCOPE_BENCH_DEBUG").is_some() {
                eprintln!(
                    "console probe {:?} seen; screen:\n{}",
                    String::from_utf8_lossy(key),
                    s.parser.screen().contents()
                );
            }
            return Some(seen.saturating_duration_since(typed).as_secs_f64() * 1000.0);
        }
        drop(s);
        std::thread::sleep(Duration::from_millis(1));
    }
    None
}

/// Runs `bin --config <one command of `child_kind`, autostart>` on a pty for
/// `window` (after a short warm-up).
pub fn measure(bin: &Path, window: Duration, child_kind: Child) -> Result<Metrics, NotMeasured> {
    let failed = |what: &str| {
        let what = what.to_string();
        move |e: std::io::Error| NotMeasured::Failed(format!("{what}: {e}"))
    };
    if !bin.exists() {
        return Err(NotMeasured::Pending(format!(
            "{} is not built (cargo build --release)",
            bin.display()
        )));
    }
    let dir = tempfile::tempdir().map_err(failed("tempdir"))?;
    let config = dir.path().join("flood.toml");
    std::fs::write(&config, child_kind.config_text()).map_err(failed("write config"))?;
    let size = Winsize {
        ws_row: ROWS,
        ws_col: COLS,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty =
        openpty(Some(&size), None).map_err(|e| NotMeasured::Failed(format!("openpty: {e}")))?;
    // Our copies must not leak into the console (it would never see the pty hang up).
    let master: OwnedFd = pty
        .master
        .as_fd()
        .try_clone_to_owned()
        .map_err(failed("dup"))?;
    let slave: OwnedFd = pty
        .slave
        .as_fd()
        .try_clone_to_owned()
        .map_err(failed("dup"))?;
    drop(pty);
    let stdio = || slave.try_clone().map(Stdio::from);
    let mut cmd = Command::new(bin);
    cmd.arg("--config")
        .arg(&config)
        .env("TERM", "xterm-256color")
        .stdin(stdio().map_err(failed("dup"))?)
        .stdout(stdio().map_err(failed("dup"))?)
        .stderr(stdio().map_err(failed("dup"))?);
    // SAFETY: runs between fork and exec; setsid and ioctl are async-signal-safe. The
    // console becomes a session leader with the pty as its controlling terminal.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(failed("spawn the console"))?;
    drop(cmd);
    drop(slave);
    let pid = child.id();

    let screen = Arc::new(Mutex::new(Screen {
        parser: vt100::Parser::new(ROWS, COLS, 0),
        frames: 0,
        bytes: 0,
        tail: Vec::new(),
        probe: None,
        closed: false,
    }));
    let reader_file = File::from(master.try_clone().map_err(failed("dup"))?);
    let answer_file = File::from(master.try_clone().map_err(failed("dup"))?);
    let mut keyboard = File::from(master);
    let reader = {
        let screen = screen.clone();
        std::thread::spawn(move || read_screen(reader_file, answer_file, screen))
    };

    let result = drive(pid, child_kind.comm(), &screen, &mut keyboard, window);

    // Quit as a user would; then make sure, and reap.
    let _ = keyboard.write_all(b"q");
    let mut code = None;
    let give_up = Instant::now() + Duration::from_secs(8);
    while Instant::now() < give_up {
        if let Ok(Some(status)) = child.try_wait() {
            code = Some(status);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if code.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    drop(keyboard);
    let _ = reader.join();
    result
}

fn drive(
    pid: u32,
    child_name: &str,
    screen: &Mutex<Screen>,
    keyboard: &mut File,
    window: Duration,
) -> Result<Metrics, NotMeasured> {
    let status_path = format!("/proc/{pid}/status");
    let gone = |screen: &Mutex<Screen>| {
        screen.lock().unwrap().closed || proc_field(&status_path, "VmRSS").is_none()
    };
    // 1. It draws.
    let deadline = Instant::now() + Duration::from_secs(5);
    while screen.lock().unwrap().frames == 0 {
        if gone(screen) || Instant::now() > deadline {
            return Err(NotMeasured::Pending(format!(
                "the console drew no frame in 5 s (screen: {:?})",
                screen_text(screen)
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // 2. It started the command (autostart).
    let deadline = Instant::now() + Duration::from_secs(5);
    let yes = loop {
        if let Some(yes) = find_child(pid, child_name) {
            break yes;
        }
        if gone(screen) || Instant::now() > deadline {
            return Err(NotMeasured::Pending(format!(
                "no `{child_name}` child started from an autostart command (screen: {:?})",
                screen_text(screen)
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let yes_io = format!("/proc/{yes}/io");
    std::thread::sleep(Duration::from_millis(500));

    // 3. The window.
    let t0 = Instant::now();
    let w0 = proc_field(&yes_io, "wchar");
    let f0 = screen.lock().unwrap().frames;
    let c0 = cpu_seconds(pid);
    let mut rss_kib = 0u64;
    let mut keys = Vec::new();
    let mut misses = 0u32;
    let mut next_probe = t0 + Duration::from_millis(300);
    while t0.elapsed() < window {
        if gone(screen) {
            return Err(NotMeasured::Failed(format!(
                "the console exited during the flood (screen: {:?})",
                screen_text(screen)
            )));
        }
        rss_kib = rss_kib.max(proc_field(&status_path, "VmRSS").unwrap_or(0));
        if Instant::now() >= next_probe && t0.elapsed() + Duration::from_secs(2) < window {
            match probe(screen, keyboard, b"?", true) {
                Some(ms) => {
                    keys.push(ms);
                    if probe(screen, keyboard, b"\x1b", false).is_none() {
                        // Maybe `?` toggles rather than Esc closing.
                        let _ = probe(screen, keyboard, b"?", false);
                    }
                }
                None => misses += 1,
            }
            next_probe = Instant::now() + Duration::from_millis(400);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let w1 = proc_field(&yes_io, "wchar");
    let f1 = screen.lock().unwrap().frames;
    let c1 = cpu_seconds(pid);
    rss_kib = rss_kib.max(proc_field(&status_path, "VmHWM").unwrap_or(0));

    let mut m = Metrics::new();
    m.insert("rss_mib".into(), rss_kib as f64 / 1024.0);
    m.insert("fps".into(), (f1 - f0) as f64 / elapsed);
    if let (Some(w0), Some(w1)) = (w0, w1) {
        m.insert("mib_s".into(), (w1 - w0) as f64 / MIB / elapsed);
    }
    if let (Some(c0), Some(c1)) = (c0, c1) {
        m.insert("cpu_pct".into(), 100.0 * (c1 - c0) / elapsed);
    }
    m.insert("key_misses".into(), f64::from(misses));
    if !keys.is_empty() {
        let mut sorted = keys.clone();
        sorted.sort_by(f64::total_cmp);
        m.insert("key_ms".into(), crate::stats::quantile(&sorted, 0.5));
        m.insert("key_max_ms".into(), sorted[sorted.len() - 1]);
        m.insert("key_n".into(), sorted.len() as f64);
    }
    Ok(m)
}
