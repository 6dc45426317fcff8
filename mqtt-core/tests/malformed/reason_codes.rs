//! Rows carrying a reason code outside their packet's table.

use super::{E, P, Row, V3, V5};

pub(super) const ROWS: &[Row] = &[
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
