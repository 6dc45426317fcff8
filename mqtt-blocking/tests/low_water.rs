//! The read low-water mark on a real socket: a publisher whose window is full asks the kernel to wake it only once
//! an eighth of the acknowledgements it is owed have come (`SO_RCVLOWAT`), yet an answer it waits for meanwhile (a SUBACK
//! of 5 bytes, a PINGRESP of 2) is read at once, and every message is delivered once the broker acknowledges again.

use std::time::{Duration, Instant};

use mqtt_blocking::{Options, QoS};
use mqtt_test::{BrokerConfig, FakeBrokerServer};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn a_full_window_still_reads_a_suback_and_the_keep_alive_answers_at_once() {
    let server = FakeBrokerServer::start(BrokerConfig::default()).unwrap();
    let options = Options::new(&server.url())
        .unwrap()
        .client_id("low-water-blocking")
        .max_inflight(32)
        .keep_alive(Duration::from_secs(1));
    let client = mqtt_blocking::connect(&options).unwrap();
    server.broker().hold_acks();
    let deliveries: Vec<_> = (0..40u8)
        .map(|i| client.publish("w", [i], QoS::AtLeastOnce, false).unwrap())
        .collect();
    assert!(server.wait_until(WAIT, |b| b.received().len() == 32));
    // 32 PUBACKs owed, 16 bytes asked for: the SUBACK (5 bytes) is read all the same.
    client
        .subscribe("answers/#", QoS::AtLeastOnce, |_, _| {})
        .unwrap()
        .wait_timeout(WAIT)
        .expect("the SUBACK was read while the window was full");
    // Three keep-alive periods: each PINGRESP (2 bytes) read in time, the connection kept.
    let pings = |server: &FakeBrokerServer| server.broker().pings();
    let start = Instant::now();
    while pings(&server) < 3 {
        assert!(start.elapsed() < WAIT, "no keep alive");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(server.broker().connections().len(), 1, "no ping timeout");
    assert!(client.is_connected());
    server.broker().release_acks();
    for delivery in deliveries {
        delivery.wait_timeout(WAIT).unwrap();
    }
    assert_eq!(server.broker().received().len(), 40);
    client.disconnect(WAIT).unwrap();
}

#[test]
fn a_qos0_flood_read_in_batches_delivers_its_last_messages_and_a_lone_one_after_it() {
    const FLOOD: usize = 5000;
    let server = FakeBrokerServer::start(BrokerConfig::default()).unwrap();
    let options = Options::new(&server.url())
        .unwrap()
        .client_id("batching-blocking")
        .read_batching(1024, Duration::from_millis(50));
    let client = mqtt_blocking::connect(&options).unwrap();
    let messages = client.messages();
    client
        .subscribe("flood/#", QoS::AtMostOnce, |_, _| {})
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    {
        let mut broker = server.broker();
        for i in 0..FLOOD {
            broker.inject(&format!("flood/{i}"), &[b'x'; 100], QoS::AtMostOnce, false);
        }
    }
    for expected in 0..FLOOD {
        let message = messages
            .recv_timeout(WAIT)
            .unwrap_or_else(|e| panic!("message {expected} of the flood is stuck: {e}"));
        assert_eq!(message.topic, format!("flood/{expected}"));
    }
    std::thread::sleep(Duration::from_millis(200));
    server
        .broker()
        .inject("flood/alone", b"x", QoS::AtMostOnce, false);
    let alone = messages
        .recv_timeout(WAIT)
        .expect("a message after the flood is read");
    assert_eq!(alone.topic, "flood/alone");
    client.disconnect(WAIT).unwrap();
}
