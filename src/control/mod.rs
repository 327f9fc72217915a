//! Remote control: a Unix socket on which a running console (`fdscope --listen`) or a
//! headless one (`fdscope serve`) takes requests from `fdscope ctl` and other clients.
//!
//! - [`request`]: the wire format (one JSON request per line, one JSON reply per line);
//! - [`server`]: the socket (0600, peer uid checked, stale one replaced), the clients'
//!   line readers and bounded reply queues;
//! - [`hub`]: answers requests on the console's own state through its actions — the one
//!   implementation both front ends share;
//! - [`registry`]: `NAME#K` instance ids;
//! - [`serve`]: the headless loop (the console's driver without a screen);
//! - [`client`]: `fdscope ctl`.
//!
//! Threat model: local users only. There is no network listener; the socket is the
//! server user's alone (mode 0600, and peers of another uid are refused even if the mode
//! was loosened). See RELIABILITY.md.

pub mod client;
pub mod hub;
pub mod registry;
pub mod request;
pub mod serve;
pub mod server;

pub use hub::Hub;
pub use request::Request;
pub use server::{bind, default_path, Call, Server};

/// A server and its hub, as the console's loop holds them.
pub struct Remote {
    /// Answers requests on the console's state.
    pub hub: Hub,
    /// The socket and its clients.
    pub server: Server,
}

impl Remote {
    /// A remote for `server`.
    pub fn new(server: Server) -> Remote {
        Remote {
            hub: Hub::new(),
            server,
        }
    }

    /// The next request, or never when `remote` is `None` (for a `select!` branch).
    pub async fn next_call(remote: &mut Option<Remote>) -> Option<Call> {
        match remote {
            Some(r) => r.server.calls.recv().await,
            None => std::future::pending().await,
        }
    }

    /// After the loop: followers and waiters are told, the socket is removed, queued
    /// replies are flushed.
    pub async fn finish(mut self, driver: &mut crate::tui::effects::Driver) {
        self.hub.flush(driver);
        self.hub.close();
        self.server.shutdown().await;
    }
}
