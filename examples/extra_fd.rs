//! The seed's "Mapping File Descriptors": `childFDs = {0: "w", 1: "r", 2: "r", 4: "w"}`,
//! an extra pipe the parent writes into on the child's fd 4.
//!
//! The parent writes a message to fd 4 with `write_to_child` and closes it
//! (`close_child_fd`, the child sees EOF); the child, a shell, reads its fd 4 and
//! answers on fd 1, which the parent prints. Every `childConnectionLost` is shown too.
//!
//! ```text
//! cargo run --example extra_fd
//! cargo run --example extra_fd -- any message you like
//! ```

use fdscope::spawn::run_protocol;
use fdscope::{ChildFd, ExitStatus, ProcessProtocol, ProcessSpec, ProcessTransport};
use std::process::ExitCode;

/// The child: proves it read fd 4 by quoting it on fd 1.
const CHILD_SCRIPT: &str = r#"echo "read from fd 4: $(cat <&4)""#;

struct ExtraFd {
    message: String,
    stdout: Vec<u8>,
    status: Option<ExitStatus>,
}

impl ProcessProtocol for ExtraFd {
    fn connection_made(&mut self, transport: &ProcessTransport) {
        let fed = transport
            .write_to_child(4, self.message.clone())
            .and_then(|()| transport.close_child_fd(4))
            // The child never reads stdin; close it so nothing waits on it.
            .and_then(|()| transport.close_stdin());
        match fed {
            Ok(()) => println!(
                "connectionMade: wrote {} bytes to fd 4 and closed it",
                self.message.len()
            ),
            Err(err) => eprintln!("extra_fd: cannot write to fd 4: {err}"),
        }
    }

    fn child_data_received(&mut self, fd: i32, data: &[u8]) {
        match fd {
            1 => self.stdout.extend_from_slice(data),
            _ => eprint!("child fd {fd}: {}", String::from_utf8_lossy(data)),
        }
    }

    fn child_connection_lost(&mut self, fd: i32) {
        println!("childConnectionLost({fd})");
    }

    fn process_ended(&mut self, status: ExitStatus) {
        println!("processEnded, {status}");
        self.status = Some(status);
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let words: Vec<String> = std::env::args().skip(1).collect();
    let message = if words.is_empty() {
        "hello from the parent, through fd 4".to_string()
    } else {
        words.join(" ")
    };

    let spec = ProcessSpec::new("sh")
        .args(["sh", "-c", CHILD_SCRIPT])
        .child_fd(4, ChildFd::Write);
    let protocol = ExtraFd {
        message,
        stdout: Vec::new(),
        status: None,
    };
    match run_protocol(&spec, protocol).await {
        Ok(done) => {
            print!("back on fd 1: {}", String::from_utf8_lossy(&done.stdout));
            if done.status == Some(ExitStatus::Done) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(err) => {
            eprintln!("extra_fd: {err}");
            ExitCode::FAILURE
        }
    }
}
