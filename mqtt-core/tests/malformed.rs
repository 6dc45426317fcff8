//! Malformed packets: one row per rule of MQTT 3.1.1 and MQTT 5.0 that a single packet can break,
//! each with the [`DecodeError`] naming that rule.
//!
//! Each row is a whole packet (unless the rule is about the fixed header alone) that would be
//! valid but for the one broken rule, so that the row fails for the reason it names. The
//! near-miss table at the end holds packets one step away from a row that must still decode.

use std::collections::BTreeSet;

use mqtt_core::codec::{self, PacketType, ProtocolVersion, ReasonCode};
use mqtt_core::{DecodeError, TopicError};

use DecodeError as E;
use PacketType as P;

const V3: ProtocolVersion = ProtocolVersion::V311;
const V5: ProtocolVersion = ProtocolVersion::V5;

/// The maximum packet size every row is decoded with: 1 MiB.
const MAX_PACKET_SIZE: u32 = 1 << 20;

/// (name, version, bytes, the error `decode` must return).
type Row = (&'static str, ProtocolVersion, &'static [u8], DecodeError);

const ROWS: &[Row] = &[
    // ---------------------------------------------------------------------------------------------
    // Packet type (3.1.1 §2.2.1 Table 2.1, 5.0 §2.1.2 Table 2-1)
    // ---------------------------------------------------------------------------------------------
    (
        "packet type 0 is reserved (3.1.1)",
        V3,
        &[
            0x00, 0x00, // type 0, RL 0
        ],
        E::InvalidPacketType(0),
    ),
    (
        "packet type 0 is reserved (5.0)",
        V5,
        &[
            0x00, 0x00, // type 0, RL 0
        ],
        E::InvalidPacketType(0),
    ),
    (
        "AUTH (type 15) is reserved in 3.1.1",
        V3,
        &[
            0xf0, 0x00, // type 15, RL 0
        ],
        E::InvalidPacketType(15),
    ),
    // ---------------------------------------------------------------------------------------------
    // Reserved fixed header flags: [MQTT-2.2.2-1] (3.1.1 §2.2.2 Table 2.2, 5.0 §2.1.3 Table 2-2)
    // ---------------------------------------------------------------------------------------------
    (
        "CONNECT with flags 0001",
        V3,
        &[
            0x11, 0x0c, // CONNECT, flags 0001; RL 12
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x04, 0x02, 0x00, 0x3c, // level 4, clean session, keep alive 60
            0x00, 0x00, // client id ""
        ],
        E::InvalidFixedHeaderFlags {
            packet: P::Connect,
            flags: 0b0001,
        },
    ),
    (
        "CONNACK with flags 1000",
        V5,
        &[
            0x28, 0x03, // CONNACK, flags 1000; RL 3
            0x00, 0x00, 0x00, // flags, reason, property length
        ],
        E::InvalidFixedHeaderFlags {
            packet: P::ConnAck,
            flags: 0b1000,
        },
    ),
    (
        "PUBACK with flags 0010",
        V3,
        &[
            0x42, 0x02, // PUBACK, flags 0010; RL 2
            0x00, 0x0a, // packet id 10
        ],
        E::InvalidFixedHeaderFlags {
            packet: P::PubAck,
            flags: 0b0010,
        },
    ),
    (
        "PUBREC with flags 0001",
        V5,
        &[
            0x51, 0x02, // PUBREC, flags 0001; RL 2
            0x00, 0x0a, // packet id 10
        ],
        E::InvalidFixedHeaderFlags {
            packet: P::PubRec,
            flags: 0b0001,
        },
    ),
    (
        "PUBREL with flags 0000 (3.1.1, [MQTT-3.6.1-1])",
        V3,
        &[
            0x60, 0x02, // PUBREL, flags 0000; RL 2
            0x00, 0x0a, // packet id 10
        ],
        E::InvalidFixedHeaderFlags {
            packet: P::PubRel,
            flags: 0b0000,
        },
    ),
    (
        "PUBREL with flags 0000 (5.0)",
        V5,
        &[
            0x60, 0x02, // PUBREL, flags 0000; RL 2
            0x00, 0x0a, // packet id 10
        ],
        E::InvalidFixedHeaderFlags {
            packet: P::PubRel,
            flags: 0b0000,
        },
    ),
    (
        "PUBCOMP with flags 0100",
        V3,
        &[
            0x74, 0x02, // PUBCOMP, flags 0100; RL 2
            0x00, 0x0a, // packet id 10
        ],
        E::InvalidFixedHeaderFlags {
            packet: P::PubComp,
            flags: 0b0100,
        },
    ),
    (
        "SUBSCRIBE with flags 0000 (3.1.1, [MQTT-3.8.1-1])",
        V3,
        &[
            0x80, 0x08, // SUBSCRIBE, flags 0000; RL 8
            0x00, 0x0a, // packet id 10
            0x00, 0x03, b'a', b'/', b'b', 0x01, // "a/b" QoS 1
        ],
        E::InvalidFixedHeaderFlags {
            packet: P::Subscribe,
            flags: 0b0000,
        },
    ),
    (
        "SUBSCRIBE with flags 0000 (5.0)",
        V5,
        &[
            0x80, 0x09, // SUBSCRIBE, flags 0000; RL 9
            0x00, 0x0a, 0x00, // packet id 10, property length 0
            0x00, 0x03, b'a', b'/', b'b', 0x01, // "a/b" QoS 1
        ],
        E::InvalidFixedHeaderFlags {
            packet: P::Subscribe,
            flags: 0b0000,
        },
    ),
    (
        "SUBACK with flags 0010",
        V3,
        &[
            0x92, 0x03, // SUBACK, flags 0010; RL 3
            0x00, 0x0a, 0x00, // packet id 10, granted QoS 0
        ],
        E::InvalidFixedHeaderFlags {
            packet: P::SubAck,
            flags: 0b0010,
        },
    ),
    (
        "UNSUBSCRIBE with flags 0000 (3.1.1, [MQTT-3.10.1-1])",
        V3,
        &[
            0xa0, 0x07, // UNSUBSCRIBE, flags 0000; RL 7
            0x00, 0x0a, // packet id 10
            0x00, 0x03, b'a', b'/', b'b', // "a/b"
        ],
        E::InvalidFixedHeaderFlags {
            packet: P::Unsubscribe,
            flags: 0b0000,
        },
    ),
    (
        "UNSUBSCRIBE with flags 0000 (5.0)",
        V5,
        &[
            0xa0, 0x08, // UNSUBSCRIBE, flags 0000; RL 8
            0x00, 0x0a, 0x00, // packet id 10, property length 0
            0x00, 0x03, b'a', b'/', b'b', // "a/b"
        ],
        E::InvalidFixedHeaderFlags {
            packet: P::Unsubscribe,
            flags: 0b0000,
        },
    ),
    (
        "UNSUBACK with flags 1000",
        V3,
        &[
            0xb8, 0x02, // UNSUBACK, flags 1000; RL 2
            0x00, 0x0a, // packet id 10
        ],
        E::InvalidFixedHeaderFlags {
            packet: P::UnsubAck,
            flags: 0b1000,
        },
    ),
    (
        "PINGREQ with flags 0001",
        V3,
        &[
            0xc1, 0x00, // PINGREQ, flags 0001; RL 0
        ],
        E::InvalidFixedHeaderFlags {
            packet: P::PingReq,
            flags: 0b0001,
        },
    ),
    (
        "PINGRESP with flags 1111",
        V5,
        &[
            0xdf, 0x00, // PINGRESP, flags 1111; RL 0
        ],
        E::InvalidFixedHeaderFlags {
            packet: P::PingResp,
            flags: 0b1111,
        },
    ),
    (
        "DISCONNECT with flags 0010",
        V3,
        &[
            0xe2, 0x00, // DISCONNECT, flags 0010; RL 0
        ],
        E::InvalidFixedHeaderFlags {
            packet: P::Disconnect,
            flags: 0b0010,
        },
    ),
    (
        "AUTH with flags 0001 (5.0 §3.15.1)",
        V5,
        &[
            0xf1, 0x00, // AUTH, flags 0001; RL 0
        ],
        E::InvalidFixedHeaderFlags {
            packet: P::Auth,
            flags: 0b0001,
        },
    ),
    // ---------------------------------------------------------------------------------------------
    // Variable Byte Integers (3.1.1 §2.2.3, 5.0 §1.5.5)
    // ---------------------------------------------------------------------------------------------
    (
        "remaining length of five bytes",
        V3,
        &[
            0x30, // PUBLISH QoS 0
            0xff, 0xff, 0xff, 0xff, 0x7f, // RL: five bytes
        ],
        E::VarIntTooLong,
    ),
    (
        "remaining length whose fourth byte continues",
        V3,
        &[
            0xc0, // PINGREQ
            0x80, 0x80, 0x80, 0x80, // RL: a fifth byte would follow; no need to wait for it
        ],
        E::VarIntTooLong,
    ),
    (
        "property length of five bytes",
        V5,
        &[
            0x30, 0x0a, // PUBLISH QoS 0, RL 10
            0x00, 0x03, b'a', b'/', b'b', // topic "a/b"
            0xff, 0xff, 0xff, 0xff, 0x01, // property length: five bytes
        ],
        E::VarIntTooLong,
    ),
    (
        "subscription identifier of five bytes",
        V5,
        &[
            0x82, 0x0f, // SUBSCRIBE, RL 15
            0x00, 0x0a, 0x06, // packet id 10, property length 6
            0x0b, 0x80, 0x80, 0x80, 0x80, 0x01, // subscription identifier: five bytes
            0x00, 0x03, b'a', b'/', b'b', 0x00, // "a/b" QoS 0
        ],
        E::VarIntTooLong,
    ),
    (
        "non-minimal remaining length 0 (80 00), [MQTT-1.5.5-1]",
        V3,
        &[
            0xc0, // PINGREQ
            0x80, 0x00, // RL 0 in two bytes
        ],
        E::NonMinimalVarInt,
    ),
    (
        "non-minimal remaining length 10 (8a 80 00)",
        V3,
        &[
            0x30, 0x8a, 0x80, 0x00, // PUBLISH QoS 0, RL 10 in three bytes
            0x00, 0x03, b'a', b'/', b'b', // topic "a/b"
            b'h', b'e', b'l', b'l', b'o', // payload
        ],
        E::NonMinimalVarInt,
    ),
    (
        "non-minimal property length",
        V5,
        &[
            0x40, 0x05, // PUBACK, RL 5
            0x00, 0x0a, 0x10, // packet id 10, reason 0x10
            0x80, 0x00, // property length 0 in two bytes
        ],
        E::NonMinimalVarInt,
    ),
    (
        "non-minimal subscription identifier",
        V5,
        &[
            0x82, 0x0c, // SUBSCRIBE, RL 12
            0x00, 0x0a, 0x03, // packet id 10, property length 3
            0x0b, 0x81, 0x00, // subscription identifier 1 in two bytes
            0x00, 0x03, b'a', b'/', b'b', 0x00, // "a/b" QoS 0
        ],
        E::NonMinimalVarInt,
    ),
    (
        "non-minimal property identifier",
        V5,
        &[
            0x30, 0x09, // PUBLISH QoS 0, RL 9
            0x00, 0x03, b'a', b'/', b'b', // topic "a/b"
            0x03, // property length 3
            0x81, 0x00, 0x01, // payload format indicator, identifier in two bytes
        ],
        E::NonMinimalVarInt,
    ),
    // ---------------------------------------------------------------------------------------------
    // Maximum packet size ([MQTT-3.1.2-24], [MQTT-3.2.2-15]), known from the fixed header alone
    // ---------------------------------------------------------------------------------------------
    (
        "header announcing 256 MB, only the header present",
        V3,
        &[
            0x30, // PUBLISH QoS 0
            0xff, 0xff, 0xff, 0x7f, // RL 268,435,455: the body never needs buffering
        ],
        E::PacketTooLarge {
            size: 268_435_460,
            max: MAX_PACKET_SIZE,
        },
    ),
    (
        "header announcing one byte over the limit",
        V5,
        &[
            0x10, // CONNECT
            0xfd, 0xff, 0x3f, // RL 1,048,573: 1 + 3 + RL = limit + 1
        ],
        E::PacketTooLarge {
            size: MAX_PACKET_SIZE + 1,
            max: MAX_PACKET_SIZE,
        },
    ),
    // ---------------------------------------------------------------------------------------------
    // Fields running past the remaining length
    // ---------------------------------------------------------------------------------------------
    (
        "topic string runs past the end",
        V3,
        &[
            0x30, 0x03, // PUBLISH QoS 0, RL 3
            0x00, 0x05, b'a', // topic: 5 bytes announced, 1 present
        ],
        E::UnexpectedEnd { packet: P::Publish },
    ),
    (
        "topic length cut in half",
        V5,
        &[
            0x30, 0x01, // PUBLISH QoS 0, RL 1
            0x00, // half a length prefix
        ],
        E::UnexpectedEnd { packet: P::Publish },
    ),
    (
        "PUBACK without its packet identifier",
        V3,
        &[
            0x40, 0x01, // PUBACK, RL 1
            0x00, // half a packet id
        ],
        E::UnexpectedEnd { packet: P::PubAck },
    ),
    (
        "CONNACK without its return code",
        V3,
        &[
            0x20, 0x01, // CONNACK, RL 1
            0x00, // acknowledge flags only
        ],
        E::UnexpectedEnd { packet: P::ConnAck },
    ),
    (
        "SUBSCRIBE filter without its options byte",
        V3,
        &[
            0x82, 0x07, // SUBSCRIBE, RL 7
            0x00, 0x0a, // packet id 10
            0x00, 0x03, b'a', b'/', b'b', // "a/b", then nothing
        ],
        E::UnexpectedEnd {
            packet: P::Subscribe,
        },
    ),
    (
        "property length past the end of the packet",
        V5,
        &[
            0x40, 0x05, // PUBACK, RL 5
            0x00, 0x0a, 0x00, // packet id 10, reason 0x00
            0x05, 0x1f, // property length 5, 1 byte present
        ],
        E::UnexpectedEnd { packet: P::PubAck },
    ),
    (
        "property value past the end of the property block",
        V5,
        &[
            0x40, 0x06, // PUBACK, RL 6
            0x00, 0x0a, 0x00, // packet id 10, reason 0x00
            0x02, 0x1f, 0x00, // property length 2: reason string, half its length
        ],
        E::UnexpectedEnd { packet: P::PubAck },
    ),
    (
        "CONNECT password flag without a password",
        V3,
        &[
            0x10, 0x0f, // CONNECT, RL 15
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x04, 0xc2, 0x00, 0x3c, // level 4; user name, password, clean; keep alive 60
            0x00, 0x00, // client id ""
            0x00, 0x01, b'u', // user name "u", then no password
        ],
        E::UnexpectedEnd { packet: P::Connect },
    ),
    (
        "AUTH property block cut",
        V5,
        &[
            0xf0, 0x02, // AUTH, RL 2
            0x18, 0x05, // reason 0x18, property length 5, nothing follows
        ],
        E::UnexpectedEnd { packet: P::Auth },
    ),
    // ---------------------------------------------------------------------------------------------
    // Bytes left after the last field
    // ---------------------------------------------------------------------------------------------
    (
        "PINGREQ with a body (3.1.1 §3.12)",
        V3,
        &[
            0xc0, 0x01, // PINGREQ, RL 1
            0x00, // extra
        ],
        E::TrailingBytes {
            packet: P::PingReq,
            extra: 1,
        },
    ),
    (
        "PINGRESP with a body (5.0 §3.13)",
        V5,
        &[
            0xd0, 0x02, // PINGRESP, RL 2
            0x00, 0x00, // extra
        ],
        E::TrailingBytes {
            packet: P::PingResp,
            extra: 2,
        },
    ),
    (
        "3.1.1 PUBACK with a reason code (RL must be 2)",
        V3,
        &[
            0x40, 0x03, // PUBACK, RL 3
            0x00, 0x0a, 0x00, // packet id 10, extra
        ],
        E::TrailingBytes {
            packet: P::PubAck,
            extra: 1,
        },
    ),
    (
        "3.1.1 DISCONNECT with a reason code (RL must be 0)",
        V3,
        &[
            0xe0, 0x01, // DISCONNECT, RL 1
            0x00, // extra
        ],
        E::TrailingBytes {
            packet: P::Disconnect,
            extra: 1,
        },
    ),
    (
        "3.1.1 CONNACK with a property length (RL must be 2)",
        V3,
        &[
            0x20, 0x03, // CONNACK, RL 3
            0x00, 0x00, 0x00, // flags, return code, extra
        ],
        E::TrailingBytes {
            packet: P::ConnAck,
            extra: 1,
        },
    ),
    (
        "3.1.1 UNSUBACK with a reason code (RL must be 2)",
        V3,
        &[
            0xb0, 0x03, // UNSUBACK, RL 3
            0x00, 0x0a, 0x00, // packet id 10, extra
        ],
        E::TrailingBytes {
            packet: P::UnsubAck,
            extra: 1,
        },
    ),
    (
        "CONNECT with bytes after the last payload field",
        V3,
        &[
            0x10, 0x0e, // CONNECT, RL 14
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x04, 0x02, 0x00, 0x3c, // level 4, clean session, keep alive 60
            0x00, 0x00, // client id ""
            0xaa, 0xbb, // extra
        ],
        E::TrailingBytes {
            packet: P::Connect,
            extra: 2,
        },
    ),
    (
        "5.0 PUBACK with bytes after the properties",
        V5,
        &[
            0x40, 0x06, // PUBACK, RL 6
            0x00, 0x0a, 0x00, 0x00, // packet id 10, reason 0x00, property length 0
            0xaa, 0xbb, // extra
        ],
        E::TrailingBytes {
            packet: P::PubAck,
            extra: 2,
        },
    ),
    // ---------------------------------------------------------------------------------------------
    // UTF-8 Encoded Strings: [MQTT-1.5.3-1] / [MQTT-1.5.4-1] and [MQTT-1.5.3-2] / [MQTT-1.5.4-2]
    // ---------------------------------------------------------------------------------------------
    (
        "invalid UTF-8 (ff) in a topic",
        V3,
        &[
            0x30, 0x03, // PUBLISH QoS 0, RL 3
            0x00, 0x01, 0xff, // topic: ff
        ],
        E::InvalidUtf8,
    ),
    (
        "UTF-16 surrogate U+D800 (ed a0 80) in a topic",
        V3,
        &[
            0x30, 0x05, // PUBLISH QoS 0, RL 5
            0x00, 0x03, 0xed, 0xa0, 0x80, // topic: U+D800 encoded as UTF-8
        ],
        E::InvalidUtf8,
    ),
    (
        "UTF-16 surrogate U+D800 (ed a0 80) in a client id",
        V5,
        &[
            0x10, 0x10, // CONNECT, RL 16
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x05, 0x02, 0x00, 0x3c, 0x00, // level 5, clean start, keep alive 60, no props
            0x00, 0x03, 0xed, 0xa0, 0x80, // client id: U+D800
        ],
        E::InvalidUtf8,
    ),
    (
        "overlong U+0000 (c0 80) in a user property",
        V5,
        &[
            0x30, 0x0d, // PUBLISH QoS 0, RL 13
            0x00, 0x03, b'a', b'/', b'b', // topic "a/b"
            0x07, // property length 7
            0x26, 0x00, 0x02, 0xc0, 0x80, 0x00, 0x00, // user property: name c0 80, value ""
        ],
        E::InvalidUtf8,
    ),
    (
        "truncated two-byte sequence (c3) in a topic filter",
        V3,
        &[
            0xa2, 0x05, // UNSUBSCRIBE, RL 5
            0x00, 0x0a, // packet id 10
            0x00, 0x01, 0xc3, // filter: c3
        ],
        E::InvalidUtf8,
    ),
    (
        "U+0000 in a topic",
        V3,
        &[
            0x30, 0x05, // PUBLISH QoS 0, RL 5
            0x00, 0x03, b'a', 0x00, b'b', // topic "a\0b"
        ],
        E::NullCharacter,
    ),
    (
        "U+0000 in a client id",
        V3,
        &[
            0x10, 0x0e, // CONNECT, RL 14
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x04, 0x02, 0x00, 0x3c, // level 4, clean session, keep alive 60
            0x00, 0x02, b'a', 0x00, // client id "a\0"
        ],
        E::NullCharacter,
    ),
    (
        "U+0000 in a topic filter",
        V5,
        &[
            0x82, 0x09, // SUBSCRIBE, RL 9
            0x00, 0x0a, 0x00, // packet id 10, property length 0
            0x00, 0x03, b'a', 0x00, b'b', 0x00, // filter "a\0b", QoS 0
        ],
        E::NullCharacter,
    ),
    (
        "U+0000 in a reason string",
        V5,
        &[
            0x40, 0x08, // PUBACK, RL 8
            0x00, 0x0a, 0x80, // packet id 10, reason 0x80
            0x04, 0x1f, 0x00, 0x01, 0x00, // reason string "\0"
        ],
        E::NullCharacter,
    ),
    // ---------------------------------------------------------------------------------------------
    // Packet identifier 0: [MQTT-2.3.1-1] (3.1.1) / [MQTT-2.2.1-3] (5.0)
    // ---------------------------------------------------------------------------------------------
    (
        "PUBLISH QoS 1 with packet id 0",
        V3,
        &[
            0x32, 0x07, // PUBLISH QoS 1, RL 7
            0x00, 0x03, b'a', b'/', b'b', 0x00, 0x00, // topic "a/b", packet id 0
        ],
        E::ZeroPacketId { packet: P::Publish },
    ),
    (
        "PUBLISH QoS 2 with packet id 0",
        V5,
        &[
            0x34, 0x08, // PUBLISH QoS 2, RL 8
            0x00, 0x03, b'a', b'/', b'b', 0x00, 0x00, // topic "a/b", packet id 0
            0x00, // property length 0
        ],
        E::ZeroPacketId { packet: P::Publish },
    ),
    (
        "PUBACK with packet id 0 (3.1.1)",
        V3,
        &[
            0x40, 0x02, 0x00, 0x00, // PUBACK, RL 2, packet id 0
        ],
        E::ZeroPacketId { packet: P::PubAck },
    ),
    (
        "PUBACK with packet id 0 (5.0)",
        V5,
        &[
            0x40, 0x02, 0x00, 0x00, // PUBACK, RL 2, packet id 0
        ],
        E::ZeroPacketId { packet: P::PubAck },
    ),
    (
        "PUBREC with packet id 0",
        V5,
        &[
            0x50, 0x02, 0x00, 0x00, // PUBREC, RL 2, packet id 0
        ],
        E::ZeroPacketId { packet: P::PubRec },
    ),
    (
        "PUBREL with packet id 0",
        V3,
        &[
            0x62, 0x02, 0x00, 0x00, // PUBREL, RL 2, packet id 0
        ],
        E::ZeroPacketId { packet: P::PubRel },
    ),
    (
        "PUBCOMP with packet id 0",
        V5,
        &[
            0x70, 0x03, 0x00, 0x00, 0x00, // PUBCOMP, RL 3, packet id 0, reason 0x00
        ],
        E::ZeroPacketId { packet: P::PubComp },
    ),
    (
        "SUBSCRIBE with packet id 0 (3.1.1)",
        V3,
        &[
            0x82, 0x08, 0x00, 0x00, // SUBSCRIBE, RL 8, packet id 0
            0x00, 0x03, b'a', b'/', b'b', 0x01, // "a/b" QoS 1
        ],
        E::ZeroPacketId {
            packet: P::Subscribe,
        },
    ),
    (
        "SUBSCRIBE with packet id 0 (5.0)",
        V5,
        &[
            0x82, 0x09, 0x00, 0x00, 0x00, // SUBSCRIBE, RL 9, packet id 0, no properties
            0x00, 0x03, b'a', b'/', b'b', 0x01, // "a/b" QoS 1
        ],
        E::ZeroPacketId {
            packet: P::Subscribe,
        },
    ),
    (
        "SUBACK with packet id 0",
        V5,
        &[
            0x90, 0x04, 0x00, 0x00, 0x00, 0x00, // SUBACK, RL 4, packet id 0, no props, QoS 0
        ],
        E::ZeroPacketId { packet: P::SubAck },
    ),
    (
        "UNSUBSCRIBE with packet id 0 (3.1.1)",
        V3,
        &[
            0xa2, 0x07, 0x00, 0x00, // UNSUBSCRIBE, RL 7, packet id 0
            0x00, 0x03, b'a', b'/', b'b', // "a/b"
        ],
        E::ZeroPacketId {
            packet: P::Unsubscribe,
        },
    ),
    (
        "UNSUBSCRIBE with packet id 0 (5.0)",
        V5,
        &[
            0xa2, 0x08, 0x00, 0x00, 0x00, // UNSUBSCRIBE, RL 8, packet id 0, no properties
            0x00, 0x03, b'a', b'/', b'b', // "a/b"
        ],
        E::ZeroPacketId {
            packet: P::Unsubscribe,
        },
    ),
    (
        "UNSUBACK with packet id 0",
        V3,
        &[
            0xb0, 0x02, 0x00, 0x00, // UNSUBACK, RL 2, packet id 0
        ],
        E::ZeroPacketId {
            packet: P::UnsubAck,
        },
    ),
    // ---------------------------------------------------------------------------------------------
    // QoS 3: [MQTT-3.3.1-4], [MQTT-3-8.3-4] / [MQTT-3.8.3-5], [MQTT-3.1.2-14] / 5.0 §3.1.2.6
    // ---------------------------------------------------------------------------------------------
    (
        "PUBLISH with QoS 3 (3.1.1)",
        V3,
        &[
            0x36, 0x07, // PUBLISH, QoS bits 11; RL 7
            0x00, 0x03, b'a', b'/', b'b', 0x00, 0x0a, // topic "a/b", packet id 10
        ],
        E::InvalidQoS,
    ),
    (
        "PUBLISH with QoS 3 (5.0)",
        V5,
        &[
            0x36, 0x08, // PUBLISH, QoS bits 11; RL 8
            0x00, 0x03, b'a', b'/', b'b', 0x00, 0x0a, // topic "a/b", packet id 10
            0x00, // property length 0
        ],
        E::InvalidQoS,
    ),
    (
        "SUBSCRIBE requesting QoS 3 (3.1.1)",
        V3,
        &[
            0x82, 0x08, 0x00, 0x0a, // SUBSCRIBE, RL 8, packet id 10
            0x00, 0x03, b'a', b'/', b'b', 0x03, // "a/b" QoS 3
        ],
        E::InvalidQoS,
    ),
    (
        "SUBSCRIBE options with QoS 3 (5.0)",
        V5,
        &[
            0x82, 0x09, 0x00, 0x0a, 0x00, // SUBSCRIBE, RL 9, packet id 10, no properties
            0x00, 0x03, b'a', b'/', b'b', 0x03, // "a/b" QoS 3
        ],
        E::InvalidQoS,
    ),
    (
        "will QoS 3 (3.1.1)",
        V3,
        &[
            0x10, 0x11, // CONNECT, RL 17
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x04, 0x1e, 0x00, 0x3c, // level 4; will QoS 3, will, clean; keep alive 60
            0x00, 0x00, // client id ""
            0x00, 0x01, b'w', 0x00, 0x00, // will topic "w", will message ""
        ],
        E::InvalidQoS,
    ),
    (
        "will QoS 3 (5.0)",
        V5,
        &[
            0x10, 0x13, // CONNECT, RL 19
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x05, 0x1e, 0x00, 0x3c, 0x00, // level 5; will QoS 3, will, clean; no properties
            0x00, 0x00, 0x00, // client id "", no will properties
            0x00, 0x01, b'w', 0x00, 0x00, // will topic "w", will payload ""
        ],
        E::InvalidQoS,
    ),
    (
        "DUP on a QoS 0 PUBLISH (3.1.1, [MQTT-3.3.1-2])",
        V3,
        &[
            0x38, 0x05, // PUBLISH, DUP 1, QoS 0; RL 5
            0x00, 0x03, b'a', b'/', b'b', // topic "a/b"
        ],
        E::DupOnQoS0,
    ),
    (
        "DUP on a QoS 0 PUBLISH (5.0)",
        V5,
        &[
            0x38, 0x06, // PUBLISH, DUP 1, QoS 0; RL 6
            0x00, 0x03, b'a', b'/', b'b', 0x00, // topic "a/b", property length 0
        ],
        E::DupOnQoS0,
    ),
    // ---------------------------------------------------------------------------------------------
    // Topic names: [MQTT-3.3.2-2], [MQTT-4.7.3-1]
    // ---------------------------------------------------------------------------------------------
    (
        "'+' in a PUBLISH topic",
        V3,
        &[
            0x30, 0x05, // PUBLISH QoS 0, RL 5
            0x00, 0x03, b'a', b'/', b'+', // topic "a/+"
        ],
        E::InvalidTopicName(TopicError::WildcardInName),
    ),
    (
        "'#' in a PUBLISH topic",
        V5,
        &[
            0x30, 0x06, // PUBLISH QoS 0, RL 6
            0x00, 0x03, b'a', b'/', b'#', 0x00, // topic "a/#", property length 0
        ],
        E::InvalidTopicName(TopicError::WildcardInName),
    ),
    (
        "'+' in a will topic",
        V3,
        &[
            0x10, 0x13, // CONNECT, RL 19
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x04, 0x06, 0x00, 0x3c, // level 4; will, clean; keep alive 60
            0x00, 0x00, // client id ""
            0x00, 0x03, b'a', b'/', b'+', 0x00, 0x00, // will topic "a/+", will message ""
        ],
        E::InvalidTopicName(TopicError::WildcardInName),
    ),
    (
        "'#' in a will topic",
        V5,
        &[
            0x10, 0x13, // CONNECT, RL 19
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x05, 0x06, 0x00, 0x3c, 0x00, // level 5; will, clean; keep alive 60; no props
            0x00, 0x00, 0x00, // client id "", no will properties
            0x00, 0x01, b'#', 0x00, 0x00, // will topic "#", will payload ""
        ],
        E::InvalidTopicName(TopicError::WildcardInName),
    ),
    (
        "empty PUBLISH topic (3.1.1)",
        V3,
        &[
            0x30, 0x02, // PUBLISH QoS 0, RL 2
            0x00, 0x00, // topic ""
        ],
        E::InvalidTopicName(TopicError::Empty),
    ),
    (
        "empty will topic",
        V3,
        &[
            0x10, 0x10, // CONNECT, RL 16
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x04, 0x06, 0x00, 0x3c, // level 4; will, clean; keep alive 60
            0x00, 0x00, // client id ""
            0x00, 0x00, 0x00, 0x00, // will topic "", will message ""
        ],
        E::InvalidTopicName(TopicError::Empty),
    ),
    (
        "empty PUBLISH topic without a topic alias (5.0 §3.3.2.1)",
        V5,
        &[
            0x30, 0x03, // PUBLISH QoS 0, RL 3
            0x00, 0x00, 0x00, // topic "", property length 0
        ],
        E::EmptyTopicWithoutAlias,
    ),
    (
        "empty PUBLISH topic with other properties but no alias",
        V5,
        &[
            0x32, 0x07, // PUBLISH QoS 1, RL 7
            0x00, 0x00, 0x00, 0x0a, // topic "", packet id 10
            0x02, 0x01, 0x01, // property length 2: payload format indicator 1
        ],
        E::EmptyTopicWithoutAlias,
    ),
    // ---------------------------------------------------------------------------------------------
    // Topic filters: [MQTT-4.7.1-2], [MQTT-4.7.1-3], [MQTT-4.7.3-1], [MQTT-4.8.2-1]
    // ---------------------------------------------------------------------------------------------
    (
        "filter \"a/#/b\": '#' not last",
        V3,
        &[
            0x82, 0x0a, 0x00, 0x0a, // SUBSCRIBE, RL 10, packet id 10
            0x00, 0x05, b'a', b'/', b'#', b'/', b'b', 0x00, // "a/#/b" QoS 0
        ],
        E::InvalidTopicFilter(TopicError::MisplacedMultiLevelWildcard),
    ),
    (
        "filter \"a+\": '+' not a whole level",
        V5,
        &[
            0x82, 0x08, 0x00, 0x0a, 0x00, // SUBSCRIBE, RL 8, packet id 10, no properties
            0x00, 0x02, b'a', b'+', 0x00, // "a+" QoS 0
        ],
        E::InvalidTopicFilter(TopicError::MisplacedSingleLevelWildcard),
    ),
    (
        "empty filter in SUBSCRIBE",
        V5,
        &[
            0x82, 0x06, 0x00, 0x0a, 0x00, // SUBSCRIBE, RL 6, packet id 10, no properties
            0x00, 0x00, 0x00, // "" QoS 0
        ],
        E::InvalidTopicFilter(TopicError::Empty),
    ),
    (
        "filter \"a#\" in UNSUBSCRIBE",
        V3,
        &[
            0xa2, 0x06, 0x00, 0x0a, // UNSUBSCRIBE, RL 6, packet id 10
            0x00, 0x02, b'a', b'#', // "a#"
        ],
        E::InvalidTopicFilter(TopicError::MisplacedMultiLevelWildcard),
    ),
    (
        "shared subscription without a filter (\"$share/g\")",
        V5,
        &[
            0x82, 0x0e, 0x00, 0x0a, 0x00, // SUBSCRIBE, RL 14, packet id 10, no properties
            0x00, 0x08, b'$', b's', b'h', b'a', b'r', b'e', b'/', b'g', // "$share/g"
            0x00, // QoS 0
        ],
        E::InvalidTopicFilter(TopicError::InvalidSharedSubscription),
    ),
    (
        "shared subscription without a share name (\"$share//a\")",
        V5,
        &[
            0xa2, 0x0e, 0x00, 0x0a, 0x00, // UNSUBSCRIBE, RL 14, packet id 10, no properties
            0x00, 0x09, b'$', b's', b'h', b'a', b'r', b'e', b'/', b'/', b'a', // "$share//a"
        ],
        E::InvalidTopicFilter(TopicError::InvalidSharedSubscription),
    ),
    (
        "SUBSCRIBE without any filter (3.1.1, [MQTT-3.8.3-3])",
        V3,
        &[
            0x82, 0x02, 0x00, 0x0a, // SUBSCRIBE, RL 2, packet id 10, no payload
        ],
        E::NoTopicFilter {
            packet: P::Subscribe,
        },
    ),
    (
        "SUBSCRIBE without any filter (5.0, [MQTT-3.8.3-2])",
        V5,
        &[
            0x82, 0x03, 0x00, 0x0a, 0x00, // SUBSCRIBE, RL 3, packet id 10, no properties
        ],
        E::NoTopicFilter {
            packet: P::Subscribe,
        },
    ),
    (
        "UNSUBSCRIBE without any filter (3.1.1, [MQTT-3.10.3-2])",
        V3,
        &[
            0xa2, 0x02, 0x00, 0x0a, // UNSUBSCRIBE, RL 2, packet id 10, no payload
        ],
        E::NoTopicFilter {
            packet: P::Unsubscribe,
        },
    ),
    (
        "UNSUBSCRIBE without any filter (5.0, [MQTT-3.10.3-2])",
        V5,
        &[
            0xa2, 0x03, 0x00, 0x0a, 0x00, // UNSUBSCRIBE, RL 3, packet id 10, no properties
        ],
        E::NoTopicFilter {
            packet: P::Unsubscribe,
        },
    ),
    // ---------------------------------------------------------------------------------------------
    // Subscription options: [MQTT-3-8.3-4] (3.1.1), [MQTT-3.8.3-5] and §3.8.3.1 (5.0)
    // ---------------------------------------------------------------------------------------------
    (
        "3.1.1 requested QoS byte with bit 2 set",
        V3,
        &[
            0x82, 0x08, 0x00, 0x0a, // SUBSCRIBE, RL 8, packet id 10
            0x00, 0x03, b'a', b'/', b'b', 0x04, // "a/b", 0000 0100
        ],
        E::InvalidSubscriptionOptions(0x04),
    ),
    (
        "3.1.1 requested QoS byte with bit 7 set",
        V3,
        &[
            0x82, 0x08, 0x00, 0x0a, // SUBSCRIBE, RL 8, packet id 10
            0x00, 0x03, b'a', b'/', b'b', 0x81, // "a/b", 1000 0001
        ],
        E::InvalidSubscriptionOptions(0x81),
    ),
    (
        "5.0 subscription options with bit 6 set",
        V5,
        &[
            0x82, 0x09, 0x00, 0x0a, 0x00, // SUBSCRIBE, RL 9, packet id 10, no properties
            0x00, 0x03, b'a', b'/', b'b', 0x41, // "a/b", 0100 0001
        ],
        E::InvalidSubscriptionOptions(0x41),
    ),
    (
        "5.0 subscription options with bit 7 set",
        V5,
        &[
            0x82, 0x09, 0x00, 0x0a, 0x00, // SUBSCRIBE, RL 9, packet id 10, no properties
            0x00, 0x03, b'a', b'/', b'b', 0x80, // "a/b", 1000 0000
        ],
        E::InvalidSubscriptionOptions(0x80),
    ),
    (
        "5.0 retain handling 3",
        V5,
        &[
            0x82, 0x09, 0x00, 0x0a, 0x00, // SUBSCRIBE, RL 9, packet id 10, no properties
            0x00, 0x03, b'a', b'/', b'b', 0x30, // "a/b", retain handling 3
        ],
        E::InvalidSubscriptionOptions(0x30),
    ),
    (
        "No Local on a shared subscription ([MQTT-3.8.3-4])",
        V5,
        &[
            0x82, 0x10, 0x00, 0x0a, 0x00, // SUBSCRIBE, RL 16, packet id 10, no properties
            0x00, 0x0a, // filter, 10 bytes
            b'$', b's', b'h', b'a', b'r', b'e', b'/', b'g', b'/', b'a', // "$share/g/a"
            0x05, // no local, QoS 1
        ],
        E::NoLocalOnSharedSubscription,
    ),
    (
        "3.1.1 shared filter with the No Local bit: a reserved bit there",
        V3,
        &[
            0x82, 0x0f, 0x00, 0x0a, // SUBSCRIBE, RL 15, packet id 10
            0x00, 0x0a, // filter, 10 bytes
            b'$', b's', b'h', b'a', b'r', b'e', b'/', b'g', b'/', b'a', // "$share/g/a"
            0x05, // bit 2 and QoS 1
        ],
        E::InvalidSubscriptionOptions(0x05),
    ),
    // ---------------------------------------------------------------------------------------------
    // Properties (5.0 §2.2.2): identifiers, where they may appear, how often, which values
    // ---------------------------------------------------------------------------------------------
    (
        "unknown property 0x2b on PUBACK",
        V5,
        &[
            0x40, 0x06, 0x00, 0x0a, 0x00, // PUBACK, RL 6, packet id 10, reason 0x00
            0x02, 0x2b, 0x00, // property length 2: identifier 0x2b
        ],
        E::UnknownProperty(0x2b),
    ),
    (
        "unknown property 0x00 on PUBLISH",
        V5,
        &[
            0x30, 0x08, 0x00, 0x03, b'a', b'/', b'b', // PUBLISH QoS 0, RL 8, topic "a/b"
            0x02, 0x00, 0x00, // property length 2: identifier 0x00
        ],
        E::UnknownProperty(0x00),
    ),
    (
        "unknown property 0x04 on CONNECT",
        V5,
        &[
            0x10, 0x0f, // CONNECT, RL 15
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x05, 0x02, 0x00, 0x3c, // level 5, clean start, keep alive 60
            0x02, 0x04, 0x00, // property length 2: identifier 0x04
            0x00, 0x00, // client id ""
        ],
        E::UnknownProperty(0x04),
    ),
    (
        "Topic Alias on CONNECT",
        V5,
        &[
            0x10, 0x10, // CONNECT, RL 16
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x05, 0x02, 0x00, 0x3c, // level 5, clean start, keep alive 60
            0x03, 0x23, 0x00, 0x01, // property length 3: topic alias 1
            0x00, 0x00, // client id ""
        ],
        E::PropertyNotAllowed {
            packet: P::Connect,
            property: 0x23,
        },
    ),
    (
        "Reason String on CONNECT",
        V5,
        &[
            0x10, 0x11, // CONNECT, RL 17
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x05, 0x02, 0x00, 0x3c, // level 5, clean start, keep alive 60
            0x04, 0x1f, 0x00, 0x01, b'x', // property length 4: reason string "x"
            0x00, 0x00, // client id ""
        ],
        E::PropertyNotAllowed {
            packet: P::Connect,
            property: 0x1f,
        },
    ),
    (
        "Receive Maximum on PUBLISH",
        V5,
        &[
            0x30, 0x09, 0x00, 0x03, b'a', b'/', b'b', // PUBLISH QoS 0, RL 9, topic "a/b"
            0x03, 0x21, 0x00, 0x0a, // property length 3: receive maximum 10
        ],
        E::PropertyNotAllowed {
            packet: P::Publish,
            property: 0x21,
        },
    ),
    (
        "Will Delay Interval on PUBLISH",
        V5,
        &[
            0x30, 0x0b, 0x00, 0x03, b'a', b'/', b'b', // PUBLISH QoS 0, RL 11, topic "a/b"
            0x05, 0x18, 0x00, 0x00, 0x00, 0x01, // property length 5: will delay interval 1
        ],
        E::PropertyNotAllowed {
            packet: P::Publish,
            property: 0x18,
        },
    ),
    (
        "Subscription Identifier on a will",
        V5,
        &[
            0x10, 0x15, // CONNECT, RL 21
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x05, 0x06, 0x00, 0x3c, 0x00, // level 5; will, clean; keep alive 60; no props
            0x00, 0x00, // client id ""
            0x02, 0x0b, 0x01, // will property length 2: subscription identifier 1
            0x00, 0x01, b'w', 0x00, 0x00, // will topic "w", will payload ""
        ],
        E::PropertyNotAllowed {
            packet: P::Connect,
            property: 0x0b,
        },
    ),
    (
        "Reason String on SUBSCRIBE",
        V5,
        &[
            0x82, 0x0d, 0x00, 0x0a, // SUBSCRIBE, RL 13, packet id 10
            0x04, 0x1f, 0x00, 0x01, b'x', // property length 4: reason string "x"
            0x00, 0x03, b'a', b'/', b'b', 0x00, // "a/b" QoS 0
        ],
        E::PropertyNotAllowed {
            packet: P::Subscribe,
            property: 0x1f,
        },
    ),
    (
        "Subscription Identifier on UNSUBSCRIBE",
        V5,
        &[
            0xa2, 0x0a, 0x00, 0x0a, // UNSUBSCRIBE, RL 10, packet id 10
            0x02, 0x0b, 0x01, // property length 2: subscription identifier 1
            0x00, 0x03, b'a', b'/', b'b', // "a/b"
        ],
        E::PropertyNotAllowed {
            packet: P::Unsubscribe,
            property: 0x0b,
        },
    ),
    (
        "Maximum QoS on SUBACK",
        V5,
        &[
            0x90, 0x06, 0x00, 0x0a, // SUBACK, RL 6, packet id 10
            0x02, 0x24, 0x01, // property length 2: maximum QoS 1
            0x00, // granted QoS 0
        ],
        E::PropertyNotAllowed {
            packet: P::SubAck,
            property: 0x24,
        },
    ),
    (
        "Server Reference on PUBACK",
        V5,
        &[
            0x40, 0x08, 0x00, 0x0a, 0x00, // PUBACK, RL 8, packet id 10, reason 0x00
            0x04, 0x1c, 0x00, 0x01, b's', // property length 4: server reference "s"
        ],
        E::PropertyNotAllowed {
            packet: P::PubAck,
            property: 0x1c,
        },
    ),
    (
        "Topic Alias Maximum on DISCONNECT",
        V5,
        &[
            0xe0, 0x05, 0x00, // DISCONNECT, RL 5, reason 0x00
            0x03, 0x22, 0x00, 0x0a, // property length 3: topic alias maximum 10
        ],
        E::PropertyNotAllowed {
            packet: P::Disconnect,
            property: 0x22,
        },
    ),
    (
        "Session Expiry Interval on AUTH",
        V5,
        &[
            0xf0, 0x07, 0x18, // AUTH, RL 7, reason 0x18
            0x05, 0x11, 0x00, 0x00, 0x00, 0x01, // property length 5: session expiry 1
        ],
        E::PropertyNotAllowed {
            packet: P::Auth,
            property: 0x11,
        },
    ),
    (
        "two Topic Aliases on PUBLISH (5.0 §3.3.2.3.4)",
        V5,
        &[
            0x30, 0x0c, 0x00, 0x03, b'a', b'/', b'b', // PUBLISH QoS 0, RL 12, topic "a/b"
            0x06, // property length 6
            0x23, 0x00, 0x01, 0x23, 0x00, 0x02, // topic alias 1, topic alias 2
        ],
        E::DuplicateProperty(0x23),
    ),
    (
        "two Reason Strings on PUBACK",
        V5,
        &[
            0x40, 0x0c, 0x00, 0x0a, 0x80, // PUBACK, RL 12, packet id 10, reason 0x80
            0x08, // property length 8
            0x1f, 0x00, 0x01, b'a', 0x1f, 0x00, 0x01, b'b', // reason strings "a", "b"
        ],
        E::DuplicateProperty(0x1f),
    ),
    (
        "two Subscription Identifiers on SUBSCRIBE",
        V5,
        &[
            0x82, 0x0d, 0x00, 0x0a, // SUBSCRIBE, RL 13, packet id 10
            0x04, 0x0b, 0x01, 0x0b, 0x02, // property length 4: identifiers 1 and 2
            0x00, 0x03, b'a', b'/', b'b', 0x00, // "a/b" QoS 0
        ],
        E::DuplicateProperty(0x0b),
    ),
    (
        "two Session Expiry Intervals on CONNECT",
        V5,
        &[
            0x10, 0x17, // CONNECT, RL 23
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x05, 0x02, 0x00, 0x3c, // level 5, clean start, keep alive 60
            0x0a, // property length 10
            0x11, 0x00, 0x00, 0x00, 0x01, 0x11, 0x00, 0x00, 0x00, 0x02, // expiry 1, expiry 2
            0x00, 0x00, // client id ""
        ],
        E::DuplicateProperty(0x11),
    ),
    (
        "two Authentication Methods on AUTH (5.0 §3.15.2.2.2)",
        V5,
        &[
            0xf0, 0x0a, 0x18, // AUTH, RL 10, reason 0x18
            0x08, // property length 8
            0x15, 0x00, 0x01, b'm', 0x15, 0x00, 0x01, b'm', // method "m", method "m"
        ],
        E::DuplicateProperty(0x15),
    ),
    (
        "Receive Maximum 0 on CONNECT (5.0 §3.1.2.11.3)",
        V5,
        &[
            0x10, 0x10, // CONNECT, RL 16
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x05, 0x02, 0x00, 0x3c, // level 5, clean start, keep alive 60
            0x03, 0x21, 0x00, 0x00, // property length 3: receive maximum 0
            0x00, 0x00, // client id ""
        ],
        E::InvalidPropertyValue(0x21),
    ),
    (
        "Receive Maximum 0 on CONNACK (5.0 §3.2.2.3.3)",
        V5,
        &[
            0x20, 0x06, 0x00, 0x00, // CONNACK, RL 6, flags 0, reason 0x00
            0x03, 0x21, 0x00, 0x00, // property length 3: receive maximum 0
        ],
        E::InvalidPropertyValue(0x21),
    ),
    (
        "Topic Alias 0 on PUBLISH ([MQTT-3.3.2-8])",
        V5,
        &[
            0x30, 0x09, 0x00, 0x03, b'a', b'/', b'b', // PUBLISH QoS 0, RL 9, topic "a/b"
            0x03, 0x23, 0x00, 0x00, // property length 3: topic alias 0
        ],
        E::InvalidPropertyValue(0x23),
    ),
    (
        "Maximum QoS 2 on CONNACK (5.0 §3.2.2.3.4)",
        V5,
        &[
            0x20, 0x05, 0x00, 0x00, // CONNACK, RL 5, flags 0, reason 0x00
            0x02, 0x24, 0x02, // property length 2: maximum QoS 2
        ],
        E::InvalidPropertyValue(0x24),
    ),
    (
        "Payload Format Indicator 2 on PUBLISH (5.0 §3.3.2.3.2)",
        V5,
        &[
            0x30, 0x08, 0x00, 0x03, b'a', b'/', b'b', // PUBLISH QoS 0, RL 8, topic "a/b"
            0x02, 0x01, 0x02, // property length 2: payload format indicator 2
        ],
        E::InvalidPropertyValue(0x01),
    ),
    (
        "Payload Format Indicator 2 on a will (5.0 §3.1.3.2.3)",
        V5,
        &[
            0x10, 0x15, // CONNECT, RL 21
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x05, 0x06, 0x00, 0x3c, 0x00, // level 5; will, clean; keep alive 60; no props
            0x00, 0x00, // client id ""
            0x02, 0x01, 0x02, // will property length 2: payload format indicator 2
            0x00, 0x01, b'w', 0x00, 0x00, // will topic "w", will payload ""
        ],
        E::InvalidPropertyValue(0x01),
    ),
    (
        "Subscription Identifier 0 on SUBSCRIBE (5.0 §3.8.2.1.2)",
        V5,
        &[
            0x82, 0x0b, 0x00, 0x0a, // SUBSCRIBE, RL 11, packet id 10
            0x02, 0x0b, 0x00, // property length 2: subscription identifier 0
            0x00, 0x03, b'a', b'/', b'b', 0x00, // "a/b" QoS 0
        ],
        E::InvalidPropertyValue(0x0b),
    ),
    (
        "Subscription Identifier 0 on PUBLISH (5.0 §3.3.2.3.8)",
        V5,
        &[
            0x30, 0x08, 0x00, 0x03, b'a', b'/', b'b', // PUBLISH QoS 0, RL 8, topic "a/b"
            0x02, 0x0b, 0x00, // property length 2: subscription identifier 0
        ],
        E::InvalidPropertyValue(0x0b),
    ),
    (
        "Maximum Packet Size 0 on CONNECT (5.0 §3.1.2.11.4)",
        V5,
        &[
            0x10, 0x12, // CONNECT, RL 18
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x05, 0x02, 0x00, 0x3c, // level 5, clean start, keep alive 60
            0x05, 0x27, 0x00, 0x00, 0x00, 0x00, // property length 5: maximum packet size 0
            0x00, 0x00, // client id ""
        ],
        E::InvalidPropertyValue(0x27),
    ),
    (
        "Maximum Packet Size 0 on CONNACK (5.0 §3.2.2.3.6)",
        V5,
        &[
            0x20, 0x08, 0x00, 0x00, // CONNACK, RL 8, flags 0, reason 0x00
            0x05, 0x27, 0x00, 0x00, 0x00, 0x00, // property length 5: maximum packet size 0
        ],
        E::InvalidPropertyValue(0x27),
    ),
    (
        "Request Problem Information 2 (5.0 §3.1.2.11.7)",
        V5,
        &[
            0x10, 0x0f, // CONNECT, RL 15
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x05, 0x02, 0x00, 0x3c, // level 5, clean start, keep alive 60
            0x02, 0x17, 0x02, // property length 2: request problem information 2
            0x00, 0x00, // client id ""
        ],
        E::InvalidPropertyValue(0x17),
    ),
    (
        "Request Response Information 2 (5.0 §3.1.2.11.6)",
        V5,
        &[
            0x10, 0x0f, // CONNECT, RL 15
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x05, 0x02, 0x00, 0x3c, // level 5, clean start, keep alive 60
            0x02, 0x19, 0x02, // property length 2: request response information 2
            0x00, 0x00, // client id ""
        ],
        E::InvalidPropertyValue(0x19),
    ),
    (
        "Retain Available 2 (5.0 §3.2.2.3.5)",
        V5,
        &[
            0x20, 0x05, 0x00, 0x00, // CONNACK, RL 5, flags 0, reason 0x00
            0x02, 0x25, 0x02, // property length 2: retain available 2
        ],
        E::InvalidPropertyValue(0x25),
    ),
    (
        "Wildcard Subscription Available 2 (5.0 §3.2.2.3.11)",
        V5,
        &[
            0x20, 0x05, 0x00, 0x00, // CONNACK, RL 5, flags 0, reason 0x00
            0x02, 0x28, 0x02, // property length 2: wildcard subscription available 2
        ],
        E::InvalidPropertyValue(0x28),
    ),
    (
        "Subscription Identifiers Available 2 (5.0 §3.2.2.3.12)",
        V5,
        &[
            0x20, 0x05, 0x00, 0x00, // CONNACK, RL 5, flags 0, reason 0x00
            0x02, 0x29, 0x02, // property length 2: subscription identifiers available 2
        ],
        E::InvalidPropertyValue(0x29),
    ),
    (
        "Shared Subscription Available 2 (5.0 §3.2.2.3.13)",
        V5,
        &[
            0x20, 0x05, 0x00, 0x00, // CONNACK, RL 5, flags 0, reason 0x00
            0x02, 0x2a, 0x02, // property length 2: shared subscription available 2
        ],
        E::InvalidPropertyValue(0x2a),
    ),
    // ---------------------------------------------------------------------------------------------
    // CONNECT (3.1.1 §3.1.2, 5.0 §3.1.2)
    // ---------------------------------------------------------------------------------------------
    (
        "protocol name \"MQIsdp\" (MQTT 3.1), [MQTT-3.1.2-1]",
        V3,
        &[
            0x10, 0x0e, // CONNECT, RL 14
            0x00, 0x06, b'M', b'Q', b'I', b's', b'd', b'p', // protocol name "MQIsdp"
            0x03, 0x02, 0x00, 0x3c, // level 3, clean session, keep alive 60
            0x00, 0x00, // client id ""
        ],
        E::InvalidProtocolName,
    ),
    (
        "protocol name \"mqtt\" in lower case",
        V5,
        &[
            0x10, 0x0d, // CONNECT, RL 13
            0x00, 0x04, b'm', b'q', b't', b't', // protocol name "mqtt"
            0x05, 0x02, 0x00, 0x3c, 0x00, // level 5, clean start, keep alive 60, no props
            0x00, 0x00, // client id ""
        ],
        E::InvalidProtocolName,
    ),
    (
        "protocol level 3 under the name \"MQTT\", [MQTT-3.1.2-2]",
        V3,
        &[
            0x10, 0x0c, // CONNECT, RL 12
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x03, 0x02, 0x00, 0x3c, // level 3, clean session, keep alive 60
            0x00, 0x00, // client id ""
        ],
        E::UnsupportedProtocolLevel(3),
    ),
    (
        "protocol level 6",
        V5,
        &[
            0x10, 0x0d, // CONNECT, RL 13
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x06, 0x02, 0x00, 0x3c, 0x00, // level 6, clean start, keep alive 60, no props
            0x00, 0x00, // client id ""
        ],
        E::UnsupportedProtocolLevel(6),
    ),
    (
        "level 5 CONNECT decoded as 3.1.1",
        V3,
        &[
            0x10, 0x0d, // CONNECT, RL 13
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x05, 0x02, 0x00, 0x3c, 0x00, // level 5, clean start, keep alive 60, no props
            0x00, 0x00, // client id ""
        ],
        E::ProtocolVersionMismatch {
            expected: 4,
            found: 5,
        },
    ),
    (
        "level 4 CONNECT decoded as 5.0",
        V5,
        &[
            0x10, 0x0c, // CONNECT, RL 12
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x04, 0x02, 0x00, 0x3c, // level 4, clean session, keep alive 60
            0x00, 0x00, // client id ""
        ],
        E::ProtocolVersionMismatch {
            expected: 5,
            found: 4,
        },
    ),
    (
        "reserved CONNECT flag set (3.1.1, [MQTT-3.1.2-3])",
        V3,
        &[
            0x10, 0x0c, // CONNECT, RL 12
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x04, 0x03, 0x00, 0x3c, // level 4; clean session and bit 0; keep alive 60
            0x00, 0x00, // client id ""
        ],
        E::ReservedConnectFlag,
    ),
    (
        "reserved CONNECT flag set (5.0)",
        V5,
        &[
            0x10, 0x0d, // CONNECT, RL 13
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x05, 0x01, 0x00, 0x3c, 0x00, // level 5; bit 0; keep alive 60; no properties
            0x00, 0x00, // client id ""
        ],
        E::ReservedConnectFlag,
    ),
    (
        "will QoS 1 without the will flag ([MQTT-3.1.2-13])",
        V3,
        &[
            0x10, 0x0c, // CONNECT, RL 12
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x04, 0x0a, 0x00, 0x3c, // level 4; will QoS 1, clean session; keep alive 60
            0x00, 0x00, // client id ""
        ],
        E::WillFlagsInconsistent,
    ),
    (
        "will QoS 2 without the will flag",
        V3,
        &[
            0x10, 0x0c, // CONNECT, RL 12
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x04, 0x12, 0x00, 0x3c, // level 4; will QoS 2, clean session; keep alive 60
            0x00, 0x00, // client id ""
        ],
        E::WillFlagsInconsistent,
    ),
    (
        "will retain without the will flag ([MQTT-3.1.2-15])",
        V5,
        &[
            0x10, 0x0d, // CONNECT, RL 13
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x05, 0x22, 0x00, 0x3c, 0x00, // level 5; will retain, clean; no properties
            0x00, 0x00, // client id ""
        ],
        E::WillFlagsInconsistent,
    ),
    (
        "3.1.1 password without a user name ([MQTT-3.1.2-22])",
        V3,
        &[
            0x10, 0x10, // CONNECT, RL 16
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x04, 0x42, 0x00, 0x3c, // level 4; password, clean session; keep alive 60
            0x00, 0x00, // client id ""
            0x00, 0x02, b'p', b'w', // password "pw"
        ],
        E::PasswordWithoutUserName,
    ),
    // ---------------------------------------------------------------------------------------------
    // CONNACK acknowledge flags: [MQTT-3.2.2-1] (5.0 §3.2.2.1)
    // ---------------------------------------------------------------------------------------------
    (
        "CONNACK acknowledge flags with bit 1 set",
        V3,
        &[
            0x20, 0x02, 0x02, 0x00, // CONNACK, RL 2, flags 0000 0010, return code 0
        ],
        E::InvalidConnAckFlags(0x02),
    ),
    (
        "CONNACK acknowledge flags with bit 7 set",
        V5,
        &[
            0x20, 0x03, 0x81, 0x00, 0x00, // CONNACK, RL 3, flags 1000 0001, reason 0, no props
        ],
        E::InvalidConnAckFlags(0x81),
    ),
    // ---------------------------------------------------------------------------------------------
    // Reason codes outside the packet's table (5.0 §2.4 and each packet's table; 3.1.1 §3.2.2.3,
    // [MQTT-3.9.3-2])
    // ---------------------------------------------------------------------------------------------
    (
        "PUBACK with reason code 0xff",
        V5,
        &[
            0x40, 0x03, 0x00, 0x01, 0xff, // PUBACK, RL 3, id 1, reason 0xff
        ],
        E::InvalidReasonCode {
            packet: P::PubAck,
            code: 0xff,
        },
    ),
    (
        "PUBREC with 0x92, a PUBREL/PUBCOMP code",
        V5,
        &[
            0x50, 0x03, 0x00, 0x01, 0x92, // PUBREC, RL 3, id 1, reason 0x92
        ],
        E::InvalidReasonCode {
            packet: P::PubRec,
            code: 0x92,
        },
    ),
    (
        "PUBREL with 0x87, not in its table",
        V5,
        &[
            0x62, 0x03, 0x00, 0x01, 0x87, // PUBREL, RL 3, id 1, reason 0x87
        ],
        E::InvalidReasonCode {
            packet: P::PubRel,
            code: 0x87,
        },
    ),
    (
        "PUBCOMP with 0x10, a PUBACK code",
        V5,
        &[
            0x70, 0x03, 0x00, 0x01, 0x10, // PUBCOMP, RL 3, id 1, reason 0x10
        ],
        E::InvalidReasonCode {
            packet: P::PubComp,
            code: 0x10,
        },
    ),
    (
        "SUBACK with 0x92 among its codes",
        V5,
        &[
            0x90, 0x05, 0x00, 0x01, 0x00, 0x01,
            0x92, // SUBACK, RL 5, id 1, no props, 0x01 0x92
        ],
        E::InvalidReasonCode {
            packet: P::SubAck,
            code: 0x92,
        },
    ),
    (
        "3.1.1 SUBACK with return code 0x87",
        V3,
        &[
            0x90, 0x03, 0x00, 0x01, 0x87, // SUBACK, RL 3, id 1, 0x87 (5.0 only)
        ],
        E::InvalidReasonCode {
            packet: P::SubAck,
            code: 0x87,
        },
    ),
    (
        "UNSUBACK with 0x01, a SUBACK code",
        V5,
        &[
            0xb0, 0x04, 0x00, 0x01, 0x00, 0x01, // UNSUBACK, RL 4, id 1, no props, 0x01
        ],
        E::InvalidReasonCode {
            packet: P::UnsubAck,
            code: 0x01,
        },
    ),
    (
        "CONNACK with 0x8b, a DISCONNECT code",
        V5,
        &[
            0x20, 0x03, 0x00, 0x8b, 0x00, // CONNACK, RL 3, flags 0, reason 0x8b, no props
        ],
        E::InvalidReasonCode {
            packet: P::ConnAck,
            code: 0x8b,
        },
    ),
    (
        "3.1.1 CONNACK with return code 6",
        V3,
        &[
            0x20, 0x02, 0x00, 0x06, // CONNACK, RL 2, flags 0, return code 6 (reserved)
        ],
        E::InvalidReasonCode {
            packet: P::ConnAck,
            code: 0x06,
        },
    ),
    (
        "DISCONNECT with 0x92, not in its table",
        V5,
        &[
            0xe0, 0x01, 0x92, // DISCONNECT, RL 1, reason 0x92
        ],
        E::InvalidReasonCode {
            packet: P::Disconnect,
            code: 0x92,
        },
    ),
    (
        "AUTH with 0x87, not in its table",
        V5,
        &[
            0xf0, 0x02, 0x87, 0x00, // AUTH, RL 2, reason 0x87, no props
        ],
        E::InvalidReasonCode {
            packet: P::Auth,
            code: 0x87,
        },
    ),
];

/// Packets one step away from a row above that must still decode, whole.
const NEAR_MISSES: &[(&str, ProtocolVersion, &[u8])] = &[
    (
        "PUBCOMP with 0x92 Packet Identifier not found (5.0 §3.7.2.1)",
        V5,
        &[0x70, 0x03, 0x00, 0x01, 0x92],
    ),
    (
        "PUBACK with 0x10 No matching subscribers (5.0 §3.4.2.1)",
        V5,
        &[0x40, 0x03, 0x00, 0x01, 0x10],
    ),
    (
        "3.1.1 SUBACK with failure 0x80 ([MQTT-3.9.3-2])",
        V3,
        &[0x90, 0x03, 0x00, 0x01, 0x80],
    ),
    (
        "3.1.1 CONNACK with return code 5 (3.1.1 §3.2.2.3)",
        V3,
        &[0x20, 0x02, 0x00, 0x05],
    ),
    (
        "a 3.1.1 server's CONNACK code 1 to a 5.0 CONNECT (3.1.1 [MQTT-3.1.2-2])",
        V5,
        &[0x20, 0x02, 0x00, 0x01],
    ),
    (
        "5.0 password without a user name (5.0 §3.1.2.9)",
        V5,
        &[
            0x10, 0x11, // CONNECT, RL 17
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x05, 0x42, 0x00, 0x3c, 0x00, // level 5; password, clean; keep alive 60; no props
            0x00, 0x00, // client id ""
            0x00, 0x02, b'p', b'w', // password "pw"
        ],
    ),
    (
        "5.0 empty topic with a topic alias (5.0 §3.3.2.3.4)",
        V5,
        &[
            0x30, 0x06, // PUBLISH QoS 0, RL 6
            0x00, 0x00, 0x03, 0x23, 0x00, 0x01, // topic "", property length 3: topic alias 1
        ],
    ),
    (
        "shared subscription without No Local",
        V5,
        &[
            0x82, 0x10, 0x00, 0x0a, 0x00, // SUBSCRIBE, RL 16, packet id 10, no properties
            0x00, 0x0a, // filter, 10 bytes
            b'$', b's', b'h', b'a', b'r', b'e', b'/', b'g', b'/', b'a', // "$share/g/a"
            0x01, // QoS 1
        ],
    ),
    (
        "No Local on a filter that is not shared",
        V5,
        &[
            0x82, 0x09, 0x00, 0x0a, 0x00, // SUBSCRIBE, RL 9, packet id 10, no properties
            0x00, 0x03, b'a', b'/', b'b', 0x2d, // "a/b": retain handling 2, RAP, NL, QoS 1
        ],
    ),
    (
        "3.1.1 requested QoS 2",
        V3,
        &[
            0x82, 0x08, 0x00, 0x0a, // SUBSCRIBE, RL 8, packet id 10
            0x00, 0x03, b'a', b'/', b'b', 0x02, // "a/b" QoS 2
        ],
    ),
    (
        "wildcards in whole levels: \"+/+/#\" and \"#\"",
        V3,
        &[
            0x82, 0x0e, 0x00, 0x0a, // SUBSCRIBE, RL 14, packet id 10
            0x00, 0x05, b'+', b'/', b'+', b'/', b'#', 0x00, // "+/+/#" QoS 0
            0x00, 0x01, b'#', 0x01, // "#" QoS 1
        ],
    ),
    (
        "topic name \"/\" and a payload holding wildcards and U+0000",
        V3,
        &[
            0x30, 0x06, // PUBLISH QoS 0, RL 6
            0x00, 0x01, b'/', // topic "/"
            b'+', b'#', 0x00, // payload: not a string, not checked
        ],
    ),
    (
        "retained will at QoS 2 with the will flag",
        V3,
        &[
            0x10, 0x11, // CONNECT, RL 17
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x04, 0x36, 0x00, 0x3c, // level 4; will retain, will QoS 2, will, clean
            0x00, 0x00, // client id ""
            0x00, 0x01, b'w', 0x00, 0x00, // will topic "w", will message ""
        ],
    ),
    (
        "Receive Maximum 1, Topic Alias 1, Maximum QoS 0",
        V5,
        &[
            0x20, 0x0b, 0x00, 0x00, // CONNACK, RL 11, flags 0, reason 0x00
            0x08, // property length 8
            0x21, 0x00, 0x01, // receive maximum 1
            0x22, 0x00, 0x01, // topic alias maximum 1
            0x24, 0x00, // maximum QoS 0
        ],
    ),
    (
        "reason-only DISCONNECT",
        V5,
        &[
            0xe0, 0x01, 0x8e, // DISCONNECT, RL 1, reason 0x8e session taken over
        ],
    ),
    (
        "topic name starting with '$'",
        V5,
        &[
            0x30, 0x09, // PUBLISH QoS 0, RL 9
            0x00, 0x06, b'$', b'S', b'Y', b'S', b'/', b'x', 0x00, // "$SYS/x", no properties
        ],
    ),
];

fn decode(version: ProtocolVersion, bytes: &[u8]) -> Result<Option<usize>, DecodeError> {
    codec::decode(bytes, version, MAX_PACKET_SIZE).map(|p| p.map(|(_, used)| used))
}

#[test]
fn every_row_fails_with_the_error_it_names() {
    let mut wrong = Vec::new();
    for &(name, version, bytes, expected) in ROWS {
        let got = decode(version, bytes);
        if got != Err(expected) {
            wrong.push(format!("{name}: expected Err({expected:?}), got {got:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} rows:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn every_prefix_of_a_row_waits_or_fails_the_same_way() {
    // Incomplete input is never an error; the only errors a prefix can show are the ones its fixed
    // header already proves, which are the row's own.
    for &(name, version, bytes, expected) in ROWS {
        for end in 0..bytes.len() {
            let got = decode(version, &bytes[..end]);
            assert!(
                got == Ok(None) || got == Err(expected),
                "{name} cut after {end} bytes: {got:?}"
            );
        }
    }
}

#[test]
fn every_decode_error_variant_has_a_row() {
    const VARIANTS: [&str; 30] = [
        "InvalidPacketType",
        "InvalidFixedHeaderFlags",
        "VarIntTooLong",
        "NonMinimalVarInt",
        "PacketTooLarge",
        "UnexpectedEnd",
        "TrailingBytes",
        "InvalidUtf8",
        "NullCharacter",
        "ZeroPacketId",
        "InvalidQoS",
        "DupOnQoS0",
        "InvalidTopicName",
        "InvalidTopicFilter",
        "NoTopicFilter",
        "InvalidSubscriptionOptions",
        "NoLocalOnSharedSubscription",
        "UnknownProperty",
        "PropertyNotAllowed",
        "DuplicateProperty",
        "InvalidPropertyValue",
        "InvalidProtocolName",
        "UnsupportedProtocolLevel",
        "ProtocolVersionMismatch",
        "ReservedConnectFlag",
        "WillFlagsInconsistent",
        "PasswordWithoutUserName",
        "InvalidConnAckFlags",
        "EmptyTopicWithoutAlias",
        "InvalidReasonCode",
    ];
    let covered: BTreeSet<String> = ROWS
        .iter()
        .map(|row| {
            let debug = format!("{:?}", row.3);
            debug
                .split(|c: char| !c.is_ascii_alphanumeric())
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let missing: Vec<&str> = VARIANTS
        .into_iter()
        .filter(|v| !covered.contains(*v))
        .collect();
    assert!(missing.is_empty(), "no row for {missing:?}");
    let unknown: Vec<&String> = covered
        .iter()
        .filter(|c| !VARIANTS.contains(&c.as_str()))
        .collect();
    assert!(unknown.is_empty(), "add {unknown:?} to VARIANTS");
}

#[test]
fn every_fixed_header_with_reserved_flags_has_a_row() {
    // Every packet type but PUBLISH reserves its flags. [MQTT-2.2.2-1]
    let types: BTreeSet<String> = ROWS
        .iter()
        .filter_map(|row| match row.3 {
            E::InvalidFixedHeaderFlags { packet, .. } => Some(packet.name().to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(types.len(), 14, "{types:?}");
}

#[test]
fn rows_have_unique_names() {
    let names: BTreeSet<&str> = ROWS.iter().map(|row| row.0).collect();
    assert_eq!(names.len(), ROWS.len());
}

#[test]
fn every_error_has_a_display_message() {
    for &(name, _, _, error) in ROWS {
        let message = error.to_string();
        assert!(
            !message.trim().is_empty(),
            "{name}: empty message for {error:?}"
        );
    }
}

#[test]
fn reason_codes_follow_the_specification() {
    // (row, the reason code MQTT 5.0 names for it, where).
    let cases: &[(&str, ReasonCode, &str)] = &[
        (
            "header announcing 256 MB, only the header present",
            ReasonCode::PACKET_TOO_LARGE,
            "§3.1.2.11.4, §4.13",
        ),
        (
            "CONNECT with flags 0001",
            ReasonCode::MALFORMED_PACKET,
            "§2.1.3: invalid flags are a Malformed Packet",
        ),
        (
            "non-minimal property length",
            ReasonCode::MALFORMED_PACKET,
            "[MQTT-1.5.5-1]",
        ),
        (
            "UTF-16 surrogate U+D800 (ed a0 80) in a topic",
            ReasonCode::MALFORMED_PACKET,
            "[MQTT-1.5.4-1]",
        ),
        (
            "PUBLISH with QoS 3 (5.0)",
            ReasonCode::MALFORMED_PACKET,
            "§3.3.1.2: QoS 3 is a Malformed Packet",
        ),
        (
            "will QoS 3 (5.0)",
            ReasonCode::MALFORMED_PACKET,
            "§3.1.2.6: will QoS 3 is a Malformed Packet",
        ),
        (
            "reserved CONNECT flag set (5.0)",
            ReasonCode::MALFORMED_PACKET,
            "[MQTT-3.1.2-3]",
        ),
        (
            "PUBACK with reason code 0xff",
            ReasonCode::MALFORMED_PACKET,
            "§2.4: a reason code its packet's table does not list",
        ),
        (
            "unknown property 0x2b on PUBACK",
            ReasonCode::MALFORMED_PACKET,
            "§2.2.2.2: an identifier not valid for the packet is a Malformed Packet",
        ),
        (
            "Topic Alias on CONNECT",
            ReasonCode::MALFORMED_PACKET,
            "§2.2.2.2",
        ),
        (
            "5.0 subscription options with bit 7 set",
            ReasonCode::MALFORMED_PACKET,
            "[MQTT-3.8.3-5]",
        ),
        (
            "two Topic Aliases on PUBLISH (5.0 §3.3.2.3.4)",
            ReasonCode::PROTOCOL_ERROR,
            "§2.2.2.2: a property included twice is a Protocol Error",
        ),
        (
            "Receive Maximum 0 on CONNECT (5.0 §3.1.2.11.3)",
            ReasonCode::PROTOCOL_ERROR,
            "§3.1.2.11.3",
        ),
        (
            "Maximum QoS 2 on CONNACK (5.0 §3.2.2.3.4)",
            ReasonCode::PROTOCOL_ERROR,
            "§3.2.2.3.4",
        ),
        (
            "Subscription Identifier 0 on SUBSCRIBE (5.0 §3.8.2.1.2)",
            ReasonCode::PROTOCOL_ERROR,
            "§3.8.2.1.2",
        ),
        (
            "Maximum Packet Size 0 on CONNECT (5.0 §3.1.2.11.4)",
            ReasonCode::PROTOCOL_ERROR,
            "§3.1.2.11.4",
        ),
        (
            "No Local on a shared subscription ([MQTT-3.8.3-4])",
            ReasonCode::PROTOCOL_ERROR,
            "[MQTT-3.8.3-4]",
        ),
        (
            "empty PUBLISH topic without a topic alias (5.0 §3.3.2.1)",
            ReasonCode::PROTOCOL_ERROR,
            "§3.3.2.3.4: an empty topic without an alias is a Protocol Error",
        ),
        (
            "Topic Alias 0 on PUBLISH ([MQTT-3.3.2-8])",
            ReasonCode::TOPIC_ALIAS_INVALID,
            "§3.3.4: a Topic Alias of 0 is answered with 0x94 Topic Alias invalid",
        ),
        (
            "5.0 retain handling 3",
            ReasonCode::PROTOCOL_ERROR,
            "§3.8.3.1: Retain Handling 3 is a Protocol Error",
        ),
        (
            "SUBSCRIBE without any filter (5.0, [MQTT-3.8.3-2])",
            ReasonCode::PROTOCOL_ERROR,
            "§3.8.3: a SUBSCRIBE with no payload is a Protocol Error",
        ),
        (
            "UNSUBSCRIBE without any filter (5.0, [MQTT-3.10.3-2])",
            ReasonCode::PROTOCOL_ERROR,
            "§3.10.3: an UNSUBSCRIBE with no payload is a Protocol Error",
        ),
    ];
    let mut wrong = Vec::new();
    for &(name, code, spec) in cases {
        let (_, _, _, error) = ROWS
            .iter()
            .find(|row| row.0 == name)
            .unwrap_or_else(|| panic!("no row named {name:?}"));
        if error.reason_code() != code {
            wrong.push(format!(
                "{name}: {error:?} gives {}, {spec} says {code}",
                error.reason_code()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn near_misses_decode() {
    for &(name, version, bytes) in NEAR_MISSES {
        assert_eq!(decode(version, bytes), Ok(Some(bytes.len())), "{name}");
    }
}

#[test]
fn the_size_limit_applies_to_the_whole_packet_and_is_checked_from_the_header() {
    // A header announcing 256 MB: with no limit beyond the protocol's own, the decoder waits.
    let header = [0x30, 0xff, 0xff, 0xff, 0x7f];
    assert_eq!(codec::decode(&header, V3, u32::MAX), Ok(None));
    // The fixed header counts towards the limit: RL 2 makes a 4-byte packet.
    let header = [0x30, 0x02]; // PUBLISH QoS 0, RL 2
    assert_eq!(
        codec::decode(&header, V3, 3),
        Err(E::PacketTooLarge { size: 4, max: 3 })
    );
    assert_eq!(codec::decode(&header, V3, 4), Ok(None));
}

#[test]
fn connect_version_rejects_a_connect_too_short_for_its_protocol_name() {
    // A complete CONNECT whose body ends inside the protocol name: more bytes cannot help.
    let short = [0x10, 0x02, 0x00, 0x04];
    assert_eq!(
        codec::connect_version(&short),
        Err(E::UnexpectedEnd { packet: P::Connect })
    );
    // A 3-byte CONNECT body followed by bytes that happen to continue "MQTT" and a level: they
    // belong to the next packet and must not be read as part of this one.
    let cut = [0x10, 0x03, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04];
    assert_eq!(
        codec::connect_version(&cut),
        Err(E::UnexpectedEnd { packet: P::Connect })
    );
    assert_eq!(
        codec::decode(&cut, V3, u32::MAX),
        Err(E::UnexpectedEnd { packet: P::Connect })
    );
    assert_eq!(
        codec::connect_version(&[0x20, 0x02, 0x00, 0x00]),
        Err(E::InvalidPacketType(2))
    );
}
