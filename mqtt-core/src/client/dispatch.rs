//! [`Dispatch`]: routes the session's events to the application: completions to the handles waiting for them,
//! messages to the bounded queues of the subscriptions they match, connection states to their listeners.
//!
//!
//! It applies the [delivery rules](crate::client#delivery-rules).

use std::collections::{HashMap, VecDeque};
use std::string::String;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::vec::Vec;

use futures_channel::oneshot;

mod events;

use super::abandoned::{Abandoned, is_for};
pub(crate) use super::delivered::{AckRef, Delivered};
use super::exchange::Exchange;
use super::queue::{Queue, Weigh};
use super::{ConnectionState, Error, Message};
use crate::codec::{List, ProtocolVersion, Publish, QoS, ReasonCode, SubscriptionId};
use crate::driver::{DriverError, EventSink, Flow};
use crate::io::FailoverError;
use crate::session::{AckToken, Disconnection, Event, Ticket};
use crate::{Instant, Session, SessionState};

/// Completes an UNSUBSCRIBE with its codes.
pub(crate) type UnsubAckSender = oneshot::Sender<Result<Vec<ReasonCode>, Error>>;

/// Per filter of a subscribe request, the granted QoS or why it was refused.
pub type Granted = Vec<Result<QoS, Error>>;

/// Connection states kept for a listener that does not read: the oldest go first.
pub(crate) const STATE_QUEUE: usize = 64;

/// A subscribe request's route: its filters, its 5.0 Subscription Identifier, and its queue.
#[derive(Debug)]
pub(crate) struct Route {
    pub(crate) filters: Vec<String>,
    pub(crate) id: Option<u32>,
    pub(crate) ticket: Ticket,
    pub(crate) queue: Arc<Queue<Delivered>>,
}

impl Route {
    /// Whether a message on `topic` carrying the 5.0 Subscription Identifiers `ids` is for this route
    /// (`requests`: identifier to filters); see [`is_for`].
    fn matches(
        &self,
        topic: &str,
        ids: &List<'_, SubscriptionId>,
        requests: &HashMap<u32, Vec<String>>,
    ) -> bool {
        is_for(&self.filters, self.id, topic, ids, requests)
    }
}

/// Routes the session's events to the application by the [delivery rules](crate::client#delivery-rules).
pub struct Dispatch {
    pub(crate) publishes: HashMap<Ticket, oneshot::Sender<Result<(), Error>>>,
    pub(crate) subscribes: HashMap<Ticket, oneshot::Sender<Result<Granted, Error>>>,
    /// With the filters (a 3.1.1 UNSUBACK has no codes; until it comes, what the broker still sends for them is
    /// let go as for a dropped subscription).
    pub(crate) unsubscribes: HashMap<Ticket, (Vec<String>, UnsubAckSender)>,
    pub(crate) routes: Vec<Route>,
    /// The filters of each subscribe request that carried a 5.0 Subscription Identifier, by identifier; kept
    /// while a route of that request lives, or while the broker holds the subscriptions of its dropped route.
    pub(crate) request_filters: HashMap<u32, Vec<String>>,
    /// Subscriptions whose handle was dropped without unsubscribing: their messages are let go.
    pub(crate) abandoned: Abandoned,
    pub(crate) listeners: Vec<Arc<Queue<Delivered>>>,
    /// Messages no subscription or listener took yet.
    pub(crate) orphans: VecDeque<Delivered>,
    /// What `orphans` weigh together ([`Weigh`]).
    orphan_bytes: usize,
    /// Acknowledgements due (messages whose consumer left), for the session at the next lock.
    pub(crate) pending_acks: Vec<AckToken>,
    /// Scratch: the routes a message goes to.
    hits: Vec<usize>,
    pub(crate) state_listeners: Vec<Arc<Queue<ConnectionState>>>,
    pub(crate) last_state: Option<ConnectionState>,
    /// Waiting for the end of a graceful disconnect: they get how many messages were still unacknowledged, or
    /// [`Error::DisconnectCalledOff`].
    pub(crate) disconnected: Vec<oneshot::Sender<Result<usize, Error>>>,
    /// The broker URLs, credentials removed, in failover order.
    pub(crate) brokers: Vec<String>,
    /// The broker of the current connection or attempt (the session's choice).
    pub(crate) broker: usize,
    /// Why the attempt that just failed could not reach the broker, for its state.
    unreachable: Option<Error>,
    /// A message is held back for want of room (reading is paused).
    holding: bool,
    /// The broker accepted the current connection.
    established: bool,
    /// The broker accepted a connection once.
    ever_connected: bool,
    /// The latest publish was refused for a full outgoing queue (it was logged).
    pub(crate) queue_full: bool,
    /// Publishers waiting for room in the outgoing queue.
    pub(crate) room: super::room::Room,
    /// The client speaks only 5.0 (no fall back to 3.1.1): a first CONNECT the broker closes without answer
    /// means the broker does not speak 5.0.
    only_v5: bool,
    /// The session's protocol version at the end of the runner's last turn.
    version: Option<ProtocolVersion>,
    /// Waiting for a connection goes on after a failed round over the brokers.
    pub(crate) keep_trying: bool,
    pub(crate) last_transport_error: Option<Error>,
    pub(crate) next_subscription_id: u32,
    /// Messages per queue.
    pub(crate) capacity: usize,
    /// Bytes per queue ([`Weigh`]; one message may pass it).
    pub(crate) capacity_bytes: usize,
    /// Messages a full queue takes past its capacity while the broker owes the application an answer (the
    /// client's Receive Maximum: the window the broker may send ahead of it). See [`Self::answer_owed`].
    pub(crate) answer_room: usize,
    /// The application acknowledges messages itself.
    pub(crate) manual_ack: bool,
    pub(crate) handles_gone: bool,
    finished: bool,
    /// [`Options::ack_timeout`](super::Options::ack_timeout).
    pub(crate) ack_timeout: Option<core::time::Duration>,
    /// The id of the latest message the session accepted ([`Delivery::id`](super::Delivery::id)).
    pub(crate) last_delivery_id: u64,
    /// Callers of `ping` waiting for the PINGRESP.
    pub(crate) pings: super::ping::Pings,
    /// MQTT 5.0 exchanges: request/response, re-authentication, redirection.
    pub(crate) v5: Exchange,
}

impl core::fmt::Debug for Dispatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Dispatch")
            .field("publishes", &self.publishes.len())
            .field("subscribes", &self.subscribes.len())
            .field("routes", &self.routes.len())
            .field("orphans", &self.orphans.len())
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl Dispatch {
    /// A dispatch whose queues hold `capacity` messages each; with `manual_ack`, messages are acknowledged when
    /// the application says so rather than when it takes them.
    pub fn new(capacity: usize, manual_ack: bool) -> Self {
        Self {
            publishes: HashMap::new(),
            subscribes: HashMap::new(),
            unsubscribes: HashMap::new(),
            routes: Vec::new(),
            request_filters: HashMap::new(),
            abandoned: Abandoned::default(),
            listeners: Vec::new(),
            orphans: VecDeque::new(),
            orphan_bytes: 0,
            pending_acks: Vec::new(),
            hits: Vec::new(),
            state_listeners: Vec::new(),
            last_state: None,
            disconnected: Vec::new(),
            brokers: Vec::new(),
            broker: 0,
            unreachable: None,
            holding: false,
            established: false,
            ever_connected: false,
            queue_full: false,
            room: super::room::Room::default(),
            only_v5: false,
            version: None,
            keep_trying: false,
            last_transport_error: None,
            next_subscription_id: 1,
            capacity: capacity.max(1),
            capacity_bytes: super::options::MESSAGE_CAPACITY_BYTES,
            answer_room: usize::from(u16::MAX),
            manual_ack,
            handles_gone: false,
            finished: false,
            ack_timeout: None,
            last_delivery_id: 0,
            pings: super::ping::Pings::default(),
            v5: Exchange::default(),
        }
    }

    /// A dispatch with the queue capacity and acknowledgement mode of `options`.
    pub fn from_options(options: &super::Options) -> Self {
        let mut dispatch = Self::new(options.message_capacity, options.manual_ack);
        dispatch.ack_timeout = options.ack_timeout;
        dispatch.capacity_bytes = options.message_capacity_bytes;
        dispatch.answer_room = usize::from(options.receive_maximum);
        dispatch.brokers = options.brokers().to_vec();
        dispatch.keep_trying = options.keep_trying;
        dispatch.only_v5 = options.version == ProtocolVersion::V5 && !options.fallback_to_v311;
        dispatch.v5.automatic_ids = options.subscription_ids;
        dispatch.v5.inbox_name = Exchange::inbox_level(&options.client_id);
        dispatch.v5.correlation_prefix =
            options.jitter_seed.rotate_left(17) ^ 0x6d71_7474_7265_7173;
        dispatch
    }

    /// The next automatic Subscription Identifier that no live subscription uses.
    pub(crate) fn next_free_subscription_id(&mut self) -> Option<SubscriptionId> {
        for _ in 0..=self.routes.len() {
            let id = self.next_subscription_id;
            self.next_subscription_id = id % SubscriptionId::MAX + 1;
            if !self.routes.iter().any(|route| route.id == Some(id)) && !self.abandoned.uses_id(id)
            {
                return SubscriptionId::new(id);
            }
        }
        None
    }

    /// The URL of the broker the session uses now (credentials removed): one of the failover list, or the server
    /// of a redirection.
    pub fn broker_url(&self) -> &str {
        match (self.brokers.get(self.broker), &self.v5.redirect_url) {
            (Some(url), _) => url,
            (None, Some(Ok(url))) => url,
            _ => "",
        }
    }

    /// The URL a redirection of the session goes to, if it is following one and the reference makes a URL.
    pub fn redirect_url(&self) -> Option<&str> {
        match &self.v5.redirect_url {
            Some(Ok(url)) if self.broker >= self.brokers.len() => Some(url),
            _ => None,
        }
    }

    /// Acknowledgements that fell due while the session was not at hand (a consumer left while a message was being
    /// delivered, a reply nobody waited for): give them to [`Session::ack`].
    pub fn take_pending_acks(&mut self) -> Vec<AckToken> {
        core::mem::take(&mut self.pending_acks)
    }

    /// Whether the application is done: disconnected, or every handle dropped and the session closed.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Whether waiting for a connection goes on after a failed round ([`Options::keep_trying`]).
    ///
    /// [`Options::keep_trying`]: super::Options::keep_trying
    pub fn keeps_trying(&self) -> bool {
        self.keep_trying
    }

    /// Why the latest connection attempt could not be opened, kept until the next one fails.
    pub fn last_transport_error(&self) -> Option<Error> {
        self.last_transport_error.clone()
    }

    /// The latest connection state, if there was one.
    pub fn last_state(&self) -> Option<&ConnectionState> {
        self.last_state.as_ref()
    }

    /// Every counted handle is gone: disconnect gracefully, and finish once closed. Gone while the thread panics,
    /// the application failed: the connection ends without DISCONNECT, so that the broker publishes the will.
    pub(crate) fn handles_gone(&mut self, session: &mut Session<'_>, now: Instant) {
        self.handles_gone = true;
        if std::thread::panicking() {
            tracing::warn!(
                "the last client handle was dropped by a panic: connection ended without DISCONNECT"
            );
            session.abandon(now);
        } else {
            session.disconnect(now);
        }
        if session.state() == SessionState::Closed {
            self.close(session);
        }
    }

    /// Stops routing: pending requests fail with [`Error::Closed`], every stream ends after what it holds. A
    /// graceful disconnect still waiting hears that nothing was left unacknowledged; see [`close`](Self::close).
    /// State listeners hear [`ConnectionState::Disconnected`] last, also when the runner ended without
    /// disconnecting (aborted, dropped): a late listener must not take the last connection for a live one.
    pub fn finish(&mut self) {
        self.answer_disconnects(0);
        if self.last_state != Some(ConnectionState::Disconnected) {
            self.state(ConnectionState::Disconnected);
        }
        self.finished = true;
        self.fail_pending(&Error::Closed);
        self.v5.fail(&Error::Closed);
        for route in &self.routes {
            route.queue.close();
        }
        for queue in &self.listeners {
            queue.close();
        }
        for queue in &self.state_listeners {
            queue.close();
        }
    }

    /// The session is closed for good (disconnected, or its runner ended): a graceful disconnect still waiting
    /// hears how many of its messages were not acknowledged, then routing stops as [`finish`](Self::finish) says.
    pub fn close(&mut self, session: &Session<'_>) {
        self.answer_disconnects(session.unacknowledged());
        self.finish();
    }

    /// Tells the graceful disconnects waiting how many messages were left unacknowledged.
    pub(crate) fn answer_disconnects(&mut self, unacknowledged: usize) {
        for done in self.disconnected.drain(..) {
            let _ = done.send(Ok(unacknowledged));
        }
    }

    /// A reconnect called the graceful disconnect in progress off: its callers hear so.
    pub(crate) fn call_off_disconnects(&mut self) {
        if !self.disconnected.is_empty() {
            tracing::info!("a reconnect called the graceful disconnect off");
        }
        for done in self.disconnected.drain(..) {
            let _ = done.send(Err(Error::DisconnectCalledOff));
        }
    }

    /// The session's protocol version after a turn of the runner: a change from 5.0 to 3.1.1 is the fall back.
    pub fn note_version(&mut self, version: ProtocolVersion) {
        if self.version == Some(ProtocolVersion::V5) && version == ProtocolVersion::V311 {
            tracing::info!(
                broker = self.broker_url(),
                "the broker does not speak MQTT 5.0: the client speaks 3.1.1 from now on"
            );
        }
        self.version = Some(version);
    }

    fn fail_pending(&mut self, error: &Error) {
        for (_, done) in self.publishes.drain() {
            let _ = done.send(Err(error.clone()));
        }
        for (_, done) in self.subscribes.drain() {
            let _ = done.send(Err(error.clone()));
        }
        for (_, (_, done)) in self.unsubscribes.drain() {
            let _ = done.send(Err(error.clone()));
        }
        self.v5.reauthenticated(&Err(error.clone()));
        self.pings.answer(&Err(error.clone()));
    }

    fn state(&mut self, state: ConnectionState) {
        trace_state(&state);
        self.state_listeners.retain(|queue| {
            queue.push_dropping_oldest(state.clone());
            !queue.is_abandoned()
        });
        self.last_state = Some(state);
    }

    /// Offers a message to every queue it goes to: all of them, or none (`Flow::Hold`) if one is full.
    fn deliver(&mut self, publish: &Publish<'_>, ack: Option<AckToken>) -> Flow {
        if self
            .v5
            .take_reply(publish, ack, self.manual_ack, &mut self.pending_acks)
            .is_some()
        {
            return Flow::Taken;
        }
        let ids = &publish.properties.subscription_identifiers;
        self.abandon_dropped_routes();
        self.listeners.retain(|queue| !queue.is_abandoned());
        // The routes it goes to, found once (the scratch list keeps its memory between messages).
        let mut hits = core::mem::take(&mut self.hits);
        hits.clear();
        hits.extend(
            self.routes
                .iter()
                .enumerate()
                .filter(|(_, route)| route.matches(publish.topic, ids, &self.request_filters))
                .map(|(i, _)| i),
        );
        let targets = hits.len() + self.listeners.len();
        let owed = self.answer_owed();
        let fits = |queue: &Queue<Delivered>| {
            queue.has_room() || (owed && queue.has_room_beyond(self.answer_room))
        };
        let flow = if targets == 0 {
            let abandoned = self
                .abandoned
                .is_for(publish.topic, ids, &self.request_filters);
            self.keep_orphan(publish, ack, abandoned, owed)
        } else if !hits
            .iter()
            .filter_map(|&i| self.routes.get(i))
            // A subscription still waiting for its SUBACK takes past its capacity (see the delivery rules).
            .all(|route| self.subscribes.contains_key(&route.ticket) || fits(&route.queue))
            || !self.listeners.iter().all(|queue| fits(queue))
        {
            // All or nothing: a message queued in some places and not others would arrive twice there.
            self.hold()
        } else {
            let copies = (targets > 1).then(|| Arc::new(AtomicUsize::new(targets)));
            let mut message = Some(self.message(publish, ack));
            let queues = hits
                .iter()
                .filter_map(|&i| self.routes.get(i))
                .map(|route| &route.queue)
                .chain(self.listeners.iter());
            let mut left = targets;
            let mut released = Vec::new();
            for queue in queues {
                left -= 1;
                // The last target takes the message itself; the others a copy.
                let message = match left {
                    0 => message.take(),
                    _ => message.clone(),
                };
                let Some(message) = message else { break };
                let delivered = Delivered {
                    message,
                    ack: ack.map(|token| AckRef {
                        token,
                        copies: copies.clone(),
                    }),
                };
                // Room was checked (past the capacity for an unanswered subscription or an answer owed), and
                // only this runner adds to queues: the push succeeds, or the consumer left meanwhile, which
                // counts as taken.
                if let Err(dropped) = queue.push_over(delivered) {
                    released.push(dropped);
                }
            }
            for dropped in released {
                self.release(dropped);
            }
            self.resume();
            Flow::Taken
        };
        self.hits = hits;
        flow
    }

    /// Routes whose handle is gone become abandoned subscriptions (the broker still holds them); the identifiers
    /// neither a route nor an abandoned subscription uses are forgotten.
    fn abandon_dropped_routes(&mut self) {
        if !self.routes.iter().any(|route| route.queue.is_abandoned()) {
            return;
        }
        let (gone, live): (Vec<Route>, Vec<Route>) = core::mem::take(&mut self.routes)
            .into_iter()
            .partition(|route| route.queue.is_abandoned());
        self.routes = live;
        for route in gone {
            self.abandoned.add(route.filters, route.id);
        }
        self.forget_unused_ids();
    }

    /// Forgets the identifiers of requests that neither a route nor an abandoned subscription has any more.
    fn forget_unused_ids(&mut self) {
        let (routes, abandoned) = (&self.routes, &self.abandoned);
        self.request_filters.retain(|id, _| {
            routes.iter().any(|route| route.id == Some(*id)) || abandoned.uses_id(*id)
        });
    }

    /// A message that matches no subscription and finds no listener: kept for one still to come.
    ///
    /// One for a subscription dropped without unsubscribing (`abandoned`) may never be read: it is acknowledged
    /// now, kept while there is room (for a `messages()` stream still to come), and let go beyond, so that it
    /// neither pauses the reads nor holds the broker's window.
    fn keep_orphan(
        &mut self,
        publish: &Publish<'_>,
        ack: Option<AckToken>,
        abandoned: bool,
        owed: bool,
    ) -> Flow {
        let ack = match abandoned {
            true => {
                self.pending_acks.extend(ack);
                None
            }
            false => ack,
        };
        let (count, bytes) = match owed {
            true => (
                self.capacity.saturating_add(self.answer_room),
                self.capacity_bytes.saturating_mul(2),
            ),
            false => (self.capacity, self.capacity_bytes),
        };
        let full = self.orphans.len() >= count || self.orphan_bytes >= bytes;
        if abandoned && full {
            return Flow::Taken;
        }
        if full {
            if !self.holding {
                tracing::warn!(
                    kept = self.orphans.len(),
                    "messages match no subscription and no messages() stream reads them: reading from the \
                     broker is paused until one does"
                );
            }
            return self.hold();
        }
        let delivered = Delivered {
            message: self.message(publish, ack),
            ack: ack.map(|token| AckRef {
                token,
                copies: None,
            }),
        };
        self.orphan_bytes = self.orphan_bytes.saturating_add(delivered.weight());
        self.orphans.push_back(delivered);
        self.resume();
        Flow::Taken
    }

    /// Whether the broker owes the application an answer that may come behind the messages it sends: the
    /// acknowledgement of a message published at QoS 1 or 2, a SUBACK or UNSUBACK, a reply, the end of a
    /// re-authentication. Meanwhile a full queue takes up to [`answer_room`](Self::answer_room) messages more
    /// and twice its bytes, so that a consumer that awaits the answer before it reads on gets it (see the
    /// [delivery rules](crate::client#delivery-rules)).
    fn answer_owed(&self) -> bool {
        !self.publishes.is_empty()
            || !self.subscribes.is_empty()
            || !self.unsubscribes.is_empty()
            || self.v5.awaits_broker()
    }

    fn resume(&mut self) {
        if core::mem::take(&mut self.holding) {
            tracing::debug!("room in the message queues again: reading from the broker resumes");
        }
    }

    /// A message cannot be queued: the runner holds it and stops reading until a queue has room.
    fn hold(&mut self) -> Flow {
        if !self.holding {
            tracing::debug!("a message queue is full: reading from the broker is paused");
            self.holding = true;
        }
        Flow::Hold
    }

    fn message(&self, publish: &Publish<'_>, ack: Option<AckToken>) -> Message {
        Message::received(publish, ack.filter(|_| self.manual_ack))
    }

    /// A queued message will never be taken (its consumer left): its acknowledgement is due.
    fn release(&mut self, delivered: Delivered) {
        if let Some(token) = delivered.ack.and_then(AckRef::taken) {
            self.pending_acks.push(token);
        }
    }

    /// Gives kept messages to a new queue: those `wanted` selects, in order; all of them for a subscription
    /// still waiting for its SUBACK (`unanswered`), else as many as fit.
    pub(crate) fn adopt_orphans(
        &mut self,
        queue: &Queue<Delivered>,
        unanswered: bool,
        wanted: impl Fn(&Message) -> bool,
    ) {
        let mut kept = VecDeque::with_capacity(self.orphans.len());
        while let Some(delivered) = self.orphans.pop_front() {
            if wanted(&delivered.message) && (unanswered || queue.has_room()) {
                let pushed = match unanswered {
                    true => queue.push_over(delivered),
                    false => queue.push(delivered),
                };
                if let Err(back) = pushed {
                    kept.push_back(back);
                }
            } else {
                kept.push_back(delivered);
            }
        }
        self.orphan_bytes = kept.iter().map(Weigh::weight).sum();
        self.orphans = kept;
    }

    /// A new queue for a subscription or a `messages()` stream, with the options' bounds.
    pub(crate) fn new_queue(&self) -> Queue<Delivered> {
        Queue::bounded(self.capacity, self.capacity_bytes)
    }
}

impl<C: Into<Error>, I: Into<Error>> EventSink<DriverError<FailoverError<C>, I>> for Dispatch {
    fn event(&mut self, event: Event<'_>, ack: Option<AckToken>) -> Flow {
        self.on_event(event, ack)
    }

    fn connecting(&mut self, broker: usize) {
        self.broker = broker;
        tracing::info!(broker = self.broker_url(), "connecting");
    }

    fn transport_failed(&mut self, error: DriverError<FailoverError<C>, I>) {
        let error = match error {
            DriverError::Connect(FailoverError::Connect { error, .. }) => error.into(),
            DriverError::Connect(FailoverError::NoBroker) => Error::Environment("no broker given"),
            DriverError::Io(error) => error.into(),
            DriverError::Closed => Error::Io(Arc::new(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the broker closed the connection",
            ))),
        };
        self.record_io_error(error);
    }

    fn is_finished(&self) -> bool {
        self.finished
    }
}

/// The state change as a `tracing` event: what a person debugging a reconnect loop needs, never secrets.
fn trace_state(state: &ConnectionState) {
    match state {
        ConnectionState::Lost(Disconnection::Protocol(error))
        | ConnectionState::GaveUp(Disconnection::Protocol(error)) => {
            tracing::warn!(%error, "the broker broke the protocol: the connection is closed");
        }
        _ => {}
    }
    match state {
        ConnectionState::Connected {
            session_present,
            broker,
        } => tracing::info!(broker = broker.as_str(), session_present, "connected"),
        ConnectionState::Unreachable(error) => tracing::warn!(%error, "broker unreachable"),
        ConnectionState::Lost(reason) => tracing::warn!(%reason, "connection lost"),
        ConnectionState::Refused(refusal) => tracing::warn!(%refusal, "connection refused"),
        ConnectionState::Reconnecting { attempt, delay } => {
            tracing::info!(attempt, ?delay, "reconnecting");
        }
        ConnectionState::Redirected { to, permanent } => {
            tracing::info!(to = to.as_str(), permanent, "redirected by the broker");
        }
        ConnectionState::GaveUp(reason) => tracing::error!(%reason, "gave up connecting"),
        ConnectionState::Disconnected => tracing::info!("disconnected"),
    }
}
