//! What a session says when a broker cannot do what it asks, in deterministic simulation: a broker that does not
//! speak MQTT 5.0 (and the fall back to 3.1.1), requests a broker closes the connection over or announced it does
//! not support, a graceful disconnect that keeps its word, and secrets that never reach `Debug`.

use core::time::Duration;

use mqtt_core::codec::{
    List, PacketType, ProtocolVersion, Publish, PublishProperties, QoS, ReasonCode, Subscription,
    UserProperty,
};
use mqtt_core::reconnect::ReconnectPolicy;
use mqtt_core::session::{ConnectRefusal, Disconnection, PublishFailure};
use mqtt_core::{Buffers, Config, Session, SessionState, SubscribeError, Ticket};
use mqtt_test::{BrokerConfig, Direction, RecordedEvent, Sim, SimConfig, V5Connect};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn config(version: ProtocolVersion) -> Config<'static> {
    Config {
        version,
        reconnect: ReconnectPolicy {
            jitter_permille: 0,
            ..ReconnectPolicy::default()
        },
        ..Config::new("refusals")
    }
}

fn with_broker(broker: BrokerConfig) -> SimConfig {
    SimConfig {
        broker,
        ..SimConfig::default()
    }
}

/// The three ways 3.1.1-only brokers answer a 5.0 CONNECT.
const ONLY_V311: [V5Connect; 3] = [
    V5Connect::RefuseAsV311,
    V5Connect::RefuseAsV5,
    V5Connect::Close,
];

fn only_v311(answer: V5Connect) -> SimConfig {
    with_broker(BrokerConfig {
        v5_connect: answer,
        ..BrokerConfig::default()
    })
}

// ----- 13.6: a broker that does not speak 5.0 -----

#[test]
fn a_v311_only_broker_is_reported_at_once_as_not_speaking_5_0() {
    for answer in ONLY_V311 {
        let mut sim = Sim::new(&config(ProtocolVersion::V5), only_v311(answer)).unwrap();
        sim.connect();
        let failed = sim.run_until(
            |s| {
                s.events()
                    .iter()
                    .any(|e| matches!(e, RecordedEvent::ConnectFailed { .. }))
            },
            secs(1),
        );
        assert!(failed, "{answer:?}: no answer before the connect timeout");
        let expected = match answer {
            // Nothing but a close: the session cannot know why.
            V5Connect::Close => Disconnection::TransportClosed,
            // `20 02 00 01` is the 3.1.1 return code 1, never read as the 5.0 "Granted QoS 1".
            _ => Disconnection::Refused(ConnectRefusal::UnsupportedProtocolVersion),
        };
        assert_eq!(
            sim.events()[0],
            RecordedEvent::ConnectFailed { reason: expected },
            "{answer:?}"
        );
        assert_eq!(sim.session().version(), ProtocolVersion::V5, "no fall back");
    }
}

#[test]
fn with_the_fall_back_a_v311_only_broker_gets_a_v311_connect_at_once() {
    for answer in ONLY_V311 {
        let config = Config {
            fallback_to_v311: true,
            ..config(ProtocolVersion::V5)
        };
        let mut sim = Sim::new(&config, only_v311(answer)).unwrap();
        // Queued before the first connection, in 5.0 form: it goes out in 3.1.1 form.
        let plain = sim.publish("plain", b"p", QoS::AtLeastOnce).unwrap();
        let user = [UserProperty {
            name: "k",
            value: "v",
        }];
        let with_properties = sim
            .publish_message(&Publish {
                topic: "props",
                payload: b"x",
                qos: QoS::AtLeastOnce,
                properties: PublishProperties {
                    user_properties: List::new(&user),
                    ..PublishProperties::default()
                },
                ..Publish::default()
            })
            .unwrap();
        sim.connect();
        assert!(
            sim.run_until(|s| s.session().is_connected(), secs(1)),
            "{answer:?}: {:?}",
            sim.events()
        );
        sim.run_until_idle();
        let versions: Vec<ProtocolVersion> = sim
            .broker()
            .connections()
            .iter()
            .map(|c| c.version)
            .collect();
        assert_eq!(
            versions,
            [ProtocolVersion::V5, ProtocolVersion::V311],
            "{answer:?}"
        );
        assert_eq!(sim.session().version(), ProtocolVersion::V311);
        assert_eq!(
            sim.events()[1],
            RecordedEvent::Reconnecting {
                attempt: 0,
                delay: Duration::ZERO
            }
        );
        assert_eq!(sim.broker().received().len(), 1, "{answer:?}");
        assert_eq!(sim.broker().received()[0].topic, "plain");
        assert!(
            sim.broker().violations().is_empty(),
            "{:?}",
            sim.broker().violations()
        );
        assert!(
            sim.events()
                .contains(&RecordedEvent::Published { ticket: plain })
        );
        assert!(sim.events().contains(&RecordedEvent::PublishFailed {
            ticket: with_properties,
            reason: PublishFailure::PropertiesNotSupported
        }));
        // 3.1.1 from now on, and a message published now is 3.1.1 from the start.
        sim.subscribe("back", QoS::AtLeastOnce).unwrap();
        sim.publish("back", b"again", QoS::ExactlyOnce).unwrap();
        sim.run_until_idle();
        assert_eq!(sim.messages().len(), 1, "{answer:?}");
        assert!(sim.broker().violations().is_empty());
    }
}

#[test]
fn a_close_without_answer_after_a_5_0_connection_worked_is_not_a_version_problem() {
    let config = Config {
        fallback_to_v311: true,
        ..config(ProtocolVersion::V5)
    };
    let mut sim = Sim::new(&config, SimConfig::default()).unwrap();
    sim.connect();
    assert!(sim.run_until(|s| s.session().is_connected(), secs(1)));
    sim.broker_mut().config_mut().v5_connect = V5Connect::Close;
    sim.cut_link();
    sim.run_for(secs(4));
    assert_eq!(sim.session().version(), ProtocolVersion::V5);
    assert!(
        sim.broker()
            .connections()
            .iter()
            .all(|c| c.version == ProtocolVersion::V5)
    );
}

#[test]
fn the_v311_inflight_window_defaults_to_what_mosquitto_accepts() {
    for (version, window) in [(ProtocolVersion::V311, 20), (ProtocolVersion::V5, 64)] {
        let sim_config = SimConfig {
            store_buffer: 64 * 1024,
            ..SimConfig::default()
        };
        let mut sim = Sim::new(&config(version), sim_config).unwrap();
        sim.connect();
        assert!(sim.run_until(|s| s.session().is_connected(), secs(1)));
        sim.broker_mut().hold_acks();
        for i in 0..100 {
            sim.publish("w", &[i], QoS::ExactlyOnce).unwrap();
        }
        sim.run_until_idle();
        assert_eq!(sim.session().inflight(), window, "{version}");
        assert_eq!(sim.broker().received().len(), usize::from(window));
    }
}

// ----- 18.4: what the broker does not support -----

fn without_shared(announce: bool) -> SimConfig {
    with_broker(BrokerConfig {
        shared_subscriptions: false,
        wildcard_subscriptions: false,
        announce_support: announce,
        ..BrokerConfig::default()
    })
}

#[test]
fn a_subscribe_the_broker_disconnects_over_fails_with_its_reason_and_is_not_replayed() {
    // A session the broker keeps: nothing is re-subscribed after the reconnect but what was never answered.
    let config = Config {
        clean_start: false,
        session_expiry_interval: 600,
        ..config(ProtocolVersion::V5)
    };
    let mut sim = Sim::new(&config, without_shared(false)).unwrap();
    sim.connect();
    assert!(sim.run_until(|s| s.session().is_connected(), secs(1)));
    let kept = sim.subscribe("plain/topic", QoS::AtLeastOnce).unwrap();
    let shared = sim
        .subscribe("$share/group/jobs", QoS::AtLeastOnce)
        .unwrap();
    sim.run_for(secs(30));
    let codes = |ticket| {
        sim.events()
            .iter()
            .find_map(|e| match e {
                RecordedEvent::Subscribed { ticket: t, reasons } if *t == ticket => {
                    Some(reasons.clone())
                }
                _ => None,
            })
            .unwrap_or_default()
    };
    assert_eq!(
        codes(shared),
        [ReasonCode::SHARED_SUBSCRIPTIONS_NOT_SUPPORTED]
    );
    assert_eq!(codes(kept), [ReasonCode(1)]);
    assert!(sim.events().contains(&RecordedEvent::ConnectionLost {
        reason: Disconnection::ServerDisconnect(ReasonCode::SHARED_SUBSCRIPTIONS_NOT_SUPPORTED)
    }));
    // One reconnect, one SUBSCRIBE of the shared filter: not replayed after it.
    assert!(sim.session().is_connected());
    assert_eq!(sim.broker().connections().len(), 2, "{:?}", sim.events());
    assert_eq!(
        sim.broker()
            .count(Direction::ClientToBroker, PacketType::Subscribe),
        2
    );
}

#[test]
fn what_connack_said_is_unsupported_is_refused_locally() {
    let mut sim = Sim::new(&config(ProtocolVersion::V5), without_shared(true)).unwrap();
    // Queued while offline: checked against the CONNACK, failed unsent.
    let queued = sim.subscribe("$share/g/a", QoS::AtMostOnce).unwrap();
    sim.connect();
    assert!(sim.run_until(|s| s.session().is_connected(), secs(1)));
    sim.run_until_idle();
    assert!(sim.events().contains(&RecordedEvent::Subscribed {
        ticket: queued,
        reasons: vec![ReasonCode::SHARED_SUBSCRIPTIONS_NOT_SUPPORTED]
    }));
    // Connected: refused typed, at once.
    assert_eq!(
        sim.subscribe("$share/g/a", QoS::AtMostOnce),
        Err(SubscribeError::SharedNotSupported)
    );
    assert_eq!(
        sim.subscribe("a/+/c", QoS::AtMostOnce),
        Err(SubscribeError::WildcardsNotSupported)
    );
    sim.subscribe("a/b/c", QoS::AtMostOnce).unwrap();
    sim.run_until_idle();
    assert_eq!(
        sim.broker()
            .count(Direction::ClientToBroker, PacketType::Subscribe),
        1,
        "only the supported one went out"
    );
    assert_eq!(sim.broker().connections().len(), 1, "never disconnected");
}

#[test]
fn subscription_identifiers_the_broker_does_not_support_are_refused_typed() {
    // A CONNACK fed by hand announces Subscription Identifiers Available = 0. `[MQTT-3.2.2.3.12]`
    let mut s = Session::new(&config(ProtocolVersion::V5), Buffers::owned(256, 2048, 256)).unwrap();
    let t = mqtt_core::Instant::from_millis(1);
    s.connect(t);
    let _ = s.poll_transport();
    s.handle_transport_up(t);
    let mut out = [0u8; 256];
    let _ = s.poll_transmit(t, &mut out);
    // CONNACK: success, properties: Subscription Identifiers Available (0x29) = 0.
    s.handle_bytes(&[0x20, 0x05, 0x00, 0x00, 0x02, 0x29, 0x00], t);
    while s.poll_event().is_some() {}
    assert!(s.is_connected());
    let id = mqtt_core::codec::SubscriptionId::new(7).unwrap();
    assert_eq!(
        s.subscribe_with_id(&[Subscription::new("a", QoS::AtMostOnce)], id, t),
        Err(SubscribeError::SubscriptionIdsNotSupported)
    );
}

// ----- 13.5: disconnect keeps its word -----

#[test]
fn disconnect_within_waits_the_callers_timeout_and_counts_what_stays_queued() {
    let config = Config {
        disconnect_timeout: secs(30),
        ..config(ProtocolVersion::V5)
    };
    let mut sim = Sim::new(&config, SimConfig::default()).unwrap();
    sim.connect();
    assert!(sim.run_until(|s| s.session().is_connected(), secs(1)));
    sim.broker_mut().hold_acks();
    let ticket = sim.publish("held", b"x", QoS::AtLeastOnce).unwrap();
    sim.run_until_idle();
    let asked = sim.now();
    let now = sim.now();
    sim.session_mut().disconnect_within(secs(2), now);
    let done = |s: &Sim| {
        s.events()
            .iter()
            .any(|e| matches!(e, RecordedEvent::Disconnected { .. }))
    };
    assert!(sim.run_until(done, secs(3)));
    assert_eq!(
        sim.now() - asked,
        secs(2),
        "the caller's timeout, not the configured 30 s"
    );
    assert!(
        sim.events()
            .contains(&RecordedEvent::Disconnected { unacknowledged: 1 })
    );
    // Nothing dropped: the message stays queued and is delivered after the next connect.
    assert_eq!(sim.session().queued(), 1);
    assert!(
        !sim.events()
            .iter()
            .any(|e| matches!(e, RecordedEvent::PublishFailed { .. }))
    );
    sim.broker_mut().config_mut().hold_acks = false;
    sim.connect();
    sim.run_until_idle();
    assert!(
        sim.events().contains(&RecordedEvent::Published { ticket }),
        "{:?}\n{}",
        sim.events(),
        sim.trace().tail(30)
    );
}

#[test]
fn disconnect_within_zero_sends_disconnect_before_anything_still_queued() {
    let mut sim = Sim::new(&config(ProtocolVersion::V311), SimConfig::default()).unwrap();
    sim.connect();
    assert!(sim.run_until(|s| s.session().is_connected(), secs(1)));
    sim.broker_mut().hold_acks();
    // More than the 3.1.1 window of 20: the rest waits in the outbox.
    for i in 0..25 {
        sim.publish("q", &[i], QoS::AtLeastOnce).unwrap();
    }
    sim.run_until_idle();
    let now = sim.now();
    sim.session_mut().disconnect_within(Duration::ZERO, now);
    sim.drive();
    assert_eq!(sim.session().state(), SessionState::Closed);
    assert!(
        sim.events()
            .contains(&RecordedEvent::Disconnected { unacknowledged: 25 })
    );
    sim.run_until_idle();
    assert_eq!(sim.broker().received().len(), 20);
    assert_eq!(
        sim.broker()
            .count(Direction::ClientToBroker, PacketType::Disconnect),
        1
    );
}

#[test]
fn a_second_disconnect_can_only_shorten_the_wait() {
    let mut sim = Sim::new(&config(ProtocolVersion::V5), SimConfig::default()).unwrap();
    sim.connect();
    assert!(sim.run_until(|s| s.session().is_connected(), secs(1)));
    sim.broker_mut().hold_acks();
    sim.publish("held", b"x", QoS::AtLeastOnce).unwrap();
    sim.run_until_idle();
    let start = sim.now();
    sim.session_mut().disconnect_within(secs(10), start);
    sim.session_mut().disconnect_within(secs(20), start);
    sim.session_mut().disconnect_within(secs(3), start);
    let done = |s: &Sim| s.session().state() == SessionState::Closed;
    assert!(sim.run_until(done, secs(30)));
    assert_eq!(sim.now() - start, secs(3));
}

// ----- 13.4: secrets never printed -----

const PASSWORD: &str = "hunter2-correct-horse";

#[test]
fn debug_of_config_and_session_shows_no_password_and_stays_small() {
    let will = mqtt_core::codec::Will {
        topic: "will",
        payload: PASSWORD.as_bytes(),
        ..Default::default()
    };
    let config = Config {
        username: Some("user"),
        password: Some(PASSWORD.as_bytes()),
        will: Some(will),
        ..config(ProtocolVersion::V5)
    };
    let text = format!("{config:?}");
    assert!(!text.contains(PASSWORD), "{text}");
    assert!(text.contains("redacted"), "{text}");
    // A session with a large store (the std clients give 4 MiB) and queued messages.
    let mut session =
        Session::new(&config, Buffers::owned(64 * 1024, 1024 * 1024, 8 * 1024)).unwrap();
    let now = mqtt_core::Instant::from_millis(1);
    for _ in 0..10 {
        session
            .publish(
                &Publish {
                    topic: "t",
                    payload: PASSWORD.as_bytes(),
                    qos: QoS::AtLeastOnce,
                    ..Publish::default()
                },
                now,
            )
            .unwrap();
    }
    session.connect(now);
    for text in [format!("{session:?}"), format!("{session:#?}")] {
        assert!(!text.contains(PASSWORD), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.len() < 2048, "{} bytes of Debug", text.len());
    }
    let connect = mqtt_core::codec::Connect {
        password: Some(PASSWORD.as_bytes()),
        ..Default::default()
    };
    assert!(!format!("{connect:?}").contains(PASSWORD));
}

#[test]
fn the_same_ticket_is_never_reported_twice_when_a_request_fails_over_a_disconnect() {
    let mut sim = Sim::new(&config(ProtocolVersion::V5), without_shared(false)).unwrap();
    sim.connect();
    assert!(sim.run_until(|s| s.session().is_connected(), secs(1)));
    let shared = sim.subscribe("$share/g/x", QoS::AtMostOnce).unwrap();
    sim.run_for(secs(10));
    let reports = sim
        .events()
        .iter()
        .filter(|e| matches!(e, RecordedEvent::Subscribed { ticket, .. } if *ticket == shared))
        .count();
    assert_eq!(reports, 1);
    assert_ne!(shared, Ticket::RESUBSCRIBE);
}

#[test]
fn a_password_without_user_name_keeps_the_session_on_5_0() {
    // 3.1.1 forbids it `[MQTT-3.1.2-22]`: no fall back, and no configuration error either.
    let config = Config {
        fallback_to_v311: true,
        password: Some(b"token"),
        ..config(ProtocolVersion::V5)
    };
    let mut sim = Sim::new(&config, only_v311(V5Connect::RefuseAsV311)).unwrap();
    sim.connect();
    sim.run_for(secs(2));
    assert_eq!(sim.session().version(), ProtocolVersion::V5);
    assert_eq!(
        sim.events()[0],
        RecordedEvent::ConnectFailed {
            reason: Disconnection::Refused(ConnectRefusal::UnsupportedProtocolVersion)
        }
    );
    assert!(
        sim.broker()
            .connections()
            .iter()
            .all(|c| c.version == ProtocolVersion::V5)
    );
}

/// `[MQTT-3.1.3-7]`: a 3.1.1 client with an empty client identifier must start clean. Such a CONNECT was sent
/// and refused (Identifier rejected) at every attempt; it is a configuration error before any attempt. 5.0 allows
/// it (the broker assigns an identifier, which the session keeps).
#[test]
fn an_empty_client_identifier_without_clean_start_is_a_configuration_error_on_3_1_1() {
    let persistent = |version| Config {
        client_id: "",
        clean_start: false,
        ..config(version)
    };
    assert_eq!(
        Sim::new(&persistent(ProtocolVersion::V311), SimConfig::default()).err(),
        Some(mqtt_core::ConfigError::EmptyClientIdWithoutCleanStart)
    );
    assert!(Sim::new(&persistent(ProtocolVersion::V5), SimConfig::default()).is_ok());
    let clean = Config {
        client_id: "",
        clean_start: true,
        ..config(ProtocolVersion::V311)
    };
    assert!(Sim::new(&clean, SimConfig::default()).is_ok());
}

#[test]
fn an_empty_client_identifier_without_clean_start_keeps_the_session_on_5_0() {
    // 3.1.1 forbids it `[MQTT-3.1.3-7]`: no fall back, as for a password without a user name.
    let config = Config {
        fallback_to_v311: true,
        client_id: "",
        clean_start: false,
        ..config(ProtocolVersion::V5)
    };
    let mut sim = Sim::new(&config, only_v311(V5Connect::RefuseAsV311)).unwrap();
    sim.connect();
    sim.run_for(secs(2));
    assert_eq!(sim.session().version(), ProtocolVersion::V5);
    assert!(
        sim.broker()
            .connections()
            .iter()
            .all(|c| c.version == ProtocolVersion::V5)
    );
}

#[test]
fn a_v311_subscribe_the_broker_closes_the_connection_over_fails_as_poison_and_is_not_replayed() {
    // ejabberd over 3.1.1: no CONNACK announcement, no DISCONNECT, the connection closes over the `$share/`
    // SUBSCRIBE. Without a count it went out again on every connection, and `subscribe` never completed.
    let mut sim = Sim::new(&config(ProtocolVersion::V311), without_shared(false)).unwrap();
    sim.connect();
    assert!(sim.run_until(|s| s.session().is_connected(), secs(1)));
    let shared = sim
        .subscribe("$share/group/jobs", QoS::AtLeastOnce)
        .unwrap();
    let answered = |sim: &Sim| {
        sim.events().iter().find_map(|e| match e {
            RecordedEvent::Subscribed { ticket, reasons } if *ticket == shared => {
                Some(reasons.clone())
            }
            _ => None,
        })
    };
    assert!(sim.run_until(|s| answered(s).is_some(), secs(120)));
    assert_eq!(answered(&sim), Some(vec![ReasonCode::UNSPECIFIED_ERROR]));
    let threshold = Config::new("").poison_threshold;
    assert_eq!(
        sim.broker()
            .count(Direction::ClientToBroker, PacketType::Subscribe),
        usize::from(threshold),
        "sent once per strike, then given up"
    );
    // The connection that follows stays, and serves other requests.
    assert!(sim.run_until(|s| s.session().is_connected(), secs(120)));
    let plain = sim.subscribe("plain/topic", QoS::AtLeastOnce).unwrap();
    sim.run_for(secs(30));
    assert!(sim.events().contains(&RecordedEvent::Subscribed {
        ticket: plain,
        reasons: vec![ReasonCode(1)]
    }));
    assert_eq!(sim.broker().connections().len(), 1 + usize::from(threshold));
}

#[test]
fn a_client_identifier_or_user_name_with_a_control_character_is_refused_before_any_attempt() {
    // mosquitto closes the connection on such a CONNECT (MQTT 5.0 section 1.5.4: a UTF-8 Encoded String SHOULD NOT
    // hold control characters or non-characters, and a receiver MAY take it for malformed): every attempt failed
    // the same way, reported as a connection the broker closed. [MQTT-1.5.4-2] for U+0000.
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        for id in ["sensor\n7", "tab\there", "\u{7f}", "nul\0", "\u{ffff}"] {
            let refused = Sim::new(
                &Config {
                    client_id: id,
                    ..config(version)
                },
                SimConfig::default(),
            );
            assert_eq!(
                refused.err(),
                Some(mqtt_core::ConfigError::InvalidText("client identifier")),
                "{version:?} {id:?}"
            );
        }
        let refused = Sim::new(
            &Config {
                username: Some("alice\r\n"),
                ..config(version)
            },
            SimConfig::default(),
        );
        assert_eq!(
            refused.err(),
            Some(mqtt_core::ConfigError::InvalidText("user name")),
            "{version:?}"
        );
        let fine = Config {
            client_id: "caf\u{e9}-\u{1f642}",
            username: Some("alice"),
            ..config(version)
        };
        let mut sim = Sim::new(&fine, SimConfig::default()).unwrap();
        sim.connect();
        assert!(sim.run_until(|s| s.session().is_connected(), secs(5)));
    }
}

#[test]
fn connect_and_will_properties_with_a_control_character_are_refused_before_any_attempt() {
    // As for the client identifier: mosquitto closes the connection on a CONNECT whose user property or will
    // property holds a control character (MQTT 5.0 section 1.5.4; [MQTT-1.5.4-2] for U+0000), at every attempt.
    let bad = [UserProperty {
        name: "site",
        value: "line\nbreak",
    }];
    let refused = Sim::new(
        &Config {
            user_properties: List::new(&bad),
            ..config(ProtocolVersion::V5)
        },
        SimConfig::default(),
    );
    assert_eq!(
        refused.err(),
        Some(mqtt_core::ConfigError::InvalidText("user property"))
    );
    let cases: [(mqtt_core::codec::WillProperties<'_>, &str); 2] = [
        (
            mqtt_core::codec::WillProperties {
                user_properties: List::new(&bad),
                ..Default::default()
            },
            "will user property",
        ),
        (
            mqtt_core::codec::WillProperties {
                content_type: Some("text/plain\u{7}"),
                ..Default::default()
            },
            "will content type",
        ),
    ];
    for (properties, what) in cases {
        let will = mqtt_core::codec::Will {
            topic: "status/gone",
            payload: b"offline",
            properties,
            ..Default::default()
        };
        let refused = Sim::new(
            &Config {
                will: Some(will),
                ..config(ProtocolVersion::V5)
            },
            SimConfig::default(),
        );
        assert_eq!(
            refused.err(),
            Some(mqtt_core::ConfigError::InvalidText(what)),
            "{what}"
        );
    }
    // The will's Response Topic is a topic name (MQTT 5.0 section 3.1.3.2): no wildcards.
    let will = mqtt_core::codec::Will {
        topic: "status/gone",
        payload: b"offline",
        properties: mqtt_core::codec::WillProperties {
            response_topic: Some("replies/#"),
            ..Default::default()
        },
        ..Default::default()
    };
    let refused = Sim::new(
        &Config {
            will: Some(will),
            ..config(ProtocolVersion::V5)
        },
        SimConfig::default(),
    );
    assert!(
        matches!(
            refused.err(),
            Some(mqtt_core::ConfigError::WillResponseTopic(_))
        ),
        "a wildcard in the will's Response Topic"
    );
    // Non-ASCII text is fine.
    let fine = [UserProperty {
        name: "site",
        value: "caf\u{e9} \u{1f642}",
    }];
    let mut sim = Sim::new(
        &Config {
            user_properties: List::new(&fine),
            ..config(ProtocolVersion::V5)
        },
        SimConfig::default(),
    )
    .unwrap();
    sim.connect();
    assert!(sim.run_until(|s| s.session().is_connected(), secs(5)));
}

#[test]
fn a_subscribe_user_property_with_a_control_character_is_refused_at_once() {
    let mut sim = Sim::new(&config(ProtocolVersion::V5), SimConfig::default()).unwrap();
    sim.connect();
    assert!(sim.run_until(|s| s.session().is_connected(), secs(5)));
    let bad = [UserProperty {
        name: "tab",
        value: "a\tb",
    }];
    let properties = mqtt_core::codec::SubscribeProperties {
        user_properties: List::new(&bad),
        ..Default::default()
    };
    let now = sim.now();
    let refused = sim.session_mut().subscribe_with(
        &[Subscription::new("t/#", QoS::AtLeastOnce)],
        &properties,
        now,
    );
    assert!(
        matches!(refused, Err(SubscribeError::InvalidOptions(_))),
        "{refused:?}"
    );
}
