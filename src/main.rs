//! The `fdscope` command: the interactive console by default, the headless subcommands
//! `run`, `output`, `value` and `check`, and the conventions `init`, `completions`, `man`
//! and `schema`.

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use fdscope::config::{Config, StartAction};
use fdscope::headless::{self, Job, RunOptions};
use fdscope::spawn::parse_signal;
use fdscope::{ChildFd, ProcessSpec, PtySize, Signal};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code for bad usage (what clap uses too).
const USAGE: i32 = 2;

#[derive(Parser)]
#[command(
    name = "fdscope",
    version,
    about = "Watch and drive child processes: every fd, pipe, exit and end event."
)]
struct Cli {
    /// Config file for the console (default: ./fdscope.toml, else
    /// $XDG_CONFIG_HOME/fdscope/config.toml, else the built-in examples).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Start this configured command when the console opens (repeatable).
    #[arg(long, value_name = "NAME")]
    start: Vec<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a program (or configured commands) and print its event transcript.
    Run(RunArgs),
    /// Print a program's stdout; fail, showing the stderr text, if it writes to stderr.
    Output(OneShotArgs),
    /// Print a program's exit code.
    Value(OneShotArgs),
    /// Check a config file; print every error with file:line:column.
    Check {
        /// The config file.
        file: PathBuf,
    },
    /// Write a commented starter config (never overwrites an existing file).
    Init {
        /// Where to write it.
        #[arg(default_value = fdscope::config::discover::LOCAL_FILE)]
        file: PathBuf,
    },
    /// Print a shell completion script (e.g. `fdscope completions bash > /etc/bash_completion.d/fdscope`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff; `fdscope man | man -l -`).
    Man,
    /// Print the JSON Schema of the config file (for taplo / Even Better TOML: `#:schema`).
    Schema,
}

/// How to start a child (shared by run, output, value).
#[derive(Args)]
struct SpawnArgs {
    /// Map child fd N: r (parent reads), w (parent writes), null, or a parent fd number.
    /// Given once or more, replaces the default map {0:w, 1:r, 2:r}.
    #[arg(long = "fd", value_name = "N=SPEC", value_parser = parse_fd, allow_hyphen_values = true)]
    fds: Vec<(i32, ChildFd)>,
    /// Run the child on a pseudo-terminal (24x80 unless --pty-size).
    #[arg(long)]
    pty: bool,
    /// The pty's size (implies --pty).
    #[arg(long, value_name = "ROWSxCOLS")]
    pty_size: Option<PtySize>,
    /// Set an environment variable of the child (the environment is empty otherwise).
    #[arg(long = "env", value_name = "K=V", value_parser = parse_env)]
    env: Vec<(OsString, OsString)>,
    /// Start from fdscope's own environment.
    #[arg(long)]
    inherit_env: bool,
    /// Directory to start the child in.
    #[arg(long, value_name = "DIR")]
    cwd: Option<PathBuf>,
    /// User id to run as.
    #[arg(long, allow_hyphen_values = true)]
    uid: Option<u32>,
    /// Group id to run as.
    #[arg(long, allow_hyphen_values = true)]
    gid: Option<u32>,
    /// The child's argv[0] (default: the program).
    #[arg(long, value_name = "NAME")]
    argv0: Option<OsString>,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    spawn: SpawnArgs,
    /// Write TEXT (escapes: \n \t \\ \xNN) to child fd FD at start, in order with --close.
    #[arg(long, value_name = "FD=TEXT", value_parser = parse_write, allow_hyphen_values = true)]
    write: Vec<(i32, Vec<u8>)>,
    /// Close child fd FD at start (after the --write options given before it).
    #[arg(long, value_name = "FD", value_parser = parse_fd_number, allow_hyphen_values = true)]
    close: Vec<i32>,
    /// Send signal SIG to the child MS milliseconds after start.
    #[arg(long, value_name = "MS:SIG", value_parser = parse_timed_signal, allow_hyphen_values = true)]
    signal: Vec<(u64, Signal)>,
    /// Print JSON lines instead of text.
    #[arg(long)]
    json: bool,
    /// Write the events to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    /// Print chunk lengths only, not their bytes.
    #[arg(long)]
    no_data: bool,
    /// Print only per-fd byte counts and the final status.
    #[arg(long)]
    summary: bool,
    /// Run the commands NAME... of this config file instead of a program.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// PROGRAM [ARG...] (after --), or NAME... with --config.
    #[arg(trailing_var_arg = true, value_name = "PROGRAM|NAME")]
    command: Vec<OsString>,
}

#[derive(Args)]
struct OneShotArgs {
    #[command(flatten)]
    spawn: SpawnArgs,
    /// PROGRAM [ARG...]
    #[arg(trailing_var_arg = true, required = true, value_name = "PROGRAM")]
    command: Vec<OsString>,
}

/// Highest child fd the engine accepts (`MAX_CHILD_FD` in `spawn::fdmap`).
const MAX_CHILD_FD: i32 = 4095;

/// A child fd number: 0 to MAX_CHILD_FD.
fn parse_fd_number(text: &str) -> Result<i32, String> {
    let fd: i32 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not an fd number"))?;
    if !(0..=MAX_CHILD_FD).contains(&fd) {
        return Err(format!("fd {fd} is out of range 0..={MAX_CHILD_FD}"));
    }
    Ok(fd)
}

fn parse_fd(text: &str) -> Result<(i32, ChildFd), String> {
    let (fd, spec) = text.split_once('=').ok_or("expected N=SPEC, e.g. 3=w")?;
    let fd = parse_fd_number(fd)?;
    Ok((fd, spec.trim().parse()?))
}

fn parse_env(text: &str) -> Result<(OsString, OsString), String> {
    let (key, value) = text.split_once('=').ok_or("expected K=V")?;
    if key.is_empty() {
        return Err("the variable name is empty".into());
    }
    Ok((key.into(), value.into()))
}

fn parse_write(text: &str) -> Result<(i32, Vec<u8>), String> {
    let (fd, data) = text
        .split_once('=')
        .ok_or("expected FD=TEXT, e.g. 0='2^10\\n'")?;
    let fd = parse_fd_number(fd)?;
    Ok((fd, fdscope::escape::unescape(data)))
}

fn parse_timed_signal(text: &str) -> Result<(u64, Signal), String> {
    let (ms, sig) = text
        .split_once(':')
        .ok_or("expected MS:SIG, e.g. 500:TERM")?;
    let ms: u64 = ms
        .trim()
        .parse()
        .map_err(|_| format!("`{ms}` is not a number of milliseconds"))?;
    let sig = parse_signal(sig).ok_or_else(|| format!("`{sig}` is not a signal name or number"))?;
    Ok((ms, sig))
}

impl SpawnArgs {
    fn spec(&self, command: &[OsString]) -> Result<ProcessSpec, String> {
        let (program, rest) = command
            .split_first()
            .ok_or("no PROGRAM given (usage: fdscope run -- PROGRAM [ARG...])")?;
        let argv0 = self.argv0.clone().unwrap_or_else(|| program.clone());
        let mut spec = ProcessSpec::new(program)
            .args(std::iter::once(argv0).chain(rest.iter().cloned()))
            .inherit_env(self.inherit_env);
        for (key, value) in &self.env {
            spec = spec.env(key, value);
        }
        spec.cwd = self.cwd.clone();
        spec.uid = self.uid;
        spec.gid = self.gid;
        if !self.fds.is_empty() {
            let mut seen = std::collections::BTreeSet::new();
            if let Some((fd, _)) = self.fds.iter().find(|(fd, _)| !seen.insert(*fd)) {
                return Err(format!("--fd {fd} is given twice"));
            }
            spec = spec.child_fds(self.fds.iter().copied());
        }
        if self.pty || self.pty_size.is_some() {
            if let Some((fd, _)) = self.fds.iter().find(|(fd, _)| *fd <= 2) {
                return Err(format!(
                    "--fd {fd} clashes with --pty: the pty provides fds 0, 1 and 2"
                ));
            }
            spec = spec.pty(self.pty_size.unwrap_or_default());
        }
        Ok(spec)
    }
}

/// The --write and --close actions in the order they were given on the command line.
fn ordered_actions(args: &RunArgs, matches: &ArgMatches) -> Vec<StartAction> {
    let indices = |id: &str| -> Vec<usize> {
        matches
            .indices_of(id)
            .map(|i| i.collect())
            .unwrap_or_default()
    };
    let writes = indices("write").into_iter().zip(
        args.write
            .iter()
            .cloned()
            .map(|(fd, data)| StartAction::Write { fd, data }),
    );
    let closes = indices("close")
        .into_iter()
        .zip(args.close.iter().map(|&fd| StartAction::Close { fd }));
    let mut ordered: Vec<(usize, StartAction)> = writes.chain(closes).collect();
    ordered.sort_by_key(|(index, _)| *index);
    let signals = args
        .signal
        .iter()
        .map(|&(after_ms, signal)| StartAction::Signal { after_ms, signal });
    ordered
        .into_iter()
        .map(|(_, action)| action)
        .chain(signals)
        .collect()
}

fn usage_error(message: impl std::fmt::Display) -> i32 {
    eprintln!("fdscope: {message}");
    USAGE
}

fn runtime() -> tokio::runtime::Runtime {
    // One thread: on two cores the current-thread runtime drains pipes fastest.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("cannot start the tokio runtime")
}

fn load_config(path: &std::path::Path) -> Result<Config, i32> {
    Config::load(path).map_err(|e| {
        eprintln!("fdscope: --config {}: unusable config:", path.display());
        eprint!("{e}");
        USAGE
    })
}

fn run_command(args: RunArgs, matches: &ArgMatches) -> i32 {
    let actions = ordered_actions(&args, matches);
    let jobs = match &args.config {
        Some(path) => {
            let config = match load_config(path) {
                Ok(config) => config,
                Err(code) => return code,
            };
            if args.command.is_empty() {
                return usage_error("--config needs at least one command NAME");
            }
            let mut jobs = Vec::new();
            for name in &args.command {
                let name = name.to_string_lossy();
                let Some(command) = config.command(&name) else {
                    let known: Vec<&str> =
                        config.commands.iter().map(|c| c.name.as_str()).collect();
                    return usage_error(format!(
                        "no command `{name}` in {} (it has: {})",
                        path.display(),
                        known.join(", ")
                    ));
                };
                let mut all = command.on_start.clone();
                all.extend(actions.iter().cloned());
                jobs.push(Job {
                    name: Some(command.name.clone()),
                    spec: command.spec.clone(),
                    actions: all,
                });
            }
            jobs
        }
        None => match args.spawn.spec(&args.command) {
            Ok(spec) => vec![Job {
                name: None,
                spec,
                actions,
            }],
            Err(message) => return usage_error(message),
        },
    };
    let options = RunOptions {
        json: args.json,
        no_data: args.no_data,
        summary: args.summary,
        events: args.events.clone(),
    };
    match runtime().block_on(headless::run(jobs, &options)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("fdscope: {e}");
            1
        }
    }
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let code = match cli.command {
        Some(Command::Run(args)) => {
            let sub = matches.subcommand_matches("run").expect("run matched");
            run_command(args, sub)
        }
        Some(Command::Output(args)) => match args.spawn.spec(&args.command) {
            Ok(spec) => runtime().block_on(headless::output(&spec)),
            Err(message) => usage_error(message),
        },
        Some(Command::Value(args)) => match args.spawn.spec(&args.command) {
            Ok(spec) => runtime().block_on(headless::value(&spec)),
            Err(message) => usage_error(message),
        },
        Some(Command::Check { file }) => match Config::load(&file) {
            Ok(config) => {
                let names: Vec<&str> = config.commands.iter().map(|c| c.name.as_str()).collect();
                println!(
                    "{}: ok, {} commands: {}",
                    file.display(),
                    names.len(),
                    names.join(", ")
                );
                0
            }
            Err(e) => {
                eprint!("{e}");
                1
            }
        },
        Some(Command::Init { file }) => match fdscope::config::discover::init(&file) {
            Ok(()) => {
                println!("wrote {}", file.display());
                0
            }
            Err(message) => {
                eprintln!("fdscope: {message}");
                1
            }
        },
        Some(Command::Completions { shell }) => {
            clap_complete::generate(shell, &mut Cli::command(), "fdscope", &mut std::io::stdout());
            0
        }
        Some(Command::Man) => {
            let mut out = std::io::stdout();
            match clap_mangen::Man::new(Cli::command()).render(&mut out) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("fdscope: {e}");
                    1
                }
            }
        }
        Some(Command::Schema) => {
            println!("{}", fdscope::config::schema::json_schema());
            0
        }
        None => {
            let source = fdscope::config::discover::discover_here(cli.config.as_deref());
            let config = match source.path() {
                Some(path) => match load_config(path) {
                    Ok(config) => config,
                    Err(code) => return ExitCode::from(code as u8),
                },
                None => Config::builtin(),
            };
            if let Some(name) = cli.start.iter().find(|n| config.command(n).is_none()) {
                let known: Vec<&str> = config.commands.iter().map(|c| c.name.as_str()).collect();
                let code = usage_error(format!(
                    "--start {name}: no command of that name in the config (it has: {})",
                    known.join(", ")
                ));
                return ExitCode::from(code as u8);
            }
            match fdscope::tui::run_from(config, source.to_string(), cli.start) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("fdscope: {e:#}");
                    1
                }
            }
        }
    };
    ExitCode::from(code.clamp(0, 255) as u8)
}
