//! The cloneable [`Client`] handle. It gives commands straight to the session (under a lock, never held while
//! application code runs) and wakes the event loop; answers come back through one-shot channels, messages and
//! states through callbacks run on the loop's thread, or through [`Messages`].

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, mpsc};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread, ThreadId};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_channel::oneshot;
use proto::client::{Command, Dispatch, Granted, Shared};
use proto::{Session, Stats};

use crate::{ConnectionState, Disconnection, Error, Message, QoS};

/// A message callback: gets the client (to publish an answer, say) and the message.
type OnMessage = Arc<Mutex<dyn FnMut(&Client, &Message) + Send>>;
/// A connection-state callback.
type OnState = Arc<Mutex<dyn FnMut(&Client, ConnectionState) + Send>>;
/// A callback before each connection attempt.
type OnConnecting = Box<dyn FnMut(&Client) + Send>;
/// A callback for failures of the loop.
type OnLoopFailure = Box<dyn FnMut(&Error) + Send>;

/// Application code the event loop runs on its thread, outside every lock.
pub(crate) enum Job {
    Message(OnMessage, Message),
    State(OnState, ConnectionState),
    /// A connection attempt is about to start.
    Connecting,
}

/// The session and its dispatch: what every handle and the loop share.
pub(crate) struct Core {
    pub(crate) session: Session<'static>,
    pub(crate) dispatch: Dispatch,
}

/// Callbacks that are not tied to a subscription.
#[derive(Default)]
pub(crate) struct Hooks {
    pub(crate) connecting: Vec<OnConnecting>,
    pub(crate) loop_failure: Vec<OnLoopFailure>,
}

pub(crate) struct Inner {
    pub(crate) core: Mutex<Core>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) waker: mio::Waker,
    pub(crate) epoch: Instant,
    pub(crate) jobs: Mutex<mpsc::Sender<Job>>,
    pub(crate) hooks: Mutex<Hooks>,
    /// Every counted handle is gone: the loop disconnects gracefully.
    pub(crate) handles_gone: AtomicBool,
    /// The loop is to drop the connection without DISCONNECT and end ([`LoopHandle::abort`](crate::LoopHandle)).
    pub(crate) aborted: AtomicBool,
    /// The loop has ended: commands fail with [`Error::Closed`].
    pub(crate) closed: AtomicBool,
    pub(crate) loop_thread: Mutex<Option<ThreadId>>,
    pub(crate) finished: (Mutex<bool>, Condvar),
}

/// Locks, ignoring poison: no application code runs under these locks, so their data stays consistent.
pub(crate) fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Inner {
    pub(crate) fn now(&self) -> proto::Instant {
        let millis = self.epoch.elapsed().as_millis();
        proto::Instant::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
    }

    fn in_loop(&self) -> bool {
        *lock(&self.loop_thread) == Some(thread::current().id())
    }

    fn job_sender(&self) -> mpsc::Sender<Job> {
        lock(&self.jobs).clone()
    }
}

/// Dropped with the last counted handle: tells the loop to disconnect.
struct HandleCount(Arc<Inner>);

impl Drop for HandleCount {
    fn drop(&mut self) {
        self.0.handles_gone.store(true, Ordering::Release);
        let _ = self.0.waker.wake();
    }
}

/// A cloneable handle to a connection run by an [`EventLoop`](crate::EventLoop); use it from any thread.
///
/// When every handle is dropped, the event loop disconnects gracefully and ends. The handle given to callbacks
/// does not count: keeping a clone of it does not keep the loop alive.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
    /// Not read: its drop counts the handles.
    _alive: Option<Arc<HandleCount>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

/// An answer still to come from the broker: [`wait`](Self::wait) or [`wait_timeout`](Self::wait_timeout) for it.
#[must_use = "dropping a Pending does not cancel anything; wait for it, or drop it if the answer does not matter"]
pub struct Pending<T> {
    answer: Box<dyn FnOnce(Option<Instant>) -> Result<T, Error> + Send>,
    in_loop: bool,
}

impl<T> std::fmt::Debug for Pending<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").finish_non_exhaustive()
    }
}

/// The completion of a published message: its acknowledgement (PUBACK, or PUBCOMP for QoS 2), at once for QoS 0.
pub type Delivery = Pending<()>;

impl<T: Send + 'static> Pending<T> {
    fn ready(result: Result<T, Error>) -> Self {
        Self {
            answer: Box::new(move |_| result),
            in_loop: false,
        }
    }

    fn on<U: Send + 'static>(
        receiver: oneshot::Receiver<Result<U, Error>>,
        in_loop: bool,
        map: impl FnOnce(U) -> Result<T, Error> + Send + 'static,
    ) -> Self {
        let answer = move |deadline| match wait_for(receiver, deadline) {
            Some(Ok(Ok(value))) => map(value),
            Some(Ok(Err(e))) => Err(e),
            Some(Err(oneshot::Canceled)) => Err(Error::Closed),
            None => Err(Error::Timeout),
        };
        Self {
            answer: Box::new(answer),
            in_loop,
        }
    }

    /// Blocks until the answer comes.
    ///
    /// # Errors
    ///
    /// The broker's refusal ([`Error::PublishFailed`], [`Error::SubscriptionRefused`]...), [`Error::Closed`] if the
    /// event loop ended first, [`Error::WaitInCallback`] on the event loop's own thread.
    pub fn wait(self) -> Result<T, Error> {
        self.wait_until(None)
    }

    /// Blocks at most `timeout` for the answer. What was asked for stays queued after a timeout.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when the time is up, otherwise as [`wait`](Self::wait).
    pub fn wait_timeout(self, timeout: Duration) -> Result<T, Error> {
        self.wait_until(Some(Instant::now() + timeout))
    }

    fn wait_until(self, deadline: Option<Instant>) -> Result<T, Error> {
        if self.in_loop {
            return Err(Error::WaitInCallback);
        }
        (self.answer)(deadline)
    }
}

/// Wakes a thread parked in [`wait_for`].
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Blocks until `receiver` has its value (or its sender is gone), or until `deadline`: `None` then.
fn wait_for<T>(
    mut receiver: oneshot::Receiver<T>,
    deadline: Option<Instant>,
) -> Option<Result<T, oneshot::Canceled>> {
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(result) = Pin::new(&mut receiver).poll(&mut cx) {
            return Some(result);
        }
        match deadline {
            None => thread::park(),
            Some(deadline) => {
                let left = deadline.checked_duration_since(Instant::now())?;
                thread::park_timeout(left);
            }
        }
    }
}

/// Every message the client receives, for those who prefer polling to callbacks: [`recv`](Self::recv),
/// [`recv_timeout`](Self::recv_timeout), or iterate.
#[derive(Debug)]
pub struct Messages(mpsc::Receiver<Message>);

impl Messages {
    /// The next message; `None` once the event loop has ended.
    pub fn recv(&self) -> Option<Message> {
        self.0.recv().ok()
    }

    /// The next message, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when none came in time, [`Error::Closed`] once the event loop has ended.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Message, Error> {
        self.0.recv_timeout(timeout).map_err(|e| match e {
            mpsc::RecvTimeoutError::Timeout => Error::Timeout,
            mpsc::RecvTimeoutError::Disconnected => Error::Closed,
        })
    }

    /// A message if one is waiting.
    pub fn try_recv(&self) -> Option<Message> {
        self.0.try_recv().ok()
    }
}

impl Iterator for Messages {
    type Item = Message;

    fn next(&mut self) -> Option<Message> {
        self.recv()
    }
}

impl Client {
    pub(crate) fn new(inner: Arc<Inner>, counted: bool) -> Self {
        let alive = counted.then(|| Arc::new(HandleCount(inner.clone())));
        Self {
            inner,
            _alive: alive,
        }
    }

    /// Gives a command to the session and wakes the loop to act on it.
    fn apply(&self, command: Command) -> Result<(), Error> {
        let now = self.inner.now();
        {
            let mut core = lock(&self.inner.core);
            if self.inner.closed.load(Ordering::Acquire) {
                return Err(Error::Closed);
            }
            let Core { session, dispatch } = &mut *core;
            dispatch.apply(session, now, command);
        }
        let _ = self.inner.waker.wake();
        Ok(())
    }

    fn pending<U: Send + 'static, T: Send + 'static>(
        &self,
        receiver: oneshot::Receiver<Result<U, Error>>,
        map: impl FnOnce(U) -> Result<T, Error> + Send + 'static,
    ) -> Pending<T> {
        Pending::on(receiver, self.inner.in_loop(), map)
    }

    /// Publishes a message: returns once the session has accepted it (queued, or in flight); wait on the
    /// [`Delivery`] for the broker's acknowledgement.
    ///
    /// # Errors
    ///
    /// [`Error::Publish`] for an invalid topic or QoS, a message too large or a full queue (nothing is dropped:
    /// retry later); [`Error::Closed`] if the event loop has ended.
    pub fn publish(
        &self,
        topic: impl Into<String>,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
    ) -> Result<Delivery, Error> {
        let (accepted, mut answer) = oneshot::channel();
        self.apply(Command::Publish {
            topic: topic.into(),
            payload: payload.into(),
            qos,
            retain,
            accepted,
        })?;
        // The session answers while the command is applied: the answer is here already.
        match answer.try_recv() {
            Ok(Some(Ok(None))) => Ok(Pending::ready(Ok(()))),
            Ok(Some(Ok(Some(acknowledgement)))) => Ok(self.pending(acknowledgement, Ok)),
            Ok(Some(Err(e))) => Err(e),
            Ok(None) | Err(oneshot::Canceled) => Err(Error::Closed),
        }
    }

    /// Subscribes to `filter`; `callback` gets every message it matches, on the event loop's thread. The
    /// [`Pending`] gives the QoS the broker granted.
    ///
    /// # Errors
    ///
    /// As [`subscribe_many`](Self::subscribe_many); the [`Pending`] fails with [`Error::SubscriptionRefused`] if
    /// the broker refused the filter.
    pub fn subscribe(
        &self,
        filter: impl Into<String>,
        qos: QoS,
        callback: impl FnMut(&Self, &Message) + Send + 'static,
    ) -> Result<Pending<QoS>, Error> {
        let receiver = self.subscribe_request(vec![(filter.into(), qos)], callback)?;
        Ok(self.pending(receiver, |granted: Granted| {
            granted.into_iter().next().unwrap_or(Err(Error::Closed))
        }))
    }

    /// Subscribes to several filters in one request; `callback` gets each message matching any granted filter
    /// once. The [`Pending`] gives, per filter, the granted QoS or the refusal.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] if the event loop has ended. An invalid filter or QoS shows in the [`Pending`] as
    /// [`Error::Subscribe`].
    pub fn subscribe_many(
        &self,
        filters: impl IntoIterator<Item = (String, QoS)>,
        callback: impl FnMut(&Self, &Message) + Send + 'static,
    ) -> Result<Pending<Granted>, Error> {
        let receiver = self.subscribe_request(filters.into_iter().collect(), callback)?;
        Ok(self.pending(receiver, Ok))
    }

    fn subscribe_request(
        &self,
        filters: Vec<(String, QoS)>,
        callback: impl FnMut(&Self, &Message) + Send + 'static,
    ) -> Result<oneshot::Receiver<Result<Granted, Error>>, Error> {
        let callback: OnMessage = Arc::new(Mutex::new(callback));
        let jobs = self.inner.job_sender();
        let (done, receiver) = oneshot::channel();
        self.apply(Command::Subscribe {
            filters,
            sink: Box::new(move |message| {
                jobs.send(Job::Message(callback.clone(), message.clone()))
                    .is_ok()
            }),
            done,
        })?;
        Ok(receiver)
    }

    /// Unsubscribes from filters; their callbacks stop receiving messages.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] if the event loop has ended. An invalid filter shows in the [`Pending`] as
    /// [`Error::Subscribe`].
    pub fn unsubscribe(
        &self,
        filters: impl IntoIterator<Item = String>,
    ) -> Result<Pending<()>, Error> {
        let (done, receiver) = oneshot::channel();
        self.apply(Command::Unsubscribe {
            filters: filters.into_iter().collect(),
            done,
        })?;
        Ok(self.pending(receiver, Ok))
    }

    /// Calls `callback` with every message the client receives, whatever subscription it matches.
    pub fn on_message(&self, callback: impl FnMut(&Self, &Message) + Send + 'static) {
        let callback: OnMessage = Arc::new(Mutex::new(callback));
        let jobs = self.inner.job_sender();
        // After the loop has ended there is nothing to call it with.
        let _ = self.apply(Command::Messages(Box::new(move |message| {
            jobs.send(Job::Message(callback.clone(), message.clone()))
                .is_ok()
        })));
    }

    /// Calls `callback` with the current connection state (once there is one), then with every change: connected,
    /// lost with the reason, refused with the broker's code, reconnecting in N seconds, gave up, disconnected.
    pub fn on_state(&self, callback: impl FnMut(&Self, ConnectionState) + Send + 'static) {
        let callback: OnState = Arc::new(Mutex::new(callback));
        let jobs = self.inner.job_sender();
        let _ = self.apply(Command::States(Box::new(move |state| {
            jobs.send(Job::State(callback.clone(), state)).is_ok()
        })));
    }

    /// Calls `callback` before each connection attempt, the first one and every reconnect.
    pub fn on_connecting(&self, callback: impl FnMut(&Self) + Send + 'static) {
        lock(&self.inner.hooks).connecting.push(Box::new(callback));
    }

    /// Calls `callback` when the event loop fails (mio's poll failed, so the loop ends), or a callback panicked
    /// (the loop goes on).
    pub fn on_loop_failure(&self, callback: impl FnMut(&Error) + Send + 'static) {
        lock(&self.inner.hooks)
            .loop_failure
            .push(Box::new(callback));
    }

    /// Every message the client receives from now on, to poll: [`Messages::recv`], [`Messages::recv_timeout`], or
    /// iterate.
    pub fn messages(&self) -> Messages {
        let (sink, messages) = mpsc::channel();
        // After the loop has ended the sink is dropped at once: the messages end.
        let _ = self.apply(Command::Messages(Box::new(move |message| {
            sink.send(message.clone()).is_ok()
        })));
        Messages(messages)
    }

    /// Blocks until the broker accepts a connection, for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Refused`] if the broker refused the credentials, [`Error::GaveUp`] if the session stopped trying;
    /// when no connection succeeded in time, the error of the last attempt (for example [`Error::Io`] for a
    /// refused connection, or [`Error::Tls`] for a certificate the check rejected), or else [`Error::Timeout`];
    /// [`Error::WaitInCallback`] on the event loop's thread.
    pub fn wait_connected(&self, timeout: Duration) -> Result<(), Error> {
        let states = self.listen_states()?;
        self.connected_within(&states, timeout)
    }

    /// A channel of the connection states from now on (the current one first).
    pub(crate) fn listen_states(&self) -> Result<mpsc::Receiver<ConnectionState>, Error> {
        if self.inner.in_loop() {
            return Err(Error::WaitInCallback);
        }
        let (sink, states) = mpsc::channel();
        self.apply(Command::States(Box::new(move |state| {
            sink.send(state).is_ok()
        })))?;
        Ok(states)
    }

    pub(crate) fn connected_within(
        &self,
        states: &mpsc::Receiver<ConnectionState>,
        timeout: Duration,
    ) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match states.recv_timeout(left) {
                Ok(ConnectionState::Connected { .. }) => return Ok(()),
                Ok(
                    ConnectionState::Refused(refusal)
                    | ConnectionState::GaveUp(Disconnection::Refused(refusal)),
                ) if refusal.is_auth_failure() => return Err(Error::Refused(refusal)),
                Ok(ConnectionState::GaveUp(reason)) => return Err(Error::GaveUp(reason)),
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return Err(Error::Closed),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(self.last_transport_error().unwrap_or(Error::Timeout));
                }
            }
        }
    }

    /// Whether the broker has accepted the current connection.
    pub fn is_connected(&self) -> bool {
        self.inner.shared.is_connected()
    }

    /// Why the latest connection attempt could not be opened, kept until the next one fails.
    pub fn last_transport_error(&self) -> Option<Error> {
        self.inner.shared.last_transport_error()
    }

    /// The session's counters, as of now (read from the session itself, not a copy the loop updates).
    pub fn stats(&self) -> Stats {
        lock(&self.inner.core).session.stats()
    }

    /// Drops the current connection and connects again now (also after the session gave up).
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] if the event loop has ended.
    pub fn reconnect(&self) -> Result<(), Error> {
        self.apply(Command::Reconnect)
    }

    /// Disconnects gracefully: queued messages are acknowledged first (up to the session's disconnect timeout),
    /// then DISCONNECT goes out and the event loop ends. Blocks until it has ended, for at most `timeout`; from a
    /// callback, only starts the disconnection.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] if the event loop did not end in time (or does not run).
    pub fn disconnect(&self, timeout: Duration) -> Result<(), Error> {
        let (done, _) = oneshot::channel();
        if self.apply(Command::Disconnect { done }).is_err() {
            return Ok(());
        }
        if self.inner.in_loop() {
            return Ok(());
        }
        let (finished, ended) = &self.inner.finished;
        let guard = lock(finished);
        let (_guard, wait) = ended
            .wait_timeout_while(guard, timeout, |finished| !*finished)
            .unwrap_or_else(PoisonError::into_inner);
        if wait.timed_out() {
            return Err(Error::Timeout);
        }
        Ok(())
    }
}

/// Runs application code, catching a panic so that the loop goes on; the panic becomes an error.
pub(crate) fn guarded(run: impl FnOnce()) -> Result<(), Error> {
    catch_unwind(AssertUnwindSafe(run)).map_err(|panic| {
        let text = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_owned());
        Error::CallbackPanicked(text)
    })
}
