//! Rows breaking a rule of MQTT 5.0 properties: identifiers, where they may appear, how often,
//! which values.

use super::{E, P, Row, V5};

pub(super) const ROWS: &[Row] = &[
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
];
