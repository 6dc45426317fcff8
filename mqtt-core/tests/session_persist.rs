//! Persistence in deterministic simulation: a session with a store, its process killed (dropped without any
//! shutdown) at every step of QoS 1 and QoS 2 flows in both directions, then restarted from what the store made
//! durable. A real `Session` against `mqtt_test::FakeBroker` (which keeps the client's session, as a broker does)
//! over a simulated link, in virtual time.

use core::time::Duration;
use std::collections::{BTreeMap, BTreeSet};

use mqtt_core::codec::{PacketType, ProtocolVersion, Publish, QoS};
use mqtt_core::session::persist::{Change, Form, Persist, RestoreError};
use mqtt_core::{Buffers, Config, Event, Instant, Session, Ticket};
use mqtt_test::{Direction, LinkConfig, RecordedEvent, Sim, SimConfig};

const VERSIONS: [ProtocolVersion; 2] = [ProtocolVersion::V311, ProtocolVersion::V5];

fn config(version: ProtocolVersion) -> Config<'static> {
    Config {
        version,
        clean_start: false,
        session_expiry_interval: 3600,
        ..Config::new("persisted")
    }
}

fn message<'a>(topic: &'a str, payload: &'a [u8], qos: QoS) -> Publish<'a> {
    Publish {
        topic,
        payload,
        qos,
        ..Publish::default()
    }
}

fn sim(config: &Config<'_>, lag: bool) -> Sim {
    let sim_config = SimConfig {
        link: LinkConfig {
            latency: Duration::from_millis(5),
            ..LinkConfig::default()
        },
        ..SimConfig::default()
    };
    let mut sim = Sim::new(config, sim_config).unwrap();
    sim.enable_persistence(lag);
    sim
}

/// Outgoing messages: payload "o<n>" (n from 0 to 7), QoS 1 for even n, QoS 2 for odd n.
/// Incoming messages the broker sends the client: payload "i<n>", QoS 2 but for the last (QoS 1).
const IN: u8 = 5;

fn qos_out(n: u8) -> QoS {
    if n.is_multiple_of(2) {
        QoS::AtLeastOnce
    } else {
        QoS::ExactlyOnce
    }
}

fn qos_in(n: u8) -> QoS {
    if n + 1 == IN {
        QoS::AtLeastOnce
    } else {
        QoS::ExactlyOnce
    }
}

/// What the application does, step by step, in whichever process runs it.
#[derive(Default)]
struct Scenario {
    /// The ticket of each outgoing message.
    tickets: BTreeMap<Ticket, u8>,
    /// The broker has sent the incoming messages.
    injected: bool,
}

impl Scenario {
    fn publish(&mut self, sim: &mut Sim, n: u8) {
        let ticket = sim
            .publish("out/x", format!("o{n}").as_bytes(), qos_out(n))
            .unwrap();
        self.tickets.insert(ticket, n);
    }

    /// The application's actions before the simulation's step `step`.
    fn act(&mut self, sim: &mut Sim, step: usize) {
        match step {
            0 => {
                sim.connect();
                sim.subscribe("in/#", QoS::ExactlyOnce).unwrap();
                self.publish(sim, 0);
                self.publish(sim, 1);
            }
            9 => {
                self.publish(sim, 2);
                self.publish(sim, 3);
            }
            14 => {
                for n in 4..8 {
                    self.publish(sim, n);
                }
            }
            _ => {}
        }
        // Other clients publish once the client's subscription is in place.
        if step >= 6
            && !self.injected
            && sim
                .broker()
                .subscriptions()
                .iter()
                .any(|s| s.filter == "in/#")
        {
            self.injected = true;
            for n in 0..IN {
                sim.broker_mut()
                    .inject("in/a", format!("i{n}").as_bytes(), qos_in(n), false);
            }
        }
    }
}

fn settled(sim: &Sim, scenario: &Scenario) -> bool {
    scenario.injected
        && sim.session().is_connected()
        && sim.session().queued() == 0
        && sim.broker().is_connected()
        && sim.broker().pending_to_client() == 0
        && !sim.link().in_flight()
        && sim.store().is_some_and(|s| s.pending() == 0)
}

/// Steps of the scenario without a crash, until it settles.
fn steps_to_settle(version: ProtocolVersion, lag: bool) -> usize {
    let config = config(version);
    let mut sim = sim(&config, lag);
    let mut scenario = Scenario::default();
    for step in 0..10_000 {
        scenario.act(&mut sim, step);
        if step > 14 && settled(&sim, &scenario) {
            return step;
        }
        sim.step();
    }
    panic!("the scenario never settles");
}

fn payload_number(payload: &[u8]) -> u8 {
    std::str::from_utf8(&payload[1..]).unwrap().parse().unwrap()
}

/// Runs the scenario, kills the client's process after `crash_at` steps, restarts it from its store, and checks
/// that nothing was lost and no QoS 2 message duplicated.
fn crash_run(version: ProtocolVersion, lag: bool, crash_at: usize) {
    let config = config(version);
    let mut sim = sim(&config, lag);
    let mut scenario = Scenario::default();
    for step in 0..crash_at {
        scenario.act(&mut sim, step);
        sim.step();
    }
    // What the crashed process saw: completions, and incoming messages with their packet identifiers.
    let before = sim.take_events();
    let completed_before: BTreeSet<Ticket> = before
        .iter()
        .filter_map(|e| match e {
            RecordedEvent::Published { ticket } => Some(*ticket),
            _ => None,
        })
        .collect();
    let delivered_before: Vec<(u8, Option<u16>)> = before
        .iter()
        .filter_map(|e| match e {
            RecordedEvent::Message(m) => Some((payload_number(&m.payload), m.packet_id)),
            _ => None,
        })
        .collect();
    // PUBREC the broker received before the crash: those messages are the client's for good.
    let pubrecs_before: BTreeSet<u16> = sim
        .broker()
        .packets(Direction::ClientToBroker, PacketType::PubRec)
        .iter()
        .filter_map(|p| p.packet_id)
        .collect();
    sim.crash(&config).unwrap();
    let recovered: BTreeSet<Ticket> = sim.session().recovered().map(|r| r.ticket).collect();
    sim.connect();
    // As applications do when they start (the old process may have died before its SUBSCRIBE was granted).
    sim.subscribe("in/#", QoS::ExactlyOnce).unwrap();
    // The scenario's later actions happen in the new process too (those not done yet).
    let mut step = crash_at;
    let done = loop {
        scenario.act(&mut sim, step);
        if step > 14 && settled(&sim, &scenario) {
            break true;
        }
        if step > crash_at + 10_000 {
            break false;
        }
        sim.step();
        step += 1;
    };
    let context = format!("{version} lag {lag}, crash after step {crash_at}");
    assert!(done, "{context}: never settled after the restart");
    assert!(
        sim.broker().violations().is_empty(),
        "{context}: {:?}",
        sim.broker().violations()
    );
    let after = sim.events().to_vec();

    // Outgoing: every message whose publish returned reached the broker, a QoS 2 message exactly once.
    for (ticket, n) in &scenario.tickets {
        let arrivals = sim
            .broker()
            .received()
            .iter()
            .filter(|m| m.payload == format!("o{n}").as_bytes())
            .count();
        match qos_out(*n) {
            QoS::ExactlyOnce => assert_eq!(
                arrivals, 1,
                "{context}: QoS 2 message o{n} reached the broker {arrivals} times"
            ),
            _ => assert!(arrivals >= 1, "{context}: QoS 1 message o{n} lost"),
        }
        // On the client: completed before the crash, or inherited by the new process, which completes it once.
        let completions = after
            .iter()
            .filter(|e| matches!(e, RecordedEvent::Published { ticket: t } | RecordedEvent::PublishFailed { ticket: t, .. } if t == ticket))
            .count();
        if completed_before.contains(ticket) {
            assert!(
                completions <= 1,
                "{context}: {ticket} completed again {completions} times"
            );
        } else if recovered.contains(ticket) {
            assert_eq!(
                completions, 1,
                "{context}: recovered {ticket} completed {completions} times"
            );
        } else {
            // Published after the restart (the scenario's later step).
            assert!(
                after
                    .iter()
                    .any(|e| matches!(e, RecordedEvent::Published { ticket: t } if t == ticket)),
                "{context}: {ticket} (o{n}) neither completed before the crash nor recovered: lost"
            );
        }
    }

    // Incoming: nothing lost; a QoS 2 message comes again only if the crash came before its PUBREC reached the
    // broker (the client had not acknowledged it: the application took it in the crashed process's last moments).
    let delivered_after: Vec<u8> = after
        .iter()
        .filter_map(|e| match e {
            RecordedEvent::Message(m) => Some(payload_number(&m.payload)),
            _ => None,
        })
        .collect();
    for n in 0..IN {
        let first: Vec<_> = delivered_before.iter().filter(|(m, _)| *m == n).collect();
        let again = delivered_after.iter().filter(|m| **m == n).count();
        assert!(
            !first.is_empty() || again > 0,
            "{context}: incoming message i{n} never delivered\n{}",
            sim.trace().tail(200)
        );
        if qos_in(n) == QoS::ExactlyOnce {
            assert!(
                first.len() <= 1 && again <= 1,
                "{context}: i{n} delivered {} + {again} times",
                first.len()
            );
            if let Some((_, Some(id))) = first.first()
                && pubrecs_before.contains(id)
            {
                assert_eq!(
                    again, 0,
                    "{context}: i{n} acknowledged before the crash, delivered again"
                );
            }
        }
    }
}

#[test]
fn a_process_killed_at_any_step_of_qos1_and_qos2_flows_loses_nothing_and_duplicates_no_qos2() {
    let mut runs = 0;
    for version in VERSIONS {
        for lag in [false, true] {
            let steps = steps_to_settle(version, lag);
            for crash_at in 0..=steps {
                crash_run(version, lag, crash_at);
                runs += 1;
            }
        }
    }
    // Every step of four scenarios, each a few dozen steps long.
    assert!(runs > 80, "{runs} runs");
    println!("{runs} crash points, each restarted and checked");
}

#[test]
fn a_packet_identifier_is_stored_before_its_publish_goes_out() {
    let config = config(ProtocolVersion::V5);
    let mut s = Session::new(&config, Buffers::owned(1024, 4096, 256)).unwrap();
    s.enable_persistence();
    let t = Instant::from_millis(1);
    s.connect(t);
    assert_eq!(s.poll_transport(), Some(mqtt_core::TransportAction::Open));
    s.handle_transport_up(t);
    let mut buf = [0u8; 512];
    let n = s.poll_transmit(t, &mut buf).unwrap();
    assert_eq!(buf[0] >> 4, 1, "CONNECT");
    let _ = n;
    // CONNACK.
    assert_eq!(s.handle_bytes(&[0x20, 0x03, 0x00, 0x00, 0x00], t), 5);
    while s.poll_event().is_some() {}
    // What the CONNACK changed (a new session: no QoS 2 identifiers).
    while s.poll_persist().is_some() {}
    s.handle_persisted(s.persist_mark());
    let ticket = s.publish(&message("a", b"x", QoS::ExactlyOnce), t).unwrap();
    // The message's record, no barrier: the identifier is given at the next transmit.
    let first = s.poll_persist();
    assert!(
        matches!(
            first,
            Some(Persist::Change(Change::Message {
                form: Form::Queued,
                ..
            }))
        ),
        "{first:?}"
    );
    s.handle_persisted(s.persist_mark());
    assert_eq!(
        s.poll_transmit(t, &mut buf),
        None,
        "identifier given, not stored yet: nothing goes out"
    );
    assert!(s.is_waiting_for_store());
    assert!(!s.wants_write());
    let Some(Persist::Change(Change::State {
        ticket: t2,
        form: Form::Sent,
        packet_id,
    })) = s.poll_persist()
    else {
        panic!("the identifier's record");
    };
    assert_eq!(t2, ticket);
    assert!(packet_id.is_some());
    assert_eq!(
        s.poll_transmit(t, &mut buf),
        None,
        "written, not durable: still nothing"
    );
    s.handle_persisted(s.persist_mark());
    let n = s.poll_transmit(t, &mut buf).unwrap();
    assert_eq!(buf[0] >> 4, 3, "PUBLISH");
    assert_eq!(
        u16::from_be_bytes([buf[5], buf[6]]),
        packet_id.unwrap().get(),
        "{:?}",
        &buf[..n]
    );
}

#[test]
fn pubrel_waits_until_pubrec_is_stored() {
    let config = config(ProtocolVersion::V311);
    let mut sim = sim(&config, true);
    sim.connect();
    sim.run_until(|s| s.session().is_connected(), Duration::from_secs(1));
    sim.publish("a", b"x", QoS::ExactlyOnce).unwrap();
    sim.run_until_idle();
    assert_eq!(
        sim.broker()
            .count(Direction::ClientToBroker, PacketType::PubRel),
        1
    );
    // Every PUBREL went out after a durable PUBREC record: the store synced at least once in between.
    assert!(
        sim.store().unwrap().writes >= 3,
        "message, identifier, PUBREC"
    );
    assert!(sim.trace().to_string().contains("store: writes durable"));
}

#[test]
fn restored_messages_keep_their_tickets_and_packet_identifiers_and_go_out_with_dup() {
    let config = config(ProtocolVersion::V5);
    let mut sim = sim(&config, false);
    sim.connect();
    sim.run_until(|s| s.session().is_connected(), Duration::from_secs(1));
    sim.broker_mut().hold_acks();
    let t1 = sim.publish("a", b"one", QoS::AtLeastOnce).unwrap();
    let t2 = sim.publish("a", b"two", QoS::ExactlyOnce).unwrap();
    sim.run_until_idle();
    let first: Vec<_> = sim
        .broker()
        .received()
        .iter()
        .map(|m| m.packet_id)
        .collect();
    assert_eq!(first.len(), 2);
    sim.crash(&config).unwrap();
    let recovered: Vec<_> = sim
        .session()
        .recovered()
        .map(|r| (r.ticket, r.message.payload.to_vec()))
        .collect();
    assert_eq!(recovered, [(t1, b"one".to_vec()), (t2, b"two".to_vec())]);
    sim.broker_mut().release_acks();
    sim.connect();
    sim.run_until_idle();
    let resent: Vec<_> = sim
        .broker()
        .packets(Direction::ClientToBroker, PacketType::Publish)
        .into_iter()
        .skip(2)
        .collect();
    assert_eq!(
        resent.iter().map(|p| p.packet_id).collect::<Vec<_>>(),
        first,
        "the original identifiers"
    );
    assert!(resent.iter().all(|p| p.dup), "with DUP");
    assert!(
        sim.events()
            .contains(&RecordedEvent::Published { ticket: t1 })
    );
    assert!(
        sim.events()
            .contains(&RecordedEvent::Published { ticket: t2 })
    );
    // A new message gets a ticket after the restored ones.
    let t3 = sim.publish("a", b"three", QoS::AtLeastOnce).unwrap();
    assert!(t3 > t2);
}

#[test]
fn subscriptions_and_the_assigned_client_identifier_survive_a_restart() {
    let config = Config {
        client_id: "",
        ..config(ProtocolVersion::V5)
    };
    let mut sim = sim(&config, false);
    sim.connect();
    sim.subscribe("kept/#", QoS::AtLeastOnce).unwrap();
    sim.run_until_idle();
    let assigned = sim.broker().connections()[0].effective_client_id.clone();
    assert!(!assigned.is_empty());
    sim.crash(&config).unwrap();
    assert_eq!(sim.session().assigned_client_id(), Some(assigned.as_str()));
    // The broker lost the session meanwhile: the restored subscription is made again.
    sim.broker_mut().forget_session();
    sim.connect();
    sim.run_until_idle();
    let last = sim.broker().connections().last().unwrap();
    assert_eq!(last.client_id, assigned, "the assigned identifier is sent");
    assert!(
        sim.broker()
            .subscriptions()
            .iter()
            .any(|s| s.filter == "kept/#")
    );
}

#[test]
fn a_store_of_another_client_is_refused() {
    let mut s = Session::new(&config(ProtocolVersion::V5), Buffers::owned(256, 4096, 256)).unwrap();
    let record = Change::Identity {
        client_id: "someone-else",
        assigned: false,
    };
    let mut buf = [0u8; 64];
    let n = record.encode(&mut buf).unwrap();
    assert_eq!(s.restore(&buf[..n]), Err(RestoreError::OtherClient));
    assert_eq!(s.restore(&[0xee]), Err(RestoreError::UnknownKind(0xee)));
    assert!(matches!(
        s.restore(&[2, 1, 0]),
        Err(RestoreError::Malformed(_))
    ));
    s.connect(Instant::ZERO);
    assert_eq!(s.restore(&buf[..n]), Err(RestoreError::NotIdle));
}

#[test]
fn a_journal_overflow_asks_for_a_snapshot_that_restores_the_same_state() {
    let config = Config {
        max_inflight: 200,
        ..config(ProtocolVersion::V5)
    };
    let mut sim = Sim::new(
        &config,
        SimConfig {
            store_buffer: 65536,
            ..SimConfig::default()
        },
    )
    .unwrap();
    sim.enable_persistence(false);
    sim.connect();
    sim.run_until(|s| s.session().is_connected(), Duration::from_secs(1));
    sim.broker_mut().hold_acks();
    // Offline: more messages than the journal holds notices, without a drain in between.
    let now = sim.now();
    for i in 0..150u32 {
        sim.session_mut()
            .publish(&message("a", &i.to_be_bytes(), QoS::AtLeastOnce), now)
            .unwrap();
    }
    assert!(sim.session().wants_persist());
    let snapshots = sim.store().unwrap().snapshots;
    sim.drive();
    assert!(
        sim.store().unwrap().snapshots > snapshots,
        "the overflow was stored as a snapshot"
    );
    let before: Vec<_> = sim.session().snapshot().map(|c| format!("{c:?}")).collect();
    let mut restored = Session::new(&config, Buffers::owned(4096, 65536, 1024)).unwrap();
    let mut buf = vec![0u8; 4096];
    for change in sim.session().snapshot() {
        let n = change.encode(&mut buf).unwrap();
        restored.restore(&buf[..n]).unwrap();
    }
    let after: Vec<_> = restored.snapshot().map(|c| format!("{c:?}")).collect();
    assert_eq!(before, after);
    assert_eq!(restored.queued(), 150);
    // Sending all of them gives identifiers ahead, window by window, each stored before it goes out.
    sim.broker_mut().release_acks();
    sim.run_until_idle();
    assert_eq!(sim.broker().received().len(), 150);
    assert_eq!(sim.session().queued(), 0);
}

#[test]
fn without_persistence_nothing_is_noted_and_nothing_waits() {
    let mut sim = Sim::new(&config(ProtocolVersion::V5), SimConfig::default()).unwrap();
    sim.connect();
    sim.publish("a", b"x", QoS::ExactlyOnce).unwrap();
    sim.run_until_idle();
    assert_eq!(sim.broker().received().len(), 1);
    assert!(sim.session_mut().poll_persist().is_none());
    assert!(!sim.session().wants_persist());
    let _ = Event::Connected {
        session_present: false,
    };
}
