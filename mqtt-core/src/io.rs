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
