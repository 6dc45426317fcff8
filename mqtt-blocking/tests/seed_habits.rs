//! Calls users bring from other MQTT client APIs, on the blocking client against a real mosquitto: the count of
//! subscriptions still waiting for their SUBACK ("pending subscriptions"), filters given as string literals,
//! "receive a message, if any".

use std::time::{Duration, Instant};

use mqtt_blocking::{Options, QoS};
use mqtt_test::{Listener, Mosquitto, MosquittoConfig};

const WAIT: Duration = Duration::from_secs(20);

/// `pending_subscriptions` counts the subscribe requests the broker has not answered: one made before the event
/// loop runs is pending until its SUBACK.
#[test]
fn pending_subscriptions_counts_requests_until_their_suback() {
    let broker = Mosquitto::start(MosquittoConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let options = Options::new(&broker.url(Listener::Plain))
        .unwrap()
        .client_id("pending");
    let (client, event_loop) = mqtt_blocking::new(&options).unwrap();
    assert_eq!(client.pending_subscriptions(), 0);
    let granted = client
        .subscribe("habits/pending", QoS::AtLeastOnce, |_, _| {})
        .unwrap();
    let both = client
        .subscribe_many(
            [
                ("habits/a", QoS::AtMostOnce),
                ("habits/b", QoS::ExactlyOnce),
            ],
            |_, _| {},
        )
        .unwrap();
    assert_eq!(
        client.pending_subscriptions(),
        2,
        "two requests, queued while disconnected"
    );
    let _loop = event_loop.start().unwrap();
    assert_eq!(granted.wait_timeout(WAIT).unwrap(), QoS::AtLeastOnce);
    let granted: Vec<_> = both.wait_timeout(WAIT).unwrap();
    assert_eq!(granted, [Ok(QoS::AtMostOnce), Ok(QoS::ExactlyOnce)]);
    assert_eq!(client.pending_subscriptions(), 0);
    client
        .unsubscribe(["habits/a", "habits/b"])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    client.disconnect(WAIT).unwrap();
}

/// "Receive a message, if any": `messages().try_recv()` takes a waiting message without blocking.
#[test]
fn try_recv_takes_a_waiting_message_without_blocking() {
    let broker = Mosquitto::start(MosquittoConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let options = Options::new(&broker.url(Listener::Plain))
        .unwrap()
        .client_id("poller");
    let client = mqtt_blocking::connect(&options).unwrap();
    let messages = client.messages();
    client
        .subscribe("habits/poll", QoS::AtLeastOnce, |_, _| {})
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    assert!(messages.try_recv().is_none());
    client
        .publish("habits/poll", "one", QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let message = loop {
        if let Some(message) = messages.try_recv() {
            break message;
        }
        assert!(Instant::now() < deadline, "no message");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(message.payload.as_ref(), b"one");
    assert!(messages.try_recv().is_none(), "taken once");
    client.disconnect(WAIT).unwrap();
}
