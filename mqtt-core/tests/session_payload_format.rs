//! The MQTT 5.0 Payload Format Indicator, in deterministic simulation: a message or a will that says its payload
//! is UTF-8 text carries well-formed UTF-8 (MQTT 5.0 sections 3.3.2.3.2 and 3.1.3.2), or is refused at once with a
//! typed error, before anything is sent.

use core::time::Duration;

use mqtt_core::codec::{self, PacketType, ProtocolVersion, PublishProperties, QoS, WillProperties};
use mqtt_core::reconnect::ReconnectPolicy;
use mqtt_core::{Config, ConfigError, PublishError};
use mqtt_test::{Direction, Sim, SimConfig};

fn config() -> Config<'static> {
    Config {
        version: ProtocolVersion::V5,
        reconnect: ReconnectPolicy {
            jitter_permille: 0,
            ..ReconnectPolicy::default()
        },
        ..Config::new("payload-format")
    }
}

/// Connects and runs until CONNACK.
fn connected(sim: &mut Sim) -> bool {
    sim.connect();
    sim.run_until(|s| s.session().is_connected(), Duration::from_secs(5))
}

fn message(payload: &[u8], utf8: Option<bool>) -> codec::Publish<'_> {
    codec::Publish {
        properties: PublishProperties {
            payload_format_indicator: utf8,
            ..PublishProperties::default()
        },
        ..codec::Publish::new("t", payload, QoS::AtLeastOnce, false)
    }
}

/// "The UTF-8 data in the Payload MUST be well-formed UTF-8" (MQTT 5.0 section 3.3.2.3.2). mosquitto passed such
/// a message on as it was, marked as text, and a broker or subscriber that checks may refuse it with `0x99`
/// Payload format invalid; the client sent it as it was.
#[test]
fn a_payload_marked_utf8_that_is_not_is_refused_and_nothing_is_sent() {
    let mut sim = Sim::new(&config(), SimConfig::default()).unwrap();
    assert!(connected(&mut sim));
    for invalid in [
        &b"\xff\xfe"[..],
        b"caf\xe9",
        b"\xed\xa0\x80", /* a surrogate */
    ] {
        assert_eq!(
            sim.publish_message(&message(invalid, Some(true))),
            Err(PublishError::PayloadNotUtf8),
            "{invalid:?}"
        );
    }
    sim.publish_message(&message("caf\u{e9}".as_bytes(), Some(true)))
        .unwrap();
    sim.publish_message(&message(b"\xff\xfe", Some(false)))
        .unwrap();
    sim.publish_message(&message(b"\xff\xfe", None)).unwrap();
    sim.run_until_idle();
    assert_eq!(
        sim.broker()
            .count(Direction::ClientToBroker, PacketType::Publish),
        3,
        "only the valid messages went out"
    );
    assert!(sim.session().is_connected());
}

/// The will's payload likewise (MQTT 5.0 section 3.1.3.2): a broker that checks refuses the CONNECT, at every
/// attempt, so the configuration is refused.
#[test]
fn a_will_marked_utf8_that_is_not_is_a_configuration_error() {
    let will = |payload: &'static [u8], utf8| codec::Will {
        topic: "status/gone",
        payload,
        properties: WillProperties {
            payload_format_indicator: Some(utf8),
            ..WillProperties::default()
        },
        ..codec::Will::default()
    };
    let with_will = |will| Config {
        will: Some(will),
        ..config()
    };
    let refused = Sim::new(&with_will(will(b"gone \xff", true)), SimConfig::default());
    assert_eq!(refused.err(), Some(ConfigError::WillPayloadNotUtf8));
    for fine in [
        will("parti \u{1f642}".as_bytes(), true),
        will(b"\xff", false),
    ] {
        let mut sim = Sim::new(&with_will(fine), SimConfig::default()).unwrap();
        assert!(connected(&mut sim));
    }
}
