//! A consumer that awaits an answer from the broker between two messages (the acknowledgement of its own reply,
//! a SUBACK) while its queue is full, over the in-memory [`Link`] in tokio's virtual time: the answer comes behind
//! the messages the broker sent first, so the full queue makes room for them rather than pause the reads, within
//! a bound (the client's Receive Maximum, twice the queue's bytes). Past that bound, reading pauses as usual.
//! (Issue "The std clients' hot path": bounded delivery; the delivery rules.)

use core::time::Duration;

use futures_util::StreamExt;
use mqtt_core::codec::{PacketType, QoS};
use mqtt_test::Direction;
use mqtt_test::tokio_link::Link;

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(start_paused = true)]
async fn a_consumer_that_awaits_the_acknowledgement_of_each_reply_goes_on_while_its_queue_is_full()
{
    const TOTAL: usize = 2_000;
    const CAPACITY: usize = 4;
    const WINDOW: u16 = 20;
    let link = Link::default();
    let options = link
        .options("replier")
        .message_capacity(CAPACITY)
        .receive_maximum(WINDOW);
    let (client, runner) = link.spawn(&options);
    client.wait_connected(WAIT).await.unwrap();
    let mut flood = client.subscribe("flood/#", QoS::AtLeastOnce).await.unwrap();
    let producer = link.offer(TOTAL, 4 * usize::from(WINDOW), QoS::AtLeastOnce, |_| {
        vec![b'x'; 64]
    });

    for expected in 0..TOTAL {
        let message = tokio::time::timeout(WAIT, flood.next())
            .await
            .unwrap_or_else(|_| panic!("message {expected} never came"))
            .unwrap();
        assert_eq!(message.topic, format!("flood/{expected}"), "in order, once");
        // The application's habit: answer each message and make sure the answer was taken before the next.
        let delivery = client
            .publish(
                format!("replies/{expected}"),
                "done",
                QoS::AtLeastOnce,
                false,
            )
            .await
            .unwrap();
        tokio::time::timeout(WAIT, delivery.wait())
            .await
            .unwrap_or_else(|_| {
                panic!("the acknowledgement of reply {expected} stayed behind the full queue")
            })
            .unwrap();
        // What the client holds untaken stays within the queue and the broker's window.
        let held = client.stats().messages_received - (expected as u64 + 1);
        assert!(
            held <= (CAPACITY + usize::from(WINDOW)) as u64,
            "{held} messages held for a queue of {CAPACITY} and a window of {WINDOW}"
        );
    }
    producer.await.unwrap();
    link.broker(|broker| {
        assert!(broker.violations().is_empty(), "{:?}", broker.violations());
        assert_eq!(
            broker.count(Direction::ClientToBroker, PacketType::PubAck),
            TOTAL,
            "each message acknowledged once"
        );
        assert_eq!(
            broker.count(Direction::ClientToBroker, PacketType::Publish),
            TOTAL,
            "each reply sent once"
        );
    });
    assert_eq!(link.opens().len(), 1, "the connection went on throughout");
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_consumer_that_subscribes_between_two_messages_of_a_full_queue_gets_its_suback() {
    const TOTAL: usize = 200;
    let link = Link::default();
    let options = link
        .options("subscriber")
        .message_capacity(2)
        .receive_maximum(10);
    let (client, runner) = link.spawn(&options);
    client.wait_connected(WAIT).await.unwrap();
    let mut flood = client.subscribe("flood/#", QoS::AtLeastOnce).await.unwrap();
    let producer = link.offer(TOTAL, 40, QoS::AtLeastOnce, |_| vec![b'x'; 64]);
    let mut extra = Vec::new();
    for expected in 0..TOTAL {
        let message = tokio::time::timeout(WAIT, flood.next())
            .await
            .unwrap_or_else(|_| panic!("message {expected} never came"))
            .unwrap();
        assert_eq!(message.topic, format!("flood/{expected}"));
        if expected % 10 == 0 {
            let subscription = tokio::time::timeout(
                WAIT,
                client.subscribe(format!("extra/{expected}"), QoS::AtMostOnce),
            )
            .await
            .unwrap_or_else(|_| panic!("the SUBACK after message {expected} never came"))
            .unwrap();
            extra.push(subscription);
        }
    }
    producer.await.unwrap();
    assert_eq!(extra.len(), TOTAL / 10);
    assert_eq!(link.opens().len(), 1);
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_answer_behind_a_qos0_flood_larger_than_the_room_waits_and_the_reads_stay_bounded() {
    const TOTAL: usize = 20_000;
    const BYTES: usize = 16 * 1024;
    let link = Link::default();
    let options = link
        .options("bounded")
        .message_capacity(10_000)
        .message_capacity_bytes(BYTES);
    let (client, runner) = link.spawn(&options);
    client.wait_connected(WAIT).await.unwrap();
    let mut flood = client.subscribe("flood/#", QoS::AtMostOnce).await.unwrap();
    link.broker(|broker| {
        for i in 0..TOTAL {
            broker.inject(&format!("flood/{i}"), &[b'x'; 100], QoS::AtMostOnce, false);
        }
    });
    let delivery = client
        .publish("replies/late", "x", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    let early = tokio::time::timeout(Duration::from_secs(300), delivery.wait()).await;
    assert!(
        early.is_err(),
        "the answer is behind 2 MB of QoS 0 messages: it cannot arrive before they are read"
    );
    // Each message weighs its 100-byte payload and more: twice the queue's bytes hold fewer than 2 * BYTES / 100.
    let received = client.stats().messages_received;
    assert!(
        received <= (2 * BYTES / 100) as u64 + 1,
        "read {received} messages for a queue of {BYTES} bytes: the room for answers is not bounded"
    );
    assert!(client.is_connected(), "a pause, not a failure");
    for expected in 0..TOTAL {
        let message = tokio::time::timeout(WAIT, flood.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(message.topic, format!("flood/{expected}"));
    }
    let delivery = client
        .publish("replies/after", "x", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    tokio::time::timeout(WAIT, delivery.wait())
        .await
        .unwrap()
        .unwrap();
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}
