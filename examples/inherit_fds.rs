//! The seed's `childFDs = {0: 0, 1: 1, 2: 2}`: a child that "reads and writes to the
//! same places that the parent program does". Its output goes straight to your terminal
//! without passing through the parent, and since there are no pipes, the parent sees
//! only connectionMade, processExited and processEnded: no data, no childConnectionLost.
//!
//! ```text
//! cargo run --example inherit_fds                 # a shell line writing to fds 1 and 2
//! cargo run --example inherit_fds -- cat          # cat reads your terminal; Ctrl-D ends it
//! cargo run --example inherit_fds -- ls -l /
//! ```
//!
//! The exit code is the child's (128 + signal if a signal killed it).

use fdscope::spawn::run_protocol;
use fdscope::{ChildFd, ExitStatus, ProcessProtocol, ProcessSpec, ProcessTransport};
use std::process::ExitCode;

const DEFAULT_SCRIPT: &str =
    r#"echo "child $$: this line went straight to fd 1"; echo "child $$: and this to fd 2" >&2"#;

/// Reports the few callbacks a child without pipes produces.
struct Inherit {
    status: Option<ExitStatus>,
}

impl ProcessProtocol for Inherit {
    fn connection_made(&mut self, transport: &ProcessTransport) {
        println!(
            "[parent] connectionMade: pid {} shares our fds 0, 1 and 2",
            transport.pid()
        );
    }

    fn child_data_received(&mut self, fd: i32, _data: &[u8]) {
        // Cannot happen with this map; printed to show nothing passes through us.
        println!("[parent] unexpected data on fd {fd}");
    }

    fn child_connection_lost(&mut self, fd: i32) {
        println!("[parent] unexpected childConnectionLost({fd})");
    }

    fn process_exited(&mut self, status: ExitStatus) {
        println!("[parent] processExited, {status}");
    }

    fn process_ended(&mut self, status: ExitStatus) {
        println!("[parent] processEnded, {status}");
        self.status = Some(status);
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.is_empty() {
        argv = ["sh", "-c", DEFAULT_SCRIPT].map(String::from).to_vec();
    }
    let spec = ProcessSpec::new(&argv[0])
        .args(&argv)
        .inherit_env(true)
        .child_fds([
            (0, ChildFd::Parent(0)),
            (1, ChildFd::Parent(1)),
            (2, ChildFd::Parent(2)),
        ]);
    match run_protocol(&spec, Inherit { status: None }).await {
        Ok(Inherit {
            status: Some(status),
        }) => ExitCode::from(status.shell_code().clamp(0, 255) as u8),
        Ok(_) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("inherit_fds: {err}");
            ExitCode::from(127)
        }
    }
}
