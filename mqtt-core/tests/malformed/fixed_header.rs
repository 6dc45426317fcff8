//! Rows about the fixed header alone: the packet type, the reserved flags, the Variable Byte
//! Integer of the remaining length and the maximum packet size it announces.

use super::{E, MAX_PACKET_SIZE, P, Row, V3, V5};

pub(super) const ROWS: &[Row] = &[
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
];
