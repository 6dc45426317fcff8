//! mqtt-smol as a new user drives it, with the habits of paho-style and device-style MQTT clients, against a
//! real mosquitto started by the harness: the same programs as mqtt-tokio's `new_user` tests, on smol's executor
//! (the event loop spawned on smol's global executor, or dropped to kill the connection). Every wait is bounded.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use mqtt_smol::{
    ConnectRefusal, ConnectionState, Error, LastWill, Message, Options, ProtocolVersion,
    PublishError, QoS, SubscribeError, Subscription,
};
use mqtt_test::{Listener, Mosquitto, MosquittoConfig};
use smol::future::FutureExt;

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
    async { Some(future.await) }
        .or(async {
            smol::Timer::after(WAIT).await;
            None
        })
        .await
        .unwrap_or_else(|| panic!("timed out: {what}"))
}

async fn connect(options: Options) -> mqtt_smol::Client {
    within("connect", mqtt_smol::connect(options))
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"))
}

async fn next(subscription: &mut Subscription) -> Message {
    within("the next message", subscription.recv())
        .await
        .expect("the subscription ended")
}

/// A QoS 1 publish, waited for until the broker acknowledged it.
async fn publish_acked(client: &mqtt_smol::Client, topic: &str, payload: &str) {
    let delivery = client
        .publish(topic, payload.to_owned(), QoS::AtLeastOnce, false)
        .await
        .unwrap();
    within("PUBACK", delivery.wait()).await.unwrap();
}

#[test]
fn subscribing_from_the_state_handler_receives_after_each_connection() {
    smol::block_on(async {
        let broker = broker(MosquittoConfig::default());
        let publisher = connect(options(&broker, "nu-handler-pub")).await;
        let (client, event_loop) = mqtt_smol::new(&options(&broker, "nu-handler")).unwrap();
        let mut states = client.states();
        let handler = client.clone();
        let (subscribed, mut subscriptions) = futures::channel::mpsc::unbounded();
        smol::spawn(async move {
            while let Some(state) = states.next().await {
                if let ConnectionState::Connected { .. } = state {
                    let subscription = handler.subscribe("nu/handler", QoS::AtLeastOnce).await;
                    if subscribed.unbounded_send(subscription).is_err() {
                        return;
                    }
                }
            }
        })
        .detach();
        smol::spawn(event_loop.run()).detach();

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
    });
}

#[test]
fn publishing_before_the_event_loop_runs_delivers_every_qos_after_connect() {
    smol::block_on(async {
        let broker = broker(MosquittoConfig::default());
        let subscriber = connect(options(&broker, "nu-early-sub")).await;
        let mut messages = within(
            "subscribe",
            subscriber.subscribe("nu/early", QoS::ExactlyOnce),
        )
        .await
        .unwrap();

        let (client, event_loop) = mqtt_smol::new(&options(&broker, "nu-early")).unwrap();
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
        smol::spawn(event_loop.run()).detach();
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
    });
}

#[test]
fn reconnect_twice_in_a_row_keeps_subscriptions_and_publishes() {
    smol::block_on(async {
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
    });
}

#[test]
fn after_disconnect_commands_fail_at_once_with_typed_errors() {
    smol::block_on(async {
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
    });
}

#[test]
fn dropping_the_last_handle_sends_pending_publishes_then_ends_the_loop() {
    smol::block_on(async {
        let broker = broker(MosquittoConfig::default());
        let subscriber = connect(options(&broker, "nu-drop-sub")).await;
        let mut messages = within(
            "subscribe",
            subscriber.subscribe("nu/drop", QoS::AtLeastOnce),
        )
        .await
        .unwrap();
        let (client, event_loop) = mqtt_smol::new(&options(&broker, "nu-drop")).unwrap();
        let task = smol::spawn(event_loop.run());
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
        within("the event loop's end", task).await;
        for i in 0..20 {
            assert_eq!(next(&mut messages).await.payload, format!("{i}"));
        }
    });
}

#[test]
fn a_slow_consumer_catches_up_without_loss_or_duplicates_at_qos1() {
    smol::block_on(async {
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
    });
}

#[test]
fn the_will_is_published_when_the_connection_dies_and_not_after_disconnect() {
    smol::block_on(async {
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
        let (client, event_loop) = mqtt_smol::new(
            &options(&broker, "nu-will-dies")
                .last_will(LastWill::new("nu/will/dies", "gone").qos(QoS::AtLeastOnce)),
        )
        .unwrap();
        let task = smol::spawn(event_loop.run());
        within("connected", client.wait_connected(WAIT))
            .await
            .unwrap();
        drop(task);
        let will = next(&mut wills).await;
        assert_eq!(
            (will.topic.as_str(), &will.payload[..]),
            ("nu/will/dies", &b"gone"[..])
        );
    });
}

#[test]
fn invalid_topics_filters_and_qos_fail_at_once_with_typed_errors() {
    smol::block_on(async {
        // No event loop runs, and no broker is needed: each call must answer at once.
        let (client, _event_loop) = mqtt_smol::new(
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
    });
}

#[test]
fn a_persistent_session_gets_the_qos1_messages_published_while_it_was_offline() {
    smol::block_on(async {
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
    });
}

#[test]
fn options_from_a_url_with_credentials_connect_and_a_wrong_password_is_refused() {
    smol::block_on(async {
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
        let result = within("a refused connect", mqtt_smol::connect(wrong)).await;
        assert!(
            matches!(
                result,
                Err(Error::Refused(
                    ConnectRefusal::BadUserNameOrPassword | ConnectRefusal::NotAuthorized
                ))
            ),
            "{result:?}"
        );
    });
}

#[test]
fn qos2_is_exactly_once_while_both_ends_reconnect() {
    smol::block_on(async {
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
    });
}

#[test]
fn two_hundred_subscriptions_each_get_their_own_messages() {
    smol::block_on(async {
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
    });
}
