//! The [`EventLoop`]: the core [`Driver`] on an async runtime, running the session its [`Client`] handles share.

use core::pin::Pin;
use core::time::Duration;
use std::boxed::Box;
use std::sync::Arc;
use std::vec::Vec;

use super::{Client, Core, Dispatch, Error, Options, Redirecting, Shared};
use crate::Buf;
use crate::driver::Driver;
use crate::io::{Clock, Connect};

/// What an async runtime gives the [`EventLoop`]: time, connections and timers. `mqtt-tokio` and
/// `mqtt-smol` each implement it in a few lines.
pub trait Runtime: 'static {
    /// The session's clock. Handles read it too (through a clone), so clones must share one epoch.
    type Clock: Clock + Clone + Send + Sync + 'static;
    /// Opens connections to one broker URL.
    type Connector: Connect<Error = Error, Io: embedded_io_async::ErrorType<Error = std::io::Error>>
        + Send
        + 'static;

    /// A clock whose epoch is now.
    fn clock() -> Self::Clock;

    /// A connector for `url`, with the TLS settings of `options`.
    ///
    /// # Errors
    ///
    /// When the URL or the TLS settings cannot make connections.
    fn connector(url: &str, options: &Options) -> Result<Self::Connector, Error>;

    /// A future that completes after `duration`.
    fn sleep(duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// The core driver over the runtime's connectors, tried in turn (and the server of a broker's redirection).
type RuntimeDriver<R> =
    Driver<'static, Redirecting<<R as Runtime>::Connector>, <R as Runtime>::Clock>;

/// Bytes staged for one write, and taken from the socket by one read, at first: an idle connection keeps no more.
const STAGING: usize = 512;
/// What the staging buffers grow to under load: everything queued since the last write goes out together, up to
/// this, and a read takes up to this.
const STAGING_MAX: usize = 64 * 1024;

/// Runs one connection (and its reconnects) on the runtime `R`: spawn [`run`](Self::run), or await it yourself.
pub struct EventLoop<R: Runtime> {
    driver: RuntimeDriver<R>,
    shared: Arc<Shared>,
    /// The `tracing` span its events belong to: `mqtt` with the client identifier.
    span: tracing::Span,
}

impl<R: Runtime> core::fmt::Debug for EventLoop<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EventLoop")
            .field("shared", &self.shared)
            .finish_non_exhaustive()
    }
}

impl<R: Runtime> EventLoop<R> {
    /// Creates a client and its event loop. The client works at once (its commands are queued); nothing goes
    /// to the network until the event loop runs.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the options cannot make a session; the connector's errors for a URL or TLS settings
    /// that cannot make connections.
    pub fn new(options: &Options) -> Result<(Client, Self), Error> {
        let (session, store) = options.open_session()?;
        let connectors = options
            .brokers()
            .iter()
            .map(|url| R::connector(url, options))
            .collect::<Result<Vec<_>, _>>()?;
        let clock = R::clock();
        let handle_clock = clock.clone();
        let dispatch = Dispatch::from_options(options);
        let shared =
            Arc::new(Shared::new(session, dispatch, move || handle_clock.now()).with_store(store));
        let redirect_options = options.clone();
        let make = Box::new(move |url: &str| R::connector(url, &redirect_options));
        let failover = Redirecting::new(connectors, make, Arc::downgrade(&shared))
            .ok_or(Error::Environment("no broker given"))?;
        let driver = Driver::new(failover, clock, Buf::owned(STAGING), Buf::owned(STAGING))
            .grow_staging_up_to(STAGING_MAX);
        let client = Client::new(shared.clone(), R::sleep);
        let span = tracing::info_span!("mqtt", client_id = options.client_id.as_str());
        Ok((
            client,
            Self {
                driver,
                shared,
                span,
            },
        ))
    }

    /// Runs until the client disconnects or every [`Client`] handle is dropped (then it disconnects gracefully).
    /// What it logs through `tracing` is in the span `mqtt`, with the client identifier.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the connection without DISCONNECT (the broker publishes the will); the handles
    /// then see [`Error::Closed`].
    pub async fn run(mut self) {
        let span = self.span.clone();
        tracing::Instrument::instrument(self.run_inner(), span).await;
    }

    async fn run_inner(&mut self) {
        {
            let now = self.shared.now();
            let mut core = self.shared.core();
            // Not after a disconnect that came first: the loop then only ends.
            if !core.dispatch.is_finished() {
                core.session.connect(now);
            }
        }
        self.driver.run(&*self.shared).await;
    }
}

impl<R: Runtime> Drop for EventLoop<R> {
    fn drop(&mut self) {
        let mut core = self.shared.core();
        if !core.dispatch.is_finished() {
            let Core { session, dispatch } = &mut *core;
            dispatch.close(session);
        }
    }
}
