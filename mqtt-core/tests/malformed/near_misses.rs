//! Packets one step away from a row of the other tables that must still decode, whole.

use mqtt_core::codec::ProtocolVersion;

use super::{V3, V5};

pub(super) const NEAR_MISSES: &[(&str, ProtocolVersion, &[u8])] = &[
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
