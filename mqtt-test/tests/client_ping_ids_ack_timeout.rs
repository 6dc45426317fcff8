//! The async std client over the in-memory [`Link`], in tokio's virtual time: `Client::ping` (a PINGREQ now, its
//! round trip, the keep alive's PINGRESP deadline), `Delivery::id` (one id per message over the client's life) and
//! `Options::ack_timeout` (a bound on the waits for the broker's answers that lose nothing when it passes).

use core::time::Duration;

use mqtt_core::client::Error;
use mqtt_core::codec::QoS;
use mqtt_core::session::{Disconnection, PingError};
use mqtt_test::tokio_link::{Link, within};

const WAIT: Duration = Duration::from_secs(60);

/// A client with a 5 s `ack_timeout`, connected over `link`.
async fn connected_with_ack_timeout(
    link: &Link,
    id: &str,
) -> (mqtt_core::client::Client, tokio::task::JoinHandle<()>) {
    let options = link.options(id).ack_timeout(Some(Duration::from_secs(5)));
    let (client, runner) = link.spawn(&options);
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    (client, runner)
}

/// [`connected_with_ack_timeout`], with one QoS 1 message whose PUBACK the broker holds.
async fn publish_held(
    link: &Link,
    id: &str,
) -> (
    mqtt_core::client::Client,
    tokio::task::JoinHandle<()>,
    mqtt_core::client::Delivery,
) {
    let (client, runner) = connected_with_ack_timeout(link, id).await;
    link.broker(|b| b.hold_acks());
    let delivery = client
        .publish("slow", "x", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    (client, runner, delivery)
}

#[tokio::test(start_paused = true)]
async fn ping_returns_the_round_trip_of_a_pingreq_the_broker_answered() {
    let link = Link::default();
    let latency = Duration::from_millis(25);
    link.settings(|s| s.latency = latency);
    // Keep alive far off: the only PINGREQ is the application's.
    let (client, runner) = link.spawn(&link.options("ping").keep_alive(Duration::from_secs(600)));
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    let before = link.broker(|b| b.pings());
    let round_trip = within("ping", client.ping(WAIT)).await.unwrap();
    // [MQTT-3.12.4-1]: the broker answers PINGREQ with PINGRESP.
    assert_eq!(link.broker(|b| b.pings()), before + 1);
    assert_eq!(round_trip, latency * 2);
    assert!(client.is_connected());
    runner.abort();
}

#[tokio::test(start_paused = true)]
async fn ping_before_the_connection_is_a_typed_error_and_sends_nothing() {
    let link = Link::default();
    let (client, _event_loop) = link.client(&link.options("ping-early"));
    assert!(matches!(
        client.ping(WAIT).await,
        Err(Error::Ping(PingError::NotConnected))
    ));
    assert_eq!(link.broker(|b| b.pings()), 0);
}

#[tokio::test(start_paused = true)]
async fn two_pings_at_once_send_one_pingreq_and_both_get_its_answer() {
    let link = Link::default();
    let (client, runner) = link.spawn(
        &link
            .options("ping-twice")
            .keep_alive(Duration::from_secs(600)),
    );
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    let before = link.broker(|b| b.pings());
    let (first, second) = within("pings", async {
        futures_util::join!(client.ping(WAIT), client.ping(WAIT))
    })
    .await;
    assert_eq!(first.unwrap(), second.unwrap());
    assert_eq!(link.broker(|b| b.pings()), before + 1);
    runner.abort();
}

#[tokio::test(start_paused = true)]
async fn a_ping_the_broker_never_answers_ends_the_connection_at_the_ping_timeout() {
    let link = Link::default();
    let options = link
        .options("ping-silent")
        .keep_alive(Duration::from_secs(600))
        .ping_timeout(Duration::from_secs(5));
    let (client, runner) = link.spawn(&options);
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    link.broker(|b| b.set_answer_pings(false));
    // The caller's timeout is the longer one: the session's deadline ends the connection first.
    let outcome = within("ping", client.ping(WAIT)).await;
    assert!(
        matches!(
            outcome,
            Err(Error::ConnectionLost(Disconnection::KeepAliveTimeout))
        ),
        "{outcome:?}"
    );
    runner.abort();
}

#[tokio::test(start_paused = true)]
async fn a_ping_shorter_than_the_answer_times_out_and_leaves_the_connection_up() {
    let link = Link::default();
    link.settings(|s| s.latency = Duration::from_millis(500));
    let (client, runner) = link.spawn(
        &link
            .options("ping-short")
            .keep_alive(Duration::from_secs(600)),
    );
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    let outcome = client.ping(Duration::from_millis(100)).await;
    assert!(matches!(outcome, Err(Error::Timeout)), "{outcome:?}");
    // The PINGREQ went out all the same, and its answer comes.
    assert!(link.wait_for(|b| b.pings() == 1, WAIT).await);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(client.is_connected());
    runner.abort();
}

#[tokio::test(start_paused = true)]
async fn delivery_ids_are_unique_and_follow_the_publish_order_at_every_qos() {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("ids"));
    // Before the connection too: queued messages get theirs at once.
    let mut ids = Vec::new();
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        ids.push(client.publish("ids", "x", qos, false).await.unwrap().id());
    }
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    // Packet identifiers are reused once acknowledged; these ids are not.
    for _ in 0..3 {
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            let delivery = client.publish("ids", "x", qos, false).await.unwrap();
            ids.push(delivery.id());
            within("acknowledged", delivery.wait()).await.unwrap();
        }
    }
    let expected: Vec<u64> = (1..=12).collect();
    assert_eq!(ids, expected);
    runner.abort();
}

#[tokio::test(start_paused = true)]
async fn ack_timeout_bounds_a_delivery_wait_and_the_message_is_acknowledged_later_all_the_same() {
    let link = Link::default();
    let (client, runner, delivery) = publish_held(&link, "ack-timeout").await;
    let started = tokio::time::Instant::now();
    let outcome = within("wait", delivery.wait()).await;
    assert!(matches!(outcome, Err(Error::Timeout)), "{outcome:?}");
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    // Not lost: still in flight, acknowledged once the broker answers (a graceful disconnect finds nothing
    // unacknowledged), and sent once.
    link.broker(|b| b.release_acks());
    within("disconnect", client.disconnect(WAIT)).await.unwrap();
    assert_eq!(link.broker(|b| b.received().len()), 1);
    runner.abort();
}

#[tokio::test(start_paused = true)]
async fn a_wait_with_its_own_timeout_keeps_the_callers_not_the_ack_timeout() {
    let link = Link::default();
    let (_client, runner, delivery) = publish_held(&link, "own-timeout").await;
    let releaser = {
        let link = link.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(20)).await;
            link.broker(|b| b.release_acks());
        })
    };
    within("wait", delivery.wait_timeout(Duration::from_secs(30)))
        .await
        .unwrap();
    releaser.await.unwrap();
    runner.abort();
}

#[tokio::test(start_paused = true)]
async fn ack_timeout_bounds_a_subscribe_to_a_hung_broker_which_still_gets_the_subscription() {
    let link = Link::default();
    let (client, runner) = connected_with_ack_timeout(&link, "hung-subscribe").await;
    link.settings(|s| s.stop_reading = true);
    let outcome = within("subscribe", client.subscribe("late/#", QoS::AtLeastOnce)).await;
    assert!(matches!(outcome, Err(Error::Timeout)), "{outcome:?}");
    link.settings(|s| s.stop_reading = false);
    assert!(
        link.wait_for(
            |b| b.subscriptions().iter().any(|s| s.filter == "late/#"),
            WAIT
        )
        .await
    );
    runner.abort();
}

#[tokio::test(start_paused = true)]
async fn without_ack_timeout_a_subscribe_to_a_hung_broker_waits_as_long_as_it_takes() {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("patient"));
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    link.settings(|s| s.stop_reading = true);
    let subscribe = client.subscribe("late/#", QoS::AtLeastOnce);
    let outcome = tokio::time::timeout(Duration::from_secs(3600), subscribe).await;
    assert!(outcome.is_err(), "answered without a broker: {outcome:?}");
    runner.abort();
}
