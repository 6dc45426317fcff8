//! Property: whatever the application does with manual acknowledgements and holds (acks in any order, repeated
//! and stale acks, holding for a while, the connection cut in between), the session never acknowledges a message
//! out of the order its PUBLISH arrived, never twice, loses no QoS 1 message and delivers every QoS 2 message
//! exactly once. `[MQTT-4.6.0-2]`, `[MQTT-4.6.0-3]`, `[MQTT-4.3.3]`

use core::time::Duration;
use std::collections::BTreeMap;

use mqtt_core::codec::{PacketType, ProtocolVersion, QoS};
use mqtt_core::{AckToken, Config};
use mqtt_test::{Direction, Sim, SimConfig};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// The broker gets a message for the client from elsewhere.
    Inject(QoS),
    /// The application acknowledges the `n`-th (modulo) message it has not acknowledged yet.
    Ack(usize),
    /// It acknowledges again a message it acknowledged before (sent already, or of an earlier connection).
    AckAgain(usize),
    /// Its queue takes this many more messages before it holds the next (`None`: no limit).
    Budget(Option<usize>),
    /// Time passes.
    Run(u64),
    /// The connection breaks.
    Cut,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => prop_oneof![Just(QoS::AtMostOnce), Just(QoS::AtLeastOnce), Just(QoS::ExactlyOnce)]
            .prop_map(Op::Inject),
        4 => any::<usize>().prop_map(Op::Ack),
        1 => any::<usize>().prop_map(Op::AckAgain),
        2 => proptest::option::of(0usize..4).prop_map(Op::Budget),
        3 => (0u64..3000).prop_map(Op::Run),
        1 => Just(Op::Cut),
    ]
}

/// Per connection (split at each CONNECT), the acknowledgements the client sent must be the QoS 1 and 2 PUBLISH
/// packets it received, in the same order, each once: a prefix of what the broker sent on that connection.
fn check_ack_order(sim: &Sim) -> Result<(), TestCaseError> {
    let mut publishes: Vec<(PacketType, u16)> = Vec::new();
    let mut acks: Vec<(PacketType, u16)> = Vec::new();
    let check = |publishes: &[(PacketType, u16)], acks: &[(PacketType, u16)]| {
        let first_wrong = acks
            .iter()
            .enumerate()
            .find(|(i, ack)| publishes.get(*i) != Some(*ack));
        prop_assert!(
            first_wrong.is_none(),
            "acknowledgement {first_wrong:?} of a connection is not its PUBLISH packets in order: {} PUBLISH \
             packets {:?}…",
            publishes.len(),
            &publishes[..publishes.len().min(8)]
        );
        Ok(())
    };
    for r in sim.broker().log() {
        match (r.direction, r.packet_type) {
            (Direction::ClientToBroker, PacketType::Connect) => {
                check(&publishes, &acks)?;
                publishes.clear();
                acks.clear();
            }
            (Direction::BrokerToClient, PacketType::Publish) if r.qos != QoS::AtMostOnce => {
                let ack = match r.qos {
                    QoS::ExactlyOnce => PacketType::PubRec,
                    _ => PacketType::PubAck,
                };
                publishes.push((ack, r.packet_id.unwrap_or(0)));
            }
            (Direction::ClientToBroker, PacketType::PubAck | PacketType::PubRec) => {
                acks.push((r.packet_type, r.packet_id.unwrap_or(0)));
            }
            _ => {}
        }
    }
    check(&publishes, &acks)
}

fn run(version: ProtocolVersion, receive_maximum: u16, ops: &[Op]) -> Result<(), TestCaseError> {
    let config = Config {
        version,
        clean_start: false,
        session_expiry_interval: 3600,
        manual_ack: true,
        receive_maximum,
        keep_alive: Duration::from_secs(5),
        ping_timeout: Duration::from_secs(2),
        ..Config::new("props")
    };
    let sim_config = SimConfig {
        print_trace_on_panic: false,
        ..SimConfig::default()
    };
    let mut sim = Sim::new(&config, sim_config).unwrap();
    sim.connect();
    sim.subscribe("p/#", QoS::ExactlyOnce).unwrap();
    sim.run_until_idle();
    let mut injected: BTreeMap<String, QoS> = BTreeMap::new();
    let mut acked: Vec<AckToken> = Vec::new();
    for op in ops {
        match *op {
            Op::Inject(qos) => {
                let payload = injected.len().to_string();
                sim.broker_mut()
                    .inject("p/x", payload.as_bytes(), qos, false);
                injected.insert(payload, qos);
                sim.drive();
            }
            Op::Ack(n) if !sim.unacked().is_empty() => {
                let token = sim.unacked()[n % sim.unacked().len()];
                sim.ack(token);
                acked.push(token);
            }
            Op::AckAgain(n) if !acked.is_empty() => {
                let token = acked[n % acked.len()];
                prop_assert!(!sim.ack(token), "a second ack of {token:?} was accepted");
            }
            Op::Budget(budget) => sim.set_message_budget(budget),
            Op::Run(ms) => sim.run_for(Duration::from_millis(ms)),
            Op::Cut => sim.cut_link(),
            _ => {}
        }
        check_ack_order(&sim)?;
    }
    // The application catches up: takes and acknowledges everything. A 3.1.1 broker does not know the window:
    // each QoS 2 message beyond it ends a connection (see `Config::receive_maximum`), so a flood of them takes a
    // connection each, and connections that end before `stable_after` make the reconnect delays grow to 60 s (and
    // its jitter): up to two hours of virtual time for 60 operations.
    sim.set_message_budget(None);
    for _ in 0..14_400 {
        sim.ack_all();
        sim.run_for(Duration::from_millis(500));
        let done = sim.unacked().is_empty()
            && sim.session().is_connected()
            && sim.broker().pending_to_client() == 0;
        if done {
            break;
        }
    }
    prop_assert_eq!(
        sim.broker().pending_to_client(),
        0,
        "the broker still owes messages"
    );
    prop_assert!(sim.unacked().is_empty());
    check_ack_order(&sim)?;
    prop_assert!(
        sim.broker().violations().is_empty(),
        "{:?}",
        sim.broker().violations()
    );
    let mut delivered: BTreeMap<String, usize> = BTreeMap::new();
    for m in sim.messages() {
        *delivered.entry(m.payload_str().into_owned()).or_default() += 1;
    }
    for (payload, qos) in &injected {
        let n = delivered.get(payload).copied().unwrap_or(0);
        match qos {
            QoS::AtMostOnce => prop_assert!(n <= 1, "QoS 0 message {payload} delivered {n} times"),
            QoS::AtLeastOnce => prop_assert!(n >= 1, "QoS 1 message {payload} lost"),
            QoS::ExactlyOnce => {
                prop_assert_eq!(n, 1, "QoS 2 message {} delivered {} times", payload, n);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_acks_and_holds_never_acknowledge_out_of_order_or_twice(
        v5 in any::<bool>(),
        receive_maximum in 1u16..6,
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        let version = if v5 { ProtocolVersion::V5 } else { ProtocolVersion::V311 };
        run(version, receive_maximum, &ops)?;
    }
}
