//! `Session::read_low_water` in deterministic simulation: a publisher whose window is full asks for an eighth of the
//! acknowledgements it is owed before a read is worth a wake-up, and for every byte as soon as it waits for
//! anything else (a SUBACK, a PINGRESP) or can send.

use core::time::Duration;

use mqtt_core::Config;
use mqtt_core::codec::{PacketType, ProtocolVersion, QoS};
use mqtt_core::session::ReadMarks;
use mqtt_test::{BrokerConfig, Direction, RecordedEvent, Sim, SimConfig};

mod simulated;
use simulated::{VERSIONS, connected, secs};

const WINDOW: u16 = 32;

fn publisher(version: ProtocolVersion) -> Config<'static> {
    Config {
        version,
        max_inflight: WINDOW,
        max_inflight_v311: WINDOW,
        ..Config::new("low-water")
    }
}

/// Connected, the broker holding its acknowledgements, and `count` QoS `qos` messages published.
fn blocked(version: ProtocolVersion, count: u8, qos: QoS, broker: BrokerConfig) -> Sim {
    let mut sim = connected(
        &publisher(version),
        SimConfig {
            broker,
            ..SimConfig::default()
        },
    );
    sim.broker_mut().hold_acks();
    for i in 0..count {
        sim.publish("w", &[i], qos).unwrap();
    }
    sim.run_for(secs(1));
    sim
}

#[test]
fn a_full_window_with_messages_behind_it_waits_for_an_eighth_of_the_owed_acknowledgements() {
    for version in VERSIONS {
        for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
            let mut sim = blocked(version, 40, qos, BrokerConfig::default());
            assert_eq!(sim.session().inflight(), WINDOW);
            // 32 PUBACKs (or PUBRECs) of at least 4 bytes are owed: a wake-up is worth it after four.
            assert_eq!(sim.session().read_low_water(), 16, "{version:?} {qos:?}");
            sim.broker_mut().config_mut().hold_acks = false;
            sim.broker_mut().release_acks();
            sim.run_for(secs(5));
            assert_eq!(sim.session().inflight(), 0);
            assert_eq!(sim.broker().received().len(), 40);
            assert_eq!(
                sim.session().read_low_water(),
                1,
                "nothing owed, nothing queued: every byte is news"
            );
        }
    }
}

#[test]
fn a_window_with_room_or_nothing_queued_behind_it_reads_every_byte() {
    for version in VERSIONS {
        // Room in the window: the application's next message goes out at once, and its acknowledgements with it.
        let sim = blocked(version, 3, QoS::AtLeastOnce, BrokerConfig::default());
        assert_eq!(sim.session().inflight(), 3);
        assert_eq!(sim.session().read_low_water(), 1);
        // A full window with nothing behind it: the application may be waiting for any one delivery.
        let sim = blocked(version, 32, QoS::AtLeastOnce, BrokerConfig::default());
        assert_eq!(sim.session().inflight(), WINDOW);
        assert_eq!(sim.session().read_low_water(), 1);
    }
}

#[test]
fn a_subscribe_during_a_full_window_reads_its_answer_at_once() {
    for version in VERSIONS {
        let mut sim = blocked(version, 40, QoS::AtLeastOnce, BrokerConfig::default());
        assert_eq!(sim.session().read_low_water(), 16);
        sim.subscribe("answers/#", QoS::AtLeastOnce).unwrap();
        // Queued or sent, its SUBACK not read yet: a SUBACK (5 bytes) must not wait for the acknowledgements.
        assert_eq!(
            sim.session().read_low_water(),
            1,
            "{version:?}: SUBACK awaited"
        );
        let subscribed = |sim: &Sim| {
            sim.events()
                .iter()
                .any(|e| matches!(e, RecordedEvent::Subscribed { .. }))
        };
        assert!(sim.run_until(subscribed, secs(5)));
        assert_eq!(
            sim.session().read_low_water(),
            16,
            "answered: the acknowledgements again"
        );
        sim.unsubscribe(&["answers/#"]).unwrap();
        assert_eq!(sim.session().read_low_water(), 1, "UNSUBACK awaited");
    }
}

#[test]
fn a_keep_alive_ping_during_a_full_window_reads_its_answer_at_once() {
    for version in VERSIONS {
        let silent = BrokerConfig {
            answer_pings: false,
            ..BrokerConfig::default()
        };
        let mut sim = blocked(version, 40, QoS::AtLeastOnce, silent);
        assert_eq!(sim.session().read_low_water(), 16);
        // Nothing goes out while the window is full: the keep alive (60 s by default) sends PINGREQ.
        assert!(sim.run_until(
            |s| {
                s.broker()
                    .count(Direction::ClientToBroker, PacketType::PingReq)
                    > 0
            },
            secs(120)
        ));
        sim.run_until_idle();
        assert_eq!(
            sim.session().read_low_water(),
            1,
            "{version:?}: a PINGRESP (2 bytes) is awaited"
        );
    }
}

/// A subscriber with read batching: 1 KiB batches, 1 s at most (the simulated link takes milliseconds).
fn batching_subscriber(version: ProtocolVersion) -> Sim {
    let config = Config {
        version,
        read_batch_bytes: 1024,
        read_batch_delay: Duration::from_secs(1),
        ..Config::new("batching")
    };
    let mut sim = connected(&config, SimConfig::default());
    sim.subscribe("flood/#", QoS::AtLeastOnce).unwrap();
    sim.run_until_idle();
    sim
}

/// Tells the session that one read brought `bytes`, now.
fn note(sim: &mut Sim, bytes: usize) {
    let now = sim.now();
    sim.session_mut().note_read(bytes, now);
}

/// The broker sends `count` messages of 100 bytes at `qos`; the session takes them all.
fn flood(sim: &mut Sim, count: usize, qos: QoS) {
    for i in 0..count {
        sim.broker_mut()
            .inject(&format!("flood/{i}"), &[b'x'; 100], qos, false);
    }
    sim.run_until_idle();
}

#[test]
fn a_qos0_flood_is_read_in_batches_whose_wait_the_batch_delay_bounds() {
    for version in VERSIONS {
        let mut sim = batching_subscriber(version);
        assert_eq!(sim.session().read_low_water(), 1);
        // 500 bytes of messages: no flood yet.
        flood(&mut sim, 5, QoS::AtMostOnce);
        note(&mut sim, 560);
        assert_eq!(sim.session().read_low_water(), 1);
        // 600 more within the delay: a flood. The next wake-up waits for a batch, or for the delay.
        flood(&mut sim, 6, QoS::AtMostOnce);
        note(&mut sim, 670);
        assert_eq!(sim.session().read_low_water(), 1024, "{version:?}");
        let deadline = sim.session().poll_timeout().unwrap();
        assert!(deadline <= sim.now() + Duration::from_secs(1));
        // A read that brings a batch keeps it going.
        flood(&mut sim, 11, QoS::AtMostOnce);
        note(&mut sim, 1200);
        assert_eq!(sim.session().read_low_water(), 1024);
        // No batch within the delay: the timer ends the wait, and every byte counts again.
        sim.run_for(Duration::from_secs(2));
        assert_eq!(
            sim.session().read_low_water(),
            1,
            "{version:?}: the delay is over"
        );
        // A read that brings less than a batch ends it too.
        flood(&mut sim, 11, QoS::AtMostOnce);
        note(&mut sim, 1200);
        assert_eq!(sim.session().read_low_water(), 1024);
        note(&mut sim, 100);
        assert_eq!(sim.session().read_low_water(), 1);
    }
}

#[test]
fn messages_whose_acknowledgements_the_broker_waits_for_are_never_batched() {
    for version in VERSIONS {
        for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
            let mut sim = batching_subscriber(version);
            flood(&mut sim, 20, qos);
            note(&mut sim, 2240);
            assert_eq!(
                sim.session().read_low_water(),
                1,
                "{version:?} {qos:?}: the broker's window waits for our acknowledgements"
            );
            // Under way, a QoS 1 or 2 message ends a batch.
            flood(&mut sim, 20, QoS::AtMostOnce);
            note(&mut sim, 2240);
            assert_eq!(sim.session().read_low_water(), 1024);
            flood(&mut sim, 1, qos);
            note(&mut sim, 1200);
            assert_eq!(sim.session().read_low_water(), 1, "{version:?} {qos:?}");
        }
    }
}

#[test]
fn acknowledgements_alone_never_start_a_batch() {
    for version in VERSIONS {
        let config = Config {
            read_batch_bytes: 64,
            ..publisher(version)
        };
        let mut sim = connected(&config, SimConfig::default());
        for i in 0..40u8 {
            sim.publish("w", &[i], QoS::AtLeastOnce).unwrap();
        }
        sim.run_until_idle();
        // 160 bytes of PUBACKs in one read: a publisher is owed a bounded number, a batch could wait for ever.
        note(&mut sim, 160);
        assert_eq!(sim.session().read_low_water(), 1, "{version:?}");
    }
}

#[test]
fn request_response_traffic_brings_one_message_per_read_and_never_waits_for_a_batch() {
    for version in VERSIONS {
        let mut sim = batching_subscriber(version);
        // Fifty round trips of 110 bytes, faster than the batch delay: 5,500 bytes, but one message per read.
        for _ in 0..50 {
            flood(&mut sim, 1, QoS::AtMostOnce);
            note(&mut sim, 110);
            assert_eq!(sim.session().read_low_water(), 1, "{version:?}");
        }
    }
}

/// The broker sends `count` QoS 0 messages of 100 bytes and the session takes them, stepping the simulation only
/// as far as that (idling would run it past the batch delay).
fn deliver(sim: &mut Sim, count: usize) {
    let before = sim.session().stats().messages_received;
    for i in 0..count {
        sim.broker_mut()
            .inject(&format!("flood/{i}"), &[b'x'; 100], QoS::AtMostOnce, false);
    }
    for _ in 0..10_000 {
        if sim.session().stats().messages_received >= before + count as u64 {
            return;
        }
        sim.step();
    }
    panic!("the messages never arrived");
}

#[test]
fn a_transport_that_cannot_take_a_mark_gets_no_read_batches() {
    for version in VERSIONS {
        for applies in [true, false] {
            let mut sim = batching_subscriber(version);
            let mut marks = ReadMarks::new();
            let mut given = Vec::new();
            for _ in 0..3 {
                deliver(&mut sim, 12);
                marks.read(1300);
                let now = sim.now();
                marks.before_read_wait(sim.session_mut(), now, true, |bytes| {
                    given.push(bytes);
                    applies
                });
            }
            match applies {
                // The flood starts a batch: the transport is asked for 1 KiB once, and the batch goes on.
                true => {
                    assert_eq!(given, [1024], "{version:?}");
                    assert_eq!(sim.session().read_low_water(), 1024);
                }
                // Refused once: the batch ends (the mark goes back to a byte), and no read starts another (no
                // timer wake-ups for nothing).
                false => {
                    assert_eq!(given, [1024, 1], "{version:?}");
                    assert_eq!(sim.session().read_low_water(), 1);
                    assert!(
                        sim.session().poll_timeout() > Some(sim.now() + Duration::from_secs(1))
                    );
                }
            }
        }
    }
}
