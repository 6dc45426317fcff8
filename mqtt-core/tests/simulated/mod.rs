//! What the session tests in simulation share: both protocol versions, a session connected to the fake broker, and
//! the persistent session with manual acknowledgement of the pace tests, subscribed and fed by the broker.
#![allow(dead_code, unreachable_pub)] // Each test file uses its part.

use core::time::Duration;

use mqtt_core::Config;
use mqtt_core::codec::{ProtocolVersion, QoS};
use mqtt_test::{Sim, SimConfig};

pub const VERSIONS: [ProtocolVersion; 2] = [ProtocolVersion::V311, ProtocolVersion::V5];

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A simulation of `config` over `sim_config`, connected (within 5 s of virtual time) and idle.
pub fn connected(config: &Config<'_>, sim_config: SimConfig) -> Sim {
    let mut sim = Sim::new(config, sim_config).expect("valid configuration");
    sim.connect();
    assert!(
        sim.run_until(|s| s.session().is_connected(), secs(5)),
        "no connection"
    );
    sim.run_until_idle();
    sim
}

/// A persistent session whose application acknowledges messages itself.
pub fn manual(version: ProtocolVersion) -> Config<'static> {
    Config {
        version,
        clean_start: false,
        session_expiry_interval: 3600,
        manual_ack: true,
        receive_maximum: 8,
        ..Config::new("acks")
    }
}

/// Connected and subscribed to `t/#` at QoS 2, with the events of getting there taken.
pub fn subscribed(config: &Config<'_>, sim_config: SimConfig) -> Sim {
    let mut sim = Sim::new(config, sim_config).expect("valid configuration");
    sim.connect();
    sim.subscribe("t/#", QoS::ExactlyOnce).unwrap();
    sim.run_until_idle();
    assert!(sim.session().is_connected());
    sim.take_events();
    sim
}

/// The broker sends a message to the client, which is driven at once.
pub fn inject(sim: &mut Sim, topic: &str, payload: &[u8], qos: QoS) {
    assert!(sim.broker_mut().inject(topic, payload, qos, false));
    sim.drive();
}
