//! [`Driver`]: the one async loop that runs a [`Session`] over an [`Io`](crate::io::Io), shared by the tokio, smol
//! and embedded bindings.
//!
//! The session is shared: the application's handles give it commands directly, under a short lock, and wake the
//! driver. The [`Host`] is that shared place: it locks the session (with the [`EventSink`] that takes its events)
//! and tells the driver when a handle woke it. The driver owns what no handle touches: the connector, the clock,
//! the open stream, and two staging buffers (outgoing bytes taken from the session, incoming bytes not yet taken
//! by it).
//!
//! [`Driver::run`] loops. Under the lock it applies the last input, carries out the session's transport actions,
//! stages everything the session has to send, and hands every event to the sink. Outside the lock it waits for the
//! first of: the connection attempt, a write, a read, the session's next deadline, or a wake-up from a handle.
//! A wake-up never cancels a connection attempt and never loses a byte: an attempt is state of the loop, kept
//! across wake-ups until it succeeds, fails, or the session no longer wants it.
//!
//! ```text
//!  handles ──lock: publish, subscribe…──▶ Session ◀──lock: input, transport, transmit, events──┐
//!     │                                                                                       │
//!     └──────────── wake ─────────────▶ Driver::run: select(connect | write | read, deadline, woken)
//! ```

use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;

use embedded_io_async::{ErrorType, Read, Write};

use crate::buffer::Buf;
use crate::io::{Clock, Connect};
use crate::session::{AckToken, Event, ReadMarks, Session, SessionState, TransportAction};
use crate::time::Instant;

/// Where the session lives, shared between the [`Driver`] and the application's handles.
///
/// The std clients keep it in a `Mutex` next to their dispatch; mqtt-embedded in a blocking mutex of
/// `embassy-sync`. Neither lock is ever held across an await.
pub trait Host<'b>: Wake {
    /// What takes the session's events: the binding's routing to the application.
    type Sink;

    /// Runs `f` with the session and the sink locked. `f` does a bounded amount of work and never blocks.
    fn lock<R>(&self, f: impl FnOnce(&mut Session<'b>, &mut Self::Sink) -> R) -> R;
}

/// The wake-up a [`Host`] gives its driver. (A trait of its own, without the session's lifetime, so that the
/// driver's future is `Send` whenever the host's wake-up is.)
pub trait Wake {
    /// Completes when a handle asked the driver to look at the session again (after a command), or at once if
    /// one did since the last completion.
    ///
    /// # Cancel safety
    ///
    /// Must be cancel-safe: the driver drops it whenever something else happens first. A wake-up that arrives
    /// while no one waits is kept for the next call.
    fn woken(&self) -> impl Future<Output = ()>;
}

/// Takes what the session reports, in order, with the session locked.
pub trait EventSink<E> {
    /// Takes one event. [`Flow::Hold`] for an [`Event::Message`] means the application cannot take it now (its
    /// queues are full): the driver gives it back to the session ([`Session::hold_message`]), which offers it
    /// again and processes nothing after it until then, and the driver stops reading; a handle's wake-up (room
    /// in a queue) makes it try again. Any other event is always taken.
    ///
    /// `ack` is the acknowledgement an [`Event::Message`] owes the broker when the session acknowledges on the
    /// application's word (`Config::manual_ack`): hand it to [`Session::ack`] once the application has the
    /// message.
    fn event(&mut self, event: Event<'_>, ack: Option<AckToken>) -> Flow;

    /// Whether a message this sink took ([`Flow::Taken`]) is in the application's hands at once, so that the
    /// driver acknowledges it itself (with `Config::manual_ack`): true for a sink that hands messages to a
    /// handler or copies them where the application takes them; false (the default) for one that passes the
    /// `ack` token on and acknowledges later.
    fn acks_when_taken(&self) -> bool {
        false
    }

    /// A transport failure the driver handled: the connection could not be opened, or reading or writing failed.
    /// The session has already been told and applies its reconnect policy; this is for diagnostics.
    fn transport_failed(&mut self, error: E) {
        let _ = error;
    }

    /// A connection attempt to broker `broker` (of the connector's list) starts now: for diagnostics.
    fn connecting(&mut self, broker: usize) {
        let _ = broker;
    }

    /// Whether the application is done with the session: once it is [`Closed`](SessionState::Closed) too,
    /// [`Driver::run`] returns.
    fn is_finished(&self) -> bool {
        false
    }
}

/// Whether the sink took an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Taken.
    Taken,
    /// Not taken now (a message whose queues are full): offer it again later.
    Hold,
}

/// A transport failure, as the driver saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverError<C, I> {
    /// Opening a connection failed.
    Connect(C),
    /// Reading or writing failed.
    Io(I),
    /// The broker closed the connection.
    Closed,
}

/// The error of a driver's connector and stream.
pub type ErrorOf<N> = DriverError<<N as Connect>::Error, <<N as Connect>::Io as ErrorType>::Error>;

/// Runs a [`Session`] kept by a [`Host`] over connections opened by `N`, with time from `C`.
#[derive(Debug)]
pub struct Driver<'b, N: Connect, C: Clock> {
    connector: N,
    clock: C,
    tx: Buf<'b>,
    tx_start: usize,
    tx_end: usize,
    rx: Buf<'b>,
    rx_start: usize,
    rx_end: usize,
    /// The session closed the connection with bytes still staged (a DISCONNECT): write them, then close.
    closing: bool,
    /// When the closing write gives up ([`Session::close_write_timeout`] after it started).
    closing_until: Option<Instant>,
    /// The session asked for a new connection once the closing write is over
    /// ([`Session::reopens_after_close_write`]).
    reopen: bool,
    /// How large owned staging buffers may grow under load (`alloc`); borrowed ones keep their size.
    staging_max: usize,
    /// The connection's read low-water marks ([`Connect::set_read_low_water`]).
    marks: ReadMarks,
}

/// What the loop does next, decided under the lock.
enum Plan {
    /// The session wants a connection opened.
    Open,
    /// Wait for I/O, the deadline or a wake-up.
    Wait {
        deadline: Option<Instant>,
        read: bool,
    },
    /// The session is closed and the application is done with it.
    Finished,
}

/// How a connection attempt ended.
enum Attempt<Io> {
    /// It succeeded (with the stream, if the session still wants it) or failed (the session was told).
    Done(Option<Io>),
    /// The session asked for another transport action first; `open_again` if the last was a new attempt.
    Abandoned { open_again: bool },
}

/// What ended a wait.
enum Woke<T> {
    Io(T),
    Deadline,
    Woken,
}

/// Outcome of a write: bytes written, or the failure.
enum Wrote<E> {
    Bytes(usize),
    Failed(Option<E>),
}

impl<'b, N: Connect, C: Clock> Driver<'b, N, C> {
    /// A driver opening connections with `connector`. `tx` stages outgoing bytes, `rx` incoming ones: their sizes
    /// bound how much one write or one read moves (a few hundred bytes work on a device; large messages go out
    /// and come in in pieces). Neither may be empty.
    pub fn new(connector: N, clock: C, tx: Buf<'b>, rx: Buf<'b>) -> Self {
        Self {
            connector,
            clock,
            tx,
            tx_start: 0,
            tx_end: 0,
            rx,
            rx_start: 0,
            rx_end: 0,
            closing: false,
            closing_until: None,
            reopen: false,
            staging_max: 0,
            marks: ReadMarks::new(),
        }
    }

    /// Lets owned staging buffers start small and double, up to `max` bytes each, when a write or a read fills
    /// them: an idle connection keeps small buffers, a busy one batches more per system call.
    #[cfg(feature = "alloc")]
    pub fn grow_staging_up_to(mut self, max: usize) -> Self {
        self.staging_max = max;
        self
    }

    /// The current time of the driver's clock.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// The connector, to read its state (which broker of a failover list is in use, say).
    pub fn connector(&self) -> &N {
        &self.connector
    }

    /// Runs the session of `host`: connects when the session asks for it, writes what it has to send, reads what
    /// the broker sends, keeps its timers, and hands its events to the host's sink. Returns once the session is
    /// [`Closed`](SessionState::Closed) and the sink [is finished](EventSink::is_finished); a closed session
    /// that is not finished (it gave up) waits for a handle to start it again.
    ///
    /// Call [`Session::connect`] (through the host) to start; the driver does not.
    ///
    /// # Cancel safety
    ///
    /// The connection belongs to this future: dropping it closes the connection at once, without DISCONNECT (the
    /// broker publishes the will), and the session is not told. Run it again only after telling the session
    /// (`handle_transport_down`).
    pub async fn run<H>(&mut self, host: &H)
    where
        H: Host<'b>,
        H::Sink: EventSink<ErrorOf<N>>,
    {
        let mut io: Option<N::Io> = None;
        let brokers = self.connector.brokers();
        let capacity = self.tx.len().max(self.staging_max);
        host.lock(|session, _| {
            session.set_brokers(brokers);
            session.set_transmit_capacity(capacity);
        });
        loop {
            match host.lock(|session, sink| self.prepare(session, sink, &mut io)) {
                Plan::Finished => return,
                Plan::Open => io = self.open(host).await,
                Plan::Wait { deadline, read } => {
                    let woke = self.wait(&mut io, host, deadline, read).await;
                    let now = self.clock.now();
                    let failure = match woke {
                        Woke::Io(Some(failure)) => Some(failure),
                        Woke::Deadline => {
                            host.lock(|session, _| session.handle_timeout(now));
                            None
                        }
                        Woke::Io(None) | Woke::Woken => None,
                    };
                    // Written, or the broker took nothing for too long: the connection ends either way.
                    if self.closing
                        && (self.tx_start == self.tx_end
                            || self.closing_until.is_some_and(|at| now >= at))
                    {
                        io = None;
                        self.clear();
                    }
                    if let Some(error) = failure {
                        io = None;
                        let reopen = self.reopen;
                        self.clear();
                        if reopen {
                            // The connection the session left behind failed while its last acknowledgements went
                            // out; the session waits for the next one, which this is not about.
                            continue;
                        }
                        // After a close the session has moved on: this only reaches the sink.
                        host.lock(|session, sink| {
                            session.handle_transport_down(now);
                            sink.transport_failed(error);
                        });
                    }
                }
            }
        }
    }

    /// Under the lock: does everything that is ready, and says what to wait for.
    fn prepare<S: EventSink<ErrorOf<N>>>(
        &mut self,
        session: &mut Session<'b>,
        sink: &mut S,
        io: &mut Option<N::Io>,
    ) -> Plan {
        let now = self.clock.now();
        if session.poll_timeout().is_some_and(|at| now >= at) {
            session.handle_timeout(now);
        }
        let mut open = false;
        let mut held = false;
        // Each output can feed the others (an event's processing queues an acknowledgement, a written DISCONNECT
        // closes the transport): go round until none has anything. Every round consumes input or output, and the
        // session bounds both, so this ends.
        loop {
            let mut busy = false;
            while let Some(action) = session.poll_transport() {
                busy = true;
                open = action == TransportAction::Open;
                if open && self.closing && session.reopens_after_close_write() {
                    // The acknowledgements staged before the session's reconnect go out first, then it opens.
                    self.reopen = true;
                    open = false;
                    continue;
                }
                self.reopen = false;
                if !open && io.is_some() && self.tx_start < self.tx_end {
                    // What the session wrote before closing (its DISCONNECT) goes out first, within a bound.
                    self.closing = true;
                    self.closing_until
                        .get_or_insert(now + session.close_write_timeout());
                } else {
                    *io = None;
                    self.clear();
                }
            }
            if io.is_some() && !self.closing {
                busy |= self.stage(session, now);
                busy |= self.feed(session, now);
            }
            // A closed session's last bytes (its DISCONNECT) still staged: its events wait until they are written.
            // `Disconnected` is what ends an application's wait for its disconnect, and a program that ends right
            // after must not leave the broker without the DISCONNECT (the broker would publish the will).
            let disconnecting = io.is_some()
                && self.tx_start < self.tx_end
                && (self.closing || session.state() == SessionState::Closed);
            if !held && !disconnecting {
                while let Some((event, ack)) = session.poll_event_acked() {
                    busy = true;
                    if sink.event(event, ack) == Flow::Hold {
                        session.hold_message();
                        held = true;
                        break;
                    }
                    if let Some(token) = ack
                        && sink.acks_when_taken()
                    {
                        session.ack(token, now);
                    }
                }
            }
            if !busy {
                break;
            }
        }
        if self.reopen && !self.closing {
            // The closing write is over.
            self.reopen = false;
            open = true;
        }
        if open && session.state() == SessionState::Opening {
            return Plan::Open;
        }
        if io.is_none() && session.state() == SessionState::Closed && sink.is_finished() {
            return Plan::Finished;
        }
        let read = io.is_some() && !held && !self.closing && self.rx_start == self.rx_end;
        if read && let Some(stream) = io.as_mut() {
            // The last read is all with the session, and its events are taken.
            let written = self.tx_start == self.tx_end;
            let connector = &mut self.connector;
            self.marks.before_read_wait(session, now, written, |bytes| {
                connector.set_read_low_water(stream, bytes)
            });
        }
        // The earlier of the session's next deadline and the end of a closing write.
        let deadline = session
            .poll_timeout()
            .into_iter()
            .chain(self.closing_until)
            .min();
        Plan::Wait { deadline, read }
    }

    /// Moves what the session has to send into the staging buffer, as much as fits: everything queued since the
    /// last write goes out in one write. `true` if anything was staged.
    fn stage(&mut self, session: &mut Session<'b>, now: Instant) -> bool {
        if self.tx_start == self.tx_end {
            self.tx_start = 0;
            self.tx_end = 0;
        }
        let mut staged = false;
        loop {
            while let Some(free) = self.tx.get_mut(self.tx_end..).filter(|f| !f.is_empty()) {
                match session.poll_transmit(now, free) {
                    Some(n) => {
                        self.tx_end += n;
                        staged = true;
                    }
                    // A packet larger than the room left: what is staged goes out first, then the buffer grows
                    // to take it (the session was told how far it can).
                    None => match session.transmit_needs() {
                        Some(need) if self.tx_end == 0 && need > self.tx.len() => {
                            while self.tx.len() < need {
                                if !grow(&mut self.tx, self.staging_max) {
                                    return staged;
                                }
                            }
                        }
                        _ => return staged,
                    },
                }
            }
            // Full, with more to send: a larger buffer next time (and now, if it can grow).
            if !grow(&mut self.tx, self.staging_max) {
                return staged;
            }
        }
    }

    /// Hands received bytes to the session, as many as it takes. `true` if it took any.
    fn feed(&mut self, session: &mut Session<'b>, now: Instant) -> bool {
        let pending = self.rx.get(self.rx_start..self.rx_end).unwrap_or_default();
        if pending.is_empty() {
            return false;
        }
        let taken = session.handle_bytes(pending, now);
        self.rx_start += taken;
        if self.rx_start == self.rx_end {
            self.rx_start = 0;
            self.rx_end = 0;
        }
        taken > 0
    }

    /// Forgets the connection's buffers and its closing write (not a [`reopen`](Self::reopen) waiting for that
    /// write's end).
    fn clear(&mut self) {
        self.closing = false;
        self.closing_until = None;
        self.marks = ReadMarks::new();
        self.tx_start = 0;
        self.tx_end = 0;
        self.rx_start = 0;
        self.rx_end = 0;
    }

    /// Opens a connection and tells the session how it went. A wake-up does not cancel the attempt; the session
    /// does, by asking for another transport action (a disconnect, a new attempt) or by its connect timeout.
    async fn open<H>(&mut self, host: &H) -> Option<N::Io>
    where
        H: Host<'b>,
        H::Sink: EventSink<ErrorOf<N>>,
    {
        loop {
            match self.attempt(host).await {
                Attempt::Done(io) => return io,
                // The session asked for a fresh attempt while this one ran (a reconnect): start over.
                Attempt::Abandoned { open_again: true } => {}
                Attempt::Abandoned { open_again: false } => return None,
            }
        }
    }

    async fn attempt<H>(&mut self, host: &H) -> Attempt<N::Io>
    where
        H: Host<'b>,
        H::Sink: EventSink<ErrorOf<N>>,
    {
        // The session decides which broker of a failover list this attempt goes to.
        let broker = host.lock(|session, sink| {
            let broker = session.broker();
            sink.connecting(broker);
            broker
        });
        self.connector.select(broker);
        let clock = &self.clock;
        let outcome = {
            let attempt = self.connector.connect();
            let mut attempt = pin!(attempt);
            loop {
                // While the attempt runs, events still reach the application, and any transport action of the
                // session (a disconnect, a reconnect, the connect timeout) ends it.
                let watch = host.lock(|session, sink| {
                    let now = clock.now();
                    if session.poll_timeout().is_some_and(|at| now >= at) {
                        session.handle_timeout(now);
                    }
                    let mut action = None;
                    while let Some(next) = session.poll_transport() {
                        action = Some(next);
                    }
                    while let Some(event) = session.poll_event() {
                        // Nothing is received while connecting: no message to hold.
                        let _ = sink.event(event, None);
                    }
                    (action, session.poll_timeout())
                });
                match watch {
                    (Some(action), _) => {
                        break Err(action == TransportAction::Open);
                    }
                    (None, deadline) => {
                        match select3(attempt.as_mut(), sleep_until(clock, deadline), host.woken())
                            .await
                        {
                            Woke::Io(result) => break Ok(result),
                            Woke::Deadline | Woke::Woken => {}
                        }
                    }
                }
            }
        };
        let now = self.clock.now();
        match outcome {
            Ok(Ok(io)) => {
                let wanted = host.lock(|session, _| {
                    session.handle_transport_up(now);
                    session.state() == SessionState::Connecting
                });
                Attempt::Done(wanted.then_some(io))
            }
            Ok(Err(error)) => {
                host.lock(|session, sink| {
                    session.handle_transport_down(now);
                    sink.transport_failed(DriverError::Connect(error));
                });
                Attempt::Done(None)
            }
            Err(open_again) => Attempt::Abandoned { open_again },
        }
    }

    /// Waits for one input. Writes come first: while bytes are staged the driver writes and does not read (the
    /// broker reads what it is sent; a client that never stopped to read could not be pushed back on).
    async fn wait<H: Wake>(
        &mut self,
        io: &mut Option<N::Io>,
        host: &H,
        deadline: Option<Instant>,
        read: bool,
    ) -> Woke<Option<ErrorOf<N>>> {
        let deadline = sleep_until(&self.clock, deadline);
        let Some(stream) = io.as_mut() else {
            return match select3(core::future::pending::<()>(), deadline, host.woken()).await {
                Woke::Io(()) | Woke::Woken => Woke::Woken,
                Woke::Deadline => Woke::Deadline,
            };
        };
        if self.tx_start < self.tx_end {
            let pending = self.tx.get(self.tx_start..self.tx_end).unwrap_or_default();
            let all = pending.len();
            let write = async {
                match stream.write(pending).await {
                    Ok(0) => Wrote::Failed(None),
                    Ok(n) if n < all => Wrote::Bytes(n),
                    // Everything staged is out: push it through buffering layers (TLS, WebSocket).
                    Ok(n) => match stream.flush().await {
                        Ok(()) => Wrote::Bytes(n),
                        Err(e) => Wrote::Failed(Some(e)),
                    },
                    Err(e) => Wrote::Failed(Some(e)),
                }
            };
            return match select3(write, deadline, host.woken()).await {
                Woke::Io(Wrote::Bytes(n)) => {
                    self.tx_start += n;
                    Woke::Io(None)
                }
                Woke::Io(Wrote::Failed(e)) => {
                    Woke::Io(Some(e.map_or(DriverError::Closed, DriverError::Io)))
                }
                Woke::Deadline => Woke::Deadline,
                Woke::Woken => Woke::Woken,
            };
        }
        if !read {
            return match select3(core::future::pending::<()>(), deadline, host.woken()).await {
                Woke::Io(()) | Woke::Woken => Woke::Woken,
                Woke::Deadline => Woke::Deadline,
            };
        }
        let buf = self.rx.get_mut(..).unwrap_or_default();
        match select3(stream.read(buf), deadline, host.woken()).await {
            Woke::Io(Ok(0)) => Woke::Io(Some(DriverError::Closed)),
            Woke::Io(Ok(n)) => {
                self.rx_start = 0;
                self.rx_end = n.min(self.rx.len());
                self.marks.read(self.rx_end);
                if self.rx_end == self.rx.len() {
                    // The read filled the buffer: more was probably waiting.
                    grow(&mut self.rx, self.staging_max);
                }
                Woke::Io(None)
            }
            Woke::Io(Err(e)) => Woke::Io(Some(DriverError::Io(e))),
            Woke::Deadline => Woke::Deadline,
            Woke::Woken => Woke::Woken,
        }
    }
}

/// Doubles an owned buffer, up to `max` bytes; `false` if it cannot grow.
fn grow(buf: &mut Buf<'_>, max: usize) -> bool {
    #[cfg(feature = "alloc")]
    {
        let len = buf.len();
        len < max && buf.grow(len.saturating_mul(2).clamp(64, max))
    }
    #[cfg(not(feature = "alloc"))]
    {
        let _ = (buf, max);
        false
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until<C: Clock>(clock: &C, deadline: Option<Instant>) {
    match deadline {
        Some(at) => clock.sleep_until(at).await,
        None => core::future::pending().await,
    }
}

/// Runs three futures until the first completes, in order of preference; the others are dropped.
async fn select3<A: Future>(
    a: A,
    deadline: impl Future<Output = ()>,
    woken: impl Future<Output = ()>,
) -> Woke<A::Output> {
    let mut a = pin!(a);
    let mut deadline = pin!(deadline);
    let mut woken = pin!(woken);
    poll_fn(|cx| {
        if let Poll::Ready(x) = a.as_mut().poll(cx) {
            return Poll::Ready(Woke::Io(x));
        }
        if deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Woke::Deadline);
        }
        if woken.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Woke::Woken);
        }
        Poll::Pending
    })
    .await
}
