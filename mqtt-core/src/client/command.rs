//! The commands of the std clients' handles, on [`Shared`]: each locks the session, gives it the command and the
//! [`Dispatch`](super::Dispatch) what the answer needs, unlocks, wakes the runner, and returns at once. The async
//! [`Client`](super::Client) and mqtt-blocking's client are thin wrappers of these.

use core::time::Duration;
use std::string::String;
use std::sync::Arc;
use std::vec::Vec;

use futures_channel::oneshot;

use super::dispatch::{Delivered, Granted, Route};
use super::queue::Queue;
use super::receiver::{Receiver, StateReceiver};
use super::{ConnectionState, Core, Error, Shared};
use crate::Instant;
use crate::codec::{ProtocolVersion, Publish, QoS, Subscription as Filter, SubscriptionId};
use crate::session::Ticket;

/// Resolves with the broker's acknowledgement of a QoS 1 or 2 message.
pub type Acknowledgement = oneshot::Receiver<Result<(), Error>>;

/// Resolves with the broker's answer to a SUBSCRIBE: per filter, the granted QoS or the refusal.
pub type SubAck = oneshot::Receiver<Result<Granted, Error>>;

/// Resolves with the broker's answer to an UNSUBSCRIBE.
pub type UnsubAck = oneshot::Receiver<Result<(), Error>>;

impl Shared {
    /// Queues a message; at QoS 1 and 2, the acknowledgement to wait for.
    ///
    /// # Errors
    ///
    /// [`Error::Publish`] for an invalid message or a full queue; [`Error::Closed`] once the client is finished.
    pub fn publish(&self, message: &Publish<'_>) -> Result<Option<Acknowledgement>, Error> {
        let now = self.now();
        {
            let mut core = self.core();
            let done = core.publish(message, now)?;
            self.persist_published(&mut core, message.qos)?;
            drop(core);
            self.wake();
            Ok(done)
        }
    }

    /// Queues a SUBSCRIBE; the receiver gets what its filters match from now on.
    ///
    /// # Errors
    ///
    /// [`Error::Subscribe`] for an invalid request; [`Error::Closed`] once the client is finished.
    pub fn subscribe(
        self: &Arc<Self>,
        filters: &[(String, QoS)],
    ) -> Result<(Receiver, SubAck), Error> {
        let now = self.now();
        let (queue, granted) = self.core().subscribe(filters, now)?;
        self.wake();
        Ok((Receiver::new(queue, self.clone()), granted))
    }

    /// Queues an UNSUBSCRIBE; the filters stop matching now.
    ///
    /// # Errors
    ///
    /// [`Error::Subscribe`] for an invalid filter; [`Error::Closed`] once the client is finished.
    pub fn unsubscribe(&self, filters: &[String]) -> Result<UnsubAck, Error> {
        let now = self.now();
        let answer = self.core().unsubscribe(filters, now)?;
        self.wake();
        Ok(answer)
    }

    /// A receiver of every message from now on (and of those no subscription took yet).
    pub fn messages(self: &Arc<Self>) -> Receiver {
        let queue = self.core().listen_messages();
        self.wake();
        Receiver::new(queue, self.clone())
    }

    /// A receiver of connection states: the current one (once there is one), then every change.
    pub fn states(&self) -> StateReceiver {
        StateReceiver::new(self.core().listen_states())
    }

    /// Drops the connection and connects again now (also after the session gave up).
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] once the client is finished.
    pub fn reconnect(&self) -> Result<(), Error> {
        let now = self.now();
        {
            let mut core = self.core();
            core.open()?;
            core.reconnect(now);
        }
        self.wake();
        Ok(())
    }

    /// Starts a graceful disconnect that takes at most `timeout`: the session waits for the broker's
    /// acknowledgements for nine tenths of it, then sends DISCONNECT (the last tenth is for that write). Resolves
    /// once the session is closed, with how many messages were still unacknowledged (they were not delivered).
    pub fn disconnect(&self, timeout: Duration) -> oneshot::Receiver<usize> {
        let now = self.now();
        let closed = self.core().disconnect(timeout.mul_f64(0.9), now);
        self.wake();
        closed
    }
}

impl Core {
    /// [`Error::Closed`] once the client disconnected or its event loop ended.
    pub(crate) fn open(&self) -> Result<(), Error> {
        if self.dispatch.is_finished() {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// Queues a message; at QoS 1 and 2, the acknowledgement to wait for.
    pub(crate) fn publish(
        &mut self,
        message: &Publish<'_>,
        now: Instant,
    ) -> Result<Option<Acknowledgement>, Error> {
        self.open()?;
        let ticket = self.session.publish(message, now).map_err(Error::Publish)?;
        if message.qos == QoS::AtMostOnce {
            return Ok(None);
        }
        let (done, acknowledged) = oneshot::channel();
        self.dispatch.publishes.insert(ticket, done);
        Ok(Some(acknowledged))
    }

    /// Queues a SUBSCRIBE and routes what its filters match to a new queue from now on; resolves with the SUBACK.
    pub(crate) fn subscribe(
        &mut self,
        filters: &[(String, QoS)],
        now: Instant,
    ) -> Result<(Arc<Queue<Delivered>>, SubAck), Error> {
        self.open()?;
        let requested: Vec<Filter<'_>> = filters.iter().map(|(f, q)| Filter::new(f, *q)).collect();
        let dispatch = &mut self.dispatch;
        // In 5.0 each request carries a Subscription Identifier, so that a message the broker sends once per
        // matching subscription reaches each subscription once. Without room for it, subscribe without.
        let id = SubscriptionId::new(dispatch.next_subscription_id)
            .filter(|_| self.session.version() == ProtocolVersion::V5);
        let with_id = id.and_then(|id| {
            self.session
                .subscribe_with_id(&requested, id, now)
                .ok()
                .map(|ticket| (ticket, Some(id.get())))
        });
        let (ticket, id) = match with_id {
            Some(ok) => ok,
            None => (
                self.session
                    .subscribe(&requested, now)
                    .map_err(Error::Subscribe)?,
                None,
            ),
        };
        if id.is_some() {
            dispatch.next_subscription_id = dispatch.next_subscription_id % SubscriptionId::MAX + 1;
        }
        let queue = Arc::new(Queue::new(dispatch.capacity));
        let names: Vec<String> = filters.iter().map(|(f, _)| f.clone()).collect();
        dispatch.adopt_orphans(&queue, |message| {
            names
                .iter()
                .any(|f| crate::topic::matches(f, &message.topic))
        });
        dispatch.routes.push(Route {
            filters: names,
            id,
            ticket,
            queue: queue.clone(),
        });
        let (done, granted) = oneshot::channel();
        dispatch.subscribes.insert(ticket, done);
        Ok((queue, granted))
    }

    /// Queues an UNSUBSCRIBE; the filters stop matching now. Resolves with the UNSUBACK.
    pub(crate) fn unsubscribe(
        &mut self,
        filters: &[String],
        now: Instant,
    ) -> Result<oneshot::Receiver<Result<(), Error>>, Error> {
        self.open()?;
        let names: Vec<&str> = filters.iter().map(String::as_str).collect();
        let ticket: Ticket = self
            .session
            .unsubscribe(&names, now)
            .map_err(Error::Subscribe)?;
        let dispatch = &mut self.dispatch;
        for route in &mut dispatch.routes {
            route.filters.retain(|f| !filters.contains(f));
        }
        dispatch.routes.retain(|route| {
            if route.filters.is_empty() {
                route.queue.close();
            }
            !route.filters.is_empty()
        });
        let (done, answer) = oneshot::channel();
        dispatch.unsubscribes.insert(ticket, done);
        Ok(answer)
    }

    /// A queue that gets every message from now on (and those no subscription took yet).
    pub(crate) fn listen_messages(&mut self) -> Arc<Queue<Delivered>> {
        let queue = Arc::new(Queue::new(self.dispatch.capacity));
        if self.dispatch.is_finished() {
            queue.close();
            return queue;
        }
        self.dispatch.adopt_orphans(&queue, |_| true);
        self.dispatch.listeners.push(queue.clone());
        queue
    }

    /// A queue of connection states: the current one (once there is one), then every change.
    pub(crate) fn listen_states(&mut self) -> Arc<Queue<ConnectionState>> {
        let queue = Arc::new(Queue::new(super::dispatch::STATE_QUEUE));
        if let Some(state) = &self.dispatch.last_state {
            queue.push_dropping_oldest(state.clone());
        }
        if self.dispatch.is_finished() {
            queue.close();
            return queue;
        }
        self.dispatch.state_listeners.push(queue.clone());
        queue
    }

    /// Drops the connection and connects again now; listeners from now on wait for the new attempt's outcome.
    pub(crate) fn reconnect(&mut self, now: Instant) {
        self.dispatch.last_state = None;
        self.session.reconnect(now);
    }

    /// Starts a graceful disconnect; resolves once the session is closed.
    pub(crate) fn disconnect(&mut self, wait: Duration, now: Instant) -> oneshot::Receiver<usize> {
        let (done, closed) = oneshot::channel();
        if self.dispatch.is_finished() {
            let _ = done.send(0);
            return closed;
        }
        self.dispatch.disconnected.push(done);
        self.session.disconnect_within(wait, now);
        if self.session.state() == crate::SessionState::Closed {
            self.dispatch.finish();
        }
        closed
    }

    /// Gives the session the acknowledgements that fell due while it was not at hand.
    pub(crate) fn flush_acks(&mut self, now: Instant) {
        for token in self.dispatch.pending_acks.drain(..) {
            self.session.ack(token, now);
        }
    }
}
