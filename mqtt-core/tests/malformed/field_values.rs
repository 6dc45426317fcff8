//! Rows breaking a rule of one field: UTF-8 strings, packet identifier 0, QoS 3.

use super::{E, P, Row, V3, V5};

pub(super) const ROWS: &[Row] = &[
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
];
