//! Rows breaking a rule of CONNECT or of the CONNACK acknowledge flags.

use super::{E, Row, V3, V5};

pub(super) const ROWS: &[Row] = &[
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
];
