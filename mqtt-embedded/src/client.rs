//! The [`Client`] handle: commands from any task, given to the shared session under a short lock.

use core::future::poll_fn;
use core::task::Poll;

use core::marker::PhantomData;

use embassy_sync::blocking_mutex::raw::RawMutex;
use proto::codec::{Publish, QoS, Subscription};
use proto::io::{Clock, Connect};
use proto::session::{Session, SessionState, Stats};
use proto::time::Instant;

use crate::Error;
use crate::runner::{Key, Shared};

/// The handle the application uses: publish, subscribe, unsubscribe, disconnect. Copy it into as many tasks as
/// needed; messages arrive through the [`Runner`](crate::Runner)'s handler. A command changes the session under a
/// short lock and wakes the runner: it never waits for the runner, never interrupts a connection attempt.
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

/// A command whose completion is awaited: one of the [`SLOTS`](crate::SLOTS), freed on drop.
struct Pending<'d, M: RawMutex, C: Clock> {
    shared: &'d Shared<'d, M, C>,
    index: usize,
}

impl<M: RawMutex, C: Clock> Pending<'_, M, C> {
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

impl<M: RawMutex, C: Clock> Drop for Pending<'_, M, C> {
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
pub struct Delivery<'d, M: RawMutex, N: Connect, C: Clock>(
    Option<Pending<'d, M, C>>,
    PhantomData<fn() -> N>,
);

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
    /// Gives the session a command and wakes the runner to act on it.
    fn command<R>(&self, command: impl FnOnce(&mut Session<'d>, Instant) -> R) -> R {
        let now = self.shared.clock.now();
        let result = self.shared.with_session(|session| command(session, now));
        self.shared.wake.signal();
        result
    }

    /// Runs a command that completes with an event carrying the ticket it returns, with a slot reserved for it.
    async fn request(
        &self,
        command: impl FnOnce(&mut Session<'d>, Instant) -> Result<Key, Error>,
    ) -> Result<Pending<'d, M, C>, Error> {
        let index = self.shared.with(|state| {
            let free = state.slots.iter().position(|slot| slot.key == Key::Free)?;
            state.slots.get_mut(free)?.key = Key::Reserved;
            Some(free)
        });
        let pending = Pending {
            shared: self.shared,
            index: index.ok_or(Error::Busy)?,
        };
        // The slot is keyed under the session's lock, before the runner can see the command's outcome.
        let now = self.shared.clock.now();
        let key = self.shared.with_session(|session| {
            let key = command(session, now)?;
            pending.set(key);
            Ok::<_, Error>(key)
        });
        self.shared.wake.signal();
        key?;
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
    /// reconnects. Returns once it is queued; with a flash store
    /// ([`persist::restore`](crate::persist::restore)), once it is stored too, so that it survives a reset.
    ///
    /// # Errors
    ///
    /// [`Error::Publish`] for an invalid message or a full store ([`PublishError::QueueFull`]: nothing was queued,
    /// try again after earlier messages are acknowledged); [`Error::Busy`] when [`SLOTS`](crate::SLOTS) commands
    /// are awaited already.
    ///
    /// [`PublishError::QueueFull`]: crate::PublishError::QueueFull
    pub async fn queue(&self, message: &Publish<'_>) -> Result<Delivery<'d, M, N, C>, Error> {
        #[cfg(feature = "persist")]
        let stored_at = core::cell::Cell::new(None);
        let pending = self
            .request(|session, now| {
                #[cfg(feature = "persist")]
                {
                    // A record is one flash item: a message too large for one is refused before it is queued.
                    let max_record = self.shared.with(|state| state.max_record);
                    let stored = Publish {
                        packet_id: Some(proto::codec::PacketId::MIN),
                        ..*message
                    };
                    let size = proto::codec::Packet::Publish(stored).encoded_len(session.version());
                    crate::persist::check_size(size, max_record)?;
                }
                let ticket = session.publish(message, now)?;
                #[cfg(feature = "persist")]
                stored_at.set(Some(session.noted_mark()));
                Ok(Key::Ticket(ticket))
            })
            .await?;
        #[cfg(feature = "persist")]
        if let Some(mark) = stored_at.get() {
            self.stored(mark).await;
        }
        Ok(Delivery(
            (message.qos != QoS::AtMostOnce).then_some(pending),
            PhantomData,
        ))
    }

    /// The outgoing QoS 1 and 2 messages the session holds, in publish order: after
    /// [`persist::restore`](crate::persist::restore), those it inherited from the flash (`failed` set for one given
    /// up before the reset). Each one's `Published` or `PublishFailed` event, given to the runner's handler, carries
    /// its ticket: that is how the application learns how it ended.
    #[cfg(feature = "persist")]
    pub fn recovered(&self, mut each: impl FnMut(proto::session::persist::Recovered<'_>)) {
        self.shared
            .with_session(|session| session.recovered().for_each(&mut each));
    }

    /// Waits until the store holds every change up to `mark` (feature `persist`).
    #[cfg(feature = "persist")]
    async fn stored(&self, mark: proto::session::persist::PersistMark) {
        let durable = || self.shared.with_session(|s| s.durable_mark() >= mark);
        poll_fn(|cx| {
            if durable() {
                return Poll::Ready(());
            }
            self.shared.with(|state| state.stored.register(cx.waker()));
            // Stored between the check and the registration: not missed.
            match durable() {
                true => Poll::Ready(()),
                false => Poll::Pending,
            }
        })
        .await;
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
        self.command(|session, now| session.connect(now));
    }

    /// Drops the current connection, if any, and opens a new one now.
    pub async fn reconnect(&self) {
        self.command(|session, now| session.reconnect(now));
    }

    /// Whether the broker has accepted the current connection.
    pub fn is_connected(&self) -> bool {
        self.shared.with(|state| state.connected)
    }

    /// The session's counters.
    pub async fn stats(&self) -> Stats {
        self.shared.with_session(|session| session.stats())
    }
}
