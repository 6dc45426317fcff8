//! What the [`FakeBroker`](super::FakeBroker) remembers for assertions: application messages, connection
//! attempts, subscriptions, and a log of every packet in both directions.

use std::fmt;

use mqtt_core::codec::{
    Packet, PacketType, ProtocolVersion, Publish, QoS, ReasonCode, SubscriptionOptions,
};

use crate::link::Direction;

/// An application message with owned data: one the broker accepted from the client, one it delivers, or one the
/// session reported as [`RecordedEvent::Message`](crate::RecordedEvent::Message).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Message {
    /// The topic name (resolved, if the packet used a topic alias).
    pub topic: String,
    /// The payload.
    pub payload: Vec<u8>,
    /// The QoS of the PUBLISH packet.
    pub qos: QoS,
    /// The RETAIN flag of the PUBLISH packet.
    pub retain: bool,
    /// The DUP flag of the PUBLISH packet.
    pub dup: bool,
    /// The packet identifier of the PUBLISH packet (QoS 1 and 2).
    pub packet_id: Option<u16>,
    /// The topic alias the PUBLISH packet carried (5.0), if any.
    pub topic_alias: Option<u16>,
}

impl Message {
    /// A message as an application hands it over: no packet identifier, no DUP, no alias.
    pub fn new(
        topic: impl Into<String>,
        payload: impl Into<Vec<u8>>,
        qos: QoS,
        retain: bool,
    ) -> Self {
        Self {
            topic: topic.into(),
            payload: payload.into(),
            qos,
            retain,
            dup: false,
            packet_id: None,
            topic_alias: None,
        }
    }

    /// The message a PUBLISH packet carries, with `topic` as its (resolved) topic name.
    pub fn from_publish(publish: &Publish<'_>, topic: &str) -> Self {
        Self {
            topic: topic.to_owned(),
            payload: publish.payload.to_vec(),
            qos: publish.qos,
            retain: publish.retain,
            dup: publish.dup,
            packet_id: publish.packet_id.map(|id| id.get()),
            topic_alias: publish.properties.topic_alias.map(|a| a.get()),
        }
    }

    /// The payload as text (lossy), for messages and assertions.
    pub fn payload_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.payload)
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' q{}", self.topic, self.qos as u8)?;
        if let Some(id) = self.packet_id {
            write!(f, " id {id}")?;
        }
        if self.dup {
            f.write_str(" dup")?;
        }
        if self.retain {
            f.write_str(" retain")?;
        }
        if let Some(alias) = self.topic_alias {
            write!(f, " alias {alias}")?;
        }
        if self.payload.len() <= 16 {
            write!(f, " {:?}", self.payload_str())
        } else {
            let head = String::from_utf8_lossy(&self.payload[..16]);
            write!(f, " {head:?}… ({} B)", self.payload.len())
        }
    }
}

/// One CONNECT the broker received, and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRecord {
    /// The protocol version of the connection.
    pub version: ProtocolVersion,
    /// The client identifier as sent (empty: the broker assigned one).
    pub client_id: String,
    /// The identifier the broker used: the one sent, or the one it assigned.
    pub effective_client_id: String,
    /// Clean Session (3.1.1) or Clean Start (5.0).
    pub clean_start: bool,
    /// Keep alive in seconds, as sent.
    pub keep_alive: u16,
    /// Session Expiry Interval (5.0; absent: 0).
    pub session_expiry_interval: u32,
    /// Receive Maximum (5.0), if sent.
    pub receive_maximum: Option<u16>,
    /// Maximum Packet Size (5.0), if sent.
    pub maximum_packet_size: Option<u32>,
    /// Topic Alias Maximum (5.0; absent: 0).
    pub topic_alias_maximum: u16,
    /// User name, if sent.
    pub username: Option<String>,
    /// Password, if sent.
    pub password: Option<Vec<u8>>,
    /// The will message, if any.
    pub will: Option<Message>,
    /// The CONNACK code sent back (0: accepted).
    pub reason: ReasonCode,
    /// The Session Present flag sent back.
    pub session_present: bool,
}

/// A subscription the broker holds for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerSubscription {
    /// The topic filter.
    pub filter: String,
    /// The options requested.
    pub options: SubscriptionOptions,
    /// The QoS granted in SUBACK.
    pub granted: QoS,
    /// The 5.0 Subscription Identifier of the SUBSCRIBE that made (or last replaced) it: sent with every message
    /// it matches. `[MQTT-3.3.4-3]`
    pub subscription_id: Option<mqtt_core::codec::SubscriptionId>,
}

/// One packet in the broker's log: what it received from the client or sent to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketRecord {
    /// Who sent it.
    pub direction: Direction,
    /// Its type.
    pub packet_type: PacketType,
    /// Its packet identifier (PUBLISH at QoS 1 and 2, the acknowledgements, SUBSCRIBE, UNSUBSCRIBE and their
    /// acknowledgements).
    pub packet_id: Option<u16>,
    /// The DUP flag (PUBLISH only).
    pub dup: bool,
    /// The QoS (PUBLISH only; QoS 0 otherwise).
    pub qos: QoS,
    /// The reason code (CONNACK, the acknowledgements in 5.0, DISCONNECT, AUTH).
    pub reason: Option<ReasonCode>,
}

impl PacketRecord {
    /// The log entry for `packet` travelling in `direction`.
    pub fn new(direction: Direction, packet: &Packet<'_>) -> Self {
        let mut record = Self {
            direction,
            packet_type: packet.packet_type(),
            packet_id: None,
            dup: false,
            qos: QoS::AtMostOnce,
            reason: None,
        };
        match packet {
            Packet::Publish(p) => {
                record.packet_id = p.packet_id.map(|id| id.get());
                record.dup = p.dup;
                record.qos = p.qos;
            }
            Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
                record.packet_id = Some(a.packet_id.get());
                record.reason = Some(a.reason);
            }
            Packet::Subscribe(s) => record.packet_id = Some(s.packet_id.get()),
            Packet::SubAck(s) => record.packet_id = Some(s.packet_id.get()),
            Packet::Unsubscribe(u) => record.packet_id = Some(u.packet_id.get()),
            Packet::UnsubAck(u) => record.packet_id = Some(u.packet_id.get()),
            Packet::ConnAck(c) => record.reason = Some(c.reason),
            Packet::Disconnect(d) => record.reason = Some(d.reason),
            Packet::Auth(a) => record.reason = Some(a.reason),
            Packet::Connect(_) | Packet::PingReq | Packet::PingResp => {}
        }
        record
    }
}

impl fmt::Display for PacketRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.direction, self.packet_type)?;
        if self.packet_type == PacketType::Publish {
            write!(f, " q{}", self.qos as u8)?;
        }
        if let Some(id) = self.packet_id {
            write!(f, " id {id}")?;
        }
        if self.dup {
            f.write_str(" dup")?;
        }
        match self.reason {
            Some(reason) if reason != ReasonCode::SUCCESS => write!(f, " {reason}"),
            _ => Ok(()),
        }
    }
}

/// `packet` with `reason` as its Reason String, if its kind carries one.
pub(crate) fn with_reason_string<'a>(packet: Packet<'a>, reason: &'a str) -> Packet<'a> {
    let reason = Some(reason);
    match packet {
        Packet::ConnAck(mut p) => {
            p.properties.reason_string = reason;
            Packet::ConnAck(p)
        }
        Packet::PubAck(mut p) => {
            p.properties.reason_string = reason;
            Packet::PubAck(p)
        }
        Packet::PubRec(mut p) => {
            p.properties.reason_string = reason;
            Packet::PubRec(p)
        }
        Packet::PubRel(mut p) => {
            p.properties.reason_string = reason;
            Packet::PubRel(p)
        }
        Packet::PubComp(mut p) => {
            p.properties.reason_string = reason;
            Packet::PubComp(p)
        }
        Packet::SubAck(mut p) => {
            p.properties.reason_string = reason;
            Packet::SubAck(p)
        }
        Packet::UnsubAck(mut p) => {
            p.properties.reason_string = reason;
            Packet::UnsubAck(p)
        }
        Packet::Disconnect(mut p) if p.properties.reason_string.is_none() => {
            p.properties.reason_string = reason;
            Packet::Disconnect(p)
        }
        Packet::Auth(mut p) => {
            p.properties.reason_string = reason;
            Packet::Auth(p)
        }
        other => other,
    }
}
