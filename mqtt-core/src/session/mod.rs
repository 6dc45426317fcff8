//! The sans-IO MQTT session: every protocol behaviour of the client, driven by bytes, commands and time.
//!
//! A [`Session`] takes input (bytes received, transport up/down, timeouts, application commands), each with the
//! current time, and produces output (bytes to send, transport actions, application events, its next deadline).
//! It never performs I/O, reads a clock or allocates.
//!
//! # Driving a session
//!
//! 1. After every command or input, drain [`poll_transport`](Session::poll_transport), then
//!    [`poll_transmit`](Session::poll_transmit) until it returns `None`, then [`poll_event`](Session::poll_event)
//!    until it returns `None`, and read [`poll_timeout`](Session::poll_timeout) last. Each output can feed the
//!    others (processing a packet in `poll_event` queues its acknowledgement; writing DISCONNECT in `poll_transmit`
//!    queues a transport `Close` and an event), so loop until all three are empty.
//! 2. `now` never goes backwards. A spurious [`handle_timeout`](Session::handle_timeout) is harmless.
//! 3. Every call does a bounded amount of work.
//! 4. A protocol error by the broker closes the connection (with a 5.0 DISCONNECT carrying a reason code), is
//!    reported as [`Event::ConnectionLost`], stays readable from [`Session::error`] until the next successful
//!    connection, and the reconnect policy applies.
//! 5. Broker refusals of individual requests are events ([`Event::PublishFailed`], failure codes in
//!    [`Event::Subscribed`]), not errors of the command.

mod command;
mod connection;
mod event;
mod fifo;
mod outbox;
mod receive;
mod store;
mod subscriptions;
mod transmit;
mod unsupported;

use core::time::Duration;

pub use event::{ConnectRefusal, Disconnection, Event, PublishFailure, Ticket};

use crate::buffer::Buffers;
use crate::codec::{self, PacketId, ProtocolVersion, QoS, ReasonCode};
use crate::config::{Config, ConfigError, SessionLostPolicy};
use crate::error::ProtocolError;
use crate::reconnect::Backoff;
use crate::time::Instant;
use connection::Transport;
use event::OwnedEvent;
use fifo::Fifo;
use outbox::Outbox;
use store::Store;
use subscriptions::Subscriptions;

/// What the binding should do with its transport, from [`Session::poll_transport`].
///
/// The session keeps what it wants of the transport as a desired state, not as a queue: however many commands
/// came in between (`reconnect`, `disconnect`, `connect`...), the binding is asked at most to `Close` what it has
/// and then to `Open` a new connection, and the last command decides whether the `Open` is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportAction {
    /// Open a new connection to the broker, then call [`Session::handle_transport_up`] (or
    /// [`Session::handle_transport_down`] if that fails).
    Open,
    /// Close the current connection, or cancel an open still in progress. The session already considers it
    /// closed: what the binding reports about it (`handle_transport_up`, `handle_transport_down`) before it has
    /// taken every pending action is ignored.
    Close,
}

/// Where the session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionState {
    /// Not started: call [`Session::connect`].
    Idle,
    /// Waiting for the reconnect timer.
    Waiting,
    /// The transport is being opened.
    Opening,
    /// CONNECT sent (or about to be), waiting for CONNACK.
    Connecting,
    /// Connected: messages flow.
    Connected,
    /// Closing the connection after a protocol error (sending DISCONNECT first).
    Closing,
    /// Disconnecting at the application's request: flushing, then DISCONNECT.
    Disconnecting,
    /// Stopped: disconnected by the application, or gave up. A call to `connect` starts again.
    Closed,
}

/// Counters of a session's life, as device APIs report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// When the first connection was accepted.
    pub first_connected_at: Option<Instant>,
    /// When the latest connection was accepted.
    pub last_connected_at: Option<Instant>,
    /// When the latest connection ended.
    pub last_disconnected_at: Option<Instant>,
    /// Established connections that ended.
    pub disconnections: u32,
    /// Bytes received.
    pub bytes_received: u64,
    /// PUBLISH packets received.
    pub messages_received: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// PUBLISH packets sent (resends included).
    pub messages_sent: u64,
}

/// Timers, each with at most one deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    /// Next connection attempt.
    Reconnect,
    /// Transport open and CONNACK.
    Connect,
    /// PINGRESP.
    Ping,
    /// Graceful disconnect gives up waiting for acknowledgements.
    Disconnect,
}

const TIMERS: usize = 4;

/// What a 5.0 broker said about itself in CONNACK (3.1.1: the permissive defaults).
#[derive(Debug, Clone, Copy)]
struct ServerLimits {
    receive_maximum: u16,
    max_packet_size: u32,
    topic_alias_maximum: u16,
    max_qos: QoS,
    retain_available: bool,
    subscription_ids_available: bool,
    shared_available: bool,
    wildcards_available: bool,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            receive_maximum: u16::MAX,
            max_packet_size: u32::MAX,
            topic_alias_maximum: 0,
            max_qos: QoS::ExactlyOnce,
            retain_available: true,
            subscription_ids_available: true,
            shared_available: true,
            wildcards_available: true,
        }
    }
}

/// A response to an incoming packet waiting to be sent (PUBACK, PUBREC, PUBREL, PUBCOMP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PendingAck {
    packet: codec::PacketType,
    packet_id: PacketId,
    reason: ReasonCode,
}

const ACKS: usize = 32;
/// Bytes of a broker's Reason String the session keeps.
const REASON_STRING_MAX: usize = 128;
const EVENTS: usize = 32;

/// A transmit that did not fit the caller's buffer and continues in the next `poll_transmit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Partial {
    /// The stored CONNECT, from this offset.
    Connect(usize),
    /// The outbox record at `pos`, from `offset` into its packet.
    Record { pos: usize, offset: usize },
    /// The outbox record at `pos`, stored in 5.0 form and sent in 3.1.1 form after a fall back, from `offset` into
    /// the 3.1.1 packet.
    Downgraded { pos: usize, offset: usize },
}

/// The settings a session keeps from its [`Config`].
#[derive(Debug, Clone, Copy)]
struct Settings {
    keep_alive: Duration,
    connect_timeout: Duration,
    ping_timeout: Duration,
    disconnect_timeout: Duration,
    max_inflight: u16,
    max_inflight_v311: u16,
    max_packet_size: u32,
    outgoing_topic_aliases: u16,
    on_session_lost: SessionLostPolicy,
    retry_on_auth_failure: bool,
    fallback_to_v311: bool,
}

/// The MQTT client session: the state machine every binding drives. See the [module docs](self) for the contract.
///
/// Its `Debug` output is a short summary (state, counters): never the buffers, so never a password or a message.
pub struct Session<'b> {
    version: ProtocolVersion,
    settings: Settings,
    state: SessionState,
    now: Instant,
    rx: crate::buffer::Buf<'b>,
    rx_start: usize,
    rx_end: usize,
    /// Bytes of the packet handed out by the last `poll_event`, released by the next call.
    rx_release: usize,
    store: Store<'b>,
    subscriptions_buf: crate::buffer::Buf<'b>,
    subscriptions: Subscriptions,
    outbox: Outbox,
    backoff: Backoff,
    timers: [Option<Instant>; TIMERS],
    acks: Fifo<PendingAck, ACKS>,
    events: Fifo<OwnedEvent, EVENTS>,
    transport: Transport,
    /// Brokers of the failover list, and the one the current or next attempt uses.
    brokers: usize,
    broker: usize,
    server: ServerLimits,
    /// Keep alive in force on this connection (the server may override the configured one).
    keep_alive: Duration,
    next_packet_id: u16,
    next_ticket: u32,
    inflight: u16,
    send_connect: bool,
    /// CONNECT was written whole on this connection.
    connect_sent: bool,
    send_ping: bool,
    ping_outstanding: bool,
    send_disconnect: Option<ReasonCode>,
    partial: Option<Partial>,
    last_sent: Instant,
    error: Option<ProtocolError>,
    /// The latest 5.0 Reason String from the broker, cut to fit.
    reason_string: [u8; REASON_STRING_MAX],
    reason_string_len: usize,
    stats: Stats,
}

impl<'b> Session<'b> {
    /// Creates a session from its configuration and memory. Nothing happens until [`connect`](Self::connect).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if the configuration cannot work or the buffers are too small for it.
    pub fn new(config: &Config<'_>, buffers: Buffers<'b>) -> Result<Self, ConfigError> {
        let keep_alive_secs = config.keep_alive.as_secs();
        if keep_alive_secs > u64::from(u16::MAX) {
            return Err(ConfigError::KeepAliveTooLong(keep_alive_secs));
        }
        if config.max_inflight == 0 || config.max_inflight_v311 == 0 || config.receive_maximum == 0
        {
            return Err(ConfigError::ZeroWindow);
        }
        if buffers.rx.len() < 64 {
            return Err(ConfigError::RxTooSmall(buffers.rx.len()));
        }
        let rx_len = u32::try_from(buffers.rx.len()).unwrap_or(u32::MAX);
        let max_packet_size = config.max_packet_size.map_or(rx_len, |m| m.min(rx_len));
        let store = Store::new(config, buffers.store, max_packet_size)?;
        let settings = Settings {
            keep_alive: Duration::from_secs(keep_alive_secs),
            connect_timeout: config.connect_timeout,
            ping_timeout: config.ping_timeout,
            disconnect_timeout: config.disconnect_timeout,
            max_inflight: config.max_inflight,
            max_inflight_v311: config.max_inflight_v311,
            max_packet_size,
            outgoing_topic_aliases: config.outgoing_topic_aliases,
            on_session_lost: config.on_session_lost,
            retry_on_auth_failure: config.reconnect.retry_on_auth_failure,
            fallback_to_v311: store.can_fall_back(),
        };
        Ok(Self {
            version: config.version,
            settings,
            state: SessionState::Idle,
            now: Instant::ZERO,
            rx: buffers.rx,
            rx_start: 0,
            rx_end: 0,
            rx_release: 0,
            store,
            subscriptions_buf: buffers.subscriptions,
            subscriptions: Subscriptions::default(),
            outbox: Outbox::default(),
            backoff: Backoff::new(config.reconnect),
            timers: [None; TIMERS],
            acks: Fifo::new(),
            events: Fifo::new(),
            transport: Transport::default(),
            brokers: config.brokers.max(1),
            broker: 0,
            server: ServerLimits::default(),
            keep_alive: Duration::from_secs(keep_alive_secs),
            next_packet_id: 1,
            next_ticket: 1,
            inflight: 0,
            send_connect: false,
            connect_sent: false,
            send_ping: false,
            ping_outstanding: false,
            send_disconnect: None,
            partial: None,
            last_sent: Instant::ZERO,
            error: None,
            reason_string: [0; REASON_STRING_MAX],
            reason_string_len: 0,
            stats: Stats::default(),
        })
    }

    // ----- getters -----

    /// The protocol version of this session.
    pub fn version(&self) -> ProtocolVersion {
        self.version
    }

    /// Where the session is in its life.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// Whether the broker has accepted the current connection.
    pub fn is_connected(&self) -> bool {
        matches!(
            self.state,
            SessionState::Connected | SessionState::Disconnecting
        )
    }

    /// Whether [`poll_transmit`](Self::poll_transmit) has bytes to give (drives write interest in poll loops).
    pub fn wants_write(&self) -> bool {
        self.partial.is_some()
            || match self.state {
                SessionState::Connecting => self.send_connect,
                SessionState::Closing => self.send_disconnect.is_some(),
                SessionState::Connected | SessionState::Disconnecting => {
                    !self.acks.is_empty()
                        || self.send_ping
                        || self.send_disconnect.is_some()
                        || self.has_subscription_work()
                        || self.outbox_can_send()
                        || self.disconnect_due()
                }
                _ => false,
            }
    }

    /// Outgoing QoS 1 and 2 messages sent on the current connection and not yet acknowledged.
    ///
    /// Zero while disconnected: unacknowledged messages are then only [`queued`](Self::queued), and count here again
    /// once they are resent.
    pub fn inflight(&self) -> u16 {
        self.inflight
    }

    /// Outgoing messages held: in flight, queued, or awaiting a report.
    pub fn queued(&self) -> usize {
        self.outbox.records()
    }

    /// Which broker of the failover list the current connection or attempt uses, or the next attempt will: an
    /// index below [`Config::brokers`] (or [`set_brokers`](Self::set_brokers)).
    ///
    /// The session moves on to the next broker after a failure about the broker
    /// ([`Disconnection::fails_over`]) and stays otherwise. A binding selects this broker before acting on each
    /// [`TransportAction::Open`] (the driver through [`Connect::select`](crate::io::Connect::select)); after
    /// [`Event::Connected`] it names the broker that accepted the connection.
    pub fn broker(&self) -> usize {
        self.broker
    }

    /// Sets the number of brokers the binding rotates over (at least 1), as [`Config::brokers`] does. The driver
    /// calls it with its connector's [`Connect::brokers`](crate::io::Connect::brokers).
    pub fn set_brokers(&mut self, brokers: usize) {
        self.brokers = brokers.max(1);
        self.broker %= self.brokers;
    }

    /// The counters of this session.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The protocol error that closed the last connection, until the next successful connection.
    pub fn error(&self) -> Option<ProtocolError> {
        self.error
    }

    /// The latest Reason String a 5.0 broker sent with a failure (CONNACK refusal, DISCONNECT, or a refused
    /// PUBLISH), cut at a character boundary to 128 bytes. Kept until the next one.
    pub fn last_reason_string(&self) -> Option<&str> {
        let bytes = self.reason_string.get(..self.reason_string_len)?;
        core::str::from_utf8(bytes).ok().filter(|s| !s.is_empty())
    }

    fn keep_reason_string(&mut self, reason: Option<&str>) {
        let Some(reason) = reason else {
            return;
        };
        let mut len = reason.len().min(REASON_STRING_MAX);
        while !reason.is_char_boundary(len) {
            len -= 1;
        }
        if let (Some(dst), Some(src)) = (
            self.reason_string.get_mut(..len),
            reason.as_bytes().get(..len),
        ) {
            dst.copy_from_slice(src);
            self.reason_string_len = len;
        }
    }

    /// The keep alive in force (the broker may have overridden the configured one).
    pub fn keep_alive(&self) -> Duration {
        self.keep_alive
    }

    /// The client identifier the broker assigned (5.0), if it assigned one.
    pub fn assigned_client_id(&self) -> Option<&str> {
        self.store.assigned_client_id()
    }

    // ----- inputs -----

    /// The transport the session asked for ([`TransportAction::Open`]) is open: CONNECT goes out next.
    ///
    /// Ignored while [`poll_transport`](Self::poll_transport) has actions to give: the transport it reports is one
    /// the session has since asked to close.
    pub fn handle_transport_up(&mut self, now: Instant) {
        self.now = now;
        if self.state == SessionState::Opening && !self.transport.is_pending() {
            self.state = SessionState::Connecting;
            self.send_connect = true;
            self.partial = None;
            self.last_sent = now;
        }
    }

    /// The transport closed or failed (or could not be opened). The reconnect policy decides what follows.
    ///
    /// Ignored while [`poll_transport`](Self::poll_transport) has actions to give: the transport it reports is one
    /// the session has already given up (and the attempt the session wants next has not started).
    pub fn handle_transport_down(&mut self, now: Instant) {
        self.now = now;
        if self.transport.is_pending() {
            return;
        }
        match self.state {
            SessionState::Opening | SessionState::Connecting => {
                self.fail_attempt(Disconnection::TransportClosed, now);
            }
            SessionState::Connected => self.lose(Disconnection::TransportClosed, now),
            SessionState::Closing => self.finish_closing(now),
            SessionState::Disconnecting => {
                self.end_connection(now);
                self.close_for_good();
                self.push_disconnected();
            }
            SessionState::Idle | SessionState::Waiting | SessionState::Closed => {}
        }
    }

    /// Processes time passing: reconnect, connect timeout, keep alive and ping timeout, disconnect timeout.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if self.expired(Timer::Reconnect, now) {
            self.set_timer(Timer::Reconnect, None);
            if self.state == SessionState::Waiting {
                self.open(now);
            }
        }
        if self.expired(Timer::Connect, now) {
            self.set_timer(Timer::Connect, None);
            if matches!(self.state, SessionState::Opening | SessionState::Connecting) {
                self.transport.close();
                self.fail_attempt(Disconnection::ConnectTimeout, now);
            }
        }
        if self.expired(Timer::Ping, now) {
            self.set_timer(Timer::Ping, None);
            if self.ping_outstanding && self.is_connected() {
                self.transport.close();
                self.lose(Disconnection::KeepAliveTimeout, now);
            }
        }
        if self.expired(Timer::Disconnect, now) {
            self.set_timer(Timer::Disconnect, None);
            if self.state == SessionState::Disconnecting && self.send_disconnect.is_none() {
                self.send_disconnect = Some(ReasonCode::NORMAL_DISCONNECTION);
            }
        }
        if let Some(due) = self.keep_alive_due()
            && now >= due
        {
            self.send_ping = true;
            self.ping_outstanding = true;
            self.set_timer(Timer::Ping, Some(now + self.settings.ping_timeout));
        }
    }

    /// Copies received bytes in and returns how many were taken. Fewer than offered means the receive buffer is
    /// full: drain [`poll_event`](Self::poll_event), then offer the rest again.
    pub fn handle_bytes(&mut self, bytes: &[u8], now: Instant) -> usize {
        let free = self.read_buf();
        let n = bytes.len().min(free.len());
        if let (Some(dst), Some(src)) = (free.get_mut(..n), bytes.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.commit_read(n, now);
        n
    }

    /// The free part of the receive buffer, to read into directly; follow with [`commit_read`](Self::commit_read).
    pub fn read_buf(&mut self) -> &mut [u8] {
        self.release_rx();
        if self.rx_end == self.rx.len() && self.rx_start > 0 {
            self.rx.copy_within(self.rx_start..self.rx_end, 0);
            self.rx_end -= self.rx_start;
            self.rx_start = 0;
        }
        self.rx.get_mut(self.rx_end..).unwrap_or_default()
    }

    /// Takes `n` bytes written into [`read_buf`](Self::read_buf).
    pub fn commit_read(&mut self, n: usize, now: Instant) {
        self.now = now;
        if !matches!(
            self.state,
            SessionState::Connecting | SessionState::Connected | SessionState::Disconnecting
        ) {
            // Bytes after the session gave up on the connection mean nothing.
            return;
        }
        let n = n.min(self.rx.len() - self.rx_end);
        self.rx_end += n;
        self.stats.bytes_received += n as u64;
    }

    // ----- outputs -----

    /// The next thing the binding must do with its transport: at most a `Close` followed by an `Open` (see
    /// [`TransportAction`]). Changes after commands, `handle_timeout`, `handle_transport_down`, and what
    /// `poll_event` and `poll_transmit` find (a refusal, a DISCONNECT, a protocol error): drain it after each.
    ///
    /// Before acting on an `Open`, a binding with several brokers selects the one [`broker`](Self::broker) names.
    #[must_use]
    pub fn poll_transport(&mut self) -> Option<TransportAction> {
        self.transport.poll()
    }

    /// The earliest time [`handle_timeout`](Self::handle_timeout) must be called, if any. Changes after every
    /// input, command and output call; read it last.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let timers = self.timers.iter().flatten().copied();
        timers.chain(self.keep_alive_due()).min()
    }

    // ----- internals shared by receive and transmit -----

    fn next_ticket(&mut self) -> Ticket {
        let ticket = Ticket(self.next_ticket);
        self.next_ticket = self.next_ticket.checked_add(1).unwrap_or(1);
        ticket
    }

    /// Allocates a packet identifier not in use by any message or request in flight. `[MQTT-2.2.1-3]`
    fn allocate_packet_id(&mut self) -> Option<PacketId> {
        for _ in 0..=u16::MAX {
            let candidate = PacketId::new(self.next_packet_id);
            self.next_packet_id = self.next_packet_id.checked_add(1).unwrap_or(1);
            if let Some(id) = candidate
                && !self.outbox.uses_packet_id(self.store.ring(), id)
                && !self
                    .subscriptions
                    .uses_packet_id(&self.subscriptions_buf, id)
            {
                return Some(id);
            }
        }
        None
    }

    fn set_timer(&mut self, timer: Timer, at: Option<Instant>) {
        if let Some(slot) = self.timers.get_mut(timer as usize) {
            *slot = at;
        }
    }

    fn expired(&self, timer: Timer, now: Instant) -> bool {
        self.timers
            .get(timer as usize)
            .copied()
            .flatten()
            .is_some_and(|at| now >= at)
    }

    fn keep_alive_due(&self) -> Option<Instant> {
        (self.is_connected() && !self.keep_alive.is_zero() && !self.ping_outstanding)
            .then(|| self.last_sent + self.keep_alive)
    }

    /// Outgoing messages not yet acknowledged (QoS 1 and 2) or not yet sent (QoS 0).
    fn unacknowledged(&self) -> usize {
        self.outbox.live()
    }

    /// Reports the end of a disconnect asked for by the application, with what stays queued.
    fn push_disconnected(&mut self) {
        let unacknowledged = self.unacknowledged();
        self.events
            .push(OwnedEvent::Disconnected { unacknowledged });
    }

    fn disconnect_due(&self) -> bool {
        self.state == SessionState::Disconnecting
            && self.send_disconnect.is_none()
            && self.outbox.is_empty()
            && self.acks.is_empty()
            && !self.has_subscription_work()
    }
}

impl core::fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("version", &self.version)
            .field("state", &self.state)
            .field("broker", &self.broker)
            .field("inflight", &self.inflight)
            .field("queued", &self.outbox.records())
            .field("error", &self.error)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}
