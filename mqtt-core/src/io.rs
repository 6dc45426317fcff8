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
/// An implementation with several broker addresses tries the next one on each call, which gives failover: the
/// session's reconnect policy spaces the calls out.
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

/// Failover across several brokers: each attempt uses one connector of the list, moving on to the next after a
/// failure and staying with one that worked. The reconnect policy spaces the attempts.
///
/// `list` is anything that is a mutable slice of connectors: an array on a device, a `Vec` on a server. An empty
/// list is refused by [`Failover::new`].
#[derive(Debug)]
pub struct Failover<S, C> {
    list: S,
    current: usize,
    _connector: core::marker::PhantomData<fn() -> C>,
}

impl<S: AsMut<[C]>, C: Connect> Failover<S, C> {
    /// Failover over `list`, starting with its first connector; `None` if the list is empty.
    pub fn new(mut list: S) -> Option<Self> {
        (!list.as_mut().is_empty()).then_some(Self {
            list,
            current: 0,
            _connector: core::marker::PhantomData,
        })
    }

    /// The index of the connector the next attempt uses.
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
