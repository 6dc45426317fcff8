//! Limits a 5.0 broker announces in CONNACK, as users hit them against a real mosquitto (and, on 3.1.1, the client's
//! own limit, which it cannot announce): its Maximum Packet Size
//! (a publish too large is a typed error at once and the connection goes on), a Receive Maximum of 1 with a
//! thousand QoS 1 messages queued, and its Topic Alias Maximum. (mosquitto's `max_qos` and `max_topic_alias` are
//! listener settings, which the harness's global lines do not reach: a lowered Maximum QoS is tested against the
//! fake broker, in `mqtt_test::interop_v5_tests!`.)

use std::time::Duration;

use futures::StreamExt as _;
use mqtt_test::{Listener, Mosquitto, MosquittoConfig};
use mqtt_tokio::{Error, Options, ProtocolVersion, PublishError, QoS};

const WAIT: Duration = Duration::from_secs(20);

fn broker(lines: &[&str]) -> Mosquitto {
    let mut config = MosquittoConfig::default();
    for line in lines {
        config = config.with_line(*line);
    }
    Mosquitto::start(config).unwrap_or_else(|e| panic!("{e}"))
}

fn v5(url: &str, id: &str) -> Options {
    Options::new(url)
        .unwrap()
        .client_id(id)
        .version(ProtocolVersion::V5)
        .connect_timeout(WAIT)
}

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// `[MQTT-3.1.2-24]`: the client does not send a packet larger than the broker's Maximum Packet Size.
#[tokio::test]
async fn a_publish_above_the_brokers_maximum_packet_size_is_a_typed_error_and_the_connection_goes_on()
 {
    let broker = broker(&["max_packet_size 1000"]);
    let url = broker.url(Listener::Plain);
    let client = within("connect", mqtt_tokio::connect(v5(&url, "big-pub")))
        .await
        .unwrap();
    assert_eq!(
        client.server_info().unwrap().maximum_packet_size,
        Some(1000)
    );
    let mut small = within(
        "subscribe",
        client.subscribe("limits/big", QoS::AtLeastOnce),
    )
    .await
    .unwrap();
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let refused = client
            .publish("limits/big", vec![b'x'; 2000], qos, false)
            .await;
        assert!(
            matches!(
                refused,
                Err(Error::Publish(PublishError::TooLarge { max: 1000, .. }))
            ),
            "{qos:?}: {refused:?}"
        );
    }
    let delivery = client
        .publish("limits/big", vec![b'y'; 500], QoS::AtLeastOnce, false)
        .await
        .unwrap();
    within("the small message's PUBACK", delivery.wait())
        .await
        .unwrap();
    let message = within("the small message", small.next()).await.unwrap();
    assert_eq!(message.payload.len(), 500);
    assert!(client.is_connected());
    assert_eq!(client.stats().disconnections, 0);
    client.disconnect(WAIT).await.unwrap();
}

/// `[MQTT-3.3.4-7]`: never more QoS 1 messages in flight than the broker's Receive Maximum; all of them arrive,
/// in order (`[MQTT-4.6.0-6]`).
#[tokio::test]
async fn a_thousand_qos1_messages_queued_through_a_receive_maximum_of_one_all_arrive_in_order() {
    let broker = broker(&["max_inflight_messages 1"]);
    let url = broker.url(Listener::Plain);
    let subscriber = within("connect", mqtt_tokio::connect(v5(&url, "rm-sub")))
        .await
        .unwrap();
    let mut messages = within(
        "subscribe",
        subscriber.subscribe("limits/rm", QoS::AtLeastOnce),
    )
    .await
    .unwrap();
    let publisher = within("connect", mqtt_tokio::connect(v5(&url, "rm-pub")))
        .await
        .unwrap();
    assert_eq!(publisher.server_info().unwrap().receive_maximum, 1);
    let mut deliveries = Vec::new();
    for i in 0..1000u32 {
        let delivery = publisher
            .publish_when_room("limits/rm", i.to_be_bytes(), QoS::AtLeastOnce, false)
            .await
            .unwrap();
        deliveries.push(delivery);
    }
    for delivery in deliveries {
        within("PUBACK", delivery.wait()).await.unwrap();
    }
    let mut next = 0u32;
    while next < 1000 {
        let message = within("a message", messages.next()).await.unwrap();
        let n = u32::from_be_bytes(message.payload[..4].try_into().unwrap());
        assert!(n <= next, "message {n} before {next}");
        if n == next {
            next += 1;
        }
    }
    assert_eq!(publisher.stats().disconnections, 0, "{}", broker.log());
}

/// `[MQTT-3.3.2-9]`: the client sends no Topic Alias above the broker's Topic Alias Maximum.
#[tokio::test]
async fn a_publisher_wanting_more_topic_aliases_than_the_broker_allows_stays_within_them() {
    // mosquitto's Topic Alias Maximum is a listener setting: its default, 10.
    let broker = broker(&[]);
    let url = broker.url(Listener::Plain);
    let subscriber = within("connect", mqtt_tokio::connect(v5(&url, "alias-sub")))
        .await
        .unwrap();
    let mut messages = within(
        "subscribe",
        subscriber.subscribe("limits/alias/#", QoS::AtLeastOnce),
    )
    .await
    .unwrap();
    let publisher = within(
        "connect",
        mqtt_tokio::connect(v5(&url, "alias-pub").topic_aliases(0, 50)),
    )
    .await
    .unwrap();
    assert_eq!(publisher.server_info().unwrap().topic_alias_maximum, 10);
    for round in 0..3 {
        for topic in 0..15 {
            let delivery = publisher
                .publish(
                    format!("limits/alias/{topic}"),
                    format!("{round}"),
                    QoS::AtLeastOnce,
                    false,
                )
                .await
                .unwrap();
            within("PUBACK", delivery.wait()).await.unwrap();
        }
    }
    for _ in 0..45 {
        within("a message", messages.next()).await.unwrap();
    }
    assert_eq!(publisher.stats().disconnections, 0, "{}", broker.log());
}

/// The other way, on 3.1.1 (where the client cannot announce its limit): a message above the client's
/// `max_packet_size` on a persistent session is acknowledged and read past, so mosquitto does not send it again
/// after every reconnect, and the message behind it arrives on the same connection.
#[tokio::test]
async fn a_message_above_the_clients_limit_on_a_persistent_311_session_does_not_block_the_ones_behind_it()
 {
    let broker = broker(&[]);
    let url = broker.url(Listener::Plain);
    let subscriber_options = Options::new(&url)
        .unwrap()
        .client_id("limits-small-311")
        .version(ProtocolVersion::V311)
        .clean_start(false)
        .max_packet_size(1024)
        .connect_timeout(WAIT);
    let subscriber = within("connect", mqtt_tokio::connect(subscriber_options))
        .await
        .unwrap();
    let mut messages = within(
        "subscribe",
        subscriber.subscribe("limits/big/#", QoS::AtLeastOnce),
    )
    .await
    .unwrap();
    let publisher = within("connect", mqtt_tokio::connect(v5(&url, "limits-big-pub")))
        .await
        .unwrap();
    for (topic, payload) in [
        ("limits/big/1", vec![b'x'; 4000]),
        ("limits/big/2", b"small".to_vec()),
    ] {
        let delivery = publisher
            .publish(topic, payload, QoS::AtLeastOnce, false)
            .await
            .unwrap();
        within("published", delivery.wait()).await.unwrap();
    }
    let next = within("the small message", messages.next()).await.unwrap();
    assert_eq!(next.topic, "limits/big/2");
    let stats = subscriber.stats();
    assert_eq!(stats.messages_too_large, 1);
    assert_eq!(stats.disconnections, 0, "the connection was dropped");
    within("disconnect", subscriber.disconnect(WAIT))
        .await
        .unwrap();
    within("disconnect", publisher.disconnect(WAIT))
        .await
        .unwrap();
}
