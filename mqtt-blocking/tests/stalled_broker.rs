//! The blocking client's DISCONNECT when the broker stops reading (a broker process that hangs), against the fake
//! broker on a loopback port ([`TcpBroker`]): the DISCONNECT waits behind what the socket cannot take yet and goes
//! out once the broker reads again; a broker that never does is given up on within the ping timeout. Every wait is
//! bounded.

use std::time::{Duration, Instant};

use mqtt_blocking::{Error, Options, QoS};
use mqtt_test::{BrokerConfig, Direction, TcpBroker};
use proto::codec::PacketType;

const PING_TIMEOUT: Duration = Duration::from_secs(2);

fn options(broker: &TcpBroker, id: &str) -> Options {
    Options::new(&broker.url())
        .unwrap()
        .client_id(id)
        .ping_timeout(PING_TIMEOUT)
        .keep_alive(Duration::from_secs(600))
}

/// Publishes 8 KiB QoS 0 messages until the outgoing queue is full: the socket buffers are full too.
fn fill(client: &mqtt_blocking::Client) {
    for _ in 0..20_000 {
        match client.publish("big", vec![0xa5; 8 * 1024], QoS::AtMostOnce, false) {
            Ok(_) => {}
            Err(Error::Publish(mqtt_blocking::PublishError::QueueFull)) => return,
            Err(e) => panic!("publish: {e}"),
        }
    }
    panic!("the queue never filled: the broker is reading");
}

#[test]
fn the_disconnect_goes_out_once_a_broker_that_stopped_reading_reads_again() {
    let broker = TcpBroker::start(BrokerConfig::default());
    let client = mqtt_blocking::connect(&options(&broker, "paused")).unwrap();
    broker.pause_reading(true);
    fill(&client);
    let resume = std::thread::spawn({
        let broker_reads_again = Duration::from_millis(500);
        move || std::thread::sleep(broker_reads_again)
    });
    let disconnect = std::thread::spawn(move || client.disconnect(Duration::from_secs(10)));
    resume.join().unwrap();
    broker.pause_reading(false);
    assert_eq!(disconnect.join().unwrap(), Ok(()));
    assert!(
        broker.wait_for(
            |b| b.count(Direction::ClientToBroker, PacketType::Disconnect) == 1,
            Duration::from_secs(10)
        ),
        "the broker got the DISCONNECT behind the queued messages"
    );
}

#[test]
fn a_disconnect_from_a_broker_that_never_reads_again_ends_within_the_ping_timeout() {
    let broker = TcpBroker::start(BrokerConfig::default());
    let client = mqtt_blocking::connect(&options(&broker, "stalled")).unwrap();
    broker.pause_reading(true);
    fill(&client);
    let started = Instant::now();
    let outcome = client.disconnect(Duration::from_secs(1));
    assert_eq!(
        outcome,
        Err(Error::Timeout),
        "the caller's timeout is honoured"
    );
    // The loop ends on its own: the DISCONNECT could not be written within the ping timeout.
    let deadline = started + Duration::from_secs(1) + 2 * PING_TIMEOUT + Duration::from_secs(1);
    while client.stats().last_disconnected_at.is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        client.stats().last_disconnected_at.is_some(),
        "the connection still open {:?} after the disconnect",
        started.elapsed()
    );
}
