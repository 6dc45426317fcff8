//! The [`EventLoop`]: `poll(2)` drives the session over two descriptors, the connection's socket and a wake-up
//! descriptor for commands from other threads (see [`Wakeup`]), with the poll timeout from the session's next
//! deadline. Connections open on a short-lived thread so that the loop keeps answering while a handshake runs.
//! Callbacks run here, outside every lock.
//!
//! `poll(2)` is level-triggered, so the loop asks only for what it can act on: readable while it wants to read (not
//! while it holds a message for a full queue: the socket then waits, and the broker's window pushes back), writable
//! while bytes wait for the socket (staged, or held by TLS or WebSocket).

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::task::{Context, Poll as TaskPoll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use proto::client::{Core, Dispatch, Shared};
use proto::driver::Flow;
use proto::session::ReadMarks;
use proto::{Session, TransportAction};
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::io::Errno;

use crate::client::{Hooks, Inner, guarded, lock};
use crate::transport::{Connector, Stream};
use crate::wakeup::Wakeup;
use crate::{Client, Error, Options};

/// Bytes staged for one write: everything queued since the last write goes out together, up to this.
const TX_STAGING: usize = 16 * 1024;
/// Messages a callback gets per round of the loop, so that the connection is served in between.
const CALLBACK_BATCH: usize = 64;
/// Time callbacks may take in one round before the loop serves the connection (writes the acknowledgements they
/// released, reads, keeps alive), whatever the count.
const CALLBACK_ROUND: Duration = Duration::from_millis(10);

/// The outcome of a connection attempt, with the attempt's number.
type Opened = (u64, Result<Stream, Error>);

/// An open connection and what the loop knows of its readiness: ready until an operation would block, then
/// ready again once `poll(2)` says so.
struct Connection {
    stream: Stream,
    readable: bool,
    writable: bool,
    /// `poll(2)` reported an error or a hang-up: it would report it at every call, so the socket is not polled any
    /// more; the next read or write finds out what happened (the reads after what arrived before).
    hung_up: bool,
    /// The socket's read low-water marks ([`Stream::set_read_low_water`]).
    marks: ReadMarks,
}

/// Runs one connection (and its reconnects): on its own thread with [`start`](Self::start), or on yours with
/// [`run`](Self::run).
pub struct EventLoop {
    inner: Arc<Inner>,
    /// Wakes this loop: given to the shared session, which wakes it after a handle's command.
    wake: Waker,
    /// The last poll found the wake-up descriptor readable: it is drained before the next.
    woken: bool,
    /// Whether the loop wants to read: not while a message waits for room in a full queue, nor while the session
    /// has no room for more bytes.
    reading: bool,
    /// A connection attempt starts: the `on_connecting` callbacks are due.
    connecting: bool,
    /// Why the connection just failed, for the dispatch.
    failure: Option<Error>,
    /// The handle callbacks get; it does not keep the loop alive.
    client: Client,
    connectors: Vec<Connector>,
    /// For the connector of a broker's redirection.
    options: Options,
    connect_timeout: Duration,
    /// The attempt whose outcome is awaited, numbered so that late outcomes of abandoned ones are ignored.
    opening: Option<u64>,
    attempts: u64,
    opened: (mpsc::Sender<Opened>, mpsc::Receiver<Opened>),
    connection: Option<Connection>,
    tx: Box<[u8]>,
    staged: std::ops::Range<usize>,
    /// The session closed the connection with bytes still staged (its DISCONNECT): they go out first, until
    /// then ([`Session::close_write_timeout`] after the close).
    closing_until: Option<proto::Instant>,
    /// The session asked for a new connection once the closing write is over
    /// ([`Session::reopens_after_close_write`]).
    reopen: bool,
    /// The `tracing` span its events belong to: `mqtt` with the client identifier.
    span: tracing::Span,
}

impl std::fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLoop")
            .field("connected", &self.connection.is_some())
            .finish_non_exhaustive()
    }
}

/// Creates a client and its event loop; nothing happens until the event loop runs.
///
/// # Errors
///
/// [`Error::Config`] if the options cannot make a session; [`Error::Tls`] if the TLS settings cannot be used;
/// [`Error::Io`] if the wake-up descriptor cannot be made (out of descriptors).
pub fn new(options: &Options) -> Result<(Client, EventLoop), Error> {
    let (session, store) = options.open_session()?;
    let connectors = options
        .brokers()
        .iter()
        .map(|url| Connector::new(url, options))
        .collect::<Result<Vec<_>, _>>()?;
    let waker = Arc::new(Wakeup::new()?);
    let epoch = Instant::now();
    let now = move || {
        let millis = epoch.elapsed().as_millis();
        proto::Instant::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
    };
    let dispatch = Dispatch::from_options(options);
    let shared = Arc::new(Shared::new(session, dispatch, now).with_store(store));
    let inner = Arc::new(Inner {
        shared,
        waker: waker.clone(),
        hooks: Mutex::new(Hooks::default()),
        aborted: AtomicBool::new(false),
        reconnect_after_callbacks: Mutex::new(false),
        loop_thread: Mutex::new(None),
        finished: (Mutex::new(false), Condvar::new()),
    });
    let event_loop = EventLoop {
        inner: inner.clone(),
        wake: Waker::from(waker),
        woken: false,
        reading: false,
        connecting: false,
        failure: None,
        client: Client::new(inner.clone(), false),
        connectors,
        options: options.clone(),
        connect_timeout: options.connect_timeout_duration(),
        opening: None,
        attempts: 0,
        opened: mpsc::channel(),
        connection: None,
        tx: vec![0; TX_STAGING].into_boxed_slice(),
        staged: 0..0,
        closing_until: None,
        reopen: false,
        span: tracing::info_span!("mqtt", client_id = options.client_identifier()),
    };
    Ok((Client::new(inner, true), event_loop))
}

/// Creates a client, starts its event loop on a thread, and blocks until the broker accepts the first connection.
///
/// # Errors
///
/// As [`new`] and [`Client::wait_connected`] (bounded by [`Options::first_connection_timeout`]: the connect
/// timeout per broker); the event loop then ends.
pub fn connect(options: &Options) -> Result<Client, Error> {
    let (client, event_loop) = new(options)?;
    // Listening before the loop runs, so that the first connection's outcome cannot be missed.
    let states = client.listen_states()?;
    event_loop.start()?;
    client.connected_within(&states, options.first_connection_timeout())?;
    Ok(client)
}

/// The thread of an event loop started with [`EventLoop::start`].
pub struct LoopHandle {
    thread: thread::JoinHandle<Result<(), Error>>,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for LoopHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopHandle")
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}

impl LoopHandle {
    /// Drops the connection without DISCONNECT (so the broker publishes the will) and ends the event loop, as if
    /// the process had died. Waiting operations fail with [`Error::Closed`].
    pub fn abort(&self) {
        self.inner.aborted.store(true, Ordering::Release);
        self.inner.waker.notify();
    }

    /// Blocks until the event loop has ended; its outcome as [`EventLoop::run`] returns it.
    ///
    /// # Errors
    ///
    /// As [`EventLoop::run`]; [`Error::CallbackPanicked`] if the loop itself panicked.
    pub fn join(self) -> Result<(), Error> {
        self.thread.join().unwrap_or_else(|_| {
            Err(Error::CallbackPanicked(
                "the event loop panicked".to_owned(),
            ))
        })
    }

    /// Whether the event loop has ended.
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }
}

impl EventLoop {
    /// Runs the event loop on a new thread (named `mqtt-event-loop`); the connection's outcome arrives through
    /// [`Client::on_state`] or [`Client::wait_connected`].
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the thread cannot be started.
    pub fn start(self) -> Result<LoopHandle, Error> {
        let inner = self.inner.clone();
        let thread = thread::Builder::new()
            .name("mqtt-event-loop".to_owned())
            .spawn(move || self.run())?;
        Ok(LoopHandle { thread, inner })
    }

    /// Runs the event loop on this thread until the client disconnects or every [`Client`] handle is dropped
    /// (then it disconnects gracefully).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if `poll(2)` fails; the loop then ends and the [`Client::on_loop_failure`] callbacks hear
    /// of it.
    pub fn run(mut self) -> Result<(), Error> {
        let span = self.span.clone();
        let _entered = span.enter();
        *lock(&self.inner.loop_thread) = Some(thread::current().id());
        let shared = self.inner.shared.clone();
        let now = shared.now();
        {
            let mut core = shared.core();
            core.session.set_brokers(self.connectors.len());
            // A request that does not fit what is left of the buffer waits for the next, empty one.
            core.session.set_transmit_capacity(self.tx.len());
            // Not after a disconnect that came first: the loop then only ends.
            if !core.dispatch.is_finished() {
                core.session.connect(now);
            }
        }
        let outcome = loop {
            // What woke the loop is handled in this round: only what comes after is a reason to poll without
            // blocking (handles wake the loop once per registration).
            let _ = shared.register(&self.wake);
            let (mut timeout, finished) = self.work();
            if self.run_callbacks() {
                // Callbacks have more waiting: serve the connection, then come back at once.
                timeout = Some(Duration::ZERO);
            }
            if self.inner.reconnect_after_callbacks() {
                // A callback's reconnect, now that the messages it handled are acknowledged.
                timeout = Some(Duration::ZERO);
            }
            if finished {
                break Ok(());
            }
            if shared.register(&self.wake) {
                timeout = Some(Duration::ZERO);
            }
            match self.wait(timeout) {
                Ok(()) | Err(Errno::INTR) => {}
                Err(e) => break Err(Error::from(io::Error::from(e))),
            }
        };
        if let Err(error) = &outcome {
            self.report(error);
        }
        self.close();
        {
            // Commands fail from now on, waits end, streams end after what they hold.
            let mut core = shared.core();
            if !core.dispatch.is_finished() {
                let Core { session, dispatch } = &mut *core;
                dispatch.close(session);
            }
        }
        // The callbacks' queues go (acknowledging what they still held).
        drop(std::mem::take(&mut *lock(&self.inner.hooks)));
        let (finished, ended) = &self.inner.finished;
        *lock(finished) = true;
        ended.notify_all();
        outcome
    }

    /// Everything the session can do now, under the session's lock: transport actions, connection outcomes,
    /// deadlines, reads, events, writes. Returns the poll timeout and whether the loop is over.
    fn work(&mut self) -> (Option<Duration>, bool) {
        let inner = self.inner.clone();
        let mut core = inner.shared.runner_core();
        let Core { session, dispatch } = &mut *core;
        if inner.aborted.load(Ordering::Acquire) {
            // Ended without DISCONNECT: commands fail from now on, and the state callbacks hear it this round.
            if !dispatch.is_finished() {
                dispatch.close(session);
            }
            return (None, true);
        }
        let mut held = false;
        loop {
            let now = inner.shared.now();
            let mut progressed = false;
            // Events first: a lost connection is told before the next attempt starts. While the closing bytes (a
            // DISCONNECT) are still being written, events wait: `Disconnected` ends the application's wait for its
            // disconnect, and a program that ends right after must not leave the broker without the DISCONNECT.
            if self.closing_until.is_none() {
                held |= deliver(session, dispatch, held, now);
            }
            while let Some(action) = session.poll_transport() {
                progressed = true;
                if action == TransportAction::Open
                    && self.closing_until.is_some()
                    && session.reopens_after_close_write()
                {
                    // The acknowledgements staged before the session's reconnect go out first, then it opens.
                    self.reopen = true;
                    continue;
                }
                self.reopen = false;
                if action == TransportAction::Close
                    && self.connection.is_some()
                    && !self.staged.is_empty()
                {
                    // What the session wrote before closing (its DISCONNECT) goes out first, within a bound.
                    self.closing_until
                        .get_or_insert(now + session.close_write_timeout());
                    continue;
                }
                self.close();
                if action == TransportAction::Open {
                    self.start_attempt(session, dispatch);
                }
            }
            while let Ok((attempt, outcome)) = self.opened.1.try_recv() {
                if self.opening != Some(attempt) {
                    continue;
                }
                progressed = true;
                self.opening = None;
                match outcome {
                    Ok(stream) => {
                        self.attach(stream);
                        session.handle_transport_up(now);
                    }
                    Err(error) => {
                        dispatch.record_io_error(error);
                        session.handle_transport_down(now);
                    }
                }
            }
            if session
                .poll_timeout()
                .is_some_and(|deadline| deadline <= now)
            {
                session.handle_timeout(now);
                progressed = true;
            }
            if !held {
                progressed |= self.read(session, now);
            }
            progressed |= self.write(session, now);
            if let Some(until) = self.closing_until
                && (self.staged.is_empty() || self.connection.is_none() || now >= until)
            {
                // Written, or the broker took nothing for too long: the connection ends either way.
                self.close();
                progressed = true;
            }
            if self.reopen && self.closing_until.is_none() {
                self.reopen = false;
                self.start_attempt(session, dispatch);
                progressed = true;
            }
            // What changed is stored before the session sends what depends on it (packet identifiers given in
            // `write`): once stored, the next round sends.
            progressed |= inner.shared.persist(session);
            if let Some(error) = self.failure.take() {
                dispatch.record_io_error(error);
            }
            if self.closing_until.is_none() {
                held |= deliver(session, dispatch, held, now);
            }
            if !progressed {
                break;
            }
        }
        dispatch.note_version(session.version());
        // The last round read nothing: the socket would block, a message is held, or the session is full. Only the
        // first is for `poll(2)` to end.
        self.reading = !held
            && self.connection.is_some()
            && self.closing_until.is_none()
            && !session.read_buf().is_empty();
        if self.reading
            && let Some(connection) = self.connection.as_mut()
        {
            // What this wake-up read is all with the session, and its events are taken.
            let written = self.staged.is_empty();
            let stream = &connection.stream;
            connection
                .marks
                .before_read_wait(session, inner.shared.now(), written, |bytes| {
                    stream.set_read_low_water(bytes)
                });
        }
        let now = inner.shared.now();
        // The earlier of the session's next deadline and the end of a closing write.
        let deadline = session
            .poll_timeout()
            .into_iter()
            .chain(self.closing_until)
            .min();
        let timeout = deadline.map(|deadline| deadline.saturating_duration_since(now));
        let closed = session.state() == proto::SessionState::Closed && self.closing_until.is_none();
        (timeout, dispatch.is_finished() && closed)
    }

    /// Starts the attempt the session asked for, to the broker of the failover list it chose.
    fn start_attempt(&mut self, session: &Session<'_>, dispatch: &mut Dispatch) {
        dispatch.record_connecting(session.broker());
        let redirect = dispatch.redirect_url().map(str::to_owned);
        self.open(session.broker(), redirect);
    }

    /// Starts a connection attempt on a thread of its own; its outcome comes back through `opened`.
    /// The session follows a broker's redirection when `broker` is past the list: to `redirect`.
    fn open(&mut self, broker: usize, redirect: Option<String>) {
        self.attempts += 1;
        let attempt = self.attempts;
        self.opening = Some(attempt);
        self.connecting = true;
        let connector = match (self.connectors.get(broker), redirect) {
            (Some(connector), _) => Ok(connector.clone()),
            (None, Some(url)) => Connector::new(&url, &self.options),
            (None, None) => Err(Error::Environment("no server to redirect to")),
        };
        let connector = match connector {
            Ok(connector) => connector,
            Err(error) => {
                let _ = (self.opened.0).send((attempt, Err(error)));
                return;
            }
        };
        let (sender, timeout, inner) = (
            self.opened.0.clone(),
            self.connect_timeout,
            self.inner.clone(),
        );
        let spawned = thread::Builder::new()
            .name("mqtt-connect".to_owned())
            .spawn(move || {
                let _ = sender.send((attempt, connector.open(timeout)));
                inner.waker.notify();
            });
        if let Err(e) = spawned {
            let _ = (self.opened.0).send((attempt, Err(e.into())));
        }
    }

    /// Blocks in `poll(2)` until the wake-up descriptor or the socket is ready for what the loop asks, or
    /// `timeout` (none: no deadline) is over; then drains the wake-up descriptor and notes the socket's readiness.
    fn wait(&mut self, mut timeout: Option<Duration>) -> Result<(), Errno> {
        let wakeup = &*self.inner.waker;
        if wakeup.sleep(std::mem::take(&mut self.woken)) {
            timeout = Some(Duration::ZERO);
        }
        // A timeout past what a `Timespec` holds is no deadline at all in practice.
        let timeout = timeout.and_then(|t| Timespec::try_from(t).ok());
        let (polled, woken, socket) = match self.connection.as_ref().filter(|c| !c.hung_up) {
            Some(connection) => {
                let mut interest = PollFlags::empty();
                if self.reading && !connection.readable {
                    interest |= PollFlags::IN;
                }
                if !connection.writable {
                    interest |= PollFlags::OUT;
                }
                // Polled even when nothing is asked: errors and hang-ups are reported all the same.
                let mut fds = [
                    PollFd::new(wakeup, PollFlags::IN),
                    PollFd::new(connection.stream.tcp(), interest),
                ];
                let polled = rustix::event::poll(&mut fds, timeout.as_ref());
                let [woken, socket] = fds.map(|fd| fd.revents());
                (polled, woken, socket)
            }
            None => {
                let mut fds = [PollFd::new(wakeup, PollFlags::IN)];
                let polled = rustix::event::poll(&mut fds, timeout.as_ref());
                let [woken] = fds.map(|fd| fd.revents());
                (polled, woken, PollFlags::empty())
            }
        };
        // Before the loop looks at what changed: a wake-up after this is not lost.
        wakeup.awake();
        self.woken = !woken.is_empty();
        polled?;
        if let Some(connection) = &mut self.connection {
            let failed = socket.intersects(PollFlags::ERR | PollFlags::HUP | PollFlags::NVAL);
            connection.readable |= failed || socket.contains(PollFlags::IN);
            connection.writable |= failed || socket.contains(PollFlags::OUT);
            connection.hung_up |= failed;
        }
        Ok(())
    }

    /// Takes a new connection, ready both ways until an operation would block.
    fn attach(&mut self, stream: Stream) {
        self.connection = Some(Connection {
            stream,
            readable: true,
            writable: true,
            hung_up: false,
            marks: ReadMarks::new(),
        });
        self.staged = 0..0;
    }

    /// Drops the connection (and forgets an attempt under way).
    fn close(&mut self) {
        self.opening = None;
        self.closing_until = None;
        self.staged = 0..0;
        self.connection = None;
    }

    /// The connection failed (`error` says how, unless the broker closed it): the session applies its reconnect
    /// policy, and the dispatch learns why.
    fn lost(&mut self, session: &mut Session<'_>, now: proto::Instant, error: Option<io::Error>) {
        self.close();
        if self.reopen {
            // The connection the session left behind failed while its last acknowledgements went out; the
            // session waits for the next one, which this is not about.
            return;
        }
        self.failure = Some(error.map_or_else(
            || {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the broker closed the connection",
                )
                .into()
            },
            Error::from,
        ));
        session.handle_transport_down(now);
    }

    /// Reads once: until something arrives, the socket would block, or the session's receive buffer is full.
    fn read(&mut self, session: &mut Session<'_>, now: proto::Instant) -> bool {
        while let Some(connection) = self.connection.as_mut().filter(|c| c.readable) {
            let buf = session.read_buf();
            if buf.is_empty() {
                break;
            }
            let room = buf.len();
            match connection.stream.read(buf) {
                Ok(0) => {
                    self.lost(session, now, None);
                    return true;
                }
                Ok(n) => {
                    // A short read emptied a plain socket: `poll(2)` tells when more arrives, so the read that would
                    // block is saved. TLS and WebSocket may hold bytes the socket no longer shows: they read on.
                    if n < room && connection.stream.is_plain_tcp() {
                        connection.readable = false;
                    }
                    // The session parses what it got while its events are taken: take them before reading on,
                    // or a close right behind a packet (a refusing CONNACK) would hide the packet.
                    session.commit_read(n, now);
                    connection.marks.read(n);
                    return true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => connection.readable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.lost(session, now, Some(e));
                    return true;
                }
            }
        }
        false
    }

    /// Writes what the session has to send until the socket would block, then flushes TLS and WebSocket.
    fn write(&mut self, session: &mut Session<'_>, now: proto::Instant) -> bool {
        let mut progressed = false;
        while let Some(connection) = self.connection.as_mut().filter(|c| c.writable) {
            if self.staged.is_empty() {
                // Everything the session has, as much as fits: one write for many packets.
                let mut end = 0;
                while let Some(free) = self.tx.get_mut(end..).filter(|f| !f.is_empty()) {
                    match session.poll_transmit(now, free) {
                        Some(n) => end += n,
                        None => break,
                    }
                }
                if end == 0 {
                    break;
                }
                self.staged = 0..end;
            }
            let staged = self.tx.get(self.staged.clone()).unwrap_or_default();
            match connection.stream.write(staged) {
                Ok(0) => {
                    self.lost(session, now, None);
                    return true;
                }
                Ok(n) => {
                    // A plain socket that took part of it is full: `poll(2)` tells when it has room again.
                    if n < staged.len() && connection.stream.is_plain_tcp() {
                        connection.writable = false;
                    }
                    self.staged.start += n;
                    progressed = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => connection.writable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.lost(session, now, Some(e));
                    return true;
                }
            }
        }
        if let Some(connection) = self.connection.as_mut().filter(|c| c.writable) {
            match connection.stream.flush() {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => connection.writable = false,
                Err(e) => {
                    self.lost(session, now, Some(e));
                    return true;
                }
            }
        }
        progressed
    }

    /// Runs the callbacks that have something waiting, outside every lock; a panic is caught and reported. A
    /// message is acknowledged once its callback has returned. Whether callbacks have more waiting.
    fn run_callbacks(&mut self) -> bool {
        let client = &self.client;
        let mut failures = Vec::new();
        if std::mem::take(&mut self.connecting) {
            // Taken out while they run, so that a callback can add callbacks.
            let mut hooks = std::mem::take(&mut lock(&self.inner.hooks).connecting);
            if let Err(error) = guarded(|| hooks.iter_mut().for_each(|hook| hook(client))) {
                failures.push(error);
            }
            let mut all = lock(&self.inner.hooks);
            hooks.append(&mut all.connecting);
            all.connecting = hooks;
        }
        let (mut messages, mut states) = {
            let mut hooks = lock(&self.inner.hooks);
            (
                std::mem::take(&mut hooks.messages),
                std::mem::take(&mut hooks.states),
            )
        };
        // The queues are filled by this thread (in `work`): nothing needs waking.
        let mut cx = Context::from_waker(Waker::noop());
        let mut more = false;
        states.retain_mut(|(receiver, callback)| {
            loop {
                match receiver.poll_recv(&mut cx) {
                    TaskPoll::Ready(Some(state)) => {
                        if let Err(error) = guarded(|| callback(client, state)) {
                            failures.push(error);
                        }
                    }
                    TaskPoll::Ready(None) => break false,
                    TaskPoll::Pending => break true,
                }
            }
        });
        let round = Instant::now();
        messages.retain_mut(|(receiver, callback)| {
            for _ in 0..CALLBACK_BATCH {
                if round.elapsed() >= CALLBACK_ROUND {
                    more = true;
                    return true;
                }
                match receiver.poll_take(&mut cx) {
                    TaskPoll::Ready(Some(taken)) => {
                        if let Err(error) = guarded(|| callback(client, &taken.message)) {
                            failures.push(error);
                        }
                        taken.done();
                    }
                    TaskPoll::Ready(None) => return false,
                    TaskPoll::Pending => return true,
                }
            }
            more = true;
            true
        });
        {
            let mut hooks = lock(&self.inner.hooks);
            messages.append(&mut hooks.messages);
            hooks.messages = messages;
            states.append(&mut hooks.states);
            hooks.states = states;
        }
        for error in &failures {
            self.report(error);
        }
        more
    }

    /// Tells the loop-failure callbacks.
    fn report(&self, error: &Error) {
        let mut hooks = std::mem::take(&mut lock(&self.inner.hooks).loop_failure);
        let _ = guarded(|| hooks.iter_mut().for_each(|hook| hook(error)));
        let mut all = lock(&self.inner.hooks);
        hooks.append(&mut all.loop_failure);
        all.loop_failure = hooks;
    }
}

/// Hands the session's events to the dispatch until none is left or a message finds a full queue (then the
/// session holds it, and nothing more is read until the application makes room). Whether a message is held.
fn deliver(
    session: &mut Session<'_>,
    dispatch: &mut Dispatch,
    held: bool,
    now: proto::Instant,
) -> bool {
    if held {
        return true;
    }
    let mut hold = false;
    while let Some((event, ack)) = session.poll_event_acked() {
        if dispatch.on_event(event, ack) == Flow::Hold {
            session.hold_message();
            hold = true;
            break;
        }
    }
    // Messages nobody will take (a reply whose request gave up): acknowledged now.
    for token in dispatch.take_pending_acks() {
        session.ack(token, now);
    }
    hold
}
