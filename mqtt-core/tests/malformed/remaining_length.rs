//! Rows whose fields disagree with the remaining length: a field running past it, or bytes left
//! after the last field.

use super::{E, P, Row, V3, V5};

pub(super) const ROWS: &[Row] = &[
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
];
