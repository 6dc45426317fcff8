//! The [`Client`] handle: commands from any task, queued into the session while the runner pauses.

use core::future::poll_fn;
use core::task::Poll;

use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::mutex::MutexGuard;
use proto::codec::{Publish, QoS, Subscription};
use proto::driver::Driver;
use proto::io::{Clock, Connect};
use proto::session::{Session, SessionState, Stats};
use proto::time::Instant;

use crate::Error;
use crate::runner::{Key, Shared};

/// The handle the application uses: publish, subscribe, unsubscribe, disconnect. Copy it into as many tasks as
/// needed; messages arrive through the [`Runner`](crate::Runner)'s handler.
pub struct Client<'d, M: RawMutex, N: Connect, C: Clock> {
    pub(crate) shared: &'d Shared<'d, M, N, C>,
}

impl<M: RawMutex, N: Connect, C: Clock> Clone for Client<'_, M, N, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M: RawMutex, N: Connect, C: Clock> Copy for Client<'_, M, N, C> {}

/// Exclusive use of the driver; the runner resumes when it is dropped.
struct Access<'d, M: RawMutex, N: Connect, C: Clock> {
    // Dropped first: the driver is free before the runner is told so.
    driver: MutexGuard<'d, M, Driver<'d, N, C>>,
    _busy: Busy<'d, M, N, C>,
}

struct Busy<'d, M: RawMutex, N: Connect, C: Clock>(&'d Shared<'d, M, N, C>);

impl<M: RawMutex, N: Connect, C: Clock> Drop for Busy<'_, M, N, C> {
    fn drop(&mut self) {
        self.0.with(|state| state.busy -= 1);
        self.0.turn.signal();
    }
}

/// A command whose completion is awaited: one of the [`SLOTS`](crate::SLOTS), freed on drop.
struct Pending<'d, M: RawMutex, N: Connect, C: Clock> {
    shared: &'d Shared<'d, M, N, C>,
    index: usize,
}

impl<M: RawMutex, N: Connect, C: Clock> Pending<'_, M, N, C> {
    fn set(&self, key: Key) {
        self.shared
            .with(|state| state.slots.get_mut(self.index).map(|slot| slot.key = key));
    }

    async fn wait(self) -> Result<QoS, Error> {
        poll_fn(|cx| {
            self.shared
                .with(|state| match state.slots.get_mut(self.index) {
                    Some(slot) => match slot.outcome.take() {
                        Some(outcome) => Poll::Ready(outcome),
                        None => {
                            slot.register(cx.waker());
                            Poll::Pending
                        }
                    },
                    None => Poll::Ready(Err(Error::Closed)),
                })
        })
        .await
    }
}

impl<M: RawMutex, N: Connect, C: Clock> Drop for Pending<'_, M, N, C> {
    fn drop(&mut self) {
        self.shared.with(|state| {
            if let Some(slot) = state.slots.get_mut(self.index) {
                slot.key = Key::Free;
                slot.outcome = None;
            }
        });
    }
}

/// A queued message: [`wait`](Self::wait) for its acknowledgement, or drop it to stop caring.
#[must_use = "a delivery does nothing unless awaited; drop it to publish without waiting"]
pub struct Delivery<'d, M: RawMutex, N: Connect, C: Clock>(Option<Pending<'d, M, N, C>>);

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
        match self.0 {
            Some(pending) => pending.wait().await.map(drop),
            None => Ok(()),
        }
    }
}

impl<'d, M: RawMutex, N: Connect, C: Clock> Client<'d, M, N, C> {
    /// Pauses the runner and takes the driver.
    async fn access(&self) -> Access<'d, M, N, C> {
        self.shared.with(|state| state.busy += 1);
        let busy = Busy(self.shared);
        self.shared.wake.signal();
        Access {
            driver: self.shared.driver.lock().await,
            _busy: busy,
        }
    }

    /// Runs a command that completes with an event carrying the ticket it returns, with a slot reserved for it.
    async fn request(
        &self,
        command: impl FnOnce(&mut Session<'d>, Instant) -> Result<Key, Error>,
    ) -> Result<Pending<'d, M, N, C>, Error> {
        let mut access = self.access().await;
        let index = self.shared.with(|state| {
            let free = state.slots.iter().position(|slot| slot.key == Key::Free)?;
            state.slots.get_mut(free)?.key = Key::Reserved;
            Some(free)
        });
        let pending = Pending {
            shared: self.shared,
            index: index.ok_or(Error::Busy)?,
        };
        let now = access.driver.now();
        pending.set(command(access.driver.session_mut(), now)?);
        Ok(pending)
    }

    /// Publishes `payload` to `topic` and waits until the broker acknowledged it (QoS 0: until it is queued).
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
    /// reconnects. Returns once it is queued.
    ///
    /// # Errors
    ///
    /// [`Error::Publish`] for an invalid message or a full store ([`PublishError::QueueFull`]: nothing was queued,
    /// try again after earlier messages are acknowledged); [`Error::Busy`] when [`SLOTS`](crate::SLOTS) commands
    /// are awaited already.
    ///
    /// [`PublishError::QueueFull`]: crate::PublishError::QueueFull
    pub async fn queue(&self, message: &Publish<'_>) -> Result<Delivery<'d, M, N, C>, Error> {
        let pending = self
            .request(|session, now| Ok(Key::Ticket(session.publish(message, now)?)))
            .await?;
        Ok(Delivery(
            (message.qos != QoS::AtMostOnce).then_some(pending),
        ))
    }

    /// Subscribes to one or more filters in one SUBSCRIBE and waits for the SUBACK. Returns the lowest QoS the
    /// broker granted. The subscriptions are restored if a broker loses the session.
    ///
    /// # Errors
    ///
    /// [`Error::Subscribe`] for an invalid request or a full subscription table; [`Error::Refused`] with the code
    /// of the first filter the broker refused; [`Error::Busy`], [`Error::GaveUp`], [`Error::Closed`].
    pub async fn subscribe(&self, filters: &[Subscription<'_>]) -> Result<QoS, Error> {
        let pending = self
            .request(|session, now| Ok(Key::Ticket(session.subscribe(filters, now)?)))
            .await?;
        pending.wait().await
    }

    /// Unsubscribes from one or more filters and waits for the UNSUBACK.
    ///
    /// # Errors
    ///
    /// As [`subscribe`](Self::subscribe).
    pub async fn unsubscribe(&self, filters: &[&str]) -> Result<(), Error> {
        let pending = self
            .request(|session, now| Ok(Key::Ticket(session.unsubscribe(filters, now)?)))
            .await?;
        pending.wait().await.map(drop)
    }

    /// Disconnects gracefully (waits for outgoing messages to be acknowledged, up to the configured disconnect
    /// timeout, then sends DISCONNECT) and returns when the connection is closed. Messages not acknowledged stay
    /// queued for [`connect`](Self::connect).
    ///
    /// # Errors
    ///
    /// [`Error::Busy`] when [`SLOTS`](crate::SLOTS) commands are awaited already; [`Error::Closed`] before the
    /// runner started.
    pub async fn disconnect(&self) -> Result<(), Error> {
        let pending = self
            .request(|session, now| match session.state() {
                SessionState::Idle => Err(Error::Closed),
                _ => {
                    session.disconnect(now);
                    Ok(Key::Disconnect)
                }
            })
            .await?;
        pending.wait().await.map(drop)
    }

    /// Starts connecting again after [`disconnect`](Self::disconnect) or after the session gave up; does nothing
    /// otherwise.
    pub async fn connect(&self) {
        let mut access = self.access().await;
        let now = access.driver.now();
        access.driver.session_mut().connect(now);
    }

    /// Drops the current connection, if any, and opens a new one now.
    pub async fn reconnect(&self) {
        let mut access = self.access().await;
        let now = access.driver.now();
        access.driver.session_mut().reconnect(now);
    }

    /// Whether the broker has accepted the current connection.
    pub fn is_connected(&self) -> bool {
        self.shared.with(|state| state.connected)
    }

    /// The session's counters.
    pub async fn stats(&self) -> Stats {
        self.access().await.driver.session().stats()
    }
}
