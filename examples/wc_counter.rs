//! The seed's `WCProcessProtocol` ("Writing a ProcessProtocol"): writes a line of text
//! to `wc`, closes its stdin, and prints the three counts `wc` sends back.
//!
//! Unlike the seed's naive `outReceived`, the output is accumulated until stdout is
//! lost, because a pipe may deliver it in several pieces.
//!
//! ```text
//! cargo run --example wc_counter                      # the seed's sentence
//! cargo run --example wc_counter -- some other words  # count your own text
//! ```

use fdscope::spawn::run_protocol;
use fdscope::{ExitStatus, ProcessProtocol, ProcessSpec, ProcessTransport};
use std::process::ExitCode;

/// Counts `text` with `wc`.
struct WcProcessProtocol {
    text: String,
    /// Everything `wc` wrote to stdout so far.
    output: Vec<u8>,
    /// Set once stdout is closed and the output parsed.
    counts: Option<(u64, u64, u64)>,
    status: Option<ExitStatus>,
}

impl WcProcessProtocol {
    fn new(text: String) -> Self {
        WcProcessProtocol {
            text,
            output: Vec::new(),
            counts: None,
            status: None,
        }
    }

    /// The seed's `receiveCounts`: the place to do something with the result.
    fn receive_counts(&mut self, lines: u64, words: u64, chars: u64) {
        println!("Received counts from wc.");
        println!("Lines: {lines}");
        println!("Words: {words}");
        println!("Characters: {chars}");
        self.counts = Some((lines, words, chars));
    }
}

/// `wc` prints `lines words bytes`, padded with blanks.
fn parse_counts(output: &[u8]) -> Option<(u64, u64, u64)> {
    let text = std::str::from_utf8(output).ok()?;
    let mut fields = text.split_whitespace().map(str::parse::<u64>);
    match (fields.next(), fields.next(), fields.next(), fields.next()) {
        (Some(Ok(lines)), Some(Ok(words)), Some(Ok(chars)), None) => Some((lines, words, chars)),
        _ => None,
    }
}

impl ProcessProtocol for WcProcessProtocol {
    fn connection_made(&mut self, transport: &ProcessTransport) {
        // Write the text, then close stdin so wc knows there is nothing more to count.
        let fed = transport
            .write(self.text.clone())
            .and_then(|()| transport.close_stdin());
        if let Err(err) = fed {
            eprintln!("wc_counter: cannot write to wc: {err}");
        }
    }

    fn out_received(&mut self, data: &[u8]) {
        self.output.extend_from_slice(data);
    }

    fn err_received(&mut self, data: &[u8]) {
        eprint!("wc: {}", String::from_utf8_lossy(data));
    }

    fn out_connection_lost(&mut self) {
        match parse_counts(&self.output) {
            Some((lines, words, chars)) => self.receive_counts(lines, words, chars),
            None => eprintln!(
                "wc_counter: unexpected output from wc: {:?}",
                String::from_utf8_lossy(&self.output)
            ),
        }
    }

    fn process_ended(&mut self, status: ExitStatus) {
        self.status = Some(status);
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let words: Vec<String> = std::env::args().skip(1).collect();
    let text = if words.is_empty() {
        "accessing protocols through Twisted is fun!\n".to_string()
    } else {
        format!("{}\n", words.join(" "))
    };

    let spec = ProcessSpec::new("wc").args(["wc"]);
    let wc = match run_protocol(&spec, WcProcessProtocol::new(text)).await {
        Ok(wc) => wc,
        Err(err) => {
            eprintln!("wc_counter: {err}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(status) = wc.status.filter(|status| !status.success()) {
        eprintln!("wc_counter: wc {status}");
        return ExitCode::FAILURE;
    }
    if wc.counts.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
