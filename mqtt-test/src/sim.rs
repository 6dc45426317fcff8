//! [`Sim`]: a real [`Session`] against the [`FakeBroker`] over a [`LinkModel`], in virtual time.
//!
//! The simulation drives the session exactly as the session's module docs ask a binding to: after every input
//! and command it drains `poll_transport`, `poll_transmit`, `poll_event`, and reads `poll_timeout` last. Time
//! never passes by itself: [`Sim::step`] jumps the [`FakeClock`] straight to the next thing that happens (a link
//! delivery or the session's deadline) and never sleeps, so hours of keep-alive and reconnect behaviour run in
//! microseconds and every run with the same seeds is identical.
//!
//! ```
//! use core::time::Duration;
//! use mqtt_core::Config;
//! use mqtt_core::codec::QoS;
//! use mqtt_test::{RecordedEvent, Sim, SimConfig};
//!
//! let mut sim = Sim::new(&Config::new("doc"), SimConfig::default()).unwrap();
//! sim.connect();
//! assert!(sim.run_until(|s| s.session().is_connected(), Duration::from_secs(1)));
//! sim.subscribe("greetings/#", QoS::AtLeastOnce).unwrap();
//! sim.publish("greetings/world", b"hello", QoS::AtLeastOnce).unwrap();
//! sim.run_until_idle();
//! assert_eq!(sim.broker().received()[0].payload, b"hello");
//! assert_eq!(sim.messages()[0].topic, "greetings/world");
//! ```

use std::fmt;

use mqtt_core::codec::{Publish, QoS, Subscription, SubscriptionOptions};
use mqtt_core::{
    AckToken, Buffers, Config, ConfigError, Instant, PublishError, Session, SubscribeError, Ticket,
};

mod persist;
mod recorded;
mod run;

pub use persist::SimStore;
pub use recorded::RecordedEvent;

use crate::broker::{BrokerConfig, FakeBroker, Message};
use crate::clock::FakeClock;
use crate::link::{LinkConfig, LinkModel};
use crate::trace::{PacketReader, Trace};

/// Rounds of draining at one instant before the simulation declares a livelock.
const MAX_DRIVE_ROUNDS: usize = 100_000;

/// The sizes, link and broker of a [`Sim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// Bytes of the session's receive buffer. Default 4096.
    pub rx_buffer: usize,
    /// Bytes of the session's store (CONNECT, QoS 2 state, outbox). Default 16384.
    pub store_buffer: usize,
    /// Bytes of the session's subscription table. Default 1024.
    pub subscriptions_buffer: usize,
    /// Bytes of the buffer given to `poll_transmit`. Default 4096.
    pub transmit_buffer: usize,
    /// Latency, jitter and seed of the link.
    pub link: LinkConfig,
    /// The broker's behaviour.
    pub broker: BrokerConfig,
    /// Further brokers of a failover list, after `broker` (index 0): the session is told how many there are
    /// ([`Session::set_brokers`]) and each `Open` goes to the one [`Session::broker`] names, as the driver does.
    /// Default none.
    pub failover: Vec<BrokerConfig>,
    /// The virtual time the simulation starts at. Default [`Instant::ZERO`].
    pub start: Instant,
    /// Lines of trace kept (the oldest go first). Default 100,000.
    pub trace_limit: usize,
    /// Print the end of the trace to stderr when a test panics while the `Sim` is alive. Default `true`.
    pub print_trace_on_panic: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            rx_buffer: 4096,
            store_buffer: 16384,
            subscriptions_buffer: 1024,
            transmit_buffer: 4096,
            link: LinkConfig::default(),
            broker: BrokerConfig::default(),
            failover: Vec::new(),
            start: Instant::ZERO,
            trace_limit: 100_000,
            print_trace_on_panic: true,
        }
    }
}

/// A [`Session`] wired to a [`FakeBroker`] through a [`LinkModel`], driven in virtual time. See the
/// [module docs](self).
///
/// Commands go through the wrappers ([`connect`](Self::connect), [`publish`](Self::publish), …), which pass the
/// current virtual time and drain the outputs, or through [`session_mut`](Self::session_mut) followed by
/// [`drive`](Self::drive) (every `step` and `run_*` method drives first, so a command made directly is never lost).
/// The same holds for the broker's knobs through [`broker_mut`](Self::broker_mut).
///
/// The simulated application takes every message at once unless told otherwise: with a
/// [message budget](Self::set_message_budget) it takes that many more and then holds the next one
/// ([`Session::hold_message`]) until the budget grows. With [`Config::manual_ack`] it keeps the token of every QoS 1
/// or 2 message it took ([`unacked`](Self::unacked)) until the test acknowledges it with [`ack`](Self::ack).
pub struct Sim {
    clock: FakeClock,
    session: Session<'static>,
    broker: FakeBroker,
    /// Brokers 1.. of a failover list.
    failover: Vec<FakeBroker>,
    /// Whether each broker (0 first) accepts TCP connections.
    reachable: Vec<bool>,
    /// The broker the link's current connection goes to, and the one the connection being opened goes to.
    active: usize,
    opening: usize,
    link: LinkModel,
    tx_buf: Vec<u8>,
    /// Bytes delivered to the client that the session has not taken yet (its receive buffer was full).
    to_session: Vec<u8>,
    events: Vec<RecordedEvent>,
    trace: Trace,
    readers: [PacketReader; 2],
    print_trace_on_panic: bool,
    /// The session's deadline as last read, and the virtual time it was first read at.
    deadline_seen: Option<(Instant, Instant)>,
    /// When `handle_timeout` was last called.
    timeout_handled_at: Option<Instant>,
    /// Messages the application takes before it holds the next; `None`: no limit.
    message_budget: Option<usize>,
    /// Tokens of the messages taken and not acknowledged by the test yet, in the order taken.
    unacked: Vec<AckToken>,
    /// Messages held back so far.
    holds: usize,
    /// Subscriptions made again on every `Connected` event, as applications do in their connect callback.
    on_connect: Vec<(String, SubscriptionOptions)>,
    /// What `subscribe` returned for each of those requests.
    on_connect_requests: Vec<Result<Ticket, SubscribeError>>,
    /// Sizes of the session's receive buffer, store and subscription table, for a restarted process.
    buffers: (usize, usize, usize),
    /// The session's records, with persistence on ([`Sim::enable_persistence`]).
    store: Option<SimStore>,
    /// Process crashes so far ([`Sim::crash`]).
    crashes: usize,
}

impl fmt::Debug for Sim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sim")
            .field("now", &self.clock.now())
            .field("session_state", &self.session.state())
            .field("broker_connected", &self.broker.is_connected())
            .field("link_up", &self.link.is_up())
            .field("events", &self.events.len())
            .finish_non_exhaustive()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if self.print_trace_on_panic && std::thread::panicking() {
            eprintln!(
                "---- simulation trace (virtual time) ----\n{}",
                self.trace.tail(400)
            );
        }
    }
}

impl Sim {
    /// A session made from `config` with owned buffers of the configured sizes, a broker and a link, all idle.
    /// Nothing happens until [`connect`](Self::connect).
    ///
    /// # Errors
    ///
    /// The [`ConfigError`] of [`Session::new`].
    pub fn new(config: &Config<'_>, sim: SimConfig) -> Result<Self, ConfigError> {
        let buffers = Buffers::owned(sim.rx_buffer, sim.store_buffer, sim.subscriptions_buffer);
        let session = Session::new(config, buffers)?;
        Ok(Self::with_session(session, config, sim))
    }

    /// The buffers [`new`](Self::new) gives a session: for a session made otherwise (with an authenticator, say)
    /// and handed to [`with_session`](Self::with_session).
    pub fn buffers(sim: &SimConfig) -> Buffers<'static> {
        Buffers::owned(sim.rx_buffer, sim.store_buffer, sim.subscriptions_buffer)
    }

    /// A simulation of `session`, made from `config` (for the trace) by the caller.
    pub fn with_session(
        mut session: Session<'static>,
        config: &Config<'_>,
        sim: SimConfig,
    ) -> Self {
        let brokers = 1 + sim.failover.len();
        if brokers > 1 {
            session.set_brokers(brokers);
        }
        let mut trace = Trace::new(sim.trace_limit);
        trace.push(
            sim.start,
            format!(
                "start: {} client '{}', link latency {:?} jitter {:?} seed {:#x}",
                config.version, config.client_id, sim.link.latency, sim.link.jitter, sim.link.seed
            ),
        );
        Self {
            clock: FakeClock::new(sim.start),
            session,
            broker: FakeBroker::new(sim.broker),
            failover: sim.failover.into_iter().map(FakeBroker::new).collect(),
            reachable: vec![true; brokers],
            active: 0,
            opening: 0,
            link: LinkModel::new(sim.link),
            tx_buf: vec![0; sim.transmit_buffer],
            to_session: Vec::new(),
            events: Vec::new(),
            trace,
            readers: Default::default(),
            print_trace_on_panic: sim.print_trace_on_panic,
            deadline_seen: None,
            timeout_handled_at: None,
            message_budget: None,
            unacked: Vec::new(),
            holds: 0,
            on_connect: Vec::new(),
            on_connect_requests: Vec::new(),
            buffers: (sim.rx_buffer, sim.store_buffer, sim.subscriptions_buffer),
            store: None,
            crashes: 0,
        }
    }

    // ----- access -----

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// The virtual clock.
    pub fn clock(&self) -> &FakeClock {
        &self.clock
    }

    /// The session.
    pub fn session(&self) -> &Session<'static> {
        &self.session
    }

    /// The session, for commands and inputs the wrappers do not cover; call [`drive`](Self::drive) afterwards
    /// (or any `step`/`run_*` method, which drives first).
    pub fn session_mut(&mut self) -> &mut Session<'static> {
        &mut self.session
    }

    /// The broker.
    pub fn broker(&self) -> &FakeBroker {
        &self.broker
    }

    /// The broker, for its knobs; call [`drive`](Self::drive) afterwards (or any `step`/`run_*` method).
    pub fn broker_mut(&mut self) -> &mut FakeBroker {
        &mut self.broker
    }

    /// Broker `index` of the failover list (0 is [`broker`](Self::broker)).
    ///
    /// # Panics
    ///
    /// If there is no such broker.
    pub fn broker_at(&self, index: usize) -> &FakeBroker {
        match index {
            0 => &self.broker,
            i => &self.failover[i - 1],
        }
    }

    /// Broker `index` of the failover list, for its knobs.
    ///
    /// # Panics
    ///
    /// If there is no such broker.
    pub fn broker_at_mut(&mut self, index: usize) -> &mut FakeBroker {
        match index {
            0 => &mut self.broker,
            i => &mut self.failover[i - 1],
        }
    }

    /// The index of the broker the link's latest connection went to.
    pub fn active_broker(&self) -> usize {
        self.active
    }

    /// Whether broker `index` of a failover list accepts TCP connections (a stopped node refuses them). With one
    /// broker, use [`LinkModel::set_reachable`] through [`link_mut`](Self::link_mut).
    pub fn set_broker_reachable(&mut self, index: usize, reachable: bool) {
        if let Some(r) = self.reachable.get_mut(index) {
            *r = reachable;
        }
    }

    fn active_mut(&mut self) -> &mut FakeBroker {
        let active = self.active;
        self.broker_at_mut(active)
    }

    /// The link.
    pub fn link(&self) -> &LinkModel {
        &self.link
    }

    /// The link, for cuts, latency and reachability.
    pub fn link_mut(&mut self) -> &mut LinkModel {
        &mut self.link
    }

    /// Every event the session reported since the start (or the last [`take_events`](Self::take_events)).
    pub fn events(&self) -> &[RecordedEvent] {
        &self.events
    }

    /// Takes the recorded events, leaving none.
    pub fn take_events(&mut self) -> Vec<RecordedEvent> {
        std::mem::take(&mut self.events)
    }

    /// The messages among the recorded events, in order.
    pub fn messages(&self) -> Vec<&Message> {
        self.events
            .iter()
            .filter_map(|e| match e {
                RecordedEvent::Message(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    /// What happened so far, for reading when a test fails (printed automatically if the test panics while the
    /// `Sim` is alive, unless [`SimConfig::print_trace_on_panic`] is off).
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// Adds a line of the test's own to the trace.
    pub fn note(&mut self, text: impl Into<String>) {
        self.trace
            .push(self.clock.now(), format!("note: {}", text.into()));
    }

    /// Panics with `message` and the end of the trace (the trace is printed once, by the panic message or by
    /// the `Sim` being dropped, depending on [`SimConfig::print_trace_on_panic`]).
    #[track_caller]
    pub fn fail(&self, message: impl fmt::Display) -> ! {
        if self.print_trace_on_panic {
            panic!("{message}");
        }
        panic!(
            "{message}\n---- simulation trace (virtual time) ----\n{}",
            self.trace.tail(400)
        );
    }

    // ----- the application's pace -----

    /// How many more messages the application takes before it holds the next one back
    /// ([`Session::hold_message`], as an application whose queue is full); `None` (the default) takes every
    /// message. Each message taken counts one down. Drives, so that a held message is taken at once when the budget
    /// allows.
    pub fn set_message_budget(&mut self, budget: Option<usize>) {
        self.command(format!("message budget {budget:?}"));
        self.message_budget = budget;
        self.drive();
    }

    /// What is left of the message budget ([`set_message_budget`](Self::set_message_budget)).
    pub fn message_budget(&self) -> Option<usize> {
        self.message_budget
    }

    /// How many messages the application held back so far (each counted once, however long it was held).
    pub fn holds(&self) -> usize {
        self.holds
    }

    /// The acknowledgement tokens ([`Session::message_ack`]) of the messages the application took and the test has
    /// not acknowledged, in the order they were taken (tokens of ended connections included: acking those does
    /// nothing).
    pub fn unacked(&self) -> &[AckToken] {
        &self.unacked
    }

    /// [`Session::ack`] now, then drive; returns what `ack` returned. The token leaves [`unacked`](Self::unacked).
    pub fn ack(&mut self, token: AckToken) -> bool {
        let now = self.now();
        self.unacked.retain(|t| *t != token);
        let accepted = self.session.ack(token, now);
        self.command(format!("ack {token:?}: {accepted}"));
        self.drive();
        accepted
    }

    /// Acknowledges every token in [`unacked`](Self::unacked), oldest first; returns how many were accepted.
    pub fn ack_all(&mut self) -> usize {
        let tokens = std::mem::take(&mut self.unacked);
        tokens.into_iter().filter(|t| self.ack(*t)).count()
    }

    // ----- commands -----

    /// [`Session::connect`] now, then drive.
    pub fn connect(&mut self) {
        self.command("connect");
        let now = self.now();
        self.session.connect(now);
        self.drive();
    }

    /// [`Session::disconnect`] now, then drive.
    pub fn disconnect(&mut self) {
        self.command("disconnect");
        let now = self.now();
        self.session.disconnect(now);
        self.drive();
    }

    /// [`Session::reconnect`] now, then drive.
    pub fn reconnect(&mut self) {
        self.command("reconnect");
        let now = self.now();
        self.session.reconnect(now);
        self.drive();
    }

    /// Publishes `payload` to `topic` at `qos` (not retained), then drives.
    ///
    /// # Errors
    ///
    /// The [`PublishError`] of [`Session::publish`].
    pub fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
    ) -> Result<Ticket, PublishError> {
        self.publish_message(&Publish {
            qos,
            topic,
            payload,
            ..Publish::default()
        })
    }

    /// [`Session::publish`] now, then drive.
    ///
    /// # Errors
    ///
    /// The [`PublishError`] of [`Session::publish`].
    pub fn publish_message(&mut self, message: &Publish<'_>) -> Result<Ticket, PublishError> {
        let now = self.now();
        let result = self.session.publish(message, now);
        // As the std clients do: the message is stored before `publish` returns.
        self.persist_now();
        self.command(format!(
            "publish '{}' q{}{} {} B: {:?}",
            message.topic,
            message.qos as u8,
            if message.retain { " retain" } else { "" },
            message.payload.len(),
            result
        ));
        self.drive();
        result
    }

    /// Subscribes to one filter at `qos`, then drives.
    ///
    /// # Errors
    ///
    /// The [`SubscribeError`] of [`Session::subscribe`].
    pub fn subscribe(&mut self, filter: &str, qos: QoS) -> Result<Ticket, SubscribeError> {
        self.subscribe_many(&[Subscription::new(filter, qos)])
    }

    /// [`Session::subscribe`] now, then drive.
    ///
    /// # Errors
    ///
    /// The [`SubscribeError`] of [`Session::subscribe`].
    pub fn subscribe_many(
        &mut self,
        subscriptions: &[Subscription<'_>],
    ) -> Result<Ticket, SubscribeError> {
        let now = self.now();
        let result = self.session.subscribe(subscriptions, now);
        let filters: Vec<&str> = subscriptions.iter().map(|s| s.filter).collect();
        self.command(format!("subscribe {filters:?}: {result:?}"));
        self.drive();
        result
    }

    /// [`Session::unsubscribe`] now, then drive.
    ///
    /// # Errors
    ///
    /// The [`SubscribeError`] of [`Session::unsubscribe`].
    pub fn unsubscribe(&mut self, filters: &[&str]) -> Result<Ticket, SubscribeError> {
        let now = self.now();
        let result = self.session.unsubscribe(filters, now);
        self.command(format!("unsubscribe {filters:?}: {result:?}"));
        self.drive();
        result
    }

    /// Subscribes to `filter` with `options` on every [`Event::Connected`](mqtt_core::Event::Connected) from now on, as soon as the event is
    /// polled (before anything else is driven), the way applications subscribe in their connect callback. Several
    /// calls add filters to one request. The results are in [`on_connect_requests`](Self::on_connect_requests).
    pub fn subscribe_on_connect(&mut self, filter: &str, options: SubscriptionOptions) {
        self.on_connect.push((filter.to_owned(), options));
    }

    /// What [`Session::subscribe`] returned for each request made by [`subscribe_on_connect`](Self::subscribe_on_connect),
    /// in order.
    pub fn on_connect_requests(&self) -> &[Result<Ticket, SubscribeError>] {
        &self.on_connect_requests
    }

    /// Breaks the link now ([`LinkModel::cut_now`]): both sides learn of it at once (the clock does not move).
    pub fn cut_link(&mut self) {
        self.command("cut the link");
        let now = self.now();
        self.link.cut_now(now);
        self.settle();
    }

    fn command(&mut self, what: impl fmt::Display) {
        self.trace
            .push(self.clock.now(), format!("command: {what}"));
    }
}
