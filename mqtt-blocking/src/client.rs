//! The cloneable [`Client`] handle. It gives commands straight to the shared session (under a short lock, never
//! held while application code runs) and wakes the event loop; answers come back through [`Pending`], messages
//! and states through callbacks run on the loop's thread (acknowledged once the callback returned), or through
//! [`Messages`].

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread, ThreadId};
use std::time::{Duration, Instant};

use futures_channel::oneshot;
use proto::Stats;
use proto::client::{
    ConnectWatch, Disconnected, Granted, HandleGuard, Published, Receiver, Shared, StateReceiver,
};
use proto::codec::Publish;

use crate::{ConnectionState, Error, Message, QoS};

/// A message callback: gets the client (to publish an answer, say) and the message.
pub(crate) type OnMessage = Box<dyn FnMut(&Client, &Message) + Send>;
/// A connection-state callback.
pub(crate) type OnState = Box<dyn FnMut(&Client, ConnectionState) + Send>;
/// A callback before each connection attempt.
type OnConnecting = Box<dyn FnMut(&Client) + Send>;
/// A callback for failures of the loop.
type OnLoopFailure = Box<dyn FnMut(&Error) + Send>;

/// Callbacks, with the queues that feed them; the event loop runs them on its thread, outside every lock.
#[derive(Default)]
pub(crate) struct Hooks {
    pub(crate) messages: Vec<(Receiver, OnMessage)>,
    pub(crate) states: Vec<(StateReceiver, OnState)>,
    pub(crate) connecting: Vec<OnConnecting>,
    pub(crate) loop_failure: Vec<OnLoopFailure>,
}

pub(crate) struct Inner {
    pub(crate) shared: Arc<Shared>,
    /// Wakes the event loop (handles that do not go through the shared session's wake-up: abort, new callbacks).
    pub(crate) waker: Arc<crate::wakeup::Wakeup>,
    pub(crate) hooks: Mutex<Hooks>,
    /// The loop is to drop the connection without DISCONNECT and end ([`LoopHandle::abort`](crate::LoopHandle)).
    pub(crate) aborted: AtomicBool,
    /// A callback asked for a reconnect: the loop makes it once its callbacks have returned (and their messages
    /// are acknowledged). A lock, not a flag: the loop holds it from taking the request to making the reconnect,
    /// so that a disconnect that clears it cannot fall in between and be called off by an older reconnect.
    pub(crate) reconnect_after_callbacks: Mutex<bool>,
    pub(crate) loop_thread: Mutex<Option<ThreadId>>,
    pub(crate) finished: (Mutex<bool>, Condvar),
}

/// Locks, ignoring poison: no application code runs under these locks, so their data stays consistent.
pub(crate) fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Inner {
    pub(crate) fn in_loop(&self) -> bool {
        *lock(&self.loop_thread) == Some(thread::current().id())
    }

    pub(crate) fn has_finished(&self) -> bool {
        *lock(&self.finished.0)
    }

    /// A disconnect comes after a callback's reconnect that the loop has not made yet: the last call wins, so
    /// that reconnect is dropped (made after the disconnect, it would call the disconnect off).
    pub(crate) fn forget_callback_reconnect(&self) {
        *lock(&self.reconnect_after_callbacks) = false;
    }

    /// Makes the reconnect a callback asked for, if it is still asked for (no disconnect came after it).
    pub(crate) fn reconnect_after_callbacks(&self) -> bool {
        let mut asked = lock(&self.reconnect_after_callbacks);
        if !std::mem::take(&mut *asked) {
            return false;
        }
        // Held until the reconnect is made. Refused only once the client has ended: nothing to do then.
        let _ = self.shared.reconnect();
        true
    }
}

/// A cloneable handle to a connection run by an [`EventLoop`](crate::EventLoop); use it from any thread.
///
/// When every handle is dropped, the event loop disconnects gracefully and ends, and the drop of the last one
/// waits for that (on another thread than the loop's, while the loop runs): for the messages in flight to be
/// acknowledged and the DISCONNECT to go out, at most the disconnect timeout (5 s). So a program that
/// publishes and returns from `main` loses nothing, and the broker does not publish its will. Dropped while its
/// thread panics, the last handle ends the connection without DISCONNECT instead, as a crash would: the broker
/// publishes the will. The handle given to callbacks does not count: keeping a clone of it does not keep the loop
/// alive.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
    /// Counts the handles; the last one's drop disconnects.
    alive: Option<Arc<HandleGuard>>,
}

impl Drop for Client {
    fn drop(&mut self) {
        let Some(last) = self.alive.take().and_then(Arc::into_inner) else {
            return;
        };
        let wait = {
            let core = self.inner.shared.core();
            proto::client::disconnect_wait(core.session.disconnect_timeout())
        };
        // Starts the graceful disconnect on the loop's thread.
        drop(last);
        let running = lock(&self.inner.loop_thread).is_some();
        if !running || self.inner.in_loop() {
            return;
        }
        let (finished, ended) = &self.inner.finished;
        let guard = lock(finished);
        let _ = ended
            .wait_timeout_while(guard, wait, |finished| !*finished)
            .unwrap_or_else(PoisonError::into_inner);
    }
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
    /// To refuse a wait on the loop's own thread (it would never end).
    inner: Option<Arc<Inner>>,
    /// [`Options::ack_timeout`](crate::Options::ack_timeout): bounds [`wait`](Self::wait).
    ack_timeout: Option<Duration>,
}

impl<T> std::fmt::Debug for Pending<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").finish_non_exhaustive()
    }
}

/// The completion of a published message: its acknowledgement (PUBACK, or PUBCOMP for QoS 2), at once for QoS 0.
/// Its [`id`](Self::id) names the message (paho's `mid`).
#[must_use = "dropping a Delivery does not cancel anything; wait for it, or drop it if the answer does not matter"]
#[derive(Debug)]
pub struct Delivery {
    id: u64,
    pending: Pending<()>,
}

impl Delivery {
    /// The message's id: unique over the client's life, in the order the client accepted the messages (from 1),
    /// at every QoS. Not the MQTT packet identifier, which the session reuses once a message is acknowledged;
    /// keep it beside the `Delivery` to tell which message an outcome is about (paho's `mid` of `publish` and
    /// `on_publish`).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Blocks until the broker acknowledged the message, at most
    /// [`Options::ack_timeout`](crate::Options::ack_timeout) when one is set (by default, as long as it takes).
    ///
    /// # Errors
    ///
    /// [`Error::PublishFailed`] if the broker refused the message, [`Error::Timeout`] past the `ack_timeout` (the
    /// message stays queued, and may still be acknowledged), otherwise as [`Pending::wait`].
    pub fn wait(self) -> Result<(), Error> {
        self.pending.wait()
    }

    /// Blocks at most `timeout` (whatever the `ack_timeout`) for the acknowledgement. The message stays queued
    /// after a timeout.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when the time is up, otherwise as [`wait`](Self::wait).
    pub fn wait_timeout(self, timeout: Duration) -> Result<(), Error> {
        self.pending.wait_timeout(timeout)
    }
}

impl<T: Send + 'static> Pending<T> {
    pub(crate) fn ready(result: Result<T, Error>) -> Self {
        Self {
            answer: Box::new(move |_| result),
            inner: None,
            ack_timeout: None,
        }
    }

    fn on<U: Send + 'static>(
        receiver: oneshot::Receiver<Result<U, Error>>,
        inner: Arc<Inner>,
        map: impl FnOnce(U) -> Result<T, Error> + Send + 'static,
    ) -> Self {
        let answer = move |deadline| match wait_for(receiver, deadline) {
            Some(Ok(Ok(value))) => map(value),
            Some(Ok(Err(e))) => Err(e),
            Some(Err(oneshot::Canceled)) => Err(Error::Closed),
            None => Err(Error::Timeout),
        };
        let ack_timeout = inner.shared.ack_timeout();
        Self {
            answer: Box::new(answer),
            inner: Some(inner),
            ack_timeout,
        }
    }

    /// Blocks until the answer comes, at most [`Options::ack_timeout`](crate::Options::ack_timeout) when one is
    /// set (by default, as long as it takes).
    ///
    /// # Errors
    ///
    /// The broker's refusal ([`Error::PublishFailed`], [`Error::SubscriptionRefused`]...), [`Error::Closed`] if the
    /// event loop ended first, [`Error::WaitInCallback`] on the event loop's own thread (another thread may wait
    /// for a `Pending` made in a callback), [`Error::Timeout`] past the `ack_timeout` (what was asked for stays
    /// queued, and the broker may still apply it).
    pub fn wait(self) -> Result<T, Error> {
        let deadline = self.ack_timeout.and_then(deadline_after);
        self.wait_until(deadline)
    }

    /// Blocks at most `timeout` (whatever the `ack_timeout`) for the answer. What was asked for stays queued
    /// after a timeout.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when the time is up, otherwise as [`wait`](Self::wait).
    pub fn wait_timeout(self, timeout: Duration) -> Result<T, Error> {
        self.wait_until(deadline_after(timeout))
    }

    fn wait_until(self, deadline: Option<Instant>) -> Result<T, Error> {
        if self.inner.as_ref().is_some_and(|inner| inner.in_loop()) {
            return Err(Error::WaitInCallback);
        }
        (self.answer)(deadline)
    }
}

/// Wakes a parked thread.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `poll` on this thread until it is ready or `deadline` passes (`None` then), parking in between.
pub(crate) fn block_on<T>(
    deadline: Option<Instant>,
    mut poll: impl FnMut(&mut Context<'_>) -> Poll<T>,
) -> Option<T> {
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(value) = poll(&mut cx) {
            return Some(value);
        }
        match deadline {
            None => thread::park(),
            Some(deadline) => {
                thread::park_timeout(deadline.checked_duration_since(Instant::now())?);
            }
        }
    }
}

/// Blocks until `receiver` has its value (or its sender is gone), or until `deadline`: `None` then.
pub(crate) fn wait_for<T>(
    mut receiver: oneshot::Receiver<T>,
    deadline: Option<Instant>,
) -> Option<Result<T, oneshot::Canceled>> {
    block_on(deadline, |cx| Pin::new(&mut receiver).poll(cx))
}

/// Every message the client receives, for those who prefer polling to callbacks: [`recv`](Self::recv),
/// [`recv_timeout`](Self::recv_timeout), or iterate.
///
/// Its queue is bounded ([`Options::message_capacity`](crate::Options::message_capacity),
/// [`Options::message_capacity_bytes`](crate::Options::message_capacity_bytes)): while it is full the
/// client stops reading from the broker. A message is acknowledged when it is taken from here.
#[derive(Debug)]
pub struct Messages(Receiver);

impl Messages {
    /// The next message; `None` once the event loop has ended.
    pub fn recv(&self) -> Option<Message> {
        block_on(None, |cx| self.0.poll_recv(cx)).flatten()
    }

    /// The next message, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when none came in time, [`Error::Closed`] once the event loop has ended.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Message, Error> {
        match block_on(deadline_after(timeout), |cx| self.0.poll_recv(cx)) {
            Some(Some(message)) => Ok(message),
            Some(None) => Err(Error::Closed),
            None => Err(Error::Timeout),
        }
    }

    /// A message if one is waiting.
    pub fn try_recv(&self) -> Option<Message> {
        let mut cx = Context::from_waker(Waker::noop());
        match self.0.poll_recv(&mut cx) {
            Poll::Ready(message) => message,
            Poll::Pending => None,
        }
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
        let alive = counted.then(|| Arc::new(HandleGuard::new(inner.shared.clone())));
        Self { inner, alive }
    }

    /// The [`Delivery`] of a message the session accepted.
    pub(crate) fn delivery(&self, published: Published) -> Delivery {
        let pending = match published.done {
            None => Pending::ready(Ok(())),
            Some(acknowledgement) => self.pending(acknowledgement, Ok),
        };
        Delivery {
            id: published.id,
            pending,
        }
    }

    pub(crate) fn pending<U: Send + 'static, T: Send + 'static>(
        &self,
        receiver: oneshot::Receiver<Result<U, Error>>,
        map: impl FnOnce(U) -> Result<T, Error> + Send + 'static,
    ) -> Pending<T> {
        Pending::on(receiver, self.inner.clone(), map)
    }

    /// Publishes a message: returns at once, once the session has accepted it (queued, or in flight); wait on the
    /// [`Delivery`] for the broker's acknowledgement.
    ///
    /// The topic and payload are borrowed: the session copies them into its queue, so a `&str` or `&[u8]` of any
    /// lifetime serves as well as a `String`, `Vec<u8>` or `Bytes`.
    ///
    /// # Errors
    ///
    /// [`Error::Publish`] for an invalid topic or QoS, a message too large or a full queue (nothing is dropped:
    /// retry later); [`Error::Closed`] once [`disconnect`](Self::disconnect) was called or the event loop has
    /// ended.
    pub fn publish(
        &self,
        topic: impl AsRef<str>,
        payload: impl AsRef<[u8]>,
        qos: QoS,
        retain: bool,
    ) -> Result<Delivery, Error> {
        let (topic, payload) = (topic.as_ref(), payload.as_ref());
        let message = Publish::new(topic, payload, qos, retain);
        Ok(self.delivery(self.inner.shared.publish(&message)?))
    }

    /// The messages this client inherited from its store ([`Options::persistence`](crate::Options::persistence))
    /// when it started: those whose `publish` returned in an earlier run and that were not acknowledged then, in
    /// publish order, each with a [`Delivery`] that completes when the broker acknowledges it (or fails). The old
    /// run's deliveries are gone: this is how the application learns how those messages end. Each message is
    /// given once: a second call returns none.
    pub fn recovered(&self) -> Vec<(Message, Delivery)> {
        self.inner
            .shared
            .take_recovered()
            .into_iter()
            .map(|(message, published)| (message, self.delivery(published)))
            .collect()
    }

    /// Subscribes to `filter`; `callback` gets every message it matches, on the event loop's thread. The
    /// [`Pending`] gives the QoS the broker granted.
    ///
    /// A QoS 1 or 2 message is acknowledged to the broker once the callback has returned. While callbacks fall
    /// behind, messages wait in the subscription's bounded queue; when it is full the client stops reading from
    /// the broker.
    ///
    /// Each call makes a subscription of its own, and every subscription gets each message its filter matches
    /// until it is unsubscribed: subscribing again to a filter on every `Connected` (a habit from paho's
    /// `on_connect`) adds a callback each time, and each gets its copy. There is no need to: the client keeps its
    /// subscriptions across reconnects and subscribes again by itself when a broker has lost the session.
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
        let receiver = self.subscribe_request(&[(filter.into(), qos)], Box::new(callback))?;
        Ok(self.pending(receiver, |granted: Granted| {
            granted.into_iter().next().unwrap_or(Err(Error::Closed))
        }))
    }

    /// Joins consumer group `group` on `filter`: subscribes to the shared subscription `$share/{group}/{filter}`
    /// ([`shared_filter`](proto::client::shared_filter)), with `callback` as [`subscribe`](Self::subscribe) takes
    /// it. The broker gives each matching message to one member of the group, so several processes share the work.
    ///
    /// # Errors
    ///
    /// [`Error::Subscribe`] when `group` or `filter` is invalid, or (5.0) when the broker announced it does not
    /// support shared subscriptions; otherwise as [`subscribe`](Self::subscribe).
    pub fn subscribe_shared(
        &self,
        group: &str,
        filter: &str,
        qos: QoS,
        callback: impl FnMut(&Self, &Message) + Send + 'static,
    ) -> Result<Pending<QoS>, Error> {
        self.subscribe(proto::client::shared_filter(group, filter)?, qos, callback)
    }

    /// Subscribes to several filters in one request; `callback` gets each message matching any granted filter
    /// once. The [`Pending`] gives, per filter, the granted QoS or the refusal.
    ///
    /// # Errors
    ///
    /// [`Error::Subscribe`] for an invalid filter or QoS; [`Error::Closed`] if the event loop has ended.
    pub fn subscribe_many<F: Into<String>>(
        &self,
        filters: impl IntoIterator<Item = (F, QoS)>,
        callback: impl FnMut(&Self, &Message) + Send + 'static,
    ) -> Result<Pending<Granted>, Error> {
        let filters: Vec<(String, QoS)> = filters
            .into_iter()
            .map(|(filter, qos)| (filter.into(), qos))
            .collect();
        let receiver = self.subscribe_request(&filters, Box::new(callback))?;
        Ok(self.pending(receiver, Ok))
    }

    fn subscribe_request(
        &self,
        filters: &[(String, QoS)],
        callback: OnMessage,
    ) -> Result<oneshot::Receiver<Result<Granted, Error>>, Error> {
        let mut request = proto::client::SubscribeRequest::new();
        for (filter, qos) in filters {
            request = request.filter((filter.clone(), *qos));
        }
        self.subscribe_filters(&request, callback)
    }

    pub(crate) fn subscribe_filters(
        &self,
        request: &proto::client::SubscribeRequest,
        callback: OnMessage,
    ) -> Result<oneshot::Receiver<Result<Granted, Error>>, Error> {
        // The callback is registered before the request can bring messages: none is missed.
        let mut hooks = lock(&self.inner.hooks);
        let (receiver, granted) = self.inner.shared.subscribe_request(request)?;
        hooks.messages.push((receiver, callback));
        Ok(granted)
    }

    /// Unsubscribes from filters; their callbacks stop receiving messages. The [`Pending`] fails with
    /// [`Error::UnsubscribeRefused`] if the broker refused a filter (5.0);
    /// [`unsubscribe_with`](Self::unsubscribe_with) gives every filter's code.
    ///
    /// # Errors
    ///
    /// [`Error::Subscribe`] for an invalid filter; [`Error::Closed`] if the event loop has ended.
    pub fn unsubscribe(
        &self,
        filters: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<Pending<()>, Error> {
        let filters: Vec<String> = filters.into_iter().map(Into::into).collect();
        let answer = self.inner.shared.unsubscribe(&filters)?;
        Ok(
            self.pending(answer, |codes: Vec<proto::codec::ReasonCode>| {
                match codes.into_iter().find(|code| code.is_failure()) {
                    Some(code) => Err(Error::UnsubscribeRefused(code)),
                    None => Ok(()),
                }
            }),
        )
    }

    /// Calls `callback` with every message the client receives, whatever subscription it matches (and those that
    /// matched no subscription yet).
    pub fn on_message(&self, callback: impl FnMut(&Self, &Message) + Send + 'static) {
        let mut hooks = lock(&self.inner.hooks);
        let receiver = self.inner.shared.messages();
        hooks.messages.push((receiver, Box::new(callback)));
    }

    /// Calls `callback` with the current connection state (once there is one), then with every change: connected,
    /// lost with the reason, refused with the broker's code, reconnecting in N seconds, gave up, disconnected.
    pub fn on_state(&self, callback: impl FnMut(&Self, ConnectionState) + Send + 'static) {
        let mut hooks = lock(&self.inner.hooks);
        let receiver = self.inner.shared.states();
        hooks.states.push((receiver, Box::new(callback)));
        drop(hooks);
        // The current state is waiting: the loop runs the callback at its next round.
        self.inner.waker.notify();
    }

    /// Calls `callback` before each connection attempt, the first one and every reconnect.
    pub fn on_connecting(&self, callback: impl FnMut(&Self) + Send + 'static) {
        lock(&self.inner.hooks).connecting.push(Box::new(callback));
    }

    /// Calls `callback` when the event loop fails (`poll(2)` failed, so the loop ends), or a callback panicked
    /// (the loop goes on).
    pub fn on_loop_failure(&self, callback: impl FnMut(&Error) + Send + 'static) {
        lock(&self.inner.hooks)
            .loop_failure
            .push(Box::new(callback));
    }

    /// Every message the client receives from now on (and those that matched no subscription yet), to poll:
    /// [`Messages::recv`], [`Messages::recv_timeout`], or iterate.
    pub fn messages(&self) -> Messages {
        Messages(self.inner.shared.messages())
    }

    /// Blocks until the broker accepts a connection, for at most `timeout`.
    ///
    /// Returns as soon as the outcome is known: at the first accepted connection, or when a whole round over the
    /// broker list has failed, with the real cause (unless [`Options::keep_trying`](crate::Options::keep_trying)).
    ///
    /// # Errors
    ///
    /// [`Error::Refused`] with the broker's reason, [`Error::Io`] for a connection refused or reset,
    /// [`Error::Tls`] for a certificate the check rejected or a failed handshake, [`Error::ConnectionFailed`] for
    /// an attempt the broker ended, [`Error::Timeout`] when the broker did not answer in time, [`Error::GaveUp`] if
    /// the session stopped trying; [`Error::WaitInCallback`] on the event loop's thread.
    pub fn wait_connected(&self, timeout: Duration) -> Result<(), Error> {
        let states = self.listen_states()?;
        self.connected_within(&states, timeout)
    }

    /// The connection states from now on (the current one first).
    pub(crate) fn listen_states(&self) -> Result<StateReceiver, Error> {
        if self.inner.in_loop() {
            return Err(Error::WaitInCallback);
        }
        Ok(self.inner.shared.states())
    }

    pub(crate) fn connected_within(
        &self,
        states: &StateReceiver,
        timeout: Duration,
    ) -> Result<(), Error> {
        let deadline = deadline_after(timeout);
        let mut watch = ConnectWatch::new(self.inner.shared.core().dispatch.keeps_trying());
        loop {
            match block_on(deadline, |cx| states.poll_recv(cx)) {
                Some(Some(state)) => {
                    if let Some(outcome) = watch.on_state(state) {
                        return outcome;
                    }
                }
                Some(None) => return Err(Error::Closed),
                None => return Err(watch.timed_out()),
            }
        }
    }

    /// Whether the broker has accepted the current connection.
    pub fn is_connected(&self) -> bool {
        self.inner.shared.core().is_connected()
    }

    /// The subscribe requests the broker has not answered yet (each [`subscribe`](Self::subscribe) or
    /// [`subscribe_many`](Self::subscribe_many) call is one, whatever its number of filters): queued while
    /// disconnected, or sent and waiting for their SUBACK.
    pub fn pending_subscriptions(&self) -> usize {
        self.inner.shared.pending_subscriptions()
    }

    /// Why the latest connection attempt could not be opened, kept until the next one fails.
    pub fn last_transport_error(&self) -> Option<Error> {
        self.inner.shared.core().dispatch.last_transport_error()
    }

    /// The session's counters, as of now.
    pub fn stats(&self) -> Stats {
        self.inner.shared.core().session.stats()
    }

    /// Pings the broker now and blocks at most `timeout` for its answer: the round trip, from the write of the
    /// PINGREQ to the arrival of the PINGRESP. A check that the broker still answers (paho's `ping()`), beside
    /// the keep alive, which pings only a quiet connection.
    ///
    /// One ping is in flight at a time: while one waits for its PINGRESP (a keep-alive ping, or another call),
    /// no second PINGREQ goes out and that PINGRESP answers this call too. The session's PINGRESP deadline
    /// ([`Options::ping_timeout`](crate::Options::ping_timeout)) applies as to any ping: a broker that does not
    /// answer within it loses the connection (then this fails with [`Error::ConnectionLost`]), whatever
    /// `timeout` is.
    ///
    /// # Errors
    ///
    /// [`Error::Ping`] unless connected; [`Error::Timeout`] after `timeout` (the ping stays in flight under the
    /// session's deadline); [`Error::ConnectionLost`] if the connection ended first; [`Error::Closed`] once the
    /// client is finished; [`Error::WaitInCallback`] on the event loop's own thread (nothing is sent).
    pub fn ping(&self, timeout: Duration) -> Result<Duration, Error> {
        if self.inner.in_loop() {
            return Err(Error::WaitInCallback);
        }
        let pong = self.inner.shared.ping()?;
        match wait_for(pong, deadline_after(timeout)) {
            Some(Ok(answer)) => answer,
            Some(Err(oneshot::Canceled)) => Err(Error::Closed),
            None => Err(Error::Timeout),
        }
    }

    /// Acknowledges a message received with manual acknowledgement ([`Options::manual_ack`](crate::Options)):
    /// its PUBACK or PUBREC goes to the broker once every message received before it is acknowledged too.
    pub fn ack(&self, message: &Message) {
        if let Some(token) = message.ack_token() {
            self.inner.shared.ack(token);
        }
    }

    /// Drops the current connection and connects again now (also after the session gave up). The
    /// acknowledgements of the messages already handled go out first. From a callback, the reconnect happens as
    /// soon as the callbacks of this round have returned: the message whose callback asked for it is then
    /// acknowledged, and the broker does not send it again.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] if the event loop has ended: after [`disconnect`](Self::disconnect) too, a client stays
    /// ended (unlike paho's `reconnect()` after `disconnect()`); connect again with a new client. From a
    /// callback, also once every handle is dropped (the loop is ending: the callback's handle does not keep it).
    pub fn reconnect(&self) -> Result<(), Error> {
        if self.inner.in_loop() {
            if self.inner.shared.refuses_reconnect() {
                return Err(Error::Closed);
            }
            *lock(&self.inner.reconnect_after_callbacks) = true;
            return Ok(());
        }
        self.inner.shared.reconnect()
    }

    /// Disconnects gracefully within `timeout`: the messages in flight and queued are waited for (nine tenths of
    /// `timeout`), then DISCONNECT goes out and the event loop ends. Blocks until it has ended (at most `timeout`,
    /// or a second if `timeout` is shorter: [`Duration::ZERO`] sends the DISCONNECT without waiting for
    /// acknowledgements); from a callback, only starts the disconnection.
    ///
    /// # Errors
    ///
    /// [`Error::Unacknowledged`] with the number of messages the broker had not acknowledged in time, or that
    /// never went out (their deliveries fail with [`Error::Closed`]); [`Error::DisconnectCalledOff`] if a
    /// [`reconnect`](Self::reconnect) called the disconnect off first; [`Error::Timeout`] if the event loop did
    /// not end in time (or does not run).
    pub fn disconnect(&self, timeout: Duration) -> Result<(), Error> {
        if self.inner.has_finished() {
            return Ok(());
        }
        self.inner.forget_callback_reconnect();
        let deadline = deadline_after(proto::client::disconnect_wait(timeout));
        let closed = self.inner.shared.disconnect(timeout);
        self.closed_by(closed, deadline)
    }

    /// Waits for the disconnection started with `closed` to end the event loop, until `deadline` (if any).
    pub(crate) fn closed_by(
        &self,
        closed: Disconnected,
        deadline: Option<Instant>,
    ) -> Result<(), Error> {
        if self.inner.in_loop() {
            return Ok(());
        }
        let unacknowledged = match wait_for(closed, deadline) {
            Some(Ok(Ok(unacknowledged))) => unacknowledged,
            // A reconnect called it off: the loop goes on.
            Some(Ok(Err(error))) => return Err(error),
            // The loop ended: disconnected too.
            Some(Err(oneshot::Canceled)) => 0,
            None => return Err(Error::Timeout),
        };
        // The loop ends right after the session closed.
        let (finished, ended) = &self.inner.finished;
        let guard = lock(finished);
        match deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                let (_guard, wait) = ended
                    .wait_timeout_while(guard, left, |finished| !*finished)
                    .unwrap_or_else(PoisonError::into_inner);
                if wait.timed_out() {
                    return Err(Error::Timeout);
                }
            }
            None => {
                let _guard = ended
                    .wait_while(guard, |finished| !*finished)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
        match unacknowledged {
            0 => Ok(()),
            n => Err(Error::Unacknowledged(n)),
        }
    }
}

/// The instant `timeout` from now, or `None` (no deadline) for a timeout past what an [`Instant`] can hold
/// (`Duration::MAX`, the usual way to say "no limit"), rather than a panic.
pub(crate) fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
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
