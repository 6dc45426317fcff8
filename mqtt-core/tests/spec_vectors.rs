//! Byte vectors for every control packet of MQTT 3.1.1 and MQTT 5.0, built from the packet
//! layouts of section 3 of each OASIS standard and, where the standard gives one, from its worked
//! example.
//!
//! Every vector is checked both ways: `decode` yields exactly the expected packet and consumes
//! every byte, and encoding the expected packet writes exactly the vector, with `encoded_len`
//! equal to its length. Every strict prefix of every vector decodes to `Ok(None)`.
//!
//! Integers are big-endian; strings and binary data carry a two-byte length (3.1.1 §1.5.3, 5.0
//! §1.5.4 and §1.5.6). The encoder writes the properties of a block in the order their struct
//! declares them, user properties (then subscription identifiers) last, so the MQTT 5.0 vectors
//! list them in that order. "RL" is the remaining length of the fixed header.

use core::num::{NonZeroU16, NonZeroU32};
use std::collections::BTreeSet;

use mqtt_core::codec::{
    self, Ack, AckProperties, Auth, AuthProperties, ConnAck, ConnAckProperties, Connect,
    ConnectProperties, Disconnect, DisconnectProperties, List, ListItem, Packet, PacketId,
    ProtocolVersion, Publish, PublishProperties, QoS, ReasonCode, RetainHandling, SubAck,
    Subscribe, SubscribeProperties, Subscription, SubscriptionId, SubscriptionOptions, UnsubAck,
    Unsubscribe, UnsubscribeProperties, UserProperty, Will, WillProperties,
};

const V3: ProtocolVersion = ProtocolVersion::V311;
const V5: ProtocolVersion = ProtocolVersion::V5;

/// One packet: its bytes on the wire and the value they stand for.
struct Vector {
    /// Protocol version and spec section first, so that a failure points at the clause.
    name: &'static str,
    version: ProtocolVersion,
    bytes: &'static [u8],
    packet: Packet<'static>,
}

fn id(value: u16) -> PacketId {
    PacketId::new(value).unwrap()
}

fn nz16(value: u16) -> NonZeroU16 {
    NonZeroU16::new(value).unwrap()
}

fn nz32(value: u32) -> NonZeroU32 {
    NonZeroU32::new(value).unwrap()
}

fn sub_id(value: u32) -> SubscriptionId {
    SubscriptionId::new(value).unwrap()
}

/// A list built from owned items; leaked so that the vectors can be `'static`.
fn list<T: ListItem<'static>, const N: usize>(items: [T; N]) -> List<'static, T> {
    List::new(Vec::from(items).leak())
}

fn user(name: &'static str, value: &'static str) -> UserProperty<'static> {
    UserProperty { name, value }
}

fn options(
    qos: QoS,
    no_local: bool,
    retain_as_published: bool,
    retain_handling: RetainHandling,
) -> SubscriptionOptions {
    SubscriptionOptions {
        qos,
        no_local,
        retain_as_published,
        retain_handling,
    }
}

fn ack(packet_id: u16, reason: u8, properties: AckProperties<'static>) -> Ack<'static> {
    Ack {
        packet_id: id(packet_id),
        reason: ReasonCode(reason),
        properties,
    }
}

fn vectors() -> Vec<Vector> {
    vec![
        // -----------------------------------------------------------------------------------------
        // MQTT 3.1.1
        // -----------------------------------------------------------------------------------------

        // 3.1.1 §3.1.2.10 Figure 3.6, the variable header example (flags 0xCE, keep alive 10), with
        // the payload of §3.1.3.
        Vector {
            name: "3.1.1 §3.1.2.10 CONNECT example: will, user name, password",
            version: V3,
            bytes: &[
                0x10, 0x28, // CONNECT, RL 40 (§3.1.1)
                0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name "MQTT" (§3.1.2.1)
                0x04, // protocol level 4 (§3.1.2.2)
                0xce, // flags: user name, password, will QoS 1, will, clean (§3.1.2.3)
                0x00, 0x0a, // keep alive 10 s (§3.1.2.10)
                0x00, 0x06, b'c', b'l', b'i', b'e', b'n', b't', // client id (§3.1.3.1)
                0x00, 0x03, b'a', b'/', b'b', // will topic "a/b" (§3.1.3.2)
                0x00, 0x03, b'b', b'y', b'e', // will message "bye" (§3.1.3.3)
                0x00, 0x04, b'u', b's', b'e', b'r', // user name "user" (§3.1.3.4)
                0x00, 0x04, b'p', b'a', b's', b's', // password "pass" (§3.1.3.5)
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
                    properties: WillProperties::default(),
                }),
                username: Some("user"),
                password: Some(b"pass"),
                properties: ConnectProperties::default(),
            }),
        },
        // 3.1.1 §3.1.3.1: a zero-byte client identifier, with CleanSession 1.
        Vector {
            name: "3.1.1 §3.1.3.1 CONNECT, empty client identifier",
            version: V3,
            bytes: &[
                0x10, 0x0c, // CONNECT, RL 12
                0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name "MQTT"
                0x04, // protocol level 4
                0x02, // flags: clean session
                0x00, 0x3c, // keep alive 60 s
                0x00, 0x00, // client id ""
            ],
            packet: Packet::Connect(Connect {
                clean_start: true,
                keep_alive: 60,
                ..Connect::default()
            }),
        },
        // 3.1.1 §3.1.2.5 to §3.1.2.8: will QoS 2 with will retain, user name without password.
        Vector {
            name: "3.1.1 §3.1.2.6 CONNECT, retained will at QoS 2, user name only",
            version: V3,
            bytes: &[
                0x10, 0x15, // CONNECT, RL 21
                0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name "MQTT"
                0x04, // protocol level 4
                0xb4, // flags: user name, will retain, will QoS 2, will
                0x01, 0x2c, // keep alive 300 s
                0x00, 0x01, b'c', // client id "c"
                0x00, 0x01, b'w', // will topic "w"
                0x00, 0x00, // will message: empty
                0x00, 0x01, b'u', // user name "u"
            ],
            packet: Packet::Connect(Connect {
                clean_start: false,
                keep_alive: 300,
                client_id: "c",
                will: Some(Will {
                    topic: "w",
                    payload: b"",
                    qos: QoS::ExactlyOnce,
                    retain: true,
                    properties: WillProperties::default(),
                }),
                username: Some("u"),
                password: None,
                properties: ConnectProperties::default(),
            }),
        },
        // 3.1.1 §3.2.2: connection accepted, no session present.
        Vector {
            name: "3.1.1 §3.2 CONNACK, accepted",
            version: V3,
            bytes: &[
                0x20, 0x02, // CONNACK, RL 2 (§3.2.1)
                0x00, // acknowledge flags: session present 0 (§3.2.2.2)
                0x00, // return code 0: connection accepted (§3.2.2.3)
            ],
            packet: Packet::ConnAck(ConnAck::default()),
        },
        // 3.1.1 §3.2.2.2: session present.
        Vector {
            name: "3.1.1 §3.2.2.2 CONNACK, session present",
            version: V3,
            bytes: &[
                0x20, 0x02, // CONNACK, RL 2
                0x01, // acknowledge flags: session present 1
                0x00, // return code 0: connection accepted
            ],
            packet: Packet::ConnAck(ConnAck {
                session_present: true,
                ..ConnAck::default()
            }),
        },
        // 3.1.1 §3.2.2.3 Table 3.1: return code 5, not authorized.
        Vector {
            name: "3.1.1 §3.2.2.3 CONNACK, refused: not authorized",
            version: V3,
            bytes: &[
                0x20, 0x02, // CONNACK, RL 2
                0x00, // acknowledge flags: session present 0
                0x05, // return code 5: not authorized
            ],
            packet: Packet::ConnAck(ConnAck {
                reason: ReasonCode(5),
                ..ConnAck::default()
            }),
        },
        // 3.1.1 §3.3.1: QoS 0 carries no packet identifier (§3.3.2.2).
        Vector {
            name: "3.1.1 §3.3 PUBLISH QoS 0",
            version: V3,
            bytes: &[
                0x30, 0x0a, // PUBLISH, DUP 0, QoS 0, RETAIN 0; RL 10 (§3.3.1)
                0x00, 0x03, b'a', b'/', b'b', // topic name "a/b" (§3.3.2.1)
                b'h', b'e', b'l', b'l', b'o', // payload "hello" (§3.3.3)
            ],
            packet: Packet::Publish(Publish {
                topic: "a/b",
                payload: b"hello",
                ..Publish::default()
            }),
        },
        // 3.1.1 §3.3.2.3 Figure 3.11, the variable header example: topic "a/b", packet id 10.
        Vector {
            name: "3.1.1 §3.3.2.3 PUBLISH QoS 1, variable header example",
            version: V3,
            bytes: &[
                0x32, 0x0c, // PUBLISH, QoS 1; RL 12
                0x00, 0x03, b'a', b'/', b'b', // topic name "a/b"
                0x00, 0x0a, // packet identifier 10 (§3.3.2.2)
                b'h', b'e', b'l', b'l', b'o', // payload "hello"
            ],
            packet: Packet::Publish(Publish {
                qos: QoS::AtLeastOnce,
                packet_id: Some(id(10)),
                topic: "a/b",
                payload: b"hello",
                ..Publish::default()
            }),
        },
        // 3.1.1 §3.3.1.1 to §3.3.1.3 and §3.3.3: DUP, QoS 2 and RETAIN, zero-length payload.
        Vector {
            name: "3.1.1 §3.3.1 PUBLISH QoS 2, DUP and RETAIN, empty payload",
            version: V3,
            bytes: &[
                0x3d, 0x07, // PUBLISH, DUP 1, QoS 2, RETAIN 1; RL 7
                0x00, 0x03, b'a', b'/', b'b', // topic name "a/b"
                0x00, 0x0a, // packet identifier 10; the payload is empty
            ],
            packet: Packet::Publish(Publish {
                dup: true,
                qos: QoS::ExactlyOnce,
                retain: true,
                topic: "a/b",
                packet_id: Some(id(10)),
                ..Publish::default()
            }),
        },
        // 3.1.1 §2.2.3 Table 2.4: a remaining length of 130 takes two bytes.
        Vector {
            name: "3.1.1 §2.2.3 PUBLISH with a two-byte remaining length",
            version: V3,
            bytes: [
                &[
                    0x30, 0x82, 0x01, // PUBLISH, QoS 0; RL 130 (0x82 0x01)
                    0x00, 0x03, b'a', b'/', b'b', // topic name "a/b"
                ][..],
                &[b'x'; 125], // payload: 125 times 'x'
            ]
            .concat()
            .leak(),
            packet: Packet::Publish(Publish {
                topic: "a/b",
                payload: &[b'x'; 125],
                ..Publish::default()
            }),
        },
        // 3.1.1 §3.4: the packet identifier alone.
        Vector {
            name: "3.1.1 §3.4 PUBACK",
            version: V3,
            bytes: &[
                0x40, 0x02, // PUBACK, RL 2 (§3.4.1)
                0x00, 0x0a, // packet identifier 10 (§3.4.2)
            ],
            packet: Packet::PubAck(Ack::new(id(10))),
        },
        // 3.1.1 §3.5.
        Vector {
            name: "3.1.1 §3.5 PUBREC",
            version: V3,
            bytes: &[
                0x50, 0x02, // PUBREC, RL 2 (§3.5.1)
                0x00, 0x0a, // packet identifier 10 (§3.5.2)
            ],
            packet: Packet::PubRec(Ack::new(id(10))),
        },
        // 3.1.1 §3.6.1: PUBREL's fixed header flags are 0010.
        Vector {
            name: "3.1.1 §3.6 PUBREL",
            version: V3,
            bytes: &[
                0x62, 0x02, // PUBREL, flags 0010; RL 2 (§3.6.1)
                0x00, 0x0a, // packet identifier 10 (§3.6.2)
            ],
            packet: Packet::PubRel(Ack::new(id(10))),
        },
        // 3.1.1 §3.7.
        Vector {
            name: "3.1.1 §3.7 PUBCOMP",
            version: V3,
            bytes: &[
                0x70, 0x02, // PUBCOMP, RL 2 (§3.7.1)
                0x00, 0x0a, // packet identifier 10 (§3.7.2)
            ],
            packet: Packet::PubComp(Ack::new(id(10))),
        },
        // 3.1.1 §3.8.2 Figure 3.21 (packet identifier 10) and §3.8.3 Figure 3.23, the payload
        // example: "a/b" at QoS 1 and "c/d" at QoS 2.
        Vector {
            name: "3.1.1 §3.8.3 SUBSCRIBE, payload example",
            version: V3,
            bytes: &[
                0x82, 0x0e, // SUBSCRIBE, flags 0010; RL 14 (§3.8.1)
                0x00, 0x0a, // packet identifier 10 (§3.8.2)
                0x00, 0x03, b'a', b'/', b'b', // topic filter "a/b"
                0x01, // requested QoS 1
                0x00, 0x03, b'c', b'/', b'd', // topic filter "c/d"
                0x02, // requested QoS 2
            ],
            packet: Packet::Subscribe(Subscribe {
                packet_id: id(10),
                properties: SubscribeProperties::default(),
                filters: list([
                    Subscription::new("a/b", QoS::AtLeastOnce),
                    Subscription::new("c/d", QoS::ExactlyOnce),
                ]),
            }),
        },
        // 3.1.1 §3.9.3 Figure 3.26, the return codes example: "Success - Maximum QoS 0",
        // "Success - Maximum QoS 2", "Failure".
        Vector {
            name: "3.1.1 §3.9.3 SUBACK, return codes example",
            version: V3,
            bytes: &[
                0x90, 0x05, // SUBACK, RL 5 (§3.9.1)
                0x00, 0x0a, // packet identifier 10 (§3.9.2)
                0x00, // success, maximum QoS 0
                0x02, // success, maximum QoS 2
                0x80, // failure
            ],
            packet: Packet::SubAck(SubAck {
                packet_id: id(10),
                properties: AckProperties::default(),
                reasons: list([ReasonCode(0x00), ReasonCode(0x02), ReasonCode(0x80)]),
            }),
        },
        // 3.1.1 §3.10.3 Figure 3.30, the payload example: "a/b" and "c/d".
        Vector {
            name: "3.1.1 §3.10.3 UNSUBSCRIBE, payload example",
            version: V3,
            bytes: &[
                0xa2, 0x0c, // UNSUBSCRIBE, flags 0010; RL 12 (§3.10.1)
                0x00, 0x0a, // packet identifier 10 (§3.10.2)
                0x00, 0x03, b'a', b'/', b'b', // topic filter "a/b"
                0x00, 0x03, b'c', b'/', b'd', // topic filter "c/d"
            ],
            packet: Packet::Unsubscribe(Unsubscribe {
                packet_id: id(10),
                properties: UnsubscribeProperties::default(),
                filters: list(["a/b", "c/d"]),
            }),
        },
        // 3.1.1 §3.11: the packet identifier alone, no payload.
        Vector {
            name: "3.1.1 §3.11 UNSUBACK",
            version: V3,
            bytes: &[
                0xb0, 0x02, // UNSUBACK, RL 2 (§3.11.1)
                0x00, 0x0a, // packet identifier 10 (§3.11.2)
            ],
            packet: Packet::UnsubAck(UnsubAck {
                packet_id: id(10),
                properties: AckProperties::default(),
                reasons: List::default(),
            }),
        },
        // 3.1.1 §3.12.
        Vector {
            name: "3.1.1 §3.12 PINGREQ",
            version: V3,
            bytes: &[
                0xc0, 0x00, // PINGREQ, RL 0
            ],
            packet: Packet::PingReq,
        },
        // 3.1.1 §3.13.
        Vector {
            name: "3.1.1 §3.13 PINGRESP",
            version: V3,
            bytes: &[
                0xd0, 0x00, // PINGRESP, RL 0
            ],
            packet: Packet::PingResp,
        },
        // 3.1.1 §3.14.
        Vector {
            name: "3.1.1 §3.14 DISCONNECT",
            version: V3,
            bytes: &[
                0xe0, 0x00, // DISCONNECT, RL 0
            ],
            packet: Packet::Disconnect(Disconnect::default()),
        },
        // -----------------------------------------------------------------------------------------
        // MQTT 5.0
        // -----------------------------------------------------------------------------------------

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
        // 5.0 §3.3.2: QoS 0, no packet identifier, property length 0.
        Vector {
            name: "5.0 §3.3 PUBLISH QoS 0",
            version: V5,
            bytes: &[
                0x30, 0x08, // PUBLISH, QoS 0; RL 8 (§3.3.1)
                0x00, 0x03, b'a', b'/', b'b', // topic name "a/b" (§3.3.2.1)
                0x00, // property length 0 (§3.3.2.3.1)
                b'h', b'i', // payload "hi" (§3.3.3)
            ],
            packet: Packet::Publish(Publish {
                topic: "a/b",
                payload: b"hi",
                ..Publish::default()
            }),
        },
        // 5.0 §3.3.2 Figure 3-9, the variable header example: topic "a/b", packet id 10, no
        // properties.
        Vector {
            name: "5.0 §3.3.2 PUBLISH QoS 1, variable header example",
            version: V5,
            bytes: &[
                0x32, 0x0d, // PUBLISH, QoS 1; RL 13
                0x00, 0x03, b'a', b'/', b'b', // topic name "a/b"
                0x00, 0x0a, // packet identifier 10 (§3.3.2.2)
                0x00, // property length 0
                b'h', b'e', b'l', b'l', b'o', // payload "hello"
            ],
            packet: Packet::Publish(Publish {
                qos: QoS::AtLeastOnce,
                packet_id: Some(id(10)),
                topic: "a/b",
                payload: b"hello",
                ..Publish::default()
            }),
        },
        // 5.0 §3.3.2.3: every PUBLISH property, with two user properties (in order) and two
        // subscription identifiers.
        Vector {
            name: "5.0 §3.3.2.3 PUBLISH QoS 2, DUP, RETAIN, every property",
            version: V5,
            bytes: &[
                0x3d, 0x49, // PUBLISH, DUP 1, QoS 2, RETAIN 1; RL 73
                0x00, 0x03, b'a', b'/', b'b', // topic name "a/b"
                0x00, 0x0a, // packet identifier 10
                0x3f, // property length 63
                0x01, 0x01, // payload format indicator 1: UTF-8 (§3.3.2.3.2)
                0x02, 0x00, 0x00, 0x00, 0x3c, // message expiry interval 60 s (§3.3.2.3.3)
                0x23, 0x00, 0x01, // topic alias 1 (§3.3.2.3.4)
                0x08, 0x00, 0x03, b'r', b'/', b'1', // response topic "r/1" (§3.3.2.3.5)
                0x09, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef, // correlation data (§3.3.2.3.6)
                0x03, 0x00, 0x10, // content type, 16 bytes (§3.3.2.3.9)
                b'a', b'p', b'p', b'l', b'i', b'c', b'a', b't', // "applicat
                b'i', b'o', b'n', b'/', b'j', b's', b'o', b'n', // ion/json"
                0x26, 0x00, 0x01, b'a', 0x00, 0x01, b'1', // user property a=1 (§3.3.2.3.7)
                0x26, 0x00, 0x01, b'a', 0x00, 0x01, b'2', // user property a=2, order kept
                0x0b, 0x01, // subscription identifier 1 (§3.3.2.3.8)
                0x0b, 0xff, 0xff, 0xff, 0x7f, // subscription identifier 268,435,455
                b'{', b'}', // payload "{}"
            ],
            packet: Packet::Publish(Publish {
                dup: true,
                qos: QoS::ExactlyOnce,
                retain: true,
                topic: "a/b",
                packet_id: Some(id(10)),
                properties: PublishProperties {
                    payload_format_indicator: Some(true),
                    message_expiry_interval: Some(60),
                    topic_alias: Some(nz16(1)),
                    response_topic: Some("r/1"),
                    correlation_data: Some(&[0xde, 0xad, 0xbe, 0xef]),
                    content_type: Some("application/json"),
                    user_properties: list([user("a", "1"), user("a", "2")]),
                    subscription_identifiers: list([sub_id(1), sub_id(268_435_455)]),
                },
                payload: b"{}",
            }),
        },
        // 5.0 §3.3.2.3.4: a zero-length topic name stands for the topic its Topic Alias maps to.
        Vector {
            name: "5.0 §3.3.2.3.4 PUBLISH, empty topic name with a topic alias",
            version: V5,
            bytes: &[
                0x30, 0x08, // PUBLISH, QoS 0; RL 8
                0x00, 0x00, // topic name: zero length
                0x03, // property length 3
                0x23, 0x00, 0x01, // topic alias 1
                b'h', b'i', // payload "hi"
            ],
            packet: Packet::Publish(Publish {
                topic: "",
                properties: PublishProperties {
                    topic_alias: Some(nz16(1)),
                    ..PublishProperties::default()
                },
                payload: b"hi",
                ..Publish::default()
            }),
        },
        // 5.0 §3.4.2.1: "The Reason Code and Property Length can be omitted if the Reason Code is
        // 0x00 (Success) and there are no Properties. In this case the PUBACK has a Remaining
        // Length of 2."
        Vector {
            name: "5.0 §3.4.2.1 PUBACK, remaining length 2",
            version: V5,
            bytes: &[
                0x40, 0x02, // PUBACK, RL 2 (§3.4.1)
                0x00, 0x0a, // packet identifier 10 (§3.4.2)
            ],
            packet: Packet::PubAck(Ack::new(id(10))),
        },
        // 5.0 §3.4.2.2.1: "If the Remaining Length is less than 4 there is no Property Length".
        Vector {
            name: "5.0 §3.4.2.1 PUBACK, reason code only",
            version: V5,
            bytes: &[
                0x40, 0x03, // PUBACK, RL 3
                0x00, 0x0a, // packet identifier 10
                0x10, // reason code 0x10 no matching subscribers (§3.4.2.1)
            ],
            packet: Packet::PubAck(ack(10, 0x10, AckProperties::default())),
        },
        // 5.0 §3.4.2.2: reason string and user property.
        Vector {
            name: "5.0 §3.4.2.2 PUBACK, properties",
            version: V5,
            bytes: &[
                0x40, 0x12, // PUBACK, RL 18
                0x00, 0x0a, // packet identifier 10
                0x10, // reason code 0x10 no matching subscribers
                0x0e, // property length 14 (§3.4.2.2.1)
                0x1f, 0x00, 0x04, b'n', b'o', b'n', b'e', // reason string (§3.4.2.2.2)
                0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', // user property k=v (§3.4.2.2.3)
            ],
            packet: Packet::PubAck(ack(
                10,
                0x10,
                AckProperties {
                    reason_string: Some("none"),
                    user_properties: list([user("k", "v")]),
                },
            )),
        },
        // 5.0 §3.5.2.1, the same short forms as PUBACK.
        Vector {
            name: "5.0 §3.5.2.1 PUBREC, remaining length 2",
            version: V5,
            bytes: &[
                0x50, 0x02, // PUBREC, RL 2 (§3.5.1)
                0x00, 0x0a, // packet identifier 10 (§3.5.2)
            ],
            packet: Packet::PubRec(Ack::new(id(10))),
        },
        Vector {
            name: "5.0 §3.5.2.1 PUBREC, reason code only",
            version: V5,
            bytes: &[
                0x50, 0x03, // PUBREC, RL 3
                0x00, 0x0a, // packet identifier 10
                0x80, // reason code 0x80 unspecified error (§3.5.2.1)
            ],
            packet: Packet::PubRec(ack(10, 0x80, AckProperties::default())),
        },
        // 5.0 §3.5.2.2: success with properties keeps the reason code byte.
        Vector {
            name: "5.0 §3.5.2.2 PUBREC, success with properties",
            version: V5,
            bytes: &[
                0x50, 0x09, // PUBREC, RL 9
                0x00, 0x0a, // packet identifier 10
                0x00, // reason code 0x00 success
                0x05, // property length 5 (§3.5.2.2.1)
                0x1f, 0x00, 0x02, b'o', b'k', // reason string "ok" (§3.5.2.2.2)
            ],
            packet: Packet::PubRec(ack(
                10,
                0x00,
                AckProperties {
                    reason_string: Some("ok"),
                    ..AckProperties::default()
                },
            )),
        },
        // 5.0 §3.6.1: PUBREL's fixed header flags are 0010.
        Vector {
            name: "5.0 §3.6.2.1 PUBREL, remaining length 2",
            version: V5,
            bytes: &[
                0x62, 0x02, // PUBREL, flags 0010; RL 2 (§3.6.1)
                0x00, 0x0a, // packet identifier 10 (§3.6.2)
            ],
            packet: Packet::PubRel(Ack::new(id(10))),
        },
        Vector {
            name: "5.0 §3.6.2.1 PUBREL, reason code only",
            version: V5,
            bytes: &[
                0x62, 0x03, // PUBREL, RL 3
                0x00, 0x0a, // packet identifier 10
                0x92, // reason code 0x92 packet identifier not found (§3.6.2.1)
            ],
            packet: Packet::PubRel(ack(10, 0x92, AckProperties::default())),
        },
        Vector {
            name: "5.0 §3.6.2.2 PUBREL, properties",
            version: V5,
            bytes: &[
                0x62, 0x0b, // PUBREL, RL 11
                0x00, 0x0a, // packet identifier 10
                0x92, // reason code 0x92 packet identifier not found
                0x07, // property length 7 (§3.6.2.2.1)
                0x26, 0x00, 0x01, b'a', 0x00, 0x01, b'b', // user property a=b (§3.6.2.2.3)
            ],
            packet: Packet::PubRel(ack(
                10,
                0x92,
                AckProperties {
                    user_properties: list([user("a", "b")]),
                    ..AckProperties::default()
                },
            )),
        },
        // 5.0 §3.7.
        Vector {
            name: "5.0 §3.7.2.1 PUBCOMP, remaining length 2",
            version: V5,
            bytes: &[
                0x70, 0x02, // PUBCOMP, RL 2 (§3.7.1)
                0x00, 0x0a, // packet identifier 10 (§3.7.2)
            ],
            packet: Packet::PubComp(Ack::new(id(10))),
        },
        Vector {
            name: "5.0 §3.7.2.1 PUBCOMP, reason code only",
            version: V5,
            bytes: &[
                0x70, 0x03, // PUBCOMP, RL 3
                0x00, 0x0a, // packet identifier 10
                0x92, // reason code 0x92 packet identifier not found (§3.7.2.1)
            ],
            packet: Packet::PubComp(ack(10, 0x92, AckProperties::default())),
        },
        Vector {
            name: "5.0 §3.7.2.2 PUBCOMP, properties",
            version: V5,
            bytes: &[
                0x70, 0x0b, // PUBCOMP, RL 11
                0x00, 0x0a, // packet identifier 10
                0x00, // reason code 0x00 success
                0x07, // property length 7 (§3.7.2.2.1)
                0x1f, 0x00, 0x04, b'd', b'o', b'n', b'e', // reason string (§3.7.2.2.2)
            ],
            packet: Packet::PubComp(ack(
                10,
                0x00,
                AckProperties {
                    reason_string: Some("done"),
                    ..AckProperties::default()
                },
            )),
        },
        // 5.0 §3.8.2 (packet identifier 10, no properties) and the §3.8.3 payload example: "a/b"
        // with options 1 and "c/d" with options 2.
        Vector {
            name: "5.0 §3.8.3 SUBSCRIBE, payload example",
            version: V5,
            bytes: &[
                0x82, 0x0f, // SUBSCRIBE, flags 0010; RL 15 (§3.8.1)
                0x00, 0x0a, // packet identifier 10 (§3.8.2)
                0x00, // property length 0 (§3.8.2.1.1)
                0x00, 0x03, b'a', b'/', b'b', // topic filter "a/b"
                0x01, // subscription options: QoS 1
                0x00, 0x03, b'c', b'/', b'd', // topic filter "c/d"
                0x02, // subscription options: QoS 2
            ],
            packet: Packet::Subscribe(Subscribe {
                packet_id: id(10),
                properties: SubscribeProperties::default(),
                filters: list([
                    Subscription::new("a/b", QoS::AtLeastOnce),
                    Subscription::new("c/d", QoS::ExactlyOnce),
                ]),
            }),
        },
        // 5.0 §3.8.2.1 properties and §3.8.3.1 options: No Local, Retain As Published, Retain
        // Handling; a shared subscription (§4.8.2) without No Local.
        Vector {
            name: "5.0 §3.8.3.1 SUBSCRIBE, subscription identifier, every option",
            version: V5,
            bytes: &[
                0x82, 0x22, // SUBSCRIBE; RL 34
                0x00, 0x0a, // packet identifier 10
                0x0a, // property length 10
                0x0b, 0x80, 0x01, // subscription identifier 128, two bytes (§3.8.2.1.2)
                0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', // user property k=v (§3.8.2.1.3)
                0x00, 0x0c, // topic filter, 12 bytes
                b'$', b's', b'h', b'a', b'r', b'e', b'/', // "$share/
                b'g', b'/', b'a', b'/', b'#', // g/a/#"
                0x19, // options: retain handling 1, retain as published, QoS 1
                0x00, 0x03, b'+', b'/', b'x', // topic filter "+/x"
                0x26, // options: retain handling 2, no local, QoS 2
            ],
            packet: Packet::Subscribe(Subscribe {
                packet_id: id(10),
                properties: SubscribeProperties {
                    subscription_identifier: Some(sub_id(128)),
                    user_properties: list([user("k", "v")]),
                },
                filters: list([
                    Subscription {
                        filter: "$share/g/a/#",
                        options: options(
                            QoS::AtLeastOnce,
                            false,
                            true,
                            RetainHandling::SendAtSubscribeIfNew,
                        ),
                    },
                    Subscription {
                        filter: "+/x",
                        options: options(QoS::ExactlyOnce, true, false, RetainHandling::DoNotSend),
                    },
                ]),
            }),
        },
        // 5.0 §3.9.3: one reason code per filter; the codes of the 3.1.1 example.
        Vector {
            name: "5.0 §3.9.3 SUBACK, reason codes",
            version: V5,
            bytes: &[
                0x90, 0x06, // SUBACK, RL 6 (§3.9.1)
                0x00, 0x0a, // packet identifier 10 (§3.9.2)
                0x00, // property length 0 (§3.9.2.1.1)
                0x00, // granted QoS 0
                0x02, // granted QoS 2
                0x80, // unspecified error
            ],
            packet: Packet::SubAck(SubAck {
                packet_id: id(10),
                properties: AckProperties::default(),
                reasons: list([
                    ReasonCode::GRANTED_QOS_0,
                    ReasonCode::GRANTED_QOS_2,
                    ReasonCode::UNSPECIFIED_ERROR,
                ]),
            }),
        },
        Vector {
            name: "5.0 §3.9.2.1 SUBACK, properties",
            version: V5,
            bytes: &[
                0x90, 0x12, // SUBACK, RL 18
                0x00, 0x0a, // packet identifier 10
                0x0d, // property length 13
                0x1f, 0x00, 0x03, b'w', b'h', b'y', // reason string "why" (§3.9.2.1.2)
                0x26, 0x00, 0x01, b'a', 0x00, 0x01, b'b', // user property a=b (§3.9.2.1.3)
                0x01, // granted QoS 1
                0x97, // quota exceeded
            ],
            packet: Packet::SubAck(SubAck {
                packet_id: id(10),
                properties: AckProperties {
                    reason_string: Some("why"),
                    user_properties: list([user("a", "b")]),
                },
                reasons: list([ReasonCode::GRANTED_QOS_1, ReasonCode::QUOTA_EXCEEDED]),
            }),
        },
        // 5.0 §3.10.3, the payload example: "a/b" and "c/d".
        Vector {
            name: "5.0 §3.10.3 UNSUBSCRIBE, payload example",
            version: V5,
            bytes: &[
                0xa2, 0x0d, // UNSUBSCRIBE, flags 0010; RL 13 (§3.10.1)
                0x00, 0x0a, // packet identifier 10 (§3.10.2)
                0x00, // property length 0 (§3.10.2.1.1)
                0x00, 0x03, b'a', b'/', b'b', // topic filter "a/b"
                0x00, 0x03, b'c', b'/', b'd', // topic filter "c/d"
            ],
            packet: Packet::Unsubscribe(Unsubscribe {
                packet_id: id(10),
                properties: UnsubscribeProperties::default(),
                filters: list(["a/b", "c/d"]),
            }),
        },
        // 5.0 §3.10.2.1: user properties are the only UNSUBSCRIBE property.
        Vector {
            name: "5.0 §3.10.2.1 UNSUBSCRIBE, user properties",
            version: V5,
            bytes: &[
                0xa2, 0x16, // UNSUBSCRIBE; RL 22
                0x00, 0x0a, // packet identifier 10
                0x0e, // property length 14
                0x26, 0x00, 0x01, b'a', 0x00, 0x01, b'1', // user property a=1 (§3.10.2.1.2)
                0x26, 0x00, 0x01, b'a', 0x00, 0x01, b'2', // user property a=2
                0x00, 0x03, b'a', b'/', b'#', // topic filter "a/#"
            ],
            packet: Packet::Unsubscribe(Unsubscribe {
                packet_id: id(10),
                properties: UnsubscribeProperties {
                    user_properties: list([user("a", "1"), user("a", "2")]),
                },
                filters: list(["a/#"]),
            }),
        },
        // 5.0 §3.11.3: one reason code per filter.
        Vector {
            name: "5.0 §3.11.3 UNSUBACK, reason codes",
            version: V5,
            bytes: &[
                0xb0, 0x05, // UNSUBACK, RL 5 (§3.11.1)
                0x00, 0x0a, // packet identifier 10 (§3.11.2)
                0x00, // property length 0 (§3.11.2.1.1)
                0x00, // success
                0x11, // no subscription existed
            ],
            packet: Packet::UnsubAck(UnsubAck {
                packet_id: id(10),
                properties: AckProperties::default(),
                reasons: list([ReasonCode::SUCCESS, ReasonCode::NO_SUBSCRIPTION_EXISTED]),
            }),
        },
        Vector {
            name: "5.0 §3.11.2.1 UNSUBACK, properties",
            version: V5,
            bytes: &[
                0xb0, 0x09, // UNSUBACK, RL 9
                0x00, 0x0a, // packet identifier 10
                0x05, // property length 5
                0x1f, 0x00, 0x02, b'n', b'o', // reason string "no" (§3.11.2.1.2)
                0x87, // not authorized
            ],
            packet: Packet::UnsubAck(UnsubAck {
                packet_id: id(10),
                properties: AckProperties {
                    reason_string: Some("no"),
                    ..AckProperties::default()
                },
                reasons: list([ReasonCode::NOT_AUTHORIZED]),
            }),
        },
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

#[test]
fn every_vector_decodes_to_its_packet_using_every_byte() {
    for v in vectors() {
        let decoded = codec::decode(v.bytes, v.version, u32::MAX);
        assert_eq!(decoded, Ok(Some((v.packet, v.bytes.len()))), "{}", v.name);
    }
}

#[test]
fn every_packet_encodes_to_its_vector() {
    for v in vectors() {
        assert_eq!(
            v.packet.encoded_len(v.version),
            v.bytes.len(),
            "encoded_len of {}",
            v.name
        );
        // Guard bytes after the packet must stay untouched.
        let mut buf = vec![0xa5; v.bytes.len() + 8];
        let written = v
            .packet
            .encode(v.version, &mut buf)
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(written, v.bytes.len(), "bytes written for {}", v.name);
        assert_eq!(&buf[..written], v.bytes, "{}", v.name);
        assert!(
            buf[written..].iter().all(|&b| b == 0xa5),
            "{} wrote past its length",
            v.name
        );
    }
}

#[test]
fn every_packet_refuses_a_buffer_one_byte_short() {
    for v in vectors() {
        let mut buf = vec![0; v.bytes.len() - 1];
        assert_eq!(
            v.packet.encode(v.version, &mut buf),
            Err(mqtt_core::EncodeError::BufferTooSmall {
                needed: v.bytes.len(),
                available: v.bytes.len() - 1,
            }),
            "{}",
            v.name
        );
    }
}

#[test]
fn every_truncation_of_a_vector_asks_for_more_bytes() {
    for v in vectors() {
        for end in 0..v.bytes.len() {
            assert_eq!(
                codec::decode(&v.bytes[..end], v.version, u32::MAX),
                Ok(None),
                "{} cut after {end} of {} bytes",
                v.name,
                v.bytes.len()
            );
        }
    }
}

#[test]
fn back_to_back_packets_decode_one_at_a_time() {
    for version in [V3, V5] {
        let vectors: Vec<Vector> = vectors()
            .into_iter()
            .filter(|v| v.version == version)
            .collect();
        let stream: Vec<u8> = vectors
            .iter()
            .flat_map(|v| v.bytes.iter().copied())
            .collect();
        let mut rest = &stream[..];
        for v in &vectors {
            let (packet, used) = codec::decode(rest, version, u32::MAX).unwrap().unwrap();
            assert_eq!(
                (packet, used),
                (v.packet, v.bytes.len()),
                "{} inside a stream",
                v.name
            );
            rest = &rest[used..];
        }
        assert!(rest.is_empty());
    }
}

#[test]
fn a_packet_exactly_at_the_maximum_size_is_accepted() {
    for v in vectors() {
        let max = u32::try_from(v.bytes.len()).unwrap();
        let decoded = codec::decode(v.bytes, v.version, max).unwrap();
        assert_eq!(
            decoded.map(|(_, used)| used),
            Some(v.bytes.len()),
            "{}",
            v.name
        );
    }
}

#[test]
fn connect_version_reads_the_protocol_level_of_every_connect() {
    for v in vectors()
        .iter()
        .filter(|v| matches!(v.packet, Packet::Connect(_)))
    {
        assert_eq!(
            codec::connect_version(v.bytes),
            Ok(Some(v.version)),
            "{}",
            v.name
        );
        // Fixed header (2 bytes here), protocol name (6) and level (1) are all it needs.
        for end in 0..9 {
            assert_eq!(
                codec::connect_version(&v.bytes[..end]),
                Ok(None),
                "{} cut after {end}",
                v.name
            );
        }
        assert_eq!(
            codec::connect_version(&v.bytes[..9]),
            Ok(Some(v.version)),
            "{}",
            v.name
        );
    }
}

/// The property identifiers a decoded packet carries, read from its typed fields.
fn property_ids(packet: &Packet<'_>) -> Vec<u8> {
    macro_rules! collect {
        ($ids:ident, $props:expr, [$($field:ident = $id:literal),*]) => {{
            let props = &$props;
            $( if props.$field.is_some() { $ids.push($id); } )*
            if !props.user_properties.is_empty() {
                $ids.push(0x26);
            }
        }};
    }
    let mut ids = Vec::new();
    match packet {
        Packet::Connect(c) => {
            collect!(
                ids,
                c.properties,
                [
                    session_expiry_interval = 0x11,
                    receive_maximum = 0x21,
                    maximum_packet_size = 0x27,
                    topic_alias_maximum = 0x22,
                    request_response_information = 0x19,
                    request_problem_information = 0x17,
                    authentication_method = 0x15,
                    authentication_data = 0x16
                ]
            );
            if let Some(will) = &c.will {
                collect!(
                    ids,
                    will.properties,
                    [
                        will_delay_interval = 0x18,
                        payload_format_indicator = 0x01,
                        message_expiry_interval = 0x02,
                        content_type = 0x03,
                        response_topic = 0x08,
                        correlation_data = 0x09
                    ]
                );
            }
        }
        Packet::ConnAck(c) => collect!(
            ids,
            c.properties,
            [
                session_expiry_interval = 0x11,
                receive_maximum = 0x21,
                maximum_qos = 0x24,
                retain_available = 0x25,
                maximum_packet_size = 0x27,
                assigned_client_identifier = 0x12,
                topic_alias_maximum = 0x22,
                reason_string = 0x1f,
                wildcard_subscription_available = 0x28,
                subscription_identifiers_available = 0x29,
                shared_subscription_available = 0x2a,
                server_keep_alive = 0x13,
                response_information = 0x1a,
                server_reference = 0x1c,
                authentication_method = 0x15,
                authentication_data = 0x16
            ]
        ),
        Packet::Publish(p) => {
            collect!(
                ids,
                p.properties,
                [
                    payload_format_indicator = 0x01,
                    message_expiry_interval = 0x02,
                    topic_alias = 0x23,
                    response_topic = 0x08,
                    correlation_data = 0x09,
                    content_type = 0x03
                ]
            );
            if !p.properties.subscription_identifiers.is_empty() {
                ids.push(0x0b);
            }
        }
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
            collect!(ids, a.properties, [reason_string = 0x1f]);
        }
        Packet::Subscribe(s) => collect!(ids, s.properties, [subscription_identifier = 0x0b]),
        Packet::SubAck(s) => collect!(ids, s.properties, [reason_string = 0x1f]),
        Packet::Unsubscribe(u) => collect!(ids, u.properties, []),
        Packet::UnsubAck(u) => collect!(ids, u.properties, [reason_string = 0x1f]),
        Packet::Disconnect(d) => collect!(
            ids,
            d.properties,
            [
                session_expiry_interval = 0x11,
                reason_string = 0x1f,
                server_reference = 0x1c
            ]
        ),
        Packet::Auth(a) => collect!(
            ids,
            a.properties,
            [
                authentication_method = 0x15,
                authentication_data = 0x16,
                reason_string = 0x1f
            ]
        ),
        Packet::PingReq | Packet::PingResp => {}
    }
    ids
}

#[test]
fn the_vectors_cover_every_property_identifier() {
    // MQTT 5.0 §2.2.2.2 Table 2-4.
    const ALL: [u8; 27] = [
        0x01, 0x02, 0x03, 0x08, 0x09, 0x0b, 0x11, 0x12, 0x13, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a,
        0x1c, 0x1f, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a,
    ];
    let covered: BTreeSet<u8> = vectors()
        .iter()
        .filter(|v| v.version == V5)
        .flat_map(|v| property_ids(&v.packet))
        .collect();
    let missing: Vec<String> = ALL
        .iter()
        .filter(|id| !covered.contains(id))
        .map(|id| format!("{id:#04x}"))
        .collect();
    assert!(missing.is_empty(), "no vector carries property {missing:?}");
}

#[test]
fn the_vectors_cover_every_packet_type_in_both_versions() {
    for version in [V3, V5] {
        let types: BTreeSet<u8> = vectors()
            .iter()
            .filter(|v| v.version == version)
            .map(|v| v.packet.packet_type() as u8)
            .collect();
        let expected: BTreeSet<u8> = if version == V5 {
            (1..=15).collect()
        } else {
            (1..=14).collect()
        };
        assert_eq!(types, expected, "{version}");
    }
    // QoS 0, 1 and 2 PUBLISH in both versions.
    for version in [V3, V5] {
        let qos: BTreeSet<u8> = vectors()
            .iter()
            .filter(|v| v.version == version)
            .filter_map(|v| match v.packet {
                Packet::Publish(p) => Some(u8::from(p.qos)),
                _ => None,
            })
            .collect();
        assert_eq!(qos, BTreeSet::from([0, 1, 2]), "{version}");
    }
}

#[test]
fn the_vectors_have_unique_names() {
    let names: Vec<&str> = vectors().iter().map(|v| v.name).collect();
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(names.len(), unique.len());
}

/// Forms that the specification allows but that the encoder, which always writes the shortest
/// form, does not produce. They decode to the same packet as their canonical vector.
#[test]
fn longer_equivalent_forms_decode_to_the_same_packet() {
    let cases: &[(&str, ProtocolVersion, &[u8], Packet<'static>)] = &[
        (
            // 5.0 §3.4.2.1: success written out with an empty property block.
            "5.0 PUBACK, success and property length 0",
            V5,
            &[0x40, 0x04, 0x00, 0x0a, 0x00, 0x00],
            Packet::PubAck(Ack::new(id(10))),
        ),
        (
            // 5.0 §3.14.2.1: normal disconnection written out.
            "5.0 DISCONNECT, reason 0x00 and property length 0",
            V5,
            &[0xe0, 0x02, 0x00, 0x00],
            Packet::Disconnect(Disconnect::default()),
        ),
        (
            // 5.0 §3.15.2.1: success written out.
            "5.0 AUTH, reason 0x00 and property length 0",
            V5,
            &[0xf0, 0x02, 0x00, 0x00],
            Packet::Auth(Auth::default()),
        ),
        (
            // A reason code without a property length (the DISCONNECT short form, §3.14.2.2.1) is not
            // an AUTH form §3.15.2.1 describes, but it is read the same way.
            "5.0 AUTH, reason code only",
            V5,
            &[0xf0, 0x01, 0x18],
            Packet::Auth(Auth {
                reason: ReasonCode::CONTINUE_AUTHENTICATION,
                properties: AuthProperties::default(),
            }),
        ),
        (
            // A 3.1.1-only server answers a level-5 CONNECT with the 3.1.1 CONNACK 0x01
            // "unacceptable protocol level" (3.1.1 §3.1.2.2, [MQTT-3.1.2-2]), which has no
            // property length; it reads as if the property length were 0.
            "5.0 CONNACK without a property length",
            V5,
            &[0x20, 0x02, 0x00, 0x01],
            Packet::ConnAck(ConnAck {
                reason: ReasonCode(1),
                ..ConnAck::default()
            }),
        ),
    ];
    for (name, version, bytes, packet) in cases {
        assert_eq!(
            codec::decode(bytes, *version, u32::MAX),
            Ok(Some((*packet, bytes.len()))),
            "{name}"
        );
    }
}
