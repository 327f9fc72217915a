//! The seed's `self.transport.signalProcess('KILL')`: "Kill the child process. This will
//! eventually result in processEnded being called."
//!
//! The child announces itself and then would sleep for an hour; as soon as its first
//! line arrives the parent sends it the signal, and prints how it ended.
//!
//! ```text
//! cargo run --example kill_child          # SIGKILL
//! cargo run --example kill_child -- TERM  # any signal name or number
//! ```

use fdscope::spawn::{parse_signal, run_protocol};
use fdscope::{ExitStatus, ProcessProtocol, ProcessSpec, ProcessTransport, Signal};
use std::process::ExitCode;

struct Killer {
    signal: Signal,
    transport: Option<ProcessTransport>,
    status: Option<ExitStatus>,
}

impl ProcessProtocol for Killer {
    fn connection_made(&mut self, transport: &ProcessTransport) {
        // Kept to act on the child later, from another callback.
        self.transport = Some(transport.clone());
    }

    fn out_received(&mut self, data: &[u8]) {
        print!("outReceived: {}", String::from_utf8_lossy(data));
        if let Some(transport) = self.transport.take() {
            println!("signalProcess('{}')", self.signal.as_str());
            if let Err(err) = transport.signal_process(self.signal) {
                eprintln!("kill_child: {err}");
            }
        }
    }

    fn out_connection_lost(&mut self) {
        println!("outConnectionLost");
    }

    fn process_exited(&mut self, status: ExitStatus) {
        println!("processExited, {status}");
    }

    fn process_ended(&mut self, status: ExitStatus) {
        println!("processEnded, {status}");
        self.status = Some(status);
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let name = std::env::args().nth(1).unwrap_or_else(|| "KILL".into());
    let Some(signal) = parse_signal(&name) else {
        eprintln!("kill_child: unknown signal {name:?}");
        return ExitCode::from(2);
    };
    // `exec` so the signal reaches sleep itself, not a shell waiting for it.
    let spec = ProcessSpec::new("sh").args(["sh", "-c", "echo 'going to sleep'; exec sleep 3600"]);
    let killer = Killer {
        signal,
        transport: None,
        status: None,
    };
    match run_protocol(&spec, killer).await {
        Ok(Killer {
            status: Some(status),
            ..
        }) if status.signal() == Some(signal as i32) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("kill_child: {err}");
            ExitCode::FAILURE
        }
    }
}
