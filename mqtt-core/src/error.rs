//! Error types, grouped by who is to blame.
//!
//! Every error here is small, `Copy` and comparable, carries no allocation, and names the rule that was broken so
//! that a log line is enough to find the clause in the specification.

use crate::codec::PacketType;

/// Bytes received from the peer break a rule of the MQTT specification.
///
/// The peer is at fault. A client that gets this from bytes sent by its broker closes the connection (in 5.0 with a
/// DISCONNECT carrying [`DecodeError::reason_code`]) and lets the reconnect policy decide what happens next.
///
/// Incomplete input is never an error: [`decode`](crate::codec::decode) returns `Ok(None)` until a whole packet is
/// there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The packet type nibble is 0, or 15 (AUTH) in MQTT 3.1.1. `[MQTT-2.2.1]`
    #[error("invalid packet type {0}")]
    InvalidPacketType(u8),
    /// The fixed header's flag bits differ from the values the specification reserves for this packet type.
    /// `[MQTT-2.2.2-1]`, `[MQTT-3.6.1-1]`, `[MQTT-3.8.1-1]`, `[MQTT-3.10.1-1]`
    #[error("reserved flag bits {flags:#06b} in the fixed header of {packet}")]
    InvalidFixedHeaderFlags {
        /// The packet whose header was wrong.
        packet: PacketType,
        /// The four flag bits that were received.
        flags: u8,
    },
    /// A Variable Byte Integer has a fifth byte, which puts it above 268,435,455. `[MQTT-1.5.5]`
    #[error("variable byte integer longer than 4 bytes")]
    VarIntTooLong,
    /// A Variable Byte Integer uses more bytes than its value needs. `[MQTT-1.5.5-1]`
    #[error("variable byte integer not encoded in the minimum number of bytes")]
    NonMinimalVarInt,
    /// The packet is larger than the maximum packet size in force. Detected from the fixed header alone, before the
    /// body is buffered. `[MQTT-3.1.2-24]`
    #[error("packet of {size} bytes exceeds the maximum packet size of {max} bytes")]
    PacketTooLarge {
        /// The size the fixed header announced, header included (saturated at `u32::MAX`).
        size: u32,
        /// The limit in force.
        max: u32,
    },
    /// A field runs past the end of the packet that its remaining length delimits.
    #[error("{packet}: a field runs past the end of the packet")]
    UnexpectedEnd {
        /// The packet being decoded.
        packet: PacketType,
    },
    /// Bytes are left over after the last field of the packet.
    #[error("{packet}: {extra} unexpected bytes after the last field")]
    TrailingBytes {
        /// The packet being decoded.
        packet: PacketType,
        /// How many bytes were left.
        extra: u32,
    },
    /// A UTF-8 Encoded String is not well-formed UTF-8 (surrogate code points included). `[MQTT-1.5.4-1]`
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// A UTF-8 Encoded String contains U+0000. `[MQTT-1.5.4-2]`
    #[error("string contains the null character U+0000")]
    NullCharacter,
    /// A packet identifier is zero. `[MQTT-2.2.1-3]`
    #[error("packet identifier 0 in {packet}")]
    ZeroPacketId {
        /// The packet carrying the identifier.
        packet: PacketType,
    },
    /// A QoS field holds 3. `[MQTT-3.3.1-4]`
    #[error("QoS 3 is not a quality of service")]
    InvalidQoS,
    /// A QoS 0 PUBLISH has the DUP flag set. `[MQTT-3.3.1-2]`
    #[error("DUP flag set on a QoS 0 PUBLISH")]
    DupOnQoS0,
    /// The topic name of a PUBLISH (or will) is not a valid topic name.
    #[error("invalid topic name: {0}")]
    InvalidTopicName(#[source] TopicError),
    /// A topic filter of a SUBSCRIBE or UNSUBSCRIBE is not a valid topic filter.
    #[error("invalid topic filter: {0}")]
    InvalidTopicFilter(#[source] TopicError),
    /// A SUBSCRIBE or UNSUBSCRIBE carries no topic filter. `[MQTT-3.8.3-3]`, `[MQTT-3.10.3-2]`
    #[error("{packet} without any topic filter")]
    NoTopicFilter {
        /// SUBSCRIBE or UNSUBSCRIBE.
        packet: PacketType,
    },
    /// Subscription options use reserved bits, or Retain Handling is 3. `[MQTT-3.8.3-5]`
    #[error("reserved bits set in subscription options {0:#04x}")]
    InvalidSubscriptionOptions(u8),
    /// A subscription sets No Local on a shared subscription. `[MQTT-3.8.3-4]`
    #[error("No Local set on a shared subscription")]
    NoLocalOnSharedSubscription,
    /// A property identifier that MQTT 5.0 does not define.
    #[error("unknown property identifier {0:#04x}")]
    UnknownProperty(u8),
    /// A property that the specification does not allow on this packet. `[MQTT-2.2.2-2]`
    #[error("property {property:#04x} is not allowed on {packet}")]
    PropertyNotAllowed {
        /// The packet (or will) the property appeared on.
        packet: PacketType,
        /// The property identifier.
        property: u8,
    },
    /// A property that may appear at most once appears twice.
    #[error("property {0:#04x} appears more than once")]
    DuplicateProperty(u8),
    /// A property has a value outside its allowed range (for example Receive Maximum 0 or a flag that is not 0 or 1).
    #[error("property {0:#04x} has a value outside its allowed range")]
    InvalidPropertyValue(u8),
    /// The CONNECT protocol name is not `MQTT`. `[MQTT-3.1.2-1]`
    #[error("protocol name is not \"MQTT\"")]
    InvalidProtocolName,
    /// The CONNECT protocol level is neither 4 (3.1.1) nor 5 (5.0). `[MQTT-3.1.2-2]`
    #[error("unsupported protocol level {0}")]
    UnsupportedProtocolLevel(u8),
    /// The CONNECT protocol level differs from the version the decoder was asked to use.
    #[error("CONNECT for protocol level {found} decoded as level {expected}")]
    ProtocolVersionMismatch {
        /// The level the decoder was given.
        expected: u8,
        /// The level the packet carries.
        found: u8,
    },
    /// The reserved bit 0 of the CONNECT flags is set. `[MQTT-3.1.2-3]`
    #[error("reserved CONNECT flag bit 0 is set")]
    ReservedConnectFlag,
    /// Will QoS or Will Retain is set without the Will Flag (a will QoS of 3 is [`DecodeError::InvalidQoS`]).
    /// `[MQTT-3.1.2-11]`, `[MQTT-3.1.2-13]`, `[MQTT-3.1.2-15]`
    #[error("will QoS or will retain set without the will flag")]
    WillFlagsInconsistent,
    /// In MQTT 3.1.1 the password flag is set without the user name flag. `[MQTT-3.1.2-22]`
    #[error("password without user name (not allowed in MQTT 3.1.1)")]
    PasswordWithoutUserName,
    /// The reserved bits of the CONNACK acknowledge flags are set. `[MQTT-3.2.2-1]`
    #[error("reserved CONNACK acknowledge flag bits {0:#04x}")]
    InvalidConnAckFlags(u8),
    /// A reason code (or 3.1.1 return code) that the packet's reason code table does not list, such as `0xff` in a
    /// PUBACK or `0x92` in a SUBACK. MQTT 5.0 section 2.4 and the table of each packet; 3.1.1 section 3.2.2.3 and
    /// `[MQTT-3.9.3-2]`. See [`ReasonCode::is_valid_for`](crate::codec::ReasonCode::is_valid_for).
    #[error("{packet} with reason code {code:#04x}, which its reason code table does not list")]
    InvalidReasonCode {
        /// The packet carrying the code.
        packet: PacketType,
        /// The code received.
        code: u8,
    },
    /// A PUBLISH has an empty topic name and no Topic Alias. `[MQTT-4.7.3-1]`, `[MQTT-3.3.2-1]`
    #[error("PUBLISH with an empty topic name and no topic alias")]
    EmptyTopicWithoutAlias,
}

impl DecodeError {
    /// The MQTT 5.0 reason code that a DISCONNECT closing the connection because of this error carries.
    ///
    /// `0x95` Packet too large for an oversized packet, `0x81` Malformed Packet for broken bytes, and `0x82`
    /// Protocol Error for well-formed packets that break a protocol rule.
    pub fn reason_code(&self) -> crate::codec::ReasonCode {
        use crate::codec::ReasonCode;
        match self {
            Self::PacketTooLarge { .. } => ReasonCode::PACKET_TOO_LARGE,
            // Topic Alias 0: 5.0 §3.3.4 names 0x94.
            Self::InvalidPropertyValue(0x23) => ReasonCode::TOPIC_ALIAS_INVALID,
            // Retain Handling 3 without reserved bits: a Protocol Error (5.0 §3.8.3.1).
            Self::InvalidSubscriptionOptions(options) if options & 0xf0 == 0x30 => ReasonCode::PROTOCOL_ERROR,
            Self::DuplicateProperty(_)
            | Self::InvalidPropertyValue(_)
            | Self::UnsupportedProtocolLevel(_)
            | Self::ProtocolVersionMismatch { .. }
            | Self::EmptyTopicWithoutAlias
            | Self::NoTopicFilter { .. } // `[MQTT-3.8.3-2]`, `[MQTT-3.10.3-2]`
            | Self::NoLocalOnSharedSubscription => ReasonCode::PROTOCOL_ERROR,
            Self::InvalidTopicName(_) => ReasonCode::TOPIC_NAME_INVALID,
            Self::InvalidTopicFilter(_) => ReasonCode::TOPIC_FILTER_INVALID,
            _ => ReasonCode::MALFORMED_PACKET,
        }
    }
}

/// A packet cannot be encoded.
///
/// The caller is at fault: either the buffer is too small (ask [`encoded_len`](crate::codec::Packet::encoded_len)
/// first) or a field does not fit the wire format. Nothing is written when this is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The output buffer is smaller than the encoded packet.
    #[error("buffer of {available} bytes is too small for a packet of {needed} bytes")]
    BufferTooSmall {
        /// Bytes the packet needs ([`Packet::encoded_len`](crate::codec::Packet::encoded_len)).
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// The remaining length would exceed 268,435,455 bytes, the largest an MQTT packet can have.
    #[error("packet body of {0} bytes exceeds the MQTT limit of 268,435,455")]
    PacketTooLarge(usize),
    /// A string or binary field is longer than 65,535 bytes.
    #[error("field of {0} bytes exceeds the 65,535-byte limit of a length-prefixed field")]
    FieldTooLong(usize),
    /// A value exceeds 268,435,455, the largest Variable Byte Integer (for example a subscription identifier).
    #[error("value {0} exceeds the largest variable byte integer")]
    VarIntOutOfRange(u32),
    /// A PUBLISH has QoS 1 or 2 without a packet identifier, or QoS 0 with one. `[MQTT-2.2.1-2]`
    #[error("PUBLISH QoS and packet identifier disagree")]
    PacketIdMismatch,
    /// A QoS 0 PUBLISH with the DUP flag set. `[MQTT-3.3.1-2]`
    #[error("DUP flag set on a QoS 0 PUBLISH")]
    DupOnQoS0,
    /// A SUBSCRIBE or UNSUBSCRIBE without any topic filter. `[MQTT-3.8.3-3]`
    #[error("SUBSCRIBE or UNSUBSCRIBE without any topic filter")]
    NoTopicFilter,
    /// This build does not speak the protocol version asked for (mqtt-core's cargo features `v5` and `v311`).
    #[error("{0} is not enabled in this build")]
    VersionNotEnabled(crate::codec::ProtocolVersion),
    /// The packet uses a feature that the protocol version cannot carry: AUTH, properties or a reason code other than
    /// success in MQTT 3.1.1.
    #[error("{packet} uses a feature that MQTT 3.1.1 cannot carry ({what})")]
    NotInProtocolVersion {
        /// The packet being encoded.
        packet: PacketType,
        /// What could not be carried.
        what: &'static str,
    },
}

/// A topic name or topic filter breaks the rules of MQTT section 4.7.
///
/// The caller (or, inside [`DecodeError`], the peer) is at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopicError {
    /// Topic names and topic filters are at least one character long. `[MQTT-4.7.3-1]`
    #[error("topic is empty")]
    Empty,
    /// Topic names and filters are at most 65,535 bytes long. `[MQTT-4.7.3-3]`
    #[error("topic is longer than 65,535 bytes")]
    TooLong,
    /// Topic names and filters do not contain U+0000. `[MQTT-4.7.3-2]`
    #[error("topic contains the null character U+0000")]
    NullCharacter,
    /// Topic names and filters contain no control character (U+0001 to U+001F, U+007F to U+009F) and no Unicode
    /// non-character (U+FDD0 to U+FDEF, U+FFFE, U+FFFF and their like in every plane): a UTF-8 Encoded String
    /// SHOULD NOT include them, and a receiver MAY take the packet for a malformed one (mosquitto closes the
    /// connection, so the message could never be delivered). MQTT 5.0 section 1.5.4, MQTT 3.1.1 section 1.5.3.
    #[error("topic contains a control character or a Unicode non-character, which brokers refuse")]
    DisallowedCharacter,
    /// A topic name contains `+` or `#`. `[MQTT-3.3.2-2]`, `[MQTT-4.7.1-1]`
    #[error("topic name contains a wildcard ('+' or '#')")]
    WildcardInName,
    /// `#` is not alone in the last level of a filter. `[MQTT-4.7.1-2]`
    #[error("'#' must be the last character and occupy a whole level")]
    MisplacedMultiLevelWildcard,
    /// `+` does not occupy a whole level of a filter. `[MQTT-4.7.1-3]`
    #[error("'+' must occupy a whole level")]
    MisplacedSingleLevelWildcard,
    /// A `$share/` filter lacks a share name or a filter, or its share name contains `+`, `#` or `/`.
    /// `[MQTT-4.8.2-1]`, `[MQTT-4.8.2-2]`
    #[error("malformed shared subscription (expected $share/<share name>/<filter>)")]
    InvalidSharedSubscription,
}

/// The broker broke the protocol. The session closes the connection (in 5.0 with a DISCONNECT carrying
/// [`ProtocolError::reason_code`]) and the reconnect policy decides what happens next.
///
/// The broker is at fault. The error stays available from the session until the next successful connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The broker sent bytes that are not a valid packet.
    #[error("malformed packet: {0}")]
    Malformed(#[source] DecodeError),
    /// The broker sent a packet a server never sends, or one that is not expected now (for example a second
    /// CONNACK).
    #[error("unexpected {0} from the broker")]
    UnexpectedPacket(PacketType),
    /// An acknowledgement for a packet identifier that nothing is waiting for.
    #[error("{packet} for packet identifier {packet_id}, which is not in flight")]
    UnknownPacketId {
        /// The acknowledgement.
        packet: PacketType,
        /// Its identifier.
        packet_id: u16,
    },
    /// A message arrived with a higher QoS than its subscription was granted. `[MQTT-3.8.4-8]`
    #[error("message with QoS {received} on a subscription granted QoS {granted}")]
    QoSAboveGranted {
        /// QoS of the message.
        received: u8,
        /// QoS of the subscription.
        granted: u8,
    },
    /// More incoming QoS 2 messages await PUBREL than the session's Receive Maximum allows. `[MQTT-3.3.4-9]`
    #[error("more QoS 2 messages in flight than the receive maximum of {0}")]
    ReceiveMaximumExceeded(u16),
    /// A topic alias of 0, above the advertised maximum, or not yet defined. `[MQTT-3.3.2-8]`, `[MQTT-3.3.2-9]`
    #[error("topic alias {0} is invalid or not defined")]
    TopicAliasInvalid(u16),
    /// A topic alias stands for a topic longer than the session can remember (see `Config::topic_alias_len`).
    #[error(
        "topic alias {alias} would stand for a topic of {len} bytes, more than the configured slot"
    )]
    TopicAliasTooLong {
        /// The alias.
        alias: u16,
        /// The topic's length.
        len: usize,
    },
    /// An acknowledgement of the wrong kind for the message with this packet identifier: PUBACK for QoS 2, PUBREC
    /// or PUBCOMP for QoS 1, PUBCOMP before PUBREC. The message fails with
    /// [`PublishFailure::WrongAck`](crate::session::PublishFailure::WrongAck) before the connection closes, so that
    /// it is not sent again. `[MQTT-4.3.2]`, `[MQTT-4.3.3]`; 3.1.1 `[MQTT-4.8.0-1]`.
    #[error("{packet} for packet identifier {packet_id}, which belongs to a QoS {qos} message")]
    WrongAck {
        /// The acknowledgement received.
        packet: PacketType,
        /// Its identifier.
        packet_id: u16,
        /// The QoS of the message with that identifier.
        qos: u8,
    },
    /// CONNACK accepted a connection made with Clean Start (3.1.1 Clean Session) 1 and said Session Present 1: the
    /// broker claims a session the client asked it to discard. 5.0 `[MQTT-3.2.2-2]`, `[MQTT-3.2.2-4]`; 3.1.1
    /// `[MQTT-3.2.2-1]`.
    #[error("CONNACK with Session Present 1 in answer to Clean Start 1")]
    SessionPresentAfterCleanStart,
    /// The broker's Maximum Packet Size is smaller than the acknowledgements the session must be able to send (5
    /// bytes: a PUBCOMP with a reason code), so no connection can follow the protocol. `[MQTT-3.2.2-15]`
    #[error("the broker's Maximum Packet Size of {0} bytes is too small to acknowledge a message")]
    MaximumPacketSizeTooSmall(u32),
    /// A SUBACK or UNSUBACK has a different number of reason codes than its request had filters.
    #[error("{packet} with {received} reason codes for {expected} topic filters")]
    ReasonCountMismatch {
        /// SUBACK or UNSUBACK.
        packet: PacketType,
        /// Filters in the request.
        expected: u16,
        /// Codes received.
        received: u16,
    },
    /// The enhanced authentication exchange failed: the authenticator refused the server's challenge or final
    /// data, or could not go on (see [`session::auth`](crate::session#enhanced-authentication)).
    #[error("enhanced authentication failed: {0}")]
    AuthenticationFailed(#[source] crate::session::AuthError),
    /// AUTH or a successful CONNACK named another Authentication Method than CONNECT. `[MQTT-4.12.0-5]`
    #[error("the broker answered with another authentication method")]
    AuthenticationMethodMismatch,
}

impl ProtocolError {
    /// Whether the failure is one of enhanced authentication: the exchange failed, or the server used another
    /// method.
    pub fn is_authentication(&self) -> bool {
        matches!(
            self,
            Self::AuthenticationFailed(_) | Self::AuthenticationMethodMismatch
        )
    }

    /// The MQTT 5.0 reason code the closing DISCONNECT carries.
    pub fn reason_code(&self) -> crate::codec::ReasonCode {
        use crate::codec::ReasonCode;
        match self {
            Self::Malformed(e) => e.reason_code(),
            Self::ReceiveMaximumExceeded(_) => ReasonCode::RECEIVE_MAXIMUM_EXCEEDED,
            Self::TopicAliasInvalid(_) => ReasonCode::TOPIC_ALIAS_INVALID,
            Self::TopicAliasTooLong { .. } => ReasonCode::IMPLEMENTATION_SPECIFIC_ERROR,
            Self::AuthenticationFailed(e) => e.reason_code(),
            _ => ReasonCode::PROTOCOL_ERROR,
        }
    }
}

/// `publish` refused a message. Nothing was queued.
///
/// The caller is at fault (invalid message) or must wait (full queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The topic is not a valid topic name.
    #[error("invalid topic name: {0}")]
    InvalidTopic(#[source] TopicError),
    /// The PUBLISH packet would exceed the maximum packet size (the broker's, or what the outbox can hold).
    #[error(
        "message too large: the PUBLISH packet of {size} bytes exceeds the limit of {max} bytes"
    )]
    TooLarge {
        /// Size of the PUBLISH packet.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The outbox is full: too many messages await sending or acknowledgement. Retry after some complete.
    #[error("the outgoing queue is full")]
    QueueFull,
    /// The broker does not support this QoS (5.0 Maximum QoS).
    #[error("the broker accepts at most QoS {max}")]
    QoSNotSupported {
        /// The broker's maximum.
        max: u8,
    },
    /// The broker does not support retained messages (5.0 Retain Available).
    #[error("the broker does not support retained messages")]
    RetainNotSupported,
    /// The session was closed by `disconnect` (or gave up); reconnect first.
    #[error("the session is closed")]
    Closed,
    /// A property of the message would make a packet brokers take for a malformed one (mosquitto closes the
    /// connection, so the message could never be delivered): a Response Topic that is not a valid topic name
    /// (`[MQTT-3.3.2-13]`, `[MQTT-3.3.2-14]`: no wildcard), or U+0000, a control character or a Unicode
    /// non-character in a Content Type or a user property (MQTT 5.0 section 1.5.4, `[MQTT-1.5.4-2]`). Names the
    /// property.
    #[error(
        "invalid {0}: a response topic is a topic name without wildcards, and no text property holds U+0000, \
         a control character or a Unicode non-character"
    )]
    InvalidProperty(&'static str),
    /// The Payload Format Indicator says the payload is UTF-8 text, and it is not: the payload of such a message
    /// MUST be well-formed UTF-8 (MQTT 5.0 section 3.3.2.3.2), and a broker or subscriber may refuse it with
    /// `0x99` Payload format invalid. Send it without the indicator (or with `false`: bytes), or as text.
    #[error("the payload format indicator says UTF-8, and the payload is not valid UTF-8")]
    PayloadNotUtf8,
    /// 5.0 properties on a 3.1.1 session, a topic alias or subscription identifier set by the application, or
    /// properties that a build without mqtt-core's cargo feature `properties` does not send.
    #[error("these message properties cannot be sent here")]
    PropertiesNotSupported,
}

/// `subscribe` or `unsubscribe` refused a request. Nothing was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubscribeError {
    /// A topic filter is invalid.
    #[error("invalid topic filter: {0}")]
    InvalidFilter(#[source] TopicError),
    /// The request has no topic filter.
    #[error("no topic filter given")]
    NoFilters,
    /// The subscription table is full.
    #[error("the subscription table is full")]
    TableFull,
    /// More than 65,535 filters, or a request too large for one packet.
    #[error("the request is too large for one packet")]
    TooLarge,
    /// 5.0 options or properties on a 3.1.1 session, or No Local on a shared subscription.
    #[error("subscription options not allowed here: {0}")]
    InvalidOptions(&'static str),
    /// The session was closed by `disconnect` (or gave up); reconnect first.
    #[error("the session is closed")]
    Closed,
    /// The broker announced it does not support shared subscriptions (5.0 Shared Subscription Available = 0).
    #[error("the broker does not support shared subscriptions ($share/...)")]
    SharedNotSupported,
    /// The broker announced it does not support wildcards in filters (5.0 Wildcard Subscription Available = 0).
    #[error("the broker does not support wildcard subscriptions (+ and #)")]
    WildcardsNotSupported,
    /// The broker announced it does not support subscription identifiers (5.0 Subscription Identifiers
    /// Available = 0).
    #[error("the broker does not support subscription identifiers")]
    SubscriptionIdsNotSupported,
}
