//! MQTT 5.0 vectors of PUBLISH and its acknowledgements: PUBACK, PUBREC, PUBREL, PUBCOMP.

use mqtt_core::codec::{Ack, AckProperties, Packet, Publish, PublishProperties, QoS};

use super::{V5, Vector, ack, id, list, nz16, sub_id, user};

pub(super) fn vectors() -> Vec<Vector> {
    vec![
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
    ]
}
