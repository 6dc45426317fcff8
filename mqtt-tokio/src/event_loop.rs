//! The event loop on tokio: the core's [`EventLoop`](proto::client::EventLoop) with tokio's clock, sockets and
//! timers.

use std::pin::Pin;
use std::time::Duration;

use proto::client::Runtime;

use crate::{Client, Connector, Error, Options, TokioClock};

/// tokio, as the core's event loop uses it.
#[derive(Debug, Clone, Copy)]
pub struct Tokio;

impl Runtime for Tokio {
    type Clock = TokioClock;
    type Connector = Connector;

    fn clock() -> TokioClock {
        TokioClock::new()
    }

    fn connector(url: &str, options: &Options) -> Result<Connector, Error> {
        Connector::new(url, options)
    }

    fn sleep(duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// Runs one connection (and its reconnects) on tokio: spawn [`run`](proto::client::EventLoop::run), or await it
/// yourself.
pub type EventLoop = proto::client::EventLoop<Tokio>;

/// Creates a client and its event loop; nothing happens until the event loop runs.
///
/// # Errors
///
/// [`Error::Config`] if the options cannot make a session; [`Error::Tls`] if the TLS settings cannot be used.
pub fn new(options: &Options) -> Result<(Client, EventLoop), Error> {
    EventLoop::new(options)
}

/// Creates a client, spawns its event loop on the current tokio runtime, and waits until the broker accepts the
/// first connection.
///
/// # Errors
///
/// [`Error::Refused`] or [`Error::GaveUp`] if the broker refused the connection permanently; when no connection
/// succeeded within [`Options::first_connection_timeout`] (the connect timeout per broker), the error of the last
/// attempt (for example [`Error::Io`] for a refused connection, or [`Error::Tls`] for a certificate the check
/// rejected), or else [`Error::Timeout`]. The event loop then stops.
///
/// # Panics
///
/// Outside a tokio runtime (as `tokio::spawn` does).
pub async fn connect(options: Options) -> Result<Client, Error> {
    let (client, event_loop) = new(&options)?;
    let connected = client.wait_connected(options.first_connection_timeout());
    let task = tokio::spawn(event_loop.run());
    let outcome = connected.await;
    if outcome.is_err() {
        task.abort();
    }
    outcome.map(|()| client)
}
