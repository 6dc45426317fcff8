//! MQTT 3.1.1 vectors: every control packet, CONNECT to DISCONNECT, in the order of section 3.

use mqtt_core::codec::{
    Ack, AckProperties, ConnAck, Connect, ConnectProperties, Disconnect, List, Packet, Publish,
    QoS, ReasonCode, SubAck, Subscribe, SubscribeProperties, Subscription, UnsubAck, Unsubscribe,
    UnsubscribeProperties, Will, WillProperties,
};

use super::{V3, Vector, id, list};

pub(super) fn vectors() -> Vec<Vector> {
    vec![
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
    ]
}
