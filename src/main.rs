//! The `fdscope` command: the interactive console by default, the headless subcommands
//! `run`, `output`, `value` and `check`, and the conventions `init`, `completions`, `man`
//! and `schema`.

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use fdscope::config::Config;
use fdscope::headless::{self, CliStep, Job, RunOptions};
use fdscope::spawn::{parse_fd_assignment as parse_fd, parse_fd_number, parse_signal};
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
    /// Also serve remote-control clients (`fdscope ctl`) on this Unix socket (default:
    /// $XDG_RUNTIME_DIR/fdscope.sock, else /tmp/fdscope-UID/fdscope.sock).
    #[arg(long, value_name = "PATH", num_args = 0..=1, default_missing_value = "")]
    listen: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

/// The socket to listen on: the given path, or the default for `--listen` alone.
fn listen_path(path: Option<PathBuf>) -> PathBuf {
    path.filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(fdscope::control::default_path)
}

#[derive(Subcommand)]
enum Command {
    /// Run a program (or configured commands) and print its event transcript.
    Run(Box<RunArgs>),
    /// Print a program's stdout; fail, showing the stderr text, if it writes to stderr.
    Output(OneShotArgs),
    /// Print a program's exit code.
    Value(OneShotArgs),
    /// Check a config file; print every error with file:line:column.
    Check {
        /// The config file.
        file: PathBuf,
    },
    /// The console without a screen, serving remote-control clients until `ctl quit`,
    /// SIGTERM or SIGINT (then its children are stopped as `q` does).
    Serve {
        /// Config file (default: the built-in examples).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The Unix socket (default: as for the console's --listen).
        #[arg(long, value_name = "PATH", num_args = 0..=1, default_missing_value = "")]
        listen: Option<PathBuf>,
        /// Start this configured command at once (repeatable).
        #[arg(long, value_name = "NAME")]
        start: Vec<String>,
    },
    /// Ask a running console or server (`--listen`, `serve`) to do something.
    Ctl(fdscope::control::client::CtlArgs),
    /// The console on a recorded transcript (JSON lines): read-only, Space steps one event,
    /// Enter plays, `]`/`[` faster/slower, `g` jumps to the end.
    Replay {
        /// The transcript (from run --json, --events, the console's w, ctl events, log_dir).
        file: PathBuf,
    },
    /// Draw a recorded transcript (JSON lines) as an SVG sequence diagram of the fd order.
    Diagram {
        /// The transcript (from run --json, --events, the console's w, log_dir).
        file: PathBuf,
        /// Where to write the SVG (default: FILE with .svg).
        #[arg(short, long, value_name = "OUT.svg")]
        output: Option<PathBuf>,
    },
    /// Export a recorded transcript to another format.
    Export {
        /// As an asciicast v2 file (fd 1: a pty's screen output, or stdout), for asciinema.
        #[arg(long, required = true)]
        asciicast: bool,
        /// The transcript (JSON lines).
        file: PathBuf,
        /// The command to export, when the transcript has several.
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// The terminal size for the player (default 80x24).
        #[arg(long, value_name = "COLSxROWS", value_parser = parse_cast_size)]
        size: Option<(u16, u16)>,
        /// Where to write it (default: FILE with .cast).
        #[arg(short, long, value_name = "OUT.cast")]
        output: Option<PathBuf>,
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
    /// Wait until REGEX matches output of child fd FD (default 1), after the options
    /// before it; fails the run (exit 124) on timeout, EOF or exit without a match.
    #[arg(long, value_name = "[FD=]REGEX", allow_hyphen_values = true)]
    expect: Vec<String>,
    /// Timeout in seconds for the --expect options after it (default 10).
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    timeout: Vec<std::time::Duration>,
    /// Wait SECS seconds at this point of the script.
    #[arg(long, value_name = "SECS", value_parser = parse_seconds_or_zero)]
    sleep: Vec<std::time::Duration>,
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
    /// Also draw the events as an SVG sequence diagram to FILE.
    #[arg(long, value_name = "OUT.svg")]
    diagram: Option<PathBuf>,
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

fn parse_cast_size(text: &str) -> Result<(u16, u16), String> {
    let (cols, rows) = text
        .split_once('x')
        .ok_or("expected COLSxROWS, e.g. 80x24")?;
    let number = |t: &str| t.trim().parse::<u16>().ok().filter(|n| *n > 0);
    match (number(cols), number(rows)) {
        (Some(cols), Some(rows)) => Ok((cols, rows)),
        _ => Err(format!("`{text}` is not COLSxROWS")),
    }
}

fn parse_seconds(text: &str) -> Result<std::time::Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 && n <= 86_400.0 => {
            Ok(std::time::Duration::from_secs_f64(n))
        }
        _ => Err(format!("`{text}` is not a number of seconds above 0")),
    }
}

fn parse_seconds_or_zero(text: &str) -> Result<std::time::Duration, String> {
    if text.trim().parse::<f64>() == Ok(0.0) {
        return Ok(std::time::Duration::ZERO);
    }
    parse_seconds(text)
}

/// `--expect [FD=]REGEX`: a leading number and `=` name the fd.
fn parse_expect(text: &str) -> (i32, String) {
    if let Some((fd, regex)) = text.split_once('=') {
        if !fd.is_empty() && fd.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(fd) = parse_fd_number(fd) {
                return (fd, regex.to_owned());
            }
        }
    }
    (1, text.to_owned())
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
            if let Some((fd, _)) = self
                .fds
                .iter()
                .find(|(fd, _)| fdscope::spawn::is_pty_fd(*fd))
            {
                return Err(format!(
                    "--fd {fd} clashes with --pty: the pty provides fds 0, 1 and 2"
                ));
            }
            spec = spec.pty(self.pty_size.unwrap_or_default());
        }
        Ok(spec)
    }
}

/// The --write, --close, --expect, --timeout and --sleep options in the order they were
/// given on the command line: the script of the run.
fn ordered_steps(args: &RunArgs, matches: &ArgMatches) -> Vec<CliStep> {
    let indices = |id: &str| -> Vec<usize> {
        matches
            .indices_of(id)
            .map(|i| i.collect())
            .unwrap_or_default()
    };
    let mut ordered: Vec<(usize, CliStep)> = Vec::new();
    ordered.extend(
        indices("write").into_iter().zip(
            args.write
                .iter()
                .cloned()
                .map(|(fd, data)| CliStep::Write { fd, data }),
        ),
    );
    ordered.extend(
        indices("close")
            .into_iter()
            .zip(args.close.iter().map(|&fd| CliStep::Close { fd })),
    );
    ordered.extend(
        indices("expect")
            .into_iter()
            .zip(args.expect.iter().map(|text| {
                let (fd, regex) = parse_expect(text);
                CliStep::Expect { fd, regex }
            })),
    );
    ordered.extend(
        indices("timeout")
            .into_iter()
            .zip(args.timeout.iter().map(|&d| CliStep::Timeout(d))),
    );
    ordered.extend(
        indices("sleep")
            .into_iter()
            .zip(args.sleep.iter().map(|&d| CliStep::Sleep(d))),
    );
    ordered.sort_by_key(|(index, _)| *index);
    ordered.into_iter().map(|(_, step)| step).collect()
}

/// The jobs of `run --config FILE NAME…`: the named commands and their dependencies,
/// dependencies first; `extra` (the command line's script) is added to each named one.
fn config_jobs(
    config: &Config,
    names: &[String],
    extra: &fdscope::script::Script,
    signals: &[(u64, Signal)],
) -> Result<Vec<Job>, String> {
    let plan = fdscope::script::Plan::new(config, names).map_err(|e| e.to_string())?;
    let mut jobs: Vec<Job> = Vec::new();
    for name in &plan.order {
        let Some(command) = config.command(name) else {
            continue;
        };
        let requested = plan.is_requested(name);
        let mut script = command.script.clone();
        let mut job_signals = Vec::new();
        if requested {
            script.extend(extra.iter().cloned());
            job_signals = signals.to_vec();
        }
        let mut job = Job::new(Some(command.name.clone()), command.spec.clone(), script);
        job.script.ready = command.ready.clone();
        job.signals = job_signals;
        job.requested = requested;
        job.depends_on = command
            .depends_on
            .iter()
            .filter_map(|(dep, condition)| {
                let index = jobs.iter().position(|j| j.name.as_deref() == Some(dep))?;
                Some((index, *condition))
            })
            .collect();
        jobs.push(job);
    }
    Ok(jobs)
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
    let script = match headless::cli_script(ordered_steps(&args, matches)) {
        Ok(script) => script,
        Err(message) => return usage_error(message),
    };
    let mut stop_grace_ms = None;
    let jobs = match &args.config {
        Some(path) => {
            let config = match load_config(path) {
                Ok(config) => config,
                Err(code) => return code,
            };
            if args.command.is_empty() {
                return usage_error("--config needs at least one command NAME");
            }
            stop_grace_ms = Some(config.console.stop_grace_ms);
            let names: Vec<String> = args
                .command
                .iter()
                .map(|n| n.to_string_lossy().into_owned())
                .collect();
            if let Some(name) = names.iter().find(|n| config.command(n).is_none()) {
                let known: Vec<&str> = config.commands.iter().map(|c| c.name.as_str()).collect();
                return usage_error(format!(
                    "no command `{name}` in {} (it has: {})",
                    path.display(),
                    known.join(", ")
                ));
            }
            match config_jobs(&config, &names, &script, &args.signal) {
                Ok(mut jobs) => {
                    for job in &mut jobs {
                        let name = job.name.clone().unwrap_or_default();
                        job.log = config
                            .log
                            .dir_for(&name)
                            .map(|dir| (dir.to_path_buf(), config.log.max_bytes));
                    }
                    jobs
                }
                Err(message) => return usage_error(message),
            }
        }
        None => match args.spawn.spec(&args.command) {
            Ok(spec) => {
                let mut job = Job::new(None, spec, script);
                job.signals = args.signal.clone();
                vec![job]
            }
            Err(message) => return usage_error(message),
        },
    };
    let options = RunOptions {
        json: args.json,
        no_data: args.no_data,
        summary: args.summary,
        events: args.events.clone(),
        diagram: args.diagram.clone(),
        stop_grace_ms,
    };
    match runtime().block_on(headless::run(jobs, &options)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("fdscope: {e}");
            1
        }
    }
}

fn serve_command(config: Option<PathBuf>, listen: PathBuf, start: Vec<String>) -> i32 {
    let config = match &config {
        Some(path) => match load_config(path) {
            Ok(config) => config,
            Err(code) => return code,
        },
        None => Config::builtin(),
    };
    if let Some(name) = start.iter().find(|n| config.command(n).is_none()) {
        return usage_error(format!(
            "--start {name}: no command of that name in the config"
        ));
    }
    let runtime = runtime();
    let served = runtime.block_on(async {
        let server = fdscope::control::bind(&listen).map_err(anyhow::Error::msg)?;
        fdscope::control::serve::serve(config, start, server).await
    });
    // Children that ignored everything were sent KILL; do not wait for their tasks.
    runtime.shutdown_background();
    match served {
        Ok(code) => code,
        Err(e) => {
            eprintln!("fdscope: {e:#}");
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
            run_command(*args, sub)
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
                    "{}: ok, {}: {}",
                    file.display(),
                    fdscope::wording::count(names.len(), "command"),
                    names.join(", ")
                );
                0
            }
            Err(e) => {
                eprint!("{e}");
                1
            }
        },
        Some(Command::Serve {
            config,
            listen,
            start,
        }) => serve_command(config, listen_path(listen), start),
        Some(Command::Ctl(args)) => fdscope::control::client::run(args),
        Some(Command::Replay { file }) => match fdscope::tui::run_replay(&file) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("fdscope: {e:#}");
                1
            }
        },
        Some(Command::Diagram { file, output }) => fdscope::record::cli::diagram(&file, output),
        Some(Command::Export {
            asciicast: _,
            file,
            name,
            size,
            output,
        }) => fdscope::record::cli::export_asciicast(&file, name, size, output),
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
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "fdscope",
                &mut std::io::stdout(),
            );
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
            if let Err(message) = config.check_names("--start ", &cli.start) {
                return ExitCode::from(usage_error(message) as u8);
            }
            let listen = cli.listen.map(|p| listen_path(Some(p)));
            match fdscope::tui::run_listening(config, source.to_string(), cli.start, listen) {
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
