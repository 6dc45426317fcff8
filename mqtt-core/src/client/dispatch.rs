//! [`Dispatch`]: turns application [`Command`]s into session calls and session [`Event`]s into replies, message
//! deliveries and connection states. Every std binding runs one, next to its session.

use std::borrow::ToOwned;
use std::boxed::Box;
use std::collections::HashMap;
use std::string::String;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::vec::Vec;

use bytes::Bytes;
use futures_channel::oneshot;

use super::{ConnectionState, Error, Message};
use crate::codec::{
    ProtocolVersion, Publish, QoS, Subscription as Filter, SubscriptionId, UserProperty,
};
use crate::session::{Disconnection, Event, Stats, Ticket};
use crate::{Instant, Session, SessionState, topic};

/// Where a subscription's messages go. Returns `false` once nobody listens any more; the sink is then dropped.
pub type MessageSink = Box<dyn FnMut(&Message) -> bool + Send>;

/// Where connection states go. Returns `false` once nobody listens any more; the sink is then dropped.
pub type StateSink = Box<dyn FnMut(ConnectionState) -> bool + Send>;

/// Resolves with the broker's acknowledgement of a QoS 1 or 2 message.
pub type Acknowledgement = oneshot::Receiver<Result<(), Error>>;

/// Per filter of a subscribe request, the granted QoS or why it was refused.
pub type Granted = Vec<Result<QoS, Error>>;

/// A request from a client handle to the loop that owns the session.
pub enum Command {
    /// Publish a message; `accepted` gets the session's answer, with the acknowledgement to wait for at QoS 1 and 2.
    Publish {
        /// Topic name.
        topic: String,
        /// Payload.
        payload: Bytes,
        /// Quality of service.
        qos: QoS,
        /// Retain flag.
        retain: bool,
        /// The session's answer.
        accepted: oneshot::Sender<Result<Option<Acknowledgement>, Error>>,
    },
    /// Subscribe to filters; matching messages go to `sink`.
    Subscribe {
        /// Filters with their maximum QoS.
        filters: Vec<(String, QoS)>,
        /// Where messages matching a granted filter go.
        sink: MessageSink,
        /// The broker's answer.
        done: oneshot::Sender<Result<Granted, Error>>,
    },
    /// Unsubscribe from filters; their sinks stop receiving.
    Unsubscribe {
        /// The filters, as subscribed.
        filters: Vec<String>,
        /// The broker's answer.
        done: oneshot::Sender<Result<(), Error>>,
    },
    /// Every message received from now on goes to this sink too.
    Messages(MessageSink),
    /// The current connection state (once there is one), then every change, goes to this sink.
    States(StateSink),
    /// Disconnect gracefully; `done` fires when the session has closed.
    Disconnect {
        /// Fired once the session is closed.
        done: oneshot::Sender<()>,
    },
    /// Drop the connection and connect again now.
    Reconnect,
}

impl core::fmt::Debug for Command {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Publish { .. } => "Publish",
            Self::Subscribe { .. } => "Subscribe",
            Self::Unsubscribe { .. } => "Unsubscribe",
            Self::Messages(_) => "Messages",
            Self::States(_) => "States",
            Self::Disconnect { .. } => "Disconnect",
            Self::Reconnect => "Reconnect",
        })
    }
}

/// What the loop shares with every handle, read without asking the loop.
#[derive(Debug, Default)]
pub struct Shared {
    status: Mutex<Status>,
}

#[derive(Debug, Default)]
struct Status {
    connected: bool,
    stats: Stats,
    last_transport_error: Option<Error>,
}

impl Shared {
    /// Whether the broker has accepted the current connection.
    pub fn is_connected(&self) -> bool {
        self.lock().connected
    }

    /// The session's counters, as of the loop's last step.
    pub fn stats(&self) -> Stats {
        self.lock().stats
    }

    /// Why the latest connection attempt could not be opened, kept until the next one fails.
    pub fn last_transport_error(&self) -> Option<Error> {
        self.lock().last_transport_error.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Status> {
        // Nothing runs application code under this lock: a poisoned one still holds consistent data.
        self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A granted subscribe request: its filters, its 5.0 Subscription Identifier, and where its messages go.
struct Route {
    filters: Vec<String>,
    id: Option<u32>,
    sink: MessageSink,
}

/// A subscribe request waiting for its SUBACK.
struct PendingSubscribe {
    filters: Vec<String>,
    id: Option<u32>,
    sink: MessageSink,
    done: oneshot::Sender<Result<Granted, Error>>,
}

/// Routes commands into the session and the session's events out to the application.
pub struct Dispatch {
    shared: Arc<Shared>,
    publishes: HashMap<Ticket, oneshot::Sender<Result<(), Error>>>,
    subscribes: HashMap<Ticket, PendingSubscribe>,
    unsubscribes: HashMap<Ticket, oneshot::Sender<Result<(), Error>>>,
    routes: Vec<Route>,
    next_subscription_id: u32,
    message_listeners: Vec<MessageSink>,
    state_listeners: Vec<StateSink>,
    last_state: Option<ConnectionState>,
    disconnected: Vec<oneshot::Sender<()>>,
    finished: bool,
}

impl core::fmt::Debug for Dispatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Dispatch")
            .field("publishes", &self.publishes.len())
            .field("subscribes", &self.subscribes.len())
            .field("routes", &self.routes.len())
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl Dispatch {
    /// A dispatch that publishes the loop's status to `shared`.
    pub fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            publishes: HashMap::new(),
            subscribes: HashMap::new(),
            unsubscribes: HashMap::new(),
            routes: Vec::new(),
            next_subscription_id: 1,
            message_listeners: Vec::new(),
            state_listeners: Vec::new(),
            last_state: None,
            disconnected: Vec::new(),
            finished: false,
        }
    }

    /// Whether the session has closed for good (disconnected by the application): the loop can end.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Carries out a command on the session.
    pub fn apply(&mut self, session: &mut Session<'_>, now: Instant, command: Command) {
        match command {
            Command::Publish {
                topic,
                payload,
                qos,
                retain,
                accepted,
            } => {
                let message = Publish {
                    qos,
                    retain,
                    topic: &topic,
                    payload: &payload,
                    ..Publish::default()
                };
                let answer = match session.publish(&message, now) {
                    Ok(_) if qos == QoS::AtMostOnce => Ok(None),
                    Ok(ticket) => {
                        let (done, wait) = oneshot::channel();
                        self.publishes.insert(ticket, done);
                        Ok(Some(wait))
                    }
                    Err(e) => Err(Error::Publish(e)),
                };
                let _ = accepted.send(answer);
            }
            Command::Subscribe {
                filters,
                sink,
                done,
            } => self.subscribe(session, now, filters, sink, done),
            Command::Unsubscribe { filters, done } => {
                let names: Vec<&str> = filters.iter().map(String::as_str).collect();
                match session.unsubscribe(&names, now) {
                    Ok(ticket) => {
                        for route in &mut self.routes {
                            route.filters.retain(|f| !filters.contains(f));
                        }
                        self.routes.retain(|route| !route.filters.is_empty());
                        self.unsubscribes.insert(ticket, done);
                    }
                    Err(e) => {
                        let _ = done.send(Err(Error::Subscribe(e)));
                    }
                }
            }
            Command::Messages(sink) => self.message_listeners.push(sink),
            Command::States(mut sink) => {
                // A new listener learns the current state first.
                if self.last_state.is_none_or(&mut sink) {
                    self.state_listeners.push(sink);
                }
            }
            Command::Disconnect { done } => {
                self.disconnected.push(done);
                session.disconnect(now);
                if session.state() == SessionState::Closed {
                    self.finish();
                }
            }
            Command::Reconnect => {
                // Whatever the state was, a new attempt follows: listeners from now on wait for its outcome.
                self.last_state = None;
                session.reconnect(now);
            }
        }
    }

    fn subscribe(
        &mut self,
        session: &mut Session<'_>,
        now: Instant,
        filters: Vec<(String, QoS)>,
        sink: MessageSink,
        done: oneshot::Sender<Result<Granted, Error>>,
    ) {
        let requested: Vec<Filter<'_>> = filters.iter().map(|(f, q)| Filter::new(f, *q)).collect();
        // In 5.0 each request carries a Subscription Identifier, so that a message the broker sends once per
        // matching subscription reaches each subscription once. Without room for it, subscribe without.
        let id = SubscriptionId::new(self.next_subscription_id)
            .filter(|_| session.version() == ProtocolVersion::V5);
        let with_id = id.and_then(|id| {
            session
                .subscribe_with_id(&requested, id, now)
                .ok()
                .map(|ticket| (ticket, Some(id.get())))
        });
        let result = match with_id {
            Some(ok) => Ok(ok),
            None => session.subscribe(&requested, now).map(|t| (t, None)),
        };
        match result {
            Ok((ticket, id)) => {
                if id.is_some() {
                    self.next_subscription_id = self.next_subscription_id % SubscriptionId::MAX + 1;
                }
                let filters = filters.into_iter().map(|(f, _)| f).collect();
                let pending = PendingSubscribe {
                    filters,
                    id,
                    sink,
                    done,
                };
                self.subscribes.insert(ticket, pending);
            }
            Err(e) => {
                let _ = done.send(Err(Error::Subscribe(e)));
            }
        }
    }

    /// Routes one event of the session.
    pub fn on_event(&mut self, event: Event<'_>) {
        match event {
            Event::Message(publish) => self.deliver(&publish),
            Event::Published { ticket } => self.complete(ticket, Ok(())),
            Event::PublishFailed { ticket, reason } => {
                self.complete(ticket, Err(Error::PublishFailed(reason)));
            }
            Event::Subscribed { ticket, reasons } => {
                if let Some(pending) = self.subscribes.remove(&ticket) {
                    let granted: Granted = reasons
                        .iter()
                        .map(|code| code.granted_qos().ok_or(Error::SubscriptionRefused(code)))
                        .collect();
                    let filters: Vec<String> = pending
                        .filters
                        .into_iter()
                        .zip(&granted)
                        .filter(|(_, result)| result.is_ok())
                        .map(|(filter, _)| filter)
                        .collect();
                    if !filters.is_empty() {
                        self.routes.push(Route {
                            filters,
                            id: pending.id,
                            sink: pending.sink,
                        });
                    }
                    let _ = pending.done.send(Ok(granted));
                }
            }
            Event::RequestTooLarge { ticket } => {
                if let Some(pending) = self.subscribes.remove(&ticket) {
                    let _ = pending.done.send(Err(Error::RequestTooLarge));
                }
                if let Some(done) = self.unsubscribes.remove(&ticket) {
                    let _ = done.send(Err(Error::RequestTooLarge));
                }
            }
            Event::Unsubscribed { ticket, .. } => {
                if let Some(done) = self.unsubscribes.remove(&ticket) {
                    let _ = done.send(Ok(()));
                }
            }
            Event::Connected { session_present } => {
                self.state(ConnectionState::Connected { session_present });
            }
            Event::ConnectFailed { reason } | Event::ConnectionLost { reason } => {
                self.state(match reason {
                    Disconnection::Refused(refusal) => ConnectionState::Refused(refusal),
                    other => ConnectionState::Lost(other),
                });
            }
            Event::Reconnecting { attempt, delay } => {
                self.state(ConnectionState::Reconnecting { attempt, delay });
            }
            Event::GaveUp { reason } => {
                self.state(ConnectionState::GaveUp(reason));
                self.fail_pending(&Error::GaveUp(reason));
            }
            Event::Disconnected { .. } => {
                self.state(ConnectionState::Disconnected);
                self.finish();
            }
        }
    }

    /// Copies what handles read without asking the loop: the counters, and why the latest attempt failed.
    pub fn update(&mut self, session: &Session<'_>, transport_error: Option<&Error>) {
        let mut status = self.shared.lock();
        status.stats = session.stats();
        if let Some(error) = transport_error {
            status.last_transport_error = Some(error.clone());
        }
    }

    fn deliver(&mut self, publish: &Publish<'_>) {
        let message = Message {
            topic: publish.topic.to_owned(),
            payload: Bytes::copy_from_slice(publish.payload),
            qos: publish.qos,
            retain: publish.retain,
            user_properties: publish
                .properties
                .user_properties
                .iter()
                .map(|UserProperty { name, value }| (name.to_owned(), value.to_owned()))
                .collect(),
        };
        // With subscription identifiers the broker says which subscriptions matched; without, match the filters.
        // A request with several matching filters is one sink: it gets the message once.
        let ids = &publish.properties.subscription_identifiers;
        self.routes.retain_mut(|route| {
            let matched = match route.id {
                Some(id) if !ids.is_empty() => ids.iter().any(|i| i.get() == id),
                _ => route
                    .filters
                    .iter()
                    .any(|filter| topic::matches(filter, &message.topic)),
            };
            !matched || (route.sink)(&message)
        });
        self.message_listeners.retain_mut(|sink| sink(&message));
    }

    fn complete(&mut self, ticket: Ticket, result: Result<(), Error>) {
        if let Some(done) = self.publishes.remove(&ticket) {
            let _ = done.send(result);
        }
    }

    fn state(&mut self, state: ConnectionState) {
        self.shared.lock().connected = matches!(state, ConnectionState::Connected { .. });
        self.last_state = Some(state);
        self.state_listeners.retain_mut(|sink| sink(state));
    }

    fn fail_pending(&mut self, error: &Error) {
        for (_, done) in self.publishes.drain() {
            let _ = done.send(Err(error.clone()));
        }
        for (_, pending) in self.subscribes.drain() {
            let _ = pending.done.send(Err(error.clone()));
        }
        for (_, done) in self.unsubscribes.drain() {
            let _ = done.send(Err(error.clone()));
        }
    }

    fn finish(&mut self) {
        self.finished = true;
        for done in self.disconnected.drain(..) {
            let _ = done.send(());
        }
        self.fail_pending(&Error::Closed);
    }
}
