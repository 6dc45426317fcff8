//! mqtt-blocking as a new user drives it, in the paho and device-client style (callbacks on the loop's thread,
//! subscribing from the connection callback, reconnecting by hand, slow callbacks), against a real mosquitto
//! started by the harness. Every wait is bounded.

use std::collections::BTreeSet;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mqtt_blocking::{
    Client, ConnectRefusal, ConnectionState, Error, LastWill, Message, Options, ProtocolVersion,
    PublishError, QoS, SubscribeError,
};
use mqtt_test::MosquittoConfig;

mod habits;

use habits::{WAIT, broker_with as broker, connect, forward, next, options, publish_acked};

fn subscribed(client: &Client, filter: &str, qos: QoS) -> Receiver<Message> {
    let (to, messages) = mpsc::channel();
    client
        .subscribe(filter, qos, forward(&to))
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    messages
}

#[test]
fn subscribing_from_the_state_callback_receives_after_each_connection() {
    let broker = broker(MosquittoConfig::default());
    let publisher = connect(&options(&broker, "nub-handler-pub"));
    let (client, event_loop) = mqtt_blocking::new(&options(&broker, "nub-handler")).unwrap();
    let (to, messages) = mpsc::channel();
    let (granted_to, granted) = mpsc::channel();
    client.on_state(move |client, state| {
        if let ConnectionState::Connected { .. } = state {
            // Waiting here would block the loop (it fails with WaitInCallback): the answer goes elsewhere.
            let pending = client
                .subscribe("nub/handler", QoS::AtLeastOnce, forward(&to))
                .unwrap();
            assert_eq!(
                client.wait_connected(WAIT).unwrap_err(),
                Error::WaitInCallback
            );
            let _ = granted_to.send(pending);
        }
    });
    let _loop = event_loop.start().unwrap();
    let first: mqtt_blocking::Pending<QoS> = granted.recv_timeout(WAIT).unwrap();
    assert_eq!(first.wait_timeout(WAIT), Ok(QoS::AtLeastOnce));
    publish_acked(&publisher, "nub/handler", "one");
    assert_eq!(next(&messages).payload, "one");

    client.reconnect().unwrap();
    let second = granted.recv_timeout(WAIT).unwrap();
    assert_eq!(second.wait_timeout(WAIT), Ok(QoS::AtLeastOnce));
    publish_acked(&publisher, "nub/handler", "two");
    // Two callbacks are registered now (one per connection): each gets it once.
    assert_eq!(next(&messages).payload, "two");
    assert_eq!(next(&messages).payload, "two");
    client.disconnect(WAIT).unwrap();
}

#[test]
fn publishing_before_the_loop_starts_delivers_every_qos_after_connect() {
    let broker = broker(MosquittoConfig::default());
    let subscriber = connect(&options(&broker, "nub-early-sub"));
    let messages = subscribed(&subscriber, "nub/early", QoS::ExactlyOnce);
    let (client, event_loop) = mqtt_blocking::new(&options(&broker, "nub-early")).unwrap();
    let deliveries: Vec<_> = [
        ("q0", QoS::AtMostOnce),
        ("q1", QoS::AtLeastOnce),
        ("q2", QoS::ExactlyOnce),
    ]
    .into_iter()
    .map(|(payload, qos)| client.publish("nub/early", payload, qos, false).unwrap())
    .collect();
    assert!(!client.is_connected());
    let _loop = event_loop.start().unwrap();
    for delivery in deliveries {
        delivery.wait_timeout(WAIT).unwrap();
    }
    let received: BTreeSet<_> = (0..3).map(|_| next(&messages).payload).collect();
    assert_eq!(
        received,
        BTreeSet::from(["q0".into(), "q1".into(), "q2".into()])
    );
    client.disconnect(WAIT).unwrap();
}

#[test]
fn reconnect_twice_then_disconnect_then_reconnect_fails_with_closed() {
    let broker = broker(MosquittoConfig::default());
    let client = connect(&options(&broker, "nub-twice"));
    let messages = subscribed(&client, "nub/twice", QoS::AtLeastOnce);
    client.reconnect().unwrap();
    client.reconnect().unwrap();
    publish_acked(&client, "nub/twice", "after");
    assert_eq!(next(&messages).payload, "after");
    client.disconnect(WAIT).unwrap();
    assert_eq!(client.reconnect(), Err(Error::Closed));
    assert!(
        client
            .publish("nub/twice", "x", QoS::AtLeastOnce, false)
            .is_err()
    );
    assert!(
        client.disconnect(WAIT).is_ok(),
        "a second disconnect is harmless"
    );
}

#[test]
fn a_slow_callback_catches_up_without_loss_or_duplicates_at_qos1() {
    const COUNT: usize = 300;
    let broker = broker(MosquittoConfig::default());
    let subscriber = connect(&options(&broker, "nub-slow-sub").message_capacity(8));
    let gate = Arc::new(Mutex::new(()));
    let closed = gate.lock().unwrap();
    let (to, messages) = mpsc::channel();
    let callback_gate = gate.clone();
    subscriber
        .subscribe("nub/slow", QoS::AtLeastOnce, move |_, message| {
            // Blocks the loop's thread until the test opens the gate.
            drop(callback_gate.lock().unwrap());
            let _ = to.send(message.payload.clone());
        })
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let publisher = connect(&options(&broker, "nub-slow-pub"));
    let deliveries: Vec<_> = (0..COUNT)
        .map(|i| {
            publisher
                .publish("nub/slow", format!("{i}"), QoS::AtLeastOnce, false)
                .unwrap()
        })
        .collect();
    for delivery in deliveries {
        delivery.wait_timeout(WAIT).unwrap();
    }
    drop(closed);
    for i in 0..COUNT {
        assert_eq!(messages.recv_timeout(WAIT).unwrap(), format!("{i}"));
    }
    publish_acked(&publisher, "nub/slow", "end");
    assert_eq!(messages.recv_timeout(WAIT).unwrap(), "end");
}

#[test]
fn the_will_is_published_when_the_loop_is_aborted_and_not_after_disconnect() {
    let broker = broker(MosquittoConfig::default());
    let watcher = connect(&options(&broker, "nub-will-watch"));
    let wills = subscribed(&watcher, "nub/will/#", QoS::AtLeastOnce);
    let will = |topic: &str| LastWill::new(topic, "gone").qos(QoS::AtLeastOnce);

    let polite = connect(&options(&broker, "nub-will-polite").last_will(will("nub/will/polite")));
    polite.disconnect(WAIT).unwrap();
    publish_acked(&watcher, "nub/will/marker", "marker");
    assert_eq!(
        next(&wills).topic,
        "nub/will/marker",
        "no will after DISCONNECT [MQTT-3.1.2-10]"
    );

    let (client, event_loop) =
        mqtt_blocking::new(&options(&broker, "nub-will-dies").last_will(will("nub/will/dies")))
            .unwrap();
    let handle = event_loop.start().unwrap();
    client.wait_connected(WAIT).unwrap();
    handle.abort();
    let message = next(&wills);
    assert_eq!(
        (message.topic.as_str(), &message.payload[..]),
        ("nub/will/dies", &b"gone"[..])
    );
    assert!(handle.join().is_ok());
}

/// An application bug is a crash, not a goodbye: the last handle dropped by a panic ends the connection without
/// DISCONNECT and the broker publishes the will [MQTT-3.1.2-8]. A plain drop still says goodbye: no will
/// [MQTT-3.1.2-10].
#[test]
fn a_panic_that_drops_the_last_handle_lets_the_broker_publish_the_will() {
    let broker = broker(MosquittoConfig::default());
    let watcher = connect(&options(&broker, "nub-panic-watch"));
    let wills = subscribed(&watcher, "nub/panic/#", QoS::AtLeastOnce);
    for (id, panics) in [("dropped", false), ("panicked", true)] {
        let will = LastWill::new(format!("nub/panic/{id}"), "gone").qos(QoS::AtLeastOnce);
        let client = connect(&options(&broker, &format!("nub-panic-{id}")).last_will(will));
        let worker = std::thread::spawn(move || {
            let _client = client;
            if panics {
                panic!("an application bug (this panic is the test's)");
            }
        });
        assert_eq!(worker.join().is_err(), panics);
    }
    // The first client's will would have come first.
    assert_eq!(next(&wills).topic, "nub/panic/panicked");
    publish_acked(&watcher, "nub/panic/marker", "marker");
    assert_eq!(next(&wills).topic, "nub/panic/marker");
}

/// A panic in a thread that holds a clone while another clone lives elsewhere is no crash of the client: the
/// connection stays up (the other clone still publishes), and once that one is dropped normally the client says
/// goodbye, so no will [MQTT-3.1.2-10].
#[test]
fn a_panic_that_drops_a_clone_while_another_lives_keeps_the_connection_and_publishes_no_will() {
    let broker = broker(MosquittoConfig::default());
    let watcher = connect(&options(&broker, "nub-clone-watch"));
    let wills = subscribed(&watcher, "nub/clone/#", QoS::AtLeastOnce);
    let will = LastWill::new("nub/clone/will", "gone").qos(QoS::AtLeastOnce);
    let client = connect(&options(&broker, "nub-clone").last_will(will));
    let clone = client.clone();
    let worker = std::thread::spawn(move || {
        let _clone = clone;
        panic!("an application bug in one thread (this panic is the test's)");
    });
    assert!(worker.join().is_err());
    assert!(client.is_connected());
    publish_acked(&client, "nub/clone/alive", "still here");
    assert_eq!(next(&wills).topic, "nub/clone/alive");
    drop(client);
    publish_acked(&watcher, "nub/clone/marker", "marker");
    assert_eq!(
        next(&wills).topic,
        "nub/clone/marker",
        "the will came after a normal drop of the last clone"
    );
}

#[test]
fn unsubscribe_stops_the_callback() {
    let broker = broker(MosquittoConfig::default());
    let client = connect(&options(&broker, "nub-unsub"));
    let gone = subscribed(&client, "nub/unsub/a", QoS::AtLeastOnce);
    let kept = subscribed(&client, "nub/unsub/b", QoS::AtLeastOnce);
    let everything = client.messages();
    client
        .unsubscribe(["nub/unsub/a".to_owned()])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    publish_acked(&client, "nub/unsub/a", "late");
    publish_acked(&client, "nub/unsub/b", "marker");
    assert_eq!(next(&kept).payload, "marker");
    assert_eq!(everything.recv_timeout(WAIT).unwrap().topic, "nub/unsub/b");
    assert!(
        gone.try_recv().is_err(),
        "the unsubscribed callback got a message"
    );
    client.disconnect(WAIT).unwrap();
}

#[test]
fn invalid_topics_filters_and_qos_fail_at_once_with_typed_errors() {
    let (client, _event_loop) = mqtt_blocking::new(
        &Options::new("mqtt://127.0.0.1:9")
            .unwrap()
            .client_id("nub-bad"),
    )
    .unwrap();
    // A control character or Unicode non-character too: mosquitto closes the connection on one.
    for topic in [
        "a/+/b",
        "a/#",
        "",
        "nul\0in/topic",
        "line\nbreak",
        "\u{ffff}",
    ] {
        let result = client.publish(topic, "x", QoS::AtLeastOnce, false);
        assert!(
            matches!(result, Err(Error::Publish(PublishError::InvalidTopic(_)))),
            "publish to {topic:?}: {result:?}"
        );
    }
    for filter in ["a/#/b", "a/b#", "a+/b", "", "tab\there/#"] {
        let result = client.subscribe(filter, QoS::AtLeastOnce, |_, _| {});
        assert!(
            matches!(
                result,
                Err(Error::Subscribe(SubscribeError::InvalidFilter(_)))
            ),
            "subscribe to {filter:?}: {result:?}"
        );
    }
    assert!(QoS::try_from(3).is_err());
}

#[test]
fn a_persistent_session_gets_the_qos1_messages_published_while_it_was_offline() {
    let broker = broker(MosquittoConfig::default());
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let id = format!("nub-offline-{version:?}");
        let topic = format!("nub/offline/{version:?}");
        let persistent = options(&broker, &id)
            .version(version)
            .clean_start(false)
            .session_expiry(300);
        let first = connect(&persistent);
        drop(subscribed(&first, &topic, QoS::AtLeastOnce));
        first.disconnect(WAIT).unwrap();

        let publisher = connect(&options(&broker, &format!("{id}-pub")));
        for i in 0..5 {
            publish_acked(&publisher, &topic, &format!("{i}"));
        }
        let again = connect(&persistent);
        let messages = subscribed(&again, &topic, QoS::AtLeastOnce);
        for i in 0..5 {
            assert_eq!(next(&messages).payload, format!("{i}"), "{version:?}");
        }
        publish_acked(&publisher, &topic, "live");
        assert_eq!(next(&messages).payload, "live", "{version:?}: no duplicate");
        again.disconnect(WAIT).unwrap();
    }
}

#[test]
fn v5_user_properties_and_message_expiry_round_trip() {
    let broker = broker(MosquittoConfig::default());
    let client = connect(&options(&broker, "nub-props").version(ProtocolVersion::V5));
    let messages = subscribed(&client, "nub/props", QoS::AtLeastOnce);
    let message = Message::new("nub/props", "{}")
        .qos(QoS::AtLeastOnce)
        .user_property("unit", "celsius")
        .user_property("unit", "kelvin")
        .message_expiry_interval(3600);
    client
        .publish_message(message)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let received = next(&messages);
    assert_eq!(
        received.user_properties,
        [
            ("unit".to_owned(), "celsius".to_owned()),
            ("unit".to_owned(), "kelvin".to_owned()),
        ]
    );
    let expiry = received
        .message_expiry_interval
        .expect("the expiry comes along");
    assert!((1..=3600).contains(&expiry), "expiry {expiry}");
    client.disconnect(WAIT).unwrap();
}

#[test]
fn options_from_a_url_with_percent_encoded_credentials_connect() {
    let broker = broker(MosquittoConfig::default().with_users([("me@example.com", "p@ss:w/rd")]));
    let port = broker.password_port().unwrap();
    let url = format!("mqtt://me%40example.com:p%40ss%3Aw%2Frd@127.0.0.1:{port}");
    let client = connect(&Options::new(&url).unwrap().client_id("nub-url"));
    publish_acked(&client, "nub/url", "in");
    client.disconnect(WAIT).unwrap();
    let wrong = Options::new(&format!("mqtt://me%40example.com:wrong@127.0.0.1:{port}"))
        .unwrap()
        .client_id("nub-url-wrong");
    let result = mqtt_blocking::connect(&wrong);
    assert!(
        matches!(
            result,
            Err(Error::Refused(
                ConnectRefusal::BadUserNameOrPassword | ConnectRefusal::NotAuthorized
            ))
        ),
        "{result:?}"
    );
}

#[test]
fn with_the_broker_down_waits_time_out_and_disconnect_returns_in_time() {
    let mut broker = broker(MosquittoConfig::default());
    let client = connect(&options(&broker, "nub-down"));
    broker.kill();
    let queued = client
        .publish("nub/down", "queued", QoS::AtLeastOnce, false)
        .unwrap();
    let waited = client
        .publish("nub/down", "waited", QoS::AtLeastOnce, false)
        .unwrap();
    assert_eq!(
        waited.wait_timeout(Duration::from_millis(200)),
        Err(Error::Timeout)
    );
    broker.restart().unwrap();
    queued.wait_timeout(WAIT).unwrap();
    broker.kill();
    let stuck = client
        .publish("nub/down", "stuck", QoS::AtLeastOnce, false)
        .unwrap();
    let result = client.disconnect(Duration::from_millis(500));
    assert!(
        matches!(result, Err(Error::Unacknowledged(n)) if n >= 1),
        "{result:?}"
    );
    assert_eq!(stuck.wait_timeout(WAIT), Err(Error::Closed));
}

#[test]
fn two_hundred_subscriptions_in_one_call_each_deliver() {
    const COUNT: usize = 200;
    let broker = broker(MosquittoConfig::default());
    let client = connect(&options(&broker, "nub-many"));
    let (to, messages) = mpsc::channel();
    let filters = (0..COUNT).map(|i| (format!("nub/many/{i}"), QoS::AtLeastOnce));
    let granted = client
        .subscribe_many(filters, forward(&to))
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    assert!(granted.iter().all(|g| *g == Ok(QoS::AtLeastOnce)));
    for i in 0..COUNT {
        publish_acked(&client, &format!("nub/many/{i}"), &format!("{i}"));
    }
    let topics: BTreeSet<_> = (0..COUNT).map(|_| next(&messages).topic).collect();
    assert_eq!(topics.len(), COUNT);
    client.disconnect(WAIT).unwrap();
}

#[test]
fn ack_timeout_bounds_waits_while_the_broker_is_down_and_nothing_is_lost_after_its_restart() {
    // paho's command_timeout: waits end with a typed error while the broker is away, and what they waited for
    // still happens once it is back.
    let mut broker = broker(MosquittoConfig::default());
    let client =
        connect(&options(&broker, "nub-ack-timeout").ack_timeout(Some(Duration::from_millis(300))));
    assert!(client.ping(WAIT).unwrap() < WAIT);
    broker.kill();
    let delivery = client
        .publish("nub/late/queued", "queued", QoS::AtLeastOnce, false)
        .unwrap();
    let (to, messages) = mpsc::channel();
    let subscribe = client
        .subscribe("nub/late/#", QoS::AtLeastOnce, forward(&to))
        .unwrap();
    assert_eq!(delivery.wait(), Err(Error::Timeout));
    assert!(matches!(subscribe.wait(), Err(Error::Timeout)));
    broker.restart().unwrap();
    client.wait_connected(WAIT).unwrap();
    // The subscription was made all the same (SUBACKs come in order: once a later one is in, so is it), and its
    // callback gets what is published to it.
    let _later = subscribed(&client, "nub/other", QoS::AtMostOnce);
    publish_acked(&client, "nub/late/after", "after");
    while next(&messages).topic != "nub/late/after" {}
    assert!(client.ping(WAIT).is_ok());
    // The queued message was acknowledged too: nothing is left unacknowledged.
    client.disconnect(WAIT).unwrap();
}
