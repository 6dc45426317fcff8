//! mqtt-tokio on tokio's default multi-thread runtime, as a new user drives it from many tasks at once: concurrent
//! publishes, subscribes and unsubscribes, subscriptions dropped while messages arrive, several tasks waiting for
//! the connection, the same filter subscribed twice, reconnecting after a disconnect. Against a real mosquitto
//! started by the harness; every wait is bounded.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use mqtt_test::{Listener, Mosquitto, MosquittoConfig};
use mqtt_tokio::{Error, Message, Options, QoS, Subscription};

const WAIT: Duration = Duration::from_secs(10);

fn broker() -> Mosquitto {
    Mosquitto::start(MosquittoConfig::default()).unwrap_or_else(|e| panic!("{e}"))
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

async fn publish_acked(client: &mqtt_tokio::Client, topic: &str, payload: &str) {
    let delivery = client
        .publish(topic, payload.to_owned(), QoS::AtLeastOnce, false)
        .await
        .unwrap();
    within("PUBACK", delivery.wait()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn many_tasks_publishing_at_once_deliver_every_message_once() {
    const TASKS: usize = 8;
    const EACH: usize = 50;
    let broker = broker();
    let subscriber = connect(options(&broker, "nt-many-sub")).await;
    let mut messages = within(
        "subscribe",
        subscriber.subscribe("nt/many/#", QoS::ExactlyOnce),
    )
    .await
    .unwrap();
    let client = connect(options(&broker, "nt-many")).await;
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut deliveries = Vec::new();
            for i in 0..EACH {
                let qos = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce][i % 3];
                deliveries.push(
                    client
                        .publish(format!("nt/many/{task}"), format!("{i}"), qos, false)
                        .await
                        .unwrap(),
                );
            }
            for delivery in deliveries {
                within("delivery", delivery.wait()).await.unwrap();
            }
        }));
    }
    for task in tasks {
        within("publisher task", task).await.unwrap();
    }
    let mut seen = BTreeSet::new();
    let mut last = vec![None::<usize>; TASKS * 3];
    for _ in 0..TASKS * EACH {
        let message = next(&mut messages).await;
        let task: usize = message.topic["nt/many/".len()..].parse().unwrap();
        let i: usize = std::str::from_utf8(&message.payload)
            .unwrap()
            .parse()
            .unwrap();
        assert!(seen.insert((task, i)), "duplicate {task}/{i}");
        // One task's messages of one QoS on one topic keep their order [MQTT-4.6.0-6] (across QoS levels the
        // spec promises nothing, and mosquitto forwards a QoS 2 message only at its PUBREL).
        let qos = i % 3;
        assert!(
            last[task * 3 + qos] < Some(i),
            "task {task}: {i} after {:?}",
            last[task * 3 + qos]
        );
        last[task * 3 + qos] = Some(i);
    }
    within("disconnect", client.disconnect(WAIT)).await.unwrap();
    within("disconnect", subscriber.disconnect(WAIT))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn tasks_subscribing_and_unsubscribing_at_once_each_get_their_own_answer() {
    const TASKS: usize = 16;
    let broker = broker();
    let client = connect(options(&broker, "nt-subs")).await;
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let filter = format!("nt/subs/{task}");
            for round in 0..5 {
                let mut subscription =
                    within("subscribe", client.subscribe(&filter, QoS::AtLeastOnce))
                        .await
                        .unwrap();
                publish_acked(&client, &filter, &format!("{round}")).await;
                assert_eq!(next(&mut subscription).await.payload, format!("{round}"));
                within("unsubscribe", client.unsubscribe([filter.clone()]))
                    .await
                    .unwrap();
                assert_eq!(within("the end", subscription.recv()).await, None);
            }
        }));
    }
    for task in tasks {
        within("task", task).await.unwrap();
    }
    within("disconnect", client.disconnect(WAIT)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn dropping_a_full_subscription_while_messages_arrive_lets_the_others_go_on() {
    const COUNT: usize = 200;
    let broker = broker();
    let client = connect(options(&broker, "nt-drop-sub").message_capacity(4)).await;
    let dropped = within("subscribe", client.subscribe("nt/drop/#", QoS::AtLeastOnce))
        .await
        .unwrap();
    let mut kept = within(
        "subscribe",
        client.subscribe("nt/drop/kept", QoS::AtLeastOnce),
    )
    .await
    .unwrap();
    let publisher = connect(options(&broker, "nt-drop-pub")).await;
    let sender = {
        let publisher = publisher.clone();
        tokio::spawn(async move {
            for i in 0..COUNT {
                let _ = publisher
                    .publish("nt/drop/kept", format!("{i}"), QoS::AtLeastOnce, false)
                    .await
                    .unwrap();
            }
        })
    };
    // Take a few, then drop the other (full) subscription while messages keep coming.
    for i in 0..3 {
        assert_eq!(next(&mut kept).await.payload, format!("{i}"));
    }
    drop(dropped);
    let mut got = Vec::new();
    for _ in 3..COUNT {
        got.push(String::from_utf8(next(&mut kept).await.payload.to_vec()).unwrap());
    }
    let want: Vec<String> = (3..COUNT).map(|i| format!("{i}")).collect();
    assert_eq!(got, want, "each message once, in order");
    within("sender", sender).await.unwrap();
    within("disconnect", client.disconnect(WAIT)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn several_tasks_waiting_for_the_connection_all_see_it() {
    let broker = broker();
    let (client, event_loop) = mqtt_tokio::new(&options(&broker, "nt-waiters")).unwrap();
    let waiters: Vec<_> = (0..8)
        .map(|_| tokio::spawn(client.wait_connected(WAIT)))
        .collect();
    let task = tokio::spawn(event_loop.run());
    for waiter in waiters {
        within("waiter", waiter).await.unwrap().unwrap();
    }
    // Waiting once connected answers at once too.
    within("connected", client.wait_connected(WAIT))
        .await
        .unwrap();
    within("disconnect", client.disconnect(WAIT)).await.unwrap();
    within("the loop", task).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_filter_subscribed_twice_feeds_both_until_unsubscribed_once() {
    let broker = broker();
    let client = connect(options(&broker, "nt-twice")).await;
    let mut first = within("subscribe", client.subscribe("nt/twice", QoS::AtLeastOnce))
        .await
        .unwrap();
    let mut second = within("subscribe", client.subscribe("nt/twice", QoS::AtLeastOnce))
        .await
        .unwrap();
    publish_acked(&client, "nt/twice", "both").await;
    assert_eq!(next(&mut first).await.payload, "both");
    assert_eq!(next(&mut second).await.payload, "both");
    // The broker holds one subscription per filter: one UNSUBSCRIBE ends it for both.
    within("unsubscribe", client.unsubscribe(["nt/twice".to_owned()]))
        .await
        .unwrap();
    assert_eq!(within("end", first.recv()).await, None);
    assert_eq!(within("end", second.recv()).await, None);
    within("disconnect", client.disconnect(WAIT)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_error_after_disconnect_says_to_make_a_new_client() {
    let broker = broker();
    let client = connect(options(&broker, "nt-again")).await;
    within("disconnect", client.disconnect(WAIT)).await.unwrap();
    let error = client.reconnect().unwrap_err();
    assert_eq!(error, Error::Closed);
    let text = error.to_string();
    assert!(
        text.contains("new client"),
        "the error says what to do: {text}"
    );
    let publish = client
        .publish("nt/again", "x", QoS::AtLeastOnce, false)
        .await
        .unwrap_err();
    assert_eq!(publish, Error::Closed, "{publish}");
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_from_two_tasks_each_get_every_message() {
    let broker = broker();
    let client = connect(options(&broker, "nt-two-readers")).await;
    let _subscription = within("subscribe", client.subscribe("nt/two/#", QoS::AtLeastOnce))
        .await
        .unwrap();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let mut messages = client.messages();
            tokio::spawn(async move {
                let mut got = Vec::new();
                for _ in 0..20 {
                    got.push(within("message", messages.next()).await.unwrap().payload);
                }
                got
            })
        })
        .collect();
    for i in 0..20 {
        publish_acked(&client, "nt/two/x", &format!("{i}")).await;
    }
    for reader in readers {
        let got = within("reader", reader).await.unwrap();
        for (i, payload) in got.iter().enumerate() {
            assert_eq!(payload, &format!("{i}"));
        }
    }
    within("disconnect", client.disconnect(WAIT)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disconnect_while_other_tasks_publish_resolves_every_delivery() {
    let broker = broker();
    let subscriber = connect(options(&broker, "nt-race-sub")).await;
    let mut messages = within(
        "subscribe",
        subscriber.subscribe("nt/race/#", QoS::AtLeastOnce),
    )
    .await
    .unwrap();
    let client = connect(options(&broker, "nt-race")).await;
    let publishers: Vec<_> = (0..4)
        .map(|task| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut deliveries = Vec::new();
                for i in 0.. {
                    let qos = [QoS::AtLeastOnce, QoS::ExactlyOnce][i % 2];
                    match client
                        .publish(format!("nt/race/{task}"), format!("{i}"), qos, false)
                        .await
                    {
                        Ok(delivery) => deliveries.push(delivery),
                        Err(error) => {
                            assert_eq!(error, Error::Closed, "refused once disconnected");
                            break;
                        }
                    }
                    if i % 16 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                // Every accepted message ends one way or the other: none waits forever.
                let mut acknowledged = 0;
                for delivery in deliveries {
                    if within("a delivery's outcome", delivery.wait())
                        .await
                        .is_ok()
                    {
                        acknowledged += 1;
                    }
                }
                acknowledged
            })
        })
        .collect();
    // Let them get going, then disconnect from two tasks at once.
    next(&mut messages).await;
    let (first, second) = tokio::join!(client.disconnect(WAIT), client.disconnect(WAIT));
    assert!(
        matches!(first, Ok(()) | Err(Error::Unacknowledged(_))),
        "{first:?}"
    );
    assert!(
        matches!(second, Ok(()) | Err(Error::Unacknowledged(_))),
        "{second:?}"
    );
    let mut acknowledged = 0;
    for publisher in publishers {
        acknowledged += within("publisher", publisher).await.unwrap();
    }
    // What the broker acknowledged reached the subscriber (at least once: QoS 1 and 2 both ways).
    let mut received = 1;
    while received < acknowledged {
        next(&mut messages).await;
        received += 1;
    }
    within("disconnect", subscriber.disconnect(WAIT))
        .await
        .unwrap();
}

/// paho's `disconnect(timeout=0)`: leave at once, without waiting for acknowledgements. The DISCONNECT still goes
/// out, so the broker does not publish the will.
#[tokio::test(flavor = "multi_thread")]
async fn a_disconnect_with_no_time_to_wait_still_disconnects_cleanly() {
    let broker = broker();
    let watcher = connect(options(&broker, "nt-zero-watch")).await;
    let mut wills = within(
        "subscribe",
        watcher.subscribe("nt/zero/#", QoS::AtLeastOnce),
    )
    .await
    .unwrap();
    let client = connect(
        options(&broker, "nt-zero").last_will(mqtt_tokio::LastWill::new("nt/zero/will", "gone")),
    )
    .await;
    let outcome = within("disconnect", client.disconnect(Duration::ZERO)).await;
    assert!(
        matches!(outcome, Ok(()) | Err(Error::Unacknowledged(_))),
        "{outcome:?}"
    );
    assert!(!client.is_connected());
    publish_acked(&watcher, "nt/zero/marker", "m").await;
    assert_eq!(
        next(&mut wills).await.topic,
        "nt/zero/marker",
        "no will after a disconnect [MQTT-3.1.2-10]"
    );
}
