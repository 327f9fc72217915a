//! What happens to a child, as values: `ProcessEvent` and `ExitStatus`.

use bytes::Bytes;
use std::fmt;

/// How a child ended: Twisted's `ProcessDone` / `ProcessTerminated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitStatus {
    /// Exited with code 0.
    Done,
    /// Exited with a non-zero code, or was killed by a signal: exactly one is set.
    Terminated {
        /// The exit code, when the child exited.
        exit_code: Option<i32>,
        /// The signal number, when a signal killed the child.
        signal: Option<i32>,
    },
}

impl ExitStatus {
    /// Builds the status for an exit with `code`.
    pub fn from_code(code: i32) -> Self {
        if code == 0 {
            ExitStatus::Done
        } else {
            ExitStatus::Terminated {
                exit_code: Some(code),
                signal: None,
            }
        }
    }

    /// Builds the status for a death by `signal`.
    pub fn from_signal(signal: i32) -> Self {
        ExitStatus::Terminated {
            exit_code: None,
            signal: Some(signal),
        }
    }

    /// True for `Done`.
    pub fn success(self) -> bool {
        self == ExitStatus::Done
    }

    /// The exit code (0 for `Done`), or `None` when a signal killed the child.
    pub fn exit_code(self) -> Option<i32> {
        match self {
            ExitStatus::Done => Some(0),
            ExitStatus::Terminated { exit_code, .. } => exit_code,
        }
    }

    /// The signal that killed the child, if any.
    pub fn signal(self) -> Option<i32> {
        match self {
            ExitStatus::Done => None,
            ExitStatus::Terminated { signal, .. } => signal,
        }
    }

    /// The code a shell would report: the exit code, or 128 + signal.
    pub fn shell_code(self) -> i32 {
        match (self.exit_code(), self.signal()) {
            (Some(code), _) => code,
            (None, Some(sig)) => 128 + sig,
            (None, None) => 1,
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.exit_code(), self.signal()) {
            (Some(0), _) => f.write_str("done, exit code 0"),
            (Some(code), _) => write!(f, "terminated, exit code {code}"),
            (None, Some(sig)) => write!(f, "terminated by signal {sig} ({})", signal_name(sig)),
            (None, None) => f.write_str("terminated"),
        }
    }
}

/// `SIGTERM` for 15 and so on; `SIG?` for numbers nix does not know.
pub fn signal_name(sig: i32) -> &'static str {
    nix::sys::signal::Signal::try_from(sig)
        .map(|s| s.as_str())
        .unwrap_or("SIG?")
}

/// One thing that happened to a child, in the order of ARCHITECTURE.md's "event contract":
/// `ConnectionMade` first, per pipe its data then one `ChildConnectionLost`,
/// `ProcessExited` once when reaped, `ProcessEnded` last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessEvent {
    /// The child was started; always the first event.
    ConnectionMade {
        /// Its process id.
        pid: u32,
    },
    /// A chunk the child wrote to a read pipe (the pty master is reported as fd 1).
    ChildDataReceived {
        /// The child's fd number.
        fd: i32,
        /// The bytes, exactly as read: no line splitting, no decoding.
        data: Bytes,
    },
    /// A pipe is gone: EOF on a read pipe, or a write pipe closed by either side.
    ChildConnectionLost {
        /// The child's fd number.
        fd: i32,
    },
    /// The child was reaped.
    ProcessExited {
        /// How it ended.
        status: ExitStatus,
    },
    /// Reaped and every pipe lost: the last event.
    ProcessEnded {
        /// How it ended.
        status: ExitStatus,
    },
}

impl ProcessEvent {
    /// The snake_case name used in transcripts (`child_data_received`, …).
    pub fn name(&self) -> &'static str {
        match self {
            ProcessEvent::ConnectionMade { .. } => "connection_made",
            ProcessEvent::ChildDataReceived { .. } => "child_data_received",
            ProcessEvent::ChildConnectionLost { .. } => "child_connection_lost",
            ProcessEvent::ProcessExited { .. } => "process_exited",
            ProcessEvent::ProcessEnded { .. } => "process_ended",
        }
    }

    /// The child fd the event is about, if any.
    pub fn fd(&self) -> Option<i32> {
        match self {
            ProcessEvent::ChildDataReceived { fd, .. }
            | ProcessEvent::ChildConnectionLost { fd } => Some(*fd),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_follow_shell_conventions() {
        assert_eq!(ExitStatus::from_code(0), ExitStatus::Done);
        assert_eq!(ExitStatus::from_code(3).shell_code(), 3);
        assert_eq!(ExitStatus::from_signal(9).shell_code(), 137);
        assert_eq!(ExitStatus::from_signal(15).exit_code(), None);
        assert_eq!(
            ExitStatus::from_signal(15).to_string(),
            "terminated by signal 15 (SIGTERM)"
        );
    }
}
