//! [`Driver`]: the one async loop that runs a [`Session`] over an [`Io`](crate::io::Io), shared by the tokio, smol
//! and embedded bindings.
//!
//! The driver owns the session, the connector, the clock, the current stream and a staging buffer for outgoing
//! bytes. Each [`Driver::step`] does all the work that is ready (transport actions, writes, events) and then waits
//! for one input: bytes from the broker or the session's next deadline. Application commands go straight to the
//! session through [`Driver::session_mut`] between steps.
//!
//! ```text
//! loop {
//!     select! {
//!         _ = driver.step(&mut |event| handle(event)) => {}
//!         command = commands.recv() => apply(driver.session_mut(), command),
//!     }
//! }
//! ```

use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;

use embedded_io_async::{Read, Write};

use crate::buffer::Buf;
use crate::io::{Clock, Connect};
use crate::session::{Event, Session, SessionState, TransportAction};
use crate::time::Instant;

/// Runs a [`Session`] over connections opened by `N`, with time from `C`.
#[derive(Debug)]
pub struct Driver<'b, N: Connect, C: Clock> {
    session: Session<'b>,
    connector: N,
    clock: C,
    io: Option<N::Io>,
    tx: Buf<'b>,
    tx_start: usize,
    tx_end: usize,
    /// The session asked for a connection that is not open yet: an attempt interrupted by cancellation is retried.
    opening: bool,
    last_error: Option<DriverError<N::Error, <N::Io as embedded_io_async::ErrorType>::Error>>,
}

/// A transport failure the driver handled (the session closed the connection and applies its reconnect policy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverError<C, I> {
    /// Opening a connection failed.
    Connect(C),
    /// Reading or writing failed.
    Io(I),
    /// The broker closed the connection.
    Closed,
}

impl<'b, N: Connect, C: Clock> Driver<'b, N, C> {
    /// A driver for `session`. `tx` stages outgoing bytes: its size bounds how much is written per system call (a
    /// few KiB is plenty; large messages go out in pieces).
    pub fn new(session: Session<'b>, connector: N, clock: C, tx: Buf<'b>) -> Self {
        Self {
            session,
            connector,
            clock,
            io: None,
            tx,
            tx_start: 0,
            tx_end: 0,
            opening: false,
            last_error: None,
        }
    }

    /// The session, to read its state.
    pub fn session(&self) -> &Session<'b> {
        &self.session
    }

    /// The session, to give it commands (`publish`, `subscribe`...). The next [`step`](Self::step) acts on them.
    pub fn session_mut(&mut self) -> &mut Session<'b> {
        &mut self.session
    }

    /// The current time of the driver's clock.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// The last transport failure, kept for diagnostics until the next one.
    pub fn last_error(
        &self,
    ) -> Option<&DriverError<N::Error, <N::Io as embedded_io_async::ErrorType>::Error>> {
        self.last_error.as_ref()
    }

    /// Does all ready work, handing each event to `on_event`, then waits for bytes or the next deadline and feeds
    /// it to the session. Returns without waiting when the session is closed (disconnected, or gave up): call it
    /// again only after a command such as `connect`.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe when the stream's `read` and `write` and the connector are: nothing is lost if the future is
    /// dropped at an await point. Bytes taken from the session stay staged until written, and received bytes are
    /// handed to the session in the same poll that reads them.
    pub async fn step(&mut self, on_event: &mut impl FnMut(Event<'_>)) {
        loop {
            self.transport_actions().await;
            while let Some(event) = self.session.poll_event() {
                on_event(event);
            }
            // Writing can end the connection or the session (DISCONNECT), which makes new actions and events.
            if !self.flush().await {
                break;
            }
        }
        self.wait_for_input().await;
    }

    async fn transport_actions(&mut self) {
        loop {
            if !self.opening {
                match self.session.poll_transport() {
                    Some(action) => {
                        self.io = None;
                        self.tx_start = 0;
                        self.tx_end = 0;
                        self.opening = action == TransportAction::Open;
                    }
                    None => return,
                }
                continue;
            }
            let deadline = self.session.poll_timeout();
            let outcome = {
                let connect = self.connector.connect();
                let timeout = sleep_until(&self.clock, deadline);
                select(connect, timeout).await
            };
            // Only now is the attempt over: had this future been dropped during the await, the next step would
            // have started a fresh attempt.
            self.opening = false;
            let now = self.clock.now();
            match outcome {
                Either::Left(Ok(io)) => {
                    self.io = Some(io);
                    self.session.handle_transport_up(now);
                }
                Either::Left(Err(e)) => {
                    self.last_error = Some(DriverError::Connect(e));
                    self.session.handle_transport_down(now);
                }
                Either::Right(()) => {
                    self.session.handle_timeout(now);
                    // A wake before the connect timeout leaves the session waiting for this connection: try again.
                    self.opening = self.session.state() == SessionState::Opening;
                }
            }
        }
    }

    /// Writes everything the session has to send; `true` if anything was written.
    async fn flush(&mut self) -> bool {
        let mut wrote = false;
        loop {
            let Some(io) = self.io.as_mut() else {
                return wrote;
            };
            if self.tx_start == self.tx_end {
                self.tx_start = 0;
                self.tx_end = 0;
                match self.session.poll_transmit(self.clock.now(), &mut self.tx) {
                    Some(n) => self.tx_end = n,
                    None => break,
                }
            }
            let pending = self.tx.get(self.tx_start..self.tx_end).unwrap_or_default();
            match io.write(pending).await {
                Ok(0) => return self.transport_failed(DriverError::Closed),
                Ok(n) => {
                    self.tx_start += n;
                    wrote = true;
                }
                Err(e) => return self.transport_failed(DriverError::Io(e)),
            }
        }
        if wrote
            && let Some(io) = self.io.as_mut()
            && let Err(e) = io.flush().await
        {
            return self.transport_failed(DriverError::Io(e));
        }
        wrote
    }

    fn transport_failed(
        &mut self,
        error: DriverError<N::Error, <N::Io as embedded_io_async::ErrorType>::Error>,
    ) -> bool {
        self.last_error = Some(error);
        self.io = None;
        self.tx_start = 0;
        self.tx_end = 0;
        self.session.handle_transport_down(self.clock.now());
        true
    }

    /// Waits for one input: received bytes or the session's deadline. Returns at once when there is neither a
    /// connection nor a deadline (a closed session): only a command can change anything then.
    async fn wait_for_input(&mut self) {
        let deadline = self.session.poll_timeout();
        if self.io.is_none() && deadline.is_none() && !self.opening {
            return;
        }
        let outcome = match self.io.as_mut() {
            // A full receive buffer only drains through events: there is nothing to read into.
            Some(_) if self.session.read_buf().is_empty() => {
                sleep_until(&self.clock, deadline).await;
                Either::Right(())
            }
            Some(io) => {
                let read = io.read(self.session.read_buf());
                let timeout = sleep_until(&self.clock, deadline);
                select(read, timeout).await
            }
            None => {
                sleep_until(&self.clock, deadline).await;
                Either::Right(())
            }
        };
        let now = self.clock.now();
        match outcome {
            Either::Left(Ok(0)) => {
                self.transport_failed(DriverError::Closed);
            }
            Either::Left(Ok(n)) => self.session.commit_read(n, now),
            Either::Left(Err(e)) => {
                self.transport_failed(DriverError::Io(e));
            }
            Either::Right(()) => self.session.handle_timeout(now),
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until<C: Clock>(clock: &C, deadline: Option<Instant>) {
    match deadline {
        Some(at) => clock.sleep_until(at).await,
        None => core::future::pending().await,
    }
}

enum Either<A, B> {
    Left(A),
    Right(B),
}

/// Runs two futures until the first completes; the other is dropped.
async fn select<A: Future, B: Future>(a: A, b: B) -> Either<A::Output, B::Output> {
    let mut a = pin!(a);
    let mut b = pin!(b);
    poll_fn(|cx| {
        if let Poll::Ready(x) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::Left(x));
        }
        if let Poll::Ready(x) = b.as_mut().poll(cx) {
            return Poll::Ready(Either::Right(x));
        }
        Poll::Pending
    })
    .await
}
