//! The workloads, which implementations run each, and the round-robin that runs them.

use crate::console::{self, NotMeasured};
use crate::procs;
use crate::tmux;
use crate::worker::{Metrics, FLOOD4_SCRIPT, MIB};
use crate::Settings;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// A workload and the implementations it is run with, in run order.
pub struct Workload {
    pub name: &'static str,
    pub imps: &'static [&'static str],
}

/// Every workload, in run order within a round.
pub const WORKLOADS: &[Workload] = &[
    Workload {
        name: "flood1",
        imps: &[
            "shell", "std", "tokio", "fdscope", "run", "twisted", "asyncio",
        ],
    },
    Workload {
        name: "flood4",
        imps: &["shell", "std", "tokio", "fdscope", "twisted", "asyncio"],
    },
    Workload {
        name: "spawn-seq",
        imps: &[
            "std",
            "std-piped",
            "std-fork",
            "tokio",
            "fdscope",
            "twisted",
            "asyncio",
        ],
    },
    Workload {
        name: "spawn-conc",
        imps: &[
            "std",
            "std-piped",
            "std-fork",
            "tokio",
            "fdscope",
            "twisted",
            "asyncio",
        ],
    },
    Workload {
        name: "spawn-config",
        imps: &["shell", "run"],
    },
    Workload {
        name: "roundtrip",
        imps: &[
            "std",
            "tokio",
            "fdscope",
            "fdscope-task",
            "twisted",
            "asyncio",
        ],
    },
    Workload {
        name: "drain-yes",
        imps: &["std", "fdscope", "console", "console-idle"],
    },
    Workload {
        name: "drain-pty",
        imps: &["bare-pty", "tmux", "console"],
    },
    Workload {
        name: "console-scale",
        imps: &["console"],
    },
];

/// What one run produced.
pub enum Outcome {
    Measured(Metrics),
    Failed(String),
    /// The implementation cannot do this yet; not retried in later rounds.
    Pending(String),
    /// A peer that is not installed; not retried.
    Skipped(String),
}

/// The samples of one (workload, implementation) pair.
#[derive(Default)]
pub struct Cell {
    /// (round, metrics) of each successful run.
    pub samples: Vec<(usize, Metrics)>,
    pub failures: Vec<String>,
    pub pending: Option<String>,
    pub skipped: Option<String>,
}

impl Cell {
    /// The values of `metric` over the rounds.
    pub fn values(&self, metric: &str) -> Vec<f64> {
        self.samples
            .iter()
            .filter_map(|(_, m)| m.get(metric).copied())
            .filter(|v| v.is_finite())
            .collect()
    }

    /// The value of `metric` in `round`.
    pub fn in_round(&self, round: usize, metric: &str) -> Option<f64> {
        self.samples
            .iter()
            .find(|(r, _)| *r == round)
            .and_then(|(_, m)| m.get(metric).copied())
    }
}

/// Everything measured in one harness run.
#[derive(Default)]
pub struct Results {
    pub cells: BTreeMap<(String, String), Cell>,
    pub rounds: usize,
}

impl Results {
    /// The cell of `workload` run by `imp`, if it was run at all.
    pub fn cell(&self, workload: &str, imp: &str) -> Option<&Cell> {
        self.cells.get(&(workload.to_string(), imp.to_string()))
    }

    /// Every sample, for later analysis (`target/bench-results.json`).
    pub fn to_json(&self) -> String {
        let cells: Vec<_> = self
            .cells
            .iter()
            .map(|((w, i), c)| {
                serde_json::json!({
                    "workload": w, "impl": i,
                    "samples": c.samples.iter().map(|(r, m)| serde_json::json!({"round": r, "metrics": m})).collect::<Vec<_>>(),
                    "failures": c.failures, "pending": c.pending, "skipped": c.skipped,
                })
            })
            .collect();
        serde_json::to_string_pretty(&cells).unwrap_or_default()
    }
}

/// The size or count a workload runs with.
pub fn param(settings: &Settings, workload: &str) -> u64 {
    let s = &settings.sizes;
    match workload {
        "flood1" => s.flood1,
        "flood4" => s.flood4_each,
        "spawn-seq" => s.spawn_seq,
        "spawn-conc" | "spawn-config" => s.spawn_conc,
        "roundtrip" => s.roundtrips,
        _ => s.drain.as_millis() as u64,
    }
}

/// Finds the Python for the peers, its version and Twisted's version.
pub fn probe_python(python: Option<PathBuf>) -> (Option<PathBuf>, Option<String>, Option<String>) {
    let python = python.unwrap_or_else(|| PathBuf::from("python3"));
    let ask = |code: &str| {
        Command::new(&python)
            .args(["-c", code])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let Some(version) = ask("import sys; print(sys.version.split()[0])") else {
        return (None, None, None);
    };
    let twisted = ask("import twisted; print(twisted.__version__)");
    (Some(python), Some(version), twisted)
}

/// Runs every round: for each workload, every implementation in turn.
pub fn run_all(settings: &Settings) -> Results {
    let mut results = Results {
        rounds: settings.sizes.rounds,
        ..Results::default()
    };
    let workloads: Vec<&Workload> = WORKLOADS
        .iter()
        .filter(|w| {
            settings
                .only
                .as_ref()
                .is_none_or(|only| only.iter().any(|o| o == w.name))
        })
        .collect();
    let begun = Instant::now();
    for round in 0..settings.sizes.rounds {
        for workload in &workloads {
            for imp in workload.imps {
                let key = (workload.name.to_string(), imp.to_string());
                let cell = results.cells.entry(key).or_default();
                if cell.pending.is_some() || cell.skipped.is_some() {
                    continue;
                }
                let t = Instant::now();
                let outcome = run_one(settings, workload.name, imp);
                let took = t.elapsed().as_secs_f64();
                let what = match &outcome {
                    Outcome::Measured(m) => headline(m),
                    Outcome::Failed(e) => format!("FAILED: {e}"),
                    Outcome::Pending(e) => format!("pending: {e}"),
                    Outcome::Skipped(e) => format!("skipped: {e}"),
                };
                eprintln!(
                    "[{:>5.1}s] round {}/{} {:<10} {:<9} {what} ({took:.1}s)",
                    begun.elapsed().as_secs_f64(),
                    round + 1,
                    settings.sizes.rounds,
                    workload.name,
                    imp
                );
                match outcome {
                    Outcome::Measured(m) => cell.samples.push((round, m)),
                    // A run that hung would hang again: do not spend the deadline twice.
                    Outcome::Failed(e) if e.contains("(killed after") => {
                        cell.pending = Some(format!("hung: {e}"))
                    }
                    Outcome::Failed(e) => cell.failures.push(e),
                    Outcome::Pending(e) => cell.pending = Some(e),
                    Outcome::Skipped(e) => cell.skipped = Some(e),
                }
            }
        }
    }
    results
}

fn headline(m: &Metrics) -> String {
    m.iter()
        .filter(|(k, _)| k.as_str() != "secs")
        .map(|(k, v)| format!("{k}={v:.2}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn timeout(settings: &Settings) -> Duration {
    // The slowest legitimate run (Twisted over 1 GiB) takes a few seconds.
    if settings.quick {
        Duration::from_secs(20)
    } else {
        Duration::from_secs(60)
    }
}

fn run_one(settings: &Settings, workload: &str, imp: &str) -> Outcome {
    let n = param(settings, workload);
    if workload == "spawn-config" {
        return spawn_config(settings, imp, n);
    }
    match imp {
        "twisted" | "asyncio" => {
            let Some(python) = &settings.python else {
                return Outcome::Skipped("no python3 found".into());
            };
            if imp == "twisted" && settings.twisted.is_none() {
                return Outcome::Skipped(format!(
                    "Twisted does not import in {} (scripts/bench installs it into target/bench-venv)",
                    python.display()
                ));
            }
            let script = if imp == "twisted" {
                settings.root.join("bench/twisted/peer.py")
            } else {
                settings.root.join("bench/asyncio_peer.py")
            };
            let mut cmd = Command::new(python);
            cmd.arg(script).arg(workload).arg(n.to_string());
            if workload == "flood4" {
                cmd.arg(FLOOD4_SCRIPT);
            }
            measured(&mut cmd, settings)
        }
        "run" => headless(settings, n),
        "tmux" => match tmux::drain_yes(settings.sizes.console) {
            None => Outcome::Skipped("tmux is not installed".into()),
            Some(Ok(m)) => Outcome::Measured(m),
            Some(Err(e)) => Outcome::Failed(e),
        },
        "console" | "console-idle" => {
            let child = match (workload, imp) {
                ("drain-pty", _) => console::Child::Pty,
                ("console-scale", _) => console::Child::Hundred,
                (_, "console") => console::Child::Pipe,
                _ => console::Child::Idle,
            };
            let window = if child == console::Child::Idle {
                settings.sizes.console.min(Duration::from_secs(4))
            } else {
                settings.sizes.console
            };
            match console::measure(&settings.fdscope, window, child) {
                Ok(m) => Outcome::Measured(m),
                Err(NotMeasured::Pending(e)) => Outcome::Pending(e),
                Err(NotMeasured::Failed(e)) => Outcome::Failed(e),
            }
        }
        _ => match std::env::current_exe() {
            Ok(exe) => {
                let mut cmd = Command::new(exe);
                cmd.args(["--worker", workload, imp, &n.to_string()]);
                measured(&mut cmd, settings)
            }
            Err(e) => Outcome::Failed(format!("current_exe: {e}")),
        },
    }
}

/// Runs a worker or peer that prints one JSON object; adds its peak RSS.
fn measured(cmd: &mut Command, settings: &Settings) -> Outcome {
    let finished = match procs::run(cmd, timeout(settings)) {
        Ok(f) => f,
        Err(e) => return Outcome::Failed(e),
    };
    let line = finished.stdout.lines().last().unwrap_or("");
    let parsed: Result<serde_json::Map<String, serde_json::Value>, _> = serde_json::from_str(line);
    let object = match parsed {
        Ok(o) => o,
        Err(_) => {
            return Outcome::Failed(format!(
                "exit {}, no result (stdout: {:?}, stderr: {:?})",
                finished.code,
                procs::tail(&finished.stdout, 200),
                procs::tail(&finished.stderr, 300)
            ))
        }
    };
    if let Some(error) = object.get("error") {
        return Outcome::Failed(format!(
            "{error} (stderr: {:?})",
            procs::tail(&finished.stderr, 300)
        ));
    }
    let mut metrics: Metrics = object
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
        .collect();
    // A worker reports its own peak; the peers (Python) are measured from outside, where
    // the harness's size at the spawn is a floor far below theirs.
    metrics.entry("rss_mib".into()).or_insert(finished.rss_mib);
    Outcome::Measured(metrics)
}

/// `fdscope run --summary -- head -c N /dev/zero`: the headless console over the flood.
/// N configured `/bin/true` at once: `fdscope run --config F cmd1 … cmdN` (each with
/// its pipes, every event printed) against the shell loop a user would otherwise write,
/// `for i in $(seq N); do /bin/true & done; wait`. Both timed from spawn to exit.
fn spawn_config(settings: &Settings, imp: &str, n: u64) -> Outcome {
    let mut cmd = if imp == "shell" {
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            &format!("for i in $(seq {n}); do /bin/true & done; wait"),
        ]);
        cmd
    } else {
        let bin = &settings.fdscope;
        if !bin.exists() {
            return Outcome::Pending(format!("{} is not built", bin.display()));
        }
        let config = settings.root.join("target/bench-spawn-config.toml");
        let text: String = (1..=n)
            .map(|i| format!("[[command]]\nname = \"t{i}\"\nprogram = \"/bin/true\"\n"))
            .collect();
        if let Err(e) = std::fs::write(&config, text) {
            return Outcome::Failed(format!("{}: {e}", config.display()));
        }
        let mut cmd = Command::new(bin);
        cmd.arg("run").arg("--summary").arg("--config").arg(&config);
        cmd.args((1..=n).map(|i| format!("t{i}")));
        cmd
    };
    let finished = match procs::run(&mut cmd, timeout(settings)) {
        Ok(f) => f,
        Err(e) => return Outcome::Failed(e),
    };
    if finished.code != 0 {
        return Outcome::Failed(format!(
            "exit {}: {}",
            finished.code,
            procs::tail(&finished.stderr, 120)
        ));
    }
    let secs = finished.wall.as_secs_f64();
    Outcome::Measured(Metrics::from([
        ("per_s".into(), n as f64 / secs),
        ("secs".into(), secs),
        ("rss_mib".into(), finished.rss_mib),
    ]))
}

fn headless(settings: &Settings, n: u64) -> Outcome {
    let bin = &settings.fdscope;
    if !bin.exists() {
        return Outcome::Pending(format!(
            "{} is not built (cargo build --release)",
            bin.display()
        ));
    }
    let count = n.to_string();
    let mut cmd = Command::new(bin);
    cmd.args(["run", "--summary", "--", "head", "-c", &count, "/dev/zero"]);
    let finished = match procs::run(&mut cmd, timeout(settings)) {
        Ok(f) => f,
        Err(e) => return Outcome::Failed(e),
    };
    let reported = finished.stdout.contains(&count) || finished.stderr.contains(&count);
    if finished.code != 0 || !reported {
        return Outcome::Pending(format!(
            "`fdscope run --summary` did not report {count} bytes (exit {}, stdout {:?}, stderr {:?})",
            finished.code,
            procs::tail(&finished.stdout, 120),
            procs::tail(&finished.stderr, 120)
        ));
    }
    let secs = finished.wall.as_secs_f64();
    Outcome::Measured(Metrics::from([
        ("mib_s".into(), n as f64 / MIB / secs),
        ("secs".into(), secs),
        ("rss_mib".into(), finished.rss_mib),
    ]))
}
