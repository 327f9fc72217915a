//! Where the console's config comes from: `--config FILE`, else `./fdscope.toml`, else
//! `$XDG_CONFIG_HOME/fdscope/config.toml` (`~/.config` when unset), else the built-in one.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

/// The file `fdscope init` writes and the console looks for first.
pub const LOCAL_FILE: &str = "fdscope.toml";

/// Where the config was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// Given with `--config FILE`.
    Flag(PathBuf),
    /// `./fdscope.toml`.
    Local(PathBuf),
    /// `$XDG_CONFIG_HOME/fdscope/config.toml`.
    User(PathBuf),
    /// The built-in examples.
    Builtin,
}

impl ConfigSource {
    /// The file to read, unless built in.
    pub fn path(&self) -> Option<&Path> {
        match self {
            ConfigSource::Flag(p) | ConfigSource::Local(p) | ConfigSource::User(p) => Some(p),
            ConfigSource::Builtin => None,
        }
    }
}

impl fmt::Display for ConfigSource {
    /// What the console header shows: `config: ./fdscope.toml`, `config: built-in`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.path() {
            Some(path) => write!(f, "{}", path.display()),
            None => f.write_str("built-in"),
        }
    }
}

/// The user's config file: `$XDG_CONFIG_HOME/fdscope/config.toml`, with `$HOME/.config`
/// when `XDG_CONFIG_HOME` is unset, empty or relative (as the XDG spec says).
pub fn user_config(env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let base = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            env("HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|home| home.join(".config"))
        })?;
    Some(base.join("fdscope").join("config.toml"))
}

/// Finds the config: `flag`, else `dir/fdscope.toml`, else the user's config file, else
/// the built-in one. `env` reads the environment (a test passes its own).
pub fn discover(
    flag: Option<&Path>,
    dir: &Path,
    env: impl Fn(&str) -> Option<OsString>,
) -> ConfigSource {
    if let Some(path) = flag {
        return ConfigSource::Flag(path.to_path_buf());
    }
    let local = dir.join(LOCAL_FILE);
    if local.is_file() {
        return ConfigSource::Local(PathBuf::from(".").join(LOCAL_FILE));
    }
    match user_config(env) {
        Some(user) if user.is_file() => ConfigSource::User(user),
        _ => ConfigSource::Builtin,
    }
}

/// [`discover`] in the current directory and environment.
pub fn discover_here(flag: Option<&Path>) -> ConfigSource {
    discover(flag, Path::new("."), |key| std::env::var_os(key))
}

/// The commented starter `fdscope.toml` that `fdscope init` writes.
pub const STARTER_TOML: &str = include_str!("../../assets/starter.toml");

/// Writes the starter config to `path`; never overwrites an existing file.
pub fn init(path: &Path) -> Result<(), String> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                format!("{} already exists; not overwriting it", path.display())
            }
            _ => format!("cannot create {}: {e}", path.display()),
        })?;
    file.write_all(STARTER_TOML.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_config_is_valid() {
        let config = crate::config::Config::parse(STARTER_TOML, "starter.toml").unwrap();
        assert!(config.command("hello").is_some());
    }

    #[test]
    fn xdg_config_home_wins_over_home_and_a_relative_one_is_ignored() {
        let env = |xdg: Option<&'static str>| {
            move |key: &str| match key {
                "XDG_CONFIG_HOME" => xdg.map(OsString::from),
                "HOME" => Some(OsString::from("/home/u")),
                _ => None,
            }
        };
        assert_eq!(
            user_config(env(Some("/x"))),
            Some(PathBuf::from("/x/fdscope/config.toml"))
        );
        assert_eq!(
            user_config(env(Some("rel"))),
            Some(PathBuf::from("/home/u/.config/fdscope/config.toml"))
        );
        assert_eq!(
            user_config(env(None)),
            Some(PathBuf::from("/home/u/.config/fdscope/config.toml"))
        );
    }
}
