//! The [`Client`] handle: commands from any task, given to the shared session under a short lock.

use core::future::poll_fn;
use core::marker::PhantomData;
use core::task::Poll;
use core::time::Duration;

use embassy_futures::select::{Either, select};
use embassy_sync::blocking_mutex::raw::RawMutex;
use proto::codec::{
    Disconnect, Publish, QoS, ReasonCode, SubscribeProperties, Subscription, UnsubscribeProperties,
};
use proto::error::{PublishError, SubscribeError};
use proto::io::{Clock, Connect};
use proto::session::{ConnAckInfo, Reason, Session, SessionState, Stats};
use proto::time::Instant;

use crate::Error;
use crate::inbox::Inbox;
use crate::runner::{Answer, Hub, Key, Shared, granted_qos, register};

/// How many filters one [`subscribe`](Client::subscribe) may carry (the [`Granted`] answer has room for that
/// many codes).
pub const FILTERS: usize = 8;

/// The handle the application uses: publish, subscribe, unsubscribe, disconnect. Copy it into as many tasks as
/// needed; messages arrive through [`Inbox`]es and the [`Runner`](crate::Runner)'s handler. A command changes the
/// session under a short lock and wakes the runner: it never waits for the runner, never interrupts a connection
/// attempt.
pub struct Client<'d, M: RawMutex, N: Connect, C: Clock> {
    pub(crate) shared: &'d Shared<'d, M, C>,
    pub(crate) _connector: PhantomData<fn() -> N>,
}

impl<M: RawMutex, N: Connect, C: Clock> Clone for Client<'_, M, N, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M: RawMutex, N: Connect, C: Clock> Copy for Client<'_, M, N, C> {}

/// The broker's answer to each filter of a SUBSCRIBE, in the order they were given: the QoS granted, or the
/// refusal's reason code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Granted {
    pub(crate) codes: [ReasonCode; FILTERS],
    pub(crate) len: u8,
}

impl Granted {
    /// How many filters the answer covers.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether the answer covers no filter.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The answer for the filter at `index`: the QoS granted, or the refusal's code.
    pub fn get(&self, index: usize) -> Option<Result<QoS, ReasonCode>> {
        self.codes
            .get(..self.len())?
            .get(index)
            .map(|&code| granted_qos(code))
    }

    /// The answers, in the order of the filters.
    pub fn iter(&self) -> impl Iterator<Item = Result<QoS, ReasonCode>> + '_ {
        let codes = self.codes.get(..self.len()).unwrap_or_default();
        codes.iter().map(|&code| granted_qos(code))
    }

    /// The lowest QoS granted if every filter was granted, else the code of the first refused.
    ///
    /// # Errors
    ///
    /// The reason code of the first filter the broker refused.
    pub fn lowest(&self) -> Result<QoS, ReasonCode> {
        self.iter()
            .try_fold(QoS::ExactlyOnce, |lowest, granted| Ok(lowest.min(granted?)))
    }
}

/// A command whose completion is awaited: one of the [`SLOTS`](crate::SLOTS), freed on drop.
struct Pending<'d, M: RawMutex> {
    hub: &'d Hub<'d, M>,
    index: usize,
}

impl<'d, M: RawMutex> Pending<'d, M> {
    /// Reserves a slot.
    fn new(hub: &'d Hub<'d, M>) -> Result<Self, Error> {
        let index = hub.with(|state| {
            if state.stopped {
                return Err(Error::Closed);
            }
            let free = state.slots.iter().position(|slot| slot.key == Key::Free);
            let free = free.ok_or(Error::Busy)?;
            if let Some(slot) = state.slots.get_mut(free) {
                slot.key = Key::Reserved;
            }
            Ok(free)
        })?;
        Ok(Self { hub, index })
    }

    fn set(&self, key: Key) {
        self.hub
            .with(|state| state.slots.get_mut(self.index).map(|slot| slot.key = key));
    }

    async fn wait(self) -> Result<Answer, Error> {
        poll_fn(|cx| {
            self.hub
                .with(|state| match state.slots.get_mut(self.index) {
                    Some(slot) => match slot.outcome.take() {
                        Some(outcome) => Poll::Ready(outcome),
                        None => {
                            register(&mut slot.waker, cx.waker());
                            Poll::Pending
                        }
                    },
                    None => Poll::Ready(Err(Error::Closed)),
                })
        })
        .await
    }
}

impl<M: RawMutex> Drop for Pending<'_, M> {
    fn drop(&mut self) {
        self.hub.with(|state| {
            if let Some(slot) = state.slots.get_mut(self.index) {
                slot.key = Key::Free;
                slot.outcome = None;
            }
        });
    }
}

/// A queued message: [`wait`](Self::wait) for its acknowledgement, or drop it to stop caring.
#[must_use = "a delivery does nothing unless awaited; drop it to publish without waiting"]
pub struct Delivery<'d, M: RawMutex, N: Connect, C: Clock> {
    pending: Option<Pending<'d, M>>,
    clock: &'d C,
    _connector: PhantomData<fn() -> N>,
}

impl<M: RawMutex, N: Connect, C: Clock> Delivery<'_, M, N, C> {
    /// Waits until the broker acknowledged the message (PUBACK for QoS 1, PUBCOMP for QoS 2; at once for QoS 0).
    ///
    /// # Errors
    ///
    /// [`Error::PublishFailed`] when the broker refused the message, [`Error::GaveUp`] or [`Error::Closed`] when
    /// the session stopped first (the message stays queued for the next connection).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the message stays queued, only the notification is lost.
    pub async fn wait(self) -> Result<(), Error> {
        match self.pending {
            Some(pending) => pending.wait().await.map(drop),
            None => Ok(()),
        }
    }

    /// [`wait`](Self::wait), for at most `timeout` on the client's clock.
    ///
    /// # Errors
    ///
    /// As `wait`, and [`Error::TimedOut`] when `timeout` passed first: the message stays queued and goes out (or
    /// is resent) as usual, only the notification is lost.
    pub async fn wait_timeout(self, timeout: Duration) -> Result<(), Error> {
        let deadline = self.clock.now() + timeout;
        let clock = self.clock;
        match select(self.wait(), clock.sleep_until(deadline)).await {
            Either::First(outcome) => outcome,
            Either::Second(()) => Err(Error::TimedOut),
        }
    }
}

impl<'d, M: RawMutex, N: Connect, C: Clock> Client<'d, M, N, C> {
    fn hub(&self) -> &'d Hub<'d, M> {
        &self.shared.hub
    }

    /// Gives the session a command and wakes the runner to act on it.
    fn command<R>(&self, command: impl FnOnce(&mut Session<'d>, Instant) -> R) -> R {
        let now = self.shared.clock.now();
        let result = self.hub().with_session(|session| command(session, now));
        self.hub().wake.signal();
        result
    }

    /// A command the session refused because it is closed, after the session gave up: the reason it gave up
    /// ([`Error::GaveUp`], e.g. the broker refused the credentials), not a bare "closed".
    fn gave_up(&self, error: Error) -> Error {
        match error {
            Error::Publish(PublishError::Closed) | Error::Subscribe(SubscribeError::Closed) => self
                .hub()
                .with(|state| state.gave_up)
                .map_or(error, Error::GaveUp),
            other => other,
        }
    }

    /// Runs a command that completes with an event carrying the ticket it returns, with a slot reserved for it.
    fn request(
        &self,
        command: impl FnOnce(&mut Session<'d>, Instant) -> Result<Key, Error>,
    ) -> Result<Pending<'d, M>, Error> {
        let pending = Pending::new(self.hub())?;
        // The slot is keyed under the session's lock, before the runner can see the command's outcome.
        self.command(|session, now| {
            let key = command(session, now)?;
            pending.set(key);
            Ok::<_, Error>(())
        })
        .map_err(|error| self.gave_up(error))?;
        Ok(pending)
    }

    /// Publishes `payload` to `topic` and waits until the broker acknowledged it (QoS 0: until it is queued).
    /// Waits for room first if the store is full.
    ///
    /// # Errors
    ///
    /// As [`queue`](Self::queue) and [`Delivery::wait`].
    pub async fn publish(&self, topic: &str, payload: &[u8], qos: QoS) -> Result<(), Error> {
        let message = Publish {
            topic,
            payload,
            qos,
            ..Publish::default()
        };
        self.queue(&message).await?.wait().await
    }

    /// Queues a message (any flags and 5.0 properties) into the session's store: it goes out as soon as the
    /// connection and the inflight window allow, and a QoS 1 or 2 message is kept until acknowledged, across
    /// reconnects. Returns once it is queued; while the store is full, waits (yielding to the runner and every
    /// other task) until acknowledged or sent messages make room. With a flash store
    /// (`persist::restore`, feature `persist`), returns once the message is stored too, so that it
    /// survives a reset.
    ///
    /// # Errors
    ///
    /// [`Error::Publish`] for an invalid message or one larger than the whole store, or
    /// ([`PublishError::Closed`]) after [`disconnect`](Self::disconnect); [`Error::GaveUp`] after the session gave
    /// up (e.g. the broker refused the credentials: [`connect`](Self::connect) starts again); [`Error::Busy`] when
    /// [`SLOTS`](crate::SLOTS) commands are awaited already; [`Error::Closed`] when the runner is gone.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the message is queued whole when this returns `Ok`, and not at all before.
    pub async fn queue(&self, message: &Publish<'_>) -> Result<Delivery<'d, M, N, C>, Error> {
        let pending = Pending::new(self.hub())?;
        #[cfg(feature = "persist")]
        let stored_at = core::cell::Cell::new(None);
        poll_fn(|cx| {
            let now = self.shared.clock.now();
            let queued = self.hub().with_session(|session| {
                match self.publish_into(session, message, now) {
                    Ok(ticket) => {
                        #[cfg(feature = "persist")]
                        stored_at.set(Some(session.noted_mark()));
                        Poll::Ready(Ok(Key::Ticket(ticket)))
                    }
                    // Registered under the session's lock: the runner frees room under it, then wakes.
                    Err(Error::Publish(PublishError::QueueFull)) => {
                        self.hub()
                            .with(|state| match state.slots.get_mut(pending.index) {
                                Some(slot) if !state.stopped => {
                                    slot.key = Key::Room;
                                    register(&mut slot.waker, cx.waker());
                                    Poll::Pending
                                }
                                _ => Poll::Ready(Err(Error::Closed)),
                            })
                    }
                    Err(error) => Poll::Ready(Err(error)),
                }
                .map_ok(|key| {
                    pending.set(key);
                    key
                })
            });
            if queued.is_ready() {
                self.hub().wake.signal();
            }
            queued
        })
        .await
        .map_err(|error| self.gave_up(error))?;
        #[cfg(feature = "persist")]
        if let Some(mark) = stored_at.get() {
            self.stored(mark).await;
        }
        Ok(Delivery {
            pending: (message.qos != QoS::AtMostOnce).then_some(pending),
            clock: &self.shared.clock,
            _connector: PhantomData,
        })
    }

    /// Hands `message` to the session. With a flash store, a message too large for one record (one flash item)
    /// is refused before it is queued.
    fn publish_into(
        &self,
        session: &mut Session<'d>,
        message: &Publish<'_>,
        now: Instant,
    ) -> Result<proto::session::Ticket, Error> {
        #[cfg(feature = "persist")]
        {
            let max_record = self.hub().with(|state| state.max_record);
            let stored = Publish {
                packet_id: Some(proto::codec::PacketId::MIN),
                ..*message
            };
            let size = proto::codec::Packet::Publish(stored).encoded_len(session.version());
            crate::persist::check_size(size, max_record)?;
        }
        Ok(session.publish(message, now)?)
    }

    /// The outgoing QoS 1 and 2 messages the session holds, in publish order: after
    /// [`persist::restore`](crate::persist::restore), those it inherited from the flash (`failed` set for one given
    /// up before the reset). Each one's `Published` or `PublishFailed` event, given to the runner's handler, carries
    /// its ticket: that is how the application learns how it ended.
    #[cfg(feature = "persist")]
    pub fn recovered(&self, mut each: impl FnMut(proto::session::persist::Recovered<'_>)) {
        self.hub()
            .with_session(|session| session.recovered().for_each(&mut each));
    }

    /// Waits until the store holds every change up to `mark` (feature `persist`).
    #[cfg(feature = "persist")]
    async fn stored(&self, mark: proto::session::persist::PersistMark) {
        let durable = || self.hub().with_session(|s| s.durable_mark() >= mark);
        poll_fn(|cx| {
            if durable() {
                return Poll::Ready(());
            }
            self.hub().with(|state| state.stored.register(cx.waker()));
            // Stored between the check and the registration: not missed.
            match durable() {
                true => Poll::Ready(()),
                false => Poll::Pending,
            }
        })
        .await;
    }

    /// [`queue`](Self::queue) without waiting: a full store is an error. With a flash store it returns once the
    /// message is queued, before it is stored.
    ///
    /// # Errors
    ///
    /// As `queue`, and [`Error::Publish`]`(`[`PublishError::QueueFull`]`)` when the store is full: nothing was
    /// queued; try again once earlier messages are acknowledged (or use `queue`, which waits for that).
    pub fn try_queue(&self, message: &Publish<'_>) -> Result<Delivery<'d, M, N, C>, Error> {
        let pending = self
            .request(|session, now| Ok(Key::Ticket(self.publish_into(session, message, now)?)))?;
        Ok(Delivery {
            pending: (message.qos != QoS::AtMostOnce).then_some(pending),
            clock: &self.shared.clock,
            _connector: PhantomData,
        })
    }

    /// Subscribes to up to [`FILTERS`] filters in one SUBSCRIBE and waits for the SUBACK: the QoS granted to each
    /// filter, or its refusal. The subscriptions are restored if a broker loses the session. Their messages go to
    /// the runner's handler (see [`subscribe_to`](Self::subscribe_to) for an inbox of their own).
    ///
    /// # Errors
    ///
    /// [`Error::Subscribe`] for an invalid request or a full subscription table; [`Error::TooManyFilters`];
    /// [`Error::Busy`], [`Error::GaveUp`], [`Error::Closed`].
    pub async fn subscribe(&self, filters: &[Subscription<'_>]) -> Result<Granted, Error> {
        if filters.len() > FILTERS {
            return Err(Error::TooManyFilters);
        }
        let pending =
            self.request(|session, now| Ok(Key::Ticket(session.subscribe(filters, now)?)))?;
        match pending.wait().await? {
            Answer::Granted(granted) => Ok(granted),
            Answer::Done | Answer::Pong(_) => Ok(Granted::default()),
        }
    }

    /// Subscribes to `filters` at `qos` (up to [`FILTERS`] of them) and routes their messages to `inbox`, from
    /// now on: see [`Inbox`]. Waits for the SUBACK, as [`subscribe`](Self::subscribe).
    ///
    /// # Errors
    ///
    /// As `subscribe`, and [`Error::Busy`] if the inbox has filters already (see
    /// [`unsubscribe_from`](Self::unsubscribe_from)). The inbox keeps its filters unless the request itself
    /// failed (not when the broker refused a filter).
    pub async fn subscribe_to(
        &self,
        inbox: &'d Inbox<'d>,
        filters: &'d [&'d str],
        qos: QoS,
    ) -> Result<Granted, Error> {
        let mut subscriptions = [Subscription::new("", qos); FILTERS];
        for (subscription, filter) in subscriptions.iter_mut().zip(filters) {
            subscription.filter = filter;
        }
        let subscriptions = subscriptions
            .get(..filters.len())
            .ok_or(Error::TooManyFilters)?;
        if !inbox.link(self.hub(), filters) {
            return Err(Error::Busy);
        }
        self.hub()
            .router
            .lock(|router| router.set(Some(Hub::route)));
        let granted = self.subscribe(subscriptions).await;
        if granted.is_err() {
            inbox.unlink(self.hub());
        }
        granted
    }

    /// Stops routing to `inbox` and unsubscribes its filters; waits for the UNSUBACK. Messages it has copied
    /// already stay in it.
    ///
    /// # Errors
    ///
    /// As [`unsubscribe`](Self::unsubscribe).
    pub async fn unsubscribe_from(&self, inbox: &'d Inbox<'d>) -> Result<(), Error> {
        if inbox.filters().is_empty() {
            return Ok(());
        }
        let filters = inbox.unlink(self.hub());
        self.unsubscribe(filters).await
    }

    /// Waits for the next message of `inbox` and hands it to `f`, borrowed: from the inbox's buffer if it was
    /// copied (topic, payload, QoS and retain flag only), from the client's receive buffer otherwise (the whole
    /// message, 5.0 properties included; the runner waits meanwhile). Returns what `f` returns. See [`Inbox`].
    ///
    /// `f` runs with the inbox or the session locked: keep it short, and do not call into the client or the
    /// inbox from it. An inbox of another client, or of none, gets only the copies left in it.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a message is taken only when `f` runs.
    pub async fn receive<R>(&self, inbox: &Inbox<'d>, f: impl FnOnce(Publish<'_>) -> R) -> R {
        let mut f = Some(f);
        poll_fn(|cx| match inbox.take(self.hub(), &mut f) {
            Some(result) => Poll::Ready(result),
            None => {
                inbox.register(cx.waker());
                // Whatever arrived between the check and the registration.
                match inbox.take(self.hub(), &mut f) {
                    Some(result) => Poll::Ready(result),
                    None => Poll::Pending,
                }
            }
        })
        .await
    }

    /// Hands the next message of `inbox` to `f` if there is one now, without waiting: see
    /// [`receive`](Self::receive).
    pub fn try_receive<R>(&self, inbox: &Inbox<'d>, f: impl FnOnce(Publish<'_>) -> R) -> Option<R> {
        inbox.take(self.hub(), &mut Some(f))
    }

    /// Unsubscribes from one or more filters and waits for the UNSUBACK.
    ///
    /// # Errors
    ///
    /// As [`subscribe`](Self::subscribe), and [`Error::Refused`] with the first failure code of a 5.0 broker.
    pub async fn unsubscribe(&self, filters: &[&str]) -> Result<(), Error> {
        let pending =
            self.request(|session, now| Ok(Key::Ticket(session.unsubscribe(filters, now)?)))?;
        pending.wait().await.map(drop)
    }

    /// Subscribes as [`subscribe`](Self::subscribe) does, with 5.0 SUBSCRIBE properties: a Subscription
    /// Identifier and user properties (kept in the subscription table with the request until it is answered).
    /// Returns the answer per filter.
    ///
    /// # Errors
    ///
    /// As [`subscribe`](Self::subscribe).
    pub async fn subscribe_with(
        &self,
        filters: &[Subscription<'_>],
        properties: &SubscribeProperties<'_>,
    ) -> Result<Granted, Error> {
        if filters.len() > FILTERS {
            return Err(Error::TooManyFilters);
        }
        let pending = self.request(|session, now| {
            Ok(Key::Ticket(
                session.subscribe_with(filters, properties, now)?,
            ))
        })?;
        match pending.wait().await? {
            Answer::Granted(granted) => Ok(granted),
            Answer::Done | Answer::Pong(_) => Ok(Granted::default()),
        }
    }

    /// Unsubscribes as [`unsubscribe`](Self::unsubscribe) does, with 5.0 user properties.
    ///
    /// # Errors
    ///
    /// As [`unsubscribe`](Self::unsubscribe).
    pub async fn unsubscribe_with(
        &self,
        filters: &[&str],
        properties: &UnsubscribeProperties<'_>,
    ) -> Result<(), Error> {
        let pending = self.request(|session, now| {
            Ok(Key::Ticket(
                session.unsubscribe_with(filters, properties, now)?,
            ))
        })?;
        pending.wait().await.map(drop)
    }

    /// Re-authenticates the connection (5.0 enhanced authentication, with the authenticator given to
    /// [`new_with_authenticator`](crate::new_with_authenticator)) and waits until the broker accepted it; messages
    /// keep flowing meanwhile.
    ///
    /// # Errors
    ///
    /// [`Error::Reauthenticate`] without an authenticator, when not connected or while one runs;
    /// [`Error::ConnectionLost`] if the connection ended first; [`Error::Busy`].
    pub async fn reauthenticate(&self) -> Result<(), Error> {
        let pending = self.request(|session, now| {
            session.reauthenticate(now).map_err(Error::Reauthenticate)?;
            Ok(Key::Reauthenticate)
        })?;
        pending.wait().await.map(drop)
    }

    /// Pings the broker now and waits at most `timeout` (on the client's clock) for its answer: the round trip,
    /// from the write of the PINGREQ to the arrival of the PINGRESP, to the millisecond. A check that the broker
    /// still answers, beside the keep alive, which pings only a quiet connection.
    ///
    /// One ping is in flight at a time: while one waits for its PINGRESP (a keep-alive ping, or another call), no
    /// second PINGREQ goes out and that PINGRESP answers this call too. The session's PINGRESP deadline
    /// ([`Config::ping_timeout`](crate::Config::ping_timeout)) applies as to any ping: a broker that does not
    /// answer within it loses the connection.
    ///
    /// # Errors
    ///
    /// [`Error::Ping`] unless connected; [`Error::TimedOut`] after `timeout` (the ping stays in flight under the
    /// session's deadline); [`Error::ConnectionLost`] if the connection ended first; [`Error::Busy`];
    /// [`Error::Closed`] once the runner is gone.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the PINGREQ is sent anyway, only its answer is lost.
    pub async fn ping(&self, timeout: Duration) -> Result<Duration, Error> {
        let deadline = self.shared.clock.now() + timeout;
        let pending = self.request(|session, now| {
            session.ping(now).map_err(Error::Ping)?;
            Ok(Key::Ping)
        })?;
        match select(pending.wait(), self.shared.clock.sleep_until(deadline)).await {
            Either::First(Ok(Answer::Pong(millis))) => Ok(Duration::from_millis(u64::from(millis))),
            Either::First(Ok(_)) => Err(Error::Closed),
            Either::First(Err(error)) => Err(error),
            Either::Second(()) => Err(Error::TimedOut),
        }
    }

    /// The subscribe requests the broker has not answered yet (each [`subscribe`](Self::subscribe) or
    /// [`subscribe_to`](Self::subscribe_to) is one, whatever its number of filters): queued while disconnected,
    /// or sent and waiting for their SUBACK.
    pub fn pending_subscriptions(&self) -> usize {
        self.hub()
            .with_session(|session| session.pending_subscriptions())
    }

    /// Runs `f` with what the broker announced in its latest CONNACK (`None` before the first), and returns its
    /// result: the texts (Response Information, Server Reference, Reason String) borrow the session.
    pub fn with_server_info<R>(&self, f: impl FnOnce(Option<ConnAckInfo<'_>>) -> R) -> R {
        self.shared
            .hub
            .with_session(|session| f(session.connack_info()))
    }

    /// Runs `f` with the latest Reason String the broker sent (5.0), its packet and code.
    pub fn with_last_reason<R>(&self, f: impl FnOnce(Option<Reason<'_>>) -> R) -> R {
        self.shared
            .hub
            .with_session(|session| f(session.last_reason()))
    }

    /// Disconnects gracefully as [`disconnect`](Self::disconnect) does, with this DISCONNECT: a reason code and
    /// 5.0 properties (kept in a text slot of the store, [`Config::text_len`](crate::Config::text_len), until
    /// sent).
    ///
    /// # Errors
    ///
    /// [`Error::Disconnect`] when it does not fit the slot; otherwise as [`disconnect`](Self::disconnect).
    pub async fn disconnect_with(&self, disconnect: &Disconnect<'_>) -> Result<(), Error> {
        let pending = self.request(|session, now| match session.state() {
            SessionState::Idle => Err(Error::Closed),
            _ => {
                let wait = session.disconnect_timeout();
                session
                    .disconnect_with(disconnect, wait, now)
                    .map_err(Error::Disconnect)?;
                Ok(Key::Disconnect)
            }
        })?;
        pending.wait().await.map(drop)
    }

    /// Disconnects gracefully (waits for outgoing messages to be acknowledged, up to the configured disconnect
    /// timeout, then sends DISCONNECT) and returns when the connection is closed. Messages not acknowledged stay
    /// queued for [`connect`](Self::connect).
    ///
    /// # Errors
    ///
    /// [`Error::Busy`] when [`SLOTS`](crate::SLOTS) commands are awaited already; [`Error::Closed`] before the
    /// runner started or after it is gone.
    pub async fn disconnect(&self) -> Result<(), Error> {
        let pending = self.request(|session, now| match session.state() {
            SessionState::Idle => Err(Error::Closed),
            _ => {
                session.disconnect(now);
                Ok(Key::Disconnect)
            }
        })?;
        pending.wait().await.map(drop)
    }

    /// Starts connecting again after [`disconnect`](Self::disconnect) or after the session gave up; does nothing
    /// otherwise.
    pub async fn connect(&self) {
        self.hub().with(|state| state.gave_up = None);
        self.command(|session, now| session.connect(now));
    }

    /// Drops the current connection, if any, and opens a new one now.
    pub async fn reconnect(&self) {
        self.command(|session, now| session.reconnect(now));
    }

    /// Whether the broker has accepted the current connection.
    pub fn is_connected(&self) -> bool {
        self.hub().with(|state| state.connected)
    }

    /// The session's counters.
    pub async fn stats(&self) -> Stats {
        self.hub().with_session(|session| session.stats())
    }
}
