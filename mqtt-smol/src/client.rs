//! The cloneable [`Client`] handle: commands go to the event loop through a channel, answers come back through
//! one-shot channels.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::channel::{mpsc, oneshot};
use futures::{Stream, StreamExt};
use proto::codec::QoS;
use proto::session::{ConnectRefusal, Disconnection, Stats};

use crate::Error;

/// A message received from the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The topic it was published to.
    pub topic: String,
    /// Its payload.
    pub payload: Bytes,
    /// The QoS it was delivered with.
    pub qos: QoS,
    /// Whether it is a retained message.
    pub retain: bool,
    /// 5.0 user properties, in order.
    pub user_properties: Vec<(String, String)>,
}

/// A change of the connection, from [`Client::states`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// The broker accepted the connection.
    Connected {
        /// The broker resumed the session.
        session_present: bool,
    },
    /// A connection attempt failed or an established connection ended; the reconnect policy applies.
    Lost(Disconnection),
    /// The broker refused the connection.
    Refused(ConnectRefusal),
    /// The next attempt is scheduled.
    Reconnecting {
        /// Attempts since the last successful connection.
        attempt: u32,
        /// Wait before it.
        delay: Duration,
    },
    /// The session stopped trying (permanent refusal or attempts exhausted).
    GaveUp(Disconnection),
    /// Disconnected by the application.
    Disconnected,
}

/// What the event loop shares with every handle.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) connected: bool,
    pub(crate) stats: Stats,
    /// Why the latest connection attempt could not be opened (refused, TLS, WebSocket handshake).
    pub(crate) last_transport_error: Option<Error>,
    pub(crate) state_listeners: Vec<mpsc::UnboundedSender<ConnectionState>>,
    pub(crate) message_listeners: Vec<mpsc::UnboundedSender<Message>>,
}

/// Resolves with the broker's acknowledgement of a QoS 1 or 2 message.
pub(crate) type Acknowledgement = oneshot::Receiver<Result<(), Error>>;

/// A request to the event loop.
pub(crate) enum Command {
    Publish {
        topic: String,
        payload: Bytes,
        qos: QoS,
        retain: bool,
        accepted: oneshot::Sender<Result<Option<Acknowledgement>, Error>>,
    },
    Subscribe {
        filters: Vec<(String, QoS)>,
        sink: mpsc::UnboundedSender<Message>,
        done: oneshot::Sender<Result<Vec<Result<QoS, Error>>, Error>>,
    },
    Unsubscribe {
        filters: Vec<String>,
        done: oneshot::Sender<Result<(), Error>>,
    },
    Disconnect {
        done: oneshot::Sender<()>,
    },
    Reconnect,
}

/// A cloneable handle to a connection run by an [`EventLoop`](crate::EventLoop).
///
/// Every method works while disconnected too: messages are queued (up to the configured memory) and go out after
/// the next connection.
#[derive(Debug, Clone)]
pub struct Client {
    pub(crate) commands: mpsc::UnboundedSender<Command>,
    pub(crate) shared: Arc<Mutex<Shared>>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Publish { .. } => "Publish",
            Self::Subscribe { .. } => "Subscribe",
            Self::Unsubscribe { .. } => "Unsubscribe",
            Self::Disconnect { .. } => "Disconnect",
            Self::Reconnect => "Reconnect",
        })
    }
}

/// The completion of a published message: resolves when the broker acknowledged it (PUBACK, or PUBCOMP for
/// QoS 2), at once for QoS 0.
#[derive(Debug)]
#[must_use = "a Delivery does nothing unless awaited; drop it if the acknowledgement does not matter"]
pub struct Delivery {
    done: Option<Acknowledgement>,
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
        crate::clock::timeout(timeout, self.wait())
            .await
            .unwrap_or(Err(Error::Timeout))
    }
}

/// Messages matching one subscription's filters, as a [`Stream`].
#[derive(Debug)]
pub struct Subscription {
    granted: Vec<Result<QoS, Error>>,
    messages: mpsc::UnboundedReceiver<Message>,
}

impl Subscription {
    /// Per filter, the QoS the broker granted, or why it refused it.
    pub fn granted(&self) -> &[Result<QoS, Error>] {
        &self.granted
    }

    /// The next message, or `None` once the event loop has ended.
    pub async fn recv(&mut self) -> Option<Message> {
        self.messages.next().await
    }
}

impl Stream for Subscription {
    type Item = Message;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Message>> {
        self.messages.poll_next_unpin(cx)
    }
}

impl Client {
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
        Ok(Delivery { done })
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
    /// refusal; the [`Subscription`] yields messages matching any granted filter.
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
            sink,
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

    /// Every message the client receives, whatever subscription it matches.
    pub fn messages(&self) -> impl Stream<Item = Message> + Send + Unpin + use<> {
        let (sink, messages) = mpsc::unbounded();
        self.lock().message_listeners.push(sink);
        messages
    }

    /// Every change of the connection from now on.
    pub fn states(&self) -> impl Stream<Item = ConnectionState> + Send + Unpin + use<> {
        let (sink, states) = mpsc::unbounded();
        self.lock().state_listeners.push(sink);
        states
    }

    /// Whether the broker has accepted the current connection.
    pub fn is_connected(&self) -> bool {
        self.lock().connected
    }

    /// Why the latest connection attempt could not be opened (a refused connection, a certificate the TLS
    /// check rejected, a failed WebSocket handshake), kept until the next one fails. Connection states say only
    /// that the attempt failed; this says why.
    pub fn last_transport_error(&self) -> Option<Error> {
        self.lock().last_transport_error.clone()
    }

    /// The session's counters.
    pub fn stats(&self) -> Stats {
        self.lock().stats
    }

    /// Drops the current connection and connects again now.
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
        match crate::clock::timeout(timeout, answer).await {
            Ok(_) => Ok(()),
            Err(_) => Err(Error::Timeout),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        // A panic while holding the lock cannot leave `Shared` inconsistent: keep going with its data.
        self.shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
