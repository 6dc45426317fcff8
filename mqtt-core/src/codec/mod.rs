//! Zero-copy encoding and decoding of every MQTT 3.1.1 and 5.0 control packet.
//!
//! [`decode`] turns the front of a byte buffer into a [`Packet`] that borrows its topic, payload and strings from
//! that buffer; [`Packet::encode`] writes a packet into a caller-provided buffer. Neither allocates, and the protocol
//! version is a parameter of both.
//!
//! ```
//! use mqtt_core::codec::{self, Packet, PacketId, ProtocolVersion, Publish, QoS};
//!
//! let publish = Packet::Publish(Publish {
//!     qos: QoS::AtLeastOnce,
//!     packet_id: PacketId::new(7),
//!     topic: "sensors/kitchen/temperature",
//!     payload: b"21.5",
//!     ..Publish::default()
//! });
//! let mut buf = [0u8; 64];
//! let len = publish.encode(ProtocolVersion::V5, &mut buf)?;
//! assert_eq!(len, publish.encoded_len(ProtocolVersion::V5));
//!
//! // Incomplete input is not an error: the decoder asks for more bytes.
//! assert_eq!(codec::decode(&buf[..len - 1], ProtocolVersion::V5, u32::MAX)?, None);
//!
//! let (decoded, used) = codec::decode(&buf[..len], ProtocolVersion::V5, u32::MAX)?.expect("complete");
//! assert_eq!((decoded, used), (publish, len));
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```
//!
//! # Validation
//!
//! Decoding enforces the rules of the specifications that can be checked on one packet: reserved header flags,
//! minimal Variable Byte Integers, well-formed UTF-8 without U+0000, non-zero packet identifiers, QoS values, topic
//! name and filter syntax, non-empty SUBSCRIBE and UNSUBSCRIBE, which properties each packet may carry and that
//! single-valued ones appear once, the consistency of the CONNECT flags, and that every reason code is one the
//! packet's reason code table lists ([`ReasonCode::is_valid_for`]). Each broken rule has its own [`DecodeError`]
//! variant. Whether a valid code makes sense in context (an acknowledgement for a packet identifier in flight) is
//! the session's business.

mod ack;
mod auth;
mod connack;
mod connect;
mod disconnect;
mod list;
mod properties;
mod publish;
mod reason;
mod subscribe;
mod unsubscribe;
pub(crate) mod wire;

use core::fmt;

pub use ack::{Ack, PubAck, PubComp, PubRec, PubRel};
pub use auth::Auth;
pub use connack::ConnAck;
pub use connect::{Connect, Will};
pub use disconnect::Disconnect;
pub use list::{List, ListItem, ListIter};
pub use properties::{
    AckProperties, AuthProperties, ConnAckProperties, ConnectProperties, DisconnectProperties,
    PublishProperties, SubAckProperties, SubscribeProperties, SubscriptionId, UnsubAckProperties,
    UnsubscribeProperties, UserProperty, WillProperties,
};
pub use publish::Publish;
pub(crate) use publish::{patch_publish, publish_topic_range};
pub use reason::ReasonCode;
pub use subscribe::{RetainHandling, SubAck, Subscribe, Subscription, SubscriptionOptions};
pub use unsubscribe::{UnsubAck, Unsubscribe};
pub use wire::MAX_VAR_INT;

use crate::error::{DecodeError, EncodeError};
use wire::{Reader, Writer, read_var_int, var_int_len};

/// A packet identifier: non-zero by construction. `[MQTT-2.2.1-3]`
pub type PacketId = core::num::NonZeroU16;

/// The version of the protocol spoken on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[non_exhaustive]
pub enum ProtocolVersion {
    /// MQTT 3.1.1 (protocol level 4).
    V311,
    /// MQTT 5.0 (protocol level 5).
    #[default]
    V5,
}

impl ProtocolVersion {
    /// The protocol level byte of CONNECT.
    pub const fn level(self) -> u8 {
        match self.folded() {
            Self::V311 => 4,
            Self::V5 => 5,
        }
    }

    /// The version for a CONNECT protocol level, if it is one this build speaks.
    pub const fn from_level(level: u8) -> Option<Self> {
        match level {
            4 if Self::V311.is_enabled() => Some(Self::V311),
            5 if Self::V5.is_enabled() => Some(Self::V5),
            _ => None,
        }
    }

    /// Whether this build speaks `self`: cargo features `v311` and `v5` (both by default). The codec refuses a
    /// version that is not enabled (decoding and encoding fail, a session is not created with it).
    pub const fn is_enabled(self) -> bool {
        match self {
            Self::V311 => cfg!(feature = "v311"),
            Self::V5 => cfg!(feature = "v5"),
        }
    }

    /// `self` as the code sees it: in a build that speaks one version only, that version, a constant (the
    /// entry points refuse the other: [`is_enabled`](Self::is_enabled)).
    #[inline(always)]
    pub(crate) const fn folded(self) -> Self {
        match self.is_v5() {
            true => Self::V5,
            false => Self::V311,
        }
    }

    /// Whether `self` is MQTT 5.0. In a build that speaks one version only, this is a constant, and the code of
    /// the other version compiles away: every decision of the codec and the session between the versions goes
    /// through here.
    #[inline(always)]
    pub const fn is_v5(self) -> bool {
        match (cfg!(feature = "v5"), cfg!(feature = "v311")) {
            (true, true) => matches!(self, Self::V5),
            (false, true) => false,
            // 5.0 only, or no version at all (nothing is decoded or encoded then).
            _ => true,
        }
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V311 => "MQTT 3.1.1",
            Self::V5 => "MQTT 5.0",
        })
    }
}

/// Quality of service of a message delivery. `[MQTT-4.3]`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(u8)]
pub enum QoS {
    /// QoS 0: at most once, no acknowledgement.
    #[default]
    AtMostOnce = 0,
    /// QoS 1: at least once, acknowledged by PUBACK.
    AtLeastOnce = 1,
    /// QoS 2: exactly once, through PUBREC, PUBREL and PUBCOMP.
    ExactlyOnce = 2,
}

impl QoS {
    /// The QoS for a wire value; 3 and above are not a QoS.
    ///
    /// # Errors
    ///
    /// [`DecodeError::InvalidQoS`] for values above 2.
    pub const fn from_u8(value: u8) -> Result<Self, DecodeError> {
        match value {
            0 => Ok(Self::AtMostOnce),
            1 => Ok(Self::AtLeastOnce),
            2 => Ok(Self::ExactlyOnce),
            _ => Err(DecodeError::InvalidQoS),
        }
    }
}

impl TryFrom<u8> for QoS {
    type Error = DecodeError;

    fn try_from(value: u8) -> Result<Self, DecodeError> {
        Self::from_u8(value)
    }
}

impl From<QoS> for u8 {
    fn from(qos: QoS) -> Self {
        qos as Self
    }
}

/// The type of an MQTT control packet, from the high nibble of the first byte. `[MQTT-2.1.2]`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PacketType {
    /// Client request to connect to the server.
    Connect = 1,
    /// Connect acknowledgement.
    ConnAck = 2,
    /// Publish message.
    Publish = 3,
    /// Publish acknowledgement (QoS 1).
    PubAck = 4,
    /// Publish received (QoS 2 delivery part 1).
    PubRec = 5,
    /// Publish release (QoS 2 delivery part 2).
    PubRel = 6,
    /// Publish complete (QoS 2 delivery part 3).
    PubComp = 7,
    /// Subscribe request.
    Subscribe = 8,
    /// Subscribe acknowledgement.
    SubAck = 9,
    /// Unsubscribe request.
    Unsubscribe = 10,
    /// Unsubscribe acknowledgement.
    UnsubAck = 11,
    /// Ping request.
    PingReq = 12,
    /// Ping response.
    PingResp = 13,
    /// Disconnect notification.
    Disconnect = 14,
    /// Authentication exchange (MQTT 5.0 only).
    Auth = 15,
}

impl PacketType {
    /// The packet type for the high nibble of a fixed header, if `version` has one with that value.
    pub const fn from_nibble(nibble: u8, version: ProtocolVersion) -> Option<Self> {
        Some(match nibble {
            1 => Self::Connect,
            2 => Self::ConnAck,
            3 => Self::Publish,
            4 => Self::PubAck,
            5 => Self::PubRec,
            6 => Self::PubRel,
            7 => Self::PubComp,
            8 => Self::Subscribe,
            9 => Self::SubAck,
            10 => Self::Unsubscribe,
            11 => Self::UnsubAck,
            12 => Self::PingReq,
            13 => Self::PingResp,
            14 => Self::Disconnect,
            15 if version.is_v5() => Self::Auth,
            _ => return None,
        })
    }

    /// The flag bits every packet type but PUBLISH must carry. `[MQTT-2.2.2-1]`
    const fn required_flags(self) -> Option<u8> {
        match self {
            Self::Publish => None,
            Self::PubRel | Self::Subscribe | Self::Unsubscribe => Some(0b0010),
            _ => Some(0),
        }
    }

    /// The packet's name as the specification spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Connect => "CONNECT",
            Self::ConnAck => "CONNACK",
            Self::Publish => "PUBLISH",
            Self::PubAck => "PUBACK",
            Self::PubRec => "PUBREC",
            Self::PubRel => "PUBREL",
            Self::PubComp => "PUBCOMP",
            Self::Subscribe => "SUBSCRIBE",
            Self::SubAck => "SUBACK",
            Self::Unsubscribe => "UNSUBSCRIBE",
            Self::UnsubAck => "UNSUBACK",
            Self::PingReq => "PINGREQ",
            Self::PingResp => "PINGRESP",
            Self::Disconnect => "DISCONNECT",
            Self::Auth => "AUTH",
        }
    }
}

impl fmt::Display for PacketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The fixed header of a packet: its type, flags and size. `[MQTT-2.1]`
///
/// Parsing the fixed header alone tells how many bytes the whole packet takes, so a reader can refuse an oversized
/// packet before buffering its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedHeader {
    /// The packet type.
    pub packet_type: PacketType,
    /// The low nibble of the first byte.
    pub flags: u8,
    /// Bytes taken by the fixed header itself (2 to 5).
    pub header_len: usize,
    /// The remaining length: bytes of the packet after the fixed header.
    pub remaining_len: usize,
}

impl FixedHeader {
    /// Parses the fixed header at the start of `buf`.
    ///
    /// Returns `Ok(None)` while `buf` is too short to hold the whole fixed header.
    ///
    /// # Errors
    ///
    /// An invalid packet type or reserved flags as soon as the first byte is there; an over-long or non-minimal
    /// remaining length; [`DecodeError::PacketTooLarge`] when the packet would exceed `max_packet_size` bytes
    /// (header included), without waiting for the body.
    #[inline]
    pub fn parse(
        buf: &[u8],
        version: ProtocolVersion,
        max_packet_size: u32,
    ) -> Result<Option<Self>, DecodeError> {
        let Some((&first, rest)) = buf.split_first() else {
            return Ok(None);
        };
        let nibble = first >> 4;
        let flags = first & 0x0f;
        let packet_type = PacketType::from_nibble(nibble, version)
            .ok_or(DecodeError::InvalidPacketType(nibble))?;
        if let Some(required) = packet_type.required_flags()
            && flags != required
        {
            return Err(DecodeError::InvalidFixedHeaderFlags {
                packet: packet_type,
                flags,
            });
        }
        let Some((remaining, len_bytes)) = read_var_int(rest)? else {
            return Ok(None);
        };
        let header_len = 1 + len_bytes;
        let size = u64::from(remaining) + header_len as u64;
        if size > u64::from(max_packet_size) {
            return Err(DecodeError::PacketTooLarge {
                size: u32::try_from(size).unwrap_or(u32::MAX),
                max: max_packet_size,
            });
        }
        Ok(Some(Self {
            packet_type,
            flags,
            header_len,
            remaining_len: remaining as usize,
        }))
    }

    /// Bytes taken by the whole packet: fixed header plus remaining length.
    pub const fn packet_len(&self) -> usize {
        self.header_len + self.remaining_len
    }
}

/// One MQTT control packet, borrowing its strings and payload from the buffer it was decoded from (or from the
/// values it was built from).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    /// CONNECT: client request to connect.
    Connect(Connect<'a>),
    /// CONNACK: connect acknowledgement.
    ConnAck(ConnAck<'a>),
    /// PUBLISH: an application message.
    Publish(Publish<'a>),
    /// PUBACK: QoS 1 acknowledgement.
    PubAck(PubAck<'a>),
    /// PUBREC: QoS 2, publish received.
    PubRec(PubRec<'a>),
    /// PUBREL: QoS 2, publish release.
    PubRel(PubRel<'a>),
    /// PUBCOMP: QoS 2, publish complete.
    PubComp(PubComp<'a>),
    /// SUBSCRIBE: subscription request.
    Subscribe(Subscribe<'a>),
    /// SUBACK: subscription acknowledgement.
    SubAck(SubAck<'a>),
    /// UNSUBSCRIBE: unsubscription request.
    Unsubscribe(Unsubscribe<'a>),
    /// UNSUBACK: unsubscription acknowledgement.
    UnsubAck(UnsubAck<'a>),
    /// PINGREQ: keepalive request.
    PingReq,
    /// PINGRESP: keepalive response.
    PingResp,
    /// DISCONNECT: orderly close, with a reason in 5.0.
    Disconnect(Disconnect<'a>),
    /// AUTH: extended authentication exchange (MQTT 5.0 only).
    Auth(Auth<'a>),
}

/// What every packet body can do: report its size, its fixed-header flags, and write itself.
pub(crate) trait Body {
    /// Bytes of the body (the remaining length) in `version`.
    fn body_len(&self, version: ProtocolVersion) -> usize;
    /// The low nibble of the first byte, for packet types whose flags are not fixed (PUBLISH).
    fn flags(&self) -> u8 {
        0
    }
    /// Rejects what cannot be encoded before anything is written; `packet` is the type being encoded.
    fn check(&self, packet: PacketType, version: ProtocolVersion) -> Result<(), EncodeError> {
        let _ = (packet, version);
        Ok(())
    }
    /// Writes the body; exactly `body_len` bytes.
    fn write_body(&self, version: ProtocolVersion, w: &mut Writer<'_>) -> Result<(), EncodeError>;
}

/// Writes a whole packet (fixed header and body) of type `packet_type`.
pub(crate) fn encode_body<B: Body>(
    body: &B,
    packet_type: PacketType,
    version: ProtocolVersion,
    buf: &mut [u8],
) -> Result<usize, EncodeError> {
    let body_len = body.body_len(version);
    if body_len > MAX_VAR_INT as usize {
        return Err(EncodeError::PacketTooLarge(body_len));
    }
    let total = 1 + var_int_len(body_len) + body_len;
    let available = buf.len();
    let out = buf.get_mut(..total).ok_or(EncodeError::BufferTooSmall {
        needed: total,
        available,
    })?;
    body.check(packet_type, version)?;
    let flags = packet_type.required_flags().unwrap_or_else(|| body.flags());
    let mut w = Writer::new(out);
    w.u8(((packet_type as u8) << 4) | flags)?;
    w.var_int(body_len)?;
    body.write_body(version, &mut w)?;
    debug_assert!(
        w.position() == total || w.finish_ref().is_some(),
        "{packet_type}: body_len disagrees with write_body"
    );
    w.finish()
}

const fn packet_len(body_len: usize) -> usize {
    1 + var_int_len(body_len) + body_len
}

/// Body-less packets (PINGREQ, PINGRESP).
struct Empty;

impl Body for Empty {
    fn body_len(&self, _: ProtocolVersion) -> usize {
        0
    }

    fn write_body(&self, _: ProtocolVersion, _: &mut Writer<'_>) -> Result<(), EncodeError> {
        Ok(())
    }
}

macro_rules! each_packet {
    ($self:expr, $body:ident => $with_body:expr, $empty:expr) => {
        match $self {
            Packet::Connect($body) => $with_body,
            Packet::ConnAck($body) => $with_body,
            Packet::Publish($body) => $with_body,
            Packet::PubAck($body) => $with_body,
            Packet::PubRec($body) => $with_body,
            Packet::PubRel($body) => $with_body,
            Packet::PubComp($body) => $with_body,
            Packet::Subscribe($body) => $with_body,
            Packet::SubAck($body) => $with_body,
            Packet::Unsubscribe($body) => $with_body,
            Packet::UnsubAck($body) => $with_body,
            Packet::Disconnect($body) => $with_body,
            Packet::Auth($body) => $with_body,
            Packet::PingReq | Packet::PingResp => $empty,
        }
    };
}

impl<'a> Packet<'a> {
    /// The packet's type.
    pub const fn packet_type(&self) -> PacketType {
        match self {
            Self::Connect(_) => PacketType::Connect,
            Self::ConnAck(_) => PacketType::ConnAck,
            Self::Publish(_) => PacketType::Publish,
            Self::PubAck(_) => PacketType::PubAck,
            Self::PubRec(_) => PacketType::PubRec,
            Self::PubRel(_) => PacketType::PubRel,
            Self::PubComp(_) => PacketType::PubComp,
            Self::Subscribe(_) => PacketType::Subscribe,
            Self::SubAck(_) => PacketType::SubAck,
            Self::Unsubscribe(_) => PacketType::Unsubscribe,
            Self::UnsubAck(_) => PacketType::UnsubAck,
            Self::PingReq => PacketType::PingReq,
            Self::PingResp => PacketType::PingResp,
            Self::Disconnect(_) => PacketType::Disconnect,
            Self::Auth(_) => PacketType::Auth,
        }
    }

    /// The number of bytes [`encode`](Self::encode) writes for this packet in `version`.
    #[inline]
    pub fn encoded_len(&self, version: ProtocolVersion) -> usize {
        packet_len(each_packet!(self, body => body.body_len(version), 0))
    }

    /// Writes the packet into the front of `buf` and returns the number of bytes written, which equals
    /// [`encoded_len`](Self::encoded_len).
    ///
    /// # Errors
    ///
    /// [`EncodeError::BufferTooSmall`] if `buf` is shorter than [`encoded_len`](Self::encoded_len); otherwise an
    /// error naming the field that the wire format cannot carry (a string over 65,535 bytes, a 5.0 feature in
    /// 3.1.1, QoS and packet identifier that disagree); [`EncodeError::VersionNotEnabled`] for a version this
    /// build does not speak. The contents of `buf` are unspecified after an error.
    #[inline]
    pub fn encode(&self, version: ProtocolVersion, buf: &mut [u8]) -> Result<usize, EncodeError> {
        if !version.is_enabled() {
            return Err(EncodeError::VersionNotEnabled(version));
        }
        let packet_type = self.packet_type();
        each_packet!(
            self,
            body => encode_body(body, packet_type, version, buf),
            encode_body(&Empty, packet_type, version, buf)
        )
    }

    /// [`encode`](Self::encode) for the session: the packets a client sends. A server's packet (CONNACK, SUBACK,
    /// UNSUBACK, PINGRESP) is not encoded (`BufferTooSmall`), so that a client's firmware does not carry their
    /// encoders.
    pub(crate) fn encode_from_client(
        &self,
        version: ProtocolVersion,
        buf: &mut [u8],
    ) -> Result<usize, EncodeError> {
        if !version.is_enabled() {
            return Err(EncodeError::VersionNotEnabled(version));
        }
        let t = self.packet_type();
        match self {
            Self::Connect(p) => encode_body(p, t, version, buf),
            Self::Publish(p) => encode_body(p, t, version, buf),
            Self::PubAck(p) | Self::PubRec(p) | Self::PubRel(p) | Self::PubComp(p) => {
                encode_body(p, t, version, buf)
            }
            Self::Subscribe(p) => encode_body(p, t, version, buf),
            Self::Unsubscribe(p) => encode_body(p, t, version, buf),
            Self::Disconnect(p) => encode_body(p, t, version, buf),
            Self::Auth(p) if version.is_v5() => encode_body(p, t, version, buf),
            Self::PingReq => encode_body(&Empty, t, version, buf),
            Self::Auth(_)
            | Self::ConnAck(_)
            | Self::SubAck(_)
            | Self::UnsubAck(_)
            | Self::PingResp => Err(EncodeError::BufferTooSmall {
                needed: usize::MAX,
                available: buf.len(),
            }),
        }
    }

    /// [`encoded_len`](Self::encoded_len) for what [`encode_from_client`](Self::encode_from_client) encodes (0 for
    /// the rest).
    pub(crate) fn encoded_len_from_client(&self, version: ProtocolVersion) -> usize {
        packet_len(match self {
            Self::Connect(p) => p.body_len(version),
            Self::Publish(p) => p.body_len(version),
            Self::PubAck(p) | Self::PubRec(p) | Self::PubRel(p) | Self::PubComp(p) => {
                p.body_len(version)
            }
            Self::Subscribe(p) => p.body_len(version),
            Self::Unsubscribe(p) => p.body_len(version),
            Self::Disconnect(p) => p.body_len(version),
            Self::Auth(p) if version.is_v5() => p.body_len(version),
            _ => 0,
        })
    }

    #[inline]
    fn decode_body(
        header: &FixedHeader,
        body: &'a [u8],
        version: ProtocolVersion,
    ) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body, header.packet_type);
        let flags = header.flags;
        let packet = match header.packet_type {
            PacketType::Connect => Self::Connect(Connect::decode(&mut r, version)?),
            PacketType::ConnAck => Self::ConnAck(ConnAck::decode(&mut r, version)?),
            PacketType::Publish => Self::Publish(Publish::decode(&mut r, flags, version)?),
            PacketType::PubAck => Self::PubAck(Ack::decode(&mut r, version)?),
            PacketType::PubRec => Self::PubRec(Ack::decode(&mut r, version)?),
            PacketType::PubRel => Self::PubRel(Ack::decode(&mut r, version)?),
            PacketType::PubComp => Self::PubComp(Ack::decode(&mut r, version)?),
            PacketType::Subscribe => Self::Subscribe(Subscribe::decode(&mut r, version)?),
            PacketType::SubAck => Self::SubAck(SubAck::decode(&mut r, version)?),
            PacketType::Unsubscribe => Self::Unsubscribe(Unsubscribe::decode(&mut r, version)?),
            PacketType::UnsubAck => Self::UnsubAck(UnsubAck::decode(&mut r, version)?),
            PacketType::PingReq => Self::PingReq,
            PacketType::PingResp => Self::PingResp,
            PacketType::Disconnect => Self::Disconnect(Disconnect::decode(&mut r, version)?),
            PacketType::Auth => Self::Auth(Auth::decode(&mut r)?),
        };
        r.finish()?;
        Ok(packet)
    }
}

/// Decodes the packet at the start of `buf`.
///
/// Returns the packet and the number of bytes it took, or `Ok(None)` when `buf` does not yet hold a whole packet.
/// Bytes after the first packet are left alone. `max_packet_size` bounds the whole packet (fixed header included);
/// pass `u32::MAX` for no limit beyond the protocol's own.
///
/// # Errors
///
/// A [`DecodeError`] naming the rule the bytes break. [`DecodeError::PacketTooLarge`] is returned as soon as the
/// fixed header is complete, so an oversized packet never needs to be buffered.
/// [`DecodeError::UnsupportedProtocolLevel`] for a version this build does not speak
/// ([`ProtocolVersion::is_enabled`]).
#[inline]
pub fn decode(
    buf: &[u8],
    version: ProtocolVersion,
    max_packet_size: u32,
) -> Result<Option<(Packet<'_>, usize)>, DecodeError> {
    if !version.is_enabled() {
        return Err(DecodeError::UnsupportedProtocolLevel(version.level()));
    }
    let Some(header) = FixedHeader::parse(buf, version, max_packet_size)? else {
        return Ok(None);
    };
    let Some(body) = buf.get(header.header_len..header.packet_len()) else {
        return Ok(None);
    };
    Packet::decode_body(&header, body, version).map(|packet| Some((packet, header.packet_len())))
}

/// What [`decode_from_server`] read: a packet, or the type of one only clients send.
pub(crate) type FromServer<'a> = Result<Packet<'a>, PacketType>;

/// [`decode`] for the session: a packet a server sends. A packet of a type only clients send (CONNECT,
/// SUBSCRIBE, UNSUBSCRIBE, PINGREQ) comes back as `Err` with its type, its body not decoded, so that a client's
/// firmware does not carry their decoders.
pub(crate) fn decode_from_server(
    buf: &[u8],
    version: ProtocolVersion,
    max_packet_size: u32,
) -> Result<Option<(FromServer<'_>, usize)>, DecodeError> {
    if !version.is_enabled() {
        return Err(DecodeError::UnsupportedProtocolLevel(version.level()));
    }
    let Some(header) = FixedHeader::parse(buf, version, max_packet_size)? else {
        return Ok(None);
    };
    let Some(body) = buf.get(header.header_len..header.packet_len()) else {
        return Ok(None);
    };
    let mut r = Reader::new(body, header.packet_type);
    let flags = header.flags;
    let packet = match header.packet_type {
        PacketType::ConnAck => Packet::ConnAck(ConnAck::decode(&mut r, version)?),
        PacketType::Publish => Packet::Publish(Publish::decode(&mut r, flags, version)?),
        PacketType::PubAck => Packet::PubAck(Ack::decode(&mut r, version)?),
        PacketType::PubRec => Packet::PubRec(Ack::decode(&mut r, version)?),
        PacketType::PubRel => Packet::PubRel(Ack::decode(&mut r, version)?),
        PacketType::PubComp => Packet::PubComp(Ack::decode(&mut r, version)?),
        PacketType::SubAck => Packet::SubAck(SubAck::decode(&mut r, version)?),
        PacketType::UnsubAck => Packet::UnsubAck(UnsubAck::decode(&mut r, version)?),
        PacketType::PingResp => Packet::PingResp,
        PacketType::Disconnect => Packet::Disconnect(Disconnect::decode(&mut r, version)?),
        PacketType::Auth => Packet::Auth(Auth::decode(&mut r)?),
        other => return Ok(Some((Err(other), header.packet_len()))),
    };
    r.finish()?;
    Ok(Some((Ok(packet), header.packet_len())))
}

/// The protocol version a CONNECT packet at the start of `buf` asks for, read without decoding the rest.
///
/// A server uses this to pick the version to [`decode`] the CONNECT with. Returns `Ok(None)` until enough bytes are
/// there.
///
/// # Errors
///
/// [`DecodeError::InvalidPacketType`] if the packet is not a CONNECT, [`DecodeError::InvalidProtocolName`] or
/// [`DecodeError::UnsupportedProtocolLevel`] for a protocol this crate does not speak, [`DecodeError::UnexpectedEnd`]
/// for a CONNECT too short to hold its protocol name and level.
pub fn connect_version(buf: &[u8]) -> Result<Option<ProtocolVersion>, DecodeError> {
    let Some(header) = FixedHeader::parse(buf, ProtocolVersion::V5, u32::MAX)? else {
        return Ok(None);
    };
    if header.packet_type != PacketType::Connect {
        return Err(DecodeError::InvalidPacketType(header.packet_type as u8));
    }
    // Protocol name (2 + 4 bytes) and level, never past the end of this packet.
    let end = header.header_len + header.remaining_len.min(7);
    let Some(start) = buf.get(header.header_len..end) else {
        return Ok(None);
    };
    let mut r = Reader::new(start, PacketType::Connect);
    if r.binary()? != b"MQTT" {
        return Err(DecodeError::InvalidProtocolName);
    }
    let level = r.u8()?;
    ProtocolVersion::from_level(level)
        .map(Some)
        .ok_or(DecodeError::UnsupportedProtocolLevel(level))
}
