//! mqtt-tokio as a new user drives it, with the habits of paho-style and device-style MQTT clients, against a
//! real mosquitto started by the harness: subscribing from the connection-state handler, publishing before the
//! connection is up, reconnecting by hand, slow consumers, wills, retained messages, persistent sessions, MQTT 5.0
//! properties, invalid input. Every wait is bounded.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use mqtt_test::{Listener, Mosquitto, MosquittoConfig};
use mqtt_tokio::{
    ConnectRefusal, ConnectionState, Error, LastWill, Message, Options, ProtocolVersion,
    PublishError, QoS, SubscribeError, Subscription,
};

const WAIT: Duration = Duration::from_secs(10);

fn broker(config: MosquittoConfig) -> Mosquitto {
    Mosquitto::start(config).unwrap_or_else(|e| panic!("{e}"))
}

fn options(broker: &Mosquitto, id: &str) -> Options {
    Options::new(&broker.url(Listener::Plain))
        .unwrap()
        .client_id(id)
}

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

async fn connect(options: Options) -> mqtt_tokio::Client {
    within("connect", mqtt_tokio::connect(options))
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"))
}

async fn next(subscription: &mut Subscription) -> Message {
    within("the next message", subscription.recv())
        .await
        .expect("the subscription ended")
}

/// A QoS 1 publish, waited for until the broker acknowledged it.
async fn publish_acked(client: &mqtt_tokio::Client, topic: &str, payload: &str) {
    let delivery = client
        .publish(topic, payload.to_owned(), QoS::AtLeastOnce, false)
        .await
        .unwrap();
    within("PUBACK", delivery.wait()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribing_from_the_state_handler_receives_after_each_connection() {
    let broker = broker(MosquittoConfig::default());
    let publisher = connect(options(&broker, "nu-handler-pub")).await;
    let (client, event_loop) = mqtt_tokio::new(&options(&broker, "nu-handler")).unwrap();
    let mut states = client.states();
    let handler = client.clone();
    let (subscribed, mut subscriptions) = futures::channel::mpsc::unbounded();
    tokio::spawn(async move {
        while let Some(state) = states.next().await {
            if let ConnectionState::Connected { .. } = state {
                let subscription = handler.subscribe("nu/handler", QoS::AtLeastOnce).await;
                if subscribed.unbounded_send(subscription).is_err() {
                    return;
                }
            }
        }
    });
    tokio::spawn(event_loop.run());

    let mut first = within("the first subscription", subscriptions.next())
        .await
        .unwrap()
        .unwrap();
    publish_acked(&publisher, "nu/handler", "one").await;
    assert_eq!(next(&mut first).await.payload, "one");

    client.reconnect().unwrap();
    let mut second = within("the subscription after reconnect", subscriptions.next())
        .await
        .unwrap()
        .unwrap();
    publish_acked(&publisher, "nu/handler", "two").await;
    assert_eq!(next(&mut second).await.payload, "two");
    // The first subscription is still alive, and gets it once too.
    assert_eq!(next(&mut first).await.payload, "two");
    within("disconnect", client.disconnect(WAIT)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_before_the_event_loop_runs_delivers_every_qos_after_connect() {
    let broker = broker(MosquittoConfig::default());
    let subscriber = connect(options(&broker, "nu-early-sub")).await;
    let mut messages = within(
        "subscribe",
        subscriber.subscribe("nu/early", QoS::ExactlyOnce),
    )
    .await
    .unwrap();

    let (client, event_loop) = mqtt_tokio::new(&options(&broker, "nu-early")).unwrap();
    assert!(!client.is_connected());
    let mut deliveries = Vec::new();
    for (payload, qos) in [
        ("q0", QoS::AtMostOnce),
        ("q1", QoS::AtLeastOnce),
        ("q2", QoS::ExactlyOnce),
    ] {
        deliveries.push(
            client
                .publish("nu/early", payload, qos, false)
                .await
                .unwrap(),
        );
    }
    tokio::spawn(event_loop.run());
    for delivery in deliveries {
        within("the acknowledgement", delivery.wait())
            .await
            .unwrap();
    }
    let mut received = BTreeSet::new();
    for _ in 0..3 {
        received.insert(next(&mut messages).await.payload);
    }
    assert_eq!(
        received,
        BTreeSet::from(["q0".into(), "q1".into(), "q2".into()])
    );
    within("disconnect", client.disconnect(WAIT)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_twice_in_a_row_keeps_subscriptions_and_publishes() {
    let broker = broker(MosquittoConfig::default());
    let client = connect(options(&broker, "nu-twice")).await;
    let mut messages = within("subscribe", client.subscribe("nu/twice", QoS::AtLeastOnce))
        .await
        .unwrap();
    client.reconnect().unwrap();
    client.reconnect().unwrap();
    publish_acked(&client, "nu/twice", "after").await;
    assert_eq!(next(&mut messages).await.payload, "after");
    within("disconnect", client.disconnect(WAIT)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_disconnect_commands_fail_at_once_with_typed_errors() {
    let broker = broker(MosquittoConfig::default());
    let client = connect(options(&broker, "nu-after")).await;
    within("disconnect", client.disconnect(WAIT)).await.unwrap();
    assert!(!client.is_connected());
    assert_eq!(client.reconnect(), Err(Error::Closed));
    let publish = within(
        "publish after disconnect",
        client.publish("nu/after", "x", QoS::AtLeastOnce, false),
    )
    .await;
    assert!(publish.is_err(), "a publish after disconnect is refused");
    let subscribe = within(
        "subscribe after disconnect",
        client.subscribe("nu/after", QoS::AtLeastOnce),
    )
    .await;
    assert!(
        subscribe.is_err(),
        "a subscribe after disconnect is refused"
    );
    // A second disconnect is harmless.
    within("second disconnect", client.disconnect(WAIT))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_last_handle_sends_pending_publishes_then_ends_the_loop() {
    let broker = broker(MosquittoConfig::default());
    let subscriber = connect(options(&broker, "nu-drop-sub")).await;
    let mut messages = within(
        "subscribe",
        subscriber.subscribe("nu/drop", QoS::AtLeastOnce),
    )
    .await
    .unwrap();
    let (client, event_loop) = mqtt_tokio::new(&options(&broker, "nu-drop")).unwrap();
    let task = tokio::spawn(event_loop.run());
    within("connected", client.wait_connected(WAIT))
        .await
        .unwrap();
    for i in 0..20 {
        let _ = client
            .publish("nu/drop", format!("{i}"), QoS::AtLeastOnce, false)
            .await
            .unwrap();
    }
    drop(client);
    within("the event loop's end", task).await.unwrap();
    for i in 0..20 {
        assert_eq!(next(&mut messages).await.payload, format!("{i}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_catches_up_without_loss_or_duplicates_at_qos1() {
    const COUNT: usize = 300;
    let broker = broker(MosquittoConfig::default());
    let subscriber = connect(options(&broker, "nu-slow-sub").message_capacity(8)).await;
    let mut messages = within(
        "subscribe",
        subscriber.subscribe("nu/slow", QoS::AtLeastOnce),
    )
    .await
    .unwrap();
    let publisher = connect(options(&broker, "nu-slow-pub")).await;
    let mut deliveries = Vec::new();
    for i in 0..COUNT {
        deliveries.push(
            publisher
                .publish("nu/slow", format!("{i}"), QoS::AtLeastOnce, false)
                .await
                .unwrap(),
        );
    }
    // The subscriber reads nothing until the broker has taken every message.
    for delivery in deliveries {
        within("PUBACK", delivery.wait()).await.unwrap();
    }
    for i in 0..COUNT {
        assert_eq!(next(&mut messages).await.payload, format!("{i}"));
    }
    publish_acked(&publisher, "nu/slow", "end").await;
    assert_eq!(
        next(&mut messages).await.payload,
        "end",
        "no duplicate before the end"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_will_is_published_when_the_connection_dies_and_not_after_disconnect() {
    let broker = broker(MosquittoConfig::default());
    let watcher = connect(options(&broker, "nu-will-watch")).await;
    let mut wills = within(
        "subscribe",
        watcher.subscribe("nu/will/#", QoS::AtLeastOnce),
    )
    .await
    .unwrap();

    // Graceful: DISCONNECT, so no will [MQTT-3.1.2-10]. The marker published after it comes first.
    let polite = connect(
        options(&broker, "nu-will-polite")
            .last_will(LastWill::new("nu/will/polite", "gone").qos(QoS::AtLeastOnce)),
    )
    .await;
    within("disconnect", polite.disconnect(WAIT)).await.unwrap();
    publish_acked(&watcher, "nu/will/marker", "marker").await;
    assert_eq!(next(&mut wills).await.topic, "nu/will/marker");

    // Abrupt: the event loop's task dies with the connection.
    let (client, event_loop) = mqtt_tokio::new(
        &options(&broker, "nu-will-dies")
            .last_will(LastWill::new("nu/will/dies", "gone").qos(QoS::AtLeastOnce)),
    )
    .unwrap();
    let task = tokio::spawn(event_loop.run());
    within("connected", client.wait_connected(WAIT))
        .await
        .unwrap();
    task.abort();
    let will = next(&mut wills).await;
    assert_eq!(
        (will.topic.as_str(), &will.payload[..]),
        ("nu/will/dies", &b"gone"[..])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retained_messages_carry_the_retain_flag_only_when_replayed() {
    let broker = broker(MosquittoConfig::default());
    let publisher = connect(options(&broker, "nu-retain-pub")).await;
    let delivery = publisher
        .publish("nu/retain", "kept", QoS::AtLeastOnce, true)
        .await
        .unwrap();
    within("PUBACK", delivery.wait()).await.unwrap();

    let subscriber = connect(options(&broker, "nu-retain-sub")).await;
    let mut messages = within(
        "subscribe",
        subscriber.subscribe("nu/retain", QoS::AtLeastOnce),
    )
    .await
    .unwrap();
    let replayed = next(&mut messages).await;
    assert_eq!(replayed.payload, "kept");
    assert!(
        replayed.retain,
        "a retained message replayed at subscribe has retain set [MQTT-3.3.1-8]"
    );

    publish_acked(&publisher, "nu/retain", "live").await;
    let live = next(&mut messages).await;
    assert_eq!(live.payload, "live");
    assert!(
        !live.retain,
        "a live message has retain clear [MQTT-3.3.1-9]"
    );

    // An empty retained message clears it [MQTT-3.3.1-10]: a later subscriber gets the marker first.
    let clear = publisher
        .publish("nu/retain", "", QoS::AtLeastOnce, true)
        .await
        .unwrap();
    within("PUBACK", clear.wait()).await.unwrap();
    let late = connect(options(&broker, "nu-retain-late")).await;
    let mut late_messages = within("subscribe", late.subscribe("nu/retain", QoS::AtLeastOnce))
        .await
        .unwrap();
    publish_acked(&publisher, "nu/retain", "marker").await;
    let first = next(&mut late_messages).await;
    assert_eq!((first.payload, first.retain), ("marker".into(), false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribe_stops_delivery_and_ends_the_subscription() {
    let broker = broker(MosquittoConfig::default());
    let client = connect(options(&broker, "nu-unsub")).await;
    let mut gone = within(
        "subscribe a",
        client.subscribe("nu/unsub/a", QoS::AtLeastOnce),
    )
    .await
    .unwrap();
    let mut kept = within(
        "subscribe b",
        client.subscribe("nu/unsub/b", QoS::AtLeastOnce),
    )
    .await
    .unwrap();
    let mut everything = client.messages();
    within("unsubscribe", client.unsubscribe(["nu/unsub/a".to_owned()]))
        .await
        .unwrap();
    publish_acked(&client, "nu/unsub/a", "late").await;
    publish_acked(&client, "nu/unsub/b", "marker").await;
    assert_eq!(next(&mut kept).await.payload, "marker");
    let first = within("a message", everything.next()).await.unwrap();
    assert_eq!(
        first.topic, "nu/unsub/b",
        "nothing arrives for an unsubscribed filter"
    );
    assert_eq!(within("the end of the stream", gone.recv()).await, None);
    within("disconnect", client.disconnect(WAIT)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_topics_filters_and_qos_fail_at_once_with_typed_errors() {
    // No event loop runs, and no broker is needed: each call must answer at once.
    let (client, _event_loop) = mqtt_tokio::new(
        &Options::new("mqtt://127.0.0.1:9")
            .unwrap()
            .client_id("nu-invalid"),
    )
    .unwrap();
    for topic in ["a/+/b", "a/#", "", "nul\0in/topic"] {
        let result = within(
            "publish",
            client.publish(topic, "x", QoS::AtLeastOnce, false),
        )
        .await;
        assert!(
            matches!(result, Err(Error::Publish(PublishError::InvalidTopic(_)))),
            "publish to {topic:?}: {result:?}"
        );
    }
    let long = "t".repeat(70_000);
    let result = within("publish", client.publish(long, "x", QoS::AtMostOnce, false)).await;
    assert!(matches!(result, Err(Error::Publish(_))), "{result:?}");
    for filter in ["a/#/b", "a/b#", "a+/b", ""] {
        let result = within("subscribe", client.subscribe(filter, QoS::AtLeastOnce)).await;
        assert!(
            matches!(
                result,
                Err(Error::Subscribe(SubscribeError::InvalidFilter(_)))
            ),
            "subscribe to {filter:?}: {result:?}"
        );
        let result = within("unsubscribe", client.unsubscribe([filter.to_owned()])).await;
        assert!(
            matches!(result, Err(Error::Subscribe(_))),
            "unsubscribe {filter:?}: {result:?}"
        );
    }
    let result = within("subscribe none", client.subscribe_many([])).await;
    assert!(
        matches!(result, Err(Error::Subscribe(SubscribeError::NoFilters))),
        "{result:?}"
    );
    assert!(QoS::try_from(3).is_err(), "QoS 3 does not exist");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_payloads_round_trip_up_to_the_receivers_maximum_packet_size() {
    let broker = broker(MosquittoConfig::default());
    let client = connect(options(&broker, "nu-large")).await;
    let mut messages = within("subscribe", client.subscribe("nu/large", QoS::AtLeastOnce))
        .await
        .unwrap();
    let big = connect(options(&broker, "nu-large-big").max_packet_size(8 * 1024 * 1024)).await;
    let mut big_messages = within("subscribe", big.subscribe("nu/large", QoS::AtLeastOnce))
        .await
        .unwrap();
    let megabyte: Vec<u8> = (0..=255u8).cycle().take(1_000_000).collect();
    let delivery = client
        .publish("nu/large", megabyte.clone(), QoS::AtLeastOnce, false)
        .await
        .unwrap();
    within("PUBACK", delivery.wait()).await.unwrap();
    assert!(
        next(&mut messages).await.payload == megabyte,
        "the payload came back changed"
    );
    assert!(next(&mut big_messages).await.payload == megabyte);

    // 3 MiB: above the default receive limit (1 MiB), which a 5.0 client announces; the broker then does not
    // send it to that client [MQTT-3.1.2-25], but gives it to the one that allows it.
    let three: Vec<u8> = (0..=255u8).cycle().take(3 * 1024 * 1024).collect();
    let delivery = client
        .publish("nu/large", three.clone(), QoS::AtLeastOnce, false)
        .await
        .unwrap();
    within("PUBACK", delivery.wait()).await.unwrap();
    assert!(next(&mut big_messages).await.payload == three);
    publish_acked(&client, "nu/large", "small").await;
    assert_eq!(next(&mut messages).await.payload, "small");

    // Above what the queue can ever hold: a typed error at once, and the client goes on.
    let result = client
        .publish(
            "nu/large",
            vec![0u8; 5 * 1024 * 1024],
            QoS::AtLeastOnce,
            false,
        )
        .await;
    assert!(matches!(result, Err(Error::Publish(_))), "{result:?}");
    publish_acked(&client, "nu/large", "still works").await;
    assert_eq!(next(&mut messages).await.payload, "still works");
    within("disconnect", client.disconnect(WAIT)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_above_the_brokers_announced_maximum_is_refused_at_once() {
    let broker = broker(MosquittoConfig::default().with_line("max_packet_size 10000"));
    let client = connect(options(&broker, "nu-broker-max").version(ProtocolVersion::V5)).await;
    let result = client
        .publish("nu/max", vec![0u8; 20_000], QoS::AtLeastOnce, false)
        .await;
    assert!(
        matches!(
            result,
            Err(Error::Publish(PublishError::TooLarge { max: 10000, .. }))
        ),
        "{result:?}"
    );
    let mut messages = within("subscribe", client.subscribe("nu/max", QoS::AtLeastOnce))
        .await
        .unwrap();
    publish_acked(&client, "nu/max", "small").await;
    assert_eq!(next(&mut messages).await.payload, "small");
    within("disconnect", client.disconnect(WAIT)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persistent_session_gets_the_qos1_messages_published_while_it_was_offline() {
    let broker = broker(MosquittoConfig::default());
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let id = format!("nu-offline-{version:?}");
        let topic = format!("nu/offline/{version:?}");
        let persistent = || {
            options(&broker, &id)
                .version(version)
                .clean_start(false)
                .session_expiry(300)
        };
        // A first connection that asks the broker to keep its session (3.1.1: Clean Session 0; 5.0: a Session
        // Expiry Interval).
        let first = connect(match version {
            ProtocolVersion::V311 => persistent(),
            _ => options(&broker, &id).version(version).session_expiry(300),
        })
        .await;
        let subscription = within("subscribe", first.subscribe(&topic, QoS::AtLeastOnce))
            .await
            .unwrap();
        drop(subscription);
        within("disconnect", first.disconnect(WAIT)).await.unwrap();

        let publisher = connect(options(&broker, &format!("{id}-pub"))).await;
        for i in 0..5 {
            publish_acked(&publisher, &topic, &format!("{i}")).await;
        }

        // The usual order: connect, then subscribe again. Nothing is lost.
        let again = connect(persistent()).await;
        let mut messages = within("subscribe", again.subscribe(&topic, QoS::AtLeastOnce))
            .await
            .unwrap();
        for i in 0..5 {
            assert_eq!(
                next(&mut messages).await.payload,
                format!("{i}"),
                "{version:?}"
            );
        }
        publish_acked(&publisher, &topic, "live").await;
        assert_eq!(
            next(&mut messages).await.payload,
            "live",
            "{version:?}: no duplicate"
        );
        within("disconnect", again.disconnect(WAIT)).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_user_properties_and_message_expiry_round_trip() {
    let broker = broker(MosquittoConfig::default());
    let client = connect(options(&broker, "nu-props").version(ProtocolVersion::V5)).await;
    let mut messages = within("subscribe", client.subscribe("nu/props", QoS::AtLeastOnce))
        .await
        .unwrap();
    let message = Message::new("nu/props", "{}")
        .qos(QoS::AtLeastOnce)
        .user_property("unit", "celsius")
        .user_property("unit", "kelvin")
        .user_property("source", "kitchen")
        .message_expiry_interval(3600)
        .content_type("application/json")
        .payload_format_indicator(true);
    let delivery = within("publish", client.publish_message(message))
        .await
        .unwrap();
    within("PUBACK", delivery.wait()).await.unwrap();
    let received = next(&mut messages).await;
    assert_eq!(
        received.user_properties,
        [
            ("unit".to_owned(), "celsius".to_owned()),
            ("unit".to_owned(), "kelvin".to_owned()),
            ("source".to_owned(), "kitchen".to_owned()),
        ]
    );
    let expiry = received
        .message_expiry_interval
        .expect("the expiry comes along");
    assert!((1..=3600).contains(&expiry), "expiry {expiry}");
    assert_eq!(received.content_type.as_deref(), Some("application/json"));
    assert_eq!(received.payload_format_indicator, Some(true));

    // On a 3.1.1 connection, properties cannot be sent: a typed error, not a silent drop.
    let old = connect(options(&broker, "nu-props-311").version(ProtocolVersion::V311)).await;
    let result = within(
        "publish with properties on 3.1.1",
        old.publish_message(Message::new("nu/props", "x").user_property("a", "b")),
    )
    .await;
    assert!(result.is_err(), "{result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_from_a_url_with_credentials_connect_and_a_wrong_password_is_refused() {
    const PASSWORD: &str = "p@ss:w/rd";
    let broker = broker(MosquittoConfig::default().with_users([("alice", PASSWORD)]));
    let port = broker.password_port().unwrap();
    let url = format!("mqtt://alice:p%40ss%3Aw%2Frd@127.0.0.1:{port}");
    let options = Options::new(&url).unwrap().client_id("nu-url");
    assert!(
        !format!("{options:?}").contains("w/rd"),
        "the password never shows"
    );
    let client = connect(options).await;
    publish_acked(&client, "nu/url", "in").await;
    within("disconnect", client.disconnect(WAIT)).await.unwrap();

    let wrong = Options::new(&format!("mqtt://alice:wrong@127.0.0.1:{port}"))
        .unwrap()
        .client_id("nu-url-wrong");
    let result = within("a refused connect", mqtt_tokio::connect(wrong)).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos2_is_exactly_once_while_both_ends_reconnect() {
    const COUNT: usize = 60;
    let broker = broker(MosquittoConfig::default());
    let persistent = |id: &str| options(&broker, id).clean_start(false).session_expiry(300);
    let subscriber = connect(persistent("nu-qos2-sub")).await;
    let mut messages = within(
        "subscribe",
        subscriber.subscribe("nu/qos2", QoS::ExactlyOnce),
    )
    .await
    .unwrap();
    let publisher = connect(persistent("nu-qos2-pub")).await;
    let mut deliveries = Vec::new();
    for i in 0..COUNT {
        deliveries.push(
            publisher
                .publish("nu/qos2", format!("{i}"), QoS::ExactlyOnce, false)
                .await
                .unwrap(),
        );
        if i % 10 == 5 {
            publisher.reconnect().unwrap();
            subscriber.reconnect().unwrap();
        }
    }
    for delivery in deliveries {
        within("PUBCOMP", delivery.wait()).await.unwrap();
    }
    let mut seen = BTreeSet::new();
    for _ in 0..COUNT {
        let payload = next(&mut messages).await.payload;
        assert!(seen.insert(payload.clone()), "{payload:?} arrived twice");
    }
    let end = publisher
        .publish("nu/qos2", "end", QoS::ExactlyOnce, false)
        .await
        .unwrap();
    within("PUBCOMP", end.wait()).await.unwrap();
    assert_eq!(
        next(&mut messages).await.payload,
        "end",
        "no duplicate before the end"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_subscriptions_each_get_their_own_messages() {
    const COUNT: usize = 200;
    let broker = broker(MosquittoConfig::default());
    let client = connect(options(&broker, "nu-many")).await;
    let filters = (0..COUNT).map(|i| (format!("nu/many/{i}"), QoS::AtLeastOnce));
    let mut all = within("subscribe many", client.subscribe_many(filters))
        .await
        .unwrap();
    assert_eq!(all.granted().len(), COUNT);
    assert!(all.granted().iter().all(|g| *g == Ok(QoS::AtLeastOnce)));
    let mut one = within(
        "subscribe one",
        client.subscribe("nu/many/7", QoS::AtMostOnce),
    )
    .await
    .unwrap();
    for i in 0..COUNT {
        publish_acked(&client, &format!("nu/many/{i}"), &format!("{i}")).await;
    }
    let mut topics = BTreeSet::new();
    for _ in 0..COUNT {
        topics.insert(next(&mut all).await.topic);
    }
    assert_eq!(topics.len(), COUNT);
    assert_eq!(next(&mut one).await.topic, "nu/many/7");
    within("disconnect", client.disconnect(WAIT)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_broker_down_waits_time_out_and_disconnect_returns_in_time() {
    let mut broker = broker(MosquittoConfig::default());
    let client = connect(options(&broker, "nu-down")).await;
    broker.kill();
    let queued = client
        .publish("nu/down", "queued", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    let waited = client
        .publish("nu/down", "waited", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    assert_eq!(
        within(
            "a short wait",
            waited.wait_timeout(Duration::from_millis(200))
        )
        .await,
        Err(Error::Timeout)
    );
    broker.restart().unwrap();
    within("the queued message's PUBACK", queued.wait())
        .await
        .unwrap();
    broker.kill();
    let stuck = client
        .publish("nu/down", "stuck", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    let result = within("disconnect", client.disconnect(Duration::from_millis(500))).await;
    assert!(
        matches!(result, Err(Error::Unacknowledged(n)) if n >= 1),
        "{result:?}"
    );
    assert_eq!(
        within("the stuck delivery", stuck.wait()).await,
        Err(Error::Closed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_messages_both_ways() {
    let broker = broker(MosquittoConfig::default());
    let client = connect(options(&broker, "nu-stats")).await;
    let mut messages = within("subscribe", client.subscribe("nu/stats", QoS::AtLeastOnce))
        .await
        .unwrap();
    for i in 0..3 {
        publish_acked(&client, "nu/stats", &format!("{i}")).await;
        next(&mut messages).await;
    }
    let stats = client.stats();
    assert!(stats.messages_sent >= 3, "{stats:?}");
    assert!(stats.messages_received >= 3, "{stats:?}");
    assert!(stats.first_connected_at.is_some());
    within("disconnect", client.disconnect(WAIT)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscribe_request_queued_behind_a_publish_is_sent_not_dropped() {
    // A 600-byte PUBLISH and a 500-byte SUBSCRIBE, both queued before the connection: each fits the transmit
    // staging buffer on its own, not both together.
    let broker = broker(MosquittoConfig::default());
    for payload in [300, 450, 500, 550, 600, 700] {
        let (client, event_loop) = mqtt_tokio::new(&options(&broker, "nu-behind")).unwrap();
        let _ = client
            .publish("nu/behind", vec![b'x'; payload], QoS::AtMostOnce, false)
            .await
            .unwrap();
        let filters =
            (0..20).map(|i| (format!("nu/behind/filter/number/{i:04}"), QoS::AtLeastOnce));
        let subscribe = client.subscribe_many(filters);
        let task = tokio::spawn(event_loop.run());
        let subscription = within("SUBACK", subscribe).await;
        assert!(
            subscription.is_ok(),
            "behind {payload} bytes: {subscription:?}"
        );
        within("disconnect", client.disconnect(WAIT)).await.unwrap();
        within("the loop's end", task).await.unwrap();
    }
}
