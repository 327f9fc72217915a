//! The easy way: Twisted's `getProcessOutput`, `getProcessValue` and
//! `getProcessOutputAndValue`, as async functions on a [`ProcessSpec`].
//!
//! Each closes the child's stdin at once (the child sees EOF instead of waiting for
//! input nobody will send) and collects what it needs until `process_ended`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use fdscope::{utils, ProcessSpec};
//! let code = utils::get_process_value(&ProcessSpec::new("/bin/false")).await?;
//! assert_eq!(code, 1);
//! let text = utils::get_process_output(&ProcessSpec::new("echo").args(["echo", "hi"])).await?;
//! assert_eq!(text, b"hi\n");
//! # Ok(()) }
//! ```

use crate::spawn::{spawn, ExitStatus, ProcessEvent, ProcessSpec, SpawnError};

/// What a child left behind: everything on stdout and stderr, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collected {
    /// Everything written to fd 1.
    pub stdout: Vec<u8>,
    /// Everything written to fd 2.
    pub stderr: Vec<u8>,
    /// How the child ended.
    pub status: ExitStatus,
}

/// Why one of the helpers failed.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The child could not be started.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// `get_process_output` without `errortoo`: the child wrote to stderr (as in Twisted,
    /// that is a failure; the text is kept).
    #[error("got stderr: {}", String::from_utf8_lossy(&.0.stderr).trim_end())]
    Stderr(Collected),
    /// The child was killed by a signal, so it has no exit code.
    #[error("{} was killed by signal {signal}", .program)]
    Signaled {
        /// The program.
        program: String,
        /// The signal number.
        signal: i32,
        /// What it wrote before it died.
        collected: Collected,
    },
}

/// Runs `spec` to the end, stdin closed, and returns what it wrote and how it ended.
/// Fds other than 1 and 2 are drained and discarded.
pub async fn collect(spec: &ProcessSpec) -> Result<Collected, SpawnError> {
    let mut process = spawn(spec)?;
    // A spec without a stdin pipe answers NotWritable: nothing to close then.
    let _ = process.transport.close_stdin();
    let mut collected = Collected {
        stdout: Vec::new(),
        stderr: Vec::new(),
        status: ExitStatus::Done,
    };
    while let Some(event) = process.events.recv().await {
        match event {
            ProcessEvent::ChildDataReceived { fd: 1, data } => {
                collected.stdout.extend_from_slice(&data)
            }
            ProcessEvent::ChildDataReceived { fd: 2, data } => {
                collected.stderr.extend_from_slice(&data)
            }
            ProcessEvent::ProcessEnded { status } => collected.status = status,
            _ => {}
        }
    }
    Ok(collected)
}

/// `getProcessOutput`: the child's stdout. Fails with [`ProcessError::Stderr`], carrying
/// the text, if the child wrote anything to stderr.
pub async fn get_process_output(spec: &ProcessSpec) -> Result<Vec<u8>, ProcessError> {
    let collected = collect(spec).await?;
    if !collected.stderr.is_empty() {
        return Err(ProcessError::Stderr(collected));
    }
    Ok(collected.stdout)
}

/// `getProcessValue`: the exit code. A child killed by a signal has none:
/// [`ProcessError::Signaled`].
pub async fn get_process_value(spec: &ProcessSpec) -> Result<i32, ProcessError> {
    let (_, _, code) = get_process_output_and_value(spec).await?;
    Ok(code)
}

/// `getProcessOutputAndValue`: (stdout, stderr, exit code); a signal gives
/// [`ProcessError::Signaled`] carrying the output.
pub async fn get_process_output_and_value(
    spec: &ProcessSpec,
) -> Result<(Vec<u8>, Vec<u8>, i32), ProcessError> {
    let collected = collect(spec).await?;
    match (collected.status.exit_code(), collected.status.signal()) {
        (Some(code), _) => Ok((collected.stdout, collected.stderr, code)),
        (None, signal) => Err(ProcessError::Signaled {
            program: spec.program_display(),
            signal: signal.unwrap_or(0),
            collected,
        }),
    }
}
