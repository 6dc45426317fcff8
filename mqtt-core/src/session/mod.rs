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
//! 6. An [`Event::Message`] is the application's once the next call into the session is made, unless the
//!    application calls [`hold_message`](Session::hold_message) first (see below). With
//!    [`Config::manual_ack`] its acknowledgement also waits for [`ack`](Session::ack).
//! 7. Complete packets received before [`handle_transport_down`](Session::handle_transport_down) are still
//!    processed by `poll_event`; the loss is reported after them.
//!
//! # Acknowledging messages manually
//!
//! By default a QoS 1 or 2 message is acknowledged (PUBACK, or PUBREC) as soon as `poll_event` processes it. With
//! [`Config::manual_ack`] the acknowledgement waits until the application says it has the message:
//!
//! - Right after `poll_event` returns an [`Event::Message`] of QoS 1 or 2, [`message_ack`](Session::message_ack)
//!   gives its [`AckToken`]. Once the application has the message in hand (taken from its queue, processed,
//!   stored: its choice), it calls [`ack`](Session::ack) with the token.
//! - Acknowledgements go out in the order the PUBLISH packets arrived, whatever the order of the `ack` calls
//!   (`[MQTT-4.6.0-2]`, `[MQTT-4.6.0-3]`): acking a later message first only marks it; once every earlier one is
//!   acked, the acked run goes out through `poll_transmit` (and shows in `wants_write`).
//! - The session keeps a record of the messages awaiting acknowledgement, in the store, with room for
//!   [`Config::receive_maximum`] of them (the window a 5.0 broker respects). When it is full, the next QoS 1 or 2
//!   PUBLISH stays unprocessed in the receive buffer until an acknowledgement frees a slot: processing stops, the
//!   receive buffer fills, the binding stops reading, and TCP pushes back on the broker. The answers received
//!   behind the waiting PUBLISH packets (PUBACK, PUBREC, PUBCOMP, SUBACK, UNSUBACK, PINGRESP, and a PUBREL for a
//!   message of the QoS 2 table) are handled meanwhile, ahead of them: an application that awaits its own PUBACK
//!   or SUBACK before it acks anything gets it, as long as the receive buffer holds what came before it.
//!   [`pending_acks`](Session::pending_acks) counts the messages in the record.
//! - A connection that ends forgets the record: the tokens of its messages acknowledge nothing any more (`ack`
//!   returns `false`), and the broker sends the unacknowledged messages again on a resumed session. A QoS 1
//!   message then arrives again with a new token (at least once). A QoS 2 message is delivered once only: its
//!   identifier stays in the QoS 2 table as usual, so the broker's resend is not delivered again and is answered
//!   with PUBREC at its turn, without waiting for an `ack` of the earlier token (the application already has the
//!   message).
//! - While the first copy of a QoS 1 or 2 message awaits `ack`, a copy the broker sends again (DUP) is not
//!   delivered and not acknowledged: the one acknowledgement goes when the first is acked. A PUBREL for a QoS 2
//!   message whose PUBREC has not been sent breaks the protocol (the broker releases before it was received) and
//!   closes the connection with [`ProtocolError::UnexpectedPacket`].
//! - A graceful [`disconnect`](Session::disconnect) sends the acknowledgements already acked (in order) before
//!   DISCONNECT; it does not wait for messages the application has not acked.
//!
//! # Holding a message
//!
//! An application whose queues are full calls [`hold_message`](Session::hold_message) right after `poll_event`
//! returned an [`Event::Message`], before any other call into the session. The next `poll_event` returns the same
//! event again (same topic, alias resolved alike, payload, properties, and the same `message_ack` token) without
//! applying any effect a second time (statistics, QoS 2 table, topic aliases, the acknowledgement record), and no
//! later packet is processed until then. It can be held again as often as needed. Meanwhile the binding keeps
//! reading until the receive buffer is full, then stops: the broker and TCP push back. Without manual
//! acknowledgement a held QoS 1 or 2 message's acknowledgement is also held back (if it was not written yet) until
//! the message is taken. A held message is the session's, not the application's: if the connection ends while it
//! is held, it is dropped unacknowledged (the broker sends it again on a resumed session; a QoS 2 message's
//! identifier is taken out of the QoS 2 table for that), and [`has_held_message`](Session::has_held_message)
//! turns `false`.
//!
//! # Pausing and keep alive
//!
//! The session is *paused* ([`is_paused`](Session::is_paused)) while it holds a message, while the next QoS 1 or 2
//! PUBLISH waits for room in the acknowledgement record, and while its receive buffer is full of unprocessed
//! bytes. A PINGRESP may then sit unread behind the paused input, so a ping deadline that passes during a pause
//! does not end the connection; the deadline starts again, `ping_timeout` long, when the pause ends. See
//! [`handle_timeout`](Session::handle_timeout).
//!
//! # MQTT 5.0: what the broker says
//!
//! - [`connack_info`](Session::connack_info): everything the latest CONNACK announced, as one [`ConnAckInfo`]
//!   (assigned client identifier, Server Keep Alive, Maximum QoS, Retain Available, wildcard, subscription
//!   identifier and shared subscription availability, Response Information, Server Reference, Reason String...).
//!   Texts are kept in the store, in slots of [`Config::text_len`] bytes.
//! - [`last_reason`](Session::last_reason): the latest Reason String of any packet, with its packet and code.
//! - Publishing above the broker's Maximum QoS, or retained messages to a broker without them, is refused by
//!   [`publish`](Session::publish) while connected ([`PublishError`](crate::PublishError)); nothing is sent.
//!
//! # Enhanced authentication
//!
//! [`Session::with_authenticator`] takes an [`Authenticator`]: the method, its initial data, and the answer to each
//! challenge. CONNECT carries the method and initial data; AUTH packets carry the exchange; CONNACK ends it;
//! [`reauthenticate`](Session::reauthenticate) starts a new one on the connection. The rules, and what a wrong
//! challenge gets, are in the [`auth`] module.
//!
//! # Redirection
//!
//! With [`Config::follow_redirects`], a CONNACK refusal or DISCONNECT with Use Another Server or Server Moved and a
//! Server Reference sends the next attempt to that server: [`broker`](Session::broker) is then one past the
//! failover list and [`server_reference`](Session::server_reference) names it. The rules are in the [`redirect`]
//! module.

pub mod auth;
mod command;
mod connack;
mod connection;
mod delivery;
mod event;
mod fifo;
mod inputs;
mod journal;
mod low_water;
mod outbox;
#[cfg(feature = "persist")]
pub mod persist;
mod ping;
mod poison;
mod receipt;
mod receive;
pub mod redirect;
mod server;
mod store;
mod subscriptions;
mod timers;
mod too_large;
mod transmit;
mod unsupported;

use core::time::Duration;

pub use auth::{AuthError, Authenticator, AuthenticatorRef, ReauthError};
pub use event::{AckToken, ConnectRefusal, Disconnection, Event, PublishFailure, Ticket};
pub use low_water::ReadMarks;
pub use ping::{Ping, PingError};
pub use server::{ConnAckInfo, Reason};

use crate::buffer::Buffers;
use crate::codec::{self, PacketId, ProtocolVersion, ReasonCode};
use crate::config::{Config, ConfigError, SessionLostPolicy};
use crate::error::ProtocolError;
use crate::reconnect::Backoff;
use crate::time::Instant;
use connection::Transport;
use delivery::Delivery;
use event::OwnedEvent;
use fifo::Fifo;
use outbox::Outbox;
use receipt::Receipts;
use server::ServerLimits;
use store::Store;
use subscriptions::Subscriptions;
use timers::{TIMERS, Timer, wire_keep_alive};

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
    /// MQTT 3.1.1: messages from the broker larger than the maximum packet size, acknowledged and read past
    /// without being delivered ([`Event::MessageTooLarge`]). Counted in `messages_received` too.
    pub messages_too_large: u64,
    /// When bytes were last written to the broker (by [`Session::poll_transmit`]), over every connection.
    pub last_sent_at: Option<Instant>,
    /// When bytes last arrived from the broker (by [`Session::handle_bytes`] or [`Session::commit_read`]),
    /// over every connection.
    pub last_received_at: Option<Instant>,
}

/// A response to an incoming packet waiting to be sent (PUBACK, PUBREC, PUBREL, PUBCOMP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PendingAck {
    packet: codec::PacketType,
    packet_id: PacketId,
    reason: ReasonCode,
    /// A PUBREC whose identifier was noted for the store (feature `persist`): it may go out once that is durable.
    #[cfg(feature = "persist")]
    noted: bool,
}

const ACKS: usize = 32;
/// The smallest Maximum Packet Size a broker may announce for the session to work: its largest acknowledgement,
/// a 5.0 PUBCOMP with a reason code, takes 5 bytes (PINGREQ 2, its DISCONNECT at most 3).
const MIN_SERVER_PACKET_SIZE: u32 = 5;
/// Bytes of a broker's Reason String the session keeps (5.0 only: none in a 3.1.1-only build).
const REASON_STRING_MAX: usize = if cfg!(feature = "v5") { 128 } else { 0 };
const EVENTS: usize = 16;

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
    retry_on_session_taken_over: bool,
    manual_ack: bool,
    clean_start: bool,
    poison_threshold: u8,
    fallback_to_v311: bool,
    read_batch_bytes: usize,
    read_batch_delay: Duration,
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
    /// The message the latest `poll_event` handed out, until its bytes are released.
    delivery: Option<Delivery>,
    /// The application holds `delivery` back: the next `poll_event` returns it again.
    holding: bool,
    /// The token of the message the latest `poll_event` returned.
    last_ack: Option<AckToken>,
    /// The next packet is a QoS 1 or 2 PUBLISH waiting for room in `receipts`.
    input_blocked: bool,
    /// Incoming QoS 1 and 2 messages awaiting the application's acknowledgement (`manual_ack`).
    receipts: Receipts,
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
    /// The oldest request left unanswered by the latest connections that ended, and how many in a row.
    request_strikes: Option<(poison::RequestKey, u8)>,
    inflight: u16,
    /// Read batching's state ([`Config::read_batch_bytes`]).
    batch: low_water::Batch,
    send_connect: bool,
    /// CONNECT was written whole on this connection.
    connect_sent: bool,
    send_ping: bool,
    ping_outstanding: bool,
    /// The ping deadline passed while the session was paused: it starts again when the pause ends.
    ping_deferred: bool,
    /// The application asked for a ping ([`Session::ping`]): the next PINGRESP is reported
    /// ([`Event::PingResponse`]).
    ping_wanted: bool,
    /// When the latest PINGREQ was written.
    ping_sent_at: Instant,
    send_disconnect: Option<ReasonCode>,
    /// The last connection ended because its DISCONNECT could not be written in time (the broker took nothing):
    /// what is still staged for it is dropped ([`close_write_timeout`](Session::close_write_timeout)).
    write_stalled: bool,
    /// The application asked for a reconnect while acknowledgements it had released were not written yet: they
    /// go out first, then the connection ends ([`Session::reconnect`]).
    reconnect_after_acks: bool,
    /// The transport just closed after acknowledgements the broker must get: the binding writes what it staged
    /// before it opens the next one ([`Session::reopens_after_close_write`]).
    reopen_after_write: bool,
    /// The current (or last) attempt is one the application asked for again ([`Session::reconnect`], or
    /// [`Session::connect`] after a failure), not the first connect nor one of the reconnect schedule.
    asked_open: bool,
    /// An attempt the application asked for failed, or its connection ended before
    /// [`stable_after`](crate::reconnect::ReconnectPolicy::stable_after), at `.0`: one it asks for within the
    /// policy's first delay (at most its `paced_retry_window`) after that comes no sooner than `.1`, the reconnect schedule's next
    /// attempt (which keeps growing while they fail).
    paced: Option<(Instant, Instant)>,
    /// Bytes of a too large 3.1.1 PUBLISH still to come, read past without keeping them
    /// ([`Event::MessageTooLarge`]).
    skip_incoming: usize,
    partial: Option<Partial>,
    /// The largest buffer the binding can give `poll_transmit` ([`Session::set_transmit_capacity`]).
    transmit_capacity: Option<usize>,
    /// Bytes the next packet needs when `poll_transmit` wrote nothing for lack of room (0: none).
    transmit_need: usize,
    last_sent: Instant,
    /// When bytes last arrived from the broker (or the transport opened): keep alive pings a broker that has
    /// said nothing for the interval, as well as one the client said nothing to.
    last_received: Instant,
    /// The broker accepted the current connection (CONNACK), until it ends.
    established: bool,
    /// The transport is gone, but complete packets received before that are still to be processed (by
    /// `poll_event`); the connection ends once they are.
    down_pending: bool,
    error: Option<ProtocolError>,
    /// The latest 5.0 Reason String from the broker, cut to fit.
    reason_string: [u8; REASON_STRING_MAX],
    reason_string_len: usize,
    stats: Stats,
    /// Enhanced authentication (MQTT 5.0 AUTH).
    auth: auth::AuthState<'b>,
    /// Following a broker's redirection.
    redirect: redirect::Redirect,
    /// What CONNACK announced beyond the limits, and the latest reason.
    announced: server::Announced,
}

impl<'b> Session<'b> {
    /// Creates a session from its configuration and memory. Nothing happens until [`connect`](Self::connect).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if the configuration cannot work or the buffers are too small for it.
    pub fn new(config: &Config<'_>, buffers: Buffers<'b>) -> Result<Self, ConfigError> {
        Self::build(config, buffers, auth::AuthState::new(None))
    }

    /// Creates a session that authenticates with `authenticator` (MQTT 5.0 enhanced authentication: see
    /// [enhanced authentication](self#enhanced-authentication)). The store keeps room for the method and the
    /// authenticator's largest data, twice; a session with an authenticator does not fall back to 3.1.1.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new), and [`ConfigError::AuthenticationNeedsV5`] with a 3.1.1 configuration.
    pub fn with_authenticator(
        config: &Config<'_>,
        buffers: Buffers<'b>,
        authenticator: impl Into<AuthenticatorRef<'b>>,
    ) -> Result<Self, ConfigError> {
        Self::build(
            config,
            buffers,
            auth::AuthState::new(Some(authenticator.into())),
        )
    }

    fn build(
        config: &Config<'_>,
        buffers: Buffers<'b>,
        auth: auth::AuthState<'b>,
    ) -> Result<Self, ConfigError> {
        if !config.version.is_enabled() {
            return Err(ConfigError::NotInThisBuild(match config.version {
                ProtocolVersion::V311 => "MQTT 3.1.1 (cargo feature v311)",
                _ => "MQTT 5.0 (cargo feature v5)",
            }));
        }
        if !cfg!(feature = "topic-alias")
            && (config.topic_alias_maximum != 0 || config.outgoing_topic_aliases != 0)
        {
            return Err(ConfigError::NotInThisBuild(
                "topic aliases (cargo feature topic-alias)",
            ));
        }
        if !cfg!(feature = "properties")
            && (!config.user_properties.is_empty()
                || config
                    .will
                    .is_some_and(|w| w.properties.has_application_properties()))
        {
            return Err(ConfigError::NotInThisBuild(
                "user properties and will properties (cargo feature properties)",
            ));
        }
        let keep_alive_secs = wire_keep_alive(config.keep_alive);
        if keep_alive_secs > u64::from(u16::MAX) {
            return Err(ConfigError::KeepAliveTooLong(keep_alive_secs));
        }
        if config.max_inflight == 0 || config.max_inflight_v311 == 0 || config.receive_maximum == 0
        {
            return Err(ConfigError::ZeroWindow);
        }
        let mut buffers = buffers;
        // A growable receive buffer starts small; it must hold a CONNACK from the start.
        if buffers.rx.capacity() < 64 || !buffers.rx.grow_to_fit(64) {
            return Err(ConfigError::RxTooSmall(buffers.rx.capacity()));
        }
        let rx_len = u32::try_from(buffers.rx.capacity()).unwrap_or(u32::MAX);
        let max_packet_size = config.max_packet_size.map_or(rx_len, |m| m.min(rx_len));
        let store = Store::new(config, buffers.store, max_packet_size, auth.room())?;
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
            retry_on_session_taken_over: config.reconnect.retry_on_session_taken_over,
            manual_ack: config.manual_ack,
            clean_start: config.clean_start,
            poison_threshold: config.poison_threshold.min(outbox::MAX_STRIKES),
            fallback_to_v311: store.can_fall_back(),
            read_batch_bytes: config.read_batch_bytes,
            read_batch_delay: config.read_batch_delay,
        };
        let receipts = Receipts::new(store.receipts_capacity());
        Ok(Self {
            version: config.version,
            settings,
            state: SessionState::Idle,
            now: Instant::ZERO,
            rx: buffers.rx,
            rx_start: 0,
            rx_end: 0,
            rx_release: 0,
            delivery: None,
            holding: false,
            last_ack: None,
            input_blocked: false,
            receipts,
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
            request_strikes: None,
            inflight: 0,
            batch: low_water::Batch::default(),
            send_connect: false,
            connect_sent: false,
            send_ping: false,
            ping_outstanding: false,
            ping_deferred: false,
            ping_wanted: false,
            ping_sent_at: Instant::ZERO,
            send_disconnect: None,
            write_stalled: false,
            reconnect_after_acks: false,
            reopen_after_write: false,
            asked_open: false,
            paced: None,
            skip_incoming: 0,
            partial: None,
            transmit_capacity: None,
            transmit_need: 0,
            last_sent: Instant::ZERO,
            last_received: Instant::ZERO,
            established: false,
            down_pending: false,
            error: None,
            reason_string: [0; REASON_STRING_MAX],
            reason_string_len: 0,
            stats: Stats::default(),
            auth,
            redirect: redirect::Redirect::new(config.follow_redirects),
            announced: server::Announced::default(),
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
        !self.down_pending && !self.outbox.journal.blocks() && self.wants_write_on_transport()
    }

    fn wants_write_on_transport(&self) -> bool {
        self.partial.is_some()
            || match self.state {
                SessionState::Connecting => self.send_connect || self.auth.wants_write(),
                SessionState::Closing => self.send_disconnect.is_some(),
                SessionState::Connected | SessionState::Disconnecting => {
                    !self.acks.is_empty()
                        || self.auth.wants_write()
                        || self.receipt_ready()
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
    /// index below [`Config::brokers`] (or [`set_brokers`](Self::set_brokers)); while the session follows a
    /// broker's redirection ([`Config::follow_redirects`]), the index one past the list: the server of
    /// [`server_reference`](Self::server_reference).
    ///
    /// The session moves on to the next broker after a failure about the broker
    /// ([`Disconnection::fails_over`]) and stays otherwise. A binding selects this broker before acting on each
    /// [`TransportAction::Open`] (the driver through [`Connect::select`](crate::io::Connect::select)); after
    /// [`Event::Connected`] it names the broker that accepted the connection.
    pub fn broker(&self) -> usize {
        if self.redirect.is_active() {
            self.brokers
        } else {
            self.broker
        }
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

    // A 3.1.1-only build keeps none: `REASON_STRING_MAX` is 0 there.
    #[allow(clippy::unnecessary_min_or_max)]
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

    /// Outgoing messages not yet acknowledged (QoS 1 and 2) or not yet sent (QoS 0): what
    /// [`Event::Disconnected`] counts when a graceful disconnect ends now.
    pub fn unacknowledged(&self) -> usize {
        self.outbox.live()
    }

    /// CONNACK accepted the connection but breaks a rule (Session Present 1 after Clean Start 1): the attempt
    /// fails with `error`; in 5.0 a DISCONNECT with its reason code goes out first, the connection being accepted.
    fn reject_connack(&mut self, error: ProtocolError) {
        let now = self.now;
        self.error = Some(error);
        let reason = Disconnection::Protocol(error);
        self.events.push(OwnedEvent::ConnectFailed(reason));
        self.set_timer(Timer::Connect, None);
        if self.version.is_v5() && !self.down_pending {
            self.state = SessionState::Closing;
            self.send_disconnect = Some(error.reason_code());
            self.arm_disconnect_write(now);
            self.rx_start = 0;
            self.rx_end = 0;
            self.rx_release = 0;
        } else {
            if !self.down_pending {
                self.transport.close();
            }
            self.end_connection(now);
            self.schedule_reconnect(reason, now);
        }
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
            && !self.receipt_ready()
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
