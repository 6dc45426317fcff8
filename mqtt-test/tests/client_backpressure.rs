//! Bounded delivery with backpressure in the async std client, over the in-memory [`Link`] in tokio's virtual
//! time: a consumer that does not read holds the client at its queue capacity, the broker's window (the client's
//! Receive Maximum) stops the broker, nothing is lost, and reading again brings every message once, in order; a
//! full subscription can still be unsubscribed.
//! (Issue "The std clients' hot path": bounded delivery; manual acknowledgement.)

use core::time::Duration;

use futures_util::StreamExt;
use mqtt_core::codec::{PacketType, QoS};
use mqtt_test::Direction;
use mqtt_test::tokio_link::{Link, OpenOutcome, within};

const WAIT: Duration = Duration::from_secs(60);

fn pubacks(link: &Link) -> usize {
    link.broker(|b| b.count(Direction::ClientToBroker, PacketType::PubAck))
}

#[tokio::test(start_paused = true)]
async fn a_subscriber_that_never_reads_holds_its_capacity_and_the_window_stops_the_broker_then_gets_everything_once()
 {
    const TOTAL: usize = 100_000;
    const CAPACITY: usize = 100;
    const WINDOW: u16 = 200;
    let link = Link::default();
    let options = link
        .options("slow-reader")
        .message_capacity(CAPACITY)
        .receive_maximum(WINDOW)
        .keep_alive(Duration::from_secs(10));
    let (client, runner) = link.spawn(&options);
    client.wait_connected(WAIT).await.unwrap();
    let mut flood = client.subscribe("flood/#", QoS::AtLeastOnce).await.unwrap();
    let producer = link.offer(TOTAL, 2 * usize::from(WINDOW), QoS::AtLeastOnce, |n| {
        n.to_string().into_bytes()
    });

    // Ten minutes of virtual time without reading: sixty keep-alive periods.
    tokio::time::sleep(Duration::from_secs(600)).await;
    let received = client.stats().messages_received;
    assert!(
        received <= CAPACITY as u64 + 1,
        "the client read {received} messages for a queue of {CAPACITY}: reading did not stop"
    );
    link.broker(|broker| {
        assert_eq!(
            broker.delivered().len(),
            usize::from(WINDOW),
            "the broker sends up to the window [MQTT-3.3.4-9] and then waits"
        );
        assert_eq!(
            broker.count(Direction::ClientToBroker, PacketType::PubAck),
            0,
            "nothing taken, nothing acknowledged"
        );
        assert_eq!(
            broker.connections().len(),
            1,
            "the keep alive did not give up on the broker"
        );
        assert!(broker.is_connected());
    });
    assert!(client.is_connected());

    // Reading again: every message once, in order.
    for expected in 0..TOTAL {
        let message = tokio::time::timeout(WAIT, flood.next())
            .await
            .unwrap_or_else(|_| panic!("message {expected} never came"))
            .unwrap();
        assert_eq!(message.topic, format!("flood/{expected}"));
    }
    producer.await.unwrap();
    assert!(link.wait_for(|b| b.pending_to_client() == 0, WAIT).await);
    assert_eq!(
        pubacks(&link),
        TOTAL,
        "each taken message acknowledged once"
    );
    link.broker(|broker| {
        assert!(broker.violations().is_empty(), "{:?}", broker.violations());
        assert_eq!(broker.delivered().len(), TOTAL, "no resend was needed");
    });
    assert_eq!(link.opens().len(), 1);
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_qos0_flood_to_a_subscriber_that_never_reads_stops_the_reads_without_losing_the_broker() {
    const TOTAL: usize = 20_000;
    const CAPACITY: usize = 64;
    let link = Link::default();
    let options = link
        .options("qos0-reader")
        .message_capacity(CAPACITY)
        .keep_alive(Duration::from_secs(10));
    let (client, runner) = link.spawn(&options);
    client.wait_connected(WAIT).await.unwrap();
    let mut flood = client.subscribe("flood/#", QoS::AtMostOnce).await.unwrap();
    // Everything is offered at once: QoS 0 has no window, only TCP pushes back.
    link.broker(|broker| {
        for i in 0..TOTAL {
            broker.inject(&format!("flood/{i}"), &[b'x'; 100], QoS::AtMostOnce, false);
        }
    });
    tokio::time::sleep(Duration::from_secs(300)).await;
    let received = client.stats().messages_received;
    assert!(
        received <= CAPACITY as u64 + 1,
        "read {received} for a queue of {CAPACITY}"
    );
    let opens = link.opens();
    let OpenOutcome::Opened {
        bytes_to_client,
        closed_by_client,
        ..
    } = opens[0].outcome
    else {
        panic!("{opens:?}");
    };
    // What the client has not read stays in the network (the pipe holds 64 KiB), not in the client.
    assert!(
        bytes_to_client < 200 * 1024,
        "{bytes_to_client} bytes left the broker"
    );
    assert_eq!(
        closed_by_client, None,
        "the client kept the connection through its pause"
    );
    assert_eq!(opens.len(), 1);
    assert!(client.is_connected());

    for expected in 0..TOTAL {
        let message = tokio::time::timeout(WAIT, flood.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            message.topic,
            format!("flood/{expected}"),
            "QoS 0 over one connection: all, in order"
        );
    }
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn large_messages_fill_a_queue_by_its_bytes_before_its_count_and_all_arrive_once_read() {
    const TOTAL: usize = 300;
    const PAYLOAD: usize = 16 * 1024;
    const BYTES: usize = 64 * 1024;
    let link = Link::default();
    let options = link
        .options("large-reader")
        .message_capacity(1024)
        .message_capacity_bytes(BYTES)
        .keep_alive(Duration::from_secs(10));
    let (client, runner) = link.spawn(&options);
    client.wait_connected(WAIT).await.unwrap();
    let mut flood = client.subscribe("big/#", QoS::AtMostOnce).await.unwrap();
    link.broker(|broker| {
        for i in 0..TOTAL {
            let payload = vec![(i % 251) as u8; PAYLOAD];
            broker.inject(&format!("big/{i}"), &payload, QoS::AtMostOnce, false);
        }
    });
    tokio::time::sleep(Duration::from_secs(300)).await;
    // Four messages of 16 KiB reach 64 KiB with their topics and fields; the fifth is held by the runner.
    let received = client.stats().messages_received;
    assert!(
        received <= (BYTES / PAYLOAD + 1) as u64,
        "read {received} messages of {PAYLOAD} B for a queue of {BYTES} B: the byte bound did not stop the reads"
    );
    assert!(client.is_connected(), "the pause kept the connection");

    for expected in 0..TOTAL {
        let message = tokio::time::timeout(WAIT, flood.next())
            .await
            .unwrap_or_else(|_| panic!("message {expected} never came"))
            .unwrap();
        assert_eq!(message.topic, format!("big/{expected}"), "all, in order");
        assert_eq!(message.payload.len(), PAYLOAD);
        assert!(message.payload.iter().all(|&b| b == (expected % 251) as u8));
    }
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_message_larger_than_the_byte_bound_still_arrives() {
    let link = Link::default();
    let options = link.options("one-large").message_capacity_bytes(1024);
    let (client, runner) = link.spawn(&options);
    client.wait_connected(WAIT).await.unwrap();
    let mut inbox = client.subscribe("big", QoS::AtLeastOnce).await.unwrap();
    link.broker(|broker| {
        for _ in 0..3 {
            broker.inject("big", &[7; 10_000], QoS::AtLeastOnce, false);
        }
    });
    for _ in 0..3 {
        let message = within("inbox", inbox.next()).await.unwrap();
        assert_eq!(message.payload.len(), 10_000);
    }
    assert!(link.wait_for(|b| b.pending_to_client() == 0, WAIT).await);
    assert_eq!(pubacks(&link), 3);
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn manual_acknowledgements_go_out_in_arrival_order_whatever_order_the_application_acks_in() {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("manual").manual_ack(true));
    client.wait_connected(WAIT).await.unwrap();
    let mut inbox = client.subscribe("m/#", QoS::AtLeastOnce).await.unwrap();
    link.broker(|broker| {
        for i in 0..5 {
            broker.inject(&format!("m/{i}"), b"", QoS::AtLeastOnce, false);
        }
    });
    let mut messages = Vec::new();
    for _ in 0..5 {
        messages.push(within("inbox", inbox.next()).await.unwrap());
    }
    let acked_ids = |link: &Link| -> Vec<u16> {
        link.broker(|b| {
            b.packets(Direction::ClientToBroker, PacketType::PubAck)
                .iter()
                .filter_map(|p| p.packet_id)
                .collect()
        })
    };
    let sent_ids: Vec<u16> =
        link.broker(|b| b.delivered().iter().filter_map(|m| m.packet_id).collect());
    // Taking a message does not acknowledge it in manual mode.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(acked_ids(&link).is_empty());
    let mut expected = 0;
    for (index, released) in [(3, 0), (1, 0), (0, 2), (4, 2), (2, 5)] {
        client.ack(&messages[index]);
        expected = released.max(expected);
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(
            acked_ids(&link),
            sent_ids[..expected],
            "after acking message {index}"
        );
    }
    link.broker(|b| {
        assert!(
            b.violations().is_empty(),
            "[MQTT-4.6.0-2] {:?}",
            b.violations()
        );
    });
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn one_full_subscription_pauses_the_others_until_it_is_read() {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("pause").message_capacity(4));
    client.wait_connected(WAIT).await.unwrap();
    let mut slow = client.subscribe("slow/#", QoS::AtLeastOnce).await.unwrap();
    let mut fast = client.subscribe("fast/#", QoS::AtLeastOnce).await.unwrap();
    link.broker(|broker| {
        for i in 0..10 {
            broker.inject(&format!("slow/{i}"), b"", QoS::AtLeastOnce, false);
        }
        broker.inject("fast/0", b"", QoS::AtLeastOnce, false);
    });
    tokio::time::sleep(Duration::from_secs(30)).await;
    let fast_now = tokio::time::timeout(Duration::from_secs(1), fast.next()).await;
    assert!(
        fast_now.is_err(),
        "behind a held message nothing is processed (in order, bounded)"
    );
    for i in 0..10 {
        assert_eq!(
            within("slow", slow.next()).await.unwrap().topic,
            format!("slow/{i}")
        );
    }
    assert_eq!(within("fast", fast.next()).await.unwrap().topic, "fast/0");
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn dropping_a_full_subscription_acknowledges_what_it_held_and_lets_the_client_go_on() {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("drop-full").message_capacity(4));
    client.wait_connected(WAIT).await.unwrap();
    let full = client.subscribe("a/#", QoS::AtLeastOnce).await.unwrap();
    let mut everything = client.subscribe("#", QoS::AtLeastOnce).await.unwrap();
    link.broker(|broker| {
        for i in 0..10 {
            broker.inject(&format!("a/{i}"), b"", QoS::AtLeastOnce, false);
        }
    });
    // `everything` is read; `full` is not and fills: the client pauses.
    for i in 0..4 {
        assert_eq!(
            within("everything", everything.next()).await.unwrap().topic,
            format!("a/{i}")
        );
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        tokio::time::timeout(Duration::from_secs(1), everything.next())
            .await
            .is_err()
    );
    assert_eq!(
        pubacks(&link),
        0,
        "copies still in the full queue are not taken"
    );
    drop(full);
    for i in 4..10 {
        assert_eq!(
            within("everything", everything.next()).await.unwrap().topic,
            format!("a/{i}")
        );
    }
    assert!(link.wait_for(|b| b.pending_to_client() == 0, WAIT).await);
    assert_eq!(pubacks(&link), 10);
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn unsubscribing_a_full_subscription_completes_while_the_broker_still_sends_to_it() {
    // A consumer that stops with `unsubscribe(...).await` while its queue is full: the client held the next
    // message and stopped reading, so the UNSUBACK behind the messages still coming never arrived. Messages for
    // filters being unsubscribed are now let go as those of a dropped subscription are (acknowledged, kept while
    // there is room for a `messages()` stream still to come).
    const CAPACITY: usize = 2;
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("leaving").message_capacity(CAPACITY));
    client.wait_connected(WAIT).await.unwrap();
    let mut flood = client.subscribe("flood/#", QoS::AtLeastOnce).await.unwrap();
    link.broker(|broker| {
        for n in 0..20 {
            broker.inject(&format!("flood/{n}"), b"x", QoS::AtLeastOnce, false);
        }
    });
    let first = within("the first message", flood.next()).await.unwrap();
    assert_eq!(first.topic, "flood/0");
    // The client holds a message for the full queue: it reads no more.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(client.stats().messages_received < 20);

    within("the UNSUBACK", client.unsubscribe(["flood/#".to_owned()]))
        .await
        .unwrap();
    // What the queue held before the unsubscribe is still there; then the subscription ends.
    let mut rest = Vec::new();
    while let Some(message) = within("the end of the subscription", flood.next()).await {
        rest.push(message.topic);
    }
    assert_eq!(rest, ["flood/1", "flood/2"]);
    link.wait_for(|broker| broker.pending_to_client() == 0, WAIT)
        .await;
    assert_eq!(pubacks(&link), 20, "every message acknowledged");
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}
