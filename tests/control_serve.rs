//! `fdscope serve` driven end to end by `fdscope ctl` and by raw clients: every verb, the
//! event stream, 100 clients at once, a subscriber that never reads under a flood, garbage
//! on the socket, a client of another user, and the socket file on SIGTERM and SIGKILL.

mod control_support;

use control_support::{ctl, ctl_ok, wait_output, Client, Place, Serve, EXE};
use std::io::Read;
use std::time::{Duration, Instant};

#[test]
fn serve_is_driven_end_to_end_by_ctl() {
    let place = Place::new();
    let mut serve = Serve::start(&place, &["bc"]);
    let s = place.socket.as_path();
    let list = ctl_ok(s, &["list"]);
    assert!(list.contains("bc#1") && list.contains("running"), "{list}");

    // A follower of every instance, from now on.
    let mut follower = Client::connect(s);
    assert_eq!(follower.ask(r#""events""#)["ok"], true);

    ctl_ok(s, &["write", "bc", "0", r"2^10\n"]);
    wait_output(s, "bc#1", "1", "1024");

    assert_eq!(ctl_ok(s, &["start", "bc"]).trim(), "bc#2");
    ctl_ok(s, &["write", "bc#2", "0", r"6*7\n"]);
    ctl_ok(s, &["close", "bc#2", "0"]);
    let waited = ctl(s, &["wait", "bc#2"]);
    assert_eq!(waited.status.code(), Some(0));
    assert_eq!(ctl_ok(s, &["output", "bc#2", "1"]), "42\n");

    // The follower saw bc#2 from its start to its end, as `run --json` lines.
    let mut seen = Vec::new();
    loop {
        let line = follower.line();
        if line["name"] != "bc" || line["instance"] != 2 {
            continue;
        }
        assert_eq!(line["name"], "bc");
        assert!(line["t_ms"].is_number());
        let event = line["event"].as_str().unwrap().to_string();
        seen.push(event.clone());
        if event == "process_ended" {
            assert_eq!(line["status"]["kind"], "done");
            break;
        }
    }
    assert_eq!(seen.first().map(String::as_str), Some("connection_made"));
    assert!(
        seen.contains(&"child_data_received".to_string()),
        "{seen:?}"
    );

    // run's exit code rules for wait; 1 for an error reply.
    ctl_ok(s, &["signal", "bc#1", "KILL"]);
    assert_eq!(ctl(s, &["wait", "bc#1"]).status.code(), Some(128 + 9));
    let unknown = ctl(s, &["stop", "bc#9"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no instance bc#9"));
    assert_eq!(ctl(s, &["signal", "bc#1", "TERM"]).status.code(), Some(1));
    assert_eq!(ctl(s, &["start", "nope"]).status.code(), Some(1));
    // Usage errors are 2.
    assert_eq!(ctl(s, &["write", "bc"]).status.code(), Some(2));

    // stop: TERM (then KILL); a pty instance's screen through output; resize.
    assert_eq!(ctl_ok(s, &["start", "sleeper"]).trim(), "sleeper#1");
    ctl_ok(s, &["stop", "sleeper"]);
    assert_eq!(ctl(s, &["wait", "sleeper"]).status.code(), Some(128 + 15));
    assert_eq!(ctl_ok(s, &["start", "bc-pty"]).trim(), "bc-pty#1");
    ctl_ok(s, &["resize", "bc-pty", "30x100"]);
    ctl_ok(s, &["write", "bc-pty", "0", r"3^4\n"]);
    let screen = wait_output(s, "bc-pty", "0", "81");
    assert!(
        screen.contains("3^4"),
        "the echo is on the screen: {screen:?}"
    );

    let list = ctl_ok(s, &["--json", "list"]);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let ids: Vec<&str> = list["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["bc#1", "bc#2", "sleeper#1", "bc-pty#1"]);

    // quit stops the children, ends serve and removes the socket.
    assert_eq!(ctl(s, &["quit"]).status.code(), Some(0));
    assert_eq!(serve.wait(20), Some(0));
    assert!(!place.socket.exists());
    assert_eq!(ctl(s, &["list"]).status.code(), Some(3));
}

#[test]
fn events_of_one_instance_end_after_its_process_ended() {
    let place = Place::new();
    let _serve = Serve::start(&place, &["bc"]);
    let s = place.socket.as_path();
    let events = std::process::Command::new(EXE)
        .args(["ctl", "--socket"])
        .arg(s)
        .args(["events", "bc#1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The subscription is live before the write: its ok comes first, then events.
    let mut probe = Client::connect(s);
    assert_eq!(probe.ask(r#"{"events":{"id":"bc"}}"#)["events"], "bc#1");
    ctl_ok(s, &["write", "bc", "0", r"1+1\n"]);
    assert_eq!(probe.line()["event"], "child_data_received");
    ctl_ok(s, &["close", "bc", "0"]);
    let out = events.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let last = text.lines().last().unwrap();
    assert!(
        last.starts_with(r#"{"t_ms":"#)
            && last.contains(r#","event":"process_ended","name":"bc","instance":1,"status":{"kind":"done","exit_code":0,"signal":null}}"#),
        "{text}"
    );
    assert!(text.contains(r#""data":"2\n""#), "{text}");
    // The lines are transcript lines: what replay and diagram read back.
    let transcript = fdscope::transcript::read_transcript(text.as_bytes()).unwrap();
    assert!(transcript.errors.is_empty(), "{:?}", transcript.errors);
    assert!(transcript
        .records
        .iter()
        .all(|r| r.name.as_deref() == Some("bc") && r.instance == Some(1)));
}

#[test]
fn a_hundred_clients_at_once_are_all_answered() {
    let place = Place::new();
    let _serve = Serve::start(&place, &["sleeper"]);
    let mut clients: Vec<Client> = (0..100).map(|_| Client::connect(&place.socket)).collect();
    for c in &mut clients {
        c.send(b"\"list\"\n");
    }
    for c in &mut clients {
        let reply = c.line();
        assert_eq!(reply["ok"], true, "{reply}");
        assert_eq!(reply["instances"][0]["id"], "sleeper#1");
    }
}

#[test]
fn a_subscriber_that_never_reads_is_dropped_and_others_are_still_answered() {
    let place = Place::new();
    let _serve = Serve::start(&place, &[]);
    let s = place.socket.as_path();
    let mut lazy = Client::connect(s);
    lazy.send(b"\"events\"\n");
    ctl_ok(s, &["start", "flood"]);
    // Under the flood another client gets every answer (each bounded by a deadline).
    let mut other = Client::connect(s);
    for _ in 0..50 {
        let reply = other.ask(r#""list""#);
        assert_eq!(reply["ok"], true);
    }
    // The lazy one is cut off although the flood goes on: its socket reports the peer's
    // hang-up while the lazy client still has not read a byte (poll, no read).
    use std::os::fd::AsRawFd;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            Instant::now() < deadline,
            "the subscriber was never dropped"
        );
        // nix has no POLLRDHUP (peer closed its end), and drops unknown bits from revents.
        let mut fds = [libc::pollfd {
            fd: lazy.stream.as_raw_fd(),
            events: libc::POLLRDHUP,
            revents: 0,
        }];
        // SAFETY: one valid pollfd, its fd owned by `lazy` for the whole call.
        unsafe { libc::poll(fds.as_mut_ptr(), 1, 100) };
        if fds[0].revents & (libc::POLLRDHUP | libc::POLLHUP) != 0 {
            break;
        }
    }
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0usize;
    loop {
        match lazy.stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(total > 0, "it had been sent events before it was dropped");
    let reply = other.ask(r#""list""#);
    assert_eq!(reply["instances"][0]["state"], "running");
}

#[test]
fn garbage_on_the_socket_gets_error_replies_and_harms_nothing() {
    let place = Place::new();
    let _serve = Serve::start(&place, &["bc"]);
    let mut c = Client::connect(&place.socket);
    for bad in [
        &b"{not json\n"[..],
        b"\xff\xfe\x00\x01\n",
        b"\"fly\"\n",
        b"{\"start\":{\"name\":7}}\n",
        b"{\"stop\":{\"id\":\"ghost#3\"}}\n",
        b"{\"write\":{\"id\":\"bc\",\"fd\":9,\"text\":\"x\"}}\n",
        b"{\"output\":{\"id\":\"bc#x\",\"fd\":1}}\n",
        b"[1,2,3]\n",
    ] {
        c.send(bad);
        let reply = c.line();
        assert_eq!(reply["ok"], false, "{reply}");
        assert!(!reply["error"].as_str().unwrap().is_empty());
    }
    // A line over 1 MiB: one error, and the connection still serves.
    let mut long = vec![b'x'; 2 * 1024 * 1024];
    long.push(b'\n');
    c.send(&long);
    assert!(c.line()["error"].as_str().unwrap().contains("over"));
    assert_eq!(c.ask(r#""list""#)["ok"], true);
    // Random bytes without a newline, then a hang-up: the server does not notice.
    let mut junk = Client::connect(&place.socket);
    junk.send(&[0u8, 159, 146, 150, 1, 2, 3, 255]);
    drop(junk);
    let list = ctl_ok(&place.socket, &["list"]);
    assert!(list.starts_with("bc\n  bc#1 "), "{list}");
}

#[test]
fn a_client_of_another_user_is_refused() {
    if !nix::unistd::geteuid().is_root() {
        println!("skipped: needs root to run a client as nobody");
        return;
    }
    let place = Place::new();
    let _serve = Serve::start(&place, &[]);
    // The mode says 0600: loosen it, the uid check must still refuse.
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(&place.socket).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    std::fs::set_permissions(place.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&place.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            EXE,
            "ctl",
            "--socket",
        ])
        .arg(&place.socket)
        .arg("list")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("refused: uid 65534"), "{stderr}");
    // The owner is still served.
    ctl_ok(&place.socket, &["list"]);
}

#[test]
fn the_socket_goes_on_sigterm_and_a_stale_one_is_replaced_after_sigkill() {
    let place = Place::new();
    let mut serve = Serve::start(&place, &["sleeper"]);
    // A live socket is not taken over.
    let mut second = Serve::spawn(&place, &[]);
    assert_eq!(second.wait(20), Some(1));
    let said = second.rest_of_stderr();
    assert!(
        said.contains(&format!(
            "another fdscope is listening on {}",
            place.socket.display()
        )),
        "{said}"
    );
    let pid = nix::unistd::Pid::from_raw(serve.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    assert_eq!(serve.wait(20), Some(0));
    assert!(!place.socket.exists(), "SIGTERM removes the socket");

    let mut killed = Serve::start(&place, &[]);
    killed.child.kill().unwrap();
    killed.wait(20);
    assert!(place.socket.exists(), "SIGKILL leaves a stale socket");
    assert_eq!(ctl(&place.socket, &["list"]).status.code(), Some(3));
    let _fresh = Serve::start(&place, &["bc"]);
    assert!(ctl_ok(&place.socket, &["list"]).contains("bc#1"));
}
