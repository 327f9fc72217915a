//! What users expect of a command-line tool: config discovery, `init`, completions, a
//! man page, a JSON Schema editors can use, `--version`.

mod cli_support;

use cli_support::output_within;
use fdscope::config::discover::{discover, ConfigSource};
use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn fdscope_in(dir: &Path, args: &[&str]) -> Output {
    output_within(
        Command::new(env!("CARGO_BIN_EXE_fdscope"))
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null()),
        30,
    )
}

fn manifest(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn schema() -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let out = fdscope_in(dir.path(), &["schema"]);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).expect("the schema is JSON")
}

/// A TOML file as the JSON value editors check against the schema.
fn toml_as_json(text: &str) -> serde_json::Value {
    let value: toml::Value = toml::from_str(text).unwrap();
    serde_json::to_value(value).unwrap()
}

#[test]
fn the_schema_accepts_the_shipped_configs_and_rejects_an_unknown_key() {
    let schema = schema();
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    for file in [
        "config.example.toml",
        "assets/default.toml",
        "assets/starter.toml",
    ] {
        let config = toml_as_json(&std::fs::read_to_string(manifest(file)).unwrap());
        let errors: Vec<String> = validator
            .iter_errors(&config)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{file}: {errors:#?}");
    }
    let typo = toml_as_json("[[command]]\nname = \"x\"\nprogram = \"true\"\nscirpt = []\n");
    assert!(!validator.is_valid(&typo), "an unknown key is an error");
    let bad_step =
        toml_as_json("[[command]]\nname = \"x\"\nprogram = \"true\"\nscript = [ { wait = 1 } ]\n");
    assert!(
        !validator.is_valid(&bad_step),
        "an unknown step is an error"
    );
}

#[test]
fn completions_for_each_shell_name_the_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = fdscope_in(dir.path(), &["completions", shell]);
        assert!(out.status.success(), "{shell}: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        for word in [
            "run", "diagram", "export", "ctl", "serve", "schema", "--listen",
        ] {
            assert!(text.contains(word), "{shell} completion lacks {word}");
        }
    }
    let out = fdscope_in(dir.path(), &["completions", "tcsh"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn the_man_page_is_roff_with_the_options() {
    let dir = tempfile::tempdir().unwrap();
    let out = fdscope_in(dir.path(), &["man"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(".ie") || text.contains("\n.TH fdscope"),
        "{text}"
    );
    assert!(text.contains(".TH fdscope"), "{text}");
    assert!(text.contains("\\-\\-listen"), "{text}");
}

#[test]
fn version_names_the_crate_version() {
    let dir = tempfile::tempdir().unwrap();
    let out = fdscope_in(dir.path(), &["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("fdscope {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn init_writes_a_valid_starter_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let out = fdscope_in(dir.path(), &["init"]);
    assert!(out.status.success(), "{out:?}");
    let written = dir.path().join("fdscope.toml");
    let text = std::fs::read_to_string(&written).unwrap();
    assert!(text.lines().any(|l| l.starts_with('#')), "commented");
    let check = fdscope_in(dir.path(), &["check", "fdscope.toml"]);
    assert!(check.status.success(), "{check:?}");

    std::fs::write(&written, "# mine\n").unwrap();
    let again = fdscope_in(dir.path(), &["init"]);
    assert_eq!(again.status.code(), Some(1), "{again:?}");
    assert!(String::from_utf8_lossy(&again.stderr).contains("fdscope.toml"));
    assert_eq!(std::fs::read_to_string(&written).unwrap(), "# mine\n");
}

#[test]
fn discovery_prefers_the_flag_then_the_directory_then_the_user_file() {
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let xdg = home.path().join("xdg");
    let user = xdg.join("fdscope/config.toml");
    let env_xdg = |key: &str| (key == "XDG_CONFIG_HOME").then(|| OsString::from(&xdg));
    let env_home = |key: &str| (key == "HOME").then(|| home.path().as_os_str().to_owned());

    assert_eq!(discover(None, dir.path(), env_xdg), ConfigSource::Builtin);
    std::fs::create_dir_all(user.parent().unwrap()).unwrap();
    std::fs::write(&user, "").unwrap();
    assert_eq!(
        discover(None, dir.path(), env_xdg),
        ConfigSource::User(user.clone())
    );
    // Without XDG_CONFIG_HOME: ~/.config.
    let dotconfig = home.path().join(".config/fdscope/config.toml");
    std::fs::create_dir_all(dotconfig.parent().unwrap()).unwrap();
    std::fs::write(&dotconfig, "").unwrap();
    assert_eq!(
        discover(None, dir.path(), env_home),
        ConfigSource::User(dotconfig)
    );

    std::fs::write(dir.path().join("fdscope.toml"), "").unwrap();
    let local = discover(None, dir.path(), env_xdg);
    assert_eq!(local.to_string(), "./fdscope.toml");
    let flag = Path::new("other.toml");
    assert_eq!(
        discover(Some(flag), dir.path(), env_xdg),
        ConfigSource::Flag(flag.to_path_buf())
    );
}
