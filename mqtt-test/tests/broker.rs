//! The fake broker driven by hand, packet by packet: the broker-side rules that a well-behaved session never
//! triggers (exactly-once on resends, limit enforcement, protocol violations).

use std::num::{NonZeroU16, NonZeroU32};

use mqtt_core::codec::{
    self, Ack, ConnAck, Connect, ConnectProperties, Packet, PacketId, PacketType, ProtocolVersion,
    Publish, PublishProperties, QoS, ReasonCode, Subscribe, Subscription,
};
use mqtt_test::{BrokerConfig, Direction, FakeBroker};

const V5: ProtocolVersion = ProtocolVersion::V5;
const V311: ProtocolVersion = ProtocolVersion::V311;

fn bytes(packet: Packet<'_>, version: ProtocolVersion) -> Vec<u8> {
    let mut buf = vec![0; packet.encoded_len(version)];
    packet.encode(version, &mut buf).unwrap();
    buf
}

/// Every packet the broker sent since the last call, described by `Debug`.
fn answers(broker: &mut FakeBroker, version: ProtocolVersion) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(bytes) = broker.poll_transmit() {
        let mut rest = &bytes[..];
        while let Some((packet, used)) = codec::decode(rest, version, u32::MAX).unwrap() {
            out.push(format!("{packet:?}"));
            rest = &rest[used..];
        }
        assert!(rest.is_empty());
    }
    out
}

fn id(n: u16) -> Option<PacketId> {
    PacketId::new(n)
}

fn connect(
    broker: &mut FakeBroker,
    version: ProtocolVersion,
    clean_start: bool,
    expiry: u32,
) -> ConnAck<'static> {
    broker.handle_connection_opened();
    let properties = ConnectProperties {
        session_expiry_interval: (version == V5 && expiry > 0).then_some(expiry),
        ..ConnectProperties::default()
    };
    broker.handle_bytes(&bytes(
        Packet::Connect(Connect {
            client_id: "hand",
            clean_start,
            keep_alive: 30,
            properties,
            ..Connect::default()
        }),
        version,
    ));
    let out = broker.poll_transmit().expect("CONNACK");
    match codec::decode(&out, version, u32::MAX).unwrap().unwrap().0 {
        Packet::ConnAck(ack) => ConnAck {
            properties: Default::default(),
            ..ack
        },
        other => panic!("{other:?}"),
    }
}

fn publish(topic: &str, qos: QoS, packet_id: u16, dup: bool) -> Packet<'_> {
    Packet::Publish(Publish {
        dup,
        qos,
        topic,
        packet_id: id(packet_id),
        payload: b"m",
        ..Publish::default()
    })
}

#[test]
fn a_qos2_message_resent_before_pubrel_is_accepted_once_even_across_connections() {
    for version in [V311, V5] {
        let mut broker = FakeBroker::default();
        connect(&mut broker, version, false, 60);
        broker.handle_bytes(&bytes(publish("q2", QoS::ExactlyOnce, 7, false), version));
        broker.handle_bytes(&bytes(publish("q2", QoS::ExactlyOnce, 7, true), version));
        assert_eq!(broker.received().len(), 1, "{version}");
        assert_eq!(
            broker.count(Direction::BrokerToClient, PacketType::PubRec),
            2
        );
        // The connection breaks before PUBREL; the client resends once more on a new connection.
        broker.handle_connection_closed();
        assert!(
            connect(&mut broker, version, false, 60).session_present,
            "{version}"
        );
        answers(&mut broker, version);
        broker.handle_bytes(&bytes(publish("q2", QoS::ExactlyOnce, 7, true), version));
        broker.handle_bytes(&bytes(Packet::PubRel(Ack::new(id(7).unwrap())), version));
        assert_eq!(
            answers(&mut broker, version),
            [
                format!("{:?}", Packet::PubRec(Ack::new(id(7).unwrap()))),
                format!("{:?}", Packet::PubComp(Ack::new(id(7).unwrap()))),
            ]
        );
        assert_eq!(broker.received().len(), 1, "{version}: exactly once");
        // After PUBCOMP the identifier is free: the same id is a new message.
        broker.handle_bytes(&bytes(publish("q2", QoS::ExactlyOnce, 7, false), version));
        assert_eq!(broker.received().len(), 2);
        assert!(broker.violations().is_empty(), "{:?}", broker.violations());
    }
}

#[test]
fn a_new_qos2_message_reusing_an_identifier_awaiting_pubrel_is_a_violation() {
    let mut broker = FakeBroker::default();
    connect(&mut broker, V5, true, 0);
    broker.handle_bytes(&bytes(publish("a", QoS::ExactlyOnce, 3, false), V5));
    broker.handle_bytes(&bytes(publish("b", QoS::ExactlyOnce, 3, false), V5));
    assert_eq!(broker.received().len(), 1);
    assert_eq!(broker.violations().len(), 1, "{:?}", broker.violations());
}

#[test]
fn receive_maximum_is_announced_and_enforced() {
    let mut broker = FakeBroker::new(BrokerConfig {
        receive_maximum: Some(2),
        hold_acks: true,
        ..BrokerConfig::default()
    });
    broker.handle_connection_opened();
    broker.handle_bytes(&bytes(
        Packet::Connect(Connect {
            client_id: "rm",
            clean_start: true,
            ..Connect::default()
        }),
        V5,
    ));
    let connack = broker.poll_transmit().unwrap();
    let Packet::ConnAck(ack) = codec::decode(&connack, V5, u32::MAX).unwrap().unwrap().0 else {
        panic!()
    };
    assert_eq!(ack.properties.receive_maximum, NonZeroU16::new(2));
    broker.handle_bytes(&bytes(publish("t", QoS::AtLeastOnce, 1, false), V5));
    broker.handle_bytes(&bytes(publish("t", QoS::ExactlyOnce, 2, false), V5));
    // A resend of an identifier in flight does not count again.
    broker.handle_bytes(&bytes(publish("t", QoS::AtLeastOnce, 1, true), V5));
    assert!(broker.is_connected());
    assert_eq!(
        answers(&mut broker, V5),
        Vec::<String>::new(),
        "acknowledgements are held"
    );
    broker.handle_bytes(&bytes(publish("t", QoS::AtLeastOnce, 3, false), V5));
    assert!(!broker.is_connected());
    assert!(broker.poll_close());
    let disconnect = broker.packets(Direction::BrokerToClient, PacketType::Disconnect);
    assert_eq!(
        disconnect[0].reason,
        Some(ReasonCode::RECEIVE_MAXIMUM_EXCEEDED)
    );
    assert_eq!(
        broker.received().len(),
        3,
        "QoS 1 resends count as deliveries; the third id was refused"
    );
}

#[test]
fn a_packet_above_the_maximum_packet_size_ends_the_connection() {
    for (version, disconnects) in [(V5, 1), (V311, 0)] {
        let mut broker = FakeBroker::new(BrokerConfig {
            maximum_packet_size: Some(64),
            ..BrokerConfig::default()
        });
        connect(&mut broker, version, true, 0);
        let big = [0u8; 100];
        broker.handle_bytes(&bytes(
            Packet::Publish(Publish {
                topic: "big",
                payload: &big,
                ..Publish::default()
            }),
            version,
        ));
        assert!(!broker.is_connected());
        assert!(broker.poll_close());
        let sent = broker.packets(Direction::BrokerToClient, PacketType::Disconnect);
        assert_eq!(sent.len(), disconnects, "{version}");
        if version == V5 {
            assert_eq!(sent[0].reason, Some(ReasonCode::PACKET_TOO_LARGE));
        }
        assert!(broker.received().is_empty());
    }
}

#[test]
fn topic_aliases_from_the_client_are_resolved_and_checked() {
    let mut broker = FakeBroker::new(BrokerConfig {
        topic_alias_maximum: Some(2),
        ..BrokerConfig::default()
    });
    connect(&mut broker, V5, true, 0);
    let aliased = |topic, alias| {
        Packet::Publish(Publish {
            topic,
            properties: PublishProperties {
                topic_alias: NonZeroU16::new(alias),
                ..PublishProperties::default()
            },
            payload: b"p",
            ..Publish::default()
        })
    };
    broker.handle_bytes(&bytes(aliased("long/topic/name", 2), V5));
    broker.handle_bytes(&bytes(aliased("", 2), V5));
    let topics: Vec<(&str, Option<u16>)> = broker
        .received()
        .iter()
        .map(|m| (m.topic.as_str(), m.topic_alias))
        .collect();
    assert_eq!(
        topics,
        [("long/topic/name", Some(2)), ("long/topic/name", Some(2))]
    );
    broker.handle_bytes(&bytes(aliased("x", 3), V5));
    assert!(!broker.is_connected());
    let sent = broker.packets(Direction::BrokerToClient, PacketType::Disconnect);
    assert_eq!(sent[0].reason, Some(ReasonCode::TOPIC_ALIAS_INVALID));
}

#[test]
fn the_broker_sends_its_own_flows_and_resends_them_with_dup_on_a_resumed_session() {
    let mut broker = FakeBroker::default();
    connect(&mut broker, V311, false, 0);
    broker.handle_bytes(&bytes(
        Packet::Subscribe(Subscribe {
            packet_id: id(1).unwrap(),
            properties: Default::default(),
            filters: codec::List::new(&[Subscription::new("own/#", QoS::ExactlyOnce)]),
        }),
        V311,
    ));
    answers(&mut broker, V311);
    assert!(broker.inject("own/1", b"a", QoS::AtLeastOnce, false));
    assert!(broker.inject("own/2", b"b", QoS::ExactlyOnce, false));
    assert!(!broker.inject("other", b"c", QoS::ExactlyOnce, false));
    assert_eq!(answers(&mut broker, V311).len(), 2);
    // The client takes the QoS 2 message to PUBREC, then the connection breaks.
    broker.handle_bytes(&bytes(Packet::PubRec(Ack::new(id(2).unwrap())), V311));
    assert_eq!(
        answers(&mut broker, V311),
        [format!("{:?}", Packet::PubRel(Ack::new(id(2).unwrap())))]
    );
    broker.handle_connection_closed();
    // Offline: QoS 1 is queued for the persistent session, QoS 0 is not.
    assert!(broker.inject("own/3", b"d", QoS::AtLeastOnce, false));
    assert!(broker.inject("own/4", b"e", QoS::AtMostOnce, false));
    assert_eq!(broker.pending_to_client(), 3);
    assert!(connect(&mut broker, V311, false, 0).session_present);
    let resent: Vec<(String, Option<u16>, bool)> = broker.delivered()[2..]
        .iter()
        .map(|m| (m.topic.clone(), m.packet_id, m.dup))
        .collect();
    assert_eq!(
        resent,
        [
            ("own/1".to_owned(), Some(1), true),
            ("own/3".to_owned(), Some(3), false)
        ],
        "unacknowledged QoS 1 again with DUP, then the queued message"
    );
    let rel = broker.packets(Direction::BrokerToClient, PacketType::PubRel);
    assert_eq!(rel.len(), 2, "PUBREL again for the message past PUBREC");
    broker.handle_bytes(&bytes(Packet::PubAck(Ack::new(id(1).unwrap())), V311));
    broker.handle_bytes(&bytes(Packet::PubComp(Ack::new(id(2).unwrap())), V311));
    broker.handle_bytes(&bytes(Packet::PubAck(Ack::new(id(3).unwrap())), V311));
    assert_eq!(broker.pending_to_client(), 0);
    assert!(broker.violations().is_empty(), "{:?}", broker.violations());
}

#[test]
fn a_lost_or_forgotten_session_is_not_present() {
    let mut broker = FakeBroker::default();
    assert!(!connect(&mut broker, V5, false, 0).session_present);
    broker.handle_connection_closed();
    // 5.0 with Session Expiry Interval 0: the session ends with the connection.
    assert!(!connect(&mut broker, V5, false, 60).session_present);
    broker.handle_connection_closed();
    assert!(connect(&mut broker, V5, false, 60).session_present);
    broker.forget_session();
    broker.handle_connection_closed();
    assert!(!connect(&mut broker, V5, false, 60).session_present);
    broker.handle_connection_closed();
    assert!(
        !connect(&mut broker, V5, true, 60).session_present,
        "Clean Start discards it"
    );
}

#[test]
fn connack_carries_the_configured_properties_and_an_assigned_identifier() {
    let mut broker = FakeBroker::new(BrokerConfig {
        receive_maximum: Some(5),
        maximum_packet_size: Some(1000),
        topic_alias_maximum: Some(4),
        server_keep_alive: Some(7),
        maximum_qos: QoS::AtLeastOnce,
        retain_available: false,
        ..BrokerConfig::default()
    });
    broker.handle_connection_opened();
    broker.handle_bytes(&bytes(
        Packet::Connect(Connect {
            clean_start: true,
            ..Connect::default()
        }),
        V5,
    ));
    let out = broker.poll_transmit().unwrap();
    let Packet::ConnAck(ack) = codec::decode(&out, V5, u32::MAX).unwrap().unwrap().0 else {
        panic!()
    };
    let p = ack.properties;
    assert_eq!(p.receive_maximum, NonZeroU16::new(5));
    assert_eq!(p.maximum_packet_size, NonZeroU32::new(1000));
    assert_eq!(p.topic_alias_maximum, Some(4));
    assert_eq!(p.server_keep_alive, Some(7));
    assert_eq!(p.maximum_qos, Some(QoS::AtLeastOnce));
    assert_eq!(p.retain_available, Some(false));
    assert_eq!(p.assigned_client_identifier, Some("fake-client-1"));
    assert_eq!(broker.connections()[0].effective_client_id, "fake-client-1");
}

#[test]
fn refusals_use_the_code_of_the_protocol_version() {
    let mut broker = FakeBroker::default();
    broker.refuse_connect(Some(ReasonCode(5)));
    let ack = connect(&mut broker, V311, true, 0);
    assert_eq!(ack.reason, ReasonCode(5));
    assert!(broker.poll_close());
    assert!(!broker.is_connected());
    broker.refuse_connect(None);
    // 3.1.1: an empty identifier with Clean Session 0 is refused with "identifier rejected".
    broker.handle_connection_opened();
    broker.handle_bytes(&bytes(Packet::Connect(Connect::default()), V311));
    let out = broker.poll_transmit().unwrap();
    let Packet::ConnAck(ack) = codec::decode(&out, V311, u32::MAX).unwrap().unwrap().0 else {
        panic!()
    };
    assert_eq!(ack.reason, ReasonCode(2));
}

#[test]
fn packets_before_connect_and_a_second_connect_are_violations() {
    let mut broker = FakeBroker::default();
    broker.handle_connection_opened();
    broker.handle_bytes(&bytes(Packet::PingReq, V5));
    assert!(broker.poll_close());
    assert_eq!(broker.violations().len(), 1);
    connect(&mut broker, V5, true, 0);
    broker.handle_bytes(&bytes(
        Packet::Connect(Connect {
            client_id: "again",
            ..Connect::default()
        }),
        V5,
    ));
    assert!(!broker.is_connected());
    assert_eq!(broker.violations().len(), 2);
    let sent = broker.packets(Direction::BrokerToClient, PacketType::Disconnect);
    assert_eq!(sent[0].reason, Some(ReasonCode::PROTOCOL_ERROR));
}

#[test]
fn acknowledgements_out_of_the_order_of_the_publish_packets_are_violations() {
    // [MQTT-4.6.0-2] PUBACK and [MQTT-4.6.0-3] PUBREC in the order the PUBLISH packets were received.
    for (qos, ack) in [
        (
            QoS::AtLeastOnce,
            Packet::PubAck as fn(Ack<'static>) -> Packet<'static>,
        ),
        (QoS::ExactlyOnce, Packet::PubRec),
    ] {
        let mut broker = FakeBroker::default();
        connect(&mut broker, V5, true, 0);
        broker.handle_bytes(&bytes(
            Packet::Subscribe(Subscribe {
                packet_id: id(1).unwrap(),
                properties: Default::default(),
                filters: codec::List::new(&[Subscription::new("o/#", QoS::ExactlyOnce)]),
            }),
            V5,
        ));
        for topic in ["o/1", "o/2", "o/3"] {
            assert!(broker.inject(topic, b"m", qos, false));
        }
        answers(&mut broker, V5);
        broker.handle_bytes(&bytes(ack(Ack::new(id(1).unwrap())), V5));
        assert!(broker.violations().is_empty(), "{:?}", broker.violations());
        broker.handle_bytes(&bytes(ack(Ack::new(id(3).unwrap())), V5));
        assert_eq!(
            broker.violations().len(),
            1,
            "{qos:?}: {:?}",
            broker.violations()
        );
        assert!(broker.violations()[0].contains("MQTT-4.6.0-"));
        // A QoS 2 message past PUBREC may be PUBRECed again (a resend) without breaking the order.
        if qos == QoS::ExactlyOnce {
            broker.handle_bytes(&bytes(ack(Ack::new(id(1).unwrap())), V5));
            assert_eq!(broker.violations().len(), 1, "{:?}", broker.violations());
        }
    }
}
