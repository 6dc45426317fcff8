//! The [`EventLoop`]: the core [`Driver`] on an async runtime, with the commands of its [`Client`] handles.

use core::pin::{Pin, pin};
use core::time::Duration;
use std::boxed::Box;
use std::sync::Arc;
use std::vec::Vec;

use futures_channel::mpsc::{self, TryRecvError};
use futures_util::future::{Fuse, FusedFuture as _};
use futures_util::{FutureExt as _, StreamExt as _, select_biased};

use super::{Client, Command, Dispatch, Error, Options, Shared};
use crate::driver::{Driver, DriverError};
use crate::io::{Clock, Connect, Failover, FailoverError};
use crate::session::Event;
use crate::{Buf, SessionState};

/// What an async runtime gives the [`EventLoop`]: time, connections and timers. `mqtt-tokio` and
/// `mqtt-smol` each implement it in a few lines.
pub trait Runtime: 'static {
    /// The session's clock.
    type Clock: Clock + Send + 'static;
    /// Opens connections to one broker URL.
    type Connector: Connect<Error = Error> + Send + 'static;

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

/// The core driver over the runtime's connectors, tried in turn.
type RuntimeDriver<R> = Driver<
    'static,
    Failover<Vec<<R as Runtime>::Connector>, <R as Runtime>::Connector>,
    <R as Runtime>::Clock,
>;

/// Commands applied at most per wake, so that a flood of them cannot starve the connection.
const COMMAND_BATCH: usize = 256;

/// Bytes staged for one write: large messages go out in pieces of this size.
const TX_STAGING: usize = 16 * 1024;

/// Runs one connection (and its reconnects) on the runtime `R`: spawn [`run`](Self::run), or await it yourself.
pub struct EventLoop<R: Runtime> {
    driver: RuntimeDriver<R>,
    commands: mpsc::UnboundedReceiver<Command>,
    dispatch: Dispatch,
}

impl<R: Runtime> core::fmt::Debug for EventLoop<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EventLoop")
            .field("session", self.driver.session())
            .finish_non_exhaustive()
    }
}

/// What woke the event loop.
enum Wake {
    Command(Option<Command>),
    Stepped,
}

impl<R: Runtime> EventLoop<R> {
    /// Creates a client and its event loop; nothing happens until the event loop runs.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the options cannot make a session; the connector's errors for a URL or TLS settings
    /// that cannot make connections.
    pub fn new(options: &Options) -> Result<(Client, Self), Error> {
        let session = options.session()?;
        let connectors = options
            .brokers()
            .iter()
            .map(|url| R::connector(url, options))
            .collect::<Result<Vec<_>, _>>()?;
        let failover = Failover::new(connectors).ok_or(Error::Environment("no broker given"))?;
        let driver = Driver::new(session, failover, R::clock(), Buf::owned(TX_STAGING));
        let (commands_tx, commands) = mpsc::unbounded();
        let shared = Arc::new(Shared::default());
        let client = Client::new(commands_tx, shared.clone(), R::sleep);
        let dispatch = Dispatch::new(shared);
        Ok((
            client,
            Self {
                driver,
                commands,
                dispatch,
            },
        ))
    }

    /// Runs until the client disconnects or every [`Client`] handle is dropped (then it disconnects gracefully).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the connection without DISCONNECT (the broker publishes the will).
    pub async fn run(mut self) {
        let now = self.driver.now();
        self.driver.session_mut().connect(now);
        let mut handles_gone = false;
        while !self.dispatch.is_finished() {
            let Self {
                driver,
                commands,
                dispatch,
            } = &mut self;
            // A closed session (gave up) has nothing to step until a command such as `reconnect` arrives; the
            // events that closed it (ConnectFailed, GaveUp) are still delivered first.
            let idle = driver.session().state() == SessionState::Closed;
            if idle {
                while let Some(event) = driver.session_mut().poll_event() {
                    dispatch.on_event(event);
                }
                if dispatch.is_finished() || handles_gone {
                    break;
                }
            }
            let wake = {
                let mut on_event = |event: Event<'_>| dispatch.on_event(event);
                // A branch that is off is a future that has already completed.
                let mut command = if handles_gone {
                    Fuse::terminated()
                } else {
                    commands.next().fuse()
                };
                let step = if idle {
                    Fuse::terminated()
                } else {
                    driver.step(&mut on_event).fuse()
                };
                let mut step = pin!(step);
                if command.is_terminated() && step.is_terminated() {
                    break;
                }
                select_biased! {
                    command = command => Wake::Command(command),
                    () = step => Wake::Stepped,
                }
            };
            match wake {
                Wake::Command(Some(command)) => {
                    // Every command already queued, at one time: their packets go out together in the next
                    // step's writes instead of one step (and one write) each.
                    let now = driver.now();
                    dispatch.apply(driver.session_mut(), now, command);
                    for _ in 1..COMMAND_BATCH {
                        match commands.try_recv() {
                            Ok(command) => dispatch.apply(driver.session_mut(), now, command),
                            Err(TryRecvError::Closed) => {
                                handles_gone = true;
                                driver.session_mut().disconnect(now);
                                break;
                            }
                            Err(TryRecvError::Empty) => break,
                        }
                    }
                }
                Wake::Command(None) => {
                    handles_gone = true;
                    let now = driver.now();
                    driver.session_mut().disconnect(now);
                }
                Wake::Stepped => {}
            }
            let transport_error = match driver.last_error() {
                Some(DriverError::Connect(FailoverError::Connect { error, .. })) => Some(error),
                _ => None,
            };
            dispatch.update(driver.session(), transport_error);
        }
    }
}
