//! Many seeded runs over a faulty link: random latency, jitter and cuts in both directions in the middle of QoS
//! flows. The invariants of DESIGN.md §6: no QoS 1 loss, no QoS 2 duplicate, no panic, in both directions.

use core::time::Duration;
use std::collections::BTreeMap;

use mqtt_core::codec::{ProtocolVersion, QoS};
use mqtt_core::{Config, PublishError, Ticket};
use mqtt_test::{Direction, LinkConfig, RecordedEvent, Sim, SimConfig};

/// A small deterministic generator for the test's own choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const MESSAGES: u16 = 30;

fn run(seed: u64) {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let version = if seed.is_multiple_of(2) {
        ProtocolVersion::V5
    } else {
        ProtocolVersion::V311
    };
    let config = Config {
        version,
        clean_start: false,
        session_expiry_interval: 3600,
        keep_alive: Duration::from_secs(30),
        // Topic aliases in both directions in half the 5.0 runs.
        topic_alias_maximum: if seed.is_multiple_of(4) { 3 } else { 0 },
        outgoing_topic_aliases: if seed.is_multiple_of(4) { 3 } else { 0 },
        ..Config::new("seeded")
    };
    let sim_config = SimConfig {
        link: LinkConfig {
            latency: Duration::from_millis(1 + rng.below(30)),
            jitter: Duration::from_millis(rng.below(20)),
            seed,
        },
        // Small buffers split packets across `poll_transmit` calls and make `handle_bytes` take less than offered.
        transmit_buffer: [16, 64, 4096][rng.below(3) as usize],
        rx_buffer: [64, 256, 4096][rng.below(3) as usize],
        ..SimConfig::default()
    };
    let mut sim_config = sim_config;
    sim_config.broker.topic_alias_maximum = Some(3);
    sim_config.broker.topic_aliases_to_client = true;
    // Payloads that fit the receive buffer: a larger packet would be refused by the session, as it should.
    let big = if sim_config.rx_buffer == 4096 {
        1500
    } else {
        2
    };
    let mut sim = Sim::new(&config, sim_config).unwrap();
    sim.note(format!("seed {seed}"));
    sim.connect();
    sim.subscribe("s/#", QoS::ExactlyOnce).unwrap();
    assert!(sim.run_until(
        |s| {
            s.events()
                .iter()
                .any(|e| matches!(e, RecordedEvent::Subscribed { .. }))
        },
        Duration::from_secs(5)
    ));

    let mut sent: BTreeMap<Ticket, (u16, QoS)> = BTreeMap::new();
    for i in 0..MESSAGES {
        let qos = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce][rng.below(3) as usize];
        let mut payload = i.to_be_bytes().to_vec();
        payload.resize([2, big][rng.below(2) as usize], 0xa5);
        let topic = ["s/x", "s/y/z", "s/a/b/c/d"][rng.below(3) as usize];
        // A full outbox is backpressure: let it drain and try again.
        let mut attempt = sim.publish(topic, &payload, qos);
        for _ in 0..600 {
            if attempt != Err(PublishError::QueueFull) {
                break;
            }
            sim.run_for(Duration::from_millis(100));
            attempt = sim.publish(topic, &payload, qos);
        }
        let ticket = attempt.unwrap_or_else(|e| sim.fail(format!("seed {seed}: publish {i}: {e}")));
        sent.insert(ticket, (i, qos));
        if rng.below(6) == 0 {
            let direction = if rng.below(2) == 0 {
                Direction::ClientToBroker
            } else {
                Direction::BrokerToClient
            };
            let after = rng.below(120);
            sim.note(format!("cut {direction} after {after} B"));
            sim.link_mut().cut_after(direction, after);
        }
        sim.run_for(Duration::from_millis(rng.below(25)));
    }
    let acknowledged = |s: &Sim| {
        s.events()
            .iter()
            .filter(|e| matches!(e, RecordedEvent::Published { .. }))
            .count()
    };
    let expected = sent.values().filter(|(_, q)| *q != QoS::AtMostOnce).count();
    let done = sim.run_until(|s| acknowledged(s) >= expected, Duration::from_secs(600));
    sim.run_until_idle();
    if !done {
        sim.fail(format!(
            "seed {seed}: only {} of {expected} acknowledged",
            acknowledged(&sim)
        ));
    }

    let count_by = |messages: Vec<&mqtt_test::Message>| {
        let mut counts: BTreeMap<u16, usize> = BTreeMap::new();
        for m in messages {
            *counts
                .entry(u16::from_be_bytes([m.payload[0], m.payload[1]]))
                .or_default() += 1;
        }
        counts
    };
    let at_broker = count_by(sim.broker().received().iter().collect());
    let at_client = count_by(sim.messages());
    for (ticket, (i, qos)) in &sent {
        let (b, c) = (
            at_broker.get(i).copied().unwrap_or(0),
            at_client.get(i).copied().unwrap_or(0),
        );
        let ok = match qos {
            QoS::AtMostOnce => b <= 1 && c <= 1,
            QoS::AtLeastOnce => b >= 1 && c >= 1,
            QoS::ExactlyOnce => b == 1 && c == 1,
        };
        if !ok {
            sim.fail(format!(
                "seed {seed} {version}: message {i} at {qos:?} reached the broker {b} times and came back {c} times"
            ));
        }
        if *qos != QoS::AtMostOnce {
            let completions = sim
                .events()
                .iter()
                .filter(|e| **e == RecordedEvent::Published { ticket: *ticket })
                .count();
            if completions != 1 {
                sim.fail(format!(
                    "seed {seed}: {ticket} completed {completions} times"
                ));
            }
        }
    }
    if !sim.broker().violations().is_empty() {
        sim.fail(format!("seed {seed}: {:?}", sim.broker().violations()));
    }
}

#[test]
fn seeded_cuts_lose_no_qos1_and_duplicate_no_qos2() {
    for seed in 0..1000 {
        run(seed);
    }
}
