//! The seed's `FortuneQuoter` ("Doing it the Easy Way"): a TCP server that answers every
//! connection with the output of `getProcessOutput("/usr/games/fortune")`, then hangs up.
//!
//! `fortune` is often not installed, so the program is configurable; when it cannot be
//! run (or complains on stderr) the client gets the error text instead, and the server
//! prints it too. The child inherits the server's environment, so bare names are looked
//! up in your `PATH`.
//!
//! ```text
//! cargo run --example fortune_quoter                          # /usr/games/fortune on :10999
//! cargo run --example fortune_quoter -- --port 0 date         # any program, any free port
//! cargo run --example fortune_quoter -- --program echo "fortune cookie"
//! nc 127.0.0.1 10999                                          # in another terminal
//! ```
//!
//! `--once` answers a single connection and exits (1 if that answer was an error).

use clap::Parser;
use fdscope::utils::{get_process_output, ProcessError};
use fdscope::ProcessSpec;
use std::process::ExitCode;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// The seed's `FortuneQuoter.fortune`.
const FORTUNE: &str = "/usr/games/fortune";

/// Answers every TCP connection with the output of a program (a fortune by default).
#[derive(Parser)]
struct Args {
    /// Port to listen on, on 127.0.0.1 (0: any free port; the address is printed).
    #[arg(long, default_value_t = 10999)]
    port: u16,
    /// Exit after answering one connection.
    #[arg(long)]
    once: bool,
    /// The program to run; without it, the first word of COMMAND, else /usr/games/fortune.
    #[arg(long, value_name = "PATH")]
    program: Option<String>,
    /// [PROGRAM] ARGS...: the command line whose output is the answer.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

impl Args {
    /// The child to run for each connection.
    fn spec(&self) -> ProcessSpec {
        let mut argv = self.command.clone();
        if let Some(program) = &self.program {
            argv.insert(0, program.clone());
        }
        if argv.is_empty() {
            argv.push(FORTUNE.to_string());
        }
        ProcessSpec::new(&argv[0]).args(&argv).inherit_env(true)
    }
}

/// `writeResponse` / `noResponse`: sends the output or the error, then hangs up.
/// Returns whether the client got real output.
async fn answer(mut client: TcpStream, spec: &ProcessSpec) -> bool {
    let (reply, ok) = match get_process_output(spec).await {
        Ok(output) => (output, true),
        Err(err) => {
            let hint = match err {
                ProcessError::Spawn(_) => " (serve another program with --program PATH)",
                _ => "",
            };
            let message = format!("fortune_quoter: no fortune available: {err}{hint}\n");
            eprint!("{message}");
            (message.into_bytes(), false)
        }
    };
    let sent = client.write_all(&reply).await;
    let closed = client.shutdown().await;
    if let Err(err) = sent.and(closed) {
        eprintln!("fortune_quoter: cannot answer the client: {err}");
    }
    ok
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let spec = args.spec();
    let listener = TcpListener::bind(("127.0.0.1", args.port)).await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        let (client, _) = listener.accept().await?;
        if args.once {
            let ok = answer(client, &spec).await;
            return Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        // Each client on its own task, so a slow program does not hold up the others.
        let spec = spec.clone();
        tokio::spawn(async move { answer(client, &spec).await });
    }
}
