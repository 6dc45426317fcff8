//! A 3.1.1 broker does not know the client's Receive Maximum (the size of its table of QoS 2 messages awaiting
//! PUBREL): when it sends more, the PUBLISH that does not fit waits, unprocessed, for the PUBREL that frees a
//! place, and reading goes on; the connection is not ended, and no message is lost or delivered twice.

use core::time::Duration;

use mqtt_core::Config;
use mqtt_core::codec::{ProtocolVersion, QoS};
use mqtt_test::{Sim, SimConfig};

/// The shrunk case of `session_acks_props::random_acks_and_holds_never_acknowledge_out_of_order_or_twice` that
/// once failed (every connection ended with `ReceiveMaximumExceeded`, a livelock): 3.1.1, Receive Maximum 1 (which a 3.1.1 broker never hears of), manual
/// acknowledgements, QoS 2 messages injected around two cuts. However long the application acknowledges
/// everything, the broker keeps owing two messages.
#[test]

fn qos2_messages_injected_around_cuts_with_receive_maximum_1_on_311_are_all_delivered() {
    let config = Config {
        version: ProtocolVersion::V311,
        clean_start: false,
        session_expiry_interval: 3600,
        manual_ack: true,
        receive_maximum: 1,
        keep_alive: Duration::from_secs(5),
        ping_timeout: Duration::from_secs(2),
        ..Config::new("props")
    };
    let mut sim = Sim::new(&config, SimConfig::default()).unwrap();
    sim.connect();
    sim.subscribe("p/#", QoS::ExactlyOnce).unwrap();
    sim.run_until_idle();
    let mut n = 0;
    let mut inject = |sim: &mut Sim| {
        sim.broker_mut()
            .inject("p/x", n.to_string().as_bytes(), QoS::ExactlyOnce, false);
        n += 1;
        sim.drive();
    };
    sim.cut_link();
    inject(&mut sim);
    inject(&mut sim);
    sim.run_for(Duration::from_millis(812));
    inject(&mut sim);
    sim.cut_link();
    inject(&mut sim);
    inject(&mut sim);
    inject(&mut sim);
    for _ in 0..200 {
        sim.ack_all();
        sim.run_for(Duration::from_millis(500));
    }
    assert_eq!(
        sim.broker().pending_to_client(),
        0,
        "the broker still owes messages; session error: {:?}",
        sim.session().error()
    );
    assert_eq!(sim.messages().len(), 6, "every QoS 2 message once");
}

#[test]
fn a_311_broker_sending_more_qos2_than_the_table_holds_keeps_the_connection_and_delivers_each_once()
{
    let config = Config {
        version: ProtocolVersion::V311,
        receive_maximum: 2,
        ..Config::new("small-table")
    };
    let mut sim = Sim::new(&config, SimConfig::default()).unwrap();
    sim.connect();
    sim.subscribe("q/#", QoS::ExactlyOnce).unwrap();
    sim.run_until_idle();
    // All at once, before any PUBREC can have reached the broker.
    for i in 0..20 {
        assert!(
            sim.broker_mut()
                .inject("q/x", i.to_string().as_bytes(), QoS::ExactlyOnce, false)
        );
    }
    sim.run_until_idle();
    assert_eq!(sim.session().error(), None);
    assert!(sim.session().is_connected());
    assert_eq!(sim.broker().pending_to_client(), 0);
    let payloads: Vec<_> = sim.messages().iter().map(|m| m.payload.clone()).collect();
    let expected: Vec<_> = (0..20).map(|i: i32| i.to_string().into_bytes()).collect();
    assert_eq!(payloads, expected, "each once, in order");
}
