//! Reason codes: the one-byte outcome that MQTT 5.0 acknowledgements, CONNACK, DISCONNECT and AUTH carry.

use core::fmt;

/// An MQTT 5.0 reason code (section 2.4), or in a 3.1.1 CONNACK the connect return code.
///
/// Any byte is representable, but the decoder refuses a code that the packet's reason code table does not list
/// ([`is_valid_for`](Self::is_valid_for)), as a malformed packet. Values of `0x80` and above are failures.
/// `Display` prints the specification's name.
///
/// ```
/// use mqtt_core::codec::ReasonCode;
///
/// assert_eq!(ReasonCode::NOT_AUTHORIZED.to_string(), "Not authorized (0x87)");
/// assert!(ReasonCode::NOT_AUTHORIZED.is_failure());
/// assert!(!ReasonCode::GRANTED_QOS_1.is_failure());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ReasonCode(pub u8);

impl ReasonCode {
    /// `0x00` Success. Success; also Normal disconnection and Granted QoS 0, which share the value.
    pub const SUCCESS: Self = Self(0x00);
    /// `0x01` Granted QoS 1. SUBACK: the subscription is accepted with maximum QoS 1.
    pub const GRANTED_QOS_1: Self = Self(0x01);
    /// `0x02` Granted QoS 2. SUBACK: the subscription is accepted with maximum QoS 2.
    pub const GRANTED_QOS_2: Self = Self(0x02);
    /// `0x04` Disconnect with Will Message. DISCONNECT: close, but the server is to publish the will.
    pub const DISCONNECT_WITH_WILL_MESSAGE: Self = Self(0x04);
    /// `0x10` No matching subscribers. PUBACK/PUBREC: accepted, but nobody is subscribed.
    pub const NO_MATCHING_SUBSCRIBERS: Self = Self(0x10);
    /// `0x11` No subscription existed. UNSUBACK: no matching subscription existed.
    pub const NO_SUBSCRIPTION_EXISTED: Self = Self(0x11);
    /// `0x18` Continue authentication. AUTH: continue the authentication with another step.
    pub const CONTINUE_AUTHENTICATION: Self = Self(0x18);
    /// `0x19` Re-authenticate. AUTH: initiate a re-authentication.
    pub const RE_AUTHENTICATE: Self = Self(0x19);
    /// `0x80` Unspecified error. The sender does not wish to reveal the reason, or none of the other codes applies.
    pub const UNSPECIFIED_ERROR: Self = Self(0x80);
    /// `0x81` Malformed Packet. Data within the packet could not be correctly parsed.
    pub const MALFORMED_PACKET: Self = Self(0x81);
    /// `0x82` Protocol Error. Data in the packet does not conform to the specification.
    pub const PROTOCOL_ERROR: Self = Self(0x82);
    /// `0x83` Implementation specific error. Valid, but not accepted by this implementation.
    pub const IMPLEMENTATION_SPECIFIC_ERROR: Self = Self(0x83);
    /// `0x84` Unsupported Protocol Version. CONNACK: the server does not support the requested protocol version.
    pub const UNSUPPORTED_PROTOCOL_VERSION: Self = Self(0x84);
    /// `0x85` Client Identifier not valid. CONNACK: the client identifier is valid but not allowed.
    pub const CLIENT_IDENTIFIER_NOT_VALID: Self = Self(0x85);
    /// `0x86` Bad User Name or Password. CONNACK: the user name or password was not accepted.
    pub const BAD_USER_NAME_OR_PASSWORD: Self = Self(0x86);
    /// `0x87` Not authorized. The client is not authorized to do this.
    pub const NOT_AUTHORIZED: Self = Self(0x87);
    /// `0x88` Server unavailable. CONNACK: the server is not available.
    pub const SERVER_UNAVAILABLE: Self = Self(0x88);
    /// `0x89` Server busy. The server is busy; try again later.
    pub const SERVER_BUSY: Self = Self(0x89);
    /// `0x8a` Banned. CONNACK: this client has been banned by administrative action.
    pub const BANNED: Self = Self(0x8a);
    /// `0x8b` Server shutting down. DISCONNECT: the server is shutting down.
    pub const SERVER_SHUTTING_DOWN: Self = Self(0x8b);
    /// `0x8c` Bad authentication method. The authentication method is not supported or does not match the one in use.
    pub const BAD_AUTHENTICATION_METHOD: Self = Self(0x8c);
    /// `0x8d` Keep Alive timeout. DISCONNECT: no packet was received for 1.5 times the keep alive.
    pub const KEEP_ALIVE_TIMEOUT: Self = Self(0x8d);
    /// `0x8e` Session taken over. DISCONNECT: another connection using the same client identifier has connected.
    pub const SESSION_TAKEN_OVER: Self = Self(0x8e);
    /// `0x8f` Topic Filter invalid. The topic filter is well formed but not accepted by the server.
    pub const TOPIC_FILTER_INVALID: Self = Self(0x8f);
    /// `0x90` Topic Name invalid. The topic name is well formed but not accepted.
    pub const TOPIC_NAME_INVALID: Self = Self(0x90);
    /// `0x91` Packet Identifier in use. The packet identifier is already in use.
    pub const PACKET_IDENTIFIER_IN_USE: Self = Self(0x91);
    /// `0x92` Packet Identifier not found. The packet identifier is not known.
    pub const PACKET_IDENTIFIER_NOT_FOUND: Self = Self(0x92);
    /// `0x93` Receive Maximum exceeded. More QoS 1 and 2 publications in flight than Receive Maximum allows.
    pub const RECEIVE_MAXIMUM_EXCEEDED: Self = Self(0x93);
    /// `0x94` Topic Alias invalid. The topic alias is zero or above the Topic Alias Maximum.
    pub const TOPIC_ALIAS_INVALID: Self = Self(0x94);
    /// `0x95` Packet too large. The packet exceeds the maximum packet size.
    pub const PACKET_TOO_LARGE: Self = Self(0x95);
    /// `0x96` Message rate too high. The received data rate is too high.
    pub const MESSAGE_RATE_TOO_HIGH: Self = Self(0x96);
    /// `0x97` Quota exceeded. An implementation or administrative limit has been exceeded.
    pub const QUOTA_EXCEEDED: Self = Self(0x97);
    /// `0x98` Administrative action. DISCONNECT: the connection is closed due to an administrative action.
    pub const ADMINISTRATIVE_ACTION: Self = Self(0x98);
    /// `0x99` Payload format invalid. The payload does not match the payload format indicator.
    pub const PAYLOAD_FORMAT_INVALID: Self = Self(0x99);
    /// `0x9a` Retain not supported. The server does not support retained messages.
    pub const RETAIN_NOT_SUPPORTED: Self = Self(0x9a);
    /// `0x9b` QoS not supported. The QoS is greater than the Maximum QoS the server allows.
    pub const QOS_NOT_SUPPORTED: Self = Self(0x9b);
    /// `0x9c` Use another server. The client should temporarily use another server (see Server Reference).
    pub const USE_ANOTHER_SERVER: Self = Self(0x9c);
    /// `0x9d` Server moved. The client should permanently use another server (see Server Reference).
    pub const SERVER_MOVED: Self = Self(0x9d);
    /// `0x9e` Shared Subscriptions not supported. The server does not support shared subscriptions.
    pub const SHARED_SUBSCRIPTIONS_NOT_SUPPORTED: Self = Self(0x9e);
    /// `0x9f` Connection rate exceeded. The connection rate limit has been exceeded.
    pub const CONNECTION_RATE_EXCEEDED: Self = Self(0x9f);
    /// `0xa0` Maximum connect time. DISCONNECT: the maximum connection time authorized for this connection has been exceeded.
    pub const MAXIMUM_CONNECT_TIME: Self = Self(0xa0);
    /// `0xa1` Subscription Identifiers not supported. The server does not support subscription identifiers.
    pub const SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED: Self = Self(0xa1);
    /// `0xa2` Wildcard Subscriptions not supported. The server does not support wildcard subscriptions.
    pub const WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED: Self = Self(0xa2);
    /// `0x00` Normal disconnection (DISCONNECT); the same value as [`Self::SUCCESS`].
    pub const NORMAL_DISCONNECTION: Self = Self(0x00);
    /// `0x00` Granted QoS 0 (SUBACK); the same value as [`Self::SUCCESS`].
    pub const GRANTED_QOS_0: Self = Self(0x00);

    /// Whether the code reports a failure (`0x80` and above). `[MQTT-2.4]`
    pub const fn is_failure(self) -> bool {
        self.0 >= 0x80
    }

    /// As a SUBACK code: the QoS the broker granted (`0x00` to `0x02`), or `None` for a refusal. `[MQTT-3.9.3]`
    ///
    /// ```
    /// use mqtt_core::codec::{QoS, ReasonCode};
    ///
    /// assert_eq!(ReasonCode::GRANTED_QOS_1.granted_qos(), Some(QoS::AtLeastOnce));
    /// assert_eq!(ReasonCode::NOT_AUTHORIZED.granted_qos(), None);
    /// ```
    pub const fn granted_qos(self) -> Option<crate::codec::QoS> {
        match crate::codec::QoS::from_u8(self.0) {
            Ok(qos) => Some(qos),
            Err(_) => None,
        }
    }

    /// Whether the code may appear in a packet of this type in this version: the reason code table of each 5.0
    /// packet (sections 3.2.2.2, 3.4.2.1, 3.5.2.1, 3.6.2.1, 3.7.2.1, 3.9.3, 3.11.3, 3.14.2.1, 3.15.2.1), and in 3.1.1
    /// the CONNACK return codes 0 to 5 (section 3.2.2.3) and the SUBACK return codes `0x00`, `0x01`, `0x02` and
    /// `0x80` (`[MQTT-3.9.3-2]`). Packets without a reason code accept only success.
    ///
    /// ```
    /// use mqtt_core::codec::{PacketType, ProtocolVersion, ReasonCode};
    ///
    /// let v5 = ProtocolVersion::V5;
    /// assert!(ReasonCode::PACKET_IDENTIFIER_NOT_FOUND.is_valid_for(PacketType::PubComp, v5));
    /// assert!(!ReasonCode::PACKET_IDENTIFIER_NOT_FOUND.is_valid_for(PacketType::PubAck, v5));
    /// assert!(!ReasonCode(0xff).is_valid_for(PacketType::PubAck, v5));
    /// assert!(ReasonCode(5).is_valid_for(PacketType::ConnAck, ProtocolVersion::V311));
    /// ```
    ///
    /// # Spec
    ///
    /// MQTT 5.0 section 2.4 and the tables named above; MQTT 3.1.1 Table 3.1 and `[MQTT-3.9.3-2]`.
    pub const fn is_valid_for(
        self,
        packet: crate::codec::PacketType,
        version: crate::codec::ProtocolVersion,
    ) -> bool {
        use crate::codec::PacketType as P;
        use crate::codec::ProtocolVersion as V;
        match (version.folded(), packet) {
            (V::V311, P::ConnAck) => self.0 <= 5,
            (V::V311, P::SubAck) => matches!(self.0, 0x00..=0x02 | 0x80),
            (V::V311, _) => self.0 == 0,
            (V::V5, P::ConnAck) => matches!(
                self.0,
                0x00 | 0x80..=0x8a | 0x8c | 0x90 | 0x95 | 0x97 | 0x99..=0x9d | 0x9f
            ),
            (V::V5, P::PubAck | P::PubRec) => {
                matches!(
                    self.0,
                    0x00 | 0x10 | 0x80 | 0x83 | 0x87 | 0x90 | 0x91 | 0x97 | 0x99
                )
            }
            (V::V5, P::PubRel | P::PubComp) => matches!(self.0, 0x00 | 0x92),
            (V::V5, P::SubAck) => matches!(
                self.0,
                0x00..=0x02 | 0x80 | 0x83 | 0x87 | 0x8f | 0x91 | 0x97 | 0x9e | 0xa1 | 0xa2
            ),
            (V::V5, P::UnsubAck) => {
                matches!(self.0, 0x00 | 0x11 | 0x80 | 0x83 | 0x87 | 0x8f | 0x91)
            }
            (V::V5, P::Disconnect) => matches!(
                self.0,
                0x00 | 0x04 | 0x80..=0x83 | 0x87 | 0x89 | 0x8b | 0x8d..=0x90 | 0x93..=0xa2
            ),
            (V::V5, P::Auth) => matches!(self.0, 0x00 | 0x18 | 0x19),
            (V::V5, _) => self.0 == 0,
        }
    }

    /// The specification's name of the code, or `None` for a value MQTT 5.0 does not define.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x00 => "Success",
            0x01 => "Granted QoS 1",
            0x02 => "Granted QoS 2",
            0x04 => "Disconnect with Will Message",
            0x10 => "No matching subscribers",
            0x11 => "No subscription existed",
            0x18 => "Continue authentication",
            0x19 => "Re-authenticate",
            0x80 => "Unspecified error",
            0x81 => "Malformed Packet",
            0x82 => "Protocol Error",
            0x83 => "Implementation specific error",
            0x84 => "Unsupported Protocol Version",
            0x85 => "Client Identifier not valid",
            0x86 => "Bad User Name or Password",
            0x87 => "Not authorized",
            0x88 => "Server unavailable",
            0x89 => "Server busy",
            0x8a => "Banned",
            0x8b => "Server shutting down",
            0x8c => "Bad authentication method",
            0x8d => "Keep Alive timeout",
            0x8e => "Session taken over",
            0x8f => "Topic Filter invalid",
            0x90 => "Topic Name invalid",
            0x91 => "Packet Identifier in use",
            0x92 => "Packet Identifier not found",
            0x93 => "Receive Maximum exceeded",
            0x94 => "Topic Alias invalid",
            0x95 => "Packet too large",
            0x96 => "Message rate too high",
            0x97 => "Quota exceeded",
            0x98 => "Administrative action",
            0x99 => "Payload format invalid",
            0x9a => "Retain not supported",
            0x9b => "QoS not supported",
            0x9c => "Use another server",
            0x9d => "Server moved",
            0x9e => "Shared Subscriptions not supported",
            0x9f => "Connection rate exceeded",
            0xa0 => "Maximum connect time",
            0xa1 => "Subscription Identifiers not supported",
            0xa2 => "Wildcard Subscriptions not supported",
            _ => return None,
        })
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({:#04x})", self.0),
            None => write!(f, "unknown reason code {:#04x}", self.0),
        }
    }
}

impl fmt::Debug for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "ReasonCode({:#04x} {name})", self.0),
            None => write!(f, "ReasonCode({:#04x})", self.0),
        }
    }
}

impl From<u8> for ReasonCode {
    fn from(value: u8) -> Self {
        Self(value)
    }
}

impl From<ReasonCode> for u8 {
    fn from(code: ReasonCode) -> Self {
        code.0
    }
}
