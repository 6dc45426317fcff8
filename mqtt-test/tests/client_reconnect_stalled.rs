//! `reconnect()` against a broker that stopped reading (a hung broker process), on tokio's paused clock: the
//! acknowledgements the application released cannot go out, and the reconnect must not wait for them for ever.
//! How long it takes is measured on the virtual clock and bounded by the ping timeout.

use core::time::Duration;

use futures_util::StreamExt;
use mqtt_core::client::{ConnectionState, Error};
use mqtt_core::codec::{PacketType, QoS};
use mqtt_test::Direction;
use mqtt_test::tokio_link::{Link, within};

const WAIT: Duration = Duration::from_secs(60);
const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// A reconnect while the broker reads nothing, with `messages` QoS 0 messages of 8 KiB queued first. Measured on
/// tokio's paused clock: 40 (a message is half written when the reconnect comes: the connection ends at once, its
/// PUBACK with it), 9 (the pipe is full, the PUBACK is staged behind it: the closing write gives up after the ping
/// timeout, 3 s), 0 (the PUBACK fits in the pipe: at once). At most the ping timeout for the PUBACK to be staged
/// plus the ping timeout of the closing write. The states say Reconnecting (attempt 0: asked for, not a loss), then
/// Connected.
async fn reconnect_from_a_stalled_broker(messages: usize) -> Duration {
    let link = Link::default();
    let options = link
        .options("stalled-reconnect")
        .ping_timeout(PING_TIMEOUT)
        .keep_alive(Duration::from_secs(600))
        .clean_start(false)
        .session_expiry(300);
    let (client, runner) = link.spawn(&options);
    client.wait_connected(WAIT).await.unwrap();
    let mut subscription = client.subscribe("cmd/#", QoS::AtLeastOnce).await.unwrap();
    let mut states = client.states();
    link.settings(|s| s.stop_reading = true);
    for _ in 0..messages {
        let _ = client
            .publish("big", vec![0xa5; 8 * 1024], QoS::AtMostOnce, false)
            .await
            .unwrap();
    }
    link.broker(|b| b.inject("cmd/x", b"reconnect", QoS::AtLeastOnce, false));
    let message = within("the command", subscription.recv()).await.unwrap();
    assert_eq!(&message.payload[..], b"reconnect");
    let started = link.elapsed();
    client.reconnect().unwrap();
    // The broker reads again once the next connection is being opened: only the old connection was hung.
    let mut asked = false;
    let opened = loop {
        if let Some(second) = link.opens().get(1) {
            break second.started;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(
            link.elapsed() < started + WAIT,
            "{messages} messages: no new connection"
        );
    };
    link.settings(|s| s.stop_reading = false);
    loop {
        match within("the states", states.next()).await {
            Some(ConnectionState::Reconnecting { attempt: 0, .. }) => asked = true,
            Some(ConnectionState::Connected { .. }) if asked => break,
            Some(ConnectionState::Connected { .. } | ConnectionState::Reconnecting { .. }) => {}
            Some(other) => panic!("{messages} messages: unexpected state {other:?}"),
            None => panic!("{messages} messages: the states ended"),
        }
    }
    client.wait_connected(WAIT).await.unwrap();
    let took = opened - started;
    client.disconnect(WAIT).await.unwrap();
    within("the event loop's end", runner).await.unwrap();
    took
}

#[tokio::test(start_paused = true)]
async fn a_reconnect_from_a_broker_that_stopped_reading_opens_the_next_connection_within_twice_the_ping_timeout()
 {
    for messages in [40, 9, 0] {
        let took = reconnect_from_a_stalled_broker(messages).await;
        eprintln!(
            "{messages} messages queued: the next connection opened {took:?} after reconnect()"
        );
        assert!(
            took <= PING_TIMEOUT * 2,
            "{messages} messages: the next connection opened {took:?} after reconnect()"
        );
    }
}

/// `reconnect()` then `publish()` at once: the message waits for the next connection (the one that ends only
/// writes acknowledgements), and goes out there exactly once.
#[tokio::test(start_paused = true)]
async fn a_publish_right_after_a_reconnect_goes_out_once_on_the_next_connection() {
    let link = Link::default();
    let options = link.options("publish-after-reconnect");
    let (client, runner) = link.spawn(&options);
    client.wait_connected(WAIT).await.unwrap();
    let mut subscription = client.subscribe("cmd/#", QoS::AtLeastOnce).await.unwrap();
    link.broker(|b| b.inject("cmd/x", b"reconnect", QoS::AtLeastOnce, false));
    within("the command", subscription.recv()).await.unwrap();
    client.reconnect().unwrap();
    let delivery = client
        .publish("out", "after", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    within("the PUBACK", delivery.wait()).await.unwrap();
    assert_eq!(link.broker(|b| b.connections().len()), 2);
    assert_eq!(
        link.broker(|b| b.count(Direction::ClientToBroker, PacketType::Publish)),
        1
    );
    assert_eq!(
        link.broker(|b| b.count(Direction::ClientToBroker, PacketType::PubAck)),
        1,
        "the command's PUBACK went out before the reconnect"
    );
    client.disconnect(WAIT).await.unwrap();
    assert_eq!(client.reconnect(), Err(Error::Closed));
    within("the event loop's end", runner).await.unwrap();
}
