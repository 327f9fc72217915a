//! Spawning: program lookup, argv, environment, cwd, uid/gid, and the errors of a spawn
//! that cannot happen. Real processes only.

mod engine_support;

use engine_support::*;
use fdscope::{spawn, ChildFd, ExitStatus, ProcessSpec, PtySize, SpawnError};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Writes an executable file `name` with `body` into `dir`.
fn script(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Output of a child that must succeed; panics with the transcript otherwise.
async fn stdout_of(spec: &ProcessSpec) -> String {
    let run = run_all(spec).await;
    assert_eq!(
        run.status(),
        ExitStatus::Done,
        "child failed: {}",
        run.show()
    );
    run.text(1)
}

#[tokio::test]
async fn bare_name_is_searched_in_the_childs_path() {
    let dir = tempfile::tempdir().unwrap();
    script(dir.path(), "fdscope-probe", "#!/bin/sh\necho probe ran\n");
    let path = format!("/nonexistent-dir:{}", dir.path().display());
    let spec = ProcessSpec::new("fdscope-probe").env("PATH", &path);
    assert_eq!(stdout_of(&spec).await, "probe ran\n");

    // The same name with a PATH that lacks the directory: not found, and the error says so.
    let spec = ProcessSpec::new("fdscope-probe").env("PATH", "/usr/bin:/bin");
    let err = spawn(&spec).expect_err("must not be found");
    let text = err.to_string();
    assert!(text.contains("fdscope-probe"), "{text}");
    assert!(text.contains("No such file or directory"), "{text}");
}

#[tokio::test]
async fn without_path_the_default_is_usr_bin_and_bin() {
    // Empty environment: no PATH at all, so `/usr/bin:/bin` is searched.
    let spec = ProcessSpec::new("env");
    assert_eq!(stdout_of(&spec).await, "");
    let spec = ProcessSpec::new("sh").args(["sh", "-c", "echo found"]);
    assert_eq!(stdout_of(&spec).await, "found\n");
}

#[tokio::test]
async fn script_without_shebang_runs_with_sh() {
    let dir = tempfile::tempdir().unwrap();
    let path = script(dir.path(), "plain", "echo plain script \"$1\"\n");
    let spec = ProcessSpec::new(path.as_os_str()).args(["plain", "first arg"]);
    assert_eq!(stdout_of(&spec).await, "plain script first arg\n");
}

#[tokio::test]
async fn relative_program_is_resolved_in_the_new_cwd() {
    let dir = tempfile::tempdir().unwrap();
    script(dir.path(), "here", "#!/bin/sh\necho ran here\n");
    let spec = ProcessSpec::new("./here").cwd(dir.path());
    assert_eq!(stdout_of(&spec).await, "ran here\n");
}

#[tokio::test]
async fn args0_is_the_process_name() {
    let spec = ProcessSpec::new("cat").args(["kitty", "/proc/self/cmdline"]);
    assert_eq!(stdout_of(&spec).await, "kitty\0/proc/self/cmdline\0");

    let spec = ProcessSpec::new("sh").args(["my-shell", "-c", "echo $0"]);
    assert_eq!(stdout_of(&spec).await, "my-shell\n");

    // No args at all: argv is [program].
    let spec = ProcessSpec::new("/bin/cat").args(Vec::<String>::new());
    let spec = spec.child_fd(0, ChildFd::Null);
    assert_eq!(stdout_of(&spec).await, "");
    let spec = ProcessSpec::new("sh").child_fd(0, ChildFd::Null);
    let run = run_all(&spec).await;
    assert_eq!(run.status(), ExitStatus::Done, "{}", run.show());
}

#[tokio::test]
async fn environment_is_empty_unless_given() {
    assert_eq!(stdout_of(&ProcessSpec::new("/usr/bin/env")).await, "");
    let spec = ProcessSpec::new("/usr/bin/env")
        .env("ZED", "last")
        .env("ALPHA", "one two")
        .env("EMPTY", "");
    assert_eq!(stdout_of(&spec).await, "ALPHA=one two\nEMPTY=\nZED=last\n");
}

#[tokio::test]
async fn inherit_env_starts_from_the_parents_environment() {
    let spec = ProcessSpec::new("/usr/bin/env")
        .args(["env", "-0"])
        .inherit_env(true)
        .env("FDSCOPE_TEST_OVERRIDE", "from-spec");
    let out = stdout_of(&spec).await;
    let child: BTreeMap<OsString, OsString> = out
        .into_bytes()
        .split(|b| *b == 0)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let eq = entry.iter().position(|b| *b == b'=').expect("NAME=value");
            (
                OsString::from_vec(entry[..eq].to_vec()),
                OsString::from_vec(entry[eq + 1..].to_vec()),
            )
        })
        .collect();
    let mut expected: BTreeMap<OsString, OsString> = std::env::vars_os().collect();
    expected.insert("FDSCOPE_TEST_OVERRIDE".into(), "from-spec".into());
    assert_eq!(child, expected);
}

#[tokio::test]
async fn cwd_is_where_the_child_starts() {
    let dir = tempfile::tempdir().unwrap();
    let spec = ProcessSpec::new("/bin/pwd")
        .args(["pwd", "-P"])
        .cwd(dir.path());
    let expected = format!("{}\n", dir.path().canonicalize().unwrap().display());
    assert_eq!(stdout_of(&spec).await, expected);
}

fn assert_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test switches uid/gid and must run as root (CI runs as root)"
    );
}

#[tokio::test]
async fn uid_and_gid_are_switched_and_groups_dropped() {
    assert_root();
    let spec = ProcessSpec::new("cat")
        .args(["cat", "/proc/self/status"])
        .uid(65534)
        .gid(65534);
    let status = stdout_of(&spec).await;
    assert_eq!(status_field(&status, "Uid"), vec!["65534"; 4], "{status}");
    assert_eq!(status_field(&status, "Gid"), vec!["65534"; 4], "{status}");
    let groups = status_field(&status, "Groups");
    assert!(
        groups.is_empty() || groups == ["65534"],
        "supplementary groups must be dropped: {groups:?}"
    );

    // uid alone: the group stays root's, supplementary groups still dropped to it.
    let spec = ProcessSpec::new("cat")
        .args(["cat", "/proc/self/status"])
        .uid(65534);
    let status = stdout_of(&spec).await;
    assert_eq!(status_field(&status, "Uid"), vec!["65534"; 4], "{status}");
    assert_eq!(status_field(&status, "Gid"), vec!["0"; 4], "{status}");
    let groups = status_field(&status, "Groups");
    assert!(groups.is_empty() || groups == ["0"], "{groups:?}");

    // On a pty: the terminal is set up as root, then the identity switched.
    let spec = ProcessSpec::new("sh")
        .args(["sh", "-c", "tty; id -u"])
        .pty(PtySize::default())
        .uid(65534)
        .gid(65534);
    let out = stdout_of(&spec).await;
    assert!(
        out.starts_with("/dev/pts/") && out.ends_with("\r\n65534\r\n"),
        "{out:?}"
    );

    // gid alone: still root, in group 65534 only.
    let spec = ProcessSpec::new("cat")
        .args(["cat", "/proc/self/status"])
        .gid(65534);
    let status = stdout_of(&spec).await;
    assert_eq!(status_field(&status, "Uid"), vec!["0"; 4], "{status}");
    assert_eq!(status_field(&status, "Gid"), vec!["65534"; 4], "{status}");
}

/// Runs this test binary again, as `helper` with `FDSCOPE_ENGINE_HELPER=mode`, through the
/// engine itself; returns the helper's stdout.
async fn run_helper(mode: &str, uid: Option<u32>) -> String {
    // A copy in a world-readable directory: the build directory may sit where nobody
    // cannot reach it (under /root, say).
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = dir.path().join("engine-spawn-helper");
    std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut spec = ProcessSpec::new(exe.as_os_str())
        .args([
            exe.as_os_str().to_owned(),
            "helper".into(),
            "--exact".into(),
            "--nocapture".into(),
            "--test-threads=1".into(),
        ])
        .env("FDSCOPE_ENGINE_HELPER", mode)
        .cwd(dir.path())
        .child_fd(0, ChildFd::Null);
    if let Some(uid) = uid {
        spec = spec.uid(uid).gid(uid);
    }
    let run = run_all(&spec).await;
    assert_eq!(
        run.status(),
        ExitStatus::Done,
        "helper {mode} failed:\nstdout: {}\nstderr: {}",
        run.text(1),
        run.text(2)
    );
    run.text(1)
}

/// Lines `KEY: value` the helper printed, keyed.
fn helper_lines(out: &str) -> BTreeMap<String, String> {
    out.lines()
        // libtest prints "test helper ... " in front of the first line.
        .filter_map(|l| l.split_once("HELPER ").map(|(_, rest)| rest))
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn refused_identity_switch_is_an_error_naming_the_program() {
    assert_root();
    let out = run_helper("nobody", Some(65534)).await;
    let lines = helper_lines(&out);
    let uid = lines
        .get("uid")
        .unwrap_or_else(|| panic!("no uid line in {out}"));
    assert!(uid.contains("true"), "{uid}");
    assert!(uid.contains("uid 0"), "{uid}");
    assert!(uid.contains("Operation not permitted"), "{uid}");
    let gid = lines
        .get("gid")
        .unwrap_or_else(|| panic!("no gid line in {out}"));
    assert!(gid.contains("gid 0"), "{gid}");
    assert!(gid.contains("Operation not permitted"), "{gid}");
    assert_eq!(lines.get("zombies").map(String::as_str), Some("0"), "{out}");
}

#[tokio::test]
async fn supplementary_groups_of_the_parent_are_dropped() {
    assert_root();
    let out = run_helper("groups", None).await;
    let lines = helper_lines(&out);
    assert_eq!(
        lines.get("parent groups").map(String::as_str),
        Some("1 2 3"),
        "{out}"
    );
    let child = lines.get("child groups").expect("child groups line");
    assert!(
        child.is_empty() || child == "65534",
        "child kept supplementary groups: {child:?}"
    );
    assert_eq!(lines.get("child gid").map(String::as_str), Some("65534"));
}

/// Not a test of its own: the body of the re-executed helper for the two tests above.
/// Without `FDSCOPE_ENGINE_HELPER` it does nothing.
#[tokio::test]
async fn helper() {
    let Ok(mode) = std::env::var("FDSCOPE_ENGINE_HELPER") else {
        return;
    };
    match mode.as_str() {
        "nobody" => {
            let uid = spawn(&ProcessSpec::new("true").uid(0)).expect_err("setuid(0) as nobody");
            assert!(matches!(uid, SpawnError::Identity { .. }), "{uid:?}");
            println!("HELPER uid: {uid}");
            let gid = spawn(&ProcessSpec::new("true").gid(0)).expect_err("setgid(0) as nobody");
            println!("HELPER gid: {gid}");
            println!("HELPER zombies: {}", zombie_children().len());
        }
        "groups" => {
            let groups = [1, 2, 3].map(nix::unistd::Gid::from_raw);
            nix::unistd::setgroups(&groups).expect("setgroups as root");
            let own = std::fs::read_to_string("/proc/self/status").unwrap();
            println!(
                "HELPER parent groups: {}",
                status_field(&own, "Groups").join(" ")
            );
            let spec = ProcessSpec::new("cat")
                .args(["cat", "/proc/self/status"])
                .uid(65534)
                .gid(65534);
            let status = stdout_of(&spec).await;
            println!(
                "HELPER child groups: {}",
                status_field(&status, "Groups").join(" ")
            );
            println!("HELPER child gid: {}", status_field(&status, "Gid")[0]);
        }
        other => panic!("unknown helper mode {other}"),
    }
}

/// The comm (thread name) of the calling thread: a child that fails before exec keeps it.
fn own_comm() -> String {
    std::fs::read_to_string("/proc/thread-self/comm")
        .unwrap()
        .trim_end()
        .to_string()
}

/// No zombie child of this process carries the comm of this test's thread (a child that
/// failed between fork and exec would).
fn assert_no_zombie_of_this_test() {
    let comm = own_comm();
    let mine: Vec<_> = zombie_children()
        .into_iter()
        .filter(|(_, c)| *c == comm)
        .collect();
    assert!(mine.is_empty(), "failed spawns left zombies: {mine:?}");
}

#[tokio::test]
async fn spawn_errors_name_the_program_and_the_os_reason() {
    let dir = tempfile::tempdir().unwrap();
    let not_exec = dir.path().join("not-executable");
    std::fs::write(&not_exec, "#!/bin/sh\necho no\n").unwrap();
    std::fs::set_permissions(&not_exec, std::fs::Permissions::from_mode(0o644)).unwrap();
    let missing_dir = dir.path().join("no-such-dir");

    let cases: Vec<(ProcessSpec, Vec<String>)> = vec![
        (
            ProcessSpec::new("fdscope-no-such-program"),
            vec![
                "fdscope-no-such-program".into(),
                "No such file or directory".into(),
            ],
        ),
        (
            ProcessSpec::new("/nonexistent/prog"),
            vec![
                "/nonexistent/prog".into(),
                "No such file or directory".into(),
            ],
        ),
        (
            ProcessSpec::new("true").cwd(&missing_dir),
            vec![
                "true".into(),
                missing_dir.display().to_string(),
                "No such file or directory".into(),
            ],
        ),
        (
            ProcessSpec::new(not_exec.as_os_str()),
            vec![not_exec.display().to_string(), "Permission denied".into()],
        ),
        (
            ProcessSpec::new(dir.path().as_os_str()),
            vec![dir.path().display().to_string(), "Permission denied".into()],
        ),
        (
            ProcessSpec::new("true").cwd(&not_exec),
            vec![not_exec.display().to_string(), "Not a directory".into()],
        ),
    ];
    for (spec, needles) in cases {
        // Root ignores file modes, but not a missing execute bit: EACCES either way.
        let err = match spawn(&spec) {
            Err(e) => e,
            Ok(_) => panic!("spawn of {spec:?} must fail"),
        };
        let text = err.to_string();
        for needle in &needles {
            assert!(text.contains(needle.as_str()), "{text:?} lacks {needle:?}");
        }
        if spec.cwd.is_some() {
            assert!(matches!(err, SpawnError::Cwd { .. }), "{err:?}");
        } else {
            assert!(matches!(err, SpawnError::Exec { .. }), "{err:?}");
        }
    }
    assert_no_zombie_of_this_test();
}

#[tokio::test]
async fn bad_maps_and_bad_strings_are_errors_not_panics() {
    let closed = ProcessSpec::new("true").child_fd(7, ChildFd::Parent(987_654));
    let err = spawn(&closed).expect_err("closed parent fd");
    assert!(matches!(err, SpawnError::FdMap { .. }), "{err:?}");
    assert!(err.to_string().contains("true"), "{err}");

    let pty_std = ProcessSpec::new("true")
        .pty(PtySize::default())
        .child_fd(1, ChildFd::Read);
    let err = spawn(&pty_std).expect_err("fd 1 beside a pty");
    assert!(matches!(err, SpawnError::FdMap { .. }), "{err:?}");

    let nul = ProcessSpec::new("echo").args(["echo", "a\0b"]);
    let err = spawn(&nul).expect_err("NUL in an argument");
    assert!(err.to_string().contains("echo"), "{err}");
    assert_no_zombie_of_this_test();
}

#[test]
fn spawn_outside_a_runtime_is_an_error() {
    let err = spawn(&ProcessSpec::new("true")).expect_err("no runtime");
    assert!(matches!(err, SpawnError::NoRuntime { .. }), "{err:?}");
    assert_no_zombie_of_this_test();
}
