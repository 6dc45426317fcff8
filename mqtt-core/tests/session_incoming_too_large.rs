//! MQTT 3.1.1 gives a client no way to tell the broker its maximum packet size, so a broker may send a message
//! larger than the session can take. On a persistent session the broker sends an unacknowledged message again
//! after every reconnect `[MQTT-4.4.0-1]`: a session that only dropped the connection would never get past it,
//! nor to anything behind it. The session reads past such a message without keeping it, acknowledges it in order
//! with the others `[MQTT-4.6.0-2]` (QoS 2: PUBREC, then PUBCOMP for the PUBREL), counts it and reports
//! `Event::MessageTooLarge`. (5.0: `session_behaviour::max_packet_size_is_refused_both_ways`.)

use mqtt_core::Config;
use mqtt_core::codec::{PacketType, ProtocolVersion, QoS};
use mqtt_test::{Direction, RecordedEvent, Sim, SimConfig};

mod simulated;
use simulated::{inject, manual, secs, subscribed};

const MAX: u32 = 1024;

fn config(manual_ack: bool) -> Config<'static> {
    Config {
        max_packet_size: Some(MAX),
        manual_ack,
        ..manual(ProtocolVersion::V311)
    }
}

fn payloads(sim: &Sim) -> Vec<String> {
    sim.messages()
        .iter()
        .map(|m| m.payload_str().into_owned())
        .collect()
}

/// The `MessageTooLarge` events, as their text.
fn too_large(sim: &Sim) -> Vec<String> {
    sim.events()
        .iter()
        .filter_map(|e| match e {
            RecordedEvent::Other(text) if text.starts_with("MessageTooLarge") => Some(text.clone()),
            _ => None,
        })
        .collect()
}

/// The acknowledgements the client sent, in order: (type, packet id).
fn acks_sent(sim: &Sim) -> Vec<(PacketType, u16)> {
    sim.broker()
        .log()
        .iter()
        .filter(|r| {
            r.direction == Direction::ClientToBroker
                && matches!(
                    r.packet_type,
                    PacketType::PubAck | PacketType::PubRec | PacketType::PubComp
                )
        })
        .map(|r| (r.packet_type, r.packet_id.unwrap_or_default()))
        .collect()
}

#[test]
fn messages_above_the_limit_are_acknowledged_and_the_ones_behind_them_arrive() {
    for (rx_buffer, manual_ack) in [(4096, false), (512, false), (4096, true), (512, true)] {
        let sim_config = SimConfig {
            rx_buffer,
            ..SimConfig::default()
        };
        let mut sim = subscribed(&config(manual_ack), sim_config);
        let big = vec![b'x'; 3 * MAX as usize];
        inject(&mut sim, "t/1", b"before", QoS::AtLeastOnce);
        inject(&mut sim, "t/2", &big, QoS::AtLeastOnce);
        inject(&mut sim, "t/3", &big, QoS::ExactlyOnce);
        inject(&mut sim, "t/4", &big, QoS::AtMostOnce);
        inject(&mut sim, "t/5", b"after", QoS::AtLeastOnce);
        sim.run_for(secs(5));
        sim.ack_all();
        sim.run_for(secs(5));
        let case = format!("rx buffer {rx_buffer}, manual ack {manual_ack}");
        assert_eq!(payloads(&sim), ["before", "after"], "{case}");
        assert!(
            !sim.events()
                .iter()
                .any(|e| matches!(e, RecordedEvent::ConnectionLost { .. })),
            "{case}: {:?}",
            sim.events()
        );
        assert!(sim.session().is_connected(), "{case}");
        assert_eq!(sim.session().stats().messages_too_large, 3, "{case}");
        assert_eq!(sim.session().stats().messages_received, 5, "{case}");
        // Every message acknowledged, in the order received; the QoS 2 one completed.
        assert_eq!(sim.broker().pending_to_client(), 0, "{case}");
        assert_eq!(sim.broker().violations(), [] as [String; 0], "{case}");
        // PUBACK and PUBREC in the order the messages came `[MQTT-4.6.0-2]`; the QoS 2 flow completed.
        let acks = acks_sent(&sim);
        let answers: Vec<(PacketType, u16)> = acks
            .iter()
            .copied()
            .filter(|(kind, _)| *kind != PacketType::PubComp)
            .collect();
        assert_eq!(
            answers,
            [
                (PacketType::PubAck, 1),
                (PacketType::PubAck, 2),
                (PacketType::PubRec, 3),
                (PacketType::PubAck, 4)
            ],
            "{case}"
        );
        assert!(acks.contains(&(PacketType::PubComp, 3)), "{case}: {acks:?}");
        let reported = too_large(&sim);
        assert_eq!(reported.len(), 3, "{case}: {reported:?}");
        assert!(
            // The limit in force: the maximum packet size, or a smaller receive buffer.
            reported[0].contains("size: 3")
                && reported[0].contains(&format!("max: {}", rx_buffer.min(MAX as usize))),
            "{case}: {reported:?}"
        );
    }
}
