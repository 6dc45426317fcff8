//! The knobs that act on delivery: held acknowledgements and cuts in the middle of QoS flows, the broker's Receive
//! Maximum, topic aliases both ways, an acknowledgement for an unknown packet identifier, retained messages,
//! refused and downgraded subscriptions, messages queued before the connection, and unsubscribing.

use mqtt_core::codec::{PacketType, ProtocolVersion, QoS, ReasonCode, Subscription};
use mqtt_core::session::Disconnection;
use mqtt_core::{Config, PublishError, Ticket};
use mqtt_test::{BrokerConfig, Direction, RecordedEvent, Sim, SimConfig};

use super::{VERSIONS, assert_no_violations, config, count, persistent, secs, start};

#[test]
fn unacknowledged_qos1_messages_are_resent_with_dup_after_a_cut() {
    for version in VERSIONS {
        let mut sim = start(&persistent(version), SimConfig::default());
        sim.broker_mut().hold_acks();
        let tickets: Vec<Ticket> = (0..3u8)
            .map(|i| sim.publish("held", &[i], QoS::AtLeastOnce).unwrap())
            .collect();
        sim.run_until_idle();
        assert_eq!(sim.session().inflight(), 3);
        assert_eq!(sim.broker().held_acks(), 3);
        sim.broker_mut().config_mut().hold_acks = false;
        sim.cut_link();
        let published = |s: &Sim| {
            s.events()
                .iter()
                .filter(|e| matches!(e, RecordedEvent::Published { .. }))
                .count()
        };
        assert!(sim.run_until(|s| published(s) == 3, secs(5)), "{version}");
        sim.run_until_idle();
        let received: Vec<(u8, bool)> = sim
            .broker()
            .received()
            .iter()
            .map(|m| (m.payload[0], m.dup))
            .collect();
        assert_eq!(
            received,
            [
                (0, false),
                (1, false),
                (2, false),
                (0, true),
                (1, true),
                (2, true)
            ],
            "{version}"
        );
        let first: Vec<_> = sim.broker().received()[..3]
            .iter()
            .map(|m| m.packet_id)
            .collect();
        let again: Vec<_> = sim.broker().received()[3..]
            .iter()
            .map(|m| m.packet_id)
            .collect();
        assert_eq!(
            first, again,
            "{version}: resent with the same packet identifiers"
        );
        for ticket in tickets {
            assert_eq!(
                count(&sim, &RecordedEvent::Published { ticket }),
                1,
                "{version}"
            );
        }
        assert_no_violations(&sim);
    }
}

#[test]
fn qos2_survives_a_cut_between_pubrec_and_pubrel() {
    for version in VERSIONS {
        let mut sim = start(&persistent(version), SimConfig::default());
        let ticket = sim.publish("exactly/once", b"x", QoS::ExactlyOnce).unwrap();
        // The PUBREC reaches the session; the PUBREL it answers with is lost with the connection.
        assert!(sim.run_until(|s| !s.broker().received().is_empty(), secs(1)));
        sim.link_mut().cut_after(Direction::ClientToBroker, 0);
        assert!(
            sim.run_until(|s| !s.session().is_connected(), secs(1)),
            "{version}"
        );
        assert!(sim.run_until(
            |s| count(s, &RecordedEvent::Published { ticket }) > 0,
            secs(5)
        ));
        sim.run_until_idle();
        assert_eq!(sim.broker().received().len(), 1, "{version}: exactly once");
        assert_eq!(
            count(&sim, &RecordedEvent::Published { ticket }),
            1,
            "{version}"
        );
        assert_eq!(
            sim.broker()
                .count(Direction::ClientToBroker, PacketType::PubRel),
            1
        );
        assert_eq!(
            sim.broker()
                .count(Direction::BrokerToClient, PacketType::PubComp),
            1
        );
        assert_no_violations(&sim);
    }
}

#[test]
fn qos2_survives_a_cut_before_pubrec_arrives() {
    for version in VERSIONS {
        let mut sim = start(&persistent(version), SimConfig::default());
        // The broker accepts the message, but its PUBREC is lost: the session resends with DUP.
        sim.link_mut().cut_after(Direction::BrokerToClient, 0);
        let ticket = sim.publish("exactly/once", b"x", QoS::ExactlyOnce).unwrap();
        assert!(
            sim.run_until(|s| !s.session().is_connected(), secs(1)),
            "{version}"
        );
        assert_eq!(sim.broker().received().len(), 1);
        assert!(sim.run_until(
            |s| count(s, &RecordedEvent::Published { ticket }) > 0,
            secs(5)
        ));
        sim.run_until_idle();
        assert_eq!(sim.broker().received().len(), 1, "{version}: exactly once");
        let publishes = sim
            .broker()
            .packets(Direction::ClientToBroker, PacketType::Publish);
        assert_eq!(publishes.len(), 2, "{version}");
        assert!(publishes[1].dup && publishes[1].packet_id == publishes[0].packet_id);
        assert_eq!(
            count(&sim, &RecordedEvent::Published { ticket }),
            1,
            "{version}"
        );
        assert_no_violations(&sim);
    }
}

#[test]
fn the_inflight_window_respects_the_brokers_receive_maximum() {
    let broker = BrokerConfig {
        receive_maximum: Some(2),
        ..BrokerConfig::default()
    };
    let mut sim = start(
        &config(ProtocolVersion::V5),
        SimConfig {
            broker,
            ..SimConfig::default()
        },
    );
    sim.broker_mut().hold_acks();
    for i in 0..5u8 {
        sim.publish("window", &[i], QoS::AtLeastOnce).unwrap();
    }
    sim.run_until_idle();
    assert_eq!(sim.session().inflight(), 2);
    assert_eq!(sim.broker().received().len(), 2);
    sim.broker_mut().release_acks();
    sim.run_until_idle();
    let payloads: Vec<u8> = sim
        .broker()
        .received()
        .iter()
        .map(|m| m.payload[0])
        .collect();
    assert_eq!(payloads, [0, 1, 2, 3, 4]);
    assert_eq!(sim.session().inflight(), 0);
    assert!(sim.broker().is_connected());
    assert_no_violations(&sim);
}

#[test]
fn topic_aliases_from_the_broker_are_resolved() {
    let config = Config {
        topic_alias_maximum: 4,
        ..config(ProtocolVersion::V5)
    };
    let mut sim = start(&config, SimConfig::default());
    sim.broker_mut().set_topic_aliases_to_client(true);
    sim.subscribe("alias/#", QoS::AtMostOnce).unwrap();
    sim.run_until_idle();
    for (topic, payload) in [
        ("alias/long/topic", b"1"),
        ("alias/long/topic", b"2"),
        ("alias/other", b"3"),
    ] {
        sim.broker_mut()
            .inject(topic, payload, QoS::AtMostOnce, false);
    }
    sim.run_until_idle();
    let sent: Vec<Option<u16>> = sim
        .broker()
        .delivered()
        .iter()
        .map(|m| m.topic_alias)
        .collect();
    assert_eq!(sent, [Some(1), Some(1), Some(2)]);
    assert!(
        sim.trace().contains("PUBLISH q0 '' alias 1"),
        "the second message went with an empty topic"
    );
    let received: Vec<(&str, &[u8])> = sim
        .messages()
        .iter()
        .map(|m| (m.topic.as_str(), m.payload.as_slice()))
        .collect();
    assert_eq!(
        received,
        [
            ("alias/long/topic", &b"1"[..]),
            ("alias/long/topic", &b"2"[..]),
            ("alias/other", &b"3"[..])
        ]
    );
}

#[test]
fn an_acknowledgement_for_an_unknown_packet_id_is_a_protocol_error() {
    for version in VERSIONS {
        let mut sim = start(&config(version), SimConfig::default());
        sim.take_events();
        // PUBACK for packet identifier 99, which the session never used.
        sim.broker_mut().send_raw(&[0x40, 0x02, 0x00, 0x63]);
        assert!(
            sim.run_until(|s| !s.session().is_connected(), secs(1)),
            "{version}"
        );
        assert!(
            matches!(
                sim.events()[0],
                RecordedEvent::ConnectionLost {
                    reason: Disconnection::Protocol(_)
                }
            ),
            "{version}: {:?}",
            sim.events()
        );
        assert!(sim.session().error().is_some());
        sim.run_until_idle();
        let disconnects = sim
            .broker()
            .packets(Direction::ClientToBroker, PacketType::Disconnect);
        match version {
            ProtocolVersion::V5 => {
                assert_eq!(disconnects.len(), 1, "a 5.0 session says why");
                assert!(disconnects[0].reason.is_some_and(|r| r.is_failure()));
            }
            _ => assert!(disconnects.is_empty()),
        }
        assert!(
            sim.run_until(|s| s.session().is_connected(), secs(5)),
            "{version}: and reconnects"
        );
    }
}

#[test]
fn retained_messages_are_delivered_on_subscribe() {
    for version in VERSIONS {
        let mut sim = start(&config(version), SimConfig::default());
        sim.broker_mut()
            .inject("status/door", b"open", QoS::AtLeastOnce, true);
        sim.subscribe("status/+", QoS::AtLeastOnce).unwrap();
        sim.run_until_idle();
        let messages = sim.messages();
        assert_eq!(messages.len(), 1, "{version}");
        assert!(
            messages[0].retain && messages[0].payload == b"open",
            "{version}"
        );
        // A live message on the same topic is not marked retained.
        sim.broker_mut()
            .inject("status/door", b"closed", QoS::AtLeastOnce, true);
        sim.run_until_idle();
        assert!(!sim.messages()[1].retain, "{version}");
    }
}

#[test]
fn subscriptions_are_refused_or_downgraded_as_configured() {
    let broker = BrokerConfig {
        maximum_qos: QoS::AtLeastOnce,
        ..BrokerConfig::default()
    };
    for version in VERSIONS {
        let mut sim = start(
            &config(version),
            SimConfig {
                broker: broker.clone(),
                ..SimConfig::default()
            },
        );
        sim.broker_mut().refuse_filter("secret/#");
        let ticket = sim
            .subscribe_many(&[
                Subscription::new("open/#", QoS::ExactlyOnce),
                Subscription::new("secret/#", QoS::AtMostOnce),
            ])
            .unwrap();
        sim.run_until_idle();
        let refused = match version {
            ProtocolVersion::V5 => ReasonCode::NOT_AUTHORIZED,
            _ => ReasonCode::UNSPECIFIED_ERROR,
        };
        assert!(
            sim.events().contains(&RecordedEvent::Subscribed {
                ticket,
                reasons: vec![ReasonCode::GRANTED_QOS_1, refused]
            }),
            "{version}: {:?}",
            sim.events()
        );
        if version == ProtocolVersion::V5 {
            // The 5.0 session learnt the Maximum QoS from CONNACK.
            assert_eq!(
                sim.publish("open/x", b"q2", QoS::ExactlyOnce),
                Err(PublishError::QoSNotSupported { max: 1 })
            );
        }
        sim.broker_mut()
            .inject("open/x", b"down", QoS::ExactlyOnce, false);
        sim.run_until_idle();
        assert_eq!(
            sim.messages().last().map(|m| m.qos),
            Some(QoS::AtLeastOnce),
            "{version}"
        );
    }
}

#[test]
fn outgoing_topic_aliases_are_used_and_reset_on_reconnect() {
    let config = Config {
        outgoing_topic_aliases: 4,
        ..persistent(ProtocolVersion::V5)
    };
    let broker = BrokerConfig {
        topic_alias_maximum: Some(4),
        ..BrokerConfig::default()
    };
    let mut sim = start(
        &config,
        SimConfig {
            broker,
            ..SimConfig::default()
        },
    );
    sim.broker_mut().hold_acks();
    for i in 0..3u8 {
        sim.publish("aliased/topic", &[i], QoS::AtLeastOnce)
            .unwrap();
    }
    sim.run_until_idle();
    let aliases: Vec<Option<u16>> = sim
        .broker()
        .received()
        .iter()
        .map(|m| m.topic_alias)
        .collect();
    assert_eq!(aliases, [Some(1), Some(1), Some(1)]);
    assert!(
        sim.trace().contains("PUBLISH q1 id 2 '' alias 1"),
        "later messages use the alias alone"
    );
    // Aliases do not survive the connection: the resends must define the alias again.
    sim.broker_mut().config_mut().hold_acks = false;
    sim.cut_link();
    let published = |s: &Sim| {
        s.events()
            .iter()
            .filter(|e| matches!(e, RecordedEvent::Published { .. }))
            .count()
    };
    assert!(sim.run_until(|s| published(s) == 3, secs(5)));
    let topics: Vec<&str> = sim
        .broker()
        .received()
        .iter()
        .map(|m| m.topic.as_str())
        .collect();
    assert_eq!(topics, ["aliased/topic"; 6]);
    assert_no_violations(&sim);
}

#[test]
fn messages_published_before_connecting_go_out_once_connected() {
    for version in VERSIONS {
        let mut sim = Sim::new(&config(version), SimConfig::default()).unwrap();
        let tickets: Vec<Ticket> = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
            .into_iter()
            .map(|q| sim.publish("early", &[q as u8], q).unwrap())
            .collect();
        sim.connect();
        assert!(
            sim.run_until(|s| s.broker().received().len() == 3, secs(5)),
            "{version}"
        );
        sim.run_until_idle();
        for ticket in &tickets[1..] {
            assert_eq!(
                count(&sim, &RecordedEvent::Published { ticket: *ticket }),
                1
            );
        }
    }
}

#[test]
fn after_unsubscribing_nothing_more_arrives() {
    for version in VERSIONS {
        let mut sim = start(&config(version), SimConfig::default());
        sim.subscribe("u/#", QoS::AtLeastOnce).unwrap();
        sim.run_until_idle();
        let ticket = sim.unsubscribe(&["u/#"]).unwrap();
        sim.run_until_idle();
        let reasons = match version {
            ProtocolVersion::V5 => vec![ReasonCode::SUCCESS],
            _ => vec![],
        };
        assert!(
            sim.events()
                .contains(&RecordedEvent::Unsubscribed { ticket, reasons }),
            "{version}: {:?}",
            sim.events()
        );
        assert!(sim.broker().subscriptions().is_empty());
        assert!(
            !sim.broker_mut()
                .inject("u/x", b"late", QoS::AtLeastOnce, false)
        );
        sim.publish("u/y", b"own", QoS::AtLeastOnce).unwrap();
        sim.run_until_idle();
        assert!(sim.messages().is_empty(), "{version}");
    }
}
