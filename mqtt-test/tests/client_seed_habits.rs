//! Calls users bring from other MQTT client APIs (paho-style and MicroPython-style clients), on the async std
//! client over the in-memory [`Link`] in tokio's virtual time: a short keep alive, filters given as string
//! literals, the count of subscriptions still waiting for their SUBACK, an empty topic.

use core::time::Duration;

use mqtt_core::TopicError;
use mqtt_core::client::Error;
use mqtt_core::codec::{PacketType, ProtocolVersion, QoS};
use mqtt_core::{ConfigError, PublishError};
use mqtt_test::Direction;
use mqtt_test::tokio_link::{Link, within};

const WAIT: Duration = Duration::from_secs(60);

/// A keep alive under a second is not "no keep alive" (the CONNECT carries whole seconds, and 0 turns it off
/// `[MQTT-3.1.2-23]`): it becomes one second, and the client pings.
#[tokio::test(start_paused = true)]
async fn a_keep_alive_under_a_second_is_one_second_not_none() {
    let link = Link::default();
    let options = link
        .options("short-keep-alive")
        .keep_alive(Duration::from_millis(500));
    let (client, runner) = link.spawn(&options);
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    assert_eq!(link.broker(|b| b.connections()[0].keep_alive), 1);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(link.broker(|b| b.count(Direction::ClientToBroker, PacketType::PingReq)) >= 3);
    drop(client);
    runner.abort();
}

/// `Duration::ZERO` still turns keep alive off: no PINGREQ however long the connection is idle.
#[tokio::test(start_paused = true)]
async fn a_zero_keep_alive_turns_pings_off() {
    let link = Link::default();
    let options = link.options("no-keep-alive").keep_alive(Duration::ZERO);
    let (client, runner) = link.spawn(&options);
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    assert_eq!(link.broker(|b| b.connections()[0].keep_alive), 0);
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(
        link.broker(|b| b.count(Direction::ClientToBroker, PacketType::PingReq)),
        0
    );
    assert!(client.is_connected());
    drop(client);
    runner.abort();
}

/// Filters as string literals, as every other client takes them: `unsubscribe(["a/b"])` and
/// `subscribe_many([("a/b", qos)])`.
#[tokio::test(start_paused = true)]
async fn subscribe_many_and_unsubscribe_take_string_literals() {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("literals"));
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    let subscription = within(
        "subscribe",
        client.subscribe_many([
            ("habits/a", QoS::AtLeastOnce),
            ("habits/b", QoS::AtMostOnce),
        ]),
    )
    .await
    .unwrap();
    assert_eq!(
        subscription.granted(),
        [Ok(QoS::AtLeastOnce), Ok(QoS::AtMostOnce)]
    );
    within("unsubscribe", client.unsubscribe(["habits/a", "habits/b"]))
        .await
        .unwrap();
    let owned = vec![String::from("habits/c")];
    within("unsubscribe owned", client.unsubscribe(owned))
        .await
        .unwrap();
    assert!(link.broker(|b| b.subscriptions().is_empty()));
    drop(client);
    runner.abort();
}

/// `pending_subscriptions` counts the subscribe requests the broker has not answered yet: one made before the
/// event loop runs is pending until its SUBACK.
#[tokio::test(start_paused = true)]
async fn pending_subscriptions_counts_requests_until_their_suback() {
    let link = Link::default();
    let (client, event_loop) = link.client(&link.options("pending"));
    assert_eq!(client.pending_subscriptions(), 0);
    let subscribing = tokio::spawn({
        let client = client.clone();
        async move { client.subscribe("habits/pending", QoS::AtLeastOnce).await }
    });
    // The request is made at the future's first poll, before any connection.
    while client.pending_subscriptions() == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(client.pending_subscriptions(), 1);
    let runner = tokio::spawn(event_loop.run());
    let subscription = within("the SUBACK", subscribing).await.unwrap().unwrap();
    assert_eq!(subscription.granted(), [Ok(QoS::AtLeastOnce)]);
    assert_eq!(client.pending_subscriptions(), 0);
    drop(client);
    runner.abort();
}

/// An empty topic is a typed error at once `[MQTT-4.7.3-1]`, as other clients raise one.
#[tokio::test(start_paused = true)]
async fn publishing_to_an_empty_topic_is_a_typed_error() {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("empty-topic"));
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    let refused = client.publish("", "x", QoS::AtLeastOnce, false).await;
    assert!(
        matches!(
            refused,
            Err(Error::Publish(PublishError::InvalidTopic(
                TopicError::Empty
            )))
        ),
        "{refused:?}"
    );
    drop(client);
    runner.abort();
}

/// "Receive a message, if any", without awaiting: `try_recv` on a subscription and on every message.
#[tokio::test(start_paused = true)]
async fn try_recv_takes_a_waiting_message_without_waiting() {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("try-recv"));
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    let mut all = client.messages();
    let mut subscription = within(
        "subscribe",
        client.subscribe("habits/poll", QoS::AtLeastOnce),
    )
    .await
    .unwrap();
    assert!(subscription.try_recv().is_none());
    assert!(all.try_recv().is_none());
    assert!(link.broker(|b| b.inject("habits/poll", b"one", QoS::AtLeastOnce, false)));
    let mut taken = None;
    for _ in 0..1000 {
        taken = subscription.try_recv();
        if taken.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(taken.map(|m| m.payload), Some(b"one".as_slice().into()));
    assert!(subscription.try_recv().is_none(), "taken once");
    assert_eq!(all.try_recv().map(|m| m.topic), Some("habits/poll".into()));
    // A message taken with try_recv is acknowledged as one taken with recv.
    assert!(
        link.wait_for(
            |b| b.count(Direction::ClientToBroker, PacketType::PubAck) == 1,
            WAIT
        )
        .await
    );
    drop(client);
    runner.abort();
}

/// An empty client identifier (other clients' default) with a persistent 3.1.1 session is refused when the
/// client is made, with the reason, rather than sent and refused by the broker at every attempt `[MQTT-3.1.3-7]`.
#[tokio::test(start_paused = true)]
async fn an_empty_client_id_with_a_persistent_311_session_is_a_configuration_error() {
    let link = Link::default();
    let options = link
        .options("")
        .version(ProtocolVersion::V311)
        .clean_start(false);
    let refused = mqtt_core::client::EventLoop::<mqtt_test::tokio_link::LinkRuntime>::new(&options)
        .map(|_| ());
    assert!(
        matches!(
            refused,
            Err(Error::Config(ConfigError::EmptyClientIdWithoutCleanStart))
        ),
        "{refused:?}"
    );
    assert!(link.opens().is_empty(), "no attempt");
}

/// paho's `on_connection_lost: reconnect()` on the async client, and one reconnect the application asks for (a
/// command message, say): the requested one is reported as `Reconnecting` with attempt 0, not as a loss, so the
/// handler does not end the connection it brought (before: a new connection and a new "loss" every time the
/// handler ran, for ever). A real loss still reaches the handler.
#[tokio::test(start_paused = true)]
async fn a_handler_that_reconnects_on_every_loss_does_not_loop_after_a_requested_reconnect() {
    use futures_util::StreamExt as _;
    use mqtt_core::client::ConnectionState;

    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("reconnect-on-loss"));
    let mut states = client.states();
    let handler = client.clone();
    let handling = tokio::spawn(async move {
        let mut losses = 0;
        while let Some(state) = states.next().await {
            if let ConnectionState::Lost(_) = state {
                losses += 1;
                // A handler that takes its time: the new connection is up by the time it reconnects.
                tokio::time::sleep(Duration::from_millis(20)).await;
                let _ = handler.reconnect();
            }
        }
        losses
    });
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    client.reconnect().unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        link.broker(|b| b.connections().len()),
        2,
        "the requested reconnect, and nothing after it"
    );
    // A real loss: the handler's reconnect brings one more connection, and that is all.
    link.broker(mqtt_test::FakeBroker::close_connection);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let connections = link.broker(|b| b.connections().len());
    assert!(
        (3..=4).contains(&connections),
        "{connections} connections after one loss"
    );
    assert!(client.is_connected());
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
    assert_eq!(handling.await.unwrap(), 1, "one loss reported");
}

/// Request/response needs 5.0 (3.1.1 has no Response Topic): on a 3.1.1 client, `request` and `responder` are
/// refused at once with a typed error, and nothing is subscribed for them (the inbox was subscribed first before).
#[tokio::test(start_paused = true)]
async fn request_and_responder_on_311_are_refused_at_once_without_subscribing() {
    let link = Link::default();
    let options = link.options("rr-311").version(ProtocolVersion::V311);
    let (client, runner) = link.spawn(&options);
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    let request = within(
        "request",
        client.request("svc/x", "question", Duration::from_secs(5)),
    )
    .await;
    assert!(
        matches!(
            request,
            Err(Error::Publish(PublishError::PropertiesNotSupported))
        ),
        "{request:?}"
    );
    let responder = within("responder", client.responder("svc/#", QoS::AtLeastOnce)).await;
    assert!(matches!(
        responder,
        Err(Error::Publish(PublishError::PropertiesNotSupported))
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        link.broker(|b| b.count(Direction::ClientToBroker, PacketType::Subscribe)),
        0
    );
    drop(client);
    runner.abort();
}
