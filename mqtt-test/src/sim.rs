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

use core::time::Duration;
use std::fmt;

use mqtt_core::codec::{Publish, QoS, Subscription, SubscriptionOptions};
use mqtt_core::{
    AckToken, Buffers, Config, ConfigError, Event, Instant, PublishError, Session, SubscribeError,
    Ticket, TransportAction,
};

mod persist;
mod recorded;

pub use persist::SimStore;
pub use recorded::RecordedEvent;

use crate::broker::{BrokerConfig, FakeBroker, Message};
use crate::clock::FakeClock;
use crate::link::{End, LinkConfig, LinkEvent, LinkModel};
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

    /// Subscribes to `filter` with `options` on every [`Event::Connected`] from now on, as soon as the event is
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

    // ----- running -----

    /// Drains the session and the broker at the current instant, as the driving contract asks, until neither
    /// has anything more to do now. No virtual time passes.
    ///
    /// # Panics
    ///
    /// If draining never ends at one instant (livelock), or if the session's deadline afterwards is not in the
    /// future. A deadline at or before now is accepted only when it was read earlier while it was still ahead
    /// and `handle_timeout` has not been called since the clock reached it (the clock stopped at it for a link
    /// delivery at the same instant, which goes first); every deadline the session sets, and whatever it
    /// returns after `handle_timeout(now)`, must be later than now.
    pub fn drive(&mut self) {
        for _ in 0..MAX_DRIVE_ROUNDS {
            if !self.drive_once() {
                self.check_deadline();
                return;
            }
        }
        self.fail(format!(
            "no quiescence after {MAX_DRIVE_ROUNDS} rounds of draining at one instant (livelock)"
        ));
    }

    /// Drives, then processes everything due at the current instant (link deliveries with no latency left,
    /// an expired session deadline). The clock does not move.
    pub fn settle(&mut self) {
        self.drive();
        while self.next_event_at().is_some_and(|t| t <= self.clock.now()) {
            self.step();
        }
    }

    /// When the next thing happens: a link delivery or the session's deadline (never before now).
    pub fn next_event_at(&self) -> Option<Instant> {
        if self.store.as_ref().is_some_and(|s| s.pending() > 0) {
            return Some(self.clock.now());
        }
        let next = match (self.link.next_event_at(), self.session.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        next.map(|t| t.max(self.clock.now()))
    }

    /// Drives, then jumps the clock to the next thing that happens and processes it: one link delivery, or the
    /// session's timeout (a delivery due at the same instant goes first). Returns `false` if nothing is
    /// scheduled at all.
    ///
    /// A delivery to the client takes every other delivery due at the same instant with it before anything is
    /// drained, as one read would: bytes followed by the close of the connection reach the session's receive
    /// buffer before `handle_transport_down`, which must not lose them.
    ///
    /// # Panics
    ///
    /// As [`drive`](Self::drive): if the session's deadline is not in the future after `handle_timeout` (a
    /// session bug that would loop forever) or after any other input, or if draining never ends at one instant.
    pub fn step(&mut self) -> bool {
        self.drive();
        // A lagging store's writes become durable: a step of its own, at the current instant.
        if self.persist_sync() {
            self.trace.push(self.clock.now(), "store: writes durable");
            self.drive();
            return true;
        }
        let Some(at) = self.next_event_at() else {
            return false;
        };
        let now = self.clock.advance_to(at);
        if self.link.next_event_at().is_some_and(|t| t <= now) {
            if let Some(event) = self.link.poll(now) {
                // Everything that reaches the client at one instant arrives together, as in one read: bytes
                // followed by the close are handed to the session before it hears of the close, and it must
                // still process them (`Session::handle_transport_down`). What else is due at that instant is
                // applied with them.
                let to_client = Self::is_for_client(&event);
                self.apply_link_event(event);
                while to_client && self.link.next_event_at().is_some_and(|t| t <= now) {
                    match self.link.poll(now) {
                        Some(event) => self.apply_link_event(event),
                        None => break,
                    }
                }
                self.drive();
            }
        } else {
            let deadline = self.session.poll_timeout();
            self.trace.push(
                now,
                format!("session: handle_timeout (deadline {deadline:?})"),
            );
            self.session.handle_timeout(now);
            self.timeout_handled_at = Some(now);
        }
        self.drive();
        true
    }

    /// Steps until `done` holds, for at most `max` of virtual time. Returns whether `done` held; on `false` the
    /// clock stands at the limit. `done` is checked before the first step and after each one.
    pub fn run_until(&mut self, mut done: impl FnMut(&Self) -> bool, max: Duration) -> bool {
        let end = self.clock.now() + max;
        loop {
            self.drive();
            if done(self) {
                return true;
            }
            match self.next_event_at() {
                Some(at) if at <= end => {
                    self.step();
                }
                _ => {
                    self.clock.advance_to(end);
                    self.drive();
                    return done(self);
                }
            }
        }
    }

    /// Runs for `duration` of virtual time: everything due up to then happens, and the clock ends there.
    pub fn run_for(&mut self, duration: Duration) {
        self.run_until(|_| false, duration);
    }

    /// Runs until the link is quiet: nothing in flight, nothing due. Session deadlines that fall before that are
    /// honoured; later ones (keep alive, reconnect) are not waited for, so this ends even while connected. Use
    /// [`run_for`](Self::run_for) or [`run_until`](Self::run_until) to let timers fire.
    ///
    /// # Panics
    ///
    /// After a million steps (an exchange that never ends).
    pub fn run_until_idle(&mut self) {
        for _ in 0..1_000_000 {
            self.drive();
            let now = self.clock.now();
            let timer_due = self.session.poll_timeout().is_some_and(|t| t <= now);
            let store_due = self.store.as_ref().is_some_and(|s| s.pending() > 0);
            if self.link.next_event_at().is_none() && !timer_due && !store_due {
                return;
            }
            self.step();
        }
        self.fail("run_until_idle: the link never went quiet after a million steps");
    }

    // ----- internals -----

    /// The session's deadline after a drive must lie in the future; see [`drive`](Self::drive).
    fn check_deadline(&mut self) {
        let now = self.clock.now();
        let deadline = self.session.poll_timeout();
        if let Some(at) = deadline
            && at <= now
        {
            let set_while_ahead = self
                .deadline_seen
                .is_some_and(|(seen, read_at)| seen == at && read_at < at);
            if let Some(handled) = self.timeout_handled_at.filter(|&t| t >= at) {
                self.fail(format!(
                    "session bug: poll_timeout() is {at:?} at {now:?}, after handle_timeout({handled:?}): a deadline \
                     not in the future"
                ));
            }
            if !set_while_ahead {
                self.fail(format!(
                    "session bug: poll_timeout() is {at:?} at {now:?}: a new deadline not in the future"
                ));
            }
        }
        if self.deadline_seen.map(|(seen, _)| seen) != deadline {
            self.deadline_seen = deadline.map(|at| (at, now));
        }
    }

    fn drive_once(&mut self) -> bool {
        let now = self.clock.now();
        let mut progress = false;
        while let Some(action) = self.session.poll_transport() {
            progress = true;
            self.on_transport_action(action);
        }
        // The runner stores what changed before it writes to the network (the session holds back what depends on
        // a change until it is durable).
        progress |= self.persist();
        let mut writes = 0usize;
        while let Some(n) = self.session.poll_transmit(now, &mut self.tx_buf) {
            progress = true;
            let bytes = self.tx_buf[..n.min(self.tx_buf.len())].to_vec();
            self.send(End::Client, &bytes);
            writes += 1;
            if writes > MAX_DRIVE_ROUNDS {
                self.fail("poll_transmit never returns None");
            }
        }
        if !self.to_session.is_empty() {
            let n = self.session.handle_bytes(&self.to_session, now);
            if n > 0 {
                progress = true;
                self.to_session.drain(..n.min(self.to_session.len()));
            }
        }
        loop {
            let again = self.session.has_held_message();
            let Some(event) = self.session.poll_event() else {
                break;
            };
            let is_message = matches!(event, Event::Message(_));
            let event = RecordedEvent::from(event);
            if is_message && self.message_budget == Some(0) {
                // The application's queue is full: hold it (again), and look no further now.
                let held = self.session.hold_message();
                if !again {
                    progress = true;
                    self.holds += 1;
                    self.trace
                        .push(now, format!("application holds {event} (held: {held})"));
                }
                break;
            }
            progress = true;
            if is_message {
                self.message_budget = self.message_budget.map(|b| b.saturating_sub(1));
                if let Some(token) = self.session.message_ack() {
                    self.unacked.push(token);
                }
            }
            self.trace.push(now, format!("session event: {event}"));
            let connected = matches!(event, RecordedEvent::Connected { .. });
            self.events.push(event);
            if connected && !self.on_connect.is_empty() {
                let subscriptions: Vec<Subscription<'_>> = self
                    .on_connect
                    .iter()
                    .map(|(filter, options)| Subscription {
                        filter,
                        options: *options,
                    })
                    .collect();
                let result = self.session.subscribe(&subscriptions, now);
                self.trace.push(
                    now,
                    format!(
                        "command (on connect): subscribe {:?}: {result:?}",
                        self.on_connect
                            .iter()
                            .map(|(f, _)| f.as_str())
                            .collect::<Vec<_>>()
                    ),
                );
                self.on_connect_requests.push(result);
            }
        }
        while let Some(bytes) = self.active_mut().poll_transmit() {
            progress = true;
            self.send(End::Broker, &bytes);
        }
        if self.active_mut().poll_close() {
            progress = true;
            self.trace.push(now, "broker closes the connection");
            self.link.close(End::Broker, now);
        }
        progress
    }

    fn on_transport_action(&mut self, action: TransportAction) {
        let now = self.clock.now();
        self.trace
            .push(now, format!("session: poll_transport → {action:?}"));
        self.to_session.clear();
        match action {
            TransportAction::Open => {
                for reader in &mut self.readers {
                    reader.reset();
                }
                if !self.failover.is_empty() {
                    // Events of the old connection still reach the old broker: the new one is chosen when the
                    // link reports the new connection.
                    self.opening = self.session.broker() % self.reachable.len();
                    self.link.set_reachable(self.reachable[self.opening]);
                    self.trace
                        .push(now, format!("open goes to broker {}", self.opening));
                }
                self.link.open(now);
            }
            TransportAction::Close => self.link.close(End::Client, now),
        }
    }

    fn send(&mut self, from: End, bytes: &[u8]) {
        let now = self.clock.now();
        let version = self.session.version();
        let packets = self.readers[usize::from(from == End::Broker)].feed(bytes, version);
        let taken = self.link.send(from, bytes, now);
        let mut line = format!("{from} sends {} B", bytes.len());
        if taken < bytes.len() {
            line += &format!(" (the link took {taken} B)");
        }
        if !packets.is_empty() {
            line += ": ";
            line += &packets.join(", ");
        }
        self.trace.push(now, line);
    }

    fn is_for_client(event: &LinkEvent) -> bool {
        matches!(
            event,
            LinkEvent::Data {
                to: End::Client,
                ..
            } | LinkEvent::Closed { to: End::Client }
        )
    }

    /// Applies one delivery of the link, without draining the session or the broker afterwards.
    fn apply_link_event(&mut self, event: LinkEvent) {
        let now = self.clock.now();
        match event {
            LinkEvent::Opened => {
                self.active = self.opening;
                self.trace.push(now, "link: connection established");
                self.active_mut().handle_connection_opened();
                self.session.handle_transport_up(now);
            }
            LinkEvent::Refused => {
                self.active = self.opening;
                self.trace.push(now, "link: connection refused");
                self.session.handle_transport_down(now);
            }
            LinkEvent::Data {
                to: End::Broker,
                bytes,
            } => {
                self.trace
                    .push(now, format!("broker receives {} B", bytes.len()));
                self.active_mut().handle_bytes(&bytes);
            }
            LinkEvent::Data {
                to: End::Client,
                bytes,
            } => {
                self.trace
                    .push(now, format!("client receives {} B", bytes.len()));
                self.to_session.extend_from_slice(&bytes);
                self.feed_session();
            }
            LinkEvent::Closed { to: End::Broker } => {
                self.trace
                    .push(now, "link: broker sees the connection close");
                self.active_mut().handle_connection_closed();
            }
            LinkEvent::Closed { to: End::Client } => {
                // Bytes that arrived before the close are read before it is noticed, as a binding reads up to
                // the end of the stream: into the session's receive buffer, draining events only to make room.
                loop {
                    self.feed_session();
                    if self.to_session.is_empty() || !self.drive_once() {
                        break;
                    }
                }
                self.to_session.clear();
                self.trace
                    .push(now, "link: client sees the connection close");
                self.session.handle_transport_down(now);
            }
        }
    }

    /// Hands the session what its receive buffer takes of the bytes received, without processing them.
    fn feed_session(&mut self) {
        let now = self.clock.now();
        let n = self.session.handle_bytes(&self.to_session, now);
        self.to_session.drain(..n.min(self.to_session.len()));
    }
}
