//! Delivery at the application's pace, in deterministic simulation: manual acknowledgement (`Config::manual_ack`,
//! `Session::ack`) and holding a message (`Session::hold_message`). Keep alive while the client itself pauses is
//! in `session_keep_alive.rs`.

use mqtt_core::codec::{Ack, Packet, PacketId, PacketType, ProtocolVersion, Publish, QoS};
use mqtt_core::session::Disconnection;
use mqtt_core::{Config, Event, ProtocolError};
use mqtt_test::{BrokerConfig, Direction, Message, RecordedEvent, Sim, SimConfig};

mod simulated;
use simulated::{VERSIONS, inject, manual, secs, subscribed};

/// The acknowledgements of incoming messages the client sent (PUBACK and PUBREC), as (type, packet id).
fn acks_sent(sim: &Sim) -> Vec<(PacketType, u16)> {
    sim.broker()
        .log()
        .iter()
        .filter(|r| {
            r.direction == Direction::ClientToBroker
                && matches!(r.packet_type, PacketType::PubAck | PacketType::PubRec)
        })
        .map(|r| (r.packet_type, r.packet_id.unwrap()))
        .collect()
}

/// The QoS 1 and 2 PUBLISH packets the broker sent, as (acknowledgement expected, packet id).
fn publishes_received(sim: &Sim) -> Vec<(PacketType, u16)> {
    sim.broker()
        .log()
        .iter()
        .filter(|r| {
            r.direction == Direction::BrokerToClient
                && r.packet_type == PacketType::Publish
                && r.qos != QoS::AtMostOnce
        })
        .map(|r| {
            let ack = match r.qos {
                QoS::ExactlyOnce => PacketType::PubRec,
                _ => PacketType::PubAck,
            };
            (ack, r.packet_id.unwrap())
        })
        .collect()
}

fn payloads(sim: &Sim) -> Vec<String> {
    sim.messages()
        .iter()
        .map(|m| m.payload_str().into_owned())
        .collect()
}

fn no_violations(sim: &Sim) {
    assert!(
        sim.broker().violations().is_empty(),
        "{:?}",
        sim.broker().violations()
    );
}

fn reconnected(sim: &mut Sim) {
    sim.cut_link();
    assert!(
        sim.run_until(|s| s.session().is_connected(), secs(5)),
        "no reconnection"
    );
    sim.run_until_idle();
}

#[test]
fn nothing_is_acknowledged_before_the_application_acks() {
    for version in VERSIONS {
        let mut sim = subscribed(&manual(version), SimConfig::default());
        inject(&mut sim, "t/1", b"one", QoS::AtLeastOnce);
        inject(&mut sim, "t/2", b"two", QoS::ExactlyOnce);
        sim.run_for(secs(5));
        assert_eq!(payloads(&sim), ["one", "two"], "{version}");
        assert_eq!(acks_sent(&sim), [], "{version}: acknowledged unasked");
        assert_eq!(sim.session().pending_acks(), 2);
        assert!(!sim.session().wants_write());
        assert_eq!(sim.unacked().len(), 2);

        assert_eq!(sim.ack_all(), 2);
        sim.run_until_idle();
        assert_eq!(acks_sent(&sim), publishes_received(&sim), "{version}");
        assert_eq!(sim.session().pending_acks(), 0);
        assert_eq!(
            sim.broker().pending_to_client(),
            0,
            "{version}: PUBREL/PUBCOMP done"
        );
        no_violations(&sim);
    }
}

#[test]
fn acks_leave_in_arrival_order_when_the_application_acks_out_of_order() {
    // [MQTT-4.6.0-2] PUBACK and [MQTT-4.6.0-3] PUBREC in the order the PUBLISH packets were received.
    for version in VERSIONS {
        let mut sim = subscribed(&manual(version), SimConfig::default());
        let qos = [
            QoS::AtLeastOnce,
            QoS::ExactlyOnce,
            QoS::AtLeastOnce,
            QoS::ExactlyOnce,
            QoS::AtLeastOnce,
        ];
        for (i, q) in qos.iter().enumerate() {
            inject(&mut sim, &format!("t/{i}"), format!("m{i}").as_bytes(), *q);
        }
        sim.run_until_idle();
        let tokens = sim.unacked().to_vec();
        assert_eq!(tokens.len(), 5);
        // Newest first: nothing may go out while the oldest is not acknowledged.
        for token in tokens[1..].iter().rev() {
            assert!(sim.ack(*token));
            sim.run_until_idle();
            assert_eq!(acks_sent(&sim), [], "{version}");
        }
        assert!(!sim.ack(tokens[3]), "{version}: a repeated ack is refused");
        assert!(sim.ack(tokens[0]));
        sim.run_until_idle();
        let received = publishes_received(&sim);
        assert_eq!(received.len(), 5);
        assert_eq!(
            acks_sent(&sim),
            received,
            "{version}: all of them, in order"
        );
        for token in &tokens {
            assert!(!sim.ack(*token), "{version}: sent already");
        }
        sim.run_until_idle();
        assert_eq!(acks_sent(&sim).len(), 5, "{version}: none twice");
        assert_eq!(sim.broker().pending_to_client(), 0);
        no_violations(&sim);
    }
}

#[test]
fn a_full_window_stops_the_broker_until_the_application_acks() {
    // 5.0: the broker sees Receive Maximum 4 in CONNECT and stops after 4 unacknowledged messages.
    let config = Config {
        receive_maximum: 4,
        ..manual(ProtocolVersion::V5)
    };
    let mut sim = subscribed(&config, SimConfig::default());
    assert_eq!(sim.broker().connections()[0].receive_maximum, Some(4));
    for i in 0..20 {
        inject(
            &mut sim,
            "t/flood",
            format!("{i}").as_bytes(),
            QoS::AtLeastOnce,
        );
    }
    sim.run_for(secs(5));
    assert_eq!(sim.messages().len(), 4);
    assert_eq!(sim.broker().delivered().len(), 4, "the window is full");
    assert_eq!(sim.broker().pending_to_client(), 20);
    assert_eq!(acks_sent(&sim), []);
    // One ack, one more message.
    let first = sim.unacked()[0];
    sim.ack(first);
    sim.run_until_idle();
    assert_eq!(sim.broker().delivered().len(), 5);
    assert_eq!(sim.messages().len(), 5);
    for _ in 0..20 {
        sim.ack_all();
        sim.run_until_idle();
    }
    let expected: Vec<String> = (0..20).map(|i| i.to_string()).collect();
    assert_eq!(payloads(&sim), expected, "every message once, in order");
    assert_eq!(acks_sent(&sim), publishes_received(&sim));
    assert_eq!(sim.broker().pending_to_client(), 0);
    no_violations(&sim);
}

/// A 3.1.1 session with manual acks and a record of 4, to which the broker sent 12 QoS 1 messages (3.1.1 has no
/// Receive Maximum to tell it the window), 5 seconds later.
fn flooded_past_a_window_of_4() -> Sim {
    let config = Config {
        receive_maximum: 4,
        ..manual(ProtocolVersion::V311)
    };
    let mut sim = subscribed(&config, SimConfig::default());
    for i in 0..12 {
        inject(
            &mut sim,
            "t/flood",
            format!("{i}").as_bytes(),
            QoS::AtLeastOnce,
        );
    }
    sim.run_for(secs(5));
    sim
}

#[test]
fn a_full_record_leaves_the_next_publish_unprocessed_when_the_broker_ignores_the_window() {
    // 3.1.1 has no Receive Maximum: the broker sends everything, the session processes 4 and waits. (QoS 1: a
    // QoS 2 flood beyond the window would overflow the QoS 2 table, whose PUBRELs wait behind the unprocessed
    // PUBLISH packets, and end the connection with ReceiveMaximumExceeded, as `Config::receive_maximum` says.)
    let mut sim = flooded_past_a_window_of_4();
    assert_eq!(sim.broker().delivered().len(), 12);
    assert_eq!(sim.messages().len(), 4);
    assert_eq!(sim.session().pending_acks(), 4);
    assert!(sim.session().is_paused());
    let received_before = sim.session().stats().messages_received;
    assert_eq!(received_before, 4, "the fifth PUBLISH is not processed");
    while !sim.unacked().is_empty() {
        // The oldest only: each ack makes room for exactly one more.
        let oldest = sim.unacked()[0];
        sim.ack(oldest);
        sim.run_until_idle();
    }
    let expected: Vec<String> = (0..12).map(|i| i.to_string()).collect();
    assert_eq!(payloads(&sim), expected);
    assert_eq!(acks_sent(&sim), publishes_received(&sim));
    assert!(!sim.session().is_paused());
    assert_eq!(sim.broker().pending_to_client(), 0);
    no_violations(&sim);
}

#[test]
fn answers_behind_a_publish_the_full_record_holds_back_are_handled_at_once() {
    // 3.1.1: the broker sends past the window, and the PUBLISH packets beyond it wait in the receive buffer for
    // the application's acks. An application that awaits its own PUBACK or SUBACK before it acks anything gets
    // them: they are handled ahead of the waiting PUBLISH packets, which keep their order.
    let mut sim = flooded_past_a_window_of_4();
    assert_eq!(sim.messages().len(), 4);
    assert!(sim.session().is_paused());
    let published = sim.publish("out/reply", b"r", QoS::AtLeastOnce).unwrap();
    let subscribed = sim.subscribe("u/#", QoS::AtLeastOnce).unwrap();
    sim.run_for(secs(5));
    let events = sim.events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, RecordedEvent::Published { ticket } if *ticket == published)),
        "the PUBACK behind the waiting PUBLISH packets: {events:?}"
    );
    assert!(
        events.iter().any(
            |e| matches!(e, RecordedEvent::Subscribed { ticket, .. } if *ticket == subscribed)
        ),
        "the SUBACK behind the waiting PUBLISH packets: {events:?}"
    );
    assert_eq!(
        sim.messages().len(),
        4,
        "the PUBLISH packets still wait for the application's acks"
    );
    assert_eq!(sim.session().stats().messages_received, 4);
    while !sim.unacked().is_empty() {
        let oldest = sim.unacked()[0];
        sim.ack(oldest);
        sim.run_until_idle();
    }
    let expected: Vec<String> = (0..12).map(|i| i.to_string()).collect();
    assert_eq!(payloads(&sim), expected, "every message once, in order");
    assert_eq!(acks_sent(&sim), publishes_received(&sim));
    no_violations(&sim);
}

#[test]
fn a_token_of_an_earlier_connection_acknowledges_nothing() {
    for version in VERSIONS {
        let mut sim = subscribed(&manual(version), SimConfig::default());
        inject(&mut sim, "t/1", b"one", QoS::AtLeastOnce);
        sim.run_until_idle();
        let stale = sim.unacked()[0];
        reconnected(&mut sim);
        // The broker resends it with DUP and the same packet identifier: a new arrival with a new token.
        let resent = sim.broker().delivered().last().unwrap().clone();
        assert!(resent.dup, "{version}");
        assert_eq!(resent.packet_id, sim.broker().delivered()[0].packet_id);
        assert_eq!(payloads(&sim), ["one", "one"], "{version}: QoS 1 again");
        let fresh = *sim.unacked().last().unwrap();
        assert_ne!(fresh, stale);
        assert!(!sim.ack(stale), "{version}");
        sim.run_until_idle();
        assert_eq!(
            acks_sent(&sim),
            [],
            "{version}: the stale token acknowledged it"
        );
        assert!(sim.ack(fresh));
        sim.run_until_idle();
        assert_eq!(acks_sent(&sim).len(), 1, "{version}");
        assert_eq!(sim.broker().pending_to_client(), 0);
        no_violations(&sim);
    }
}

/// A QoS 2 message delivered on a connection that ends before the application's ack is not delivered again
/// when the broker resends it; its PUBREC goes out without that ack, and the flow completes once.
#[test]
fn qos2_with_manual_acks_is_delivered_once_across_a_cut_before_the_application_acks() {
    for version in VERSIONS {
        let mut sim = subscribed(&manual(version), SimConfig::default());
        inject(&mut sim, "t/2", b"once", QoS::ExactlyOnce);
        sim.run_until_idle();
        let token = sim.unacked()[0];
        reconnected(&mut sim);
        assert!(
            sim.broker().delivered().last().unwrap().dup,
            "{version}: resent"
        );
        assert_eq!(payloads(&sim), ["once"], "{version}: delivered twice");
        assert!(!sim.ack(token));
        sim.run_until_idle();
        assert_eq!(
            acks_sent(&sim).len(),
            1,
            "{version}: one PUBREC, on the new connection"
        );
        assert_eq!(
            sim.broker().pending_to_client(),
            0,
            "{version}: PUBREL, PUBCOMP"
        );
        assert_eq!(sim.session().pending_acks(), 0);
        no_violations(&sim);
    }
}

/// The application acks, the PUBREC is lost with the connection, the broker resends: exactly once.
#[test]
fn qos2_with_manual_acks_is_delivered_once_when_the_pubrec_is_lost() {
    for version in VERSIONS {
        let mut sim = subscribed(&manual(version), SimConfig::default());
        inject(&mut sim, "t/2", b"once", QoS::ExactlyOnce);
        sim.run_until_idle();
        sim.link_mut().cut_after(Direction::ClientToBroker, 0);
        let token = sim.unacked()[0];
        assert!(sim.ack(token));
        assert!(
            sim.run_until(
                |s| s.session().is_connected() && s.broker().connections().len() == 2,
                secs(10)
            ),
            "{version}"
        );
        sim.run_until_idle();
        assert_eq!(payloads(&sim), ["once"], "{version}");
        assert_eq!(sim.broker().received().len(), 0);
        assert_eq!(sim.broker().pending_to_client(), 0, "{version}");
        no_violations(&sim);
    }
}

/// A PUBLISH encoded for `send_raw`.
fn raw_publish(version: ProtocolVersion, qos: QoS, packet_id: u16, dup: bool) -> Vec<u8> {
    let packet = Packet::Publish(Publish {
        dup,
        qos,
        topic: "t/raw",
        packet_id: PacketId::new(packet_id),
        payload: b"raw",
        ..Publish::default()
    });
    let mut bytes = vec![0; packet.encoded_len(version)];
    packet.encode(version, &mut bytes).unwrap();
    bytes
}

#[test]
fn a_copy_resent_while_the_first_awaits_the_ack_is_neither_delivered_nor_acknowledged_early() {
    for version in VERSIONS {
        for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
            let mut sim = subscribed(&manual(version), SimConfig::default());
            sim.broker_mut()
                .send_raw(&raw_publish(version, qos, 500, false));
            sim.broker_mut()
                .send_raw(&raw_publish(version, qos, 500, true));
            sim.run_until_idle();
            assert_eq!(sim.messages().len(), 1, "{version} {qos:?}");
            assert_eq!(acks_sent(&sim), [], "{version} {qos:?}: acknowledged early");
            assert_eq!(sim.session().pending_acks(), 1);
            assert_eq!(sim.ack_all(), 1);
            sim.run_until_idle();
            let ack = match qos {
                QoS::ExactlyOnce => PacketType::PubRec,
                _ => PacketType::PubAck,
            };
            assert_eq!(acks_sent(&sim), [(ack, 500)], "{version} {qos:?}: once");
            assert!(sim.session().is_connected());
        }
    }
}

/// PUBREL for a message whose PUBREC was not sent breaks the flow: the broker cannot have received what it
/// releases. The session closes the connection, keeps the message's QoS 2 state, and exactly once still holds
/// when the broker resends.
#[test]
fn pubrel_before_the_pubrec_is_a_protocol_error_and_exactly_once_survives_it() {
    for version in VERSIONS {
        let mut sim = subscribed(&manual(version), SimConfig::default());
        inject(&mut sim, "t/2", b"once", QoS::ExactlyOnce);
        sim.run_until_idle();
        let id = sim.broker().delivered()[0].packet_id.unwrap();
        let pubrel = Packet::PubRel(Ack::new(PacketId::new(id).unwrap()));
        let mut bytes = vec![0; pubrel.encoded_len(version)];
        pubrel.encode(version, &mut bytes).unwrap();
        sim.broker_mut().send_raw(&bytes);
        sim.run_until_idle();
        let error = ProtocolError::UnexpectedPacket(PacketType::PubRel);
        assert!(
            sim.events().contains(&RecordedEvent::ConnectionLost {
                reason: Disconnection::Protocol(error)
            }),
            "{version}: {:?}",
            sim.events()
        );
        assert!(sim.run_until(|s| s.session().is_connected(), secs(5)));
        sim.run_until_idle();
        assert_eq!(payloads(&sim), ["once"], "{version}");
        assert_eq!(sim.broker().pending_to_client(), 0, "{version}");
    }
}

#[test]
fn a_held_message_comes_back_identical_without_applying_anything_twice() {
    // Topic aliases: the second message comes with the alias only, resolved from the session's table.
    let config = Config {
        topic_alias_maximum: 4,
        ..manual(ProtocolVersion::V5)
    };
    let sim_config = SimConfig {
        broker: BrokerConfig {
            topic_aliases_to_client: true,
            ..BrokerConfig::default()
        },
        ..SimConfig::default()
    };
    let mut sim = subscribed(&config, sim_config);
    sim.set_message_budget(Some(1));
    inject(&mut sim, "t/aliased", b"first", QoS::ExactlyOnce);
    inject(&mut sim, "t/aliased", b"second", QoS::ExactlyOnce);
    sim.run_until_idle();
    assert_eq!(sim.broker().delivered()[1].topic_alias, Some(1));
    assert_eq!(payloads(&sim), ["first"]);
    assert!(sim.session().has_held_message());
    assert!(sim.session().is_paused());
    let stats = sim.session().stats();
    let pending = sim.session().pending_acks();

    // The application looks again, twice, and holds it each time.
    let now = sim.now();
    let session = sim.session_mut();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let event = session.poll_event();
        let message = match event {
            Some(Event::Message(p)) => Message::from_publish(&p, p.topic),
            other => panic!("{other:?}"),
        };
        seen.push((message, session.message_ack()));
        assert!(session.hold_message());
        assert_eq!(session.poll_transmit(now, &mut [0; 256]), None);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0].0.topic, "t/aliased");
    assert_eq!(seen[0].0.payload, b"second");
    assert!(seen[0].1.is_some());
    assert_eq!(sim.session().stats(), stats, "counted again");
    assert_eq!(sim.session().pending_acks(), pending, "recorded again");

    // Nothing after it is processed meanwhile.
    inject(&mut sim, "t/aliased", b"third", QoS::AtLeastOnce);
    sim.run_until_idle();
    assert_eq!(payloads(&sim), ["first"]);
    assert_eq!(sim.session().stats().messages_received, 2);

    sim.set_message_budget(None);
    sim.run_until_idle();
    assert_eq!(payloads(&sim), ["first", "second", "third"]);
    assert!(sim.messages().iter().all(|m| m.topic == "t/aliased"));
    assert_eq!(
        sim.unacked()[1],
        seen[0].1.unwrap(),
        "the token handed out while held"
    );
    assert_eq!(sim.session().stats().messages_received, 3);
    assert!(!sim.session().has_held_message());
    sim.ack_all();
    sim.run_until_idle();
    assert_eq!(acks_sent(&sim), publishes_received(&sim));
    no_violations(&sim);
}

#[test]
fn hold_message_without_a_message_holds_nothing() {
    let mut sim = subscribed(&manual(ProtocolVersion::V5), SimConfig::default());
    let session = sim.session_mut();
    assert_eq!(session.poll_event(), None);
    assert!(!session.hold_message());
    assert!(!session.has_held_message());
    assert_eq!(session.message_ack(), None);
}

#[test]
fn holding_a_message_without_manual_acks_holds_its_acknowledgement_back() {
    for version in VERSIONS {
        let config = Config {
            manual_ack: false,
            ..manual(version)
        };
        let mut sim = subscribed(&config, SimConfig::default());
        sim.set_message_budget(Some(0));
        inject(&mut sim, "t/1", b"one", QoS::AtLeastOnce);
        sim.run_for(secs(5));
        assert!(sim.session().has_held_message());
        assert_eq!(acks_sent(&sim), [], "{version}: acknowledged while held");
        assert_eq!(
            sim.session().message_ack(),
            None,
            "{version}: no token without manual acks"
        );
        sim.set_message_budget(None);
        sim.run_until_idle();
        assert_eq!(payloads(&sim), ["one"]);
        assert_eq!(
            acks_sent(&sim).len(),
            1,
            "{version}: acknowledged once taken"
        );
        no_violations(&sim);
    }
}

/// A held message is not the application's yet: when the connection ends, the broker's resend is delivered.
#[test]
fn a_held_message_lost_with_the_connection_is_delivered_when_resent() {
    for version in VERSIONS {
        for manual_ack in [true, false] {
            for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
                let config = Config {
                    manual_ack,
                    ..manual(version)
                };
                let mut sim = subscribed(&config, SimConfig::default());
                sim.set_message_budget(Some(0));
                inject(&mut sim, "t/held", b"held", qos);
                sim.run_until_idle();
                assert!(sim.session().has_held_message());
                reconnected(&mut sim);
                assert!(!sim.session().has_held_message() || sim.session().is_connected());
                sim.set_message_budget(None);
                sim.run_until_idle();
                sim.ack_all();
                sim.run_until_idle();
                let context = format!("{version} manual {manual_ack} {qos:?}");
                assert_eq!(payloads(&sim), ["held"], "{context}");
                assert_eq!(sim.broker().pending_to_client(), 0, "{context}");
                no_violations(&sim);
            }
        }
    }
}

#[test]
fn without_manual_acks_behaviour_is_unchanged() {
    for version in VERSIONS {
        let config = Config {
            manual_ack: false,
            ..manual(version)
        };
        let mut sim = subscribed(&config, SimConfig::default());
        inject(&mut sim, "t/1", b"one", QoS::AtLeastOnce);
        inject(&mut sim, "t/2", b"two", QoS::ExactlyOnce);
        sim.run_until_idle();
        assert_eq!(sim.unacked(), []);
        assert_eq!(sim.session().pending_acks(), 0);
        assert_eq!(acks_sent(&sim), publishes_received(&sim));
        assert_eq!(sim.broker().pending_to_client(), 0);
    }
}

#[test]
fn the_acknowledgement_record_takes_three_bytes_per_receive_maximum_from_the_store() {
    let needed = |manual_ack: bool| {
        let config = Config {
            receive_maximum: 100,
            manual_ack,
            ..Config::new("size")
        };
        match mqtt_core::Session::new(&config, mqtt_core::Buffers::owned(256, 16, 64)) {
            Err(mqtt_core::ConfigError::StoreTooSmall { needed, .. }) => needed,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(needed(true) - needed(false), 300);
    let config = Config {
        receive_maximum: 100,
        manual_ack: true,
        ..Config::new("size")
    };
    let fits = mqtt_core::Buffers::owned(256, needed(true), 64);
    assert!(mqtt_core::Session::new(&config, fits).is_ok());
}

#[test]
fn acks_go_out_before_a_graceful_disconnect() {
    let mut sim = subscribed(&manual(ProtocolVersion::V5), SimConfig::default());
    inject(&mut sim, "t/1", b"one", QoS::AtLeastOnce);
    sim.run_until_idle();
    let token = sim.unacked()[0];
    let now = sim.now();
    sim.session_mut().ack(token, now);
    sim.disconnect();
    sim.run_until_idle();
    let log: Vec<PacketType> = sim
        .broker()
        .log()
        .iter()
        .filter(|r| r.direction == Direction::ClientToBroker)
        .map(|r| r.packet_type)
        .collect();
    assert_eq!(
        log[log.len() - 2..],
        [PacketType::PubAck, PacketType::Disconnect]
    );
}

/// A persistent session that received `payload` at QoS 1 and whose application acknowledged it just now: the
/// PUBACK is released, not written yet.
fn released(version: ProtocolVersion, payload: &[u8]) -> Sim {
    let mut sim = subscribed(&manual(version), SimConfig::default());
    inject(&mut sim, "t/1", payload, QoS::AtLeastOnce);
    sim.run_until_idle();
    let token = sim.unacked()[0];
    let now = sim.now();
    assert!(sim.session_mut().ack(token, now));
    sim
}

/// After a reconnect: connected again, once, the message acknowledged once and not delivered again.
fn reconnected_once(sim: &Sim, version: ProtocolVersion, payload: &str) {
    assert!(sim.session().is_connected(), "{version}");
    assert_eq!(sim.broker().connections().len(), 2, "{version}");
    assert_eq!(
        sim.broker()
            .count(Direction::ClientToBroker, PacketType::PubAck),
        1,
        "{version}"
    );
    assert_eq!(
        payloads(sim),
        [payload],
        "{version}: the message came again"
    );
}

/// A reconnect asked for while a released acknowledgement is unwritten: the PUBACK goes out first, then the
/// connection ends, so the broker does not send the message again on the resumed session `[MQTT-4.4.0-1]`.
#[test]
fn a_reconnect_writes_the_released_acknowledgements_before_the_connection_ends() {
    for version in VERSIONS {
        let mut sim = released(version, b"command");
        sim.reconnect();
        sim.run_for(secs(5));
        reconnected_once(&sim, version, "command");
    }
}

/// The connection is lost before the acknowledgements released for a reconnect are written: the reconnect the
/// application asked for happens at once, and the next connection is not ended by the request that is already
/// served.
#[test]
fn a_reconnect_waiting_for_its_acknowledgements_survives_a_cut_and_leaves_the_next_connection_up() {
    for version in VERSIONS {
        let mut sim = released(version, b"command");
        let now = sim.now();
        sim.session_mut().reconnect(now);
        // The transport fails before the session could write anything.
        sim.session_mut().handle_transport_down(now);
        sim.run_for(secs(30));
        assert!(
            sim.session().is_connected(),
            "{version}: {:?}",
            sim.events()
        );
        assert_eq!(
            sim.broker().connections().len(),
            2,
            "{version}: one connection after the cut, not one more"
        );
    }
}

/// A paho habit in a message handler: `disconnect()` then `reconnect()` to restart the connection. The reconnect
/// calls the graceful disconnect off (its DISCONNECT is not written yet) and, as any reconnect, writes the
/// acknowledgement released meanwhile before the connection ends: the broker does not send the message again on
/// the resumed session `[MQTT-4.4.0-1]`, and the handler does not restart the connection again and again.
#[test]
fn a_reconnect_that_calls_off_a_disconnect_writes_the_released_acknowledgements_first() {
    for version in VERSIONS {
        let mut sim = released(version, b"restart");
        let now = sim.now();
        sim.session_mut()
            .disconnect_within(core::time::Duration::ZERO, now);
        sim.reconnect();
        sim.run_for(secs(5));
        reconnected_once(&sim, version, "restart");
        assert_eq!(
            sim.broker()
                .count(Direction::ClientToBroker, PacketType::Disconnect),
            0,
            "{version}: the disconnect was called off"
        );
    }
}

/// A 5.0 broker breaks the protocol while a reconnect waits for its acknowledgements: the session sends its
/// DISCONNECT with the reason, and the reconnect the application asked for then happens at once,
/// not after the reconnect schedule's first delay.
#[test]
fn a_reconnect_waiting_for_its_acknowledgements_happens_at_once_after_a_protocol_error() {
    let version = ProtocolVersion::V5;
    let mut sim = released(version, b"command");
    let now = sim.now();
    sim.session_mut().reconnect(now);
    // Packet type 0 is reserved: a malformed packet.
    sim.session_mut().handle_bytes(&[0x00, 0x00], now);
    // Read before the acknowledgement is written: the session is closing with its reason.
    assert!(matches!(
        sim.session_mut().poll_event(),
        Some(Event::ConnectionLost {
            reason: Disconnection::Protocol(_)
        })
    ));
    assert!(
        sim.run_until(
            |s| s.session().is_connected() && s.broker().connections().len() == 2,
            core::time::Duration::from_millis(200)
        ),
        "{}",
        sim.trace().tail(20)
    );
}
