//! mqtt-tokio against a real mosquitto, started by the harness on a free loopback port.

use std::time::Duration;

use futures::StreamExt;
use mqtt_test::{Listener, Mosquitto, MosquittoConfig};
use mqtt_tokio::{
    ConnectRefusal, ConnectionState, Error, Options, ProtocolVersion, QoS, ReconnectPolicy,
};

const VERSIONS: [ProtocolVersion; 2] = [ProtocolVersion::V311, ProtocolVersion::V5];
const WAIT: Duration = Duration::from_secs(10);

fn broker(config: MosquittoConfig) -> Mosquitto {
    Mosquitto::start(config).unwrap_or_else(|e| panic!("{e}"))
}

fn options(broker: &Mosquitto, version: ProtocolVersion, id: &str) -> Options {
    Options::new(&broker.url(Listener::Plain))
        .unwrap()
        .client_id(format!("{id}-{version:?}"))
        .version(version)
}

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

#[tokio::test]
async fn connects_and_disconnects_in_both_versions() {
    let broker = broker(MosquittoConfig::default());
    for version in VERSIONS {
        let client = within(
            "connect",
            mqtt_tokio::connect(options(&broker, version, "connect")),
        )
        .await
        .unwrap();
        assert!(client.is_connected());
        client.disconnect(WAIT).await.unwrap();
        assert!(!client.is_connected());
        let after = client.publish("t", "x", QoS::AtMostOnce, false).await;
        assert!(matches!(after, Err(Error::Closed)), "{after:?}");
    }
}

#[tokio::test]
async fn publish_and_subscribe_at_every_qos_with_payloads_up_to_1_mib() {
    let broker = broker(MosquittoConfig::default());
    for version in VERSIONS {
        let publisher = mqtt_tokio::connect(options(&broker, version, "pub"))
            .await
            .unwrap();
        let subscriber = mqtt_tokio::connect(options(&broker, version, "sub"))
            .await
            .unwrap();
        let mut stream = subscriber
            .subscribe("interop/qos/#", QoS::ExactlyOnce)
            .await
            .unwrap();
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            for size in [0usize, 1, 1024, 64 * 1024, 1024 * 1024] {
                let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
                let topic = format!("interop/qos/{qos:?}/{size}");
                within("publish", async {
                    publisher
                        .publish(topic.clone(), payload.clone(), qos, false)
                        .await
                        .unwrap()
                        .wait()
                        .await
                })
                .await
                .unwrap();
                let message = within("receive", stream.recv()).await.expect("a message");
                assert_eq!(
                    (message.topic.as_str(), message.qos),
                    (topic.as_str(), qos),
                    "{version}"
                );
                assert!(
                    message.payload == payload,
                    "{version} {qos:?} {size}: payload differs"
                );
            }
        }
        publisher.disconnect(WAIT).await.unwrap();
        subscriber.disconnect(WAIT).await.unwrap();
    }
}

#[tokio::test]
async fn retained_messages_reach_later_subscribers() {
    let broker = broker(MosquittoConfig::default());
    let publisher = mqtt_tokio::connect(options(&broker, ProtocolVersion::V5, "retain-pub"))
        .await
        .unwrap();
    publisher
        .publish("interop/retained", "kept", QoS::AtLeastOnce, true)
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    let subscriber = mqtt_tokio::connect(options(&broker, ProtocolVersion::V311, "retain-sub"))
        .await
        .unwrap();
    let mut stream = subscriber
        .subscribe("interop/retained", QoS::AtLeastOnce)
        .await
        .unwrap();
    let message = within("retained", stream.recv()).await.unwrap();
    assert_eq!(
        (message.payload.as_ref(), message.retain),
        (&b"kept"[..], true)
    );
}

#[tokio::test]
async fn the_will_is_published_when_the_connection_is_lost_abnormally() {
    let broker = broker(MosquittoConfig::default());
    for version in VERSIONS {
        let watcher = mqtt_tokio::connect(options(&broker, version, "will-watch"))
            .await
            .unwrap();
        let mut wills = watcher
            .subscribe("interop/will", QoS::AtLeastOnce)
            .await
            .unwrap();
        let (client, event_loop) = mqtt_tokio::new(&options(&broker, version, "will-holder").will(
            "interop/will",
            "gone",
            QoS::AtLeastOnce,
            false,
        ))
        .unwrap();
        let mut states = client.states();
        let task = tokio::spawn(event_loop.run());
        while !matches!(
            within("connect", states.next()).await,
            Some(ConnectionState::Connected { .. })
        ) {}
        // Abnormal loss: the connection drops without DISCONNECT.
        task.abort();
        let will = within("will", wills.recv()).await.unwrap();
        assert_eq!(will.payload.as_ref(), b"gone", "{version}");
    }
}

#[tokio::test]
async fn a_persistent_session_resumes_with_the_messages_queued_while_offline() {
    let broker = broker(MosquittoConfig::default());
    for version in VERSIONS {
        let persistent = || {
            options(&broker, version, "persistent")
                .clean_start(false)
                .session_expiry(3600)
        };
        let client = mqtt_tokio::connect(persistent()).await.unwrap();
        drop(
            client
                .subscribe("interop/offline", QoS::AtLeastOnce)
                .await
                .unwrap(),
        );
        client.disconnect(WAIT).await.unwrap();

        let publisher = mqtt_tokio::connect(options(&broker, version, "offline-pub"))
            .await
            .unwrap();
        for i in 0..5u8 {
            publisher
                .publish("interop/offline", vec![i], QoS::AtLeastOnce, false)
                .await
                .unwrap()
                .wait()
                .await
                .unwrap();
        }
        // Subscribe to all messages before the connection resumes, so none is missed.
        let (client, event_loop) = mqtt_tokio::new(&persistent()).unwrap();
        let mut messages = client.messages();
        let mut states = client.states();
        tokio::spawn(event_loop.run());
        let Some(ConnectionState::Connected { session_present }) =
            within("connect", states.next()).await
        else {
            panic!("not connected")
        };
        assert!(session_present, "{version}");
        for i in 0..5u8 {
            let message = within("queued message", messages.next()).await.unwrap();
            assert_eq!(message.payload.as_ref(), [i], "{version}");
        }
        client.disconnect(WAIT).await.unwrap();
    }
}

#[tokio::test]
async fn a_wrong_password_is_refused_permanently() {
    let broker = broker(MosquittoConfig::default().with_users([("alice", "right")]));
    for (version, refusal) in [
        (ProtocolVersion::V311, ConnectRefusal::NotAuthorized),
        (ProtocolVersion::V5, ConnectRefusal::NotAuthorized),
    ] {
        let url = broker.url(Listener::Password);
        let wrong = Options::new(&url)
            .unwrap()
            .version(version)
            .credentials("alice", "wrong");
        let outcome = within("refusal", mqtt_tokio::connect(wrong)).await;
        assert!(
            matches!(outcome, Err(Error::Refused(r)) if r == refusal),
            "{version}: {outcome:?}"
        );
        let right = Options::new(&url)
            .unwrap()
            .version(version)
            .credentials("alice", "right");
        let client = within("connect", mqtt_tokio::connect(right)).await.unwrap();
        client.disconnect(WAIT).await.unwrap();
    }
}

#[tokio::test]
async fn each_subscription_receives_only_what_its_filters_match() {
    let broker = broker(MosquittoConfig::default());
    let client = mqtt_tokio::connect(options(&broker, ProtocolVersion::V5, "filters"))
        .await
        .unwrap();
    let mut rooms = client
        .subscribe("home/+/temperature", QoS::AtLeastOnce)
        .await
        .unwrap();
    let mut kitchen = client
        .subscribe("home/kitchen/#", QoS::AtLeastOnce)
        .await
        .unwrap();
    let mut many = client
        .subscribe_many([
            ("alarm/fire".to_owned(), QoS::AtMostOnce),
            ("alarm/water".to_owned(), QoS::ExactlyOnce),
        ])
        .await
        .unwrap();
    assert_eq!(many.granted().len(), 2);
    for topic in [
        "home/kitchen/temperature",
        "home/hall/temperature",
        "home/kitchen/light",
        "alarm/water",
    ] {
        client
            .publish(topic, topic, QoS::AtLeastOnce, false)
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
    }
    let topics = |n| async move { n };
    let _ = topics(0).await;
    let mut got = Vec::new();
    for _ in 0..2 {
        got.push(within("rooms", rooms.recv()).await.unwrap().topic);
    }
    assert_eq!(got, ["home/kitchen/temperature", "home/hall/temperature"]);
    let mut got = Vec::new();
    for _ in 0..2 {
        got.push(within("kitchen", kitchen.recv()).await.unwrap().topic);
    }
    assert_eq!(got, ["home/kitchen/temperature", "home/kitchen/light"]);
    assert_eq!(
        within("alarm", many.recv()).await.unwrap().topic,
        "alarm/water"
    );
}

#[tokio::test]
async fn qos1_messages_in_flight_survive_a_broker_restart() {
    let mut broker = broker(MosquittoConfig::default().with_persistence());
    let fast_retry = ReconnectPolicy {
        initial_delay: Duration::from_millis(200),
        max_backoff: Duration::from_millis(400),
        steady_delay: Duration::from_millis(400),
        ..ReconnectPolicy::default()
    };
    let subscriber_options = options(&broker, ProtocolVersion::V311, "restart-sub")
        .clean_start(false)
        .reconnect(fast_retry);
    let subscriber = mqtt_tokio::connect(subscriber_options).await.unwrap();
    let mut received = subscriber
        .subscribe("interop/restart", QoS::AtLeastOnce)
        .await
        .unwrap();
    let publisher = mqtt_tokio::connect(
        options(&broker, ProtocolVersion::V311, "restart-pub")
            .clean_start(false)
            .reconnect(fast_retry),
    )
    .await
    .unwrap();
    let mut deliveries = Vec::new();
    for i in 0..200u16 {
        deliveries.push(
            publisher
                .publish(
                    "interop/restart",
                    i.to_be_bytes().to_vec(),
                    QoS::AtLeastOnce,
                    false,
                )
                .await
                .unwrap(),
        );
        if i == 100 {
            broker.kill();
            broker.restart().unwrap();
        }
    }
    for delivery in deliveries {
        within("acknowledgement after restart", delivery.wait())
            .await
            .unwrap();
    }
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 200 {
        let message = within("message after restart", received.recv())
            .await
            .unwrap();
        seen.insert(u16::from_be_bytes([message.payload[0], message.payload[1]]));
    }
    assert!(subscriber.stats().disconnections >= 1);
}
