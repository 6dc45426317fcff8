//! The cloneable async [`Client`] handle: it gives its commands to the shared session directly (a short lock) and
//! wakes the runner; messages and states come through bounded queues.

use core::future::poll_fn;
use core::pin::{Pin, pin};
use core::task::{Context, Poll};
use core::time::Duration;
use std::boxed::Box;
use std::string::String;
use std::sync::Arc;
use std::vec::Vec;

use futures_channel::oneshot;
use futures_util::future::{Either, select};
use futures_util::{Stream, StreamExt};

use super::command::{Acknowledgement, Published};
use super::dispatch::Granted;
use super::receiver::{Receiver, StateReceiver};
use super::{ConnectWatch, ConnectionState, Error, HandleGuard, Message, Shared};
use crate::codec::{Publish, QoS};
use crate::session::Stats;

/// A timer of the runtime: a future that completes after the duration.
pub(crate) type Sleep = fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// A cloneable handle to a connection run by an [`EventLoop`](super::EventLoop).
///
/// Every method answers at once, before the event loop runs and while disconnected: messages are queued (up to
/// the configured memory) and go out after the next connection. When the last handle is dropped, the event loop
/// disconnects gracefully and ends; dropped by a panic, the connection ends without DISCONNECT, as a crash would,
/// and the broker publishes the will.
#[derive(Clone)]
pub struct Client {
    pub(super) shared: Arc<Shared>,
    _count: Arc<HandleGuard>,
    pub(super) sleep: Sleep,
}

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

/// The completion of a published message: resolves when the broker acknowledged it (PUBACK, or PUBCOMP for
/// QoS 2), at once for QoS 0. Its [`id`](Self::id) names the message (paho's `mid`).
#[derive(Debug)]
#[must_use = "a Delivery does nothing unless awaited; drop it if the acknowledgement does not matter"]
pub struct Delivery {
    pub(super) id: u64,
    pub(super) done: Option<Acknowledgement>,
    pub(super) sleep: Sleep,
    /// [`Options::ack_timeout`](super::Options::ack_timeout): bounds [`wait`](Self::wait).
    pub(super) ack_timeout: Option<Duration>,
}

impl Delivery {
    /// The message's id: unique over the client's life, in the order the client accepted the messages (from 1),
    /// at every QoS. Not the MQTT packet identifier, which the session reuses once a message is acknowledged;
    /// keep it beside the `Delivery` to tell which message an outcome is about (paho's `mid` of
    /// `publish` and `on_publish`).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Waits for the acknowledgement, at most [`Options::ack_timeout`](super::Options::ack_timeout) when one is
    /// set (by default, as long as it takes).
    ///
    /// # Errors
    ///
    /// [`Error::PublishFailed`] if the broker refused the message or lost it with the session (by configuration),
    /// [`Error::GaveUp`] if the session stopped trying to connect, [`Error::Closed`] if the event loop ended first,
    /// [`Error::Timeout`] past the `ack_timeout` (the message stays queued, and may still be acknowledged).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the message stays queued, only the notification is lost.
    pub async fn wait(self) -> Result<(), Error> {
        match self.ack_timeout {
            Some(timeout) => self.wait_timeout(timeout).await,
            None => self.acknowledged().await,
        }
    }

    /// Waits at most `timeout` for the acknowledgement (whatever the `ack_timeout`). The message stays queued
    /// after a timeout.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when the time is up, otherwise as [`wait`](Self::wait).
    pub async fn wait_timeout(self, timeout: Duration) -> Result<(), Error> {
        let sleep = self.sleep;
        within(sleep, timeout, self.acknowledged()).await?
    }

    async fn acknowledged(self) -> Result<(), Error> {
        match self.done {
            None => Ok(()),
            Some(done) => done.await.unwrap_or(Err(Error::Closed)),
        }
    }
}

/// Messages matching one subscription's filters, as a [`Stream`].
///
/// Its queue holds at most [`Options::message_capacity`](super::Options::message_capacity) messages (and
/// [`Options::message_capacity_bytes`](super::Options::message_capacity_bytes) bytes of them); a full
/// queue pauses the client (see the [delivery rules](crate::client#delivery-rules)). Dropping it stops the routing to it (the
/// broker keeps the subscription: [`Client::unsubscribe`] ends that); what the broker still sends for it alone is
/// acknowledged at once and never pauses the client (the [delivery rules](crate::client#delivery-rules) say more).
#[derive(Debug)]
pub struct Subscription {
    pub(super) granted: Granted,
    pub(super) receiver: Receiver,
}

impl Subscription {
    /// Per filter, the QoS the broker granted, or why it refused it.
    pub fn granted(&self) -> &[Result<QoS, Error>] {
        &self.granted
    }

    /// The next message, or `None` once the event loop has ended or the filters were unsubscribed.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a message is taken only when this returns it.
    pub async fn recv(&mut self) -> Option<Message> {
        self.next().await
    }

    /// The next message if one is waiting, without waiting: for code that is not async (a GUI's tick, a
    /// polling loop). `None` when none is waiting, or once the subscription has ended.
    pub fn try_recv(&mut self) -> Option<Message> {
        try_recv(&self.receiver)
    }
}

/// The next message of `receiver` if one is waiting. A message is taken only when returned; the task that
/// awaits the receiver later registers its own waker.
fn try_recv(receiver: &Receiver) -> Option<Message> {
    match receiver.poll_recv(&mut Context::from_waker(core::task::Waker::noop())) {
        Poll::Ready(message) => message,
        Poll::Pending => None,
    }
}

impl Stream for Subscription {
    type Item = Message;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.receiver.poll_recv(cx)
    }
}

/// Every message the client receives, as a [`Stream`]: see [`Client::messages`].
#[derive(Debug)]
pub struct Messages {
    receiver: Receiver,
}

impl Messages {
    /// The next message if one is waiting, without waiting (see [`Subscription::try_recv`]).
    pub fn try_recv(&mut self) -> Option<Message> {
        try_recv(&self.receiver)
    }
}

impl Stream for Messages {
    type Item = Message;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.receiver.poll_recv(cx)
    }
}

/// Connection states, as a [`Stream`]: see [`Client::states`].
#[derive(Debug)]
pub struct States {
    receiver: StateReceiver,
}

impl Stream for States {
    type Item = ConnectionState;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ConnectionState>> {
        self.receiver.poll_recv(cx)
    }
}

impl Client {
    pub(crate) fn new(shared: Arc<Shared>, sleep: Sleep) -> Self {
        Self {
            _count: Arc::new(HandleGuard::new(shared.clone())),
            shared,
            sleep,
        }
    }

    /// The [`Delivery`] of a message the session accepted.
    pub(crate) fn delivery(&self, published: Published) -> Delivery {
        Delivery {
            id: published.id,
            done: published.done,
            sleep: self.sleep,
            ack_timeout: self.ack_timeout(),
        }
    }

    /// [`Options::ack_timeout`](super::Options::ack_timeout).
    pub(crate) fn ack_timeout(&self) -> Option<Duration> {
        self.shared.ack_timeout()
    }

    /// `answer`, within [`Options::ack_timeout`](super::Options::ack_timeout) when one is set.
    pub(crate) async fn answer<T>(
        &self,
        answer: oneshot::Receiver<Result<T, Error>>,
    ) -> Result<T, Error> {
        let answer = async { answer.await.map_err(|_| Error::Closed)? };
        match self.ack_timeout() {
            Some(timeout) => within(self.sleep, timeout, answer).await?,
            None => answer.await,
        }
    }

    /// Publishes a message. Returns at once, once the session has accepted it (queued, or in flight); await the
    /// [`Delivery`] for the broker's acknowledgement.
    ///
    /// The topic and payload are borrowed: the session copies them into its queue, so a `&str` or `&[u8]` of any
    /// lifetime serves as well as a `String`, `Vec<u8>` or `Bytes`, and nothing is allocated for them.
    ///
    /// # Errors
    ///
    /// [`Error::Publish`] for an invalid topic, a message too large or a full queue (nothing is dropped: retry
    /// later), or with [`PublishError::Closed`](crate::PublishError::Closed) after the session gave up (call
    /// [`reconnect`](Self::reconnect)); [`Error::Closed`] once [`disconnect`](Self::disconnect) was called (or the
    /// event loop ended).
    pub async fn publish(
        &self,
        topic: impl AsRef<str>,
        payload: impl AsRef<[u8]>,
        qos: QoS,
        retain: bool,
    ) -> Result<Delivery, Error> {
        self.try_publish(topic, payload, qos, retain)
    }

    /// [`publish`](Self::publish) without `async`, for code that is not.
    ///
    /// # Errors
    ///
    /// As [`publish`](Self::publish).
    pub fn try_publish(
        &self,
        topic: impl AsRef<str>,
        payload: impl AsRef<[u8]>,
        qos: QoS,
        retain: bool,
    ) -> Result<Delivery, Error> {
        let (topic, payload) = (topic.as_ref(), payload.as_ref());
        let done = self
            .shared
            .publish(&Publish::new(topic, payload, qos, retain))?;
        Ok(self.delivery(done))
    }

    /// Publishes a message, waiting while the outgoing queue is full ([`Options::queue_bytes`]) until a message
    /// leaves it (acknowledged by the broker, or sent at QoS 0): the backpressure of a publisher faster than its
    /// link, with nothing dropped. Otherwise as [`publish`](Self::publish): it returns once the session has
    /// accepted the message, before it is sent.
    ///
    /// While disconnected, the queue only empties after the next connection: bound the wait with your runtime's
    /// timeout if that matters.
    ///
    /// # Errors
    ///
    /// As [`publish`](Self::publish), except that a full queue is waited for instead.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes publishes nothing.
    ///
    /// [`Options::queue_bytes`]: super::Options::queue_bytes
    pub async fn publish_when_room(
        &self,
        topic: impl AsRef<str>,
        payload: impl AsRef<[u8]>,
        qos: QoS,
        retain: bool,
    ) -> Result<Delivery, Error> {
        let (topic, payload) = (topic.as_ref(), payload.as_ref());
        let message = Publish::new(topic, payload, qos, retain);
        let done = poll_fn(|cx| self.shared.poll_publish(&message, cx)).await?;
        Ok(self.delivery(done))
    }

    /// Subscribes to one filter; the returned [`Subscription`] yields the messages it matches.
    ///
    /// # Errors
    ///
    /// As [`subscribe_many`](Self::subscribe_many), and [`Error::SubscriptionRefused`] if the broker refused the
    /// filter.
    pub async fn subscribe(
        &self,
        filter: impl Into<String>,
        qos: QoS,
    ) -> Result<Subscription, Error> {
        let subscription = self.subscribe_many([(filter.into(), qos)]).await?;
        match subscription.granted.first() {
            Some(Err(e)) => Err(e.clone()),
            _ => Ok(subscription),
        }
    }

    /// Joins consumer group `group` on `filter`: subscribes to the shared subscription `$share/{group}/{filter}`
    /// ([`shared_filter`](super::shared_filter)). The broker gives each matching message to one member of the
    /// group (each client subscribed with the same group), so several processes share the work; a member that
    /// leaves or fails stops getting messages, the others go on.
    ///
    /// # Errors
    ///
    /// [`Error::Subscribe`] when `group` or `filter` is invalid, or (5.0) when the broker announced it does not
    /// support shared subscriptions ([`SubscribeError::SharedNotSupported`](crate::SubscribeError)); otherwise as
    /// [`subscribe`](Self::subscribe).
    pub async fn subscribe_shared(
        &self,
        group: &str,
        filter: &str,
        qos: QoS,
    ) -> Result<Subscription, Error> {
        self.subscribe(super::shared_filter(group, filter)?, qos)
            .await
    }

    /// Subscribes to several filters in one request. The result reports, per filter, the granted QoS or the
    /// refusal; the [`Subscription`] yields messages matching any granted filter, each once. Messages are routed
    /// to it from the moment the request is queued, so none that the broker sends before its answer is lost.
    ///
    /// Subscribing to a filter again (from a connection-state handler after each reconnect, say) is fine: each
    /// request completes with its own answer, and every live subscription keeps receiving what it matches. The
    /// broker holds one subscription per filter (MQTT's replace rule): the latest request's options.
    ///
    /// # Errors
    ///
    /// [`Error::Subscribe`] for an invalid request; [`Error::Closed`] if the event loop has ended;
    /// [`Error::GaveUp`] if the session stopped trying to connect before the broker answered.
    pub async fn subscribe_many<F: Into<String>>(
        &self,
        filters: impl IntoIterator<Item = (F, QoS)>,
    ) -> Result<Subscription, Error> {
        let filters: Vec<(String, QoS)> = filters
            .into_iter()
            .map(|(filter, qos)| (filter.into(), qos))
            .collect();
        // From here on the queue has a receiver: dropping this future drops it.
        let (receiver, answer) = self.shared.subscribe(&filters)?;
        let granted = self.answer(answer).await?;
        Ok(Subscription { granted, receiver })
    }

    /// Unsubscribes from filters; subscriptions on them stop receiving messages at once (their streams end once
    /// all their filters are gone). [`unsubscribe_with`](Self::unsubscribe_with) reports the code of each filter.
    ///
    /// # Errors
    ///
    /// [`Error::Subscribe`] for an invalid filter; [`Error::Closed`] if the event loop has ended;
    /// [`Error::UnsubscribeRefused`] with the code of the first filter the broker refused (5.0).
    pub async fn unsubscribe(
        &self,
        filters: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<(), Error> {
        let filters: Vec<String> = filters.into_iter().map(Into::into).collect();
        let answer = self.shared.unsubscribe(&filters)?;
        let codes = self.answer(answer).await?;
        match codes.into_iter().find(|code| code.is_failure()) {
            Some(code) => Err(Error::UnsubscribeRefused(code)),
            None => Ok(()),
        }
    }

    /// Every message the client receives from now on, whatever subscription it matches, and those that matched
    /// no subscription yet. Ends with the event loop. Its queue is bounded like a subscription's: read it, or
    /// drop it.
    pub fn messages(&self) -> Messages {
        Messages {
            receiver: self.shared.messages(),
        }
    }

    /// The current state of the connection (once there is one), then every change. Ends with the event loop.
    /// It keeps the latest 64 states: a listener that does not read loses the oldest.
    pub fn states(&self) -> States {
        States {
            receiver: self.shared.states(),
        }
    }

    /// Whether the broker has accepted the current connection.
    pub fn is_connected(&self) -> bool {
        self.shared.core().is_connected()
    }

    /// The subscribe requests the broker has not answered yet (each [`subscribe`](Self::subscribe) or
    /// [`subscribe_many`](Self::subscribe_many) call is one, whatever its number of filters): queued while
    /// disconnected, or sent and waiting for their SUBACK.
    pub fn pending_subscriptions(&self) -> usize {
        self.shared.pending_subscriptions()
    }

    /// Why the latest connection attempt could not be opened (a refused connection, a certificate the TLS
    /// check rejected, a failed WebSocket handshake), kept until the next one fails. Connection states say only
    /// that the attempt failed; this says why.
    pub fn last_transport_error(&self) -> Option<Error> {
        self.shared.core().dispatch.last_transport_error()
    }

    /// The messages this client inherited from its store ([`Options::persistence`](super::Options::persistence))
    /// when it started: those whose `publish` returned in an earlier run and that were not acknowledged then, in
    /// publish order, each with a [`Delivery`] that resolves when the broker acknowledges it (or fails). The old
    /// run's handles are gone: this is how the application learns how those messages end. Each message is given
    /// once: a second call returns none.
    pub fn recovered(&self) -> Vec<(Message, Delivery)> {
        self.shared
            .take_recovered()
            .into_iter()
            .map(|(message, published)| (message, self.delivery(published)))
            .collect()
    }

    /// The session's counters, now.
    pub fn stats(&self) -> Stats {
        self.shared.core().session.stats()
    }

    /// Acknowledges a message received with manual acknowledgement
    /// ([`Options::manual_ack`](super::Options::manual_ack)): its PUBACK or PUBREC goes to the broker once every
    /// message received before it is acknowledged too. Does nothing for QoS 0, without manual acknowledgement,
    /// or for a message of an earlier connection (the broker sends those again).
    pub fn ack(&self, message: &Message) {
        if let Some(token) = message.ack {
            self.shared.ack(token);
        }
    }

    /// Drops the current connection and connects again now (also after the session gave up).
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] if the event loop has ended: after [`disconnect`](Self::disconnect) too, a client stays
    /// ended (unlike paho's `reconnect()` after `disconnect()`); connect again with a new client.
    pub fn reconnect(&self) -> Result<(), Error> {
        self.shared.reconnect()
    }

    /// Disconnects gracefully within `timeout`: waits for the messages in flight and queued to be acknowledged
    /// (for nine tenths of `timeout`), sends DISCONNECT, and ends the event loop. New messages are refused from
    /// the call on. Returns within `timeout` (or a second, if `timeout` is shorter: [`Duration::ZERO`] sends the
    /// DISCONNECT without waiting for acknowledgements), whatever the broker does.
    ///
    /// # Errors
    ///
    /// [`Error::Unacknowledged`] with the number of messages the broker had not acknowledged when the time was up
    /// (or that never went out: disconnected while offline); their deliveries fail with [`Error::Closed`].
    /// [`Error::DisconnectCalledOff`] if a [`reconnect`](Self::reconnect) called the disconnect off first.
    /// [`Error::Timeout`] if the event loop did not finish in time (it does not run, or the connection is stuck).
    pub async fn disconnect(&self, timeout: Duration) -> Result<(), Error> {
        let closed = self.shared.disconnect(timeout);
        disconnected(within(self.sleep, super::disconnect_wait(timeout), closed).await?)
    }

    /// Waits until the broker accepts a connection, for at most `timeout`.
    ///
    /// Returns as soon as the outcome is known: at the first accepted connection, or when a whole round over the
    /// broker list has failed, with the real cause (unless the options ask to keep trying:
    /// [`Options::keep_trying`](super::Options::keep_trying)).
    ///
    /// # Errors
    ///
    /// [`Error::Refused`] with the broker's reason (every 3.1.1 code and 5.0 reason), [`Error::Io`] for a
    /// connection refused or reset, [`Error::Tls`] for a certificate the check rejected or a failed handshake,
    /// [`Error::ConnectionFailed`] for an attempt the broker ended, [`Error::Timeout`] when the broker did not
    /// answer in time, [`Error::GaveUp`] if the session stopped trying, [`Error::Closed`] after a disconnect.
    ///
    /// Listens from the call on, not from the first poll: call it before the event loop runs to see the first
    /// connection's outcome.
    pub fn wait_connected(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), Error>> + Send + use<> {
        let mut states = self.states();
        let client = self.clone();
        let keep_trying = self.shared.core().dispatch.keep_trying;
        async move {
            let mut watch = ConnectWatch::new(keep_trying);
            let outcome = within(client.sleep, timeout, async {
                while let Some(state) = states.next().await {
                    if let Some(outcome) = watch.on_state(state) {
                        return outcome;
                    }
                }
                Err(Error::Closed)
            })
            .await;
            outcome.unwrap_or_else(|_| Err(watch.timed_out()))
        }
    }
}

/// What a graceful disconnect's answer means for its caller. A dropped sender means the loop ended:
/// disconnected too.
pub(super) fn disconnected(
    answer: Result<Result<usize, Error>, oneshot::Canceled>,
) -> Result<(), Error> {
    match answer {
        Ok(Ok(0)) | Err(oneshot::Canceled) => Ok(()),
        Ok(Ok(unacknowledged)) => Err(Error::Unacknowledged(unacknowledged)),
        Ok(Err(error)) => Err(error),
    }
}

/// `future`'s output, or [`Error::Timeout`] after `timeout`.
pub(super) async fn within<T>(
    sleep: Sleep,
    timeout: Duration,
    future: impl Future<Output = T>,
) -> Result<T, Error> {
    match select(pin!(future), sleep(timeout)).await {
        Either::Left((output, _)) => Ok(output),
        Either::Right(_) => Err(Error::Timeout),
    }
}
