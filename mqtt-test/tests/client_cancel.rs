//! The async std client used as tokio users write it, over the in-memory [`Link`] in tokio's virtual time:
//! `timeout`/`select!` around its calls (futures dropped half-way), handles dropped while others live, and
//! calls with a timeout that must not wait longer than they say.

use core::time::Duration;

use futures_util::StreamExt;
use mqtt_core::client::{ConnectionState, Error};
use mqtt_core::codec::{PacketType, ProtocolVersion, QoS};
use mqtt_test::Direction;
use mqtt_test::tokio_link::{Link, within};

const WAIT: Duration = Duration::from_secs(60);
/// Long enough for anything in flight to arrive: used to show that nothing more comes.
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
async fn a_subscribe_given_up_by_a_timeout_leaves_no_route_that_pauses_the_client() {
    let link = Link::default();
    link.settings(|s| s.latency = Duration::from_millis(100));
    let (client, runner) = link.spawn(&link.options("cancel-sub").message_capacity(2));
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    let given_up = tokio::time::timeout(
        Duration::from_millis(50),
        client.subscribe("gone/#", QoS::AtLeastOnce),
    )
    .await;
    assert!(given_up.is_err(), "the SUBACK cannot come in 50 ms");
    assert!(
        link.wait_for(|b| !b.subscriptions().is_empty(), WAIT).await,
        "the SUBSCRIBE still went out"
    );
    link.broker(|b| {
        for i in 0..20 {
            b.inject(&format!("gone/{i}"), b"x", QoS::AtLeastOnce, false);
        }
    });
    // The client goes on: a new subscription gets its messages, a publish its acknowledgement.
    let mut other = within("subscribe", client.subscribe("other", QoS::AtLeastOnce))
        .await
        .unwrap();
    link.broker(|b| b.inject("other", b"y", QoS::AtLeastOnce, false));
    assert_eq!(topics(&mut other).await, ["other"]);
    let delivery = client
        .publish("out", "z", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    within("puback", delivery.wait()).await.unwrap();
    assert!(
        link.wait_for(
            |b| b.count(Direction::ClientToBroker, PacketType::PubAck) >= 21,
            WAIT
        )
        .await,
        "every message to the given-up subscription was acknowledged"
    );
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_unsubscribe_given_up_by_a_timeout_still_unsubscribes_and_a_new_subscribe_of_the_filter_receives()
 {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let link = Link::default();
        link.settings(|s| s.latency = Duration::from_millis(100));
        let (client, runner) = link.spawn(&link.options("cancel-unsub").version(version));
        let mut first = within("subscribe", client.subscribe("t", QoS::AtLeastOnce))
            .await
            .unwrap();
        let given_up = tokio::time::timeout(
            Duration::from_millis(50),
            client.unsubscribe(["t".to_owned()]),
        )
        .await;
        assert!(
            given_up.is_err(),
            "{version}: the UNSUBACK cannot come in 50 ms"
        );
        assert_eq!(
            within("end", first.next()).await,
            None,
            "{version}: the unsubscribed stream ends"
        );
        let mut again = within("subscribe again", client.subscribe("t", QoS::AtLeastOnce))
            .await
            .unwrap();
        link.broker(|b| b.inject("t", b"1", QoS::AtLeastOnce, false));
        assert_eq!(topics(&mut again).await, ["t"], "{version}");
        client.disconnect(WAIT).await.unwrap();
        runner.await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn an_unsubscribe_not_awaited_then_a_subscribe_of_the_same_filter_keeps_the_new_subscription()
{
    let link = Link::default();
    link.settings(|s| s.latency = Duration::from_millis(100));
    let (client, runner) = link.spawn(&link.options("unsub-resub"));
    let _first = within("subscribe", client.subscribe("t", QoS::AtLeastOnce))
        .await
        .unwrap();
    let unsubscribed = client.unsubscribe(["t".to_owned()]);
    let resubscribed = client.subscribe("t", QoS::AtLeastOnce);
    let (unsubscribed, resubscribed) =
        within("both", async { tokio::join!(unsubscribed, resubscribed) }).await;
    unsubscribed.unwrap();
    let mut again = resubscribed.unwrap();
    link.broker(|b| b.inject("t", b"1", QoS::AtLeastOnce, false));
    assert_eq!(topics(&mut again).await, ["t"]);
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

/// The broker holds its acknowledgements; a QoS 1 message is published (its delivery returned), and a disconnect
/// that waits for it is given up by the caller's own timeout after 100 ms.
async fn a_disconnect_given_up_while_an_acknowledgement_is_held(
    link: &Link,
    client: &mqtt_core::client::Client,
) -> mqtt_core::client::Delivery {
    link.broker(|b| b.hold_acks());
    let delivery = client
        .publish("held", "x", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    let given_up = tokio::time::timeout(
        Duration::from_millis(100),
        client.disconnect(Duration::from_secs(10)),
    )
    .await;
    assert!(given_up.is_err(), "the acknowledgement is held");
    delivery
}

#[tokio::test(start_paused = true)]
async fn a_disconnect_given_up_by_a_timeout_still_ends_the_client_and_resolves_its_deliveries() {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("cancel-disconnect"));
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    let delivery = a_disconnect_given_up_while_an_acknowledgement_is_held(&link, &client).await;
    assert!(
        matches!(
            client.publish("late", "x", QoS::AtMostOnce, false).await,
            Err(Error::Closed)
        ),
        "the disconnect refuses new messages from the call on"
    );
    within("the event loop ends", runner).await.unwrap();
    assert!(matches!(
        within("delivery", delivery.wait()).await,
        Err(Error::Closed)
    ));
    assert!(!client.is_connected());
}

#[tokio::test(start_paused = true)]
async fn dropping_every_handle_ends_the_subscription_streams_that_live_on() {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("dropped-client"));
    let mut subscription = within("subscribe", client.subscribe("t", QoS::AtLeastOnce))
        .await
        .unwrap();
    let mut messages = client.messages();
    let mut states = client.states();
    drop(client);
    assert_eq!(within("subscription end", subscription.next()).await, None);
    assert_eq!(within("messages end", messages.next()).await, None);
    let mut last = None;
    while let Some(state) = within("states end", states.next()).await {
        last = Some(state);
    }
    assert_eq!(last, Some(ConnectionState::Disconnected));
    within("the event loop ends", runner).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn zero_timeouts_report_what_is_already_known() {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("zero"));
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    client
        .wait_connected(Duration::ZERO)
        .await
        .expect("already connected: a zero timeout says so");
    let delivery = client
        .publish("q0", "x", QoS::AtMostOnce, false)
        .await
        .unwrap();
    delivery
        .wait_timeout(Duration::ZERO)
        .await
        .expect("QoS 0 is done at once");
    let delivery = client
        .publish("q1", "x", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    delivery
        .wait_timeout(Duration::ZERO)
        .await
        .expect("acknowledged a second ago");
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_second_disconnect_after_one_given_up_waits_for_the_same_end() {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("disconnect-twice"));
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    let mut subscription = within("subscribe", client.subscribe("t", QoS::AtLeastOnce))
        .await
        .unwrap();
    let _delivery = a_disconnect_given_up_while_an_acknowledgement_is_held(&link, &client).await;
    let (first, second) = within("both disconnects", async {
        tokio::join!(
            client.disconnect(Duration::from_secs(20)),
            client.disconnect(Duration::from_secs(20))
        )
    })
    .await;
    for outcome in [first, second] {
        assert!(
            matches!(outcome, Ok(()) | Err(Error::Unacknowledged(1))),
            "{outcome:?}"
        );
    }
    assert_eq!(within("end", subscription.next()).await, None);
    within("the event loop ends", runner).await.unwrap();
    assert!(matches!(
        client.wait_connected(WAIT).await,
        Err(Error::Closed)
    ));
}

#[tokio::test(start_paused = true)]
async fn a_consumer_that_reconnects_on_a_qos1_message_does_not_get_it_again_and_again() {
    let link = Link::default();
    let options = link
        .options("reconnect-on-message")
        .clean_start(false)
        .session_expiry(300);
    let (client, runner) = link.spawn(&options);
    let mut subscription = within("subscribe", client.subscribe("cmd", QoS::AtLeastOnce))
        .await
        .unwrap();
    link.broker(|b| b.inject("cmd", b"reconnect", QoS::AtLeastOnce, false));
    let mut reconnects = 0;
    while let Ok(Some(message)) = tokio::time::timeout(QUIET, subscription.next()).await {
        assert_eq!(&message.payload[..], b"reconnect");
        reconnects += 1;
        if reconnects > 5 {
            break;
        }
        client.reconnect().unwrap();
    }
    assert_eq!(reconnects, 1, "the message came back after each reconnect");
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}
