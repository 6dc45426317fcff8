//! Reconnecting in deterministic simulation: commands that always end in the state the last one asked for, a
//! backoff that protects brokers, and failover over a list of brokers that really fails over. A real `Session`
//! against `mqtt_test::FakeBroker`s over a simulated link, in virtual time.

use core::future::Future;
use core::time::Duration;

use mqtt_core::codec::{ProtocolVersion, QoS, ReasonCode};
use mqtt_core::reconnect::ReconnectPolicy;
use mqtt_core::session::{ConnectRefusal, Disconnection};
use mqtt_core::{Buffers, Config, Event, Instant, Session, SessionState, TransportAction};
use mqtt_test::{BrokerConfig, RecordedEvent, Sim, SimConfig};
use proptest::prelude::*;

const VERSIONS: [ProtocolVersion; 2] = [ProtocolVersion::V311, ProtocolVersion::V5];

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The default policy without jitter, for exact delays.
fn exact() -> ReconnectPolicy {
    ReconnectPolicy {
        jitter_permille: 0,
        ..ReconnectPolicy::default()
    }
}

fn config(version: ProtocolVersion) -> Config<'static> {
    Config {
        version,
        reconnect: exact(),
        ..Config::new("reconnect")
    }
}

fn delays(sim: &Sim) -> Vec<Duration> {
    sim.events()
        .iter()
        .filter_map(|e| match e {
            RecordedEvent::Reconnecting { delay, .. } => Some(*delay),
            _ => None,
        })
        .collect()
}

fn connected_events(sim: &Sim) -> usize {
    sim.events()
        .iter()
        .filter(|e| matches!(e, RecordedEvent::Connected { .. }))
        .count()
}

// ----- 13.2: commands end in the state the last one asked for -----

#[test]
fn open_close_open_before_the_binding_looks_is_one_close_then_one_open() {
    let config = config(ProtocolVersion::V5);
    let mut s = Session::new(&config, Buffers::owned(256, 1024, 128)).unwrap();
    let t = Instant::from_millis(1);
    s.connect(t);
    s.disconnect(t);
    s.connect(t);
    // The last command asked for a connection: the binding closes what it may have started, then opens.
    assert_eq!(s.poll_transport(), Some(TransportAction::Close));
    assert_eq!(s.poll_transport(), Some(TransportAction::Open));
    assert_eq!(s.poll_transport(), None);
    assert_eq!(s.state(), SessionState::Opening);
    // And the other way round: the last command asked to stay disconnected.
    s.reconnect(t);
    s.reconnect(t);
    s.disconnect(t);
    assert_eq!(s.poll_transport(), Some(TransportAction::Close));
    assert_eq!(s.poll_transport(), None);
    assert_eq!(s.state(), SessionState::Closed);
}

#[test]
fn a_transport_report_about_a_connection_given_up_is_ignored() {
    let config = config(ProtocolVersion::V5);
    let mut s = Session::new(&config, Buffers::owned(256, 1024, 128)).unwrap();
    let t = Instant::from_millis(1);
    s.connect(t);
    assert_eq!(s.poll_transport(), Some(TransportAction::Open));
    // The binding is opening when the application asks for a fresh attempt.
    s.reconnect(t);
    // The old attempt completes (or fails) before the binding took the new actions: it is not the new attempt.
    s.handle_transport_up(t);
    s.handle_transport_down(t);
    assert_eq!(s.state(), SessionState::Opening);
    assert!(
        !s.wants_write(),
        "no CONNECT on a transport the session gave up"
    );
    assert_eq!(s.poll_transport(), Some(TransportAction::Close));
    assert_eq!(s.poll_transport(), Some(TransportAction::Open));
    s.handle_transport_up(t);
    assert_eq!(s.state(), SessionState::Connecting);
    assert!(s.wants_write());
}

#[test]
fn reconnect_twice_in_a_row_under_the_manual_policy_ends_connected() {
    for version in VERSIONS {
        let config = Config {
            reconnect: ReconnectPolicy::manual(),
            ..config(version)
        };
        let mut sim = Sim::new(&config, SimConfig::default()).unwrap();
        sim.connect();
        assert!(sim.run_until(|s| s.session().is_connected(), secs(1)));
        // A handler reacting to both Lost and GaveUp calls reconnect twice.
        let now = sim.now();
        sim.session_mut().reconnect(now);
        sim.session_mut().reconnect(now);
        assert!(
            sim.run_until(|s| s.session().is_connected(), secs(1)),
            "{version}: {:?}",
            sim.events()
        );
        sim.run_for(secs(60));
        assert!(sim.session().is_connected(), "{version}");
        assert!(sim.broker().is_connected(), "{version}");
    }
}

#[test]
fn connect_during_a_graceful_disconnect_keeps_the_connection() {
    let mut sim = Sim::new(&config(ProtocolVersion::V5), SimConfig::default()).unwrap();
    sim.connect();
    assert!(sim.run_until(|s| s.session().is_connected(), secs(1)));
    sim.broker_mut().hold_acks();
    sim.publish("t", b"x", QoS::AtLeastOnce).unwrap();
    sim.run_until_idle();
    sim.disconnect();
    assert_eq!(sim.session().state(), SessionState::Disconnecting);
    sim.connect();
    sim.broker_mut().release_acks();
    sim.run_for(secs(10));
    assert_eq!(sim.session().state(), SessionState::Connected);
    assert_eq!(sim.broker().connections().len(), 1, "the connection stayed");
}

/// An application command, and how the harness lets time pass between commands.
#[derive(Debug, Clone, Copy)]
enum Op {
    Connect,
    Reconnect,
    Disconnect,
    /// Let the simulation take this many steps (link deliveries, timers).
    Steps(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Connect),
        Just(Op::Reconnect),
        Just(Op::Disconnect),
        (0u8..6).prop_map(Op::Steps),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Any sequence of connect, reconnect and disconnect, at any moment of the connection's life, ends in the state
    /// the last command asked for: connected (session and broker), or closed with the broker disconnected.
    #[test]
    fn any_command_sequence_ends_in_the_state_the_last_command_asked_for(
        ops in prop::collection::vec(op(), 1..24),
        v5 in any::<bool>(),
        manual in any::<bool>(),
    ) {
        let version = if v5 { ProtocolVersion::V5 } else { ProtocolVersion::V311 };
        let config = Config {
            reconnect: if manual { ReconnectPolicy::manual() } else { exact() },
            ..config(version)
        };
        let sim_config = SimConfig { print_trace_on_panic: false, ..SimConfig::default() };
        let mut sim = Sim::new(&config, sim_config).unwrap();
        let mut last = None;
        for op in &ops {
            let now = sim.now();
            match op {
                Op::Connect => sim.session_mut().connect(now),
                Op::Reconnect => sim.session_mut().reconnect(now),
                Op::Disconnect => sim.session_mut().disconnect(now),
                Op::Steps(n) => {
                    for _ in 0..*n {
                        sim.step();
                    }
                }
            }
            if !matches!(op, Op::Steps(_)) {
                last = Some(*op);
            }
        }
        sim.run_for(secs(30));
        let state = sim.session().state();
        match last {
            Some(Op::Connect | Op::Reconnect) => {
                prop_assert_eq!(state, SessionState::Connected, "{:?}\n{}", ops, sim.trace().tail(60));
                prop_assert!(sim.broker().is_connected());
            }
            Some(Op::Disconnect) => {
                prop_assert_eq!(state, SessionState::Closed, "{:?}\n{}", ops, sim.trace().tail(60));
                prop_assert!(!sim.broker().is_connected());
                prop_assert!(!sim.link().is_up());
            }
            _ => prop_assert_eq!(state, SessionState::Idle),
        }
        prop_assert!(sim.broker().violations().is_empty(), "{:?}", sim.broker().violations());
    }
}

// ----- 13.3: a backoff that protects brokers -----

#[test]
fn a_broker_that_accepts_and_drops_at_once_is_retried_on_a_growing_schedule() {
    for version in VERSIONS {
        let sim_config = SimConfig {
            broker: BrokerConfig {
                drop_after_connack: true,
                ..BrokerConfig::default()
            },
            ..SimConfig::default()
        };
        let mut sim = Sim::new(&config(version), sim_config).unwrap();
        sim.connect();
        sim.run_for(secs(1 + 2 + 4 + 8 + 16 + 32 + 60 + 1));
        // Connections at 0, 1, 3, 7, 15, 31, 63 and 123 s, each dropped at once.
        assert_eq!(
            delays(&sim),
            [1, 2, 4, 8, 16, 32, 60, 60].map(secs),
            "{version}: every CONNACK used to start the schedule over"
        );
        assert_eq!(connected_events(&sim), 8, "{version}");
    }
}

#[test]
fn the_schedule_starts_over_only_after_a_connection_stayed_up_for_stable_after() {
    let config = Config {
        reconnect: ReconnectPolicy {
            stable_after: secs(20),
            ..exact()
        },
        ..config(ProtocolVersion::V5)
    };
    let mut sim = Sim::new(&config, SimConfig::default()).unwrap();
    sim.link_mut().set_reachable(false);
    sim.connect();
    sim.run_for(secs(1 + 2 + 1));
    assert_eq!(delays(&sim), [1, 2, 4].map(secs));
    sim.link_mut().set_reachable(true);
    assert!(sim.run_until(|s| s.session().is_connected(), secs(5)));
    // Up for less than `stable_after`: the loss continues the schedule.
    sim.run_for(secs(19));
    sim.take_events();
    sim.cut_link();
    assert!(sim.run_until(|s| s.session().is_connected(), secs(10)));
    assert_eq!(delays(&sim), [secs(8)]);
    // Up for `stable_after`: it starts over.
    sim.run_for(secs(20));
    sim.take_events();
    sim.cut_link();
    assert!(sim.run_until(|s| s.session().is_connected(), secs(2)));
    assert_eq!(delays(&sim), [secs(1)]);
}

#[test]
fn a_connack_refused_for_session_present_after_clean_start_keeps_the_schedule_growing() {
    // After a stable connection, the broker answers every CONNECT with Session Present 1 despite Clean Start 1: each
    // attempt fails `[MQTT-3.2.2-4]` (in 5.0 with a DISCONNECT first). Those attempts never connected, so they do
    // not start the schedule over, however long ago the last good connection began.
    for version in VERSIONS {
        let mut sim = Sim::new(&config(version), SimConfig::default()).unwrap();
        sim.connect();
        assert!(sim.run_until(|s| s.session().is_connected(), secs(5)));
        sim.run_for(secs(60));
        sim.broker_mut().config_mut().claim_session_present = true;
        sim.take_events();
        sim.cut_link();
        sim.run_for(secs(1 + 2 + 4 + 8 + 1));
        assert_eq!(delays(&sim), [1, 2, 4, 8, 16].map(secs), "{version}");
        assert_eq!(connected_events(&sim), 0, "{version}");
    }
}

#[test]
fn jitter_is_on_by_default_and_spreads_the_schedule() {
    let config = Config::new("jitter");
    let mut sim = Sim::new(&config, SimConfig::default()).unwrap();
    sim.link_mut().set_reachable(false);
    sim.connect();
    sim.run_for(secs(200));
    let got = delays(&sim);
    let base = [1, 2, 4, 8, 16, 32, 60].map(secs);
    assert!(got.len() >= base.len());
    for (d, b) in got.iter().zip(base) {
        assert!(*d >= b * 3 / 4 && *d <= b * 5 / 4, "{d:?} for {b:?}");
    }
    assert!(got.iter().zip(base).any(|(d, b)| *d != b), "{got:?}");
}

// ----- 18: failover that really fails over -----

fn two_brokers(first: BrokerConfig) -> SimConfig {
    SimConfig {
        broker: first,
        failover: vec![BrokerConfig::default()],
        ..SimConfig::default()
    }
}

#[test]
fn a_hung_node_is_left_after_the_connect_timeout_for_the_next_broker_at_once() {
    for version in VERSIONS {
        let hung = BrokerConfig {
            answer_connect: false,
            ..BrokerConfig::default()
        };
        let config = Config {
            connect_timeout: secs(5),
            ..config(version)
        };
        let mut sim = Sim::new(&config, two_brokers(hung)).unwrap();
        sim.connect();
        assert!(
            sim.run_until(|s| s.session().is_connected(), secs(6)),
            "{version}: {:?}",
            sim.events()
        );
        assert_eq!(sim.session().broker(), 1, "{version}");
        assert_eq!(sim.active_broker(), 1);
        assert_eq!(sim.broker_at(0).connections().len(), 1);
        assert_eq!(
            sim.events()[..2],
            [
                RecordedEvent::ConnectFailed {
                    reason: Disconnection::ConnectTimeout
                },
                RecordedEvent::Reconnecting {
                    attempt: 1,
                    delay: Duration::ZERO
                }
            ]
        );
    }
}

#[test]
fn server_unavailable_moves_to_the_next_broker_and_bad_credentials_do_not() {
    for version in VERSIONS {
        let (unavailable, bad) = match version {
            ProtocolVersion::V311 => (ReasonCode(3), ReasonCode(4)),
            _ => (
                ReasonCode::SERVER_UNAVAILABLE,
                ReasonCode::BAD_USER_NAME_OR_PASSWORD,
            ),
        };
        let refusing = |code| BrokerConfig {
            refuse_connect: Some(code),
            ..BrokerConfig::default()
        };
        let mut sim = Sim::new(&config(version), two_brokers(refusing(unavailable))).unwrap();
        sim.connect();
        assert!(sim.run_until(|s| s.session().is_connected(), secs(1)));
        assert_eq!(sim.session().broker(), 1, "{version}");
        assert_eq!(sim.broker_at(0).connections().len(), 1, "{version}");

        let mut sim = Sim::new(&config(version), two_brokers(refusing(bad))).unwrap();
        sim.connect();
        sim.run_for(secs(120));
        assert!(sim.broker_at(1).connections().is_empty(), "{version}");
        assert!(
            matches!(
                sim.events().last(),
                Some(RecordedEvent::GaveUp {
                    reason: Disconnection::Refused(ConnectRefusal::BadUserNameOrPassword)
                })
            ),
            "{version}: {:?}",
            sim.events()
        );
    }
}

#[test]
fn refusals_about_the_server_fail_over_and_refusals_about_the_client_stay() {
    let server = [0x88, 0x89, 0x97, 0x9c, 0x9d, 0x84];
    for code in server {
        let refusal = ConnectRefusal::from_code(ProtocolVersion::V5, ReasonCode(code)).unwrap();
        assert!(Disconnection::Refused(refusal).fails_over(), "{code:#x}");
    }
    let client = [
        0x80, 0x81, 0x82, 0x83, 0x85, 0x86, 0x87, 0x8a, 0x8c, 0x95, 0x99, 0x9a, 0x9b, 0x9f,
    ];
    for code in client {
        let refusal = ConnectRefusal::from_code(ProtocolVersion::V5, ReasonCode(code)).unwrap();
        assert!(!Disconnection::Refused(refusal).fails_over(), "{code:#x}");
    }
    for (code, moves) in [(1, true), (2, false), (3, true), (4, false), (5, false)] {
        let refusal = ConnectRefusal::from_code(ProtocolVersion::V311, ReasonCode(code)).unwrap();
        assert_eq!(
            Disconnection::Refused(refusal).fails_over(),
            moves,
            "{code}"
        );
    }
    for reason in [
        Disconnection::TransportClosed,
        Disconnection::ConnectTimeout,
        Disconnection::KeepAliveTimeout,
    ] {
        assert!(reason.fails_over(), "{reason:?}");
    }
    for (code, moves) in [
        (0x8b, true),
        (0x9c, true),
        (0x89, true),
        (0x8e, false),
        (0x9e, false),
    ] {
        assert_eq!(
            Disconnection::ServerDisconnect(ReasonCode(code)).fails_over(),
            moves,
            "{code:#x}"
        );
    }
}

#[test]
fn after_a_loss_the_next_broker_is_tried_at_once_and_backoff_waits_for_a_whole_round() {
    let mut sim = Sim::new(
        &config(ProtocolVersion::V5),
        two_brokers(BrokerConfig::default()),
    )
    .unwrap();
    sim.connect();
    assert!(sim.run_until(|s| s.session().is_connected(), secs(1)));
    sim.run_for(secs(60));
    assert_eq!(sim.session().broker(), 0);
    sim.take_events();
    // Broker 0 dies: the client is on broker 1 without waiting a backoff step.
    sim.set_broker_reachable(0, false);
    let lost_at = sim.now();
    sim.cut_link();
    assert!(sim.run_until(|s| s.session().is_connected(), secs(1)));
    assert_eq!(sim.session().broker(), 1);
    assert!(sim.now() - lost_at < Duration::from_millis(100));
    assert_eq!(delays(&sim), [Duration::ZERO]);
    // Both die: each round tries both at once, the schedule's delay comes between rounds.
    sim.run_for(secs(60));
    sim.take_events();
    sim.set_broker_reachable(1, false);
    sim.cut_link();
    sim.run_for(secs(1 + 2 + 4 + 1));
    assert_eq!(
        delays(&sim),
        [0, 1, 0, 2, 0, 4, 0, 8].map(secs),
        "{:?}",
        sim.events()
    );
    sim.set_broker_reachable(0, true);
    assert!(sim.run_until(|s| s.session().is_connected(), secs(9)));
    assert_eq!(sim.session().broker(), 0);
}

#[test]
fn one_broker_keeps_the_plain_schedule_after_a_loss() {
    let mut sim = Sim::new(&config(ProtocolVersion::V5), SimConfig::default()).unwrap();
    sim.connect();
    assert!(sim.run_until(|s| s.session().is_connected(), secs(1)));
    sim.run_for(secs(60));
    sim.take_events();
    sim.link_mut().set_reachable(false);
    sim.cut_link();
    sim.run_for(secs(1 + 2 + 1));
    assert_eq!(delays(&sim), [1, 2, 4].map(secs));
    assert_eq!(sim.session().broker(), 0);
}

#[test]
fn the_manual_policy_still_tries_every_broker_once_when_asked_to_connect() {
    let refusing = BrokerConfig {
        refuse_connect: Some(ReasonCode::SERVER_UNAVAILABLE),
        ..BrokerConfig::default()
    };
    let config = Config {
        reconnect: ReconnectPolicy::manual(),
        ..config(ProtocolVersion::V5)
    };
    let mut sim = Sim::new(&config, two_brokers(refusing)).unwrap();
    sim.connect();
    assert!(sim.run_until(|s| s.session().is_connected(), secs(1)));
    assert_eq!(sim.session().broker(), 1);
    // A loss under the manual policy stays lost.
    sim.cut_link();
    sim.run_for(secs(60));
    assert!(matches!(
        sim.events().last(),
        Some(RecordedEvent::GaveUp { .. })
    ));
    assert_eq!(connected_events(&sim), 1);
}

#[test]
fn each_event_names_its_broker_through_the_session() {
    // `Session::broker` after `Connected` names the broker that accepted the connection.
    let refusing = BrokerConfig {
        refuse_connect: Some(ReasonCode::SERVER_BUSY),
        ..BrokerConfig::default()
    };
    let mut sim = Sim::new(&config(ProtocolVersion::V5), two_brokers(refusing)).unwrap();
    sim.connect();
    let mut seen = None;
    for _ in 0..100 {
        sim.step();
        if connected_events(&sim) == 1 {
            seen = Some(sim.session().broker());
            break;
        }
    }
    assert_eq!(seen, Some(1));
    assert!(sim.broker_at(1).is_connected());
}

#[test]
fn events_report_reconnects_with_their_attempt_numbers_over_a_round() {
    let config = config(ProtocolVersion::V5);
    let mut s = Session::new(&config, Buffers::owned(256, 1024, 128)).unwrap();
    s.set_brokers(3);
    let mut t = Instant::from_millis(1);
    s.connect(t);
    let mut brokers = Vec::new();
    for _ in 0..4 {
        assert_eq!(s.poll_transport(), Some(TransportAction::Open));
        brokers.push(s.broker());
        s.handle_transport_down(t);
        while let Some(event) = s.poll_event() {
            if let Event::Reconnecting { delay, .. } = event {
                t += delay;
            }
        }
        s.handle_timeout(t);
    }
    assert_eq!(brokers, [0, 1, 2, 0]);
}

/// Polls `future` to completion; `None` if it stays pending.
fn block_on<F: Future>(future: F) -> Option<F::Output> {
    let mut future = core::pin::pin!(future);
    let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    (0..100).find_map(|_| match future.as_mut().poll(&mut cx) {
        core::task::Poll::Ready(output) => Some(output),
        core::task::Poll::Pending => None,
    })
}

#[test]
fn failover_opens_the_broker_the_session_selects_and_names_it_after_connecting() {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use mqtt_core::io::{Connect, Failover};
    use mqtt_test::FakeBroker;
    use mqtt_test::memory::MemoryConnector;

    let broker = Rc::new(RefCell::new(FakeBroker::default()));
    let attempts: [Rc<Cell<u32>>; 3] = Default::default();
    let connector = |i: usize, fail_first| MemoryConnector {
        broker: broker.clone(),
        fail_first,
        attempts: attempts[i].clone(),
    };
    // Broker 0 refuses TCP, 1 and 2 work.
    let list = vec![connector(0, u32::MAX), connector(1, 0), connector(2, 0)];
    let mut failover = Failover::new(list).unwrap();
    let config = config(ProtocolVersion::V5);
    let mut session = Session::new(&config, Buffers::owned(256, 1024, 128)).unwrap();
    // The wiring a driver does (see `Connect`'s docs): the count once, the selection before each connect.
    session.set_brokers(failover.brokers());
    let now = Instant::from_millis(1);
    session.connect(now);
    let mut connected = false;
    for _ in 0..4 {
        while let Some(action) = session.poll_transport() {
            if action != TransportAction::Open {
                continue;
            }
            failover.select(session.broker());
            match block_on(failover.connect()).expect("the connector answers at once") {
                Ok(_) => session.handle_transport_up(now),
                Err(_) => session.handle_transport_down(now),
            }
        }
        while session.poll_event().is_some() {}
        if session.state() == SessionState::Connecting {
            // The transport is up: CONNECT goes out next.
            connected = true;
            break;
        }
    }
    assert!(connected);
    assert_eq!(attempts.each_ref().map(|a| a.get()), [1, 1, 0]);
    assert_eq!((session.broker(), failover.current()), (1, 1));
    assert_eq!(failover.brokers(), 3);
    failover.select(5);
    assert_eq!(failover.current(), 2, "the index wraps");
}

/// The identifier a 5.0 broker assigns to an empty one is kept for the following CONNECTs, so that a persistent
/// session resumes; the will, the credentials and the properties stay as they were. `[MQTT-3.2.2.3.7]`
#[test]
fn an_assigned_client_identifier_is_sent_on_every_reconnect_with_the_rest_of_connect_unchanged() {
    let config = Config {
        clean_start: false,
        session_expiry_interval: 600,
        username: Some("device"),
        password: Some(b"secret"),
        will: Some(mqtt_core::codec::Will {
            topic: "status",
            payload: b"gone",
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: Default::default(),
        }),
        ..Config::new("")
    };
    let mut sim = Sim::new(&config, SimConfig::default()).unwrap();
    sim.connect();
    assert!(sim.run_until(|s| s.session().is_connected(), secs(1)));
    let assigned = sim.broker().connections()[0].effective_client_id.clone();
    assert!(!assigned.is_empty());
    assert_eq!(sim.session().assigned_client_id(), Some(assigned.as_str()));
    for round in 1..3 {
        sim.reconnect();
        assert!(sim.run_until(|s| connected_events(s) == round + 1, secs(5)));
        let connect = &sim.broker().connections()[round];
        assert_eq!(connect.client_id, assigned, "round {round}");
        assert_eq!(
            (connect.clean_start, connect.session_expiry_interval),
            (false, 600)
        );
        assert_eq!(connect.username.as_deref(), Some("device"));
        assert_eq!(connect.password.as_deref(), Some(&b"secret"[..]));
        let will = connect.will.as_ref().expect("the will");
        assert_eq!(
            (will.topic.as_str(), will.payload.as_slice()),
            ("status", &b"gone"[..])
        );
    }
    assert_eq!(sim.session().assigned_client_id(), Some(assigned.as_str()));
    assert!(
        sim.broker().violations().is_empty(),
        "{:?}",
        sim.broker().violations()
    );
}

#[test]
fn a_session_taken_over_gives_up_rather_than_take_it_back_unless_the_policy_says_so() {
    // Two clients with one client identifier: each connection the broker accepts replaces the other with a
    // DISCONNECT 0x8E. Reconnecting would knock the other client off, which would do the same, for ever.
    let mut sim = Sim::new(&config(ProtocolVersion::V5), SimConfig::default()).unwrap();
    sim.connect();
    assert!(sim.run_until(|s| s.session().is_connected(), secs(1)));
    sim.broker_mut()
        .send_disconnect(ReasonCode::SESSION_TAKEN_OVER);
    sim.drive();
    sim.run_for(secs(120));
    assert!(
        matches!(
            sim.events().last(),
            Some(RecordedEvent::GaveUp {
                reason: Disconnection::ServerDisconnect(ReasonCode::SESSION_TAKEN_OVER)
            })
        ),
        "{:?}",
        sim.events()
    );
    assert_eq!(sim.broker().connections().len(), 1, "no attempt after it");
    let text = Disconnection::ServerDisconnect(ReasonCode::SESSION_TAKEN_OVER).to_string();
    assert!(text.contains("same client identifier"), "{text}");
    // A manual reconnect still connects.
    sim.connect();
    assert!(sim.run_until(|s| s.session().is_connected(), secs(1)));

    let retrying = Config {
        reconnect: ReconnectPolicy {
            retry_on_session_taken_over: true,
            ..exact()
        },
        ..config(ProtocolVersion::V5)
    };
    let mut sim = Sim::new(&retrying, SimConfig::default()).unwrap();
    sim.connect();
    assert!(sim.run_until(|s| s.session().is_connected(), secs(1)));
    sim.broker_mut()
        .send_disconnect(ReasonCode::SESSION_TAKEN_OVER);
    sim.drive();
    sim.run_for(secs(120));
    assert_eq!(sim.broker().connections().len(), 2, "reconnected by policy");
    assert!(sim.session().is_connected());
}
