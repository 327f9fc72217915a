//! fdscope's benchmark harness: the engine, its front ends and their peers, side by side.
//!
//! `cargo bench --bench harness [-- --quick]` (or `scripts/bench [--quick]`, which also
//! builds the release binary and the Twisted virtualenv). Every workload runs every
//! implementation in turn (A B C A B C …) for several rounds, each sample in a fresh
//! process; the table of medians, spreads and ratios goes to stdout and to
//! `target/bench-results.md`. This is a benchmark, not a test: nothing here asserts.
//!
//! Run outside `cargo bench` (e.g. by `cargo test --all-targets`), it does nothing unless
//! given `--bench`. Options: `--quick`, `--rounds N`, `--only WORKLOAD,…` (flood1 flood4 spawn-seq
//! spawn-conc spawn-config roundtrip drain-yes drain-pty console-scale), `--out FILE`, `--python PATH`, `--fdscope PATH`.

mod console;
mod engine;
mod jobs;
mod procs;
mod raw;
mod report;
mod stats;
mod tmux;
mod tokio_peer;
mod worker;

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Sizes and counts of one mode.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub flood1: u64,
    pub flood4_each: u64,
    pub spawn_seq: u64,
    pub spawn_conc: u64,
    pub roundtrips: u64,
    pub drain: Duration,
    pub console: Duration,
    pub rounds: usize,
}

const FULL: Sizes = Sizes {
    flood1: 1 << 30,
    flood4_each: 256 << 20,
    spawn_seq: 500,
    spawn_conc: 200,
    roundtrips: 10_000,
    drain: Duration::from_secs(3),
    console: Duration::from_secs(10),
    rounds: 7,
};

const QUICK: Sizes = Sizes {
    flood1: 128 << 20,
    flood4_each: 32 << 20,
    spawn_seq: 100,
    spawn_conc: 50,
    roundtrips: 2_000,
    drain: Duration::from_millis(500),
    console: Duration::from_millis(2500),
    rounds: 3,
};

/// Everything a run needs to know.
pub struct Settings {
    pub quick: bool,
    pub sizes: Sizes,
    pub only: Option<Vec<String>>,
    pub out: PathBuf,
    pub root: PathBuf,
    pub fdscope: PathBuf,
    /// The interpreter for the Python peers, and Twisted's version if it imports.
    pub python: Option<PathBuf>,
    pub python_version: Option<String>,
    pub twisted: Option<String>,
}

fn parse_args() -> Result<Settings, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let mut quick = false;
    let mut rounds = None;
    let mut only = None;
    let mut out = target.join("bench-results.md");
    let mut python = None;
    let mut fdscope = target.join("release").join("fdscope");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            // cargo bench passes --bench to every bench target.
            "--bench" => {}
            "--quick" => quick = true,
            "--rounds" => {
                rounds = Some(
                    value("--rounds")?
                        .parse::<usize>()
                        .map_err(|e| e.to_string())?,
                )
            }
            "--only" => {
                only = Some(
                    value("--only")?
                        .split(',')
                        .map(str::to_string)
                        .collect::<Vec<_>>(),
                )
            }
            "--out" => out = PathBuf::from(value("--out")?),
            "--python" => python = Some(PathBuf::from(value("--python")?)),
            "--fdscope" => fdscope = PathBuf::from(value("--fdscope")?),
            "-h" | "--help" => {
                println!("usage: harness [--quick] [--rounds N] [--only WORKLOAD,...] [--out FILE] [--python PATH] [--fdscope PATH]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let mut sizes = if quick { QUICK } else { FULL };
    if let Some(rounds) = rounds {
        sizes.rounds = rounds.max(1);
    }
    let venv = target.join("bench-venv").join("bin").join("python");
    let python = python.or_else(|| venv.exists().then_some(venv));
    let (python, python_version, twisted) = jobs::probe_python(python);
    Ok(Settings {
        quick,
        sizes,
        only,
        out,
        root,
        fdscope,
        python,
        python_version,
        twisted,
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--worker") {
        worker::main(&args[2..]);
    }
    // `cargo bench` passes --bench; `cargo test --all-targets` runs bench targets without
    // it, and a benchmark is not a test: then there is nothing to do.
    if !args.iter().any(|a| a == "--bench") {
        println!("harness: benchmarks run with `cargo bench --bench harness` or scripts/bench (nothing to test)");
        return;
    }
    let settings = match parse_args() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("harness: {e}");
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    let machine = report::Machine::now();
    let results = jobs::run_all(&settings);
    let mut machine = machine;
    machine.load_after = report::loadavg();
    let text = report::render(&settings, &machine, &results, started.elapsed());
    println!("{text}");
    if let Some(dir) = settings.out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(&settings.out, &text) {
        Ok(()) => eprintln!("harness: wrote {}", settings.out.display()),
        Err(e) => eprintln!("harness: cannot write {}: {e}", settings.out.display()),
    }
    let json = settings.out.with_extension("json");
    let _ = std::fs::write(&json, results.to_json());
}
