//! MQTT 5.0 beyond the message flows, in deterministic simulation: enhanced authentication (AUTH) at connection
//! and re-authentication while messages are in flight, a wrong challenge answered with the proper reason code,
//! redirection by CONNACK and DISCONNECT, what CONNACK announced, reason strings of every packet that has one, a
//! broker that lowers Maximum QoS, message properties a broker would take for malformed refused at once, outgoing
//! topic aliases replaced least recently used first.

use core::time::Duration;

use mqtt_core::codec::{self, PacketType, ProtocolVersion, QoS, ReasonCode};
use mqtt_core::reconnect::ReconnectPolicy;
use mqtt_core::session::{AuthError, ConnectRefusal, Disconnection, ReauthError};
use mqtt_core::{Config, ConfigError, ProtocolError, PublishError, Session};
use mqtt_test::{
    BrokerAuth, BrokerConfig, Direction, FakeBroker, HmacAuthenticator, RecordedEvent, Sim,
    SimConfig,
};

const KEY: &[u8] = b"shared secret of the test";

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn config() -> Config<'static> {
    Config {
        reconnect: ReconnectPolicy {
            jitter_permille: 0,
            ..ReconnectPolicy::default()
        },
        text_len: 128,
        ..Config::new("mqtt5")
    }
}

fn with_broker(broker: BrokerConfig) -> SimConfig {
    SimConfig {
        broker,
        ..SimConfig::default()
    }
}

fn authenticating(broker: BrokerAuth) -> (Sim, HmacAuthenticator) {
    let authenticator = HmacAuthenticator::new(KEY);
    let sim_config = with_broker(BrokerConfig {
        auth: Some(broker),
        ..BrokerConfig::default()
    });
    let session = Session::with_authenticator(
        &config(),
        Sim::buffers(&sim_config),
        Box::new(authenticator.clone()),
    )
    .unwrap();
    (
        Sim::with_session(session, &config(), sim_config),
        authenticator,
    )
}

fn connected(sim: &mut Sim) -> bool {
    sim.connect();
    sim.run_until(|s| s.session().is_connected(), secs(5))
}

/// Runs until the client's DISCONNECT reached the broker.
fn until_disconnect(sim: &mut Sim) {
    let sent = sim.run_until(
        |s| {
            s.broker()
                .count(Direction::ClientToBroker, PacketType::Disconnect)
                > 0
        },
        secs(5),
    );
    assert!(sent, "no DISCONNECT from the client:\n{}", sim.trace());
}

/// Runs until the connection is lost, then until the session is connected again.
fn reconnected(sim: &mut Sim) -> bool {
    sim.run_until(
        |s| {
            s.events()
                .iter()
                .any(|e| matches!(e, RecordedEvent::ConnectionLost { .. }))
        },
        secs(5),
    ) && sim.run_until(|s| s.session().is_connected(), secs(30))
}

fn sent(broker: &FakeBroker, packet: PacketType) -> Vec<Option<ReasonCode>> {
    broker
        .packets(Direction::ClientToBroker, packet)
        .iter()
        .map(|r| r.reason)
        .collect()
}

// ----- enhanced authentication -----

#[test]
fn authentication_answers_the_challenge_before_connack() {
    let (mut sim, authenticator) = authenticating(BrokerAuth::hmac(KEY));
    assert!(connected(&mut sim), "{}", sim.trace());
    // The client's answer is an AUTH with Continue authentication. `[MQTT-4.12.0-3]`
    assert_eq!(
        sent(sim.broker(), PacketType::Auth),
        [Some(ReasonCode::CONTINUE_AUTHENTICATION)]
    );
    let order: Vec<_> = sim
        .broker()
        .log()
        .iter()
        .map(|r| (r.direction, r.packet_type))
        .take(4)
        .collect();
    assert_eq!(
        order,
        [
            (Direction::ClientToBroker, PacketType::Connect),
            (Direction::BrokerToClient, PacketType::Auth),
            (Direction::ClientToBroker, PacketType::Auth),
            (Direction::BrokerToClient, PacketType::ConnAck),
        ]
    );
    assert_eq!(sim.broker().authentications(), (1, 0));
    assert_eq!(
        authenticator.succeeded(),
        1,
        "the server's proof was checked"
    );
    assert_eq!(
        sim.session().authentication_method(),
        Some(mqtt_test::auth::METHOD)
    );
    assert!(
        sim.broker().violations().is_empty(),
        "{:?}",
        sim.broker().violations()
    );
}

#[test]
fn every_reconnect_authenticates_again_with_a_fresh_nonce() {
    let (mut sim, authenticator) = authenticating(BrokerAuth::hmac(KEY));
    assert!(connected(&mut sim));
    sim.broker_mut().close_connection();
    sim.drive();
    assert!(reconnected(&mut sim));
    assert_eq!(sim.broker().authentications(), (2, 0));
    assert_eq!(authenticator.succeeded(), 2);
}

#[test]
fn a_challenge_without_the_servers_proof_is_refused_with_not_authorized() {
    let (mut sim, authenticator) = authenticating(BrokerAuth {
        tamper_proof: true,
        ..BrokerAuth::hmac(KEY)
    });
    sim.connect();
    assert!(sim.run_until(
        |s| {
            s.events()
                .iter()
                .any(|e| matches!(e, RecordedEvent::ConnectFailed { .. }))
        },
        secs(5)
    ));
    let error = ProtocolError::AuthenticationFailed(AuthError::Rejected);
    assert_eq!(
        sim.events()[0],
        RecordedEvent::ConnectFailed {
            reason: Disconnection::Protocol(error)
        }
    );
    // The client says why before it closes: DISCONNECT 0x87, never an answer to the false challenge.
    until_disconnect(&mut sim);
    assert_eq!(
        sent(sim.broker(), PacketType::Disconnect),
        [Some(ReasonCode::NOT_AUTHORIZED)]
    );
    assert!(sent(sim.broker(), PacketType::Auth).is_empty());
    assert_eq!(authenticator.answered(), 0);
}

#[test]
fn auth_with_another_method_is_a_protocol_error() {
    let (mut sim, _) = authenticating(BrokerAuth {
        wrong_method: true,
        ..BrokerAuth::hmac(KEY)
    });
    sim.connect();
    sim.run_until(|s| !s.events().is_empty(), secs(5));
    // `[MQTT-4.12.0-5]`: every AUTH names the method of CONNECT.
    assert_eq!(
        sim.events()[0],
        RecordedEvent::ConnectFailed {
            reason: Disconnection::Protocol(ProtocolError::AuthenticationMethodMismatch)
        }
    );
    until_disconnect(&mut sim);
    assert_eq!(
        sent(sim.broker(), PacketType::Disconnect),
        [Some(ReasonCode::PROTOCOL_ERROR)]
    );
}

#[test]
fn a_broker_that_does_not_know_the_method_refuses_with_bad_authentication_method() {
    let (mut sim, _) = authenticating(BrokerAuth {
        method: "SCRAM-SHA-512".to_owned(),
        ..BrokerAuth::hmac(KEY)
    });
    sim.connect();
    sim.run_until(|s| !s.events().is_empty(), secs(5));
    assert_eq!(
        sim.events()[0],
        RecordedEvent::ConnectFailed {
            reason: Disconnection::Refused(ConnectRefusal::Other(
                ReasonCode::BAD_AUTHENTICATION_METHOD
            ))
        }
    );
}

#[test]
fn auth_to_a_client_without_an_authenticator_is_a_protocol_error() {
    let mut sim = Sim::new(&config(), SimConfig::default()).unwrap();
    assert!(connected(&mut sim));
    let auth = codec::Packet::Auth(codec::Auth {
        reason: ReasonCode::CONTINUE_AUTHENTICATION,
        ..codec::Auth::default()
    });
    let mut bytes = vec![0; auth.encoded_len(ProtocolVersion::V5)];
    auth.encode(ProtocolVersion::V5, &mut bytes).unwrap();
    sim.broker_mut().send_raw(&bytes);
    sim.drive();
    sim.run_until(
        |s| {
            s.events()
                .iter()
                .any(|e| matches!(e, RecordedEvent::ConnectionLost { .. }))
        },
        secs(5),
    );
    // `[MQTT-4.12.0-6]`: no AUTH without a method in CONNECT.
    assert!(sim.events().contains(&RecordedEvent::ConnectionLost {
        reason: Disconnection::Protocol(ProtocolError::UnexpectedPacket(PacketType::Auth))
    }));
    until_disconnect(&mut sim);
    assert_eq!(
        sent(sim.broker(), PacketType::Disconnect),
        [Some(ReasonCode::PROTOCOL_ERROR)]
    );
}

#[test]
fn reauthentication_runs_while_messages_are_in_flight() {
    let (mut sim, authenticator) = authenticating(BrokerAuth::hmac(KEY));
    assert!(connected(&mut sim));
    sim.take_events();
    let mut tickets = Vec::new();
    for i in 0..10 {
        tickets.push(
            sim.publish(&format!("t/{i}"), b"before", QoS::AtLeastOnce)
                .unwrap(),
        );
    }
    let now = sim.now();
    sim.session_mut().reauthenticate(now).unwrap();
    assert!(sim.session().is_reauthenticating());
    assert_eq!(
        sim.session_mut().reauthenticate(now),
        Err(ReauthError::InProgress)
    );
    for i in 0..10 {
        tickets.push(
            sim.publish(&format!("t/{i}"), b"during", QoS::ExactlyOnce)
                .unwrap(),
        );
    }
    sim.run_until_idle();
    let events = sim.take_events();
    for ticket in &tickets {
        assert!(
            events.contains(&RecordedEvent::Published { ticket: *ticket }),
            "{ticket} not acknowledged"
        );
    }
    assert!(
        events
            .iter()
            .any(|e| matches!(e, RecordedEvent::Other(o) if o == "Reauthenticated"))
    );
    assert!(!sim.session().is_reauthenticating());
    assert_eq!(sim.broker().authentications(), (1, 1));
    assert_eq!(authenticator.succeeded(), 2);
    // The exchange went alongside the messages, and started with Re-authenticate. `[MQTT-4.12.1-1]`
    assert_eq!(
        sent(sim.broker(), PacketType::Auth),
        [
            Some(ReasonCode::CONTINUE_AUTHENTICATION),
            Some(ReasonCode::RE_AUTHENTICATE),
            Some(ReasonCode::CONTINUE_AUTHENTICATION),
        ]
    );
    assert!(sim.session().is_connected());
    assert!(sim.broker().violations().is_empty());
}

#[test]
fn a_wrong_proof_during_reauthentication_ends_the_connection_with_not_authorized() {
    let (mut sim, _) = authenticating(BrokerAuth::hmac(KEY));
    assert!(connected(&mut sim));
    sim.take_events();
    if let Some(auth) = &mut sim.broker_mut().config_mut().auth {
        auth.tamper_proof = true;
    }
    let now = sim.now();
    sim.session_mut().reauthenticate(now).unwrap();
    sim.drive();
    sim.run_until(
        |s| {
            s.events()
                .iter()
                .any(|e| matches!(e, RecordedEvent::ConnectionLost { .. }))
        },
        secs(5),
    );
    assert_eq!(
        sim.events()[0],
        RecordedEvent::ConnectionLost {
            reason: Disconnection::Protocol(ProtocolError::AuthenticationFailed(
                AuthError::Rejected
            ))
        }
    );
    until_disconnect(&mut sim);
    assert_eq!(
        sent(sim.broker(), PacketType::Disconnect),
        [Some(ReasonCode::NOT_AUTHORIZED)]
    );
}

#[test]
fn reauthenticate_needs_an_authenticator_and_a_connection() {
    let mut sim = Sim::new(&config(), SimConfig::default()).unwrap();
    let now = sim.now();
    assert_eq!(
        sim.session_mut().reauthenticate(now),
        Err(ReauthError::NoAuthenticator)
    );
    let (mut sim, _) = authenticating(BrokerAuth::hmac(KEY));
    let now = sim.now();
    assert_eq!(
        sim.session_mut().reauthenticate(now),
        Err(ReauthError::NotConnected)
    );
    let v311 = Config {
        version: ProtocolVersion::V311,
        ..config()
    };
    let buffers = Sim::buffers(&SimConfig::default());
    let refused =
        Session::with_authenticator(&v311, buffers, Box::new(HmacAuthenticator::new(KEY)));
    assert!(matches!(refused, Err(ConfigError::AuthenticationNeedsV5)));
}

// ----- redirection -----

/// A simulation whose first broker answers with `first` and whose second broker is where references point: the
/// session is told of one broker only, so that a redirection (one past the list) reaches the second.
fn redirecting(first: BrokerConfig, follow: bool) -> Sim {
    let sim_config = SimConfig {
        broker: first,
        failover: vec![BrokerConfig::default()],
        ..SimConfig::default()
    };
    let mut sim = Sim::new(
        &Config {
            follow_redirects: follow,
            ..config()
        },
        sim_config,
    )
    .unwrap();
    sim.session_mut().set_brokers(1);
    sim
}

fn use_another_server(reference: &str) -> BrokerConfig {
    BrokerConfig {
        redirect: Some((ReasonCode::USE_ANOTHER_SERVER, reference.to_owned())),
        ..BrokerConfig::default()
    }
}

#[test]
fn a_connack_redirection_moves_the_next_attempt_to_the_reference_at_once() {
    let mut sim = redirecting(use_another_server("other.example:1884"), true);
    assert!(connected(&mut sim), "{}", sim.trace());
    assert_eq!(sim.active_broker(), 1);
    assert!(sim.session().is_redirected());
    assert_eq!(sim.session().broker(), 1, "one past the list");
    assert_eq!(sim.session().server_reference(), Some("other.example:1884"));
    let events = sim.take_events();
    assert_eq!(
        events[0],
        RecordedEvent::ConnectFailed {
            reason: Disconnection::Refused(ConnectRefusal::Other(ReasonCode::USE_ANOTHER_SERVER))
        }
    );
    assert!(
        matches!(&events[1], RecordedEvent::Other(o) if o.contains("Redirected") && o.contains("other.example:1884") && o.contains("permanent: false")),
        "{events:?}"
    );
    // At once, and not counted as a failed attempt of the schedule.
    assert_eq!(
        events[2],
        RecordedEvent::Reconnecting {
            attempt: 0,
            delay: Duration::ZERO
        }
    );
    assert_eq!(sim.broker_at(1).connections().len(), 1);

    // Use Another Server is for this connection: once it ends, the list applies again.
    sim.broker_mut().config_mut().redirect = None;
    sim.broker_at_mut(1).close_connection();
    sim.drive();
    assert!(reconnected(&mut sim));
    assert_eq!(sim.active_broker(), 0);
    assert!(!sim.session().is_redirected());
}

#[test]
fn server_moved_in_a_disconnect_keeps_later_connections_on_the_new_server() {
    let mut sim = redirecting(BrokerConfig::default(), true);
    assert!(connected(&mut sim));
    assert_eq!(sim.active_broker(), 0);
    sim.broker_mut().send_disconnect_with(
        ReasonCode::SERVER_MOVED,
        Some("moving"),
        Some("new.example"),
    );
    sim.drive();
    assert!(reconnected(&mut sim));
    assert_eq!(sim.active_broker(), 1);
    // Moved for good: a loss there reconnects there.
    sim.take_events();
    sim.broker_at_mut(1).close_connection();
    sim.drive();
    assert!(reconnected(&mut sim));
    assert_eq!(sim.active_broker(), 1);
    assert_eq!(sim.broker_at(1).connections().len(), 2);
    // Until an attempt there fails: then the list again.
    sim.take_events();
    sim.set_broker_reachable(1, false);
    sim.broker_at_mut(1).close_connection();
    sim.drive();
    assert!(reconnected(&mut sim));
    assert_eq!(sim.active_broker(), 0);
}

#[test]
fn a_loop_of_redirections_stops_after_max_hops() {
    let mut sim = redirecting(use_another_server("b"), true);
    sim.broker_at_mut(1).config_mut().redirect =
        Some((ReasonCode::USE_ANOTHER_SERVER, "a".to_owned()));
    sim.connect();
    sim.run_until(
        |s| {
            s.events()
                .iter()
                .any(|e| matches!(e, RecordedEvent::Reconnecting { delay, .. } if !delay.is_zero()))
        },
        secs(5),
    );
    let redirects = sim
        .events()
        .iter()
        .filter(|e| matches!(e, RecordedEvent::Other(o) if o.contains("Redirected")))
        .count();
    assert_eq!(
        redirects,
        usize::from(mqtt_core::session::redirect::MAX_HOPS)
    );
}

#[test]
fn without_follow_redirects_the_reference_is_kept_and_the_list_applies() {
    let mut sim = redirecting(use_another_server("other.example"), false);
    sim.connect();
    sim.run_until(|s| !s.events().is_empty(), secs(1));
    sim.run_until(|s| s.events().len() >= 2, secs(1));
    assert!(!sim.session().is_redirected());
    assert_eq!(sim.session().server_reference(), Some("other.example"));
    assert!(
        !sim.events()
            .iter()
            .any(|e| matches!(e, RecordedEvent::Other(o) if o.contains("Redirected")))
    );
    assert_eq!(sim.broker_at(1).connections().len(), 0);
}

// ----- what the broker said -----

#[test]
fn connack_info_gives_everything_the_broker_announced() {
    let broker = BrokerConfig {
        maximum_qos: QoS::AtLeastOnce,
        retain_available: false,
        server_keep_alive: Some(20),
        topic_alias_maximum: Some(5),
        receive_maximum: Some(7),
        maximum_packet_size: Some(4000),
        response_information: Some("responses/here".to_owned()),
        wildcard_subscriptions: false,
        reason_strings: true,
        ..BrokerConfig::default()
    };
    let mut sim = Sim::new(
        &Config {
            client_id: "",
            request_response_information: true,
            ..config()
        },
        with_broker(broker),
    )
    .unwrap();
    assert!(sim.session().connack_info().is_none());
    assert!(connected(&mut sim));
    let info = sim.session().connack_info().unwrap();
    assert_eq!(info.assigned_client_id, Some("fake-client-1"));
    assert_eq!(info.server_keep_alive, Some(20));
    assert_eq!(info.keep_alive, secs(20));
    assert_eq!(info.maximum_qos, QoS::AtLeastOnce);
    assert!(!info.retain_available);
    assert!(!info.wildcard_subscription_available);
    assert!(info.shared_subscription_available);
    assert!(info.subscription_identifiers_available);
    assert_eq!(info.topic_alias_maximum, 5);
    assert_eq!(info.receive_maximum, 7);
    assert_eq!(info.maximum_packet_size, Some(4000));
    assert_eq!(info.response_information, Some("responses/here"));
    assert_eq!(info.reason_string, Some("fake broker: CONNACK"));
    assert!(!info.session_present);
}

#[test]
fn publishing_above_the_brokers_maximum_qos_is_refused_and_nothing_is_sent() {
    let mut sim = Sim::new(
        &config(),
        with_broker(BrokerConfig {
            maximum_qos: QoS::AtMostOnce,
            ..BrokerConfig::default()
        }),
    )
    .unwrap();
    assert!(connected(&mut sim));
    for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
        assert_eq!(
            sim.publish("t", b"x", qos),
            Err(PublishError::QoSNotSupported { max: 0 })
        );
    }
    sim.publish("t", b"x", QoS::AtMostOnce).unwrap();
    sim.run_until_idle();
    assert_eq!(
        sim.broker()
            .count(Direction::ClientToBroker, PacketType::Publish),
        1
    );
    assert!(sim.broker().violations().is_empty());
}

#[test]
fn a_property_brokers_take_for_malformed_is_refused_at_once_and_nothing_is_sent() {
    // mosquitto closes the connection on a control character in any string, or on a wildcard in a Response Topic:
    // a message accepted with one was sent again after each reconnect, losing the connection (and everything
    // behind it waiting) each time, until the poison threshold (five connections by default) failed it.
    use codec::{List, PublishProperties, UserProperty};
    let mut sim = Sim::new(&config(), SimConfig::default()).unwrap();
    assert!(connected(&mut sim));
    let newline = [UserProperty {
        name: "note",
        value: "line\nbreak",
    }];
    let nul_name = [UserProperty {
        name: "a\0b",
        value: "fine",
    }];
    let cases = [
        (
            PublishProperties {
                user_properties: List::new(&newline),
                ..PublishProperties::default()
            },
            "user property",
        ),
        (
            PublishProperties {
                user_properties: List::new(&nul_name),
                ..PublishProperties::default()
            },
            "user property",
        ),
        (
            PublishProperties {
                content_type: Some("text/plain;\tcharset=utf-8"),
                ..PublishProperties::default()
            },
            "content type",
        ),
        (
            // [MQTT-3.3.2-14]: no wildcard in a Response Topic.
            PublishProperties {
                response_topic: Some("replies/+"),
                ..PublishProperties::default()
            },
            "response topic",
        ),
        (
            PublishProperties {
                response_topic: Some("replies/\u{ffff}"),
                ..PublishProperties::default()
            },
            "response topic",
        ),
    ];
    for (properties, named) in cases {
        let message = codec::Publish {
            properties,
            ..codec::Publish::new("t", b"x", QoS::AtLeastOnce, false)
        };
        assert_eq!(
            sim.publish_message(&message),
            Err(PublishError::InvalidProperty(named)),
            "{properties:?}"
        );
    }
    let fine = [UserProperty {
        name: "note",
        value: "caf\u{e9} \u{1f642}",
    }];
    let message = codec::Publish {
        properties: PublishProperties {
            user_properties: List::new(&fine),
            content_type: Some("text/plain; charset=utf-8"),
            response_topic: Some("replies/t"),
            ..PublishProperties::default()
        },
        ..codec::Publish::new("t", b"x", QoS::AtLeastOnce, false)
    };
    sim.publish_message(&message).unwrap();
    sim.run_until_idle();
    assert_eq!(
        sim.broker()
            .count(Direction::ClientToBroker, PacketType::Publish),
        1,
        "only the valid message went out"
    );
    assert!(sim.session().is_connected());
    assert!(sim.broker().violations().is_empty());
}

/// Runs until the latest reason the session kept came with `packet`; checks its text.
fn kept_reason(sim: &mut Sim, packet: PacketType) {
    let seen = sim.run_until(
        |s| {
            s.session()
                .last_reason()
                .is_some_and(|r| r.packet == packet)
        },
        secs(5),
    );
    assert!(seen, "no reason string of {packet} kept:\n{}", sim.trace());
    let reason = sim.session().last_reason().unwrap();
    assert_eq!(reason.reason_string, format!("fake broker: {packet}"));
}

#[test]
fn every_reason_string_is_kept_with_its_packet() {
    let broker = BrokerConfig {
        reason_strings: true,
        ..BrokerConfig::default()
    };
    let mut sim = Sim::new(&config(), with_broker(broker)).unwrap();
    assert!(connected(&mut sim));
    kept_reason(&mut sim, PacketType::ConnAck);
    sim.subscribe("r/#", QoS::ExactlyOnce).unwrap();
    kept_reason(&mut sim, PacketType::SubAck);
    sim.publish("x/1", b"x", QoS::AtLeastOnce).unwrap();
    kept_reason(&mut sim, PacketType::PubAck);
    sim.publish("x/2", b"x", QoS::ExactlyOnce).unwrap();
    kept_reason(&mut sim, PacketType::PubRec);
    kept_reason(&mut sim, PacketType::PubComp);
    sim.broker_mut()
        .inject("r/3", b"in", QoS::ExactlyOnce, false);
    sim.drive();
    kept_reason(&mut sim, PacketType::PubRel);
    sim.unsubscribe(&["r/#"]).unwrap();
    kept_reason(&mut sim, PacketType::UnsubAck);
    sim.broker_mut()
        .send_disconnect(ReasonCode::ADMINISTRATIVE_ACTION);
    sim.drive();
    kept_reason(&mut sim, PacketType::Disconnect);
    assert_eq!(
        sim.session().last_reason().unwrap().code,
        ReasonCode::ADMINISTRATIVE_ACTION
    );
}

#[test]
fn the_reason_string_of_an_auth_exchange_is_kept_too() {
    let (mut sim, _) = authenticating(BrokerAuth::hmac(KEY));
    sim.broker_mut().config_mut().reason_strings = true;
    assert!(connected(&mut sim));
    let now = sim.now();
    sim.session_mut().reauthenticate(now).unwrap();
    sim.run_until_idle();
    let reason = sim.session().last_reason().unwrap();
    assert_eq!(reason.packet, PacketType::Auth);
    assert_eq!(reason.code, ReasonCode::SUCCESS);
    assert_eq!(reason.reason_string, "fake broker: AUTH");
}

// ----- outgoing topic aliases -----

#[test]
fn outgoing_aliases_replace_the_least_recently_used_topic() {
    let broker = BrokerConfig {
        topic_alias_maximum: Some(2),
        ..BrokerConfig::default()
    };
    let mut sim = Sim::new(
        &Config {
            outgoing_topic_aliases: 4,
            ..config()
        },
        with_broker(broker),
    )
    .unwrap();
    assert!(connected(&mut sim));
    let topics = ["a", "b", "a", "c", "a", "b", "c"];
    for topic in topics {
        sim.publish(topic, topic.as_bytes(), QoS::AtLeastOnce)
            .unwrap();
        sim.run_until_idle();
    }
    let received = sim.broker().received();
    let seen: Vec<(&str, Option<u16>)> = received
        .iter()
        .map(|m| (m.topic.as_str(), m.topic_alias))
        .collect();
    // Two aliases (the broker's maximum): c takes b's (least recently used), then b takes c's, then c takes a's.
    assert_eq!(
        seen,
        [
            ("a", Some(1)),
            ("b", Some(2)),
            ("a", Some(1)),
            ("c", Some(2)),
            ("a", Some(1)),
            ("b", Some(2)),
            ("c", Some(1)),
        ]
    );
    for m in received {
        assert_eq!(
            m.payload,
            m.topic.as_bytes(),
            "the broker resolved every alias"
        );
    }
    assert!(sim.broker().violations().is_empty());
}
