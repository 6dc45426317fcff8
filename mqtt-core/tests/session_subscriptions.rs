//! Subscription requests in deterministic simulation: several requests for one filter, the session's own
//! re-subscription meeting the application's, unsubscribing what is still being subscribed, the broker's Maximum
//! Packet Size, and 3.1.1 filters by 3.1.1 rules.

use core::time::Duration;

use mqtt_core::codec::{PacketType, ProtocolVersion, QoS, ReasonCode, SubscriptionOptions};
use mqtt_core::session::Disconnection;
use mqtt_core::{Config, SubscribeError, Ticket, TopicError};
use mqtt_test::{BrokerConfig, Direction, RecordedEvent, Sim, SimConfig};

mod simulated;
use simulated::{VERSIONS, connected, secs};

fn persistent(version: ProtocolVersion) -> Config<'static> {
    Config {
        version,
        clean_start: false,
        session_expiry_interval: 3600,
        ..Config::new("subscriptions")
    }
}

fn options(qos: QoS) -> SubscriptionOptions {
    SubscriptionOptions {
        qos,
        ..SubscriptionOptions::default()
    }
}

/// How many completions (SUBACK, UNSUBACK or refusal to send) the request with `ticket` got.
fn completions(sim: &Sim, ticket: Ticket) -> usize {
    sim.events()
        .iter()
        .filter(|e| {
            matches!(e, RecordedEvent::Subscribed { ticket: t, .. } | RecordedEvent::Unsubscribed { ticket: t, .. }
                | RecordedEvent::RequestTooLarge { ticket: t } if *t == ticket)
        })
        .count()
}

fn subscribed(sim: &Sim, ticket: Ticket) -> Vec<Vec<ReasonCode>> {
    sim.events()
        .iter()
        .filter_map(|e| match e {
            RecordedEvent::Subscribed { ticket: t, reasons } if *t == ticket => {
                Some(reasons.clone())
            }
            _ => None,
        })
        .collect()
}

fn protocol_errors(sim: &Sim) -> Vec<&RecordedEvent> {
    sim.events()
        .iter()
        .filter(|e| {
            matches!(
                e,
                RecordedEvent::ConnectionLost {
                    reason: Disconnection::Protocol(_)
                } | RecordedEvent::ConnectFailed {
                    reason: Disconnection::Protocol(_)
                }
            )
        })
        .collect()
}

fn connections(sim: &Sim) -> usize {
    sim.events()
        .iter()
        .filter(|e| matches!(e, RecordedEvent::Connected { .. }))
        .count()
}

/// The QoS the broker granted to `filter`, if it holds a subscription for it.
fn broker_granted(sim: &Sim, filter: &str) -> Option<QoS> {
    sim.broker()
        .subscriptions()
        .iter()
        .find(|s| s.filter == filter)
        .map(|s| s.granted)
}

#[test]
fn resubscribing_while_the_automatic_resubscription_is_in_flight_completes_both_requests() {
    // The broker lost the session: the session re-subscribes by itself (Ticket::RESUBSCRIBE), and the application,
    // in its connect callback, subscribes the same filter with new options while that SUBSCRIBE awaits its SUBACK.
    // Each SUBACK completes its own request; the broker and the table end with the application's options
    // (`[MQTT-3.8.4-3]`: a SUBSCRIBE replaces the subscription of the same filter).
    for version in VERSIONS {
        let sim_config = SimConfig {
            link: mqtt_test::LinkConfig {
                latency: Duration::from_millis(20),
                ..Default::default()
            },
            ..SimConfig::default()
        };
        let mut sim = connected(&persistent(version), sim_config);
        let first = sim.subscribe("sensors/#", QoS::ExactlyOnce).unwrap();
        sim.run_until_idle();
        assert_eq!(subscribed(&sim, first), [[ReasonCode::GRANTED_QOS_2]]);

        sim.broker_mut().forget_session();
        sim.cut_link();
        // Connected again; the re-subscription goes out; step until the broker has it, its SUBACK on the way.
        let before = sim
            .broker()
            .count(Direction::ClientToBroker, PacketType::Subscribe);
        assert!(
            sim.run_until(
                |s| s
                    .broker()
                    .count(Direction::ClientToBroker, PacketType::Subscribe)
                    > before,
                secs(5)
            ),
            "{version}: no re-subscription"
        );
        assert!(
            !sim.events()
                .iter()
                .any(|e| matches!(e, RecordedEvent::Subscribed { ticket, .. } if *ticket == Ticket::RESUBSCRIBE)),
            "{version}: the SUBACK must still be in flight"
        );
        let again = sim.subscribe("sensors/#", QoS::AtLeastOnce).unwrap();
        sim.run_until_idle();

        assert_eq!(
            protocol_errors(&sim),
            Vec::<&RecordedEvent>::new(),
            "{version}"
        );
        assert_eq!(
            subscribed(&sim, Ticket::RESUBSCRIBE),
            [[ReasonCode::GRANTED_QOS_2]],
            "{version}"
        );
        assert_eq!(
            subscribed(&sim, again),
            [[ReasonCode::GRANTED_QOS_1]],
            "{version}"
        );
        assert_eq!(
            broker_granted(&sim, "sensors/#"),
            Some(QoS::AtLeastOnce),
            "{version}"
        );
        // The table follows: after another session loss, the session restores the latest options.
        sim.broker_mut().forget_session();
        sim.cut_link();
        assert!(sim.run_until(|s| s.session().is_connected(), secs(5)));
        sim.run_until_idle();
        assert_eq!(
            broker_granted(&sim, "sensors/#"),
            Some(QoS::AtLeastOnce),
            "{version}"
        );
        // One subscription, one copy of each message.
        assert!(
            sim.broker_mut()
                .inject("sensors/a", b"m", QoS::AtLeastOnce, false)
        );
        sim.run_until_idle();
        assert_eq!(sim.messages().len(), 1, "{version}");
    }
}

#[test]
fn two_concurrent_subscribes_of_one_filter_both_complete_and_the_later_options_stay() {
    for version in VERSIONS {
        let mut sim = connected(&persistent(version), SimConfig::default());
        // Both go out before either SUBACK is back.
        let first = sim.subscribe("a/+", QoS::AtMostOnce).unwrap();
        let second = sim.subscribe("a/+", QoS::ExactlyOnce).unwrap();
        sim.run_until_idle();
        assert_eq!(
            protocol_errors(&sim),
            Vec::<&RecordedEvent>::new(),
            "{version}"
        );
        assert_eq!(subscribed(&sim, first), [[ReasonCode::GRANTED_QOS_0]]);
        assert_eq!(subscribed(&sim, second), [[ReasonCode::GRANTED_QOS_2]]);
        assert_eq!(broker_granted(&sim, "a/+"), Some(QoS::ExactlyOnce));
        // The session knows QoS 2 was granted: a QoS 2 message is no protocol error.
        assert!(
            sim.broker_mut()
                .inject("a/b", b"x", QoS::ExactlyOnce, false)
        );
        sim.run_until_idle();
        assert_eq!(sim.messages().len(), 1);
        assert_eq!(sim.messages()[0].qos, QoS::ExactlyOnce);
        assert_eq!(
            protocol_errors(&sim),
            Vec::<&RecordedEvent>::new(),
            "{version}"
        );

        // The same filter twice in one request: one SUBACK with two codes, the last one wins.
        let both = sim
            .subscribe_many(&[
                mqtt_core::codec::Subscription::new("b", QoS::ExactlyOnce),
                mqtt_core::codec::Subscription::new("b", QoS::AtLeastOnce),
            ])
            .unwrap();
        sim.run_until_idle();
        assert_eq!(
            subscribed(&sim, both),
            [[ReasonCode::GRANTED_QOS_2, ReasonCode::GRANTED_QOS_1]]
        );
        assert_eq!(broker_granted(&sim, "b"), Some(QoS::AtLeastOnce));
    }
}

#[test]
fn unsubscribing_a_filter_whose_subscribe_is_in_flight_leaves_it_unsubscribed() {
    // The UNSUBSCRIBE follows the SUBSCRIBE on the wire and removes what it granted: both requests complete and
    // the filter stays unsubscribed, also after the broker loses the session (nothing to restore).
    for version in VERSIONS {
        let mut sim = connected(&persistent(version), SimConfig::default());
        let subscribe = sim.subscribe("u/#", QoS::AtLeastOnce).unwrap();
        let unsubscribe = sim.unsubscribe(&["u/#"]).unwrap();
        sim.run_until_idle();
        assert_eq!(completions(&sim, subscribe), 1, "{version}");
        assert_eq!(completions(&sim, unsubscribe), 1, "{version}");
        assert_eq!(broker_granted(&sim, "u/#"), None, "{version}");
        assert!(
            !sim.broker_mut()
                .inject("u/x", b"no", QoS::AtLeastOnce, false)
        );

        sim.broker_mut().forget_session();
        sim.cut_link();
        assert!(sim.run_until(|s| s.session().is_connected(), secs(5)));
        sim.run_until_idle();
        assert_eq!(
            completions(&sim, Ticket::RESUBSCRIBE),
            0,
            "{version}: nothing to restore"
        );
        assert_eq!(broker_granted(&sim, "u/#"), None, "{version}");

        // Subscribe, unsubscribe, subscribe again, all in flight together: subscribed in the end.
        let tickets = [
            sim.subscribe("v", QoS::AtMostOnce).unwrap(),
            sim.unsubscribe(&["v"]).unwrap(),
            sim.subscribe("v", QoS::AtLeastOnce).unwrap(),
        ];
        sim.run_until_idle();
        for ticket in tickets {
            assert_eq!(completions(&sim, ticket), 1, "{version}");
        }
        assert_eq!(broker_granted(&sim, "v"), Some(QoS::AtLeastOnce));
        assert_eq!(
            protocol_errors(&sim),
            Vec::<&RecordedEvent>::new(),
            "{version}"
        );
    }
}

#[test]
fn a_hundred_forced_reconnects_with_subscribe_on_every_connect_complete_every_request() {
    // The application subscribes on every connection: in its connect callback, or a moment later, once the
    // session's own re-subscription is on the wire. The link is cut a hundred times at varying points (before the
    // CONNACK is read, with the SUBSCRIBEs in flight, after their SUBACKs), and the broker forgets the session
    // every other time, so that the session's re-subscription is in flight too.
    for version in VERSIONS {
        for in_callback in [true, false] {
            let sim_config = SimConfig {
                link: mqtt_test::LinkConfig {
                    latency: Duration::from_millis(5),
                    ..Default::default()
                },
                ..SimConfig::default()
            };
            let mut sim = Sim::new(&persistent(version), sim_config).unwrap();
            let mut tickets = Vec::new();
            if in_callback {
                sim.subscribe_on_connect("app/#", options(QoS::AtLeastOnce));
            }
            sim.connect();
            for round in 0..100u64 {
                let before = connections(&sim);
                assert!(
                    sim.run_until(|s| connections(s) > before, secs(120)),
                    "{version}: round {round}: no connection"
                );
                if !in_callback {
                    let sent = sim
                        .broker()
                        .count(Direction::ClientToBroker, PacketType::Subscribe);
                    sim.run_until(
                        |s| {
                            s.broker()
                                .count(Direction::ClientToBroker, PacketType::Subscribe)
                                > sent
                        },
                        Duration::from_millis(20),
                    );
                    tickets.push(sim.subscribe("app/#", QoS::AtLeastOnce).unwrap());
                }
                if round % 2 == 0 {
                    sim.broker_mut().forget_session();
                }
                // Cut after 0 to 4 further deliveries of the link.
                for _ in 0..round % 5 {
                    sim.step();
                }
                sim.cut_link();
            }
            assert!(sim.run_until(|s| s.session().is_connected(), secs(120)));
            sim.run_until_idle();
            let context = format!("{version}, subscribing in the callback: {in_callback}");
            assert_eq!(
                protocol_errors(&sim),
                Vec::<&RecordedEvent>::new(),
                "{context}"
            );
            tickets.extend(
                sim.on_connect_requests()
                    .iter()
                    .map(|r| r.expect("the table never fills up")),
            );
            assert!(tickets.len() >= 100, "{context}: {}", tickets.len());
            for ticket in tickets {
                assert_eq!(
                    completions(&sim, ticket),
                    1,
                    "{context}: request {ticket} did not complete once"
                );
                assert!(
                    subscribed(&sim, ticket)
                        .iter()
                        .all(|codes| codes == &[ReasonCode::GRANTED_QOS_1]),
                    "{context}"
                );
            }
            // Delivered once, through the one subscription the broker holds.
            assert_eq!(broker_granted(&sim, "app/#"), Some(QoS::AtLeastOnce));
            let before = sim.messages().len();
            assert!(
                sim.broker_mut()
                    .inject("app/x", b"once", QoS::AtLeastOnce, false)
            );
            sim.run_until_idle();
            assert_eq!(sim.messages().len(), before + 1, "{context}");
            assert!(sim.broker().violations().is_empty(), "{context}");
        }
    }
}

#[test]
fn v311_share_filters_are_ordinary_filters_and_pass_through_unchanged() {
    // 3.1.1 has no shared subscriptions: `$share/+/x` and `$share/a` are valid ordinary filters there, and
    // `$share/group/filter` goes to the broker unchanged (many 3.1.1 brokers offer it as an extension). In 5.0
    // the first two are malformed shared subscriptions ([MQTT-4.8.2-1], [MQTT-4.8.2-2]).
    let filters = ["$share/+/x", "$share/a", "$share/group/sport/#"];
    let mut sim = connected(&persistent(ProtocolVersion::V311), SimConfig::default());
    for filter in filters {
        let ticket = sim.subscribe(filter, QoS::AtLeastOnce).unwrap();
        sim.run_until_idle();
        assert_eq!(subscribed(&sim, ticket), [[ReasonCode::GRANTED_QOS_1]]);
        assert_eq!(
            broker_granted(&sim, filter),
            Some(QoS::AtLeastOnce),
            "{filter}"
        );
    }
    for filter in filters {
        let ticket = sim.unsubscribe(&[filter]).unwrap();
        sim.run_until_idle();
        assert_eq!(completions(&sim, ticket), 1, "{filter}");
        assert_eq!(broker_granted(&sim, filter), None, "{filter}");
    }
    assert!(sim.broker().violations().is_empty());

    let mut sim = connected(&persistent(ProtocolVersion::V5), SimConfig::default());
    for filter in ["$share/+/x", "$share/a"] {
        let refused = Err(SubscribeError::InvalidFilter(
            TopicError::InvalidSharedSubscription,
        ));
        assert_eq!(sim.subscribe(filter, QoS::AtLeastOnce), refused, "{filter}");
        assert_eq!(sim.unsubscribe(&[filter]), refused, "{filter}");
    }
    let ticket = sim
        .subscribe("$share/group/sport/#", QoS::AtLeastOnce)
        .unwrap();
    sim.run_until_idle();
    assert_eq!(completions(&sim, ticket), 1);
    // No Local on a shared subscription is a 5.0 rule ([MQTT-3.8.3-4]).
    let no_local = mqtt_core::codec::Subscription {
        filter: "$share/group/x",
        options: SubscriptionOptions {
            no_local: true,
            ..options(QoS::AtMostOnce)
        },
    };
    assert!(matches!(
        sim.subscribe_many(&[no_local]),
        Err(SubscribeError::InvalidOptions(_))
    ));
}

#[test]
fn an_unsubscribe_above_the_brokers_maximum_packet_size_is_refused_and_never_sent() {
    // [MQTT-3.2.2-15]: the broker said 30 bytes; this UNSUBSCRIBE takes 38.
    let sim_config = SimConfig {
        broker: BrokerConfig {
            maximum_packet_size: Some(30),
            ..BrokerConfig::default()
        },
        ..SimConfig::default()
    };
    // A short CONNECT: the broker's limit applies to it too.
    let mut sim = connected(&Config::new("c"), sim_config);
    let filter = "sensors/building-7/floor-3/temp";
    assert_eq!(filter.len(), 31, "an UNSUBSCRIBE of 38 bytes");
    assert_eq!(sim.unsubscribe(&[filter]), Err(SubscribeError::TooLarge));
    assert_eq!(
        sim.subscribe(filter, QoS::AtMostOnce),
        Err(SubscribeError::TooLarge)
    );
    let ok = sim.unsubscribe(&["short"]).unwrap();
    sim.run_until_idle();
    assert_eq!(completions(&sim, ok), 1);
    assert_eq!(
        sim.broker()
            .count(Direction::ClientToBroker, PacketType::Unsubscribe),
        1
    );
    assert!(sim.broker().violations().is_empty());
}

#[test]
fn requests_made_before_a_smaller_maximum_packet_size_was_known_fail_their_ticket_unsent() {
    // Made offline, checked against no limit; the CONNACK then says 30 bytes ([MQTT-3.2.2-15]).
    let sim_config = SimConfig {
        broker: BrokerConfig {
            maximum_packet_size: Some(30),
            ..BrokerConfig::default()
        },
        ..SimConfig::default()
    };
    let mut sim = Sim::new(&Config::new("c"), sim_config).unwrap();
    let filter = "sensors/building-7/floor-3/temp";
    let subscribe = sim.subscribe(filter, QoS::AtMostOnce).unwrap();
    let unsubscribe = sim.unsubscribe(&[filter]).unwrap();
    let small = sim.subscribe("s", QoS::AtMostOnce).unwrap();
    sim.connect();
    sim.run_until_idle();
    for ticket in [subscribe, unsubscribe] {
        assert!(
            sim.events()
                .contains(&RecordedEvent::RequestTooLarge { ticket }),
            "{ticket}"
        );
    }
    assert_eq!(completions(&sim, small), 1);
    assert_eq!(
        sim.broker()
            .count(Direction::ClientToBroker, PacketType::Unsubscribe),
        0
    );
    assert_eq!(
        sim.broker()
            .count(Direction::ClientToBroker, PacketType::Subscribe),
        1
    );
    assert!(sim.broker().violations().is_empty());
}

#[test]
fn the_resubscription_is_split_over_packets_within_the_maximum_packet_size() {
    // Six subscriptions of about 20 bytes each are restored after a session loss against a broker that now takes
    // 64-byte packets: several SUBSCRIBEs, every one within the limit ([MQTT-3.2.2-15]). A filter too long for
    // any packet is dropped alone, reported as RequestTooLarge of Ticket::RESUBSCRIBE.
    let mut sim = connected(&persistent(ProtocolVersion::V5), SimConfig::default());
    let filters: Vec<String> = (0..6)
        .map(|i| format!("building/floor-{i}/room/#"))
        .collect();
    let long = format!("{}/#", "x".repeat(70));
    for filter in filters.iter().chain([&long]) {
        sim.subscribe(filter, QoS::AtLeastOnce).unwrap();
    }
    sim.run_until_idle();
    assert_eq!(sim.broker().subscriptions().len(), 7);

    sim.broker_mut().config_mut().maximum_packet_size = Some(64);
    sim.broker_mut().forget_session();
    sim.cut_link();
    assert!(sim.run_until(|s| s.session().is_connected(), secs(5)));
    sim.run_until_idle();
    for filter in &filters {
        assert_eq!(
            broker_granted(&sim, filter),
            Some(QoS::AtLeastOnce),
            "{filter}"
        );
    }
    assert_eq!(broker_granted(&sim, &long), None);
    assert!(
        subscribed(&sim, Ticket::RESUBSCRIBE).len() > 1,
        "one packet cannot hold them"
    );
    assert!(sim.events().contains(&RecordedEvent::RequestTooLarge {
        ticket: Ticket::RESUBSCRIBE
    }));
    assert_eq!(protocol_errors(&sim), Vec::<&RecordedEvent>::new());
    assert!(
        sim.broker().violations().is_empty(),
        "{:?}",
        sim.broker().violations()
    );
}
