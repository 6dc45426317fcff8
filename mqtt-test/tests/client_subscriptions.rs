//! Subscriptions of the async std client over the in-memory [`Link`], in tokio's virtual time: subscribing from
//! the connection-state stream on every connection, concurrent and repeated subscriptions of one filter,
//! messages that arrive before their SUBACK, and resuming a persistent session the documented way. (Issue "No
//! message lost, stuck or misrouted", items 1 and 6.)

use core::time::Duration;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use futures_util::future::join;
use mqtt_core::client::{Client, ConnectionState, Subscription};
use mqtt_core::codec::{PacketType, ProtocolVersion, QoS};
use mqtt_core::session::Disconnection;
use mqtt_test::tokio_link::{Link, within};
use mqtt_test::{BrokerConfig, Direction};
use tokio::sync::watch;

const WAIT: Duration = Duration::from_secs(60);

/// What the application of the subscribe-on-connect test saw.
#[derive(Default)]
struct Seen {
    /// Per subscription (in the order made), the payloads received.
    messages: Vec<Vec<String>>,
    states: Vec<ConnectionState>,
}

/// Reads `subscription` into slot `index` of `seen` until it ends.
fn read_into(mut subscription: Subscription, index: usize, seen: Arc<Mutex<Seen>>) {
    tokio::spawn(async move {
        while let Some(message) = subscription.next().await {
            let payload = String::from_utf8(message.payload.to_vec()).unwrap();
            seen.lock().unwrap().messages[index].push(payload);
        }
    });
}

/// The habit of paho users: subscribe again from the connection callback, on every `Connected`.
fn subscribe_on_every_connect(
    client: &Client,
    filter: &'static str,
    seen: Arc<Mutex<Seen>>,
) -> watch::Receiver<usize> {
    let (completed, completions) = watch::channel(0);
    let mut states = client.states();
    let client = client.clone();
    tokio::spawn(async move {
        while let Some(state) = states.next().await {
            let connected = matches!(state, ConnectionState::Connected { .. });
            seen.lock().unwrap().states.push(state);
            if connected {
                let subscription = client
                    .subscribe(filter, QoS::AtLeastOnce)
                    .await
                    .expect("every subscribe request completes");
                let index = {
                    let mut seen = seen.lock().unwrap();
                    seen.messages.push(Vec::new());
                    seen.messages.len() - 1
                };
                read_into(subscription, index, seen.clone());
                completed.send_modify(|n| *n += 1);
            }
        }
    });
    completions
}

#[tokio::test(start_paused = true)]
async fn subscribing_from_the_state_stream_through_100_forced_reconnects_delivers_each_message_once_per_subscription()
 {
    const RECONNECTS: usize = 100;
    for version in [ProtocolVersion::V5, ProtocolVersion::V311] {
        let link = Link::default();
        let (client, runner) = link.spawn(&link.options("on-connect").version(version));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let mut completions = subscribe_on_every_connect(&client, "t/#", seen.clone());
        for round in 0..=RECONNECTS {
            tokio::time::timeout(WAIT, completions.wait_for(|n| *n == round + 1))
                .await
                .unwrap_or_else(|_| {
                    panic!("{version}: the subscribe of connection {round} never completed")
                })
                .unwrap();
            link.broker(|b| {
                assert!(b.inject(
                    &format!("t/{round}"),
                    round.to_string().as_bytes(),
                    QoS::AtLeastOnce,
                    false
                ));
            });
            assert!(
                link.wait_for(|b| b.pending_to_client() == 0, WAIT).await,
                "{version}: message {round} acknowledged"
            );
            if round < RECONNECTS {
                client.reconnect().unwrap();
            }
        }
        // Subscription k was made on connection k: it gets messages k..=100, each once, in order.
        tokio::time::sleep(Duration::from_secs(1)).await;
        {
            let seen = seen.lock().unwrap();
            assert_eq!(seen.messages.len(), RECONNECTS + 1, "{version}");
            for (k, got) in seen.messages.iter().enumerate() {
                let expected: Vec<String> = (k..=RECONNECTS).map(|i| i.to_string()).collect();
                assert_eq!(got, &expected, "{version}: subscription {k}");
            }
            let protocol_errors: Vec<_> = seen
                .states
                .iter()
                .filter(|s| matches!(s, ConnectionState::Lost(Disconnection::Protocol(_))))
                .collect();
            assert!(protocol_errors.is_empty(), "{version}: {protocol_errors:?}");
        }
        link.broker(|broker| {
            assert_eq!(
                broker.connections().len(),
                RECONNECTS + 1,
                "{version}: one connection per forced reconnect"
            );
            assert!(
                broker.violations().is_empty(),
                "{version}: {:?}",
                broker.violations()
            );
            assert_eq!(
                broker.subscriptions().len(),
                1,
                "{version}: the broker holds one subscription per filter"
            );
        });
        client.disconnect(WAIT).await.unwrap();
        runner.await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn two_concurrent_subscribes_of_one_filter_both_complete_and_both_receive() {
    for version in [ProtocolVersion::V5, ProtocolVersion::V311] {
        let link = Link::default();
        let (client, runner) = link.spawn(&link.options("twice").version(version));
        let (first, second) = join(
            client.subscribe("x/#", QoS::AtLeastOnce),
            client.subscribe("x/#", QoS::AtMostOnce),
        )
        .await;
        let (mut first, mut second) = (first.unwrap(), second.unwrap());
        assert_eq!(first.granted(), [Ok(QoS::AtLeastOnce)]);
        assert_eq!(second.granted(), [Ok(QoS::AtMostOnce)]);
        link.broker(|b| b.inject("x/1", b"one", QoS::AtLeastOnce, false));
        assert_eq!(
            within("first", first.next()).await.unwrap().payload,
            "one",
            "{version}"
        );
        assert_eq!(
            within("second", second.next()).await.unwrap().payload,
            "one",
            "{version}"
        );
        link.broker(|b| {
            assert_eq!(b.subscriptions().len(), 1);
            assert_eq!(
                b.subscriptions()[0].granted,
                QoS::AtMostOnce,
                "MQTT's replace rule: the latest request"
            );
            assert!(b.violations().is_empty(), "{:?}", b.violations());
        });
        assert!(client.is_connected());
        assert_eq!(
            link.opens().len(),
            1,
            "{version}: no protocol error ended the connection"
        );
        client.disconnect(WAIT).await.unwrap();
        runner.await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn subscribing_a_filter_again_later_keeps_the_first_subscription_receiving() {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("again"));
    let mut first = client.subscribe("y/#", QoS::AtLeastOnce).await.unwrap();
    link.broker(|b| b.inject("y/1", b"1", QoS::AtLeastOnce, false));
    assert_eq!(within("first", first.next()).await.unwrap().payload, "1");
    let mut second = client.subscribe("y/#", QoS::AtLeastOnce).await.unwrap();
    link.broker(|b| b.inject("y/2", b"2", QoS::AtLeastOnce, false));
    assert_eq!(
        within("first", first.next()).await.unwrap().payload,
        "2",
        "the first subscription did not end"
    );
    assert_eq!(within("second", second.next()).await.unwrap().payload, "2");
    // Dropping one leaves the other routed.
    drop(second);
    link.broker(|b| b.inject("y/3", b"3", QoS::AtLeastOnce, false));
    assert_eq!(within("first", first.next()).await.unwrap().payload, "3");
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
    assert!(
        within("first", first.next()).await.is_none(),
        "the stream ends with the client"
    );
}

#[tokio::test(start_paused = true)]
async fn a_message_that_arrives_before_its_suback_reaches_the_new_subscription() {
    // §3.8.4: the broker may send matching (retained, queued) messages before the SUBACK.
    for version in [ProtocolVersion::V5, ProtocolVersion::V311] {
        let link = Link::new(BrokerConfig {
            retained_before_suback: true,
            ..BrokerConfig::default()
        });
        link.broker(|b| b.inject("early/retained", b"kept", QoS::AtLeastOnce, true));
        let (client, runner) = link.spawn(&link.options("early-sub").version(version));
        let mut sub = client.subscribe("early/#", QoS::AtLeastOnce).await.unwrap();
        let message = tokio::time::timeout(WAIT, sub.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (message.topic.as_str(), message.retain),
            ("early/retained", true),
            "{version}"
        );
        let log = link.broker(|b| b.log().to_vec());
        let publish = log
            .iter()
            .position(|p| p.packet_type == PacketType::Publish)
            .unwrap();
        let suback = log
            .iter()
            .position(|p| p.packet_type == PacketType::SubAck)
            .unwrap();
        assert!(publish < suback, "the broker did send it first");
        assert!(
            link.wait_for(|b| b.pending_to_client() == 0, WAIT).await,
            "{version}: acknowledged once taken"
        );
        client.disconnect(WAIT).await.unwrap();
        runner.await.unwrap();
    }
}

/// A persistent session whose broker holds `count` QoS 1 messages for `r/#` while the client is away.
async fn persistent_session_with_queued_messages(link: &Link, id: &str, count: usize) {
    let options = link.options(id).clean_start(false).session_expiry(3600);
    let (client, runner) = link.spawn(&options);
    let _sub = client.subscribe("r/#", QoS::AtLeastOnce).await.unwrap();
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
    link.broker(|b| {
        for i in 0..count {
            b.inject(
                &format!("r/{i}"),
                i.to_string().as_bytes(),
                QoS::AtLeastOnce,
                false,
            );
        }
        assert_eq!(b.pending_to_client(), count);
    });
}

#[tokio::test(start_paused = true)]
async fn resuming_a_persistent_session_with_connect_then_subscribe_loses_none_of_the_queued_messages()
 {
    for version in [ProtocolVersion::V5, ProtocolVersion::V311] {
        let link = Link::default();
        persistent_session_with_queued_messages(&link, "resume", 100).await;
        let options = link
            .options("resume")
            .version(version)
            .clean_start(false)
            .session_expiry(3600);
        let (client, runner) = link.spawn(&options);
        client.wait_connected(WAIT).await.unwrap();
        // The broker resends at once; the application subscribes a moment later, as the docs say.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut sub = client.subscribe("r/#", QoS::AtLeastOnce).await.unwrap();
        for i in 0..100 {
            let message = tokio::time::timeout(WAIT, sub.next())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(message.topic, format!("r/{i}"), "{version}");
        }
        assert!(link.wait_for(|b| b.pending_to_client() == 0, WAIT).await);
        assert!(
            tokio::time::timeout(Duration::from_secs(1), sub.next())
                .await
                .is_err(),
            "{version}: nothing twice"
        );
        client.disconnect(WAIT).await.unwrap();
        runner.await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn messages_matching_nothing_wait_bounded_for_a_late_consumer_and_hold_back_their_acknowledgements()
 {
    const CAPACITY: usize = 8;
    let link = Link::default();
    persistent_session_with_queued_messages(&link, "late", 50).await;
    let options = link
        .options("late")
        .clean_start(false)
        .session_expiry(3600)
        .message_capacity(CAPACITY);
    let (client, runner) = link.spawn(&options);
    client.wait_connected(WAIT).await.unwrap();
    tokio::time::sleep(Duration::from_secs(120)).await;
    let received = client.stats().messages_received;
    assert!(
        received <= CAPACITY as u64 + 1,
        "{received} read with nobody to take them: unbounded"
    );
    assert_eq!(
        link.broker(|b| b.count(Direction::ClientToBroker, PacketType::PubAck)),
        0,
        "not acknowledged into the void"
    );
    assert!(client.is_connected());
    // The late consumer: every message once, in order.
    let mut all = client.messages();
    for i in 0..50 {
        let message = tokio::time::timeout(WAIT, all.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(message.topic, format!("r/{i}"));
    }
    assert!(link.wait_for(|b| b.pending_to_client() == 0, WAIT).await);
    assert_eq!(
        link.broker(|b| b.count(Direction::ClientToBroker, PacketType::PubAck)),
        50
    );
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn resuming_with_more_queued_messages_than_the_capacity_still_completes_the_subscribe_and_delivers_all()
 {
    // The broker sends what it queued before the SUBACK; the new subscription cannot be read before its SUBACK:
    // were it bounded like the others, the client would pause reading in front of the SUBACK for good.
    const CAPACITY: usize = 8;
    for version in [ProtocolVersion::V5, ProtocolVersion::V311] {
        let link = Link::default();
        persistent_session_with_queued_messages(&link, "resume-many", 60).await;
        let options = link
            .options("resume-many")
            .version(version)
            .clean_start(false)
            .session_expiry(3600)
            .message_capacity(CAPACITY);
        let (client, runner) = link.spawn(&options);
        within("connected", client.wait_connected(WAIT))
            .await
            .unwrap();
        let mut sub = within("the subscribe", client.subscribe("r/#", QoS::AtLeastOnce))
            .await
            .unwrap();
        for i in 0..60 {
            let message = within("a queued message", sub.next()).await.unwrap();
            assert_eq!(message.topic, format!("r/{i}"), "{version}");
        }
        assert!(link.wait_for(|b| b.pending_to_client() == 0, WAIT).await);
        client.disconnect(WAIT).await.unwrap();
        runner.await.unwrap();
    }
}
