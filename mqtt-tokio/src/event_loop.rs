//! The [`EventLoop`]: the core driver on tokio, plus the glue that turns commands into session calls and session
//! events into answers, streams and state changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use futures::channel::{mpsc, oneshot};
use proto::codec::{
    ProtocolVersion, Publish, QoS, Subscription as Filter, SubscriptionId, UserProperty, Will,
};
use proto::driver::Driver;
use proto::driver::DriverError;
use proto::io::{Failover, FailoverError};
use proto::session::{Disconnection, Event, Ticket};
use proto::{Buf, Buffers, Config, Session, topic};

use crate::client::{Command, ConnectionState, Message, Shared};
use crate::clock::TokioClock;
use crate::transport::Connector;
use crate::{Client, Error, Options};

type Completion = oneshot::Sender<Result<(), Error>>;
type SubscribeReply = oneshot::Sender<Result<Vec<Result<QoS, Error>>, Error>>;

/// The core driver as this crate runs it.
type EventDriver = Driver<'static, Failover<Vec<Connector>, Connector>, TokioClock>;

/// Runs one connection (and its reconnects) on tokio: spawn [`run`](Self::run), or await it yourself.
pub struct EventLoop {
    driver: EventDriver,
    commands: mpsc::UnboundedReceiver<Command>,
    dispatch: Dispatch,
}

impl std::fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLoop")
            .field("session", self.driver.session())
            .finish_non_exhaustive()
    }
}

/// A subscribe request waiting for its SUBACK.
#[derive(Debug)]
struct PendingSubscribe {
    filters: Vec<String>,
    id: Option<u32>,
    sink: mpsc::UnboundedSender<Message>,
    done: SubscribeReply,
}

/// Where messages of one granted filter go. In 5.0 each request carries a Subscription Identifier, so that a
/// message the broker sends once per matching subscription reaches each subscription once.
#[derive(Debug)]
struct Route {
    filter: String,
    id: Option<u32>,
    sink: mpsc::UnboundedSender<Message>,
}

/// What woke the event loop.
enum Wake {
    Command(Option<Command>),
    Stepped,
}

/// Where the session's events go.
#[derive(Debug)]
struct Dispatch {
    shared: Arc<Mutex<Shared>>,
    publishes: HashMap<Ticket, Completion>,
    subscribes: HashMap<Ticket, PendingSubscribe>,
    unsubscribes: HashMap<Ticket, oneshot::Sender<Result<(), Error>>>,
    routes: Vec<Route>,
    next_subscription_id: u32,
    disconnected: Vec<oneshot::Sender<()>>,
    finished: bool,
}

/// Creates a client and its event loop; nothing happens until the event loop runs.
///
/// # Errors
///
/// [`Error::Config`] if the options cannot make a session.
pub fn new(options: &Options) -> Result<(Client, EventLoop), Error> {
    let will = options.will.as_ref().map(|w| Will {
        topic: &w.topic,
        payload: &w.payload,
        qos: w.qos,
        retain: w.retain,
        properties: Default::default(),
    });
    let config = Config {
        version: options.version,
        clean_start: options.clean_start,
        session_expiry_interval: options.session_expiry_interval,
        keep_alive: options.keep_alive,
        username: options.username.as_deref(),
        password: options.password.as_deref(),
        will,
        connect_timeout: options.connect_timeout,
        max_inflight: options.max_inflight,
        receive_maximum: options.receive_maximum,
        reconnect: options.reconnect,
        ..Config::new(&options.client_id)
    };
    let buffers = Buffers::owned(options.max_packet_size, options.queue_bytes, 64 * 1024);
    let session = Session::new(&config, buffers).map_err(Error::Config)?;
    let connectors = options
        .brokers
        .iter()
        .map(|url| Connector::new(url, options))
        .collect::<Result<Vec<_>, _>>()?;
    let failover = Failover::new(connectors).ok_or(Error::Environment("no broker given"))?;
    let driver = Driver::new(session, failover, TokioClock::new(), Buf::owned(16 * 1024));
    let (commands_tx, commands) = mpsc::unbounded();
    let shared = Arc::new(Mutex::new(Shared::default()));
    let client = Client {
        commands: commands_tx,
        shared: shared.clone(),
    };
    let event_loop = EventLoop {
        driver,
        commands,
        dispatch: Dispatch {
            shared,
            publishes: HashMap::new(),
            subscribes: HashMap::new(),
            unsubscribes: HashMap::new(),
            routes: Vec::new(),
            next_subscription_id: 1,
            disconnected: Vec::new(),
            finished: false,
        },
    };
    Ok((client, event_loop))
}

/// Creates a client, spawns its event loop on the current tokio runtime, and waits until the broker accepts the
/// first connection.
///
/// # Errors
///
/// [`Error::Refused`] or [`Error::GaveUp`] if the broker refused the connection permanently; when no connection
/// succeeded within the connect timeout, the error of the last attempt (for example [`Error::Io`] for a refused
/// connection, or [`Error::Tls`] for a certificate the check rejected), or else [`Error::Timeout`]. The event loop
/// then stops.
///
/// # Panics
///
/// Outside a tokio runtime (as `tokio::spawn` does).
pub async fn connect(options: Options) -> Result<Client, Error> {
    let timeout = options.connect_timeout;
    let (client, event_loop) = new(&options)?;
    let mut states = client.states();
    let task = tokio::spawn(event_loop.run());
    let outcome = tokio::time::timeout(timeout, async {
        while let Some(state) = states.next().await {
            match state {
                ConnectionState::Connected { .. } => return Ok(()),
                ConnectionState::Refused(refusal) if refusal.is_auth_failure() => {
                    return Err(Error::Refused(refusal));
                }
                ConnectionState::GaveUp(reason) => return Err(Error::GaveUp(reason)),
                _ => {}
            }
        }
        Err(Error::Closed)
    })
    .await
    // Out of time: say why the attempts failed when the transport knows.
    .unwrap_or_else(|_| Err(client.last_transport_error().unwrap_or(Error::Timeout)));
    if outcome.is_err() {
        task.abort();
    }
    outcome.map(|()| client)
}

impl EventLoop {
    /// Runs until the client disconnects or every [`Client`] handle is dropped (then it disconnects gracefully).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the connection without DISCONNECT (the broker publishes the will).
    pub async fn run(mut self) {
        let now = self.driver.now();
        self.driver.session_mut().connect(now);
        let mut handles_gone = false;
        while !self.dispatch.finished {
            let Self {
                driver,
                commands,
                dispatch,
            } = &mut self;
            // A closed session (gave up) has nothing to step until a command such as `reconnect` arrives; the
            // events that closed it (ConnectFailed, GaveUp) are still delivered first.
            let idle = driver.session().state() == proto::SessionState::Closed;
            if idle {
                while let Some(event) = driver.session_mut().poll_event() {
                    dispatch.on_event(event);
                }
                if dispatch.finished {
                    break;
                }
            }
            let wake = {
                let mut on_event = |event: Event<'_>| dispatch.on_event(event);
                tokio::select! {
                    biased;
                    command = commands.next(), if !handles_gone => Wake::Command(command),
                    () = driver.step(&mut on_event), if !idle => Wake::Stepped,
                    else => break,
                }
            };
            match wake {
                Wake::Command(Some(command)) => dispatch.apply(driver, command),
                Wake::Command(None) => {
                    handles_gone = true;
                    let now = driver.now();
                    driver.session_mut().disconnect(now);
                }
                Wake::Stepped => {}
            }
            self.dispatch.update(&self.driver);
            if !self.driver.session().is_connected()
                && handles_gone
                && self.dispatch.closed(self.driver.session())
            {
                break;
            }
        }
    }
}

impl Dispatch {
    fn apply(&mut self, driver: &mut EventDriver, command: Command) {
        let now = driver.now();
        let session = driver.session_mut();
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
            } => {
                let requested: Vec<Filter<'_>> =
                    filters.iter().map(|(f, q)| Filter::new(f, *q)).collect();
                let id = SubscriptionId::new(self.next_subscription_id);
                let with_id = match id {
                    Some(id) if session.version() == ProtocolVersion::V5 => session
                        .subscribe_with_id(&requested, id, now)
                        .ok()
                        .map(|t| (t, Some(id.get()))),
                    _ => None,
                };
                let result = match with_id {
                    Some(ok) => Ok(ok),
                    None => session.subscribe(&requested, now).map(|t| (t, None)),
                };
                match result {
                    Ok((ticket, id)) => {
                        if id.is_some() {
                            self.next_subscription_id =
                                self.next_subscription_id % SubscriptionId::MAX + 1;
                        }
                        let filters = filters.into_iter().map(|(f, _)| f).collect();
                        self.subscribes.insert(
                            ticket,
                            PendingSubscribe {
                                filters,
                                id,
                                sink,
                                done,
                            },
                        );
                    }
                    Err(e) => {
                        let _ = done.send(Err(Error::Subscribe(e)));
                    }
                }
            }
            Command::Unsubscribe { filters, done } => {
                let names: Vec<&str> = filters.iter().map(String::as_str).collect();
                match session.unsubscribe(&names, now) {
                    Ok(ticket) => {
                        self.routes.retain(|route| !filters.contains(&route.filter));
                        self.unsubscribes.insert(ticket, done);
                    }
                    Err(e) => {
                        let _ = done.send(Err(Error::Subscribe(e)));
                    }
                }
            }
            Command::Disconnect { done } => {
                self.disconnected.push(done);
                session.disconnect(now);
                if session.state() == proto::SessionState::Closed {
                    self.finish();
                }
            }
            Command::Reconnect => session.reconnect(now),
        }
    }

    fn on_event(&mut self, event: Event<'_>) {
        match event {
            Event::Message(publish) => self.deliver(&publish),
            Event::Published { ticket } => self.complete(ticket, Ok(())),
            Event::PublishFailed { ticket, reason } => {
                self.complete(ticket, Err(Error::PublishFailed(reason)));
            }
            Event::Subscribed { ticket, reasons } => {
                if let Some(pending) = self.subscribes.remove(&ticket) {
                    let granted: Vec<Result<QoS, Error>> = reasons
                        .iter()
                        .map(|code| code.granted_qos().ok_or(Error::SubscriptionRefused(code)))
                        .collect();
                    for (filter, result) in pending.filters.into_iter().zip(&granted) {
                        if result.is_ok() {
                            self.routes.push(Route {
                                filter,
                                id: pending.id,
                                sink: pending.sink.clone(),
                            });
                        }
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
                let state = match reason {
                    Disconnection::Refused(refusal) => ConnectionState::Refused(refusal),
                    other => ConnectionState::Lost(other),
                };
                self.state(state);
            }
            Event::Reconnecting { attempt, delay } => {
                self.state(ConnectionState::Reconnecting { attempt, delay });
            }
            Event::GaveUp { reason } => {
                self.state(ConnectionState::GaveUp(reason));
                self.fail_pending(&Error::GaveUp(reason));
            }
            Event::Disconnected => {
                self.state(ConnectionState::Disconnected);
                self.finish();
            }
            _ => {}
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
        let ids = &publish.properties.subscription_identifiers;
        let matched = |route: &Route| match route.id {
            Some(id) if !ids.is_empty() => ids.iter().any(|i| i.get() == id),
            _ => topic::matches(&route.filter, &message.topic),
        };
        // A request with several matching filters is one stream: it gets the message once.
        let mut chosen: Vec<usize> = Vec::new();
        for (i, route) in self.routes.iter().enumerate() {
            if matched(route)
                && !chosen
                    .iter()
                    .any(|&c| self.routes[c].sink.same_receiver(&route.sink))
            {
                chosen.push(i);
            }
        }
        let mut gone = Vec::new();
        for i in chosen {
            if self.routes[i].sink.unbounded_send(message.clone()).is_err() {
                gone.push(i);
            }
        }
        for i in gone.into_iter().rev() {
            self.routes.remove(i);
        }
        let mut shared = lock(&self.shared);
        shared
            .message_listeners
            .retain(|sink| sink.unbounded_send(message.clone()).is_ok());
    }

    fn complete(&mut self, ticket: Ticket, result: Result<(), Error>) {
        if let Some(done) = self.publishes.remove(&ticket) {
            let _ = done.send(result);
        }
    }

    fn state(&mut self, state: ConnectionState) {
        let mut shared = lock(&self.shared);
        shared.connected = matches!(state, ConnectionState::Connected { .. });
        shared
            .state_listeners
            .retain(|sink| sink.unbounded_send(state).is_ok());
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

    /// Copies what handles read without asking the event loop: counters, and why the latest attempt failed.
    fn update(&mut self, driver: &EventDriver) {
        let mut shared = lock(&self.shared);
        shared.stats = driver.session().stats();
        if let Some(DriverError::Connect(FailoverError::Connect { error, .. })) =
            driver.last_error()
        {
            shared.last_transport_error = Some(error.clone());
        }
    }

    /// Whether nothing more can happen: disconnected by request or given up.
    fn closed(&self, session: &Session<'_>) -> bool {
        matches!(session.state(), proto::SessionState::Closed)
    }
}

fn lock(shared: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
