//! The seed's "Verbose Example" (`MyPP`): writes verses of "Aleph-null bottles of beer"
//! into `wc`, closes stdin, and prints every callback as it happens, then the line count
//! `wc` reports.
//!
//! The order of the middle lines depends on timing (stderr may close before or after
//! stdout delivers its data); `connectionMade!` is always first and `processEnded` last.
//!
//! ```text
//! cargo run --example wc_verbose        # 10 verses: "I saw 40 lines"
//! cargo run --example wc_verbose -- 3   # 3 verses: "I saw 12 lines"
//! ```

use fdscope::spawn::run_protocol;
use fdscope::{ExitStatus, ProcessProtocol, ProcessSpec, ProcessTransport};
use std::process::ExitCode;

const VERSE: &str = "Aleph-null bottles of beer on the wall,\n\
                     Aleph-null bottles of beer,\n\
                     Take one down and pass it around,\n\
                     Aleph-null bottles of beer on the wall.\n";

struct MyPP {
    verses: usize,
    data: Vec<u8>,
    status: Option<ExitStatus>,
}

/// The seed prints `reason.value.exitCode`; a child killed by a signal has none.
fn describe(status: ExitStatus) -> String {
    match status.exit_code() {
        Some(code) => format!("status {code}"),
        None => status.to_string(),
    }
}

impl ProcessProtocol for MyPP {
    fn connection_made(&mut self, transport: &ProcessTransport) {
        println!("connectionMade!");
        for _ in 0..self.verses {
            if let Err(err) = transport.write(VERSE) {
                eprintln!("wc_verbose: cannot write to wc: {err}");
                break;
            }
        }
        // Tell wc we're done.
        if let Err(err) = transport.close_stdin() {
            eprintln!("wc_verbose: cannot close stdin: {err}");
        }
    }

    fn out_received(&mut self, data: &[u8]) {
        println!("outReceived! with {} bytes!", data.len());
        self.data.extend_from_slice(data);
    }

    fn err_received(&mut self, data: &[u8]) {
        println!("errReceived! with {} bytes!", data.len());
    }

    fn in_connection_lost(&mut self) {
        println!("inConnectionLost! stdin is closed! (we probably did it)");
    }

    fn out_connection_lost(&mut self) {
        println!("outConnectionLost! The child closed their stdout!");
        // Now is the time to examine what they wrote: "lines words chars".
        let text = String::from_utf8_lossy(&self.data);
        let lines = text.split_whitespace().next().unwrap_or("no");
        println!("I saw {lines} lines");
    }

    fn err_connection_lost(&mut self) {
        println!("errConnectionLost! The child closed their stderr.");
    }

    fn process_exited(&mut self, status: ExitStatus) {
        println!("processExited, {}", describe(status));
    }

    fn process_ended(&mut self, status: ExitStatus) {
        println!("processEnded, {}", describe(status));
        self.status = Some(status);
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let verses = match std::env::args().nth(1).map(|arg| arg.parse::<usize>()) {
        None => 10,
        Some(Ok(verses)) => verses,
        Some(Err(err)) => {
            eprintln!("usage: wc_verbose [VERSES]: {err}");
            return ExitCode::from(2);
        }
    };
    let pp = MyPP {
        verses,
        data: Vec::new(),
        status: None,
    };
    // As in the seed: `spawnProcess(pp, "wc", ["wc"], {})`, an empty environment.
    match run_protocol(&ProcessSpec::new("wc").args(["wc"]), pp).await {
        Ok(MyPP {
            status: Some(ExitStatus::Done),
            ..
        }) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("wc_verbose: {err}");
            ExitCode::FAILURE
        }
    }
}
