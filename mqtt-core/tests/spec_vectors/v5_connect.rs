//! MQTT 5.0 vectors of CONNECT and CONNACK.

use mqtt_core::codec::{
    ConnAck, ConnAckProperties, Connect, ConnectProperties, Packet, QoS, ReasonCode, Will,
    WillProperties,
};

use super::{V5, Vector, list, nz16, nz32, user};

pub(super) fn vectors() -> Vec<Vector> {
    vec![
        // 5.0 §3.1.2.12 Figure 3-6, the variable header example (flags 0xCE, keep alive 10, Session
        // Expiry Interval 10), with the payload of §3.1.3: every will property of §3.1.3.2 and two
        // user properties with the same name.
        Vector {
            name: "5.0 §3.1.2.12 CONNECT example: will + will properties, user name, password",
            version: V5,
            bytes: &[
                0x10, 0x62, // CONNECT, RL 98 (§3.1.1)
                0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name "MQTT" (§3.1.2.1)
                0x05, // protocol version 5 (§3.1.2.2)
                0xce, // flags: user name, password, will QoS 1, will, clean start (§3.1.2.3)
                0x00, 0x0a, // keep alive 10 s (§3.1.2.10)
                0x05, // property length 5 (§3.1.2.11.1)
                0x11, 0x00, 0x00, 0x00, 0x0a, // session expiry interval 10 s (§3.1.2.11.2)
                0x00, 0x06, b'c', b'l', b'i', b'e', b'n', b't', // client id (§3.1.3.1)
                0x33, // will property length 51 (§3.1.3.2.1)
                0x18, 0x00, 0x00, 0x00, 0x3c, // will delay interval 60 s (§3.1.3.2.2)
                0x01, 0x01, // payload format indicator 1: UTF-8 (§3.1.3.2.3)
                0x02, 0x00, 0x00, 0x0e, 0x10, // message expiry interval 3600 s (§3.1.3.2.4)
                0x03, 0x00, 0x0a, // content type, 10 bytes (§3.1.3.2.5)
                b't', b'e', b'x', b't', b'/', b'p', b'l', b'a', b'i', b'n', // "text/plain"
                0x08, 0x00, 0x04, b'r', b'e', b's', b'p', // response topic (§3.1.3.2.6)
                0x09, 0x00, 0x02, 0x01, 0x02, // correlation data 01 02 (§3.1.3.2.7)
                0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'1', // user property k=1 (§3.1.3.2.8)
                0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'2', // user property k=2, same name
                0x00, 0x03, b'a', b'/', b'b', // will topic "a/b" (§3.1.3.3)
                0x00, 0x03, b'b', b'y', b'e', // will payload "bye" (§3.1.3.4)
                0x00, 0x04, b'u', b's', b'e', b'r', // user name "user" (§3.1.3.5)
                0x00, 0x04, b'p', b'a', b's', b's', // password "pass" (§3.1.3.6)
            ],
            packet: Packet::Connect(Connect {
                clean_start: true,
                keep_alive: 10,
                client_id: "client",
                will: Some(Will {
                    topic: "a/b",
                    payload: b"bye",
                    qos: QoS::AtLeastOnce,
                    retain: false,
                    properties: WillProperties {
                        will_delay_interval: Some(60),
                        payload_format_indicator: Some(true),
                        message_expiry_interval: Some(3600),
                        content_type: Some("text/plain"),
                        response_topic: Some("resp"),
                        correlation_data: Some(&[0x01, 0x02]),
                        user_properties: list([user("k", "1"), user("k", "2")]),
                    },
                }),
                username: Some("user"),
                password: Some(b"pass"),
                properties: ConnectProperties {
                    session_expiry_interval: Some(10),
                    ..ConnectProperties::default()
                },
            }),
        },
        // 5.0 §3.1.2.11: every CONNECT property. §3.1.2.9: 5.0 allows a password without a user
        // name.
        Vector {
            name: "5.0 §3.1.2.11 CONNECT, every property, password without user name",
            version: V5,
            bytes: &[
                0x10, 0x49, // CONNECT, RL 73
                0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name "MQTT"
                0x05, // protocol version 5
                0x42, // flags: password, clean start (§3.1.2.9)
                0x00, 0x3c, // keep alive 60 s
                0x36, // property length 54
                0x11, 0xff, 0xff, 0xff, 0xff, // session expiry interval: never (§3.1.2.11.2)
                0x21, 0x00, 0x14, // receive maximum 20 (§3.1.2.11.3)
                0x27, 0x00, 0x00, 0x04, 0x00, // maximum packet size 1024 (§3.1.2.11.4)
                0x22, 0x00, 0x0a, // topic alias maximum 10 (§3.1.2.11.5)
                0x19, 0x01, // request response information 1 (§3.1.2.11.6)
                0x17, 0x00, // request problem information 0 (§3.1.2.11.7)
                0x15, 0x00, 0x0b, // authentication method, 11 bytes (§3.1.2.11.9)
                b'S', b'C', b'R', b'A', b'M', b'-', // "SCRAM-
                b'S', b'H', b'A', b'-', b'1', // SHA-1"
                0x16, 0x00, 0x03, 0x01, 0x02, 0x03, // authentication data (§3.1.2.11.10)
                0x26, 0x00, 0x01, b'a', 0x00, 0x01, b'b', // user property a=b (§3.1.2.11.8)
                0x26, 0x00, 0x01, b'c', 0x00, 0x01, b'd', // user property c=d
                0x00, 0x02, b'i', b'd', // client id "id"
                0x00, 0x02, b'p', b'w', // password "pw"
            ],
            packet: Packet::Connect(Connect {
                clean_start: true,
                keep_alive: 60,
                client_id: "id",
                will: None,
                username: None,
                password: Some(b"pw"),
                properties: ConnectProperties {
                    session_expiry_interval: Some(u32::MAX),
                    receive_maximum: Some(nz16(20)),
                    maximum_packet_size: Some(nz32(1024)),
                    topic_alias_maximum: Some(10),
                    request_response_information: Some(true),
                    request_problem_information: Some(false),
                    authentication_method: Some("SCRAM-SHA-1"),
                    authentication_data: Some(&[0x01, 0x02, 0x03]),
                    user_properties: list([user("a", "b"), user("c", "d")]),
                },
            }),
        },
        // 5.0 §3.2.2.3.1: property length 0.
        Vector {
            name: "5.0 §3.2 CONNACK, success, no properties",
            version: V5,
            bytes: &[
                0x20, 0x03, // CONNACK, RL 3 (§3.2.1)
                0x00, // acknowledge flags: session present 0 (§3.2.2.1)
                0x00, // reason code 0x00 success (§3.2.2.2)
                0x00, // property length 0 (§3.2.2.3.1)
            ],
            packet: Packet::ConnAck(ConnAck::default()),
        },
        // 5.0 §3.2.2.2: a failure reason code.
        Vector {
            name: "5.0 §3.2.2.2 CONNACK, refused: bad user name or password",
            version: V5,
            bytes: &[
                0x20, 0x03, // CONNACK, RL 3
                0x00, // acknowledge flags: session present 0
                0x86, // reason code 0x86 bad user name or password
                0x00, // property length 0
            ],
            packet: Packet::ConnAck(ConnAck {
                reason: ReasonCode::BAD_USER_NAME_OR_PASSWORD,
                ..ConnAck::default()
            }),
        },
        // 5.0 §3.2.2.3: every CONNACK property, session present.
        Vector {
            name: "5.0 §3.2.2.3 CONNACK, session present, every property",
            version: V5,
            bytes: &[
                0x20, 0x4b, // CONNACK, RL 75
                0x01, // acknowledge flags: session present 1 (§3.2.2.1.1)
                0x00, // reason code 0x00 success
                0x48, // property length 72
                0x11, 0x00, 0x00, 0x00, 0x78, // session expiry interval 120 s (§3.2.2.3.2)
                0x21, 0x00, 0x0a, // receive maximum 10 (§3.2.2.3.3)
                0x24, 0x01, // maximum QoS 1 (§3.2.2.3.4)
                0x25, 0x00, // retain available 0 (§3.2.2.3.5)
                0x27, 0x00, 0x01, 0x00, 0x00, // maximum packet size 65536 (§3.2.2.3.6)
                0x12, 0x00, 0x06, // assigned client identifier, 6 bytes (§3.2.2.3.7)
                b'a', b'u', b't', b'o', b'-', b'1', // "auto-1"
                0x22, 0x00, 0x05, // topic alias maximum 5 (§3.2.2.3.8)
                0x1f, 0x00, 0x02, b'o', b'k', // reason string "ok" (§3.2.2.3.9)
                0x28, 0x00, // wildcard subscription available 0 (§3.2.2.3.11)
                0x29, 0x01, // subscription identifiers available 1 (§3.2.2.3.12)
                0x2a, 0x00, // shared subscription available 0 (§3.2.2.3.13)
                0x13, 0x00, 0x1e, // server keep alive 30 s (§3.2.2.3.14)
                0x1a, 0x00, 0x04, b'r', b's', b'p', b'/', // response info (§3.2.2.3.15)
                0x1c, 0x00, 0x04, b's', b'r', b'v', b'2', // server reference (§3.2.2.3.16)
                0x15, 0x00, 0x01, b'm', // authentication method "m" (§3.2.2.3.17)
                0x16, 0x00, 0x01, 0xff, // authentication data ff (§3.2.2.3.18)
                0x26, 0x00, 0x01, b'x', 0x00, 0x01, b'y', // user property x=y (§3.2.2.3.10)
            ],
            packet: Packet::ConnAck(ConnAck {
                session_present: true,
                reason: ReasonCode::SUCCESS,
                properties: ConnAckProperties {
                    session_expiry_interval: Some(120),
                    receive_maximum: Some(nz16(10)),
                    maximum_qos: Some(QoS::AtLeastOnce),
                    retain_available: Some(false),
                    maximum_packet_size: Some(nz32(65_536)),
                    assigned_client_identifier: Some("auto-1"),
                    topic_alias_maximum: Some(5),
                    reason_string: Some("ok"),
                    wildcard_subscription_available: Some(false),
                    subscription_identifiers_available: Some(true),
                    shared_subscription_available: Some(false),
                    server_keep_alive: Some(30),
                    response_information: Some("rsp/"),
                    server_reference: Some("srv2"),
                    authentication_method: Some("m"),
                    authentication_data: Some(&[0xff]),
                    user_properties: list([user("x", "y")]),
                },
            }),
        },
    ]
}
