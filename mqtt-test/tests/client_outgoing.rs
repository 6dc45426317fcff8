//! The outgoing side of the async std client, over the in-memory [`Link`] in tokio's virtual time: the window of
//! messages in flight on a 3.1.1 connection, and publishing with backpressure ([`Client::publish_when_room`]): a
//! publisher faster than its broker waits while the outgoing queue is full, goes on as acknowledgements make
//! room, and loses nothing; a wait given up publishes nothing; the end of the client ends every wait.
//!
//! [`Client::publish_when_room`]: mqtt_core::client::Client::publish_when_room

use core::time::Duration;

use mqtt_core::PublishError;
use mqtt_core::client::{Error, Options};
use mqtt_core::codec::{PacketType, ProtocolVersion, QoS};
use mqtt_test::Direction;
use mqtt_test::tokio_link::{Link, within};

const WAIT: Duration = Duration::from_secs(60);
/// A queue this small holds a few dozen 100-byte messages.
const QUEUE_BYTES: usize = 4096;

fn payload(i: usize) -> Vec<u8> {
    let mut payload = format!("{i:06}").into_bytes();
    payload.resize(100, b'.');
    payload
}

/// The payloads of the messages the broker received, in order.
fn received_payloads(link: &Link) -> Vec<Vec<u8>> {
    link.broker(|broker| {
        broker
            .received()
            .iter()
            .map(|message| message.payload.clone())
            .collect()
    })
}

#[tokio::test(start_paused = true)]
async fn a_publisher_faster_than_the_broker_waits_for_room_and_loses_nothing() {
    let link = Link::default();
    let options = link.options("room").queue_bytes(QUEUE_BYTES);
    let (client, runner) = link.spawn(&options);
    client.wait_connected(WAIT).await.unwrap();
    link.broker(|broker| broker.hold_acks());
    let total = 500;
    let publisher = {
        let client = client.clone();
        tokio::spawn(async move {
            let mut deliveries = Vec::new();
            for i in 0..total {
                let delivery = client
                    .publish_when_room("room/t", payload(i), QoS::AtLeastOnce, false)
                    .await
                    .unwrap();
                deliveries.push(delivery);
            }
            deliveries
        })
    };
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        !publisher.is_finished(),
        "the queue never filled: the test tests nothing"
    );
    assert!(
        client
            .try_publish("room/t", payload(0), QoS::AtLeastOnce, false)
            .is_err_and(|e| e == Error::Publish(PublishError::QueueFull)),
        "the queue is full while the publisher waits"
    );
    // The broker acknowledges again: every PUBACK makes room, and the publisher goes on to the end.
    link.broker(|broker| broker.release_acks());
    let deliveries = within("the publisher", publisher).await.unwrap();
    for delivery in deliveries {
        within("a delivery", delivery.wait()).await.unwrap();
    }
    let received = received_payloads(&link);
    let expected: Vec<Vec<u8>> = (0..total).map(payload).collect();
    assert_eq!(received, expected, "every message once, in order");
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_wait_for_room_given_up_publishes_nothing() {
    let link = Link::default();
    let options = link.options("room-given-up").queue_bytes(QUEUE_BYTES);
    let (client, runner) = link.spawn(&options);
    client.wait_connected(WAIT).await.unwrap();
    link.broker(|broker| broker.hold_acks());
    let mut queued = 0;
    while client
        .try_publish("room/t", payload(queued), QoS::AtLeastOnce, false)
        .is_ok()
    {
        queued += 1;
    }
    let given_up = tokio::time::timeout(
        Duration::from_secs(5),
        client.publish_when_room("room/t", payload(900_000), QoS::AtLeastOnce, false),
    )
    .await;
    assert!(
        given_up.is_err(),
        "the queue stayed full: the wait times out"
    );
    link.broker(|broker| broker.release_acks());
    // Room again: a new waiting publish goes through at once, and the one given up never went anywhere.
    let last = within(
        "a publish with room",
        client.publish_when_room("room/t", payload(900_001), QoS::AtLeastOnce, false),
    )
    .await
    .unwrap();
    within("its delivery", last.wait()).await.unwrap();
    let payloads = received_payloads(&link);
    assert_eq!(payloads.len(), queued + 1);
    assert!(!payloads.contains(&payload(900_000)));
    assert_eq!(payloads.last().unwrap(), &payload(900_001));
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_end_of_the_client_ends_every_wait_for_room() {
    let link = Link::default();
    let options = link.options("room-closed").queue_bytes(QUEUE_BYTES);
    let (client, runner) = link.spawn(&options);
    client.wait_connected(WAIT).await.unwrap();
    link.broker(|broker| broker.hold_acks());
    let mut i = 0;
    while client
        .try_publish("room/t", payload(i), QoS::AtLeastOnce, false)
        .is_ok()
    {
        i += 1;
    }
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .publish_when_room("room/t", payload(800_000), QoS::AtLeastOnce, false)
                    .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(waiters.iter().all(|waiter| !waiter.is_finished()));
    // A disconnect whose acknowledgements never come: the client ends after the caller's timeout.
    let _ = client.disconnect(Duration::from_secs(2)).await;
    for waiter in waiters {
        let outcome = within("a waiter", waiter).await.unwrap();
        assert!(
            matches!(outcome, Err(Error::Closed)),
            "a waiter sees the client closed, not a hang: {outcome:?}"
        );
    }
    runner.await.unwrap();
}

/// How many PUBLISH packets the broker has seen once the client (with the options `configure` makes) has sent
/// what its window allows of 100 messages published at once, while the broker holds its acknowledgements.
async fn in_flight_on_311(configure: impl FnOnce(Options) -> Options) -> usize {
    let link = Link::default();
    let options = configure(link.options("window")).version(ProtocolVersion::V311);
    let (client, runner) = link.spawn(&options);
    client.wait_connected(WAIT).await.unwrap();
    link.broker(|broker| broker.hold_acks());
    for i in 0..100 {
        let _delivery = client
            .try_publish("window/t", payload(i), QoS::AtLeastOnce, false)
            .unwrap();
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let sent = link.broker(|broker| broker.count(Direction::ClientToBroker, PacketType::Publish));
    link.broker(|broker| broker.release_acks());
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
    sent
}

#[tokio::test(start_paused = true)]
async fn a_311_connection_keeps_the_max_inflight_given_and_20_without_one() {
    assert_eq!(in_flight_on_311(|options| options).await, 20);
    assert_eq!(
        in_flight_on_311(|options| options.max_inflight(64)).await,
        64
    );
    assert_eq!(
        in_flight_on_311(|options| options.max_inflight(64).max_inflight_v311(30)).await,
        30
    );
}

#[tokio::test(start_paused = true)]
async fn publish_takes_borrowed_and_owned_topics_and_payloads() {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("borrowed"));
    client.wait_connected(WAIT).await.unwrap();
    // A buffer the application reuses, and a topic it formats: neither needs to live past the call.
    let buffer = [7u8; 64];
    let topic = format!("borrowed/{}", 1);
    let read = 3;
    let deliveries = vec![
        client
            .publish(&topic, &buffer[..read], QoS::AtLeastOnce, false)
            .await
            .unwrap(),
        client
            .publish(topic.as_str(), "text", QoS::AtLeastOnce, false)
            .await
            .unwrap(),
        client
            .publish(topic.clone(), vec![1u8, 2], QoS::AtLeastOnce, false)
            .await
            .unwrap(),
        client
            .publish(
                "borrowed/1",
                String::from("string"),
                QoS::AtLeastOnce,
                false,
            )
            .await
            .unwrap(),
        client
            .publish("borrowed/1", b"array", QoS::AtLeastOnce, false)
            .await
            .unwrap(),
    ];
    for delivery in deliveries {
        within("a delivery", delivery.wait()).await.unwrap();
    }
    let payloads = received_payloads(&link);
    let expected: Vec<Vec<u8>> = vec![
        vec![7, 7, 7],
        b"text".to_vec(),
        vec![1, 2],
        b"string".to_vec(),
        b"array".to_vec(),
    ];
    assert_eq!(payloads, expected);
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_disconnect_from_a_broker_that_stopped_reading_ends_the_connection_within_the_ping_timeout()
 {
    // A broker process that hangs: its socket takes nothing more. The messages queued, then the DISCONNECT,
    // cannot go out; the client must not wait for them for ever. 40 messages: the DISCONNECT cannot even be
    // staged (the session gives up writing it); 9: it is staged behind what the pipe cannot take (the driver
    // gives up writing it).
    for messages in [40, 9] {
        disconnect_from_a_stalled_broker(messages).await;
    }
}

async fn disconnect_from_a_stalled_broker(messages: usize) {
    const PING_TIMEOUT: Duration = Duration::from_secs(3);
    let link = Link::default();
    let options = link
        .options("stalled-broker")
        .ping_timeout(PING_TIMEOUT)
        .keep_alive(Duration::from_secs(600));
    let (client, runner) = link.spawn(&options);
    client.wait_connected(WAIT).await.unwrap();
    link.settings(|s| s.stop_reading = true);
    for _ in 0..messages {
        // QoS 0: the Delivery has nothing to wait for.
        let _ = client
            .publish("big", vec![0xa5; 8 * 1024], QoS::AtMostOnce, false)
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = tokio::time::Instant::now();
    let outcome = client.disconnect(Duration::from_secs(1)).await;
    within("the event loop's end", runner).await.unwrap();
    let took = started.elapsed();
    assert!(
        took <= Duration::from_secs(1) + PING_TIMEOUT + Duration::from_millis(100),
        "{messages} messages: the event loop ended {took:?} after disconnect: the caller's 1 s and the ping \
         timeout bound it"
    );
    assert!(!client.is_connected());
    assert_eq!(link.opens().len(), 1, "and it did not connect again");
    assert_eq!(
        outcome,
        Err(Error::Timeout),
        "the caller's timeout is honoured, and the DISCONNECT did not go out in it"
    );
}
