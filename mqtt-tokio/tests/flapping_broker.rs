//! A broker that goes away and comes back, five times, while a publisher sends QoS 1 and QoS 2 messages to a persistent
//! subscriber, both with `clean_start(false)` and a session that outlives the connection: mosquitto (with persistence,
//! stopped with SIGTERM so that it saves its sessions) is stopped and restarted on the same port. Every QoS 2 message
//! arrives exactly once (except those mosquitto itself sends again as a PUBLISH after a restart where the spec asks for
//! their PUBREL: counted from its log), every QoS 1 message at least once, each topic's messages in publish order
//! ([MQTT-4.6.0-2], [MQTT-4.6.0-3], [MQTT-4.6.0-6]), every delivery resolves, and nothing is stuck afterwards. Once
//! with the memory store and once with the file store. Bounded: about 15 s each.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt as _;
use mqtt_test::{Listener, Mosquitto, MosquittoConfig};
use mqtt_tokio::{Options, Persistence, QoS, ReconnectPolicy};

const WAIT: Duration = Duration::from_secs(30);
const FLAPS: usize = 5;
const UP: Duration = Duration::from_millis(1500);
const DOWN: Duration = Duration::from_millis(500);
const INTERVAL: Duration = Duration::from_micros(200);

fn options(url: &str, id: &str) -> Options {
    let policy = ReconnectPolicy {
        initial_delay: Duration::from_millis(100),
        max_backoff: Duration::from_millis(400),
        steady_delay: Duration::from_millis(400),
        jitter_permille: 0,
        stable_after: Duration::from_millis(500),
        ..ReconnectPolicy::default()
    };
    Options::new(url)
        .unwrap()
        .client_id(id)
        .clean_start(false)
        .session_expiry(3600)
        .reconnect(policy)
        .connect_timeout(Duration::from_secs(5))
}

/// The sequence numbers received on each topic, in arrival order: (QoS 1, QoS 2).
type Received = Arc<Mutex<(Vec<u32>, Vec<u32>)>>;

async fn soak(store: Option<&str>) {
    let mut broker = Mosquitto::start(
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
    let received: Received = Arc::default();
    let collecting = {
        let received = received.clone();
        tokio::spawn(async move {
            while let Some(message) = messages.next().await {
                let n = u32::from_be_bytes(message.payload[..4].try_into().unwrap());
                let mut received = received.lock().unwrap();
                match message.topic.as_str() {
                    "soak/1" => received.0.push(n),
                    "soak/2" => received.1.push(n),
                    other => panic!("a message on {other}"),
                }
            }
        })
    };
    let mut publisher_options = options(&url, "soak-pub");
    if let Some(name) = store {
        publisher_options =
            publisher_options.persistence(Persistence::file(broker.dir().join(name)));
    }
    let publisher = mqtt_tokio::connect(publisher_options).await.unwrap();

    let flapping = std::thread::spawn(move || {
        for _ in 0..FLAPS {
            std::thread::sleep(UP);
            broker.stop();
            std::thread::sleep(DOWN);
            broker.restart().unwrap_or_else(|e| panic!("{e}"));
        }
        broker
    });
    let mut deliveries = Vec::new();
    let mut sent = 0u32;
    while !flapping.is_finished() {
        let (topic, qos) = if sent.is_multiple_of(2) {
            ("soak/1", QoS::AtLeastOnce)
        } else {
            ("soak/2", QoS::ExactlyOnce)
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
    let (ones, twos) = (sent.div_ceil(2), sent / 2);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let complete = {
            let received = received.lock().unwrap();
            let distinct =
                |seen: &[u32]| seen.iter().collect::<std::collections::BTreeSet<_>>().len();
            distinct(&received.0) == ones as usize && distinct(&received.1) == twos as usize
        };
        if complete {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not every message arrived: {sent} sent"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    {
        let received = received.lock().unwrap();
        let (ones_out_of_order, ones_repeated) = out_of_order_and_repeated(&received.0);
        let (twos_out_of_order, twos_repeated) = out_of_order_and_repeated(&received.1);
        assert!(
            ones_out_of_order.is_empty(),
            "QoS 1 first arrivals out of order: {ones_out_of_order:?}"
        );
        assert!(
            twos_out_of_order.is_empty(),
            "QoS 2 first arrivals out of order: {twos_out_of_order:?}"
        );
        // Exactly once, except where the broker itself sent a released QoS 2 message again as a PUBLISH.
        let resent = broker.pubrels_resent_as_publish("soak-sub");
        assert!(
            twos_repeated <= resent,
            "{twos_repeated} QoS 2 messages arrived twice; the broker resent {resent} released ones as PUBLISH"
        );
        eprintln!(
            "tokio: {sent} messages; QoS 1 repeated {ones_repeated}, QoS 2 repeated {twos_repeated} \
             (the broker resent {resent} released ones as PUBLISH)"
        );
    }
    // Nothing stuck: a message still goes through, and both clients disconnect with nothing unacknowledged.
    let last = publisher
        .publish("soak/2", u32::MAX.to_be_bytes(), QoS::ExactlyOnce, false)
        .await
        .unwrap();
    tokio::time::timeout(WAIT, last.wait())
        .await
        .unwrap()
        .unwrap();
    publisher.disconnect(WAIT).await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while received.lock().unwrap().1.last() != Some(&u32::MAX) {
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

/// First arrivals out of publish order, and arrivals after the first, of one topic's sequence numbers.
fn out_of_order_and_repeated(arrivals: &[u32]) -> (Vec<u32>, usize) {
    let mut seen = std::collections::BTreeSet::new();
    let mut out_of_order = Vec::new();
    let mut last_first = None;
    for &n in arrivals {
        if seen.insert(n) {
            if last_first.is_some_and(|last| n < last) {
                out_of_order.push(n);
            }
            last_first = Some(n);
        }
    }
    (out_of_order, arrivals.len() - seen.len())
}
