//! Security promises, on real processes: the uid/gid switch (as root, and refused as
//! nobody), exactly the mapped fds in the child, an empty environment unless asked, and
//! arguments passed verbatim (never through a shell).

mod hardening_support;

use fdscope::{spawn, ChildFd, ProcessSpec};
use hardening_support::*;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const NOBODY: u32 = 65534;

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Runs `cmd` to its end with a deadline.
fn finish(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{cmd:?} did not finish");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn fdscope(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fdscope"));
    cmd.args(args);
    finish(cmd)
}

/// The bytes a `fdscope run --json` transcript shows on `fd`.
fn json_data(out: &Output, fd: i64) -> String {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["event"] == "child_data_received" && l["fd"] == fd)
        .map(|l| l["data"].as_str().expect("text data").to_string())
        .collect()
}

/// Uid, Gid and Groups of a child started with `spec` (it prints its own status).
async fn identity(spec: ProcessSpec) -> (String, String, String) {
    let mut p = spawn(&spec.args(["cat", "/proc/self/status"])).expect("spawn");
    let events = rest(&mut p.events, 10).await;
    let status = check_contract(&events, &[0, 1, 2]);
    assert!(status.success(), "{status}");
    let text = String::from_utf8(data(&events, 1)).unwrap();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    (field("Uid"), field("Gid"), field("Groups"))
}

/// As root: the child runs as the asked uid and gid, with that gid as its only group.
#[tokio::test]
async fn as_root_a_child_switches_to_the_asked_uid_gid_and_groups() {
    assert!(is_root(), "these tests run as root (CI does)");
    let both = identity(ProcessSpec::new("cat").uid(NOBODY).gid(NOBODY)).await;
    assert_eq!(
        both,
        (
            "65534 65534 65534 65534".into(),
            "65534 65534 65534 65534".into(),
            "65534".into()
        )
    );
    // A uid alone keeps the current gid, and supplementary groups still shrink to it.
    let uid_only = identity(ProcessSpec::new("cat").uid(NOBODY)).await;
    assert_eq!(uid_only.0, "65534 65534 65534 65534");
    assert_eq!(uid_only.1, "0 0 0 0");
    assert_eq!(uid_only.2, "0");
}

/// As nobody, asking for uid 0 or gid 0 through `fdscope run`: the switch is refused,
/// the spawn fails with exit 127 and a message, and the child never runs.
#[tokio::test]
async fn as_nobody_a_switch_to_root_fails_and_the_child_never_runs() {
    assert!(is_root(), "these tests run as root (CI does)");
    let dir = tempfile::tempdir().unwrap();
    // Writable by nobody: if the child ran at all, as anyone, the marker would appear.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let marker = dir.path().join("ran");
    let script = format!("touch {}", marker.display());
    for (option, what) in [("--uid", "to uid 0"), ("--gid", "to gid 0")] {
        let exe = env!("CARGO_BIN_EXE_fdscope");
        let spec = ProcessSpec::new(exe)
            .args([exe, "run", option, "0", "--", "sh", "-c", &script])
            .uid(NOBODY)
            .gid(NOBODY)
            .cwd("/");
        let mut p = spawn(&spec).expect("start fdscope as nobody");
        let events = rest(&mut p.events, 20).await;
        let status = check_contract(&events, &[0, 1, 2]);
        let stderr = String::from_utf8_lossy(&data(&events, 2)).into_owned();
        assert_eq!(status.exit_code(), Some(127), "{option}: {stderr}");
        assert!(
            stderr.contains(&format!("cannot switch {what}")) && stderr.contains("not permitted"),
            "{option}: {stderr}"
        );
        assert!(
            data(&events, 1).is_empty(),
            "no events: the child never started"
        );
        assert!(!marker.exists(), "{option}: the child ran");
    }
}

/// Runs `fdscope args…` with extra fds 20, 21 and 22 open and inheritable in fdscope
/// itself (a file and both ends of a pipe, as a careless parent would leave them).
fn fdscope_with_extra_fds(args: &[&str]) -> Output {
    let file = std::fs::File::open("/etc/hostname")
        .or_else(|_| std::fs::File::open("/dev/null"))
        .unwrap();
    let (read, write) = nix::unistd::pipe().unwrap();
    let sources = [
        std::os::fd::AsRawFd::as_raw_fd(&file),
        std::os::fd::AsRawFd::as_raw_fd(&read),
        std::os::fd::AsRawFd::as_raw_fd(&write),
    ];
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fdscope"));
    cmd.args(args);
    // SAFETY: dup2 is async-signal-safe; the closure touches only integers.
    unsafe {
        cmd.pre_exec(move || {
            for (target, source) in [20, 21, 22].into_iter().zip(sources) {
                if libc::dup2(source, target) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let out = finish(cmd);
    drop((file, read, write));
    out
}

/// The headless runner's children get exactly their mapped fds, even when fdscope itself
/// holds inheritable extra fds (20, 21, 22): the child lists its own /proc/PID/fd, and
/// fdscope's listing shows the extra fds really were there.
#[test]
fn headless_children_get_exactly_the_mapped_fds() {
    // A wide line keeps each listing on one line whatever the number of fds (no pipe or
    // command substitution: those would add fds of their own to the shell).
    let list = "ls -C -w 4096 /proc/$PPID/fd; ls -C -w 4096 /proc/$$/fd";
    let out = fdscope_with_extra_fds(&["run", "--json", "--", "sh", "-c", list]);
    let text = json_data(&out, 1);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let parent: Vec<&str> = lines[0].split_whitespace().collect();
    for fd in ["20", "21", "22"] {
        assert!(parent.contains(&fd), "fdscope should hold fd {fd}: {text}");
    }
    assert_eq!(lines[1], "0  1  2", "{text}");

    let out = fdscope_with_extra_fds(&[
        "run",
        "--json",
        "--fd",
        "0=w",
        "--fd",
        "1=r",
        "--fd",
        "2=r",
        "--fd",
        "5=null",
        "--fd",
        "7=r",
        "--",
        "sh",
        "-c",
        "ls -C /proc/$$/fd",
    ]);
    assert_eq!(json_data(&out, 1), "0  1  2  5  7\n");

    let out = fdscope_with_extra_fds(&[
        "run",
        "--json",
        "--pty",
        "--",
        "sh",
        "-c",
        "ls -C /proc/$$/fd",
    ]);
    assert_eq!(json_data(&out, 1), "0  1  2\r\n");

    // A parent fd passed on purpose arrives, the others still do not.
    let out = fdscope_with_extra_fds(&[
        "run",
        "--json",
        "--fd",
        "1=r",
        "--fd",
        "9=21",
        "--",
        "sh",
        "-c",
        "ls -C /proc/$$/fd",
    ]);
    assert_eq!(json_data(&out, 1), "1  9\n");
}

/// The environment is empty unless asked: nothing from fdscope's own, exactly `--env`
/// or the config's `env`, and fdscope's only with `--inherit-env` / `inherit_env`.
#[test]
fn the_environment_is_empty_unless_asked() {
    let run = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fdscope"));
        cmd.args(args).env("FDSCOPE_SECRET", "do-not-leak");
        finish(cmd)
    };
    let out = run(&["run", "--json", "--", "env"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json_data(&out, 1), "", "env printed something");
    let out = run(&["run", "--json", "--env", "ONLY=this", "--", "env"]);
    assert_eq!(json_data(&out, 1), "ONLY=this\n");
    let out = run(&["run", "--json", "--inherit-env", "--", "env"]);
    assert!(json_data(&out, 1).contains("FDSCOPE_SECRET=do-not-leak\n"));

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("env.toml");
    std::fs::write(
        &config,
        "[[command]]\nname = \"plain\"\nprogram = \"env\"\n\n\
         [[command]]\nname = \"some\"\nprogram = \"env\"\nenv = { A = \"1\", B = \"two words\" }\n\n\
         [[command]]\nname = \"inherit\"\nprogram = \"env\"\ninherit_env = true\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    for (name, check) in [
        (
            "plain",
            Box::new(|t: &str| t.is_empty()) as Box<dyn Fn(&str) -> bool>,
        ),
        ("some", Box::new(|t: &str| t == "A=1\nB=two words\n")),
        (
            "inherit",
            Box::new(|t: &str| t.contains("FDSCOPE_SECRET=do-not-leak\n")),
        ),
    ] {
        let out = run(&["run", "--json", "--config", config, name]);
        let text = json_data(&out, 1);
        assert!(check(&text), "{name}: {text:?}");
    }
}

/// Arguments arrive verbatim: shell syntax in them is never interpreted, from the
/// command line and from a config.
#[test]
fn arguments_are_never_passed_through_a_shell() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    let m = marker.display().to_string();
    let args = [
        format!("a; rm -rf {m}; touch {m}"),
        format!("$(touch {m})"),
        format!("`touch {m}`"),
        format!("| touch {m}"),
        "*".to_string(),
        "\"double\" 'single'".to_string(),
        "$HOME ${PATH}".to_string(),
        "back\\slash\\n".to_string(),
        String::new(),
        "  spaces  ".to_string(),
    ];
    let expected: String = args.iter().map(|a| format!("[{a}]\n")).collect();
    let mut cli = vec!["run", "--json", "--", "printf", "[%s]\\n"];
    cli.extend(args.iter().map(String::as_str));
    let out = fdscope(&cli);
    assert_eq!(json_data(&out, 1), expected);

    let toml_args: Vec<String> = std::iter::once("printf".to_string())
        .chain(std::iter::once("[%s]\\n".to_string()))
        .chain(args.iter().cloned())
        .map(|a| format!("{a:?}"))
        .collect();
    let config = dir.path().join("args.toml");
    std::fs::write(
        &config,
        format!(
            "[[command]]\nname = \"verbatim\"\nprogram = \"printf\"\nargs = [{}]\n",
            toml_args.join(", ")
        ),
    )
    .unwrap();
    let out = fdscope(&[
        "run",
        "--json",
        "--config",
        config.to_str().unwrap(),
        "verbatim",
    ]);
    assert_eq!(json_data(&out, 1), expected);
    let out = fdscope(&{
        let mut v = vec!["output", "--", "printf", "[%s]\\n"];
        v.extend(args.iter().map(String::as_str));
        v
    });
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    assert!(!marker.exists(), "a shell ran one of the arguments");
    assert!(Path::new(dir.path()).exists());
}

/// A child mapped onto the engine's own fd numbers does not receive the engine's other
/// fds either (library level): only 0, 1, 2 and 3 while the test process holds many
/// inheritable ones (no close-on-exec: only the engine's own closing keeps them out),
/// low ones and one far above the map.
#[tokio::test]
async fn library_children_get_only_their_map() {
    use nix::fcntl::{fcntl, FcntlArg, FdFlag};
    let mut extra: Vec<std::os::fd::OwnedFd> = (0..5)
        .map(|_| std::fs::File::open("/dev/null").unwrap().into())
        .collect();
    let high = fcntl(&extra[0], FcntlArg::F_DUPFD(200)).unwrap();
    // SAFETY: F_DUPFD returned a new fd that nothing else owns.
    extra.push(unsafe { std::os::fd::FromRawFd::from_raw_fd(high) });
    for fd in &extra {
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty())).unwrap();
        assert_eq!(fcntl(fd, FcntlArg::F_GETFD).unwrap() & libc::FD_CLOEXEC, 0);
    }
    let spec = ProcessSpec::new("sh")
        .args(["sh", "-c", "ls -C /proc/$$/fd"])
        .child_fd(3, ChildFd::Read);
    let mut p = spawn(&spec).unwrap();
    let events = rest(&mut p.events, 10).await;
    check_contract(&events, &[0, 1, 2, 3]);
    assert_eq!(String::from_utf8_lossy(&data(&events, 1)), "0  1  2  3\n");
}
