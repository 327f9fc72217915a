//! `fdscope ctl`: one request to a running console or server, its reply printed.
//!
//! Exit codes: 0 success, 1 an error reply, 2 bad usage (clap), 3 no server answered;
//! `wait` exits with the instance's exit code by `run`'s rules instead.

use super::request::Request;
use crate::PtySize;
use clap::{Args, Subcommand};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// Exit code: the server replied with an error.
pub const ERROR_REPLY: i32 = 1;
/// Exit code: no server answered.
pub const NO_SERVER: i32 = 3;

/// `fdscope ctl` arguments.
#[derive(Debug, Args)]
pub struct CtlArgs {
    /// The server's socket (default: $FDSCOPE_SOCKET, else $XDG_RUNTIME_DIR/fdscope.sock,
    /// else /tmp/fdscope-UID/fdscope.sock).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Print the server's JSON replies as they are.
    #[arg(long)]
    pub json: bool,
    /// What to ask.
    #[command(subcommand)]
    pub verb: Verb,
}

/// The requests, as `fdscope ctl` spells them.
#[derive(Debug, Subcommand)]
pub enum Verb {
    /// Commands and instances: id, state, pid, status.
    List,
    /// Start a new instance of NAME; prints its id (e.g. bc#2).
    Start {
        /// The configured command.
        name: String,
    },
    /// Stop an instance: TERM, then KILL after the grace period.
    Stop {
        /// NAME#K, or NAME for its newest instance.
        id: String,
    },
    /// Send a signal (TERM, INT, HUP, KILL, USR1, a number…).
    Signal {
        /// NAME#K, or NAME for its newest instance.
        id: String,
        /// The signal.
        signal: String,
    },
    /// Close a child fd (on a pty's fd 0: Ctrl-D).
    Close {
        /// NAME#K, or NAME for its newest instance.
        id: String,
        /// The child fd.
        fd: i32,
    },
    /// Resize an instance's pty.
    Resize {
        /// NAME#K, or NAME for its newest instance.
        id: String,
        /// The new size.
        #[arg(value_name = "ROWSxCOLS")]
        size: PtySize,
    },
    /// Write TEXT (escapes \n \t \\ \xNN) to a child fd.
    Write {
        /// NAME#K, or NAME for its newest instance.
        id: String,
        /// The child fd (0 on a pty: the terminal).
        fd: i32,
        /// The text.
        #[arg(allow_hyphen_values = true)]
        text: String,
    },
    /// Follow events as JSON lines (those of `run --json` plus name and instance); with an
    /// id, until that instance's process_ended.
    Events {
        /// NAME#K or NAME; every instance (also later ones) without it.
        id: Option<String>,
    },
    /// What a pane holds, as text (a pty: scrollback and screen).
    Output {
        /// NAME#K, or NAME for its newest instance.
        id: String,
        /// The child fd.
        fd: i32,
    },
    /// Wait until the instance has ended; exit with its exit code (as `run` does).
    Wait {
        /// NAME#K, or NAME for its newest instance.
        id: String,
    },
    /// The inspector's view of an instance, as JSON.
    Inspect {
        /// NAME#K, or NAME for its newest instance.
        id: String,
    },
    /// Stop every child (as `q` does) and end the server.
    Quit,
}

impl Verb {
    /// The request this verb sends.
    pub fn request(&self) -> Request {
        match self {
            Verb::List => Request::List,
            Verb::Start { name } => Request::Start { name: name.clone() },
            Verb::Stop { id } => Request::Stop { id: id.clone() },
            Verb::Signal { id, signal } => Request::Signal {
                id: id.clone(),
                signal: signal.clone(),
            },
            Verb::Close { id, fd } => Request::Close {
                id: id.clone(),
                fd: *fd,
            },
            Verb::Resize { id, size } => Request::Resize {
                id: id.clone(),
                rows: size.rows,
                cols: size.cols,
            },
            Verb::Write { id, fd, text } => Request::Write {
                id: id.clone(),
                fd: *fd,
                text: text.clone(),
            },
            Verb::Events { id } => Request::Events { id: id.clone() },
            Verb::Output { id, fd } => Request::Output {
                id: id.clone(),
                fd: *fd,
            },
            Verb::Wait { id } => Request::Wait { id: id.clone() },
            Verb::Inspect { id } => Request::Inspect { id: id.clone() },
            Verb::Quit => Request::Quit,
        }
    }
}

/// The socket a client uses: `--socket`, else `$FDSCOPE_SOCKET`, else the default.
pub fn socket_path(flag: Option<PathBuf>) -> PathBuf {
    flag.or_else(|| {
        std::env::var_os("FDSCOPE_SOCKET")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
    })
    .unwrap_or_else(super::default_path)
}

fn fail(message: impl std::fmt::Display, code: i32) -> i32 {
    eprintln!("fdscope ctl: {message}");
    code
}

/// Runs `fdscope ctl`; returns the exit code.
pub fn run(args: CtlArgs) -> i32 {
    let path = socket_path(args.socket.clone());
    let stream = match UnixStream::connect(&path) {
        Ok(stream) => stream,
        Err(e) => {
            return fail(
                format!("no fdscope is listening on {}: {e}", path.display()),
                NO_SERVER,
            )
        }
    };
    let mut line = args.verb.request().to_line();
    line.push('\n');
    // A server that refuses the peer replies and closes at once: the write may fail,
    // and the reply is still there to read.
    let written = (&stream).write_all(line.as_bytes());
    let mut reader = BufReader::new(&stream);
    let mut reply = String::new();
    match (reader.read_line(&mut reply), written) {
        (Ok(n), _) if n > 0 => {}
        (_, Err(e)) => return fail(format!("{}: {e}", path.display()), NO_SERVER),
        _ => return fail(format!("no reply from {}", path.display()), NO_SERVER),
    }
    let value: serde_json::Value = match serde_json::from_str(&reply) {
        Ok(value) => value,
        Err(e) => {
            return fail(
                format!("unreadable reply ({e}): {}", reply.trim_end()),
                NO_SERVER,
            )
        }
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        let _ = out.write_all(reply.as_bytes());
    }
    if value["ok"] != serde_json::Value::Bool(true) {
        let error = value["error"].as_str().unwrap_or("error");
        return fail(error, ERROR_REPLY);
    }
    match &args.verb {
        Verb::Events { .. } => {
            // The event lines, as they come, until the server ends the stream.
            let mut event = String::new();
            loop {
                event.clear();
                match reader.read_line(&mut event) {
                    Ok(0) | Err(_) => return 0,
                    Ok(_) => {
                        if out
                            .write_all(event.as_bytes())
                            .and_then(|()| out.flush())
                            .is_err()
                        {
                            return 0; // the reader of our stdout left
                        }
                    }
                }
            }
        }
        Verb::Wait { id } => {
            if let Some(error) = value["spawn_error"].as_str() {
                eprintln!("fdscope ctl: {id}: {error}");
            }
            value["exit_code"]
                .as_i64()
                .map_or(ERROR_REPLY, |c| c as i32)
        }
        Verb::Quit => {
            // The server closes the connection once its children are stopped.
            let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
            let mut rest = Vec::new();
            let _ = std::io::Read::read_to_end(&mut reader, &mut rest);
            0
        }
        _ if args.json => 0,
        Verb::List => {
            let _ = out.write_all(list_text(&value).as_bytes());
            0
        }
        Verb::Start { .. } => {
            let _ = writeln!(out, "{}", value["id"].as_str().unwrap_or_default());
            0
        }
        Verb::Output { .. } => {
            let _ = out.write_all(value["text"].as_str().unwrap_or_default().as_bytes());
            0
        }
        Verb::Inspect { .. } => {
            let _ = writeln!(out, "{value}");
            0
        }
        _ => 0,
    }
}

/// `list` for people: each command, then its instances indented.
fn list_text(value: &serde_json::Value) -> String {
    let empty = Vec::new();
    let commands = value["commands"].as_array().unwrap_or(&empty);
    let instances = value["instances"].as_array().unwrap_or(&empty);
    let mut text = String::new();
    for command in commands {
        let name = command["name"].as_str().unwrap_or_default();
        text.push_str(name);
        text.push('\n');
        for inst in instances.iter().filter(|i| i["name"] == name) {
            let id = inst["id"].as_str().unwrap_or_default();
            let state = inst["state"].as_str().unwrap_or_default();
            let mut row = format!("  {id:<14} {state}");
            let status = &inst["status"];
            if let Some(code) = status["exit_code"].as_i64() {
                row.push_str(&format!(" {code}"));
            } else if let Some(sig) = status["signal"].as_i64() {
                row.push_str(&format!(
                    " (killed by {})",
                    crate::spawn::signal_name(sig as i32)
                ));
            }
            if let Some(pid) = inst["pid"].as_u64() {
                row.push_str(&format!("  pid {pid}"));
            }
            if let Some(error) = inst["error"].as_str() {
                row.push_str(&format!("  {error}"));
            }
            text.push_str(&row);
            text.push('\n');
        }
    }
    text
}
