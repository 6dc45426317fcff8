//! A broker that goes away and comes back, five times, while a publisher sends QoS 1 and QoS 2 messages to a persistent
//! subscriber, both with `clean_start(false)` and a session that outlives the connection: mosquitto (with persistence,
//! stopped with SIGTERM so that it saves its sessions) is stopped and restarted on the same port. Every QoS 2 message
//! arrives exactly once (except those mosquitto itself sends again as a PUBLISH after a restart where the spec asks for
//! their PUBREL: counted from its log), every QoS 1 message at least once, each topic's messages in publish order
//! ([MQTT-4.6.0-2], [MQTT-4.6.0-3], [MQTT-4.6.0-6]), every delivery resolves, and nothing is stuck afterwards. Once
//! with the memory store and once with the file store. Bounded: about 15 s each.

use std::time::Duration;

use futures::StreamExt as _;
use mqtt_test::soak::{self, Arrivals, QOS1_TOPIC, QOS2_TOPIC};
use mqtt_test::{Listener, Mosquitto, MosquittoConfig};
use mqtt_tokio::{Options, Persistence, QoS};

const WAIT: Duration = Duration::from_secs(30);
const FLAPS: usize = 5;
const UP: Duration = Duration::from_millis(1500);
const DOWN: Duration = Duration::from_millis(500);
const INTERVAL: Duration = Duration::from_micros(200);

fn options(url: &str, id: &str) -> Options {
    Options::new(url)
        .unwrap()
        .client_id(id)
        .clean_start(false)
        .session_expiry(3600)
        .reconnect(soak::quick_reconnects())
        .connect_timeout(Duration::from_secs(5))
}

async fn soak(store: Option<&str>) {
    let broker = Mosquitto::start(
        MosquittoConfig::default()
            .with_persistence()
            .with_line("max_queued_messages 0"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let url = broker.url(Listener::Plain);
    let subscriber = mqtt_tokio::connect(options(&url, "soak-sub"))
        .await
        .unwrap();
    let mut messages = subscriber
        .subscribe("soak/#", QoS::ExactlyOnce)
        .await
        .unwrap();
    let arrivals = Arrivals::default();
    let collecting = {
        let arrivals = arrivals.clone();
        tokio::spawn(async move {
            while let Some(message) = messages.next().await {
                arrivals.record(&message.topic, &message.payload);
            }
        })
    };
    let mut publisher_options = options(&url, "soak-pub");
    if let Some(name) = store {
        publisher_options =
            publisher_options.persistence(Persistence::file(broker.dir().join(name)));
    }
    let publisher = mqtt_tokio::connect(publisher_options).await.unwrap();

    let flapping = soak::flap(broker, FLAPS, UP, DOWN);
    let mut deliveries = Vec::new();
    let mut sent = 0u32;
    while !flapping.is_finished() {
        let (topic, qos) = if sent.is_multiple_of(2) {
            (QOS1_TOPIC, QoS::AtLeastOnce)
        } else {
            (QOS2_TOPIC, QoS::ExactlyOnce)
        };
        let delivery = tokio::time::timeout(
            WAIT,
            publisher.publish_when_room(topic, sent.to_be_bytes(), qos, false),
        )
        .await
        .expect("room in the queue")
        .unwrap();
        deliveries.push(delivery);
        sent += 1;
        tokio::time::sleep(INTERVAL).await;
    }
    let broker = flapping.join().unwrap();
    for (i, delivery) in deliveries.into_iter().enumerate() {
        let outcome = tokio::time::timeout(WAIT, delivery.wait()).await;
        assert!(
            matches!(outcome, Ok(Ok(()))),
            "message {i}: {outcome:?}\n{}",
            broker.log()
        );
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while !arrivals.complete(sent) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not every message arrived: {sent} sent"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let repeats = arrivals.check(broker.pubrels_resent_as_publish("soak-sub"));
    eprintln!("tokio: {sent} messages; {repeats}");
    // Nothing stuck: a message still goes through, and both clients disconnect with nothing unacknowledged.
    let last = publisher
        .publish(QOS2_TOPIC, u32::MAX.to_be_bytes(), QoS::ExactlyOnce, false)
        .await
        .unwrap();
    tokio::time::timeout(WAIT, last.wait())
        .await
        .unwrap()
        .unwrap();
    publisher.disconnect(WAIT).await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while arrivals.last_qos2() != Some(u32::MAX) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the last message did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    subscriber.disconnect(WAIT).await.unwrap();
    tokio::time::timeout(WAIT, collecting)
        .await
        .unwrap()
        .unwrap();
    drop(broker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos1_and_qos2_through_a_broker_restarted_five_times_with_the_memory_store() {
    soak(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos1_and_qos2_through_a_broker_restarted_five_times_with_the_file_store() {
    soak(Some("publisher.store")).await;
}
