//! Session behaviour in deterministic simulation: a real `Session` against `mqtt_test::FakeBroker` over a simulated
//! link, with virtual time. Each test is named after what it proves.

use core::time::Duration;

use mqtt_core::codec::{
    self, Packet, PacketId, PacketType, ProtocolVersion, Publish, QoS, ReasonCode,
};
use mqtt_core::reconnect::ReconnectPolicy;
use mqtt_core::session::Disconnection;
use mqtt_core::{Config, DecodeError, ProtocolError, PublishError, Ticket};
use mqtt_test::{BrokerConfig, Direction, RecordedEvent, Sim, SimConfig};

mod simulated;
use simulated::{VERSIONS, connected, secs};

/// A session the broker keeps across connections (resends with DUP need it).
fn persistent(version: ProtocolVersion) -> Config<'static> {
    Config {
        version,
        clean_start: false,
        session_expiry_interval: 3600,
        ..Config::new("behaviour")
    }
}

fn completions(sim: &Sim, ticket: Ticket) -> usize {
    sim.events()
        .iter()
        .filter(|e| matches!(e, RecordedEvent::Published { ticket: t } | RecordedEvent::PublishFailed { ticket: t, .. } if *t == ticket))
        .count()
}

fn reconnect_delays(sim: &Sim) -> Vec<u64> {
    sim.events()
        .iter()
        .filter_map(|e| match e {
            RecordedEvent::Reconnecting { delay, .. } => Some(delay.as_secs()),
            _ => None,
        })
        .collect()
}

#[test]
fn reconnect_schedule_is_1_2_4_8_16_32_then_60_and_resets_after_a_stable_connection() {
    let config = Config {
        reconnect: ReconnectPolicy {
            jitter_permille: 0,
            ..ReconnectPolicy::default()
        },
        ..persistent(ProtocolVersion::V5)
    };
    let mut sim = Sim::new(&config, SimConfig::default()).unwrap();
    sim.link_mut().set_reachable(false);
    sim.connect();
    // 1+2+4+8+16+32+60+60 s of failed attempts, then the ninth delay is scheduled.
    sim.run_for(secs(1 + 2 + 4 + 8 + 16 + 32 + 60 + 60 + 1));
    assert_eq!(reconnect_delays(&sim), [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    sim.link_mut().set_reachable(true);
    assert!(sim.run_until(|s| s.session().is_connected(), secs(61)));
    // A loss after a connection that stayed up for `stable_after` (30 s) starts the schedule over.
    sim.run_for(secs(30));
    sim.take_events();
    sim.cut_link();
    sim.run_for(secs(2));
    assert_eq!(reconnect_delays(&sim), [1]);
    assert!(sim.session().is_connected());
}

#[test]
fn bad_credentials_stop_retrying_but_unavailable_does_not() {
    for version in VERSIONS {
        let (bad, unavailable) = match version {
            ProtocolVersion::V311 => (ReasonCode(4), ReasonCode(3)),
            _ => (
                ReasonCode::BAD_USER_NAME_OR_PASSWORD,
                ReasonCode::SERVER_UNAVAILABLE,
            ),
        };
        let mut sim = Sim::new(&persistent(version), SimConfig::default()).unwrap();
        sim.broker_mut().refuse_connect(Some(bad));
        sim.connect();
        sim.run_for(secs(600));
        assert_eq!(
            sim.broker().connections().len(),
            1,
            "{version}: retried after bad credentials"
        );
        assert!(
            sim.events()
                .iter()
                .any(|e| matches!(e, RecordedEvent::GaveUp { .. })),
            "{version}: {:?}",
            sim.events()
        );

        let mut sim = Sim::new(&persistent(version), SimConfig::default()).unwrap();
        sim.broker_mut().refuse_connect(Some(unavailable));
        sim.connect();
        sim.run_for(secs(20));
        assert!(
            sim.broker().connections().len() >= 4,
            "{version}: server unavailable is retried"
        );
    }
}

#[test]
fn keepalive_detects_a_silent_broker() {
    for version in VERSIONS {
        let config = Config {
            keep_alive: secs(30),
            ping_timeout: secs(5),
            ..persistent(version)
        };
        let mut sim = connected(&config, SimConfig::default());
        sim.broker_mut().set_answer_pings(false);
        let start = sim.now();
        assert!(sim.run_until(
            |s| s.events().iter().any(|e| matches!(
                e,
                RecordedEvent::ConnectionLost {
                    reason: Disconnection::KeepAliveTimeout
                }
            )),
            secs(60)
        ));
        // PINGREQ 30 s after the last packet sent (the SUBACK round trip just before `start`), loss 5 s later.
        let elapsed = sim.now() - start;
        assert!(
            elapsed > Duration::from_millis(34_900) && elapsed <= secs(35),
            "{version}: lost after {elapsed:?}"
        );
        assert_eq!(sim.broker().pings(), 1);
    }
}

#[test]
fn no_pingreq_while_traffic_flows_both_ways() {
    for version in VERSIONS {
        let config = Config {
            keep_alive: secs(60),
            ..persistent(version)
        };
        let mut sim = connected(&config, SimConfig::default());
        for _ in 0..30 {
            // QoS 1: the broker answers each with a PUBACK.
            sim.publish("traffic", b"x", QoS::AtLeastOnce).unwrap();
            sim.run_for(secs(20));
        }
        assert_eq!(
            sim.broker().pings(),
            0,
            "{version}: pinged while sending and hearing every 20 s"
        );
        // Silence: exactly one PINGREQ per keep alive interval.
        sim.run_for(secs(61));
        assert_eq!(sim.broker().pings(), 1, "{version}");
    }
}

#[test]
fn a_qos0_publisher_that_hears_nothing_from_the_broker_pings_once_per_keep_alive() {
    for version in VERSIONS {
        let config = Config {
            keep_alive: secs(60),
            ..persistent(version)
        };
        let mut sim = connected(&config, SimConfig::default());
        // 600 s of QoS 0 every 20 s: the broker says nothing back but its PINGRESPs, the only way to know it is
        // still there.
        for _ in 0..30 {
            sim.publish("traffic", b"x", QoS::AtMostOnce).unwrap();
            sim.run_for(secs(20));
        }
        let pings = sim.broker().pings();
        assert!(
            (9..=10).contains(&pings),
            "{version}: {pings} pings in 600 s of one-way traffic"
        );
    }
}

/// Bytes that one QoS 1 or 2 exchange puts on the link in `direction`, measured on an undisturbed run.
fn flow_bytes(version: ProtocolVersion, qos: QoS, direction: Direction) -> u64 {
    let mut sim = connected(&persistent(version), SimConfig::default());
    let before = sim.link().bytes_sent(direction);
    let ticket = sim.publish("flow/topic", b"payload", qos).unwrap();
    assert!(sim.run_until(|s| completions(s, ticket) == 1, secs(5)));
    sim.run_until_idle();
    sim.link().bytes_sent(direction) - before
}

/// Cuts the connection after every possible byte of one QoS `qos` exchange, in each direction, and checks that
/// the message completes exactly once, reaches the broker (exactly once for QoS 2), and that what the session
/// resent carried DUP and its original packet identifier.
fn survives_a_cut_at_every_point(qos: QoS) {
    for version in VERSIONS {
        for direction in [Direction::ClientToBroker, Direction::BrokerToClient] {
            let total = flow_bytes(version, qos, direction);
            // PUBLISH (about 20 bytes) one way, the acknowledgements the other: every byte is a cut point.
            assert!(
                total >= 4,
                "{version} {qos:?} {direction}: only {total} bytes"
            );
            for cut in 0..total {
                let mut sim = connected(&persistent(version), SimConfig::default());
                sim.note(format!(
                    "{version} {qos:?}: cut {direction} after {cut} of {total} bytes"
                ));
                sim.link_mut().cut_after(direction, cut);
                let ticket = sim.publish("flow/topic", b"payload", qos).unwrap();
                if !sim.run_until(|s| completions(s, ticket) == 1, secs(30)) {
                    sim.fail("the message never completed");
                }
                sim.run_for(secs(5));
                let at_broker = sim.broker().received().len();
                let expected_ok = match qos {
                    QoS::ExactlyOnce => at_broker == 1,
                    _ => at_broker >= 1,
                };
                if !expected_ok || completions(&sim, ticket) != 1 {
                    sim.fail(format!("reached the broker {at_broker} times"));
                }
                if !sim.events().contains(&RecordedEvent::Published { ticket }) {
                    sim.fail("completed, but not as published");
                }
                let publishes = sim
                    .broker()
                    .packets(Direction::ClientToBroker, PacketType::Publish);
                let first = publishes.first().map(|p| p.packet_id);
                for resend in publishes.iter().skip(1) {
                    if !resend.dup || resend.packet_id != first.flatten() {
                        sim.fail(format!(
                            "resend {resend:?} lacks DUP or changed the packet id"
                        ));
                    }
                }
                if !sim.broker().violations().is_empty() {
                    sim.fail(format!("{:?}", sim.broker().violations()));
                }
            }
        }
    }
}

#[test]
fn qos1_survives_a_cut_at_every_point_before_puback() {
    survives_a_cut_at_every_point(QoS::AtLeastOnce);
}

#[test]
fn qos2_survives_a_cut_at_every_point_of_publish_pubrec_pubrel_pubcomp() {
    survives_a_cut_at_every_point(QoS::ExactlyOnce);
}

#[test]
fn qos2_survives_cut_before_pubcomp_by_resending_pubrel_not_publish() {
    for version in VERSIONS {
        let mut sim = connected(&persistent(version), SimConfig::default());
        // Let PUBLISH out and PUBREC back, then lose PUBCOMP: cut the broker's side right after PUBREC.
        // PUBREC is 4 bytes in both versions.
        sim.link_mut().cut_after(Direction::BrokerToClient, 4);
        let ticket = sim
            .publish("flow/topic", b"payload", QoS::ExactlyOnce)
            .unwrap();
        assert!(sim.run_until(|s| completions(s, ticket) == 1, secs(30)));
        sim.run_until_idle();
        let from_client = |t| sim.broker().count(Direction::ClientToBroker, t);
        // After PUBREC the message belongs to the broker: only PUBREL may be sent again. Whether the first PUBREL
        // crossed before the cut closed the link depends on timing, so it was sent once or twice.
        assert_eq!(
            from_client(PacketType::Publish),
            1,
            "{version}: PUBLISH resent after PUBREC"
        );
        assert!(
            (1..=2).contains(&from_client(PacketType::PubRel)),
            "{version}"
        );
        assert!(
            sim.broker().connections().len() == 2,
            "{version}: no reconnect"
        );
        assert_eq!(sim.broker().received().len(), 1);
        assert!(sim.events().contains(&RecordedEvent::Published { ticket }));
    }
}

#[test]
fn incoming_qos2_duplicate_is_not_delivered_twice() {
    for version in VERSIONS {
        let mut sim = connected(&persistent(version), SimConfig::default());
        sim.subscribe("in/#", QoS::ExactlyOnce).unwrap();
        sim.run_until_idle();
        // The same PUBLISH twice, the second with DUP, before any PUBREL: delivered once, acknowledged twice.
        let publish = |dup| {
            let p = Packet::Publish(Publish {
                dup,
                qos: QoS::ExactlyOnce,
                packet_id: PacketId::new(4242),
                topic: "in/x",
                payload: b"once",
                ..Publish::default()
            });
            let mut buf = vec![0; p.encoded_len(version)];
            p.encode(version, &mut buf).unwrap();
            buf
        };
        sim.broker_mut().send_raw(&publish(false));
        sim.broker_mut().send_raw(&publish(true));
        sim.run_until_idle();
        assert_eq!(sim.messages().len(), 1, "{version}");
        assert_eq!(
            sim.broker()
                .count(Direction::ClientToBroker, PacketType::PubRec),
            2
        );

        // And across a reconnect: the client acknowledged but the PUBREC was lost, so the broker resends.
        sim.link_mut().cut_after(Direction::ClientToBroker, 0);
        assert!(
            sim.broker_mut()
                .inject("in/y", b"exactly once", QoS::ExactlyOnce, false)
        );
        sim.run_for(secs(5));
        let ys = sim.messages().iter().filter(|m| m.topic == "in/y").count();
        assert_eq!(ys, 1, "{version}: redelivered after the reconnect");
        let to_client = sim
            .broker()
            .packets(Direction::BrokerToClient, PacketType::Publish);
        assert!(
            to_client.iter().any(|p| p.dup),
            "{version}: the broker did not resend"
        );
    }
}

#[test]
fn offline_publishes_are_sent_after_reconnect_in_order() {
    for version in VERSIONS {
        let mut sim = connected(&persistent(version), SimConfig::default());
        sim.link_mut().set_reachable(false);
        sim.cut_link();
        assert!(!sim.session().is_connected());
        let qos = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce];
        let tickets: Vec<_> = (0..9u8)
            .map(|i| {
                sim.publish("offline", &[i], qos[usize::from(i % 3)])
                    .unwrap()
            })
            .collect();
        assert_eq!(sim.session().queued(), 9);
        sim.run_for(secs(3));
        assert!(sim.broker().received().is_empty());
        sim.link_mut().set_reachable(true);
        assert!(
            sim.run_until(|s| s.session().queued() == 0, secs(10)),
            "{version}"
        );
        let payloads: Vec<u8> = sim
            .broker()
            .received()
            .iter()
            .map(|m| m.payload[0])
            .collect();
        assert_eq!(payloads, (0..9).collect::<Vec<_>>(), "{version}");
        for (i, ticket) in tickets.iter().enumerate() {
            if i % 3 != 0 {
                assert_eq!(completions(&sim, *ticket), 1);
            }
        }
    }
}

#[test]
fn a_full_offline_queue_is_an_error_and_nothing_accepted_is_lost() {
    let sim_config = SimConfig {
        store_buffer: 1024,
        ..SimConfig::default()
    };
    let mut sim = connected(&persistent(ProtocolVersion::V5), sim_config);
    sim.link_mut().set_reachable(false);
    sim.cut_link();
    let mut accepted = Vec::new();
    let refused = loop {
        match sim.publish("offline", &[accepted.len() as u8; 40], QoS::AtLeastOnce) {
            Ok(ticket) => accepted.push(ticket),
            Err(e) => break e,
        }
    };
    assert_eq!(refused, PublishError::QueueFull);
    assert!(accepted.len() >= 10, "only {} queued", accepted.len());
    sim.link_mut().set_reachable(true);
    assert!(sim.run_until(
        |s| accepted.iter().all(|t| completions(s, *t) == 1),
        secs(10)
    ));
    assert_eq!(sim.broker().received().len(), accepted.len());
}

#[test]
fn resubscribes_when_the_session_is_not_present() {
    for version in VERSIONS {
        let mut sim = connected(&persistent(version), SimConfig::default());
        sim.subscribe("a/#", QoS::AtLeastOnce).unwrap();
        sim.subscribe("b", QoS::ExactlyOnce).unwrap();
        sim.run_until_idle();
        sim.broker_mut().forget_session();
        sim.cut_link();
        assert!(
            sim.run_until(|s| s.broker().subscriptions().len() == 2, secs(5)),
            "{version}"
        );
        assert!(sim.events().contains(&RecordedEvent::Connected {
            session_present: false
        }));
        assert!(
            sim.broker_mut()
                .inject("a/z", b"after", QoS::AtLeastOnce, false)
        );
        sim.run_until_idle();
        assert_eq!(
            sim.messages().last().map(|m| m.payload.clone()),
            Some(b"after".to_vec())
        );
    }
}

#[test]
fn packet_id_wrap_around_skips_ids_in_flight() {
    let mut sim = connected(&persistent(ProtocolVersion::V311), SimConfig::default());
    // Packet id 1 stays in flight: its PUBACK is held while 70,000 others come and go.
    sim.broker_mut().hold_acks();
    let stuck = sim.publish("wrap", b"stuck", QoS::AtLeastOnce).unwrap();
    sim.run_until_idle();
    sim.broker_mut().config_mut().hold_acks = false;
    let mut sent = 0u32;
    while sent < 70_000 {
        for _ in 0..50 {
            let now = sim.now();
            sim.session_mut()
                .publish(
                    &Publish {
                        qos: QoS::AtLeastOnce,
                        topic: "wrap",
                        payload: b"x",
                        ..Publish::default()
                    },
                    now,
                )
                .unwrap();
            sent += 1;
        }
        sim.run_until_idle();
    }
    let ids_1 = sim
        .broker()
        .packets(Direction::ClientToBroker, PacketType::Publish)
        .iter()
        .filter(|p| p.packet_id == Some(1))
        .count();
    assert_eq!(ids_1, 1, "packet id 1 was reused while in flight");
    assert!(
        sim.broker().violations().is_empty(),
        "{:?}",
        sim.broker().violations()
    );
    assert_eq!(completions(&sim, stuck), 0);
    sim.broker_mut().release_acks();
    sim.run_until_idle();
    assert_eq!(completions(&sim, stuck), 1);
    assert_eq!(sim.broker().received().len(), 70_001);
}

#[test]
fn the_inflight_window_and_receive_maximum_are_respected() {
    for (max_inflight, receive_maximum, expected) in [(5, None, 5), (64, Some(3), 3)] {
        let config = Config {
            max_inflight,
            ..persistent(ProtocolVersion::V5)
        };
        let sim_config = SimConfig {
            broker: BrokerConfig {
                receive_maximum,
                ..BrokerConfig::default()
            },
            ..SimConfig::default()
        };
        let mut sim = connected(&config, sim_config);
        sim.broker_mut().hold_acks();
        let tickets: Vec<_> = (0..20u8)
            .map(|i| sim.publish("w", &[i], QoS::ExactlyOnce).unwrap())
            .collect();
        sim.run_for(secs(1));
        assert_eq!(sim.session().inflight(), expected);
        assert_eq!(sim.broker().received().len(), usize::from(expected));
        sim.broker_mut().config_mut().hold_acks = false;
        sim.broker_mut().release_acks();
        assert!(sim.run_until(
            |s| tickets.iter().all(|t| completions(s, *t) == 1),
            secs(10)
        ));
        assert_eq!(sim.broker().received().len(), 20);
        assert!(
            sim.broker().violations().is_empty(),
            "{:?}",
            sim.broker().violations()
        );
    }
}

#[test]
fn topic_aliases_from_the_broker_are_resolved() {
    let config = Config {
        topic_alias_maximum: 4,
        ..persistent(ProtocolVersion::V5)
    };
    let sim_config = SimConfig {
        broker: BrokerConfig {
            topic_aliases_to_client: true,
            ..BrokerConfig::default()
        },
        ..SimConfig::default()
    };
    let mut sim = connected(&config, sim_config);
    sim.subscribe("alias/#", QoS::AtMostOnce).unwrap();
    sim.run_until_idle();
    for topic in [
        "alias/one",
        "alias/two",
        "alias/one",
        "alias/two",
        "alias/one",
    ] {
        assert!(sim.broker_mut().inject(topic, b"m", QoS::AtMostOnce, false));
    }
    sim.run_until_idle();
    let topics: Vec<&str> = sim.messages().iter().map(|m| m.topic.as_str()).collect();
    assert_eq!(
        topics,
        [
            "alias/one",
            "alias/two",
            "alias/one",
            "alias/two",
            "alias/one"
        ]
    );
    // The broker really sent the repeats as alias-only packets.
    let aliased = sim
        .broker()
        .delivered()
        .iter()
        .filter(|m| m.topic_alias.is_some())
        .count();
    assert!(aliased >= 3, "{aliased}");
}

#[test]
fn max_packet_size_is_refused_both_ways() {
    // Outgoing: the broker's Maximum Packet Size bounds what publish accepts.
    let sim_config = SimConfig {
        broker: BrokerConfig {
            maximum_packet_size: Some(128),
            ..BrokerConfig::default()
        },
        ..SimConfig::default()
    };
    let mut sim = connected(&persistent(ProtocolVersion::V5), sim_config);
    assert!(matches!(
        sim.publish("big", &[0; 200], QoS::AtLeastOnce),
        Err(PublishError::TooLarge { max: 128, .. })
    ));
    assert!(sim.publish("small", &[0; 64], QoS::AtLeastOnce).is_ok());

    // Incoming (5.0, where the broker was told the limit): a packet above the session's maximum closes the
    // connection with 0x95 Packet too large. `[MQTT-3.1.2-25]` (3.1.1: `session_incoming_too_large.rs`.)
    {
        let version = ProtocolVersion::V5;
        let config = Config {
            max_packet_size: Some(256),
            ..persistent(version)
        };
        let mut sim = connected(&config, SimConfig::default());
        let big = Packet::Publish(Publish {
            topic: "t",
            payload: &[7; 1000],
            ..Publish::default()
        });
        let mut bytes = vec![0; big.encoded_len(version)];
        big.encode(version, &mut bytes).unwrap();
        sim.broker_mut().send_raw(&bytes);
        sim.run_until_idle();
        let expected =
            Disconnection::Protocol(ProtocolError::Malformed(DecodeError::PacketTooLarge {
                size: bytes.len() as u32,
                max: 256,
            }));
        assert!(
            sim.events()
                .contains(&RecordedEvent::ConnectionLost { reason: expected }),
            "{version}: {:?}",
            sim.events()
        );
        assert_eq!(
            sim.session().error(),
            Some(ProtocolError::Malformed(DecodeError::PacketTooLarge {
                size: bytes.len() as u32,
                max: 256,
            }))
        );
        if version == ProtocolVersion::V5 {
            let disconnect = sim
                .broker()
                .packets(Direction::ClientToBroker, PacketType::Disconnect);
            assert_eq!(
                disconnect.last().and_then(|p| p.reason),
                Some(ReasonCode::PACKET_TOO_LARGE)
            );
        }
        assert!(sim.messages().is_empty());
        // The reconnect policy applies, and a successful connection clears the error.
        assert!(sim.run_until(|s| s.session().is_connected(), secs(5)));
        assert_eq!(sim.session().error(), None);
    }
}

#[test]
fn a_broker_protocol_error_closes_with_a_typed_error_then_reconnects() {
    for version in VERSIONS {
        let mut sim = connected(&persistent(version), SimConfig::default());
        // QoS 3 in a PUBLISH header.
        sim.broker_mut()
            .send_raw(&[0x36, 0x05, 0x00, 0x01, b't', 0x00, 0x01]);
        sim.run_until_idle();
        assert_eq!(
            sim.session().error(),
            Some(ProtocolError::Malformed(DecodeError::InvalidQoS))
        );
        assert!(
            sim.run_until(|s| s.session().is_connected(), secs(5)),
            "{version}"
        );
        // A PUBACK for an id nothing waits for.
        let mut buf = [0; 8];
        let n = Packet::PubAck(codec::Ack::new(PacketId::new(999).unwrap()))
            .encode(version, &mut buf)
            .unwrap();
        sim.broker_mut().send_raw(&buf[..n]);
        sim.run_until_idle();
        assert_eq!(
            sim.session().error(),
            Some(ProtocolError::UnknownPacketId {
                packet: PacketType::PubAck,
                packet_id: 999
            })
        );
        if version == ProtocolVersion::V5 {
            let disconnect = sim
                .broker()
                .packets(Direction::ClientToBroker, PacketType::Disconnect);
            assert_eq!(
                disconnect.last().and_then(|p| p.reason),
                Some(ReasonCode::PROTOCOL_ERROR)
            );
        }
        assert!(
            sim.run_until(|s| s.session().is_connected(), secs(5)),
            "{version}"
        );
        // A second CONNACK on an established connection.
        let n = Packet::ConnAck(codec::ConnAck::default())
            .encode(version, &mut buf)
            .unwrap();
        sim.broker_mut().send_raw(&buf[..n]);
        sim.run_until_idle();
        assert_eq!(
            sim.session().error(),
            Some(ProtocolError::UnexpectedPacket(PacketType::ConnAck)),
            "{version}"
        );
        assert!(
            sim.run_until(|s| s.session().is_connected(), secs(5)),
            "{version}"
        );
    }
}

#[test]
fn statistics_count_connections_bytes_and_messages() {
    let mut sim = connected(&persistent(ProtocolVersion::V5), SimConfig::default());
    let connected_at = sim.session().stats().first_connected_at.expect("connected");
    sim.subscribe("stats/#", QoS::AtLeastOnce).unwrap();
    sim.run_until_idle();
    for i in 0..5u8 {
        sim.publish("stats/x", &[i], QoS::AtLeastOnce).unwrap();
    }
    sim.run_until_idle();
    let stats = sim.session().stats();
    assert_eq!(stats.messages_sent, 5);
    assert_eq!(
        stats.messages_received, 5,
        "own messages come back through the subscription"
    );
    assert_eq!(
        stats.bytes_sent,
        sim.link().bytes_delivered(Direction::ClientToBroker)
    );
    assert_eq!(
        stats.bytes_received,
        sim.link().bytes_delivered(Direction::BrokerToClient)
    );
    assert_eq!(
        (stats.disconnections, stats.last_disconnected_at),
        (0, None)
    );

    sim.cut_link();
    let cut_at = sim.now();
    assert!(sim.run_until(|s| s.session().is_connected(), secs(5)));
    let stats = sim.session().stats();
    assert_eq!(stats.disconnections, 1);
    assert_eq!(stats.first_connected_at, Some(connected_at));
    assert!(
        stats
            .last_disconnected_at
            .is_some_and(|t| t >= cut_at && t < cut_at + secs(1))
    );
    assert!(stats.last_connected_at.is_some_and(|t| t > cut_at));
}

/// `abandon` ends the connection as a crash would: no DISCONNECT, so the broker publishes the will
/// [MQTT-3.1.2-8]; the message still unacknowledged stays queued and goes out when the session connects again.
#[test]
fn abandon_closes_without_disconnect_and_keeps_what_is_unacknowledged() {
    for version in VERSIONS {
        let mut sim = connected(&persistent(version), SimConfig::default());
        sim.broker_mut().hold_acks();
        let kept = sim.publish("abandon", b"kept", QoS::AtLeastOnce).unwrap();
        sim.run_until_idle();
        let now = sim.now();
        sim.session_mut().abandon(now);
        sim.run_for(secs(1));
        assert_eq!(sim.session().state(), mqtt_core::SessionState::Closed);
        assert!(!sim.broker().is_connected(), "{version}");
        assert_eq!(
            sim.broker()
                .packets(Direction::ClientToBroker, PacketType::Disconnect)
                .len(),
            0,
            "{version}: no DISCONNECT"
        );
        assert_eq!(
            sim.events().last(),
            Some(&RecordedEvent::Disconnected { unacknowledged: 1 }),
            "{version}"
        );
        sim.broker_mut().config_mut().hold_acks = false;
        sim.connect();
        assert!(
            sim.run_until(|s| completions(s, kept) == 1, secs(5)),
            "{version}"
        );
    }
}
