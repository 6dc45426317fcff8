//! A broker that goes away and comes back, five times, while a publisher sends QoS 1 and QoS 2 messages to a persistent
//! subscriber, both with `clean_start(false)`: mosquitto (with persistence, stopped with SIGTERM so that it saves its
//! sessions) is stopped and restarted on the same port, on 3.1.1 and on 5.0. Every QoS 2 message arrives exactly once
//! (except those mosquitto itself sends again as a PUBLISH after a restart where the spec asks for their PUBREL:
//! counted from its log), every QoS 1 message at least once, each topic's messages in publish order ([MQTT-4.6.0-2],
//! [MQTT-4.6.0-3], [MQTT-4.6.0-6]), every delivery resolves, and nothing is stuck afterwards. Bounded: about 10 s per
//! run.

use std::time::{Duration, Instant};

use mqtt_blocking::{Options, Persistence, ProtocolVersion, QoS};
use mqtt_test::soak::{self, Arrivals, QOS1_TOPIC, QOS2_TOPIC};
use mqtt_test::{Listener, Mosquitto, MosquittoConfig};

const WAIT: Duration = Duration::from_secs(30);
const FLAPS: usize = 5;
const UP: Duration = Duration::from_millis(1500);
const DOWN: Duration = Duration::from_millis(500);
const INTERVAL: Duration = Duration::from_micros(200);

fn options(url: &str, id: &str, version: ProtocolVersion) -> Options {
    Options::new(url)
        .unwrap()
        .client_id(id)
        .version(version)
        .clean_start(false)
        .reconnect(soak::quick_reconnects())
        .connect_timeout(Duration::from_secs(5))
}

fn soak(version: ProtocolVersion, store: Option<&str>) {
    let config = MosquittoConfig::default()
        .with_persistence()
        .with_line("max_queued_messages 0");
    let broker = Mosquitto::start(config).unwrap_or_else(|e| panic!("{e}"));
    let url = broker.url(Listener::Plain);
    let subscriber = mqtt_blocking::connect(&options(&url, "soak-sub", version)).unwrap();
    let arrivals = Arrivals::default();
    {
        let arrivals = arrivals.clone();
        subscriber
            .subscribe("soak/#", QoS::ExactlyOnce, move |_, message| {
                arrivals.record(&message.topic, &message.payload);
            })
            .unwrap()
            .wait_timeout(WAIT)
            .unwrap();
    }
    let mut publisher_options = options(&url, "soak-pub", version);
    if let Some(name) = store {
        publisher_options =
            publisher_options.persistence(Persistence::file(broker.dir().join(name)));
    }
    let publisher = mqtt_blocking::connect(&publisher_options).unwrap();

    let flapping = soak::flap(broker, FLAPS, UP, DOWN);
    let mut deliveries = Vec::new();
    let mut sent = 0u32;
    while !flapping.is_finished() {
        let (topic, qos) = if sent.is_multiple_of(2) {
            (QOS1_TOPIC, QoS::AtLeastOnce)
        } else {
            (QOS2_TOPIC, QoS::ExactlyOnce)
        };
        let delivery = publisher
            .publish_when_room(topic, sent.to_be_bytes(), qos, false, WAIT)
            .unwrap();
        deliveries.push(delivery);
        sent += 1;
        std::thread::sleep(INTERVAL);
    }
    let broker = flapping.join().unwrap();
    for (i, delivery) in deliveries.into_iter().enumerate() {
        let outcome = delivery.wait_timeout(WAIT);
        assert!(
            outcome.is_ok(),
            "message {i}: {outcome:?}\n{}",
            broker.log()
        );
    }
    let deadline = Instant::now() + WAIT;
    while !arrivals.complete(sent) {
        assert!(
            Instant::now() < deadline,
            "not every message arrived: {sent} sent"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let repeats = arrivals.check(broker.pubrels_resent_as_publish("soak-sub"));
    eprintln!("{version:?}: {sent} messages; {repeats}");
    // Nothing stuck: a message still goes through, and both clients disconnect with nothing unacknowledged.
    let last = publisher
        .publish(QOS2_TOPIC, u32::MAX.to_be_bytes(), QoS::ExactlyOnce, false)
        .unwrap();
    last.wait_timeout(WAIT).unwrap();
    publisher.disconnect(WAIT).unwrap();
    let deadline = Instant::now() + WAIT;
    while arrivals.last_qos2() != Some(u32::MAX) {
        assert!(Instant::now() < deadline, "the last message did not arrive");
        std::thread::sleep(Duration::from_millis(20));
    }
    subscriber.disconnect(WAIT).unwrap();
    drop(broker);
}

#[test]
fn qos1_and_qos2_through_a_broker_restarted_five_times_on_311_with_the_memory_store() {
    soak(ProtocolVersion::V311, None);
}

#[test]
fn qos1_and_qos2_through_a_broker_restarted_five_times_on_5_with_the_file_store() {
    soak(ProtocolVersion::V5, Some("publisher.store"));
}
