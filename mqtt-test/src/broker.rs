//! [`FakeBroker`]: a scriptable, sans-IO MQTT broker for one client, built on the core codec.
//!
//! The broker speaks 3.1.1 and 5.0 (whichever the client's CONNECT asks for), keeps the client's session across
//! connections as a real broker does, routes the client's messages back to it when it subscribed to their topics,
//! and runs both QoS flows in both directions. Knobs make it misbehave on purpose: refuse connections, lose the
//! session, go silent, hold acknowledgements, disconnect, send arbitrary bytes.
//!
//! It has no clock and no transport: the [`Sim`](crate::Sim) (or a test) feeds it bytes and connection events and
//! takes what it wants to send. Everything it saw is kept for assertions: the accepted messages
//! ([`received`](FakeBroker::received)), the connection attempts ([`connections`](FakeBroker::connections)), a log
//! of every packet in both directions ([`log`](FakeBroker::log)), and the client's protocol violations
//! ([`violations`](FakeBroker::violations)).
//!
//! # Sessions
//!
//! The session (subscriptions, messages in flight towards the client, QoS 2 packet identifiers awaiting PUBREL)
//! outlives a connection when the client asked for it: in 3.1.1 with Clean Session 0, in 5.0 with a Session Expiry
//! Interval above 0 (the broker has no clock, so a session never expires while it is offline). A CONNECT with Clean
//! Start 1 discards it. [`forget_session`](FakeBroker::forget_session) simulates a broker restart that lost it.

mod config;
mod incoming;
mod outgoing;
mod record;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::num::{NonZeroU16, NonZeroU32};

use mqtt_core::codec::{
    self, Ack, ConnAck, ConnAckProperties, Connect, Disconnect, List, Packet, PacketId, PacketType,
    ProtocolVersion, Publish, QoS, ReasonCode, RetainHandling, SubAck, Subscribe, UnsubAck,
    Unsubscribe,
};
use mqtt_core::{DecodeError, topic};

pub use config::{BrokerAuth, BrokerConfig, V5Connect};
pub use record::{BrokerSubscription, ConnectRecord, Message, PacketRecord};

use outgoing::Outgoing;

use crate::link::Direction;

/// The state the broker keeps for the client across connections.
#[derive(Debug, Clone)]
struct ClientSession {
    client_id: String,
    /// Whether it survives the end of the connection.
    persistent: bool,
    subscriptions: Vec<BrokerSubscription>,
    outgoing: Vec<Outgoing>,
    /// Packet identifiers of the client's QoS 2 messages accepted and awaiting PUBREL.
    awaiting_pubrel: BTreeSet<u16>,
    next_packet_id: u16,
}

/// An acknowledgement held back by [`BrokerConfig::hold_acks`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HeldAck {
    packet: PacketType,
    packet_id: PacketId,
    reason: ReasonCode,
}

/// The state of one transport connection.
#[derive(Debug, Default)]
struct Connection {
    /// Known from the first bytes of CONNECT.
    version: Option<ProtocolVersion>,
    /// CONNECT received.
    connect_seen: bool,
    /// CONNACK with success sent.
    accepted: bool,
    rx: Vec<u8>,
    client_receive_maximum: u16,
    client_maximum_packet_size: u32,
    client_topic_alias_maximum: u16,
    aliases_to_client: HashMap<String, u16>,
    aliases_from_client: HashMap<u16, String>,
    held: Vec<HeldAck>,
    will: Option<Message>,
    /// The enhanced authentication running: the client's nonce, the server's, whether it is a re-authentication.
    auth: Option<(Vec<u8>, String, bool)>,
    /// The CONNECT waiting for its authentication to end, encoded.
    pending_connect: Option<Vec<u8>>,
    authenticated: bool,
}

/// A scriptable sans-IO MQTT broker for one client. See the [module docs](self).
///
/// Driving it: [`handle_connection_opened`](Self::handle_connection_opened) when a transport connection opens,
/// [`handle_bytes`](Self::handle_bytes) with what the client sent, [`handle_connection_closed`](Self::handle_connection_closed)
/// when the client (or the network) closed it; after each call and each knob, take
/// [`poll_transmit`](Self::poll_transmit) until `None`, then [`poll_close`](Self::poll_close) to learn whether the
/// broker closes the connection itself.
///
/// ```
/// use mqtt_core::codec::{self, ConnAck, Connect, Packet, ProtocolVersion};
/// use mqtt_test::FakeBroker;
///
/// let v = ProtocolVersion::V311;
/// let mut broker = FakeBroker::default();
/// broker.handle_connection_opened();
/// let connect = Packet::Connect(Connect { client_id: "c1", clean_start: true, ..Default::default() });
/// let mut buf = vec![0; connect.encoded_len(v)];
/// connect.encode(v, &mut buf).unwrap();
/// broker.handle_bytes(&buf);
///
/// let out = broker.poll_transmit().unwrap();
/// let (answer, _) = codec::decode(&out, v, u32::MAX).unwrap().unwrap();
/// assert_eq!(answer, Packet::ConnAck(ConnAck::default()));
/// assert!(broker.is_connected());
/// assert_eq!(broker.connections()[0].client_id, "c1");
/// ```
#[derive(Debug, Default)]
pub struct FakeBroker {
    config: BrokerConfig,
    conn: Option<Connection>,
    session: Option<ClientSession>,
    forget_next: bool,
    tx: Vec<u8>,
    close_pending: bool,
    received: Vec<Message>,
    delivered: Vec<Message>,
    connections: Vec<ConnectRecord>,
    pings: usize,
    log: Vec<PacketRecord>,
    violations: Vec<String>,
    retained: BTreeMap<String, Message>,
    wills: Vec<Message>,
    discarded: usize,
    assigned_ids: u32,
    authentications: usize,
    reauthentications: usize,
    nonces: u32,
}

impl FakeBroker {
    /// A broker with this configuration, no connection and no session.
    pub fn new(config: BrokerConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    // ----- configuration and knobs -----

    /// The configuration in force.
    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    /// The configuration, to change any knob.
    pub fn config_mut(&mut self) -> &mut BrokerConfig {
        &mut self.config
    }

    /// Refuses every CONNECT from now on with `code` (3.1.1 return code or 5.0 reason code); `None` accepts
    /// again.
    pub fn refuse_connect(&mut self, code: Option<ReasonCode>) {
        self.config.refuse_connect = code;
    }

    /// Forgets the client's session (a broker restart that lost its state): at once if the client is offline,
    /// else when the current connection ends. The next CONNECT is answered with Session Present 0.
    pub fn forget_session(&mut self) {
        if self.is_connected() {
            self.forget_next = true;
        } else {
            self.session = None;
        }
    }

    /// Whether sessions that ask to be kept are kept ([`BrokerConfig::keep_sessions`]).
    pub fn set_keep_sessions(&mut self, keep: bool) {
        self.config.keep_sessions = keep;
    }

    /// Whether PINGREQ is answered ([`BrokerConfig::answer_pings`]); `false` makes a silent broker.
    pub fn set_answer_pings(&mut self, answer: bool) {
        self.config.answer_pings = answer;
    }

    /// Stops acknowledging the client's messages until [`release_acks`](Self::release_acks).
    pub fn hold_acks(&mut self) {
        self.config.hold_acks = true;
    }

    /// Sends the held acknowledgements, in order, and acknowledges at once again.
    pub fn release_acks(&mut self) {
        self.config.hold_acks = false;
        let held = self
            .conn
            .as_mut()
            .map(|c| std::mem::take(&mut c.held))
            .unwrap_or_default();
        for ack in held {
            self.send_ack(ack);
        }
    }

    /// Acknowledgements currently held back.
    pub fn held_acks(&self) -> usize {
        self.conn.as_ref().map_or(0, |c| c.held.len())
    }

    /// Uses topic aliases towards the client ([`BrokerConfig::topic_aliases_to_client`]).
    pub fn set_topic_aliases_to_client(&mut self, on: bool) {
        self.config.topic_aliases_to_client = on;
    }

    /// Refuses future SUBSCRIBE requests for `filter`.
    pub fn refuse_filter(&mut self, filter: &str) {
        self.config.refused_filters.push(filter.to_owned());
    }

    /// Ends the connection from the broker's side: a 5.0 client gets a DISCONNECT with `reason` first, a 3.1.1
    /// client (which has no server DISCONNECT) only the close. The will, if any, is published.
    pub fn send_disconnect(&mut self, reason: ReasonCode) {
        let Some(conn) = &self.conn else {
            return;
        };
        if conn.accepted && conn.version == Some(ProtocolVersion::V5) {
            self.send(Packet::Disconnect(Disconnect {
                reason,
                ..Disconnect::default()
            }));
        }
        self.end_connection(false);
        self.close_pending = true;
    }

    /// Ends the connection as [`send_disconnect`](Self::send_disconnect) does, with a Reason String and a Server
    /// Reference on the DISCONNECT (5.0): with Use Another Server or Server Moved, a redirection.
    pub fn send_disconnect_with(
        &mut self,
        reason: ReasonCode,
        reason_string: Option<&str>,
        server_reference: Option<&str>,
    ) {
        let Some(conn) = &self.conn else {
            return;
        };
        if conn.accepted && conn.version == Some(ProtocolVersion::V5) {
            self.send(Packet::Disconnect(Disconnect {
                reason,
                properties: codec::DisconnectProperties {
                    reason_string,
                    server_reference,
                    ..Default::default()
                },
            }));
        }
        self.end_connection(false);
        self.close_pending = true;
    }

    /// Enhanced authentication exchanges that succeeded: at connection, and re-authentications.
    pub fn authentications(&self) -> (usize, usize) {
        (self.authentications, self.reauthentications)
    }

    /// Drops the connection without a word (the will, if any, is published).
    pub fn close_connection(&mut self) {
        if self.conn.is_some() {
            self.end_connection(false);
            self.close_pending = true;
        }
    }

    /// Sends `bytes` to the client as they are (for protocol-error tests), after whatever is queued.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        if self.conn.is_some() {
            self.tx.extend_from_slice(bytes);
        }
    }

    /// Publishes a message from "another client": it is stored if retained, and delivered to the client if one
    /// of its subscriptions matches (at once if connected, later if its session persists while offline; QoS 0
    /// messages for an offline client are dropped). Returns whether a subscription matched.
    pub fn inject(&mut self, topic: &str, payload: &[u8], qos: QoS, retain: bool) -> bool {
        let message = Message::new(topic, payload, qos, retain);
        self.store_retained(&message);
        self.route(&message, false)
    }

    // ----- inspection -----

    /// Whether a connection is open and its CONNECT was accepted.
    pub fn is_connected(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.accepted)
    }

    /// Whether the broker holds a session for the client.
    pub fn has_session(&self) -> bool {
        self.session.is_some()
    }

    /// The protocol version of the current connection, once its CONNECT started arriving.
    pub fn version(&self) -> Option<ProtocolVersion> {
        self.conn.as_ref().and_then(|c| c.version)
    }

    /// The application messages accepted from the client, in order. A QoS 2 message appears once however often
    /// it is resent before PUBREL; a QoS 1 message appears each time it arrives (the DUP flag and packet
    /// identifier tell resends apart).
    pub fn received(&self) -> &[Message] {
        &self.received
    }

    /// The application messages sent to the client, in order, resends (DUP) included.
    pub fn delivered(&self) -> &[Message] {
        &self.delivered
    }

    /// Every CONNECT received, with its answer.
    pub fn connections(&self) -> &[ConnectRecord] {
        &self.connections
    }

    /// PINGREQ packets received.
    pub fn pings(&self) -> usize {
        self.pings
    }

    /// The subscriptions of the client's session (empty without a session).
    pub fn subscriptions(&self) -> &[BrokerSubscription] {
        self.session.as_ref().map_or(&[], |s| &s.subscriptions)
    }

    /// Every packet received from the client and sent to it, in order (raw bytes from
    /// [`send_raw`](Self::send_raw) are not packets and are not logged).
    pub fn log(&self) -> &[PacketRecord] {
        &self.log
    }

    /// The packets of `packet_type` logged in `direction`.
    pub fn packets(&self, direction: Direction, packet_type: PacketType) -> Vec<PacketRecord> {
        self.log
            .iter()
            .filter(|r| r.direction == direction && r.packet_type == packet_type)
            .copied()
            .collect()
    }

    /// How many packets of `packet_type` were logged in `direction`.
    pub fn count(&self, direction: Direction, packet_type: PacketType) -> usize {
        self.log
            .iter()
            .filter(|r| r.direction == direction && r.packet_type == packet_type)
            .count()
    }

    /// What the client did against the specification, as the broker saw it (empty for a well-behaved client).
    pub fn violations(&self) -> &[String] {
        &self.violations
    }

    /// Wills published because a connection ended without a normal DISCONNECT.
    pub fn wills(&self) -> &[Message] {
        &self.wills
    }

    /// The retained message of `topic`, if any.
    pub fn retained(&self, topic: &str) -> Option<&Message> {
        self.retained.get(topic)
    }

    /// Messages towards the client held in its session: not yet sent, or sent and not yet acknowledged.
    pub fn pending_to_client(&self) -> usize {
        self.session.as_ref().map_or(0, |s| s.outgoing.len())
    }

    /// Messages towards the client whose PUBLISH the client has not acknowledged (no PUBACK or PUBREC yet): the
    /// broker sends them (again) on a resumed session.
    pub fn unacknowledged_to_client(&self) -> impl Iterator<Item = &Message> {
        self.session.iter().flat_map(|s| {
            s.outgoing
                .iter()
                .filter(|o| o.state != outgoing::OutState::Released)
                .map(|o| &o.message)
        })
    }

    /// Messages towards the client dropped because they exceed its Maximum Packet Size.
    pub fn discarded(&self) -> usize {
        self.discarded
    }

    // ----- driving -----

    /// A transport connection opened. One still open counts as taken over and ends first.
    pub fn handle_connection_opened(&mut self) {
        if self.conn.is_some() {
            self.end_connection(false);
        }
        self.tx.clear();
        self.close_pending = false;
        self.conn = Some(Connection::default());
    }

    /// The client (or the network) closed the connection. The will, if any, is published unless the client
    /// sent DISCONNECT.
    pub fn handle_connection_closed(&mut self) {
        if self.conn.is_some() {
            self.end_connection(false);
        }
    }

    /// Bytes from the client. Whole packets are processed at once; answers go to
    /// [`poll_transmit`](Self::poll_transmit).
    pub fn handle_bytes(&mut self, bytes: &[u8]) {
        let Some(conn) = &mut self.conn else {
            return;
        };
        conn.rx.extend_from_slice(bytes);
        self.process();
    }

    /// The bytes to send to the client, all that is queued, or `None`.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        (!self.tx.is_empty()).then(|| std::mem::take(&mut self.tx))
    }

    /// Whether the broker closed the connection (after the bytes of [`poll_transmit`](Self::poll_transmit));
    /// `true` once per close.
    pub fn poll_close(&mut self) -> bool {
        std::mem::take(&mut self.close_pending)
    }

    // ----- answering the client (what it sends is handled in `incoming`) -----

    /// The client broke the protocol: note it, tell a 5.0 client why (once connected), and close.
    fn fail(&mut self, reason: ReasonCode, what: String) {
        self.violation(what);
        let Some(conn) = &self.conn else {
            return;
        };
        if conn.accepted && conn.version == Some(ProtocolVersion::V5) {
            self.send(Packet::Disconnect(Disconnect {
                reason,
                ..Disconnect::default()
            }));
        }
        self.close_connection();
    }

    fn violation(&mut self, what: String) {
        self.violations.push(what);
    }

    /// The connection is over: publish the will unless it ended gracefully, keep or drop the session.
    fn end_connection(&mut self, graceful: bool) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if !conn.accepted {
            return;
        }
        if !graceful && let Some(will) = conn.will {
            self.wills.push(will.clone());
            self.store_retained(&will);
            self.route(&will, false);
        }
        let keep = self.config.keep_sessions && !self.forget_next;
        self.forget_next = false;
        match &mut self.session {
            Some(session) if keep && session.persistent => {
                // QoS 0 messages are not kept for an offline client.
                session
                    .outgoing
                    .retain(|o| o.message.qos != QoS::AtMostOnce);
            }
            _ => self.session = None,
        }
    }

    // ----- sending -----

    fn send(&mut self, packet: Packet<'_>) {
        let Some(version) = self.conn.as_ref().and_then(|c| c.version) else {
            return;
        };
        let text = format!("fake broker: {}", packet.packet_type());
        let packet = match self.config.reason_strings && version == ProtocolVersion::V5 {
            true => record::with_reason_string(packet, &text),
            false => packet,
        };
        let start = self.tx.len();
        self.tx.resize(start + packet.encoded_len(version), 0);
        match packet.encode(version, &mut self.tx[start..]) {
            Ok(_) => self
                .log
                .push(PacketRecord::new(Direction::BrokerToClient, &packet)),
            Err(e) => {
                self.tx.truncate(start);
                panic!("the fake broker cannot encode {packet:?}: {e}");
            }
        }
    }

    fn ack(&mut self, packet: PacketType, packet_id: PacketId, reason: ReasonCode) {
        let ack = HeldAck {
            packet,
            packet_id,
            reason,
        };
        if self.config.hold_acks {
            if let Some(conn) = &mut self.conn
                && !conn.held.contains(&ack)
            {
                conn.held.push(ack);
            }
        } else {
            self.send_ack(ack);
        }
    }

    fn send_ack(&mut self, ack: HeldAck) {
        let packet = Ack {
            reason: ack.reason,
            ..Ack::new(ack.packet_id)
        };
        self.send(match ack.packet {
            PacketType::PubAck => Packet::PubAck(packet),
            PacketType::PubRec => Packet::PubRec(packet),
            _ => Packet::PubComp(packet),
        });
    }

    fn store_retained(&mut self, message: &Message) {
        if !message.retain {
            return;
        }
        if message.payload.is_empty() {
            self.retained.remove(&message.topic);
        } else {
            let stored = Message {
                dup: false,
                packet_id: None,
                topic_alias: None,
                ..message.clone()
            };
            self.retained.insert(message.topic.clone(), stored);
        }
    }
}
