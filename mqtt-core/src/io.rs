//! What a binding supplies to the [`Driver`](crate::driver::Driver): a byte stream, a way to open one, and a clock.

use core::future::Future;

use crate::time::Instant;

/// A byte stream to the broker: anything that is `embedded_io_async::{Read, Write}`.
///
/// Tokio and smol streams become one through `embedded-io-adapters`; embedded network stacks implement it directly.
pub trait Io: embedded_io_async::Read + embedded_io_async::Write {}

impl<T: embedded_io_async::Read + embedded_io_async::Write> Io for T {}

/// Opens a fresh connection to the broker for each attempt.
///
/// An implementation with several broker addresses ([`Failover`]) says how many it has
/// ([`brokers`](Self::brokers)) and opens the one it is told to ([`select`](Self::select)). The session decides
/// which: it moves on to the next broker after a failure about the broker (a refused or dropped TCP connection, no
/// CONNACK in time, "server unavailable"...), and its reconnect policy spaces the attempts.
///
/// # Driving failover
///
/// A driver (or any loop over a [`Session`](crate::session::Session) and a `Connect`) must:
/// 1. once, before the first attempt: `session.set_brokers(connector.brokers())`;
/// 2. before every `connector.connect()` that answers a [`TransportAction::Open`](crate::session::TransportAction):
///    `connector.select(session.broker())`.
///
/// After [`Event::Connected`](crate::session::Event::Connected), `session.broker()` (and [`Failover::current`])
/// name the broker of the connection.
pub trait Connect {
    /// The stream a successful attempt yields (TCP, TLS, WebSocket...).
    type Io: Io;
    /// Why an attempt failed.
    type Error: core::fmt::Debug;

    /// Opens a connection.
    ///
    /// # Cancel safety
    ///
    /// The driver drops this future when the session's connect timeout expires first; an implementation must
    /// release what it holds when dropped.
    fn connect(&mut self) -> impl Future<Output = Result<Self::Io, Self::Error>>;

    /// How many brokers this connector can open connections to, for
    /// [`Session::set_brokers`](crate::session::Session::set_brokers). Default 1.
    fn brokers(&self) -> usize {
        1
    }

    /// Opens connections to broker `index` (below [`brokers`](Self::brokers)) from the next
    /// [`connect`](Self::connect) on: the session's choice, [`Session::broker`](crate::session::Session::broker).
    /// Default: nothing (one broker).
    fn select(&mut self, index: usize) {
        let _ = index;
    }

    /// Asks `io`, a connection this connector opened, to report itself readable only once `bytes` bytes (at
    /// least 1) have arrived: the session's [`read_low_water`](crate::session::Session::read_low_water), which the
    /// driver gives before it waits to read, whenever it changes (a new connection starts at 1). Returns whether
    /// it was applied. A hint: the default ignores it (`false`), as a transport that cannot apply it should (a
    /// mark not applied only costs wake-ups, and the driver then leaves read batching off for the connection).
    /// One that applies it (a socket's `SO_RCVLOWAT`) must still report the connection's end and errors at once.
    fn set_read_low_water(&mut self, io: &mut Self::Io, bytes: usize) -> bool {
        let _ = (io, bytes);
        false
    }
}

/// The time source of a driver.
pub trait Clock {
    /// The current time, monotonic, in the session's [`Instant`] scale.
    fn now(&self) -> Instant;

    /// Completes at `deadline` (at once if it has passed).
    ///
    /// # Cancel safety
    ///
    /// Must be cancel-safe: the driver drops it whenever I/O happens first.
    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()>;
}

/// A shared clock: the driver of a runner and the handles that stamp commands read the same one.
impl<C: Clock> Clock for &C {
    fn now(&self) -> Instant {
        (**self).now()
    }

    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> {
        (**self).sleep_until(deadline)
    }
}

/// Failover across several brokers: each attempt uses one connector of the list.
///
/// Which one is the session's choice, given through [`select`](Connect::select) (see [Driving
/// failover](Connect#driving-failover)): it moves on after a failure about the broker, including a node that
/// accepts TCP and never answers CONNECT, or refuses with "server unavailable", and tries the next one at once;
/// the reconnect schedule applies between rounds over the list. Without `select` calls, `Failover` moves on by
/// itself when a connector fails to open a connection, and stays with one that worked.
///
/// `list` is anything that is a mutable slice of connectors: an array on a device, a `Vec` on a server. An empty
/// list is refused by [`Failover::new`].
#[derive(Debug)]
pub struct Failover<S, C> {
    list: S,
    len: usize,
    current: usize,
    _connector: core::marker::PhantomData<fn() -> C>,
}

impl<S: AsMut<[C]>, C: Connect> Failover<S, C> {
    /// Failover over `list`, starting with its first connector; `None` if the list is empty.
    pub fn new(mut list: S) -> Option<Self> {
        let len = list.as_mut().len();
        (len > 0).then_some(Self {
            list,
            len,
            current: 0,
            _connector: core::marker::PhantomData,
        })
    }

    /// The index of the connector the next attempt uses; after a successful [`connect`](Connect::connect), the one
    /// that made the connection (until the next `select` or failure), so that a `Connected` can be told apart by
    /// broker.
    pub fn current(&self) -> usize {
        self.current
    }
}

impl<S: AsMut<[C]>, C: Connect> Connect for Failover<S, C> {
    type Io = C::Io;
    type Error = FailoverError<C::Error>;

    async fn connect(&mut self) -> Result<C::Io, Self::Error> {
        let list = self.list.as_mut();
        let len = list.len();
        let index = self.current % len.max(1);
        let connector = list.get_mut(index).ok_or(FailoverError::NoBroker)?;
        let result = connector.connect().await;
        if result.is_err() {
            self.current = (index + 1) % len;
        }
        result.map_err(|error| FailoverError::Connect { index, error })
    }

    fn brokers(&self) -> usize {
        self.len
    }

    fn select(&mut self, index: usize) {
        self.current = index % self.len.max(1);
    }

    fn set_read_low_water(&mut self, io: &mut C::Io, bytes: usize) -> bool {
        let index = self.current % self.len.max(1);
        self.list
            .as_mut()
            .get_mut(index)
            .is_some_and(|connector| connector.set_read_low_water(io, bytes))
    }
}

/// Why a [`Failover`] attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailoverError<E> {
    /// The connector at `index` failed.
    Connect {
        /// Which broker of the list.
        index: usize,
        /// Its error.
        error: E,
    },
    /// The list of connectors is empty.
    NoBroker,
}
