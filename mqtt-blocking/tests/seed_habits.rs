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

/// A port on 127.0.0.1 where nothing listens (bound, then let go).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port()
}

/// Runs `options` (brokers where nothing listens; a 200 ms first delay, no jitter) for 2 s with a state callback
/// that reconnects on every `Unreachable` and `Lost`, as paho's `on_connection_lost: reconnect()` does, and returns
/// the number of failed attempts.
fn failures_with_a_reconnecting_callback(options: Options) -> usize {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use mqtt_blocking::{ConnectionState, ReconnectPolicy};

    let policy = ReconnectPolicy {
        initial_delay: Duration::from_millis(200),
        jitter_permille: 0,
        ..ReconnectPolicy::default()
    };
    let (client, event_loop) = mqtt_blocking::new(&options.reconnect(policy)).unwrap();
    let failures = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&failures);
    client.on_state(move |client, state| {
        if matches!(
            state,
            ConnectionState::Unreachable(_) | ConnectionState::Lost(_)
        ) {
            counted.fetch_add(1, Ordering::Relaxed);
            client.reconnect().unwrap();
        }
    });
    let _loop = event_loop.start().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    client.disconnect(WAIT).unwrap();
    failures.load(Ordering::Relaxed)
}

/// paho's habit: `reconnect()` from the state callback on every failure. Nothing listens on the port, so each
/// attempt fails at once: after the callback's first retry, at once, the attempts follow the schedule (200, 400,
/// 800 ms here), not the refusals (thousands a second before).
#[test]
fn a_state_callback_that_reconnects_whenever_the_broker_is_unreachable_is_paced() {
    let options = Options::new(&format!("mqtt://127.0.0.1:{}", free_port()))
        .unwrap()
        .client_id("unreachable");
    let failures = failures_with_a_reconnecting_callback(options);
    assert!(
        (3..=8).contains(&failures),
        "{failures} failed attempts in 2 s, about 5 expected"
    );
}

/// paho's `on_connection_lost: reconnect()` with two broker addresses (a failover list), both down: the list's
/// next broker is tried at once, and the callback's reconnect must not turn that into a spin (it did: the
/// reconnect started the schedule over, so the round over the list never ended and no delay ever came).
#[test]
fn a_state_callback_that_reconnects_whenever_a_failover_list_is_unreachable_is_paced() {
    let options = Options::new(&format!("mqtt://127.0.0.1:{}", free_port()))
        .unwrap()
        .failover(&format!("mqtt://127.0.0.1:{}", free_port()))
        .unwrap()
        .client_id("unreachable-list");
    let failures = failures_with_a_reconnecting_callback(options);
    // Rounds over the two brokers at 0, 0.2, 0.6 and 1.4 s, a few attempts each.
    assert!(
        (3..=30).contains(&failures),
        "{failures} failed attempts in 2 s, about 12 expected"
    );
}
