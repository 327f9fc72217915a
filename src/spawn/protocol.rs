//! `ProcessProtocol`: the seed guide's callbacks, fed from the event stream.

use super::{spawn, ExitStatus, Process, ProcessEvent, ProcessSpec, ProcessTransport, SpawnError};
use tokio::task::JoinHandle;

/// The callbacks of Twisted's `ProcessProtocol`, in snake_case. Every method has a
/// default: data is thrown away (the pipes are still drained), and the generic
/// `child_*` methods dispatch to the stdin/stdout/stderr ones as Twisted does.
#[allow(unused_variables)]
pub trait ProcessProtocol: Send + 'static {
    /// The child started; a good place to write to it. Keep a clone of `transport`
    /// to act on the child later.
    fn connection_made(&mut self, transport: &ProcessTransport) {}

    /// A chunk from read pipe `fd` (any size: accumulate, do not assume lines).
    /// By default fd 1 goes to `out_received` and fd 2 to `err_received`.
    fn child_data_received(&mut self, fd: i32, data: &[u8]) {
        match fd {
            1 => self.out_received(data),
            2 => self.err_received(data),
            _ => {}
        }
    }

    /// A chunk from stdout.
    fn out_received(&mut self, data: &[u8]) {}

    /// A chunk from stderr.
    fn err_received(&mut self, data: &[u8]) {}

    /// The pipe on child fd `fd` is gone. By default fds 0, 1, 2 go to
    /// `in_connection_lost`, `out_connection_lost`, `err_connection_lost`.
    fn child_connection_lost(&mut self, fd: i32) {
        match fd {
            0 => self.in_connection_lost(),
            1 => self.out_connection_lost(),
            2 => self.err_connection_lost(),
            _ => {}
        }
    }

    /// stdin is closed (usually by us).
    fn in_connection_lost(&mut self) {}

    /// The child closed stdout (usually by exiting).
    fn out_connection_lost(&mut self) {}

    /// The child closed stderr.
    fn err_connection_lost(&mut self) {}

    /// The child was reaped; some pipes may still be open (a grandchild can hold them).
    fn process_exited(&mut self, status: ExitStatus) {}

    /// The child was reaped and every pipe is closed: the last callback.
    fn process_ended(&mut self, status: ExitStatus) {}
}

/// Feeds every event of `process` to `protocol`, until `process_ended`; returns the protocol.
pub async fn drive<P: ProcessProtocol>(process: Process, mut protocol: P) -> P {
    let Process {
        transport,
        mut events,
    } = process;
    while let Some(event) = events.recv().await {
        match event {
            ProcessEvent::ConnectionMade { .. } => protocol.connection_made(&transport),
            ProcessEvent::ChildDataReceived { fd, data } => protocol.child_data_received(fd, &data),
            ProcessEvent::ChildConnectionLost { fd } => protocol.child_connection_lost(fd),
            ProcessEvent::ProcessExited { status } => protocol.process_exited(status),
            ProcessEvent::ProcessEnded { status } => protocol.process_ended(status),
        }
    }
    protocol
}

/// Spawns `spec` and drives `protocol` to the end; returns the protocol for its results.
pub async fn run_protocol<P: ProcessProtocol>(
    spec: &ProcessSpec,
    protocol: P,
) -> Result<P, SpawnError> {
    Ok(drive(spawn(spec)?, protocol).await)
}

/// Twisted's `reactor.spawnProcess(protocol, …)`: spawns and drives `protocol` on a task
/// of its own. Returns the transport and a handle that yields the protocol after
/// `process_ended`. Must be called inside a tokio runtime.
pub fn spawn_process<P: ProcessProtocol>(
    protocol: P,
    spec: &ProcessSpec,
) -> Result<(ProcessTransport, JoinHandle<P>), SpawnError> {
    let process = spawn(spec)?;
    let transport = process.transport.clone();
    Ok((transport, tokio::spawn(drive(process, protocol))))
}
