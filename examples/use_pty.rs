//! The seed's `usePTY`: "programs which primarily interact with users via a terminal
//! do need a PTY". The child runs on a new 24×80 pseudo-terminal instead of pipes: it
//! finds a terminal on fd 0, its stdout and stderr arrive merged as fd 1 with `\r\n`
//! line endings, and what we write to fd 0 is echoed back as a terminal does.
//!
//! ```text
//! cargo run --example use_pty
//! ```

use fdscope::spawn::run_protocol;
use fdscope::{ExitStatus, ProcessProtocol, ProcessSpec, ProcessTransport, PtySize};
use std::process::ExitCode;

/// Shows the terminal it got, then reads one line typed by the parent.
const CHILD_SCRIPT: &str = r#"
test -t 0 && echo "stdin is a terminal: $(tty)"
echo "size (rows cols): $(stty size)"
echo "this went to stderr" >&2
read -r line
echo "read: $line"
"#;

struct OnPty {
    output: Vec<u8>,
    status: Option<ExitStatus>,
}

impl ProcessProtocol for OnPty {
    fn connection_made(&mut self, transport: &ProcessTransport) {
        // Queued until the child reads its terminal; the pty echoes it back.
        if let Err(err) = transport.write("typed on the pty\n") {
            eprintln!("use_pty: {err}");
        }
    }

    fn out_received(&mut self, data: &[u8]) {
        self.output.extend_from_slice(data);
    }

    fn process_ended(&mut self, status: ExitStatus) {
        self.status = Some(status);
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let spec = ProcessSpec::new("sh")
        .args(["sh", "-c", CHILD_SCRIPT])
        .pty(PtySize { rows: 24, cols: 80 });
    let protocol = OnPty {
        output: Vec::new(),
        status: None,
    };
    match run_protocol(&spec, protocol).await {
        Ok(done) => {
            // `{:?}` per line shows the \r the terminal adds.
            for line in String::from_utf8_lossy(&done.output).split_inclusive('\n') {
                println!("fd 1: {line:?}");
            }
            match done.status {
                Some(status) => {
                    println!("processEnded, {status}");
                    ExitCode::from(status.shell_code().clamp(0, 255) as u8)
                }
                None => ExitCode::FAILURE,
            }
        }
        Err(err) => {
            eprintln!("use_pty: {err}");
            ExitCode::FAILURE
        }
    }
}
