//! mqtt-tokio against what brokers do that new users meet: a restart (a persistent session on both sides,
//! `clean_start(false)`, messages queued by the publisher while the broker is down, the broker coming back with
//! its saved sessions). Against a real mosquitto started by the harness; every wait is bounded.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use mqtt_test::{Listener, Mosquitto, MosquittoConfig};
use mqtt_tokio::{Options, QoS};

const WAIT: Duration = Duration::from_secs(30);
const EACH: usize = 20;

fn options(broker: &Mosquitto, id: &str) -> Options {
    Options::new(&broker.url(Listener::Plain))
        .unwrap()
        .client_id(id)
        .clean_start(false)
        .session_expiry(300)
}

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_delivers_what_was_queued_offline_as_each_qos_promises() {
    let mut broker = Mosquitto::start(MosquittoConfig::default().with_persistence())
        .unwrap_or_else(|e| panic!("{e}"));
    let subscriber = within(
        "connect",
        mqtt_tokio::connect(options(&broker, "restart-sub")),
    )
    .await
    .unwrap();
    let mut messages = within(
        "subscribe",
        subscriber.subscribe("restart/#", QoS::ExactlyOnce),
    )
    .await
    .unwrap();
    let publisher = within(
        "connect",
        mqtt_tokio::connect(options(&broker, "restart-pub")),
    )
    .await
    .unwrap();
    let publish_all = |phase: &'static str| {
        let publisher = publisher.clone();
        async move {
            let mut deliveries = Vec::new();
            for i in 0..EACH {
                for (qos, name) in [(QoS::AtLeastOnce, "q1"), (QoS::ExactlyOnce, "q2")] {
                    deliveries.push(
                        publisher
                            .publish(
                                format!("restart/{name}"),
                                format!("{phase}-{name}-{i}"),
                                qos,
                                false,
                            )
                            .await
                            .unwrap(),
                    );
                }
            }
            deliveries
        }
    };
    for delivery in publish_all("before").await {
        within("acknowledged before the restart", delivery.wait())
            .await
            .unwrap();
    }
    broker.stop();
    // Queued by the publisher while the broker is down.
    let offline = publish_all("offline").await;
    broker.restart().unwrap_or_else(|e| panic!("{e}"));
    for delivery in offline {
        within("acknowledged after the restart", delivery.wait())
            .await
            .unwrap();
    }
    let end = publisher
        .publish("restart/q2", "end", QoS::ExactlyOnce, false)
        .await
        .unwrap();
    within("the end acknowledged", end.wait()).await.unwrap();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    loop {
        let message = within("the next message", messages.next())
            .await
            .expect("the subscription ended");
        let payload = String::from_utf8(message.payload.to_vec()).unwrap();
        if payload == "end" {
            break;
        }
        *seen.entry(payload).or_default() += 1;
    }
    for phase in ["before", "offline"] {
        for i in 0..EACH {
            let q1 = seen.get(&format!("{phase}-q1-{i}")).copied().unwrap_or(0);
            assert!(q1 >= 1, "{phase}-q1-{i} lost");
            let q2 = seen.get(&format!("{phase}-q2-{i}")).copied().unwrap_or(0);
            assert_eq!(q2, 1, "{phase}-q2-{i} arrived {q2} times");
        }
    }
    within("disconnect", publisher.disconnect(WAIT))
        .await
        .unwrap();
    within("disconnect", subscriber.disconnect(WAIT))
        .await
        .unwrap();
}
