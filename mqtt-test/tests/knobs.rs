//! Each knob of the fake broker and the link, exercised through the real session: refusals, persistent and lost
//! sessions, a silent broker, the server's keep alive, server disconnects, an assigned client identifier, an
//! unreachable broker and graceful disconnects; what acts on delivery (held acknowledgements, cuts in the middle of
//! QoS flows, topic aliases, raw bytes, subscriptions) in `knobs/delivery.rs`.

use core::time::Duration;

use mqtt_core::codec::{PacketType, ProtocolVersion, QoS, ReasonCode, Will};
use mqtt_core::session::{ConnectRefusal, Disconnection};
use mqtt_core::{Config, Ticket};
use mqtt_test::{BrokerConfig, Direction, RecordedEvent, Sim, SimConfig};

#[path = "knobs/delivery.rs"]
mod delivery;

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
        // The ping goes out 5 s after the last packet sent (CONNECT, 20 ms before CONNACK), then the ping
        // timeout passes: 10 s by default, but at most half the keep alive (2.5 s), so that the silence is
        // found out within one and a half keep alive intervals.
        let lost_after = sim.now() - connected_at;
        assert!(
            lost_after >= Duration::from_millis(7_400)
                && lost_after <= Duration::from_millis(7_500),
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
