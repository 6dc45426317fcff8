//! MQTT 5.0 vectors of SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK.

use mqtt_core::codec::{
    AckProperties, Packet, QoS, ReasonCode, RetainHandling, SubAck, Subscribe, SubscribeProperties,
    Subscription, UnsubAck, Unsubscribe, UnsubscribeProperties,
};

use super::{V5, Vector, id, list, options, sub_id, user};

pub(super) fn vectors() -> Vec<Vector> {
    vec![
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
    ]
}
