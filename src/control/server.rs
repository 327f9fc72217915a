//! The socket side of the server: binding the Unix socket (mode 0600, a stale one
//! replaced, a live one refused), accepting clients, checking each peer's uid
//! (SO_PEERCRED), reading request lines (at most 1 MiB each) and writing replies through a
//! bounded queue per client. What a request does is decided by [`super::hub::Hub`] in the
//! console's loop; this module only carries lines.

use super::request::{self, Request, MAX_LINE};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Lines that may wait for a slow client. An events subscriber that lets this many pile
/// up is dropped: it never slows the console or other clients.
pub const QUEUE: usize = 4096;
/// Bytes of lines that may wait for one client (a flood's chunks are large): past this
/// the client is dropped, as when [`QUEUE`] lines wait.
pub const QUEUE_BYTES: usize = 8 * 1024 * 1024;
/// Requests waiting for the console's loop (from all clients together).
const CALLS: usize = 256;

/// What goes to a client's writer.
#[derive(Debug)]
enum Out {
    Line(String),
    End,
}

/// One client, as the loop answers it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Conn {
    out: mpsc::Sender<Out>,
    kill: Arc<watch::Sender<bool>>,
    queued: Arc<AtomicUsize>,
}

impl Conn {
    /// Queues a reply line (no newline). False if the client is gone, or so far behind
    /// that its queue is full, in which case it is disconnected.
    pub fn send(&self, line: String) -> bool {
        let len = line.len() + 1;
        if self.queued.fetch_add(len, Ordering::Relaxed) + len > QUEUE_BYTES {
            self.kill();
            return false;
        }
        match self.out.try_send(Out::Line(line)) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.kill();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Ends the replies: the client reads EOF after the lines already queued.
    pub fn end(&self) {
        if self.out.try_send(Out::End).is_err() {
            self.kill();
        }
    }

    /// Drops the client now, whatever is queued.
    pub fn kill(&self) {
        let _ = self.kill.send(true);
    }

    /// True once the client's writer has ended.
    pub fn is_closed(&self) -> bool {
        self.out.is_closed()
    }
}

/// A request (or why the line was not one) and the client to answer.
#[derive(Debug)]
pub struct Call {
    /// The request, or the text of the error reply.
    pub request: Result<Request, String>,
    /// Who asked.
    pub conn: Conn,
}

/// Paths of sockets this process listens on, for the panic hook.
static LISTENING: Mutex<Vec<(PathBuf, u64, u64)>> = Mutex::new(Vec::new());
static HOOK: Once = Once::new();

/// Removes every socket file of this process (from the panic hook; exit paths drop the
/// [`SocketFile`] guard instead).
fn remove_all() {
    if let Ok(list) = LISTENING.try_lock() {
        for (path, dev, ino) in list.iter() {
            remove_if_ours(path, *dev, *ino);
        }
    }
}

/// Removes `path` if it is still the socket we made (not one a later server put there).
fn remove_if_ours(path: &Path, dev: u64, ino: u64) {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.dev() == dev && meta.ino() == ino {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The socket file: removed when dropped (quit, signal, error, unwinding panic).
#[derive(Debug)]
struct SocketFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        remove_if_ours(&self.path, self.dev, self.ino);
        if let Ok(mut list) = LISTENING.lock() {
            list.retain(|(p, _, _)| p != &self.path);
        }
    }
}

/// The listening server: its socket, and the requests of its clients for the loop.
pub struct Server {
    file: Option<SocketFile>,
    /// Requests to answer, in arrival order per client.
    pub calls: mpsc::Receiver<Call>,
    closing: watch::Sender<bool>,
    writers: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

/// The default socket: `$XDG_RUNTIME_DIR/fdscope.sock`, else `/tmp/fdscope-UID/fdscope.sock`.
pub fn default_path() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("fdscope.sock"),
        None => {
            PathBuf::from(format!("/tmp/fdscope-{}", nix::unistd::getuid())).join("fdscope.sock")
        }
    }
}

/// Makes `/tmp/fdscope-UID` (mode 0700) for the default path; refuses one that another
/// user owns or others can enter.
fn private_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    let uid = nix::unistd::getuid().as_raw();
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
    }
    let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(format!(
            "{} is not a private directory of uid {uid} (mode 0700)",
            dir.display()
        ));
    }
    Ok(())
}

/// Binds the socket at `path` and starts accepting clients. Must run inside a tokio
/// runtime. A stale socket (nobody answers) is replaced; a live one is an error.
pub fn bind(path: &Path) -> Result<Server, String> {
    if let Some(dir) = path.parent() {
        let default_dir = default_path().parent().map(Path::to_path_buf);
        if Some(dir.to_path_buf()) == default_dir && std::env::var_os("XDG_RUNTIME_DIR").is_none() {
            private_dir(dir)?;
        }
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(format!("{} exists and is not a socket", path.display()));
        }
        match std::os::unix::net::UnixStream::connect(path) {
            Ok(_) => {
                return Err(format!(
                    "another fdscope is listening on {}",
                    path.display()
                ))
            }
            Err(_) => {
                // Stale: left by a server that was killed.
                std::fs::remove_file(path)
                    .map_err(|e| format!("cannot remove stale {}: {e}", path.display()))?;
            }
        }
    }
    // Created 0600 from the start (the umask is process-wide; nothing else creates files
    // while the console starts), and set again in case the umask was ignored.
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
    let bound = std::os::unix::net::UnixListener::bind(path);
    nix::sys::stat::umask(old);
    let std_listener = bound.map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = SocketFile {
        path: path.to_path_buf(),
        dev: meta.dev(),
        ino: meta.ino(),
    };
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    if let Ok(mut list) = LISTENING.lock() {
        list.push((file.path.clone(), file.dev, file.ino));
    }
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            remove_all();
            previous(info);
        }));
    });
    std_listener
        .set_nonblocking(true)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let listener =
        UnixListener::from_std(std_listener).map_err(|e| format!("{}: {e}", path.display()))?;
    let (calls_tx, calls) = mpsc::channel(CALLS);
    let (closing, closing_rx) = watch::channel(false);
    let writers = Arc::new(Mutex::new(Vec::new()));
    tokio::spawn(accept(listener, calls_tx, closing_rx, writers.clone()));
    Ok(Server {
        file: Some(file),
        calls,
        closing,
        writers,
    })
}

impl Server {
    /// The socket's path.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(|f| f.path.as_path())
    }

    /// Stops accepting, removes the socket, stops reading requests, and gives the writers
    /// a moment to flush what is queued (the replies to `quit`, the last events) once the
    /// loop has dropped its handles of the clients.
    pub async fn shutdown(mut self) {
        self.file = None;
        let _ = self.closing.send(true);
        self.calls.close();
        let writers: Vec<JoinHandle<()>> = match self.writers.lock() {
            Ok(mut w) => w.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        let flush = async {
            for w in writers {
                let _ = w.await;
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), flush).await;
    }
}

async fn accept(
    listener: UnixListener,
    calls: mpsc::Sender<Call>,
    mut closing: watch::Receiver<bool>,
    writers: Arc<Mutex<Vec<JoinHandle<()>>>>,
) {
    loop {
        let accepted = tokio::select! {
            _ = closing.changed() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                let calls = calls.clone();
                let closing = closing.clone();
                let writers = writers.clone();
                tokio::spawn(connection(stream, calls, closing, writers));
            }
            // Out of fds for a moment: let clients leave before accepting more.
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    }
}

/// Resolves when `kill` says so; never if its sender is gone without saying so.
async fn killed(kill: &mut watch::Receiver<bool>) {
    loop {
        if *kill.borrow_and_update() {
            return;
        }
        if kill.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

async fn connection(
    stream: UnixStream,
    calls: mpsc::Sender<Call>,
    mut closing: watch::Receiver<bool>,
    writers: Arc<Mutex<Vec<JoinHandle<()>>>>,
) {
    let me = nix::unistd::geteuid().as_raw();
    let peer = stream.peer_cred().map(|c| c.uid());
    if peer.as_ref().ok() != Some(&me) {
        let who = match peer {
            Ok(uid) => format!("uid {uid}"),
            Err(e) => format!("a peer of unknown uid ({e})"),
        };
        let line = request::error(format!(
            "refused: {who} is not this server's user (uid {me})"
        ));
        let mut stream = stream;
        let _ = stream.write_all(format!("{line}\n").as_bytes()).await;
        let _ = stream.shutdown().await;
        return;
    }
    let (rd, wr) = stream.into_split();
    let (out, out_rx) = mpsc::channel(QUEUE);
    let (kill_tx, kill) = watch::channel(false);
    let queued = Arc::new(AtomicUsize::new(0));
    let conn = Conn {
        out,
        kill: Arc::new(kill_tx),
        queued: queued.clone(),
    };
    let writer = tokio::spawn(write_replies(wr, out_rx, kill.clone(), queued));
    if let Ok(mut list) = writers.lock() {
        list.retain(|w| !w.is_finished());
        list.push(writer);
    }
    let mut kill = kill;
    let mut reader = LineReader::new(rd);
    loop {
        let line = tokio::select! {
            _ = killed(&mut kill) => return,
            _ = closing.changed() => return,
            line = reader.next() => line,
        };
        let request = match line {
            // Blank lines (a client's keep-alive, a stray newline) ask nothing.
            Ok(Read::Line(bytes)) if bytes.iter().all(u8::is_ascii_whitespace) => continue,
            Ok(Read::Line(bytes)) => request::parse(&bytes),
            Ok(Read::TooLong) => Err(format!("request line over {MAX_LINE} bytes")),
            Ok(Read::Eof) | Err(_) => return,
        };
        let call = Call {
            request,
            conn: conn.clone(),
        };
        if calls.send(call).await.is_err() {
            return;
        }
    }
}

async fn write_replies(
    mut wr: OwnedWriteHalf,
    mut rx: mpsc::Receiver<Out>,
    mut kill: watch::Receiver<bool>,
    queued: Arc<AtomicUsize>,
) {
    let mut batch = Vec::new();
    loop {
        let out = tokio::select! {
            biased;
            _ = killed(&mut kill) => return,
            out = rx.recv() => out,
        };
        let mut end = false;
        match out {
            Some(Out::Line(line)) => {
                batch.extend_from_slice(line.as_bytes());
                batch.push(b'\n');
            }
            Some(Out::End) | None => end = true,
        }
        // Whatever else is queued goes in the same write.
        while !end && batch.len() < 256 * 1024 {
            match rx.try_recv() {
                Ok(Out::Line(line)) => {
                    batch.extend_from_slice(line.as_bytes());
                    batch.push(b'\n');
                }
                Ok(Out::End) => end = true,
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            tokio::select! {
                biased;
                _ = killed(&mut kill) => return,
                written = wr.write_all(&batch) => if written.is_err() { return },
            }
            queued.fetch_sub(batch.len(), Ordering::Relaxed);
            batch.clear();
        }
        if end {
            let _ = wr.shutdown().await;
            return;
        }
    }
}

/// What the next read gave.
enum Read {
    Line(Vec<u8>),
    TooLong,
    Eof,
}

/// Reads newline-ended lines of at most [`MAX_LINE`] bytes; a longer one is skipped to
/// its newline without being kept.
struct LineReader {
    inner: BufReader<OwnedReadHalf>,
    buf: Vec<u8>,
    too_long: bool,
}

impl LineReader {
    fn new(rd: OwnedReadHalf) -> Self {
        LineReader {
            inner: BufReader::with_capacity(64 * 1024, rd),
            buf: Vec::new(),
            too_long: false,
        }
    }

    async fn next(&mut self) -> std::io::Result<Read> {
        loop {
            let available = self.inner.fill_buf().await?;
            if available.is_empty() {
                // EOF: a last line without its newline still counts.
                return Ok(if self.too_long {
                    self.too_long = false;
                    Read::TooLong
                } else if self.buf.is_empty() {
                    Read::Eof
                } else {
                    Read::Line(std::mem::take(&mut self.buf))
                });
            }
            let (chunk, used, newline) = match memchr::memchr(b'\n', available) {
                Some(i) => (&available[..i], i + 1, true),
                None => (available, available.len(), false),
            };
            if !self.too_long {
                if self.buf.len() + chunk.len() > MAX_LINE {
                    self.too_long = true;
                    self.buf = Vec::new();
                } else {
                    self.buf.extend_from_slice(chunk);
                }
            }
            self.inner.consume(used);
            if newline {
                if std::mem::take(&mut self.too_long) {
                    return Ok(Read::TooLong);
                }
                let mut line = std::mem::take(&mut self.buf);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Read::Line(line));
            }
        }
    }
}
