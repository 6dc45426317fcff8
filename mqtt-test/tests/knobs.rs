//! Each knob of the fake broker and the link, exercised through the real session: refusals, persistent and lost
//! sessions, a silent broker, held acknowledgements, cuts in the middle of QoS flows, server disconnects, topic
//! aliases, raw bytes, and an unreachable broker.

use core::time::Duration;

use mqtt_core::codec::{PacketType, ProtocolVersion, QoS, ReasonCode, Subscription, Will};
use mqtt_core::session::{ConnectRefusal, Disconnection};
use mqtt_core::{Config, PublishError, Ticket};
use mqtt_test::{BrokerConfig, Direction, RecordedEvent, Sim, SimConfig};

const VERSIONS: [ProtocolVersion; 2] = [ProtocolVersion::V311, ProtocolVersion::V5];

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn config(version: ProtocolVersion) -> Config<'static> {
    Config {
        version,
        // Exact reconnect delays to assert.
        reconnect: mqtt_core::reconnect::ReconnectPolicy {
            jitter_permille: 0,
            ..Default::default()
        },
        ..Config::new("knobs")
    }
}

/// A configuration whose session the broker keeps across connections, in either version.
fn persistent(version: ProtocolVersion) -> Config<'static> {
    Config {
        clean_start: false,
        session_expiry_interval: 3600,
        ..config(version)
    }
}

fn start(config: &Config<'_>, sim: SimConfig) -> Sim {
    let mut sim = Sim::new(config, sim).expect("valid configuration");
    sim.connect();
    assert!(
        sim.run_until(|s| s.session().is_connected(), secs(5)),
        "no connection"
    );
    sim.run_until_idle();
    sim
}

fn count(sim: &Sim, wanted: &RecordedEvent) -> usize {
    sim.events().iter().filter(|e| *e == wanted).count()
}

fn assert_no_violations(sim: &Sim) {
    assert!(
        sim.broker().violations().is_empty(),
        "{:?}",
        sim.broker().violations()
    );
}

#[test]
fn refused_for_bad_credentials_the_session_gives_up() {
    for (version, code) in [(ProtocolVersion::V311, 4), (ProtocolVersion::V5, 0x86)] {
        let mut sim = Sim::new(&config(version), SimConfig::default()).unwrap();
        sim.broker_mut().refuse_connect(Some(ReasonCode(code)));
        sim.connect();
        sim.run_for(secs(120));
        let reason = Disconnection::Refused(ConnectRefusal::BadUserNameOrPassword);
        assert_eq!(
            sim.events(),
            [
                RecordedEvent::ConnectFailed { reason },
                RecordedEvent::GaveUp { reason }
            ],
            "{version}"
        );
        assert_eq!(sim.link().connections(), 1, "{version}: no retry");
    }
}

#[test]
fn refused_as_unavailable_the_session_retries_until_accepted() {
    for (version, code) in [(ProtocolVersion::V311, 3), (ProtocolVersion::V5, 0x88)] {
        let mut sim = Sim::new(&config(version), SimConfig::default()).unwrap();
        sim.broker_mut().refuse_connect(Some(ReasonCode(code)));
        sim.connect();
        assert!(sim.run_until(|s| !s.events().is_empty(), secs(1)));
        sim.broker_mut().refuse_connect(None);
        assert!(
            sim.run_until(|s| s.session().is_connected(), secs(5)),
            "{version}"
        );
        let reason = Disconnection::Refused(ConnectRefusal::ServerUnavailable);
        assert_eq!(
            sim.events(),
            [
                RecordedEvent::ConnectFailed { reason },
                RecordedEvent::Reconnecting {
                    attempt: 1,
                    delay: secs(1)
                },
                RecordedEvent::Connected {
                    session_present: false
                },
            ],
            "{version}"
        );
        assert_eq!(sim.broker().connections().len(), 2);
    }
}

#[test]
fn a_persistent_session_receives_what_was_queued_while_it_was_offline() {
    for version in VERSIONS {
        let mut sim = start(&persistent(version), SimConfig::default());
        sim.subscribe("offline/#", QoS::AtLeastOnce).unwrap();
        sim.run_until_idle();
        sim.cut_link();
        assert!(!sim.session().is_connected());
        assert!(
            sim.broker_mut()
                .inject("offline/1", b"kept", QoS::AtLeastOnce, false)
        );
        assert!(
            sim.broker_mut()
                .inject("offline/0", b"dropped", QoS::AtMostOnce, false)
        );
        assert_eq!(sim.broker().pending_to_client(), 1);
        assert!(
            sim.run_until(|s| !s.messages().is_empty(), secs(5)),
            "{version}"
        );
        sim.run_until_idle();
        assert_eq!(
            count(
                &sim,
                &RecordedEvent::Connected {
                    session_present: true
                }
            ),
            1,
            "{version}"
        );
        let messages = sim.messages();
        assert_eq!(messages.len(), 1, "{version}");
        assert_eq!(messages[0].payload, b"kept");
        assert_eq!(
            sim.broker().pending_to_client(),
            0,
            "{version}: acknowledged"
        );
        assert_no_violations(&sim);
    }
}

#[test]
fn after_the_broker_lost_the_session_the_subscriptions_are_restored() {
    for version in VERSIONS {
        let mut sim = start(&persistent(version), SimConfig::default());
        sim.subscribe("kept/#", QoS::ExactlyOnce).unwrap();
        sim.run_until_idle();
        sim.broker_mut().forget_session();
        sim.cut_link();
        assert!(
            sim.run_until(|s| s.session().is_connected(), secs(5)),
            "{version}"
        );
        sim.run_until_idle();
        assert_eq!(
            count(
                &sim,
                &RecordedEvent::Connected {
                    session_present: false
                }
            ),
            2,
            "{version}"
        );
        assert!(
            sim.events().contains(&RecordedEvent::Subscribed {
                ticket: Ticket::RESUBSCRIBE,
                reasons: vec![ReasonCode::GRANTED_QOS_2]
            }),
            "{version}"
        );
        let filters: Vec<&str> = sim
            .broker()
            .subscriptions()
            .iter()
            .map(|s| s.filter.as_str())
            .collect();
        assert_eq!(filters, ["kept/#"], "{version}");
        assert_no_violations(&sim);
    }
}

#[test]
fn a_silent_broker_is_detected_by_the_keep_alive() {
    for version in VERSIONS {
        let config = Config {
            keep_alive: secs(5),
            ..config(version)
        };
        let mut sim = start(&config, SimConfig::default());
        let connected_at = sim.now();
        sim.broker_mut().set_answer_pings(false);
        sim.take_events();
        assert!(
            sim.run_until(|s| !s.session().is_connected(), secs(60)),
            "{version}"
        );
        // The ping goes out 5 s after the last packet sent (CONNECT, 20 ms before CONNACK), then 10 s pass.
        let lost_after = sim.now() - connected_at;
        assert!(
            lost_after >= secs(14) && lost_after <= secs(15),
            "{version}: {lost_after:?}"
        );
        assert_eq!(sim.broker().pings(), 1);
        assert_eq!(
            sim.events()[0],
            RecordedEvent::ConnectionLost {
                reason: Disconnection::KeepAliveTimeout
            },
            "{version}"
        );
    }
}

#[test]
fn answered_pings_keep_an_idle_connection_up() {
    let config = Config {
        keep_alive: secs(5),
        ..config(ProtocolVersion::V5)
    };
    let mut sim = start(&config, SimConfig::default());
    sim.run_for(secs(61));
    assert!(sim.session().is_connected());
    assert_eq!(sim.broker().pings(), 12);
    assert_eq!(
        sim.broker()
            .count(Direction::BrokerToClient, PacketType::PingResp),
        12
    );
}

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
fn a_server_disconnect_is_reported_with_its_reason_and_the_session_reconnects() {
    let mut sim = start(&config(ProtocolVersion::V5), SimConfig::default());
    sim.take_events();
    sim.broker_mut()
        .send_disconnect(ReasonCode::SERVER_SHUTTING_DOWN);
    assert!(sim.run_until(|s| !s.session().is_connected(), secs(1)));
    assert_eq!(
        sim.events(),
        [
            RecordedEvent::ConnectionLost {
                reason: Disconnection::ServerDisconnect(ReasonCode::SERVER_SHUTTING_DOWN)
            },
            RecordedEvent::Reconnecting {
                attempt: 1,
                delay: secs(1)
            },
        ]
    );
    assert!(sim.run_until(|s| s.session().is_connected(), secs(5)));
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
fn an_assigned_client_identifier_is_used_on_reconnect() {
    let config = Config {
        clean_start: false,
        session_expiry_interval: 60,
        ..Config::new("")
    };
    let mut sim = start(&config, SimConfig::default());
    assert_eq!(sim.session().assigned_client_id(), Some("fake-client-1"));
    sim.cut_link();
    assert!(sim.run_until(|s| s.session().is_connected(), secs(5)));
    let ids: Vec<&str> = sim
        .broker()
        .connections()
        .iter()
        .map(|c| c.client_id.as_str())
        .collect();
    assert_eq!(ids, ["", "fake-client-1"]);
    assert_eq!(
        count(
            &sim,
            &RecordedEvent::Connected {
                session_present: true
            }
        ),
        1
    );
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
fn an_unreachable_broker_is_retried_on_the_backoff_schedule() {
    let mut sim = Sim::new(&config(ProtocolVersion::V5), SimConfig::default()).unwrap();
    sim.link_mut().set_reachable(false);
    sim.connect();
    sim.run_for(secs(10));
    let delays: Vec<u64> = sim
        .events()
        .iter()
        .filter_map(|e| match e {
            RecordedEvent::Reconnecting { delay, .. } => Some(delay.as_secs()),
            _ => None,
        })
        .collect();
    assert_eq!(delays, [1, 2, 4, 8]);
    sim.link_mut().set_reachable(true);
    assert!(sim.run_until(|s| s.session().is_connected(), secs(10)));
}

#[test]
fn a_graceful_disconnect_sends_disconnect_and_the_will_is_not_published() {
    let will = Will {
        topic: "wills/knobs",
        payload: b"gone",
        ..Will::default()
    };
    for graceful in [true, false] {
        let config = Config {
            will: Some(will),
            ..config(ProtocolVersion::V311)
        };
        let mut sim = start(&config, SimConfig::default());
        if graceful {
            sim.disconnect();
        } else {
            sim.cut_link();
        }
        sim.run_until_idle();
        if graceful {
            assert!(
                sim.events()
                    .contains(&RecordedEvent::Disconnected { unacknowledged: 0 })
            );
            assert_eq!(
                sim.broker()
                    .count(Direction::ClientToBroker, PacketType::Disconnect),
                1
            );
            assert!(sim.broker().wills().is_empty());
        } else {
            assert_eq!(sim.broker().wills().len(), 1);
            assert_eq!(sim.broker().wills()[0].topic, "wills/knobs");
        }
        assert!(!sim.broker().is_connected());
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
fn the_server_keep_alive_replaces_the_configured_one() {
    let broker = BrokerConfig {
        server_keep_alive: Some(2),
        ..BrokerConfig::default()
    };
    let mut sim = start(
        &config(ProtocolVersion::V5),
        SimConfig {
            broker,
            ..SimConfig::default()
        },
    );
    assert_eq!(sim.session().keep_alive(), secs(2));
    sim.run_for(secs(10));
    assert_eq!(sim.broker().pings(), 5);
}

#[test]
fn a_graceful_disconnect_waits_for_acknowledgements_up_to_the_timeout() {
    for (release, expected) in [(true, 2), (false, 1)] {
        let mut sim = start(&config(ProtocolVersion::V5), SimConfig::default());
        sim.broker_mut().hold_acks();
        let ticket = sim.publish("bye", b"x", QoS::AtLeastOnce).unwrap();
        sim.run_until_idle();
        sim.disconnect();
        let asked = sim.now();
        sim.run_for(secs(1));
        assert_eq!(
            sim.broker()
                .count(Direction::ClientToBroker, PacketType::Disconnect),
            0
        );
        if release {
            sim.broker_mut().release_acks();
        }
        assert!(sim.run_until(
            |s| {
                s.events()
                    .iter()
                    .any(|e| matches!(e, RecordedEvent::Disconnected { .. }))
            },
            secs(10)
        ));
        let took = sim.now() - asked;
        // The message the broker never acknowledged is counted, and stays queued.
        let unacknowledged = usize::from(!release);
        assert!(
            sim.events()
                .contains(&RecordedEvent::Disconnected { unacknowledged }),
            "{:?}",
            sim.events()
        );
        assert_eq!(sim.session().queued(), unacknowledged);
        if release {
            assert!(took < secs(2), "{took:?}");
            assert!(sim.events().contains(&RecordedEvent::Published { ticket }));
        } else {
            assert_eq!(took, secs(5), "the default disconnect timeout");
        }
        sim.run_until_idle();
        assert_eq!(
            sim.broker()
                .count(Direction::ClientToBroker, PacketType::Disconnect),
            1
        );
        assert_eq!(
            sim.broker()
                .count(Direction::BrokerToClient, PacketType::PubAck),
            expected - 1
        );
        assert!(sim.broker().wills().is_empty());
    }
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
