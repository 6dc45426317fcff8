//! Regression tests for session bugs the simulation harness found.

use core::time::Duration;

use mqtt_core::Config;
use mqtt_core::codec::{ProtocolVersion, QoS};
use mqtt_test::{BrokerConfig, RecordedEvent, Sim, SimConfig};

/// `Session::write_aliased` (transmit.rs) used to assign a new outgoing topic alias before it knew that the aliased
/// PUBLISH fits the caller's buffer: it checked the *stored* packet's length against the buffer, but the aliased
/// packet is 3 bytes longer (the Topic Alias property). When the encode then failed, the record went out as stored,
/// without the alias, yet the alias stayed assigned; the next message on that topic went out with an empty topic
/// and an alias the broker never learned, which a broker must treat as a Protocol Error.
///
/// Here: 5.0, transmit buffer 16 B, PUBLISH QoS 1 to `s/y/z` with 2 B of payload = 14 B stored, 17 B aliased.
/// The first message goes out without the alias but assigns it:
/// `PUBLISH q1 id 1 's/y/z'` (no alias), then `PUBLISH q1 id 2 '' alias 1`; the broker answers
/// DISCONNECT 0x82 ("unknown topic alias 1").
#[test]
fn an_outgoing_topic_alias_is_defined_before_it_is_used_alone() {
    let config = Config {
        outgoing_topic_aliases: 4,
        ..Config::new("alias-bug")
    };
    let sim_config = SimConfig {
        transmit_buffer: 16,
        broker: BrokerConfig {
            topic_alias_maximum: Some(4),
            ..BrokerConfig::default()
        },
        ..SimConfig::default()
    };
    let mut sim = Sim::new(&config, sim_config).unwrap();
    assert_eq!(config.version, ProtocolVersion::V5);
    sim.connect();
    assert!(sim.run_until(|s| s.session().is_connected(), Duration::from_secs(1)));
    sim.publish("s/y/z", b"p1", QoS::AtLeastOnce).unwrap();
    sim.publish("s/y/z", b"p2", QoS::AtLeastOnce).unwrap();
    sim.run_until_idle();
    assert!(
        sim.broker().violations().is_empty(),
        "{:?}",
        sim.broker().violations()
    );
    let topics: Vec<&str> = sim
        .broker()
        .received()
        .iter()
        .map(|m| m.topic.as_str())
        .collect();
    assert_eq!(topics, ["s/y/z", "s/y/z"]);
    let published = sim
        .events()
        .iter()
        .filter(|e| matches!(e, RecordedEvent::Published { .. }))
        .count();
    assert_eq!(published, 2);
}
