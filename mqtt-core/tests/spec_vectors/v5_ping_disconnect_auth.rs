//! MQTT 5.0 vectors of PINGREQ, PINGRESP, DISCONNECT and AUTH.

use mqtt_core::codec::{
    Auth, AuthProperties, Disconnect, DisconnectProperties, Packet, ReasonCode,
};

use super::{V5, Vector, list, user};

pub(super) fn vectors() -> Vec<Vector> {
    vec![
        // 5.0 §3.12 and §3.13: no variable header, no payload.
        Vector {
            name: "5.0 §3.12 PINGREQ",
            version: V5,
            bytes: &[
                0xc0, 0x00, // PINGREQ, RL 0
            ],
            packet: Packet::PingReq,
        },
        Vector {
            name: "5.0 §3.13 PINGRESP",
            version: V5,
            bytes: &[
                0xd0, 0x00, // PINGRESP, RL 0
            ],
            packet: Packet::PingResp,
        },
        // 5.0 §3.14.2.1: "If the Remaining Length is less than 1 the value of 0x00 (Normal
        // disconnection) is used."
        Vector {
            name: "5.0 §3.14.2.1 DISCONNECT, remaining length 0",
            version: V5,
            bytes: &[
                0xe0, 0x00, // DISCONNECT, RL 0 (§3.14.1)
            ],
            packet: Packet::Disconnect(Disconnect::default()),
        },
        // 5.0 §3.14.2.2.1: "If the Remaining Length is less than 2, a value of 0 is used" for the
        // property length.
        Vector {
            name: "5.0 §3.14.2.1 DISCONNECT, reason code only",
            version: V5,
            bytes: &[
                0xe0, 0x01, // DISCONNECT, RL 1
                0x04, // reason code 0x04 disconnect with will message (§3.14.2.1)
            ],
            packet: Packet::Disconnect(Disconnect {
                reason: ReasonCode::DISCONNECT_WITH_WILL_MESSAGE,
                properties: DisconnectProperties::default(),
            }),
        },
        // 5.0 §3.14.2.2: the properties a client sends.
        Vector {
            name: "5.0 §3.14.2.2 DISCONNECT, client properties",
            version: V5,
            bytes: &[
                0xe0, 0x0d, // DISCONNECT, RL 13
                0x04, // reason code 0x04 disconnect with will message
                0x0b, // property length 11 (§3.14.2.2.1)
                0x11, 0x00, 0x00, 0x0e, 0x10, // session expiry interval 3600 s (§3.14.2.2.2)
                0x1f, 0x00, 0x03, b'b', b'y', b'e', // reason string "bye" (§3.14.2.2.3)
            ],
            packet: Packet::Disconnect(Disconnect {
                reason: ReasonCode::DISCONNECT_WITH_WILL_MESSAGE,
                properties: DisconnectProperties {
                    session_expiry_interval: Some(3600),
                    reason_string: Some("bye"),
                    ..DisconnectProperties::default()
                },
            }),
        },
        // 5.0 §3.14.2.2: the properties a server sends.
        Vector {
            name: "5.0 §3.14.2.2 DISCONNECT, server properties",
            version: V5,
            bytes: &[
                0xe0, 0x10, // DISCONNECT, RL 16
                0x9c, // reason code 0x9c use another server
                0x0e, // property length 14
                0x1c, 0x00, 0x04, b's', b'r', b'v', b'2', // server reference (§3.14.2.2.5)
                0x26, 0x00, 0x01, b'a', 0x00, 0x01, b'b', // user property a=b (§3.14.2.2.4)
            ],
            packet: Packet::Disconnect(Disconnect {
                reason: ReasonCode::USE_ANOTHER_SERVER,
                properties: DisconnectProperties {
                    server_reference: Some("srv2"),
                    user_properties: list([user("a", "b")]),
                    ..DisconnectProperties::default()
                },
            }),
        },
        // 5.0 §3.15.2.1: "The Reason Code and Property Length can be omitted if the Reason Code is
        // 0x00 (Success) and there are no Properties. In this case the AUTH has a Remaining Length
        // of 0."
        Vector {
            name: "5.0 §3.15.2.1 AUTH, remaining length 0",
            version: V5,
            bytes: &[
                0xf0, 0x00, // AUTH, RL 0 (§3.15.1)
            ],
            packet: Packet::Auth(Auth::default()),
        },
        // §3.15.2.1 only allows leaving out the reason code together with the property length, so a
        // non-success AUTH without properties still carries a property length of 0.
        Vector {
            name: "5.0 §3.15.2.1 AUTH, continue authentication without properties",
            version: V5,
            bytes: &[
                0xf0, 0x02, // AUTH, RL 2
                0x18, // reason code 0x18 continue authentication
                0x00, // property length 0
            ],
            packet: Packet::Auth(Auth {
                reason: ReasonCode::CONTINUE_AUTHENTICATION,
                properties: AuthProperties::default(),
            }),
        },
        // 5.0 §3.15.2.2: every AUTH property.
        Vector {
            name: "5.0 §3.15.2.2 AUTH, continue authentication, every property",
            version: V5,
            bytes: &[
                0xf0, 0x25, // AUTH, RL 37
                0x18, // reason code 0x18 continue authentication (§3.15.2.1)
                0x23, // property length 35 (§3.15.2.2.1)
                0x15, 0x00, 0x0b, // authentication method, 11 bytes (§3.15.2.2.2)
                b'S', b'C', b'R', b'A', b'M', b'-', // "SCRAM-
                b'S', b'H', b'A', b'-', b'1', // SHA-1"
                0x16, 0x00, 0x04, 0x01, 0x02, 0x03, 0x04, // auth data (§3.15.2.2.3)
                0x1f, 0x00, 0x04, b's', b't', b'e', b'p', // reason string (§3.15.2.2.4)
                0x26, 0x00, 0x01, b'a', 0x00, 0x01, b'b', // user property a=b (§3.15.2.2.5)
            ],
            packet: Packet::Auth(Auth {
                reason: ReasonCode::CONTINUE_AUTHENTICATION,
                properties: AuthProperties {
                    authentication_method: Some("SCRAM-SHA-1"),
                    authentication_data: Some(&[0x01, 0x02, 0x03, 0x04]),
                    reason_string: Some("step"),
                    user_properties: list([user("a", "b")]),
                },
            }),
        },
        // 5.0 §4.12.1: re-authentication names the method again.
        Vector {
            name: "5.0 §4.12.1 AUTH, re-authenticate",
            version: V5,
            bytes: &[
                0xf0, 0x10, // AUTH, RL 16
                0x19, // reason code 0x19 re-authenticate
                0x0e, // property length 14
                0x15, 0x00, 0x0b, // authentication method, 11 bytes
                b'S', b'C', b'R', b'A', b'M', b'-', // "SCRAM-
                b'S', b'H', b'A', b'-', b'1', // SHA-1"
            ],
            packet: Packet::Auth(Auth {
                reason: ReasonCode::RE_AUTHENTICATE,
                properties: AuthProperties {
                    authentication_method: Some("SCRAM-SHA-1"),
                    ..AuthProperties::default()
                },
            }),
        },
    ]
}
