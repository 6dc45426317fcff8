//! The read low-water mark on a real socket: a publisher whose window is full asks the kernel to wake it only once
//! an eighth of the acknowledgements it is owed have come (`SO_RCVLOWAT`), yet an answer it waits for meanwhile (a SUBACK
//! of 5 bytes, a PINGRESP of 2) is read at once, and every message is delivered once the broker acknowledges again.

use std::time::{Duration, Instant};

use futures::StreamExt as _;
use mqtt_smol::{Options, QoS};
use mqtt_test::{BrokerConfig, FakeBrokerServer};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn a_full_window_still_reads_a_suback_and_the_keep_alive_answers_at_once() {
    smol::block_on(full_window());
}

async fn full_window() {
    let server = FakeBrokerServer::start(BrokerConfig::default()).unwrap();
    let options = Options::new(&server.url())
        .unwrap()
        .client_id("low-water-smol")
        .max_inflight(32)
        .keep_alive(Duration::from_secs(1));
    let client = mqtt_smol::connect(options).await.unwrap();
    server.broker().hold_acks();
    let mut deliveries = Vec::new();
    for i in 0..40u8 {
        deliveries.push(
            client
                .publish("w", [i], QoS::AtLeastOnce, false)
                .await
                .unwrap(),
        );
    }
    let start = Instant::now();
    while server.broker().received().len() < 32 {
        assert!(start.elapsed() < WAIT, "the window never filled");
        smol::Timer::after(Duration::from_millis(10)).await;
    }
    // 32 PUBACKs owed, 16 bytes asked for: the SUBACK (5 bytes) is read all the same.
    within(client.subscribe("answers/#", QoS::AtLeastOnce))
        .await
        .expect("the SUBACK was read while the window was full")
        .unwrap();
    // Three keep-alive periods: each PINGRESP (2 bytes) read in time, the connection kept.
    while server.broker().pings() < 3 {
        assert!(start.elapsed() < 2 * WAIT, "no keep alive");
        smol::Timer::after(Duration::from_millis(50)).await;
    }
    assert_eq!(server.broker().connections().len(), 1, "no ping timeout");
    assert!(client.is_connected());
    server.broker().release_acks();
    for delivery in deliveries {
        within(delivery.wait()).await.unwrap().unwrap();
    }
    assert_eq!(server.broker().received().len(), 40);
    client.disconnect(WAIT).await.unwrap();
}

/// `future`'s output, or `None` after [`WAIT`].
async fn within<T>(future: impl Future<Output = T>) -> Option<T> {
    smol::future::or(async { Some(future.await) }, async {
        smol::Timer::after(WAIT).await;
        None
    })
    .await
}

#[test]
fn a_qos0_flood_read_in_batches_delivers_its_last_messages_and_a_lone_one_after_it() {
    smol::block_on(flood_then_one());
}

async fn flood_then_one() {
    const FLOOD: usize = 5000;
    let server = FakeBrokerServer::start(BrokerConfig::default()).unwrap();
    let options = Options::new(&server.url())
        .unwrap()
        .client_id("batching-smol")
        .read_batching(1024, Duration::from_millis(50));
    let client = mqtt_smol::connect(options).await.unwrap();
    let mut flood = client.subscribe("flood/#", QoS::AtMostOnce).await.unwrap();
    {
        let mut broker = server.broker();
        for i in 0..FLOOD {
            broker.inject(&format!("flood/{i}"), &[b'x'; 100], QoS::AtMostOnce, false);
        }
    }
    for expected in 0..FLOOD {
        let message = within(flood.next())
            .await
            .unwrap_or_else(|| panic!("message {expected} of the flood is stuck"))
            .unwrap();
        assert_eq!(message.topic, format!("flood/{expected}"));
    }
    smol::Timer::after(Duration::from_millis(200)).await;
    server
        .broker()
        .inject("flood/alone", b"x", QoS::AtMostOnce, false);
    let alone = within(flood.next())
        .await
        .expect("a message after the flood is read")
        .unwrap();
    assert_eq!(alone.topic, "flood/alone");
    client.disconnect(WAIT).await.unwrap();
}
