//! End-to-end checks that the simulation harness drives the real session faithfully: connection in both protocol
//! versions, the three QoS levels through the broker and back, link latency, and a cut after N bytes.

use core::time::Duration;

use mqtt_core::Config;
use mqtt_core::codec::{PacketType, ProtocolVersion, QoS, ReasonCode};
use mqtt_core::session::Disconnection;
use mqtt_test::{Direction, LinkConfig, RecordedEvent, Sim, SimConfig};

const VERSIONS: [ProtocolVersion; 2] = [ProtocolVersion::V311, ProtocolVersion::V5];

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn sim(version: ProtocolVersion, sim: SimConfig) -> Sim {
    let config = Config {
        version,
        // Exact reconnect delays to assert.
        reconnect: mqtt_core::reconnect::ReconnectPolicy {
            jitter_permille: 0,
            ..Default::default()
        },
        ..Config::new("sim-client")
    };
    Sim::new(&config, sim).expect("valid configuration")
}

fn connected(version: ProtocolVersion, config: SimConfig) -> Sim {
    let mut sim = sim(version, config);
    sim.connect();
    assert!(
        sim.run_until(|s| s.session().is_connected(), secs(5)),
        "{version}: no connection"
    );
    sim
}

#[test]
fn connects_in_both_protocol_versions() {
    for version in VERSIONS {
        let mut sim = sim(version, SimConfig::default());
        sim.connect();
        assert!(
            sim.run_until(|s| s.session().is_connected(), secs(5)),
            "{version}"
        );
        assert_eq!(
            sim.events(),
            [RecordedEvent::Connected {
                session_present: false
            }]
        );
        assert!(sim.broker().is_connected());
        let record = &sim.broker().connections()[0];
        assert_eq!(record.version, version);
        assert_eq!(record.client_id, "sim-client");
        assert!(record.clean_start);
        assert_eq!(record.keep_alive, 60);
        assert_eq!(record.reason, ReasonCode::SUCCESS);
        assert_eq!(
            sim.broker()
                .count(Direction::ClientToBroker, PacketType::Connect),
            1
        );
        assert_eq!(
            sim.broker()
                .count(Direction::BrokerToClient, PacketType::ConnAck),
            1
        );
        assert!(
            sim.broker().violations().is_empty(),
            "{:?}",
            sim.broker().violations()
        );
    }
}

#[test]
fn publishes_at_each_qos_to_an_own_subscription_arrive_exactly_once() {
    for version in VERSIONS {
        let mut sim = connected(version, SimConfig::default());
        let subscribed = sim.subscribe("sim/#", QoS::ExactlyOnce).unwrap();
        sim.run_until_idle();
        assert_eq!(
            sim.take_events(),
            [
                RecordedEvent::Connected {
                    session_present: false
                },
                RecordedEvent::Subscribed {
                    ticket: subscribed,
                    reasons: vec![ReasonCode::GRANTED_QOS_2]
                },
            ],
            "{version}"
        );

        let qos = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce];
        let mut tickets = Vec::new();
        for q in qos {
            let topic = format!("sim/q{}", q as u8);
            tickets.push(sim.publish(&topic, topic.as_bytes(), q).unwrap());
        }
        sim.run_until_idle();

        let received: Vec<(String, QoS, bool)> = sim
            .broker()
            .received()
            .iter()
            .map(|m| (m.topic.clone(), m.qos, m.dup))
            .collect();
        let expected: Vec<(String, QoS, bool)> = qos
            .iter()
            .map(|&q| (format!("sim/q{}", q as u8), q, false))
            .collect();
        assert_eq!(
            received, expected,
            "{version}: the broker accepts each message once"
        );

        let messages: Vec<(String, Vec<u8>, QoS)> = sim
            .messages()
            .iter()
            .map(|m| (m.topic.clone(), m.payload.clone(), m.qos))
            .collect();
        let expected: Vec<(String, Vec<u8>, QoS)> = qos
            .iter()
            .map(|&q| {
                (
                    format!("sim/q{}", q as u8),
                    format!("sim/q{}", q as u8).into_bytes(),
                    q,
                )
            })
            .collect();
        assert_eq!(
            messages, expected,
            "{version}: the session delivers each message once"
        );

        let events = sim.events();
        for ticket in &tickets[1..] {
            assert_eq!(
                events
                    .iter()
                    .filter(|e| **e == RecordedEvent::Published { ticket: *ticket })
                    .count(),
                1,
                "{version}: one completion per QoS 1/2 message"
            );
        }
        let from_client = |t| sim.broker().count(Direction::ClientToBroker, t);
        let to_client = |t| sim.broker().count(Direction::BrokerToClient, t);
        // The QoS 2 flows both ways, and the QoS 1 acknowledgements.
        assert_eq!(
            (
                from_client(PacketType::PubRel),
                to_client(PacketType::PubComp)
            ),
            (1, 1)
        );
        assert_eq!(
            (
                to_client(PacketType::PubRel),
                from_client(PacketType::PubComp)
            ),
            (1, 1)
        );
        assert_eq!(
            (
                to_client(PacketType::PubAck),
                from_client(PacketType::PubAck)
            ),
            (1, 1)
        );
        assert_eq!(sim.session().inflight(), 0);
        assert_eq!(sim.broker().pending_to_client(), 0);
        assert!(
            sim.broker().violations().is_empty(),
            "{:?}",
            sim.broker().violations()
        );
    }
}

#[test]
fn link_latency_delays_every_step_of_the_connection() {
    let config = SimConfig {
        link: LinkConfig {
            latency: ms(50),
            ..LinkConfig::default()
        },
        ..SimConfig::default()
    };
    let mut sim = sim(ProtocolVersion::V5, config);
    let start = sim.now();
    sim.connect();
    // Set-up takes one trip, CONNECT another, CONNACK a third.
    assert!(sim.run_until(|s| s.broker().is_connected(), secs(1)));
    assert_eq!(
        sim.now() - start,
        ms(100),
        "CONNECT reaches the broker after set-up and one trip"
    );
    assert!(!sim.session().is_connected());
    assert!(sim.run_until(|s| s.session().is_connected(), secs(1)));
    assert_eq!(sim.now() - start, ms(150), "CONNACK takes one more trip");

    sim.publish("t", b"x", QoS::AtLeastOnce).unwrap();
    let sent = sim.now();
    assert!(sim.run_until(|s| !s.broker().received().is_empty(), secs(1)));
    assert_eq!(sim.now() - sent, ms(50));
    assert!(sim.run_until(|s| s.session().inflight() == 0, secs(1)));
    assert_eq!(
        sim.now() - sent,
        ms(100),
        "PUBACK comes back a round trip after PUBLISH"
    );
}

#[test]
fn jittered_runs_with_the_same_seed_are_identical() {
    let run = |seed| {
        let config = SimConfig {
            link: LinkConfig {
                latency: ms(5),
                jitter: ms(40),
                seed,
            },
            ..SimConfig::default()
        };
        let mut sim = connected(ProtocolVersion::V5, config);
        sim.subscribe("j/#", QoS::ExactlyOnce).unwrap();
        for i in 0..10u8 {
            sim.publish("j/x", &[i], QoS::ExactlyOnce).unwrap();
            sim.run_for(ms(3));
        }
        sim.run_until_idle();
        let payloads: Vec<u8> = sim.messages().iter().map(|m| m.payload[0]).collect();
        assert_eq!(
            payloads,
            (0..10).collect::<Vec<u8>>(),
            "in order, once each"
        );
        (sim.now(), sim.trace().to_string())
    };
    assert_eq!(run(1), run(1));
    assert_ne!(
        run(1).0,
        run(2).0,
        "a different seed gives different timing"
    );
}

#[test]
fn a_cut_after_n_bytes_is_seen_by_both_sides_and_the_session_reconnects_after_1_s() {
    for version in VERSIONS {
        let mut sim = connected(version, SimConfig::default());
        sim.take_events();
        // The PUBLISH is cut after 5 of its bytes.
        sim.link_mut().cut_after(Direction::ClientToBroker, 5);
        let ticket = sim
            .publish("cut/here", b"payload", QoS::AtLeastOnce)
            .unwrap();
        assert!(
            sim.run_until(|s| !s.session().is_connected(), secs(1)),
            "{version}"
        );
        let lost_at = sim.now();
        assert!(
            !sim.broker().is_connected(),
            "{version}: the broker saw the close too"
        );
        assert!(
            sim.broker().received().is_empty(),
            "{version}: 5 bytes are no PUBLISH"
        );
        assert_eq!(
            sim.take_events(),
            [
                RecordedEvent::ConnectionLost {
                    reason: Disconnection::TransportClosed
                },
                RecordedEvent::Reconnecting {
                    attempt: 1,
                    delay: secs(1)
                },
            ],
            "{version}"
        );

        assert!(
            sim.run_until(|s| s.link().connections() == 2, secs(5)),
            "{version}"
        );
        assert_eq!(
            sim.now() - lost_at,
            secs(1),
            "{version}: the default policy waits 1 s"
        );
        assert!(
            sim.run_until(|s| s.session().is_connected(), secs(1)),
            "{version}"
        );
        sim.run_until_idle();
        assert_eq!(sim.broker().connections().len(), 2);
        let received = sim.broker().received();
        assert_eq!(
            received.len(),
            1,
            "{version}: the message goes out again after reconnecting"
        );
        assert_eq!(received[0].payload, b"payload");
        assert!(
            sim.events().contains(&RecordedEvent::Published { ticket }),
            "{version}"
        );
    }
}

#[test]
fn a_cut_towards_the_client_is_seen_by_both_sides() {
    let mut sim = connected(ProtocolVersion::V311, SimConfig::default());
    sim.subscribe("down/#", QoS::AtMostOnce).unwrap();
    sim.run_until_idle();
    sim.take_events();
    sim.link_mut().cut_after(Direction::BrokerToClient, 3);
    assert!(
        sim.broker_mut()
            .inject("down/x", b"0123456789", QoS::AtMostOnce, false)
    );
    assert!(sim.run_until(|s| !s.session().is_connected(), secs(1)));
    assert!(!sim.broker().is_connected());
    assert!(sim.messages().is_empty(), "3 bytes are no PUBLISH");
    assert_eq!(
        sim.events()[0],
        RecordedEvent::ConnectionLost {
            reason: Disconnection::TransportClosed
        }
    );
}
