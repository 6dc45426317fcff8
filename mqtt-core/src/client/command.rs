//! The commands of the std clients' handles, on [`Shared`]: each locks the session, gives it the command and the
//! [`Dispatch`](super::Dispatch) what the answer needs, unlocks, wakes the runner, and returns at once. The async
//! [`Client`](super::Client) and mqtt-blocking's client are thin wrappers of these.

use core::task::{Context, Poll};
use core::time::Duration;
use std::borrow::ToOwned;
use std::string::String;
use std::sync::Arc;
use std::vec::Vec;

use bytes::Bytes;
use futures_channel::oneshot;

use super::dispatch::{AckRef, Delivered, Granted, Route};
use super::exchange::Inbox;
use super::queue::Queue;
use super::receiver::{Receiver, StateReceiver};
use super::v5::{
    DisconnectOptions, LastReason, ServerInfo, SubscribeRequest, SubscriptionIdChoice,
    UnsubscribeRequest,
};
use super::{ConnectionState, Core, Error, Message, Shared};
use crate::Instant;
use crate::codec::{
    List, ProtocolVersion, Publish, QoS, ReasonCode, SubscribeProperties, Subscription as Filter,
    SubscriptionId, UnsubscribeProperties, UserProperty,
};
use crate::session::Ticket;

/// Resolves with the broker's acknowledgement of a QoS 1 or 2 message.
pub type Acknowledgement = oneshot::Receiver<Result<(), Error>>;

/// A message the session accepted: its id, and at QoS 1 and 2 the acknowledgement to wait for.
#[derive(Debug)]
pub struct Published {
    /// Unique over the client's life, in the order the session accepted the messages (from 1), at every QoS:
    /// not the MQTT packet identifier, which is reused. [`Delivery::id`](super::Delivery::id) gives it.
    pub id: u64,
    /// Resolves with the broker's acknowledgement (QoS 1 and 2); `None` at QoS 0.
    pub done: Option<Acknowledgement>,
}

/// Resolves when a graceful disconnect ended: with the number of messages the broker had not acknowledged, or
/// [`Error::DisconnectCalledOff`] if a reconnect called it off. A dropped sender means the runner ended.
pub type Disconnected = oneshot::Receiver<Result<usize, Error>>;

/// Resolves with the broker's answer to a SUBSCRIBE: per filter, the granted QoS or the refusal.
pub type SubAck = oneshot::Receiver<Result<Granted, Error>>;

/// Resolves with the broker's answer to an UNSUBSCRIBE: per filter, its reason code (5.0: Success, No
/// subscription existed, or a refusal; 3.1.1: Success for every filter).
pub type UnsubAck = oneshot::Receiver<Result<Vec<ReasonCode>, Error>>;

impl Shared {
    /// Queues a message; at QoS 1 and 2, the acknowledgement to wait for.
    ///
    /// # Errors
    ///
    /// [`Error::Publish`] for an invalid message or a full queue; [`Error::Closed`] once the client is finished.
    pub fn publish(&self, message: &Publish<'_>) -> Result<Published, Error> {
        let now = self.now();
        {
            let mut core = self.core();
            let done = core.publish(message, now).map_err(|e| core.refusal(e))?;
            self.persist_published(&mut core, message.qos)?;
            drop(core);
            self.wake();
            Ok(done)
        }
    }

    /// Queues a message, or, while the outgoing queue is full, registers `cx`'s waker to be woken once a message
    /// left the queue (or the client finished) and returns `Pending`: the backpressure of
    /// [`Client::publish_when_room`](super::Client::publish_when_room).
    ///
    /// # Errors
    ///
    /// As [`publish`](Self::publish), except for the full queue.
    pub fn poll_publish(
        &self,
        message: &Publish<'_>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Published, Error>> {
        let now = self.now();
        let mut core = self.core();
        match core.publish(message, now) {
            Err(Error::Publish(crate::PublishError::QueueFull)) => {
                let queued = core.session.queued();
                core.dispatch.room.wait(cx.waker(), queued);
                Poll::Pending
            }
            Err(error) => Poll::Ready(Err(error)),
            Ok(done) => {
                let stored = self.persist_published(&mut core, message.qos);
                drop(core);
                self.wake();
                Poll::Ready(stored.map(|()| done))
            }
        }
    }

    /// [`poll_publish`](Self::poll_publish) of a message with its 5.0 properties.
    ///
    /// # Errors
    ///
    /// As [`publish_message`](Self::publish_message), except for the full queue.
    pub fn poll_publish_message(
        &self,
        message: &Message,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Published, Error>> {
        message.with_publish(|publish| self.poll_publish(publish, cx))
    }

    /// Queues a message with its 5.0 properties; at QoS 1 and 2, the acknowledgement to wait for.
    ///
    /// # Errors
    ///
    /// As [`publish`](Self::publish).
    pub fn publish_message(&self, message: &Message) -> Result<Published, Error> {
        message.with_publish(|publish| self.publish(publish))
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
        let mut request = SubscribeRequest::new();
        request.filters = filters
            .iter()
            .map(|(f, q)| (f.clone(), *q).into())
            .collect();
        self.subscribe_request(&request)
    }

    /// Queues a SUBSCRIBE with options per filter, a chosen Subscription Identifier and user properties; the
    /// receiver gets what its filters match from now on.
    ///
    /// # Errors
    ///
    /// [`Error::Subscribe`] for an invalid request (options or properties on a 3.1.1 connection, No Local on a
    /// shared subscription...); [`Error::Closed`] once the client is finished.
    pub fn subscribe_request(
        self: &Arc<Self>,
        request: &SubscribeRequest,
    ) -> Result<(Receiver, SubAck), Error> {
        let now = self.now();
        let (queue, granted) = {
            let mut core = self.core();
            core.subscribe(request, now).map_err(|e| core.refusal(e))?
        };
        self.wake();
        Ok((Receiver::new(queue, self.clone()), granted))
    }

    /// Queues an UNSUBSCRIBE; the filters stop matching now.
    ///
    /// # Errors
    ///
    /// [`Error::Subscribe`] for an invalid filter; [`Error::Closed`] once the client is finished.
    pub fn unsubscribe(&self, filters: &[String]) -> Result<UnsubAck, Error> {
        self.unsubscribe_request(&UnsubscribeRequest::new(filters.iter().cloned()))
    }

    /// Queues an UNSUBSCRIBE with 5.0 user properties; the filters stop matching now.
    ///
    /// # Errors
    ///
    /// As [`unsubscribe`](Self::unsubscribe).
    pub fn unsubscribe_request(&self, request: &UnsubscribeRequest) -> Result<UnsubAck, Error> {
        let now = self.now();
        let answer = {
            let mut core = self.core();
            core.unsubscribe(request, now)
                .map_err(|e| core.refusal(e))?
        };
        self.wake();
        Ok(answer)
    }

    /// Starts a 5.0 re-authentication with the options' authenticator; resolves when the broker accepted it.
    ///
    /// # Errors
    ///
    /// [`Error::Reauthenticate`] without an authenticator, while not connected or while one runs;
    /// [`Error::Closed`] once the client is finished.
    pub fn reauthenticate(&self) -> Result<oneshot::Receiver<Result<(), Error>>, Error> {
        let now = self.now();
        let answer = {
            let mut core = self.core();
            core.open()?;
            core.session
                .reauthenticate(now)
                .map_err(Error::Reauthenticate)?;
            let (done, answer) = oneshot::channel();
            core.dispatch.v5.reauths.push(done);
            answer
        };
        self.wake();
        Ok(answer)
    }

    /// What the broker announced in its latest successful CONNACK; `None` before the first.
    pub fn server_info(&self) -> Option<ServerInfo> {
        self.core().session.connack_info().map(ServerInfo::from)
    }

    /// The latest 5.0 Reason String the broker sent, with its packet and reason code.
    pub fn last_reason(&self) -> Option<LastReason> {
        self.core().session.last_reason().map(LastReason::from)
    }

    /// Starts a graceful disconnect as [`disconnect`](Self::disconnect), ending with a DISCONNECT that carries
    /// these options.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] for options the connection cannot carry (too large, or 5.0 properties on 3.1.1).
    pub fn disconnect_with(
        &self,
        options: &DisconnectOptions,
        timeout: Duration,
    ) -> Result<Disconnected, Error> {
        let now = self.now();
        let closed = {
            let mut core = self.core();
            let (done, closed) = oneshot::channel();
            if core.dispatch.is_finished() {
                let _ = done.send(Ok(0));
                return Ok(closed);
            }
            let wait = timeout.mul_f64(0.9);
            let Core { session, dispatch } = &mut *core;
            options
                .with_packet(|packet| session.disconnect_with(packet, wait, now))
                .map_err(Error::Encode)?;
            dispatch.disconnected.push(done);
            if session.state() == crate::SessionState::Closed {
                dispatch.close(session);
            }
            closed
        };
        self.wake();
        Ok(closed)
    }

    /// Registers a request of request/response (see [`Client::request`](super::Client::request)): its Correlation Data,
    /// its reply's place, and the reply inbox's subscription if it is the first request. Publish it with
    /// [`Request::send`] once [`Request::take_inbox`] says the inbox is ready.
    ///
    /// # Errors
    ///
    /// [`Error::Subscribe`] if the inbox cannot be subscribed; [`Error::Closed`] once the client is finished;
    /// [`PropertiesNotSupported`](crate::PublishError::PropertiesNotSupported) on a 3.1.1 session (configured,
    /// or fallen back to), before anything is subscribed.
    pub fn request(
        self: &Arc<Self>,
        topic: &str,
        payload: Bytes,
        qos: QoS,
    ) -> Result<Request, Error> {
        let now = self.now();
        let request = {
            let mut core = self.core();
            core.open()?;
            let Core { session, dispatch } = &mut *core;
            if !session.version().is_v5() {
                // No Response Topic on 3.1.1: refused before the inbox is subscribed for nothing.
                return Err(Error::Publish(crate::PublishError::PropertiesNotSupported));
            }
            let exchange = &mut dispatch.v5;
            let inbox = match &mut exchange.inbox {
                Some(inbox) => inbox,
                None => {
                    let info = session.connack_info();
                    let base = info
                        .and_then(|info| info.response_information)
                        .unwrap_or("replies");
                    let assigned = info
                        .and_then(|info| info.assigned_client_id)
                        .or_else(|| session.assigned_client_id());
                    let topic = exchange.inbox_topic(base, assigned);
                    let ticket = session
                        .subscribe(&[Filter::new(&topic, QoS::AtLeastOnce)], now)
                        .map_err(Error::Subscribe)?;
                    exchange.inbox.insert(Inbox {
                        topic,
                        ticket: Some(ticket),
                        waiters: Vec::new(),
                    })
                }
            };
            let ready = match inbox.ticket {
                Some(_) => {
                    let (waiter, ready) = oneshot::channel();
                    inbox.waiters.push(waiter);
                    Some(ready)
                }
                None => None,
            };
            let response_topic = inbox.topic.clone();
            let correlation = exchange.correlation();
            let (reply, replied) = oneshot::channel();
            exchange.requests.insert(correlation.clone(), reply);
            Request {
                shared: self.clone(),
                message: Message::new(topic, payload)
                    .qos(qos)
                    .response_topic(response_topic)
                    .correlation_data(correlation.clone()),
                correlation,
                inbox: ready,
                reply: replied,
            }
        };
        self.wake();
        Ok(request)
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
    /// [`Error::Closed`] once the client is finished, or ending because every counted handle is gone (a
    /// callback's handle, which does not count, cannot call that disconnect off and keep the runner alive).
    pub fn reconnect(&self) -> Result<(), Error> {
        let now = self.now();
        {
            // The acknowledgements the application released go to the session first: it writes them before the
            // connection ends.
            let mut core = self.runner_core();
            core.open()?;
            if core.dispatch.handles_gone {
                return Err(Error::Closed);
            }
            core.reconnect(now);
        }
        self.wake();
        Ok(())
    }

    /// Starts a graceful disconnect that takes at most `timeout`: the session waits for the broker's
    /// acknowledgements for nine tenths of it, then sends DISCONNECT (the last tenth is for that write). Resolves
    /// once the session is closed, with how many messages were still unacknowledged (they were not delivered), or
    /// with [`Error::DisconnectCalledOff`] if [`reconnect`](Self::reconnect) called it off first.
    pub fn disconnect(&self, timeout: Duration) -> Disconnected {
        let now = self.now();
        let closed = self.core().disconnect(timeout.mul_f64(0.9), now);
        self.wake();
        closed
    }
}

impl Core {
    /// `error` as the application should see it: a session closed by the application's disconnect, still under
    /// way, refuses as the ended client will ([`Error::Closed`]), not with the session's "reconnect first" (which
    /// stays for a session that gave up).
    fn refusal(&self, error: Error) -> Error {
        let closed = matches!(
            error,
            Error::Publish(crate::PublishError::Closed)
                | Error::Subscribe(crate::SubscribeError::Closed)
        );
        match closed && (!self.dispatch.disconnected.is_empty() || self.dispatch.handles_gone) {
            true => Error::Closed,
            false => error,
        }
    }

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
    ) -> Result<Published, Error> {
        self.open()?;
        let ticket = match self.session.publish(message, now) {
            Ok(ticket) => {
                if core::mem::take(&mut self.dispatch.queue_full) {
                    tracing::debug!("room in the outgoing queue again: publishing is accepted");
                }
                ticket
            }
            Err(error) => {
                // Once per episode, not once per refused call of an application that retries.
                if error == crate::PublishError::QueueFull && !self.dispatch.queue_full {
                    self.dispatch.queue_full = true;
                    tracing::warn!(
                        queued = self.session.queued(),
                        "publish refused: the outgoing queue is full (nothing was dropped; retry later, or \
                         raise Options::queue_bytes)"
                    );
                }
                return Err(Error::Publish(error));
            }
        };
        self.dispatch.last_delivery_id += 1;
        let id = self.dispatch.last_delivery_id;
        if message.qos == QoS::AtMostOnce {
            return Ok(Published { id, done: None });
        }
        let (done, acknowledged) = oneshot::channel();
        self.dispatch.publishes.insert(ticket, done);
        Ok(Published {
            id,
            done: Some(acknowledged),
        })
    }

    /// Queues a SUBSCRIBE and routes what its filters match to a new queue from now on; resolves with the SUBACK.
    pub(crate) fn subscribe(
        &mut self,
        request: &SubscribeRequest,
        now: Instant,
    ) -> Result<(Arc<Queue<Delivered>>, SubAck), Error> {
        self.open()?;
        let requested: Vec<Filter<'_>> = request
            .filters
            .iter()
            .map(|f| Filter {
                filter: f.filter(),
                options: f.options(),
            })
            .collect();
        let user: Vec<UserProperty<'_>> = request
            .user_properties
            .iter()
            .map(|(name, value)| UserProperty { name, value })
            .collect();
        let dispatch = &mut self.dispatch;
        let v5 = self.session.version() == ProtocolVersion::V5;
        // In 5.0 each request carries a Subscription Identifier, so that a message the broker sends once per
        // matching subscription reaches each subscription once: the client's choice, or the next one not in use.
        let id = match request.id {
            SubscriptionIdChoice::Fixed(id) => {
                Some(SubscriptionId::new(id).ok_or(Error::Subscribe(
                    crate::SubscribeError::InvalidOptions("subscription identifier out of range"),
                ))?)
            }
            SubscriptionIdChoice::Automatic if v5 && dispatch.v5.automatic_ids => {
                dispatch.next_free_subscription_id()
            }
            _ => None,
        };
        let properties = SubscribeProperties {
            subscription_identifier: id,
            user_properties: List::new(&user),
        };
        let (ticket, id) = match self.session.subscribe_with(&requested, &properties, now) {
            Ok(ticket) => (ticket, id),
            // Without room for it (a broker without identifiers), an automatic identifier is left out.
            Err(_) if request.id == SubscriptionIdChoice::Automatic && id.is_some() => {
                let properties = SubscribeProperties {
                    subscription_identifier: None,
                    ..properties
                };
                let ticket = self
                    .session
                    .subscribe_with(&requested, &properties, now)
                    .map_err(Error::Subscribe)?;
                (ticket, None)
            }
            Err(e) => return Err(Error::Subscribe(e)),
        };
        let queue = Arc::new(dispatch.new_queue());
        let names: Vec<String> = request
            .filters
            .iter()
            .map(|f| f.filter().to_owned())
            .collect();
        // The new request replaces abandoned subscriptions of the same filters at the broker (messages still
        // carrying their identifiers are for it).
        dispatch.abandoned.forget(&names);
        if let Some(id) = id {
            dispatch.request_filters.insert(id.get(), names.clone());
        }
        dispatch.adopt_orphans(&queue, true, |message| {
            names
                .iter()
                .any(|f| crate::topic::matches(f, &message.topic))
        });
        dispatch.routes.push(Route {
            filters: names,
            id: id.map(SubscriptionId::get),
            ticket,
            queue: queue.clone(),
        });
        let (done, granted) = oneshot::channel();
        dispatch.subscribes.insert(ticket, done);
        Ok((queue, granted))
    }

    /// Queues an UNSUBSCRIBE; the filters stop matching now. Resolves with the UNSUBACK's codes.
    pub(crate) fn unsubscribe(
        &mut self,
        request: &UnsubscribeRequest,
        now: Instant,
    ) -> Result<UnsubAck, Error> {
        self.open()?;
        let filters = &request.filters;
        let names: Vec<&str> = filters.iter().map(String::as_str).collect();
        let user: Vec<UserProperty<'_>> = request
            .user_properties
            .iter()
            .map(|(name, value)| UserProperty { name, value })
            .collect();
        let properties = UnsubscribeProperties {
            user_properties: List::new(&user),
        };
        let ticket: Ticket = self
            .session
            .unsubscribe_with(&names, &properties, now)
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
        // Until the UNSUBACK, the broker may still send what these filters match, and nothing reads it any more:
        // it is let go as a dropped subscription's is, so that it neither pauses the reads (the UNSUBACK comes
        // behind it) nor holds the broker's window.
        dispatch.abandoned.forget(filters);
        dispatch.abandoned.add(filters.clone(), None);
        let (done, answer) = oneshot::channel();
        dispatch
            .unsubscribes
            .insert(ticket, (filters.clone(), done));
        Ok(answer)
    }

    /// A queue that gets every message from now on (and those no subscription took yet).
    pub(crate) fn listen_messages(&mut self) -> Arc<Queue<Delivered>> {
        let queue = Arc::new(self.dispatch.new_queue());
        if self.dispatch.is_finished() {
            queue.close();
            return queue;
        }
        self.dispatch.adopt_orphans(&queue, false, |_| true);
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
        // A graceful disconnect in progress is called off: its callers hear so at once.
        self.dispatch.call_off_disconnects();
    }

    /// Starts a graceful disconnect; resolves once the session is closed.
    pub(crate) fn disconnect(&mut self, wait: Duration, now: Instant) -> Disconnected {
        let (done, closed) = oneshot::channel();
        if self.dispatch.is_finished() {
            let _ = done.send(Ok(0));
            return closed;
        }
        self.dispatch.disconnected.push(done);
        self.session.disconnect_within(wait, now);
        if self.session.state() == crate::SessionState::Closed {
            // Closed at once (no connection): the count is known now, the event loop need not run.
            self.dispatch.close(&self.session);
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

/// A request of request/response in flight, from [`Shared::request`]: the async and blocking clients wait for its
/// inbox ([`take_inbox`](Self::take_inbox)), [`send`](Self::send) it, then wait for its reply
/// ([`poll_reply`](Self::poll_reply)). Dropping it forgets the request: a late reply is dropped.
#[derive(Debug)]
pub struct Request {
    shared: Arc<Shared>,
    message: Message,
    correlation: Bytes,
    inbox: Option<oneshot::Receiver<Result<(), Error>>>,
    reply: oneshot::Receiver<Delivered>,
}

impl Request {
    /// The subscription of the reply inbox to wait for before sending, the first time: `Ok` once it is granted.
    pub fn take_inbox(&mut self) -> Option<oneshot::Receiver<Result<(), Error>>> {
        self.inbox.take()
    }

    /// The request message (Response Topic and Correlation Data set).
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// Publishes the request.
    ///
    /// # Errors
    ///
    /// As [`Shared::publish`].
    pub fn send(&self) -> Result<Published, Error> {
        self.shared.publish_message(&self.message)
    }

    /// The reply, acknowledged as it is taken.
    pub fn poll_reply(&mut self, cx: &mut Context<'_>) -> Poll<Result<Message, Error>> {
        core::pin::Pin::new(&mut self.reply).poll(cx).map(|reply| {
            let delivered = reply.map_err(|_| Error::Closed)?;
            if let Some(token) = delivered.ack.and_then(AckRef::taken) {
                self.shared.ack(token);
            }
            Ok(delivered.message)
        })
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        self.shared
            .core()
            .dispatch
            .v5
            .requests
            .remove(&self.correlation);
    }
}
