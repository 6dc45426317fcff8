//! `Options::ack_timeout` while the broker is unreachable, then back: what a user coming from paho's
//! `command_timeout` meets. The waits fail with `Error::Timeout`; what they waited for still happens once the
//! broker is back, and the user can pick it up again (subscribe again, wait on nothing lost). Also `Client::ping`
//! around the connection's edges. The async std client over the in-memory [`Link`], in tokio's virtual time.

use core::time::Duration;

use futures_util::StreamExt;
use mqtt_core::client::Error;
use mqtt_core::codec::QoS;
use mqtt_core::session::PingError;
use mqtt_test::tokio_link::{Link, within};

const WAIT: Duration = Duration::from_secs(60);
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// A client with a 5 s `ack_timeout`, connected over `link`, whose broker then becomes unreachable: the
/// connection is cut and every open is refused until `back` is called.
async fn offline(
    link: &Link,
    id: &str,
) -> (mqtt_core::client::Client, tokio::task::JoinHandle<()>) {
    let options = link.options(id).ack_timeout(Some(ACK_TIMEOUT));
    let (client, runner) = link.spawn(&options);
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    link.settings(|s| s.refuse_opens = u32::MAX);
    link.broker(|b| b.close_connection());
    within("loss", async {
        while client.is_connected() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    (client, runner)
}

fn back(link: &Link) {
    link.settings(|s| s.refuse_opens = 0);
}

#[tokio::test(start_paused = true)]
async fn a_subscribe_timed_out_while_offline_is_made_once_back_and_subscribing_again_receives() {
    let link = Link::default();
    let (client, runner) = offline(&link, "sub-offline").await;
    let outcome = within("subscribe", client.subscribe("late/#", QoS::AtLeastOnce)).await;
    assert!(matches!(outcome, Err(Error::Timeout)), "{outcome:?}");
    back(&link);
    within("reconnect", client.wait_connected(WAIT))
        .await
        .unwrap();
    assert!(
        link.wait_for(
            |b| b.subscriptions().iter().any(|s| s.filter == "late/#"),
            WAIT
        )
        .await
    );
    // The documented way back to the messages: subscribe again.
    let mut subscription = within(
        "subscribe again",
        client.subscribe("late/#", QoS::AtLeastOnce),
    )
    .await
    .unwrap();
    link.broker(|b| b.inject("late/1", b"hello", QoS::AtLeastOnce, false));
    let message = within("message", subscription.next()).await.unwrap();
    assert_eq!(message.topic, "late/1");
    runner.abort();
}

#[tokio::test(start_paused = true)]
async fn an_unsubscribe_timed_out_while_offline_is_applied_once_back() {
    let link = Link::default();
    let options = link.options("unsub-offline").ack_timeout(Some(ACK_TIMEOUT));
    let (client, runner) = link.spawn(&options);
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    let subscription = within("subscribe", client.subscribe("gone/#", QoS::AtLeastOnce))
        .await
        .unwrap();
    link.settings(|s| s.refuse_opens = u32::MAX);
    link.broker(|b| b.close_connection());
    within("loss", async {
        while client.is_connected() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let outcome = within("unsubscribe", client.unsubscribe(["gone/#"])).await;
    assert!(matches!(outcome, Err(Error::Timeout)), "{outcome:?}");
    back(&link);
    within("reconnect", client.wait_connected(WAIT))
        .await
        .unwrap();
    assert!(
        link.wait_for(
            |b| !b.subscriptions().iter().any(|s| s.filter == "gone/#"),
            WAIT
        )
        .await,
        "{:?}",
        link.broker(|b| b.subscriptions().to_vec())
    );
    drop(subscription);
    runner.abort();
}

#[tokio::test(start_paused = true)]
async fn messages_whose_wait_timed_out_while_offline_go_out_once_back_each_once() {
    for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let link = Link::default();
        let (client, runner) = offline(&link, "pub-offline").await;
        let delivery = client.publish("queued", "x", qos, false).await.unwrap();
        let id = delivery.id();
        let outcome = within("wait", delivery.wait()).await;
        assert!(
            matches!(outcome, Err(Error::Timeout)),
            "{qos:?}: {outcome:?}"
        );
        back(&link);
        within("reconnect", client.wait_connected(WAIT))
            .await
            .unwrap();
        // A second message after the first: its id follows, and both are acknowledged.
        let next = client.publish("queued", "y", qos, false).await.unwrap();
        assert_eq!(next.id(), id + 1);
        within("next", next.wait()).await.unwrap();
        within("disconnect", client.disconnect(WAIT)).await.unwrap();
        assert_eq!(link.broker(|b| b.received().len()), 2, "{qos:?}");
        runner.abort();
    }
}

#[tokio::test(start_paused = true)]
async fn ping_while_offline_or_connecting_is_not_connected_and_ping_after_a_disconnect_call_is_answered()
 {
    let link = Link::default();
    let (client, runner) = offline(&link, "ping-offline").await;
    assert!(matches!(
        client.ping(WAIT).await,
        Err(Error::Ping(PingError::NotConnected))
    ));
    link.settings(|s| s.connect_delay = Duration::from_secs(2));
    back(&link);
    client.reconnect().unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!client.is_connected());
    assert!(matches!(
        client.ping(WAIT).await,
        Err(Error::Ping(PingError::NotConnected))
    ));
    within("reconnect", client.wait_connected(WAIT))
        .await
        .unwrap();
    within("ping", client.ping(WAIT)).await.unwrap();
    // A ping in flight when the application disconnects ends, whatever way, before its own timeout.
    link.settings(|s| s.latency = Duration::from_secs(1));
    let ping = client.ping(WAIT);
    let disconnect = client.disconnect(WAIT);
    let (ping, disconnect) = within("ping and disconnect", async {
        futures_util::join!(ping, disconnect)
    })
    .await;
    assert!(!matches!(ping, Err(Error::Timeout)), "{ping:?}");
    disconnect.unwrap();
    runner.abort();
}

#[tokio::test(start_paused = true)]
async fn recovered_messages_have_the_first_delivery_ids_and_new_ones_follow() {
    use mqtt_core::client::Persistence;

    let link = Link::default();
    let path = std::env::temp_dir().join(format!("mqtt-review9-ids-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let stored = |options: mqtt_core::client::Options| {
        options
            .clean_start(false)
            .session_expiry(3600)
            .persistence(Persistence::file(&path))
    };
    // A first run that never reaches the broker: its messages stay in the store.
    link.settings(|s| s.refuse_opens = u32::MAX);
    let (client, event_loop) = link.client(&stored(link.options("ids-stored")));
    for i in 0..3u8 {
        drop(
            client
                .publish("ids", [i], QoS::AtLeastOnce, false)
                .await
                .unwrap(),
        );
    }
    drop((client, event_loop));
    back(&link);
    let (client, runner) = link.spawn(&stored(link.options("ids-stored")));
    let recovered = client.recovered();
    let ids: Vec<u64> = recovered.iter().map(|(_, d)| d.id()).collect();
    assert_eq!(ids, [1, 2, 3]);
    let next = client
        .publish("ids", "new", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    assert_eq!(next.id(), 4);
    for (_, delivery) in recovered {
        within("recovered", delivery.wait()).await.unwrap();
    }
    within("new", next.wait()).await.unwrap();
    assert_eq!(link.broker(|b| b.received().len()), 4);
    runner.abort();
    let _ = std::fs::remove_file(&path);
}

#[tokio::test(start_paused = true)]
async fn a_ping_with_keep_alive_off_to_a_broker_that_stops_reading_loses_the_connection_and_reconnects()
 {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("ping-ka0").keep_alive(Duration::ZERO));
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    link.settings(|s| s.stop_reading = true);
    let outcome = within("ping", client.ping(WAIT)).await;
    assert!(
        matches!(
            outcome,
            Err(Error::ConnectionLost(
                mqtt_core::session::Disconnection::KeepAliveTimeout
            ))
        ),
        "{outcome:?}"
    );
    link.settings(|s| s.stop_reading = false);
    within("reconnect", client.wait_connected(WAIT))
        .await
        .unwrap();
    within("ping again", client.ping(WAIT)).await.unwrap();
    runner.abort();
}
