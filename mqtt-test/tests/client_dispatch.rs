//! The routing of the async std client (`client::Dispatch`) end to end over the in-memory [`Link`], in tokio's
//! virtual time: messages to the requests whose filters match, streams whose reader left, late state listeners,
//! completions of publishes, subscribes, unsubscribes and disconnects.

use core::time::Duration;

use futures_util::StreamExt;
use mqtt_core::client::{ConnectionState, Error};
use mqtt_core::codec::{ProtocolVersion, QoS, ReasonCode};
use mqtt_core::session::PublishFailure;
use mqtt_test::BrokerConfig;
use mqtt_test::tokio_link::{Link, within};

const WAIT: Duration = Duration::from_secs(60);
/// Long enough for anything in flight to arrive (no latency on the link): used to show that nothing more comes.
const QUIET: Duration = Duration::from_secs(5);

async fn topics(
    stream: &mut (impl StreamExt<Item = mqtt_core::client::Message> + Unpin),
) -> Vec<String> {
    let mut topics = Vec::new();
    while let Ok(Some(message)) = tokio::time::timeout(QUIET, stream.next()).await {
        topics.push(message.topic);
    }
    topics
}

#[tokio::test(start_paused = true)]
async fn each_request_gets_a_message_once_however_many_of_its_filters_match() {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let link = Link::default();
        let (client, runner) = link.spawn(&link.options("routing").version(version));
        let mut both = client
            .subscribe_many([
                ("home/+/temperature".to_owned(), QoS::AtLeastOnce),
                ("home/kitchen/#".to_owned(), QoS::AtLeastOnce),
            ])
            .await
            .unwrap();
        assert_eq!(both.granted(), [Ok(QoS::AtLeastOnce), Ok(QoS::AtLeastOnce)]);
        let mut kitchen = client
            .subscribe("home/kitchen/#", QoS::AtLeastOnce)
            .await
            .unwrap();
        let mut everything = client.messages();
        link.broker(|b| {
            for topic in [
                "home/kitchen/temperature",
                "home/hall/temperature",
                "garden/light",
            ] {
                b.inject(topic, b"1", QoS::AtLeastOnce, false);
            }
        });
        let expected = ["home/kitchen/temperature", "home/hall/temperature"];
        assert_eq!(topics(&mut both).await, expected, "{version}");
        assert_eq!(
            topics(&mut kitchen).await,
            ["home/kitchen/temperature"],
            "{version}"
        );
        assert_eq!(topics(&mut everything).await, expected, "{version}");

        // Unsubscribing one filter of the first request leaves its other filter routed.
        client
            .unsubscribe(["home/+/temperature".to_owned()])
            .await
            .unwrap();
        link.broker(|b| {
            b.inject("home/hall/temperature", b"2", QoS::AtLeastOnce, false);
            b.inject("home/kitchen/light", b"3", QoS::AtLeastOnce, false);
        });
        assert_eq!(topics(&mut both).await, ["home/kitchen/light"], "{version}");
        client.disconnect(WAIT).await.unwrap();
        runner.await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn a_stream_whose_reader_left_is_dropped_and_others_keep_receiving() {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("gone"));
    let gone = client.subscribe("t/#", QoS::AtLeastOnce).await.unwrap();
    let mut other = client.subscribe("t/#", QoS::AtLeastOnce).await.unwrap();
    drop(gone);
    link.broker(|b| {
        for _ in 0..3 {
            b.inject("t/x", b"", QoS::AtLeastOnce, false);
        }
    });
    assert_eq!(topics(&mut other).await.len(), 3);
    assert!(
        link.wait_for(|b| b.pending_to_client() == 0, WAIT).await,
        "the gone stream holds nothing back"
    );
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

/// The habit of rumqttc and paho users: a subscription handle dropped without unsubscribing. The broker keeps
/// the subscription and goes on sending its messages, which nobody may read: they must not pile up as messages
/// waiting for a late consumer (whose bounded wait, once full, paused the whole client) nor hold the broker's
/// window unacknowledged.
#[tokio::test(start_paused = true)]
async fn messages_for_a_dropped_subscription_do_not_stall_the_other_subscriptions() {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let link = Link::default();
        let (client, runner) =
            link.spawn(&link.options("dropped").version(version).message_capacity(4));
        client.wait_connected(WAIT).await.unwrap();
        let dropped = client.subscribe("a/#", QoS::AtLeastOnce).await.unwrap();
        let mut live = client.subscribe("b", QoS::AtLeastOnce).await.unwrap();
        drop(dropped);
        link.broker(|b| {
            for i in 0..20 {
                b.inject(&format!("a/{i}"), b"", QoS::AtLeastOnce, false);
            }
            b.inject("b", b"", QoS::AtLeastOnce, false);
        });
        assert_eq!(topics(&mut live).await, ["b"], "{version}");
        assert!(
            link.wait_for(|b| b.pending_to_client() == 0, WAIT).await,
            "{version}: every message acknowledged"
        );
        // A `messages()` stream that comes later gets those kept while there was room (the habit of rumqttc
        // users, who read everything from one stream); the rest were let go.
        let mut everything = client.messages();
        assert_eq!(
            topics(&mut everything).await,
            ["a/0", "a/1", "a/2", "a/3"],
            "{version}"
        );
        client.disconnect(WAIT).await.unwrap();
        runner.await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn a_late_state_listener_hears_the_current_state_first_and_the_end() {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("late-states"));
    client.wait_connected(WAIT).await.unwrap();
    let mut states = client.states();
    assert!(matches!(
        within("states", states.next()).await,
        Some(ConnectionState::Connected {
            session_present: false,
            ..
        })
    ));
    client.disconnect(WAIT).await.unwrap();
    assert_eq!(
        within("states", states.next()).await,
        Some(ConnectionState::Disconnected)
    );
    assert_eq!(
        within("states", states.next()).await,
        None,
        "the stream ends with the client"
    );
    runner.await.unwrap();
    assert!(!client.is_connected());
    assert_eq!(
        client.publish("t", "x", QoS::AtMostOnce, false).await.err(),
        Some(Error::Closed)
    );
    let mut after = client.states();
    assert_eq!(
        within("after", after.next()).await,
        Some(ConnectionState::Disconnected),
        "a listener after the end hears it"
    );
    assert_eq!(within("after", after.next()).await, None);
}

#[tokio::test(start_paused = true)]
async fn acknowledgements_complete_deliveries_and_refusals_fail_them() {
    let link = Link::new(BrokerConfig {
        pubcomp_reason: ReasonCode::PACKET_IDENTIFIER_NOT_FOUND,
        ..BrokerConfig::default()
    });
    let (client, runner) = link.spawn(&link.options("deliveries"));
    client
        .publish("out", "0", QoS::AtMostOnce, false)
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    client
        .publish("out", "1", QoS::AtLeastOnce, false)
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    // PUBCOMP 0x92: the message was not delivered.
    let failed = client
        .publish("out", "2", QoS::ExactlyOnce, false)
        .await
        .unwrap()
        .wait()
        .await;
    assert!(
        matches!(
            failed,
            Err(Error::PublishFailed(PublishFailure::Rejected(
                ReasonCode::PACKET_IDENTIFIER_NOT_FOUND
            )))
        ),
        "{failed:?}"
    );
    assert!(matches!(
        client.publish("bad/#", "x", QoS::AtLeastOnce, false).await,
        Err(Error::Publish(_))
    ));
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_disconnect_whose_time_runs_out_fails_what_the_broker_did_not_acknowledge() {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("held"));
    client.wait_connected(WAIT).await.unwrap();
    link.broker(mqtt_test::FakeBroker::hold_acks);
    let pending = client
        .publish("out", "x", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    assert_eq!(
        client.disconnect(Duration::from_secs(2)).await,
        Err(Error::Unacknowledged(1))
    );
    assert_eq!(pending.wait().await, Err(Error::Closed));
    runner.await.unwrap();
}

/// A task that publishes while another disconnects: whether the disconnect is under way or over, the refusal is
/// the same [`Error::Closed`] (a loop that stops on it stops either way).
#[tokio::test(start_paused = true)]
async fn commands_during_a_disconnect_fail_with_closed_as_after_it() {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("closing"));
    client.wait_connected(WAIT).await.unwrap();
    link.broker(mqtt_test::FakeBroker::hold_acks);
    let pending = client
        .publish("out", "x", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    let disconnecting = {
        let client = client.clone();
        tokio::spawn(async move { client.disconnect(Duration::from_secs(2)).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !disconnecting.is_finished(),
        "waiting for the acknowledgement"
    );
    let during = client.publish("out", "y", QoS::AtLeastOnce, false).await;
    assert_eq!(during.unwrap_err(), Error::Closed);
    let during = client.subscribe("in", QoS::AtLeastOnce).await;
    assert_eq!(during.unwrap_err(), Error::Closed);
    let during = client.unsubscribe(["in".to_owned()]).await;
    assert_eq!(during.unwrap_err(), Error::Closed);
    assert_eq!(disconnecting.await.unwrap(), Err(Error::Unacknowledged(1)));
    assert_eq!(pending.wait().await, Err(Error::Closed));
    let after = client.publish("out", "z", QoS::AtLeastOnce, false).await;
    assert_eq!(after.unwrap_err(), Error::Closed);
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_refused_filter_fails_its_subscribe_and_its_route_goes() {
    let link = Link::default();
    link.broker(|b| b.refuse_filter("secret/#"));
    let (client, runner) = link.spawn(&link.options("refused-filter"));
    let refused = client.subscribe("secret/#", QoS::AtLeastOnce).await;
    assert!(
        matches!(refused, Err(Error::SubscriptionRefused(_))),
        "{refused:?}"
    );
    let mut mixed = client
        .subscribe_many([
            ("secret/#".to_owned(), QoS::AtLeastOnce),
            ("open/#".to_owned(), QoS::AtLeastOnce),
        ])
        .await
        .unwrap();
    assert!(mixed.granted()[0].is_err() && mixed.granted()[1].is_ok());
    link.broker(|b| b.inject("open/1", b"", QoS::AtLeastOnce, false));
    assert_eq!(topics(&mut mixed).await, ["open/1"]);
    client.unsubscribe(["open/#".to_owned()]).await.unwrap();
    assert_eq!(
        within("mixed", mixed.next()).await,
        None,
        "a subscription without filters ends"
    );
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn dropping_every_handle_disconnects_gracefully_and_ends_the_event_loop() {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("dropped"));
    client.wait_connected(WAIT).await.unwrap();
    drop(client);
    tokio::time::timeout(WAIT, runner).await.unwrap().unwrap();
    link.broker(|b| {
        assert!(!b.is_connected());
        assert!(
            b.wills().is_empty(),
            "a graceful DISCONNECT, not a dropped connection"
        );
    });
}
