//! The cloneable async [`Client`] handle: commands go to the [`EventLoop`](super::EventLoop) through a channel,
//! answers come back through one-shot channels.

use core::pin::{Pin, pin};
use core::task::{Context, Poll};
use core::time::Duration;
use std::boxed::Box;
use std::string::String;
use std::sync::Arc;

use bytes::Bytes;
use futures_channel::{mpsc, oneshot};
use futures_util::future::{Either, select};
use futures_util::{Stream, StreamExt};

use super::dispatch::{Acknowledgement, Granted};
use super::{Command, ConnectionState, Error, Message, Shared};
use crate::codec::QoS;
use crate::session::{Disconnection, Stats};

/// A timer of the runtime: a future that completes after the duration.
pub(crate) type Sleep = fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// A cloneable handle to a connection run by an [`EventLoop`](super::EventLoop).
///
/// Every method works while disconnected too: messages are queued (up to the configured memory) and go out after
/// the next connection.
#[derive(Clone)]
pub struct Client {
    commands: mpsc::UnboundedSender<Command>,
    shared: Arc<Shared>,
    sleep: Sleep,
}

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field("connected", &self.shared.is_connected())
            .finish_non_exhaustive()
    }
}

/// The completion of a published message: resolves when the broker acknowledged it (PUBACK, or PUBCOMP for
/// QoS 2), at once for QoS 0.
#[derive(Debug)]
#[must_use = "a Delivery does nothing unless awaited; drop it if the acknowledgement does not matter"]
pub struct Delivery {
    done: Option<Acknowledgement>,
    sleep: Sleep,
}

impl Delivery {
    /// Waits for the acknowledgement.
    ///
    /// # Errors
    ///
    /// [`Error::PublishFailed`] if the broker refused the message or lost it with the session (by configuration),
    /// [`Error::Closed`] if the event loop ended first.
    pub async fn wait(self) -> Result<(), Error> {
        match self.done {
            None => Ok(()),
            Some(done) => done.await.unwrap_or(Err(Error::Closed)),
        }
    }

    /// Waits at most `timeout` for the acknowledgement. The message stays queued after a timeout.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when the time is up, otherwise as [`wait`](Self::wait).
    pub async fn wait_timeout(self, timeout: Duration) -> Result<(), Error> {
        let sleep = self.sleep;
        within(sleep, timeout, self.wait()).await?
    }
}

/// Messages matching one subscription's filters, as a [`Stream`].
#[derive(Debug)]
pub struct Subscription {
    granted: Granted,
    messages: mpsc::UnboundedReceiver<Message>,
}

impl Subscription {
    /// Per filter, the QoS the broker granted, or why it refused it.
    pub fn granted(&self) -> &[Result<QoS, Error>] {
        &self.granted
    }

    /// The next message, or `None` once the event loop has ended or the filters were unsubscribed.
    pub async fn recv(&mut self) -> Option<Message> {
        self.messages.next().await
    }
}

impl Stream for Subscription {
    type Item = Message;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.messages.poll_next_unpin(cx)
    }
}

impl Client {
    pub(crate) fn new(
        commands: mpsc::UnboundedSender<Command>,
        shared: Arc<Shared>,
        sleep: Sleep,
    ) -> Self {
        Self {
            commands,
            shared,
            sleep,
        }
    }

    fn send(&self, command: Command) -> Result<(), Error> {
        self.commands
            .unbounded_send(command)
            .map_err(|_| Error::Closed)
    }

    /// Publishes a message. Returns once the session has accepted it (queued, or in flight); await the
    /// [`Delivery`] for the broker's acknowledgement.
    ///
    /// # Errors
    ///
    /// [`Error::Publish`] for an invalid topic, a message too large or a full queue (nothing is dropped: retry
    /// later); [`Error::Closed`] if the event loop has ended.
    pub async fn publish(
        &self,
        topic: impl Into<String>,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
    ) -> Result<Delivery, Error> {
        let (accepted, answer) = oneshot::channel();
        self.send(Command::Publish {
            topic: topic.into(),
            payload: payload.into(),
            qos,
            retain,
            accepted,
        })?;
        let done = answer.await.map_err(|_| Error::Closed)??;
        Ok(Delivery {
            done,
            sleep: self.sleep,
        })
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

    /// Subscribes to several filters in one request. The result reports, per filter, the granted QoS or the
    /// refusal; the [`Subscription`] yields messages matching any granted filter, each once.
    ///
    /// # Errors
    ///
    /// [`Error::Subscribe`] for an invalid request; [`Error::Closed`] if the event loop has ended.
    pub async fn subscribe_many(
        &self,
        filters: impl IntoIterator<Item = (String, QoS)>,
    ) -> Result<Subscription, Error> {
        let (sink, messages) = mpsc::unbounded();
        let (done, answer) = oneshot::channel();
        self.send(Command::Subscribe {
            filters: filters.into_iter().collect(),
            sink: Box::new(move |message| sink.unbounded_send(message.clone()).is_ok()),
            done,
        })?;
        let granted = answer.await.map_err(|_| Error::Closed)??;
        Ok(Subscription { granted, messages })
    }

    /// Unsubscribes from filters; subscriptions on them stop receiving messages.
    ///
    /// # Errors
    ///
    /// [`Error::Subscribe`] for an invalid filter; [`Error::Closed`] if the event loop has ended.
    pub async fn unsubscribe(
        &self,
        filters: impl IntoIterator<Item = String>,
    ) -> Result<(), Error> {
        let (done, answer) = oneshot::channel();
        self.send(Command::Unsubscribe {
            filters: filters.into_iter().collect(),
            done,
        })?;
        answer.await.map_err(|_| Error::Closed)?
    }

    /// Every message the client receives from now on, whatever subscription it matches. Ends with the event loop.
    pub fn messages(&self) -> impl Stream<Item = Message> + Send + Unpin + use<> {
        let (sink, messages) = mpsc::unbounded();
        // If the loop has ended, the sink is dropped with the command and the stream ends at once.
        let _ = self.send(Command::Messages(Box::new(move |message| {
            sink.unbounded_send(message.clone()).is_ok()
        })));
        messages
    }

    /// The current state of the connection (once there is one), then every change. Ends with the event loop.
    pub fn states(&self) -> impl Stream<Item = ConnectionState> + Send + Unpin + use<> {
        let (sink, states) = mpsc::unbounded();
        let _ = self.send(Command::States(Box::new(move |state| {
            sink.unbounded_send(state).is_ok()
        })));
        states
    }

    /// Whether the broker has accepted the current connection.
    pub fn is_connected(&self) -> bool {
        self.shared.is_connected()
    }

    /// Why the latest connection attempt could not be opened (a refused connection, a certificate the TLS
    /// check rejected, a failed WebSocket handshake), kept until the next one fails. Connection states say only
    /// that the attempt failed; this says why.
    pub fn last_transport_error(&self) -> Option<Error> {
        self.shared.last_transport_error()
    }

    /// The session's counters, as the event loop left them after its latest wake (it owns the session).
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Drops the current connection and connects again now (also after the session gave up).
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] if the event loop has ended.
    pub fn reconnect(&self) -> Result<(), Error> {
        self.send(Command::Reconnect)
    }

    /// Disconnects gracefully: waits for queued messages to be acknowledged (up to the session's disconnect
    /// timeout), sends DISCONNECT, and ends the event loop; gives up waiting after `timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] if the event loop did not finish in time.
    pub async fn disconnect(&self, timeout: Duration) -> Result<(), Error> {
        let (done, answer) = oneshot::channel();
        if self.send(Command::Disconnect { done }).is_err() {
            return Ok(());
        }
        // A dropped sender means the loop ended: disconnected too.
        within(self.sleep, timeout, answer).await.map(drop)
    }

    /// Waits until the broker accepts a connection, for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Refused`] if the broker refused the credentials, [`Error::GaveUp`] if the session stopped trying;
    /// when no connection succeeded in time, the error of the last attempt (for example [`Error::Io`] for a
    /// refused connection, or [`Error::Tls`] for a certificate the check rejected), or else [`Error::Timeout`].
    ///
    /// Listens from the call on, not from the first poll: call it before the event loop runs to see the first
    /// connection's outcome.
    pub fn wait_connected(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), Error>> + Send + use<> {
        let mut states = self.states();
        let client = self.clone();
        async move { client.connected_within(&mut states, timeout).await }
    }

    async fn connected_within(
        &self,
        states: &mut (impl Stream<Item = ConnectionState> + Unpin),
        timeout: Duration,
    ) -> Result<(), Error> {
        let outcome = within(self.sleep, timeout, async {
            while let Some(state) = states.next().await {
                match state {
                    ConnectionState::Connected { .. } => return Ok(()),
                    ConnectionState::Refused(refusal)
                    | ConnectionState::GaveUp(Disconnection::Refused(refusal))
                        if refusal.is_auth_failure() =>
                    {
                        return Err(Error::Refused(refusal));
                    }
                    ConnectionState::GaveUp(reason) => return Err(Error::GaveUp(reason)),
                    _ => {}
                }
            }
            Err(Error::Closed)
        })
        .await;
        // Out of time: say why the attempts failed when the transport knows.
        outcome.unwrap_or_else(|_| Err(self.last_transport_error().unwrap_or(Error::Timeout)))
    }
}

/// `future`'s output, or [`Error::Timeout`] after `timeout`.
async fn within<T>(
    sleep: Sleep,
    timeout: Duration,
    future: impl Future<Output = T>,
) -> Result<T, Error> {
    match select(pin!(future), sleep(timeout)).await {
        Either::Left((output, _)) => Ok(output),
        Either::Right(_) => Err(Error::Timeout),
    }
}
