//! Runs every example as a user would: `cargo build --examples` once, then each binary
//! for real, checking what it prints (and, for the server, what a TCP client receives).
//! Every wait is bounded, so a hang is a failure with a message, not a stuck test run.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::Once;
use std::thread;
use std::time::{Duration, Instant};

/// Upper bound for one example run (gpg's key derivation is the slowest part).
const RUN_LIMIT: Duration = Duration::from_secs(60);
/// Upper bound for building all examples, from scratch on a slow machine.
const BUILD_LIMIT: Duration = Duration::from_secs(20 * 60);

/// What an example did.
struct Ran {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// Fails with everything the example printed, which is what one needs to debug it.
    fn assert_success(&self, what: &str) {
        assert!(
            self.status.success(),
            "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
    }
}

/// `target/<profile>/examples`, after building every example once per test run.
fn examples_dir() -> PathBuf {
    static BUILD: Once = Once::new();
    // This test runs as target/<profile>/deps/examples-HASH.
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/<profile>/deps")
        .to_path_buf();
    BUILD.call_once(|| {
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .args(["build", "--examples", "--quiet"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir.ends_with("release") {
            cargo.arg("--release");
        }
        let built = finish(
            cargo.spawn().expect("cannot run cargo"),
            BUILD_LIMIT,
            "cargo build --examples",
        );
        built.assert_success("cargo build --examples");
    });
    profile_dir.join("examples")
}

/// Starts example `name` with `args`, stdout and stderr piped.
fn start(name: &str, args: &[&str], stdin: Stdio) -> Child {
    let path = examples_dir().join(name);
    Command::new(&path)
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {}: {err}", path.display()))
}

/// Runs example `name` with `args` and stdin from /dev/null.
fn run(name: &str, args: &[&str]) -> Ran {
    let child = start(name, args, Stdio::null());
    finish(child, RUN_LIMIT, name)
}

/// Reads a pipe to its end on a thread; the receiver gets the text.
fn drain(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        let _ = tx.send(text);
    });
    rx
}

/// Waits for `child` to exit and its output to end, killing it after `limit`.
fn finish(mut child: Child, limit: Duration, what: &str) -> Ran {
    // Pipes are drained while we wait, so a chatty child never blocks on a full pipe.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {limit:?}");
        }
        thread::sleep(Duration::from_millis(20));
    };
    let left = deadline.saturating_duration_since(Instant::now()) + Duration::from_secs(5);
    let collect = |rx: mpsc::Receiver<String>, which: &str| {
        rx.recv_timeout(left)
            .unwrap_or_else(|_| panic!("{what}: its {which} stayed open after it exited"))
    };
    Ran {
        status,
        stdout: collect(stdout, "stdout"),
        stderr: collect(stderr, "stderr"),
    }
}

/// What `wc` reports for `text`: lines, words, bytes.
fn wc_counts(text: &str) -> (usize, usize, usize) {
    (
        text.matches('\n').count(),
        text.split_whitespace().count(),
        text.len(),
    )
}

fn assert_wc_counter_output(ran: &Ran, text: &str) {
    ran.assert_success("wc_counter");
    let (lines, words, chars) = wc_counts(text);
    assert_eq!(
        ran.stdout,
        format!("Received counts from wc.\nLines: {lines}\nWords: {words}\nCharacters: {chars}\n")
    );
}

#[test]
fn wc_counter_counts_the_seeds_sentence() {
    let ran = run("wc_counter", &[]);
    assert_wc_counter_output(&ran, "accessing protocols through Twisted is fun!\n");
    assert!(
        ran.stdout.contains("Lines: 1\nWords: 6\n"),
        "{}",
        ran.stdout
    );
}

#[test]
fn wc_counter_counts_text_from_its_arguments() {
    let ran = run("wc_counter", &["one", "two  three", "four"]);
    assert_wc_counter_output(&ran, "one two  three four\n");
}

/// The bytes the real `wc` prints for `verses` verses, fed straight through a pipe.
fn wc_output_len(verses: usize) -> usize {
    let verse = "Aleph-null bottles of beer on the wall,\n\
                 Aleph-null bottles of beer,\n\
                 Take one down and pass it around,\n\
                 Aleph-null bottles of beer on the wall.\n";
    let mut wc = Command::new("wc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("wc runs");
    let mut stdin = wc.stdin.take().expect("wc's stdin");
    let writer = thread::spawn(move || stdin.write_all(verse.repeat(verses).as_bytes()));
    let ran = finish(wc, RUN_LIMIT, "wc");
    writer.join().expect("writer").expect("write to wc");
    ran.stdout.len()
}

/// Checks the transcript of `wc_verbose` for `verses` verses.
fn assert_wc_verbose_transcript(ran: &Ran, verses: usize) {
    ran.assert_success("wc_verbose");
    let lines = ran.lines();
    let position = |wanted: &str| {
        let found: Vec<usize> = (0..lines.len()).filter(|&i| lines[i] == wanted).collect();
        assert_eq!(found.len(), 1, "{wanted:?} once in:\n{}", ran.stdout);
        found[0]
    };
    assert_eq!(lines.first(), Some(&"connectionMade!"), "{}", ran.stdout);
    assert_eq!(
        lines.last(),
        Some(&"processEnded, status 0"),
        "{}",
        ran.stdout
    );
    position("inConnectionLost! stdin is closed! (we probably did it)");
    position("errConnectionLost! The child closed their stderr.");
    let exited = position("processExited, status 0");
    assert!(exited < lines.len() - 1);
    let out_lost = position("outConnectionLost! The child closed their stdout!");
    let saw = position(&format!("I saw {} lines", verses * 4));
    assert_eq!(saw, out_lost + 1, "the count comes with outConnectionLost");

    // Every chunk of stdout comes before its loss, and together they are wc's output.
    let mut received = 0;
    for (i, line) in lines.iter().enumerate() {
        if let Some(rest) = line.strip_prefix("outReceived! with ") {
            assert!(
                i < out_lost,
                "data after outConnectionLost:\n{}",
                ran.stdout
            );
            let bytes = rest.strip_suffix(" bytes!").expect("outReceived format");
            received += bytes.parse::<usize>().expect("a byte count");
        }
    }
    assert_eq!(received, wc_output_len(verses), "{}", ran.stdout);
    // connectionMade, 5 more callbacks, the count and the outReceived lines: nothing else.
    let out_lines = lines
        .iter()
        .filter(|l| l.starts_with("outReceived!"))
        .count();
    assert_eq!(lines.len(), 7 + out_lines, "{}", ran.stdout);
}

#[test]
fn wc_verbose_prints_the_seeds_transcript() {
    assert_wc_verbose_transcript(&run("wc_verbose", &[]), 10);
}

#[test]
fn wc_verbose_takes_the_number_of_verses() {
    assert_wc_verbose_transcript(&run("wc_verbose", &["3"]), 3);
}

/// A running `fortune_quoter` and the address it printed.
struct Server {
    child: Child,
    addr: SocketAddr,
}

/// Starts `fortune_quoter --port 0 ARGS…` and reads the address from its first line.
fn start_server(args: &[&str]) -> Server {
    let mut child = start(
        "fortune_quoter",
        &[&["--port", "0"], args].concat(),
        Stdio::null(),
    );
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = tx.send(lines.next());
        // Keep reading so the server never blocks on a full pipe.
        lines.for_each(drop);
    });
    let first = rx.recv_timeout(RUN_LIMIT);
    let Ok(Some(Ok(line))) = first else {
        let _ = child.kill();
        let ran = finish(child, RUN_LIMIT, "fortune_quoter");
        panic!("fortune_quoter printed no address; stderr:\n{}", ran.stderr);
    };
    let addr = line
        .strip_prefix("listening on ")
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("expected `listening on 127.0.0.1:PORT`, got {line:?}"));
    Server { child, addr }
}

/// Connects as a client would and returns everything the server sent before hanging up.
fn ask(addr: SocketAddr) -> String {
    let mut client = TcpStream::connect_timeout(&addr, RUN_LIMIT).expect("connect");
    client
        .set_read_timeout(Some(RUN_LIMIT))
        .expect("read timeout");
    let mut answer = String::new();
    client
        .read_to_string(&mut answer)
        .expect("the server answers and hangs up");
    answer
}

#[test]
fn fortune_quoter_answers_with_the_programs_output() {
    let server = start_server(&["--once", "--program", "echo", "fortune cookie"]);
    assert_eq!(ask(server.addr), "fortune cookie\n");
    finish(server.child, RUN_LIMIT, "fortune_quoter").assert_success("fortune_quoter --once");
}

#[test]
fn fortune_quoter_takes_the_program_as_first_argument() {
    let server = start_server(&["--once", "printf", "%s-%s", "a", "b"]);
    assert_eq!(ask(server.addr), "a-b");
    finish(server.child, RUN_LIMIT, "fortune_quoter").assert_success("fortune_quoter --once");
}

#[test]
fn fortune_quoter_sends_the_error_when_the_program_is_missing() {
    let server = start_server(&["--once", "--program", "/nonexistent/fortune"]);
    let answer = ask(server.addr);
    assert!(
        answer.contains("cannot run /nonexistent/fortune"),
        "client got {answer:?}"
    );
    let ran = finish(server.child, RUN_LIMIT, "fortune_quoter");
    assert_eq!(ran.status.code(), Some(1), "an error answer fails --once");
    assert!(
        ran.stderr.contains("cannot run /nonexistent/fortune"),
        "the server prints it too: {:?}",
        ran.stderr
    );
}

#[test]
fn fortune_quoter_serves_one_client_after_another() {
    let mut server = start_server(&["sh", "-c", "echo answer $$"]);
    let first = ask(server.addr);
    let second = ask(server.addr);
    let _ = server.child.kill();
    let _ = finish(server.child, RUN_LIMIT, "fortune_quoter");
    assert!(first.starts_with("answer "), "{first:?}");
    assert!(second.starts_with("answer "), "{second:?}");
    assert_ne!(first, second, "each connection runs the program anew");
}

#[test]
fn true_false_prints_both_exit_codes() {
    let ran = run("true_false", &[]);
    ran.assert_success("true_false");
    assert_eq!(
        ran.stdout,
        "/bin/true exits with rc=0\n/bin/false exits with rc=1\n"
    );
}

#[test]
fn extra_fd_child_reads_what_the_parent_wrote_to_fd_4() {
    let ran = run("extra_fd", &[]);
    ran.assert_success("extra_fd");
    assert!(
        ran.stdout
            .ends_with("back on fd 1: read from fd 4: hello from the parent, through fd 4\n"),
        "{}",
        ran.stdout
    );
    for fd in 0..=4 {
        let lost = format!("childConnectionLost({fd})");
        let expected = usize::from(fd != 3);
        assert_eq!(
            ran.lines().iter().filter(|l| **l == lost).count(),
            expected,
            "{}",
            ran.stdout
        );
    }
}

#[test]
fn extra_fd_passes_the_message_from_its_arguments() {
    let ran = run("extra_fd", &["it's", "$(not) \"expanded\""]);
    ran.assert_success("extra_fd");
    assert!(
        ran.stdout
            .contains("back on fd 1: read from fd 4: it's $(not) \"expanded\"\n"),
        "{}",
        ran.stdout
    );
}

/// gpg is required, not optional: without it these tests fail and say why.
fn require_gpg() {
    let found = Command::new("gpg")
        .arg("--version")
        .stdout(Stdio::null())
        .status();
    assert!(
        matches!(found, Ok(status) if status.success()),
        "gpg is not installed (install GnuPG, e.g. `apt-get install gnupg`; CI does): {found:?}"
    );
}

#[test]
fn gpg_decrypt_decrypts_through_fds_3_and_4() {
    require_gpg();
    let ran = run("gpg_decrypt", &[]);
    ran.assert_success("gpg_decrypt");
    assert!(
        ran.stdout.contains("-----BEGIN PGP MESSAGE-----"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.lines().contains(&"status: DECRYPTION_OKAY"),
        "{}",
        ran.stdout
    );
    assert_eq!(
        ran.lines().last(),
        Some(&"plaintext: fdscope talks to gpg on fds 3 and 4"),
        "{}",
        ran.stdout
    );
    // gpg's fd 2 is ours: its own messages show up on the example's stderr.
    assert!(ran.stderr.contains("gpg: "), "{}", ran.stderr);
}

#[test]
fn gpg_decrypt_uses_the_message_and_passphrase_given() {
    require_gpg();
    let ran = run("gpg_decrypt", &["a secret, spaces and all", "pass phrase"]);
    ran.assert_success("gpg_decrypt");
    assert!(
        ran.stdout
            .ends_with("plaintext: a secret, spaces and all\n"),
        "{}",
        ran.stdout
    );
}

#[test]
fn gpg_decrypt_fails_with_a_wrong_passphrase() {
    require_gpg();
    let ran = run("gpg_decrypt", &["a secret", "right", "wrong"]);
    assert_eq!(ran.status.code(), Some(1), "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.lines().contains(&"status: DECRYPTION_FAILED"),
        "{}",
        ran.stdout
    );
    assert!(!ran.stdout.contains("plaintext:"), "{}", ran.stdout);
    assert!(!ran.stdout.contains("a secret"), "{}", ran.stdout);
    assert!(
        ran.stderr.contains("gpg --decrypt failed"),
        "{}",
        ran.stderr
    );
}

#[test]
fn inherit_fds_child_writes_straight_to_our_stdout_and_stderr() {
    let ran = run("inherit_fds", &[]);
    ran.assert_success("inherit_fds");
    let lines = ran.lines();
    let made = lines
        .iter()
        .find_map(|l| l.strip_prefix("[parent] connectionMade: pid "))
        .and_then(|rest| rest.strip_suffix(" shares our fds 0, 1 and 2"))
        .unwrap_or_else(|| panic!("connectionMade with the pid in:\n{}", ran.stdout));
    let pid = made.to_string();
    let child_line = format!("child {pid}: this line went straight to fd 1");
    assert!(
        ran.stderr
            .contains(&format!("child {pid}: and this to fd 2")),
        "{}",
        ran.stderr
    );
    // No pipes, so no data and no childConnectionLost: these four lines and nothing else.
    // The child's line may come before or after connectionMade (it does not pass
    // through us), but it was written before the child exited.
    assert_eq!(lines.len(), 4, "{}", ran.stdout);
    assert!(lines[..2].contains(&child_line.as_str()), "{}", ran.stdout);
    assert_eq!(
        lines[2..],
        [
            "[parent] processExited, done, exit code 0",
            "[parent] processEnded, done, exit code 0"
        ],
        "{}",
        ran.stdout
    );
}

#[test]
fn inherit_fds_child_reads_our_stdin_and_passes_on_its_exit_code() {
    let mut child = start("inherit_fds", &["sh", "-c", "cat; exit 3"], Stdio::piped());
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin.write_all(b"typed input\n").expect("write");
    drop(stdin);
    let ran = finish(child, RUN_LIMIT, "inherit_fds");
    assert_eq!(ran.status.code(), Some(3), "{}", ran.stderr);
    assert!(ran.lines().contains(&"typed input"), "{}", ran.stdout);
    assert!(
        ran.stdout
            .ends_with("[parent] processEnded, terminated, exit code 3\n"),
        "{}",
        ran.stdout
    );
}

/// Checks `kill_child`'s transcript for a child killed by `signal` (number, name).
fn assert_killed(ran: &Ran, signal: i32, name: &str) {
    ran.assert_success("kill_child");
    let lines = ran.lines();
    let ended = format!("processEnded, terminated by signal {signal} ({name})");
    assert_eq!(
        lines.get(..2),
        Some(
            &[
                "outReceived: going to sleep",
                &format!("signalProcess('{name}')")
            ][..]
        ),
        "{}",
        ran.stdout
    );
    assert_eq!(lines.last(), Some(&ended.as_str()), "{}", ran.stdout);
    // Where processExited falls relative to the loss of stdout is not fixed.
    let mut middle = lines[2..lines.len() - 1].to_vec();
    middle.sort_unstable();
    let exited = format!("processExited, terminated by signal {signal} ({name})");
    assert_eq!(
        middle,
        ["outConnectionLost", exited.as_str()],
        "{}",
        ran.stdout
    );
}

#[test]
fn kill_child_kills_the_sleeping_child() {
    assert_killed(&run("kill_child", &[]), 9, "SIGKILL");
}

#[test]
fn kill_child_sends_the_signal_given() {
    assert_killed(&run("kill_child", &["term"]), 15, "SIGTERM");
}

#[test]
fn use_pty_child_runs_on_a_terminal() {
    let ran = run("use_pty", &[]);
    ran.assert_success("use_pty");
    // Each fd 1 line is printed with {:?}, so the terminal's \r shows as `\r`.
    for wanted in [
        r#"fd 1: "stdin is a terminal: /dev/"#,
        r#"fd 1: "size (rows cols): 24 80\r\n""#,
        r#"fd 1: "this went to stderr\r\n""#,
        r#"fd 1: "read: typed on the pty\r\n""#,
        "processEnded, done, exit code 0",
    ] {
        assert!(
            ran.stdout.contains(wanted),
            "{wanted:?} in:\n{}",
            ran.stdout
        );
    }
}
