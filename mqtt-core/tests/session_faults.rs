//! What the broker answers wrongly, refuses, or never gets to answer: reason codes of every acknowledgement, a
//! CONNACK that claims a session after Clean Start, messages the broker will never take, a wrong kind of
//! acknowledgement, a Maximum Packet Size too small to answer in, and packets that arrive with the close.

use mqtt_core::codec::{
    self, Ack, ConnAck, ConnAckProperties, Packet, PacketId, PacketType, ProtocolVersion, Publish,
    QoS, ReasonCode, SubAck, Subscription,
};
use mqtt_core::session::{Disconnection, Event, PublishFailure};
use mqtt_core::{
    Buffers, Config, DecodeError, Instant, ProtocolError, Session, Ticket, TransportAction,
};
use mqtt_test::{BrokerConfig, Direction, RecordedEvent, Sim, SimConfig};

mod simulated;
use simulated::{VERSIONS, connected, secs};

fn persistent(version: ProtocolVersion) -> Config<'static> {
    Config {
        version,
        clean_start: false,
        session_expiry_interval: 3600,
        ..Config::new("faults")
    }
}

fn broker(configure: impl FnOnce(&mut BrokerConfig)) -> SimConfig {
    let mut broker = BrokerConfig::default();
    configure(&mut broker);
    SimConfig {
        broker,
        ..SimConfig::default()
    }
}

/// The completions of `ticket`: `Published` or `PublishFailed` events.
fn completions(sim: &Sim, ticket: Ticket) -> Vec<RecordedEvent> {
    sim.events()
        .iter()
        .filter(|e| matches!(e, RecordedEvent::Published { ticket: t } | RecordedEvent::PublishFailed { ticket: t, .. } if *t == ticket))
        .cloned()
        .collect()
}

fn count(sim: &Sim, wanted: impl Fn(&RecordedEvent) -> bool) -> usize {
    sim.events().iter().filter(|e| wanted(e)).count()
}

fn last_disconnect_reason(sim: &Sim) -> Option<ReasonCode> {
    sim.broker()
        .packets(Direction::ClientToBroker, PacketType::Disconnect)
        .last()
        .and_then(|p| p.reason)
}

// ----- item: every acknowledgement's reason code -----

#[test]
fn a_pubcomp_with_a_failure_reason_fails_the_publish() {
    // The broker took PUBREC and PUBREL and then answers PUBCOMP 0x92 Packet Identifier not found: on the
    // connection that got PUBREC that is a session mismatch, and the message is not known as delivered.
    let mut sim = connected(
        &persistent(ProtocolVersion::V5),
        broker(|b| b.pubcomp_reason = ReasonCode::PACKET_IDENTIFIER_NOT_FOUND),
    );
    let ticket = sim.publish("t", b"x", QoS::ExactlyOnce).unwrap();
    sim.run_until_idle();
    assert_eq!(
        completions(&sim, ticket),
        [RecordedEvent::PublishFailed {
            ticket,
            reason: PublishFailure::Rejected(ReasonCode::PACKET_IDENTIFIER_NOT_FOUND)
        }]
    );
}

#[test]
fn a_pubcomp_0x92_to_a_pubrel_resent_after_a_reconnect_completes_the_publish() {
    // 5.0 §3.7.2.1: 0x92 "is not an error during recovery". PUBREC arrives, the PUBCOMP is cut off, the broker
    // forgets the identifier on completing; the PUBREL resent on the next connection finds nothing.
    let mut sim = connected(&persistent(ProtocolVersion::V5), SimConfig::default());
    // PUBREC (4 bytes) gets through, the PUBCOMP does not.
    sim.link_mut().cut_after(Direction::BrokerToClient, 5);
    let ticket = sim.publish("t", b"x", QoS::ExactlyOnce).unwrap();
    assert!(sim.run_until(|s| !completions(s, ticket).is_empty(), secs(10)));
    assert_eq!(
        completions(&sim, ticket),
        [RecordedEvent::Published { ticket }]
    );
    let pubcomps = sim
        .broker()
        .packets(Direction::BrokerToClient, PacketType::PubComp);
    assert_eq!(
        pubcomps.last().and_then(|p| p.reason),
        Some(ReasonCode::PACKET_IDENTIFIER_NOT_FOUND)
    );
    assert_eq!(sim.broker().received().len(), 1);
}

#[test]
fn unsuback_reason_codes_reach_the_caller_per_filter() {
    for version in VERSIONS {
        let mut sim = connected(&persistent(version), SimConfig::default());
        sim.subscribe("a", QoS::AtMostOnce).unwrap();
        let ticket = sim.unsubscribe(&["a", "b"]).unwrap();
        sim.run_until_idle();
        let expected = match version {
            // 3.1.1 UNSUBACK carries no codes.
            ProtocolVersion::V311 => vec![],
            _ => vec![ReasonCode::SUCCESS, ReasonCode::NO_SUBSCRIPTION_EXISTED],
        };
        assert!(
            sim.events().contains(&RecordedEvent::Unsubscribed {
                ticket,
                reasons: expected
            }),
            "{version}: {:?}",
            sim.events()
        );
    }
}

#[test]
fn a_reason_code_outside_its_packets_table_is_a_malformed_packet() {
    // PUBACK 0xff: not in the PUBACK table (5.0 §3.4.2.1), so the packet is malformed; DISCONNECT 0x81.
    let mut sim = connected(&persistent(ProtocolVersion::V5), SimConfig::default());
    sim.broker_mut().hold_acks();
    let ticket = sim.publish("t", b"x", QoS::AtLeastOnce).unwrap();
    sim.run_until_idle();
    sim.broker_mut().send_raw(&[0x40, 0x03, 0x00, 0x01, 0xff]);
    sim.run_until_idle();
    let malformed = ProtocolError::Malformed(DecodeError::InvalidReasonCode {
        packet: PacketType::PubAck,
        code: 0xff,
    });
    assert!(sim.events().contains(&RecordedEvent::ConnectionLost {
        reason: Disconnection::Protocol(malformed)
    }));
    assert_eq!(
        last_disconnect_reason(&sim),
        Some(ReasonCode::MALFORMED_PACKET)
    );
    assert!(
        completions(&sim, ticket).is_empty(),
        "not taken as an answer"
    );
    // The message is resent on the next connection and acknowledged properly.
    sim.broker_mut().config_mut().hold_acks = false;
    assert!(sim.run_until(|s| !completions(s, ticket).is_empty(), secs(5)));
    assert_eq!(
        completions(&sim, ticket),
        [RecordedEvent::Published { ticket }]
    );

    // A 3.1.1 CONNACK with the reserved return code 6 (3.1.1 §3.2.2.3).
    let mut sim = Sim::new(
        &persistent(ProtocolVersion::V311),
        broker(|b| b.refuse_connect = Some(ReasonCode(6))),
    )
    .unwrap();
    sim.connect();
    sim.run_until_idle();
    let malformed = ProtocolError::Malformed(DecodeError::InvalidReasonCode {
        packet: PacketType::ConnAck,
        code: 6,
    });
    assert!(sim.events().contains(&RecordedEvent::ConnectFailed {
        reason: Disconnection::Protocol(malformed)
    }));
}

// ----- item: Session Present after Clean Start -----

#[test]
fn session_present_after_clean_start_is_a_protocol_error() {
    // 5.0 [MQTT-3.2.2-2] (the broker's rule) and [MQTT-3.2.2-4] (the client closes); 3.1.1 [MQTT-3.2.2-1].
    for version in VERSIONS {
        let config = Config {
            version,
            ..Config::new("clean")
        };
        let mut sim = Sim::new(&config, broker(|b| b.claim_session_present = true)).unwrap();
        sim.connect();
        sim.run_until_idle();
        let error = ProtocolError::SessionPresentAfterCleanStart;
        assert!(
            sim.events().contains(&RecordedEvent::ConnectFailed {
                reason: Disconnection::Protocol(error)
            }),
            "{version}: {:?}",
            sim.events()
        );
        assert_eq!(
            count(&sim, |e| matches!(e, RecordedEvent::Connected { .. })),
            0,
            "{version}"
        );
        assert_eq!(sim.session().error(), Some(error));
        if version == ProtocolVersion::V5 {
            assert_eq!(
                last_disconnect_reason(&sim),
                Some(ReasonCode::PROTOCOL_ERROR)
            );
        }
        assert!(
            !sim.broker().is_connected(),
            "{version}: the connection is closed"
        );
        assert!(
            sim.events()
                .iter()
                .any(|e| matches!(e, RecordedEvent::Reconnecting { .. })),
            "{version}: the reconnect policy applies"
        );
        // Without Clean Start, Session Present 1 is what the client hopes for.
        let mut sim = connected(
            &persistent(version),
            broker(|b| b.claim_session_present = true),
        );
        assert!(sim.events().contains(&RecordedEvent::Connected {
            session_present: true
        }));
        sim.run_until_idle();
        assert_eq!(sim.session().error(), None);
    }
}

// ----- item: a message the broker will never take -----

#[test]
fn a_message_the_broker_closes_the_connection_on_fails_as_poison_and_the_queue_moves_on() {
    // A 3.1.1 broker closes the connection on a packet above its limit (it cannot announce one). Without a count
    // the message went out again on every connection and the one behind it never did.
    for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let mut sim = connected(
            &persistent(ProtocolVersion::V311),
            broker(|b| b.maximum_packet_size = Some(100)),
        );
        let big = sim.publish("big", &[0; 200], qos).unwrap();
        let small = sim.publish("small", b"behind it", qos).unwrap();
        assert!(
            sim.run_until(|s| !completions(s, small).is_empty(), secs(60)),
            "{qos:?}: the message behind never completed"
        );
        sim.run_until_idle();
        let threshold = Config::new("").poison_threshold;
        assert_eq!(
            completions(&sim, big),
            [RecordedEvent::PublishFailed {
                ticket: big,
                reason: PublishFailure::Poison {
                    connections: threshold
                }
            }],
            "{qos:?}"
        );
        assert_eq!(
            completions(&sim, small),
            [RecordedEvent::Published { ticket: small }]
        );
        let received: Vec<&str> = sim
            .broker()
            .received()
            .iter()
            .map(|m| m.topic.as_str())
            .collect();
        assert_eq!(received, ["small"], "{qos:?}");
        // One connection per strike, then the one that worked.
        assert_eq!(
            sim.broker().connections().len(),
            1 + usize::from(threshold),
            "{qos:?}"
        );
        // A QoS 2 message given up on has its identifier released with PUBREL before it is used again.
        assert!(
            sim.broker()
                .violations()
                .iter()
                .all(|v| v.contains("exceeds")),
            "{qos:?}: {:?}",
            sim.broker().violations()
        );
    }
}

#[test]
fn the_poison_threshold_is_configurable_and_zero_never_gives_up() {
    let sim_config = || broker(|b| b.maximum_packet_size = Some(100));
    let config = Config {
        poison_threshold: 2,
        ..persistent(ProtocolVersion::V311)
    };
    let mut sim = connected(&config, sim_config());
    let big = sim.publish("big", &[0; 200], QoS::AtLeastOnce).unwrap();
    assert!(sim.run_until(|s| !completions(s, big).is_empty(), secs(60)));
    assert_eq!(
        completions(&sim, big),
        [RecordedEvent::PublishFailed {
            ticket: big,
            reason: PublishFailure::Poison { connections: 2 }
        }]
    );

    let config = Config {
        poison_threshold: 0,
        ..persistent(ProtocolVersion::V311)
    };
    let mut sim = connected(&config, sim_config());
    let big = sim.publish("big", &[0; 200], QoS::AtLeastOnce).unwrap();
    // Each connection ends at once, before `stable_after`: the reconnect delays grow (1, 2, 4... 60 s), so eleven
    // connections take several minutes of virtual time.
    assert!(sim.run_until(|s| s.broker().connections().len() > 10, secs(900)));
    assert!(completions(&sim, big).is_empty());
}

#[test]
fn a_puback_for_a_qos2_message_fails_it_and_closes_the_connection() {
    // RabbitMQ takes QoS 2 as QoS 1 and answers PUBACK. That message fails with the cause, is not sent again, and
    // the connection closes (a protocol error: 3.1.1 [MQTT-4.8.0-1]; 5.0 DISCONNECT 0x82).
    for version in VERSIONS {
        let mut sim = connected(&persistent(version), broker(|b| b.qos2_as_qos1 = true));
        let ticket = sim
            .publish("t", b"exactly once?", QoS::ExactlyOnce)
            .unwrap();
        sim.run_until_idle();
        assert_eq!(
            completions(&sim, ticket),
            [RecordedEvent::PublishFailed {
                ticket,
                reason: PublishFailure::WrongAck {
                    received: PacketType::PubAck
                }
            }],
            "{version}"
        );
        let error = ProtocolError::WrongAck {
            packet: PacketType::PubAck,
            packet_id: 1,
            qos: 2,
        };
        assert!(
            sim.events().contains(&RecordedEvent::ConnectionLost {
                reason: Disconnection::Protocol(error)
            }),
            "{version}"
        );
        if version == ProtocolVersion::V5 {
            assert_eq!(
                last_disconnect_reason(&sim),
                Some(ReasonCode::PROTOCOL_ERROR)
            );
        }
        // Not sent again; the next message goes out on the next connection.
        assert!(sim.run_until(|s| s.session().is_connected(), secs(5)));
        let next = sim
            .publish("t", b"at least once", QoS::AtLeastOnce)
            .unwrap();
        sim.run_until_idle();
        assert_eq!(
            completions(&sim, next),
            [RecordedEvent::Published { ticket: next }]
        );
        assert_eq!(sim.broker().received().len(), 2, "{version}");
        assert_eq!(
            sim.broker()
                .count(Direction::ClientToBroker, PacketType::Publish),
            2,
            "{version}"
        );
    }
}

// ----- item: every packet within the broker's Maximum Packet Size -----

/// A 5.0 session whose connection is accepted by this CONNACK; returns the session and what `poll_event` said.
fn connect_by_hand(connack: ConnAck<'_>, config: &Config<'_>) -> (Session<'static>, Instant) {
    let buffers = Buffers {
        rx: Box::leak(Box::new([0u8; 2048])).into(),
        store: Box::leak(Box::new([0u8; 4096])).into(),
        subscriptions: Box::leak(Box::new([0u8; 512])).into(),
    };
    let mut session = Session::new(config, buffers).unwrap();
    let now = Instant::from_millis(5);
    session.connect(now);
    assert_eq!(session.poll_transport(), Some(TransportAction::Open));
    session.handle_transport_up(now);
    drain_transmit(&mut session, now);
    let bytes = encode(Packet::ConnAck(connack), config.version);
    assert_eq!(session.handle_bytes(&bytes, now), bytes.len());
    (session, now)
}

fn encode(p: Packet<'_>, v: ProtocolVersion) -> Vec<u8> {
    let mut buf = vec![0; p.encoded_len(v)];
    p.encode(v, &mut buf).unwrap();
    buf
}

fn drain_transmit(session: &mut Session<'_>, now: Instant) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Some(n) = session.poll_transmit(now, &mut buf) {
        out.extend_from_slice(&buf[..n]);
    }
    out
}

#[test]
fn a_maximum_packet_size_too_small_for_an_acknowledgement_is_a_protocol_error() {
    // [MQTT-3.2.2-15]: no packet above the broker's limit. A PUBCOMP with a reason code takes 5 bytes; a broker
    // that allows 4 leaves no way to follow the protocol.
    let connack = |max: u32| ConnAck {
        properties: ConnAckProperties {
            maximum_packet_size: core::num::NonZeroU32::new(max),
            ..ConnAckProperties::default()
        },
        ..ConnAck::default()
    };
    let (mut session, _) = connect_by_hand(connack(4), &Config::new("tiny"));
    assert_eq!(
        session.poll_event(),
        Some(Event::ConnectFailed {
            reason: Disconnection::Protocol(ProtocolError::MaximumPacketSizeTooSmall(4))
        })
    );
    assert_eq!(session.poll_transport(), Some(TransportAction::Close));
    let (mut session, _) = connect_by_hand(connack(5), &Config::new("tiny"));
    assert!(matches!(
        session.poll_event(),
        Some(Event::Connected { .. })
    ));
}

// ----- item: packets received before the transport went down -----

#[test]
fn packets_received_just_before_the_transport_closes_are_handled_before_the_loss() {
    for version in VERSIONS {
        let (mut s, now) = connect_by_hand(
            ConnAck::default(),
            &Config {
                version,
                ..Config::new("drain")
            },
        );
        assert!(matches!(s.poll_event(), Some(Event::Connected { .. })));
        let ticket = s
            .publish(
                &Publish {
                    qos: QoS::AtLeastOnce,
                    topic: "out",
                    payload: b"o",
                    ..Publish::default()
                },
                now,
            )
            .unwrap();
        let sub = s
            .subscribe(&[Subscription::new("in/#", QoS::AtLeastOnce)], now)
            .unwrap();
        drain_transmit(&mut s, now);
        // PUBACK, a PUBLISH and the SUBACK arrive in one read with the end of the stream.
        let id = |n| PacketId::new(n).unwrap();
        let mut bytes = encode(
            Packet::SubAck(SubAck {
                packet_id: id(1),
                properties: Default::default(),
                reasons: codec::List::new(&[ReasonCode::GRANTED_QOS_1]),
            }),
            version,
        );
        bytes.extend(encode(Packet::PubAck(Ack::new(id(2))), version));
        bytes.extend(encode(
            Packet::Publish(Publish {
                qos: QoS::AtLeastOnce,
                packet_id: Some(id(7)),
                topic: "in/x",
                payload: b"i",
                ..Publish::default()
            }),
            version,
        ));
        assert_eq!(s.handle_bytes(&bytes, now), bytes.len());
        s.handle_transport_down(now);
        // Nothing is written to the gone transport, the PUBACK of the message included.
        assert_eq!(drain_transmit(&mut s, now), Vec::<u8>::new(), "{version}");
        assert!(!s.wants_write());
        assert_eq!(
            s.poll_event(),
            Some(Event::Subscribed {
                ticket: sub,
                reasons: codec::List::new(&[ReasonCode::GRANTED_QOS_1])
            }),
            "{version}"
        );
        assert_eq!(s.poll_event(), Some(Event::Published { ticket }));
        assert!(matches!(
            s.poll_event(),
            Some(Event::Message(Publish { topic: "in/x", .. }))
        ));
        assert_eq!(
            s.poll_event(),
            Some(Event::ConnectionLost {
                reason: Disconnection::TransportClosed
            })
        );
        assert!(matches!(s.poll_event(), Some(Event::Reconnecting { .. })));
        assert_eq!(s.poll_event(), None);
        assert!(!s.is_connected());
        assert!(s.poll_timeout().is_some(), "the reconnect timer runs");

        // A CONNACK that arrives with the close connects, then the connection is lost.
        let (mut s, now) = connect_by_hand(
            ConnAck::default(),
            &Config {
                version,
                ..Config::new("drain")
            },
        );
        s.handle_transport_down(now);
        assert!(matches!(s.poll_event(), Some(Event::Connected { .. })));
        assert!(matches!(s.poll_event(), Some(Event::ConnectionLost { .. })));
    }
}

#[test]
fn an_acknowledgement_that_arrives_with_the_close_completes_its_message() {
    // The link delivers the PUBACK and the end of the connection in the same step: the message completes and is
    // not sent again.
    for version in VERSIONS {
        let mut sim = connected(&persistent(version), SimConfig::default());
        sim.link_mut().cut_after(Direction::BrokerToClient, 4);
        let ticket = sim.publish("t", b"x", QoS::AtLeastOnce).unwrap();
        sim.run_until_idle();
        assert_eq!(
            completions(&sim, ticket),
            [RecordedEvent::Published { ticket }],
            "{version}"
        );
        let lost = sim
            .events()
            .iter()
            .position(|e| matches!(e, RecordedEvent::ConnectionLost { .. }));
        let published = sim
            .events()
            .iter()
            .position(|e| matches!(e, RecordedEvent::Published { .. }));
        assert!(published < lost, "{version}: {:?}", sim.events());
        assert!(sim.run_until(|s| s.session().is_connected(), secs(5)));
        sim.run_until_idle();
        assert_eq!(
            sim.broker()
                .count(Direction::ClientToBroker, PacketType::Publish),
            1,
            "{version}: not sent again"
        );
    }
}

#[test]
fn a_qos2_message_held_when_the_application_reconnects_after_the_close_comes_again() {
    // A QoS 2 PUBLISH arrives with the end of the stream: it is processed after the loss, and no PUBREC goes out
    // (nothing is written to a gone transport). The application's queue is full, so it holds the message, then
    // reconnects. The held message is dropped, never the application's; the broker, without a PUBREC, sends it
    // again on the resumed session, and this time it is delivered: exactly once, not never. `[MQTT-4.3.3-10]`
    // applies only to a message whose PUBREC was sent.
    for manual_ack in [false, true] {
        for version in VERSIONS {
            let config = Config {
                manual_ack,
                ..persistent(version)
            };
            let (mut s, now) = connect_by_hand(ConnAck::default(), &config);
            assert!(matches!(s.poll_event(), Some(Event::Connected { .. })));
            let publish = |dup| {
                encode(
                    Packet::Publish(Publish {
                        qos: QoS::ExactlyOnce,
                        dup,
                        packet_id: PacketId::new(9),
                        topic: "in/x",
                        payload: b"once",
                        ..Publish::default()
                    }),
                    version,
                )
            };
            let bytes = publish(false);
            assert_eq!(s.handle_bytes(&bytes, now), bytes.len());
            s.handle_transport_down(now);
            assert!(matches!(s.poll_event(), Some(Event::Message(_))));
            assert!(s.hold_message());
            s.reconnect(now);
            assert!(!s.has_held_message());
            while let Some(event) = s.poll_event() {
                assert!(!matches!(event, Event::Message(_)), "{event:?}");
            }
            assert_eq!(s.poll_transport(), Some(TransportAction::Close));
            assert_eq!(s.poll_transport(), Some(TransportAction::Open));
            s.handle_transport_up(now);
            drain_transmit(&mut s, now);
            let connack = ConnAck {
                session_present: true,
                ..ConnAck::default()
            };
            s.handle_bytes(&encode(Packet::ConnAck(connack), version), now);
            assert!(matches!(
                s.poll_event(),
                Some(Event::Connected {
                    session_present: true
                })
            ));
            let bytes = publish(true);
            assert_eq!(s.handle_bytes(&bytes, now), bytes.len());
            let delivered = matches!(
                s.poll_event(),
                Some(Event::Message(Publish {
                    payload: b"once",
                    ..
                }))
            );
            assert!(delivered, "{version}, manual ack {manual_ack}");
        }
    }
}

#[test]
fn a_protocol_error_of_the_broker_is_no_strike_against_the_message_in_flight() {
    // Poison strikes count connections the broker or the network ends (a close, a keep alive timeout, a
    // DISCONNECT): see `Config::poison_threshold`. A protocol error is about the packet that broke the rules (here
    // a SUBACK for a request never made), not about the oldest message in flight: in 3.1.1 as in 5.0 it gives no
    // strike, so with a threshold of 1 the message stays queued for the next connection.
    for version in VERSIONS {
        let config = Config {
            poison_threshold: 1,
            ..persistent(version)
        };
        let (mut s, now) = connect_by_hand(ConnAck::default(), &config);
        assert!(matches!(s.poll_event(), Some(Event::Connected { .. })));
        let message = Publish {
            topic: "t",
            payload: b"in flight",
            qos: QoS::AtLeastOnce,
            ..Publish::default()
        };
        s.publish(&message, now).unwrap();
        assert!(!drain_transmit(&mut s, now).is_empty());
        let suback = encode(
            Packet::SubAck(SubAck {
                packet_id: PacketId::new(9).unwrap(),
                properties: Default::default(),
                reasons: codec::List::new(&[ReasonCode::GRANTED_QOS_0]),
            }),
            version,
        );
        assert_eq!(s.handle_bytes(&suback, now), suback.len());
        let mut events = Vec::new();
        for _ in 0..4 {
            while let Some(event) = s.poll_event() {
                events.push(format!("{event:?}"));
            }
            drain_transmit(&mut s, now);
        }
        assert!(
            events.iter().any(|e| e.contains("UnknownPacketId")),
            "{version}: {events:?}"
        );
        assert!(
            !events.iter().any(|e| e.contains("PublishFailed")),
            "{version}: {events:?}"
        );
        assert_eq!(s.queued(), 1, "{version}");
    }
}
