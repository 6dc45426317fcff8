//! The async std client ([`mqtt_core::client::EventLoop`]) connecting over the in-memory [`Link`] in tokio's
//! virtual time: a connection attempt that commands cannot cancel, commands answered before the runner runs, a
//! refused connection closed at once, statistics that are current. (Issue "The std clients' hot path".)

use core::time::Duration;

use futures_util::StreamExt;
use mqtt_core::client::{ConnectionState, Error};
use mqtt_core::codec::{PacketType, QoS, ReasonCode};
use mqtt_core::session::ConnectRefusal;
use mqtt_test::Direction;
use mqtt_test::tokio_link::{Link, OpenOutcome, within};

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(start_paused = true)]
async fn a_publish_every_100_ms_during_a_slow_tls_like_connect_never_cancels_the_attempt() {
    let link = Link::default();
    link.settings(|s| {
        s.latency = Duration::from_millis(150);
        // TCP and TLS handshakes: three round trips.
        s.connect_delay = Duration::from_millis(900);
    });
    let (client, event_loop) = link.client(
        &link
            .options("busy")
            .connect_timeout(Duration::from_secs(15)),
    );
    let connected = client.wait_connected(Duration::from_secs(15));
    let runner = tokio::spawn(event_loop.run());
    let publisher = {
        let client = client.clone();
        tokio::spawn(async move {
            let mut deliveries = Vec::new();
            for i in 0..50 {
                let delivery = client
                    .publish(format!("busy/{i}"), "x", QoS::AtLeastOnce, false)
                    .await
                    .expect("publish answers at once, connected or not");
                deliveries.push(delivery);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            deliveries
        })
    };
    connected
        .await
        .expect("the connection completes while commands keep coming");
    for delivery in publisher.await.unwrap() {
        delivery.wait_timeout(WAIT).await.unwrap();
    }
    let opens = link.opens();
    assert_eq!(
        opens.len(),
        1,
        "one transport open for one attempt: {opens:?}"
    );
    assert!(
        matches!(opens[0].outcome, OpenOutcome::Opened { .. }),
        "{opens:?}"
    );
    link.broker(|broker| {
        assert_eq!(broker.connections().len(), 1);
        let topics: Vec<_> = broker.received().iter().map(|m| m.topic.clone()).collect();
        let expected: Vec<_> = (0..50).map(|i| format!("busy/{i}")).collect();
        assert_eq!(topics, expected, "every message once, in order");
    });
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn every_reconnect_attempt_opens_exactly_one_transport_while_commands_flood() {
    let link = Link::default();
    link.settings(|s| {
        s.latency = Duration::from_millis(150);
        s.connect_delay = Duration::from_millis(900);
    });
    let (client, runner) = link.spawn(&link.options("flood"));
    client.wait_connected(WAIT).await.unwrap();
    let flood = {
        let client = client.clone();
        tokio::spawn(async move {
            for i in 0..200 {
                let _ = client
                    .publish(format!("f/{i}"), "x", QoS::AtMostOnce, false)
                    .await;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    // Three attempts cut short by the broker, each while commands arrive every 10 ms.
    for round in 1..=3 {
        let before = link.broker(|b| b.connections().len());
        link.broker(mqtt_test::FakeBroker::close_connection);
        assert!(
            link.wait_for(|b| b.connections().len() > before && b.is_connected(), WAIT)
                .await,
            "reconnected in round {round}"
        );
    }
    flood.await.unwrap();
    let opens = link.opens();
    assert!(
        opens
            .iter()
            .all(|o| matches!(o.outcome, OpenOutcome::Opened { .. })),
        "no attempt abandoned: {opens:?}"
    );
    assert_eq!(
        opens.len(),
        link.broker(|b| b.connections().len()),
        "one open per CONNECT"
    );
    assert_eq!(opens.len(), 4);
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn publish_before_the_event_loop_runs_returns_a_delivery_and_goes_out_on_connect() {
    let link = Link::default();
    let (client, event_loop) = link.client(&link.options("early"));
    let early = client
        .publish("early/1", "before", QoS::AtLeastOnce, false)
        .await
        .expect("answered without the event loop");
    let quick = client
        .try_publish("early/0", "qos 0", QoS::AtMostOnce, false)
        .unwrap();
    assert!(
        link.opens().is_empty(),
        "nothing on the network before the loop runs"
    );
    let runner = tokio::spawn(event_loop.run());
    early.wait_timeout(WAIT).await.unwrap();
    quick.wait().await.unwrap();
    link.broker(|broker| {
        let topics: Vec<_> = broker.received().iter().map(|m| m.topic.as_str()).collect();
        assert_eq!(topics, ["early/1", "early/0"]);
    });
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_refused_connection_is_closed_by_the_client_at_once() {
    // [MQTT-3.2.2-5]: after a refusing CONNACK the server closes the connection; the client must not rely on it.
    let link = Link::default();
    link.settings(|s| s.ignore_broker_close = true);
    link.broker(|b| b.refuse_connect(Some(ReasonCode::BAD_USER_NAME_OR_PASSWORD)));
    let (client, runner) = link.spawn(&link.options("refused").credentials("who", "wrong"));
    let outcome = client.wait_connected(WAIT).await;
    assert_eq!(
        outcome,
        Err(Error::Refused(ConnectRefusal::BadUserNameOrPassword))
    );
    let opens = link.opens();
    let OpenOutcome::Opened {
        closed_by_client,
        last_to_client,
        closed_by_broker,
        ..
    } = opens[0].outcome
    else {
        panic!("the connection opened: {opens:?}");
    };
    assert_eq!(
        closed_by_broker, None,
        "the link left closing to the client"
    );
    assert!(
        closed_by_client.is_some(),
        "the client closed the refused connection: {opens:?}"
    );
    assert_eq!(
        closed_by_client, last_to_client,
        "closed at the instant the refusal arrived, no timer in between"
    );
    assert_eq!(opens.len(), 1, "a permanent refusal is not retried");
    drop(client);
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn stats_count_what_happened_up_to_the_call() {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("stats"));
    client.wait_connected(WAIT).await.unwrap();
    let mut inbox = client.subscribe("in/#", QoS::AtLeastOnce).await.unwrap();
    for i in 1..=5u64 {
        client
            .publish("out", "x", QoS::AtLeastOnce, false)
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
        assert_eq!(
            client.stats().messages_sent,
            i,
            "counted by the time the delivery resolves"
        );
        link.broker(|b| b.inject("in/x", b"y", QoS::AtLeastOnce, false));
        within("inbox", inbox.recv()).await.unwrap();
        assert_eq!(
            client.stats().messages_received,
            i,
            "counted by the time the message is taken"
        );
    }
    let stats = client.stats();
    let sent = link.broker(|b| b.count(Direction::ClientToBroker, PacketType::Publish));
    assert_eq!(stats.messages_sent, sent as u64);
    assert!(stats.bytes_sent > 0 && stats.bytes_received > 0);
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn states_say_connected_then_lost_then_reconnecting_then_connected() {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("states"));
    let mut states = client.states();
    client.wait_connected(WAIT).await.unwrap();
    link.broker(mqtt_test::FakeBroker::close_connection);
    let mut seen = Vec::new();
    while let Some(state) = tokio::time::timeout(WAIT, states.next()).await.unwrap() {
        let connected = matches!(state, ConnectionState::Connected { .. });
        seen.push(state);
        if connected && seen.len() > 1 {
            break;
        }
    }
    assert!(
        matches!(
            seen[0],
            ConnectionState::Connected {
                session_present: false,
                ..
            }
        ),
        "{seen:?}"
    );
    assert!(matches!(seen[1], ConnectionState::Lost(_)), "{seen:?}");
    assert!(
        matches!(seen[2], ConnectionState::Reconnecting { attempt: 1, .. }),
        "{seen:?}"
    );
    assert!(
        matches!(seen.last(), Some(ConnectionState::Connected { .. })),
        "{seen:?}"
    );
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_client_whose_event_loop_was_aborted_is_not_connected_and_waits_for_a_connection_fail() {
    // Aborting the event loop's task (or dropping its future) drops the connection without DISCONNECT, as a
    // process that dies would. The handles then said they were still connected, and `wait_connected` succeeded
    // at once: a state listener replayed the last state, `Connected`, of a connection that was gone.
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("aborted"));
    client.wait_connected(WAIT).await.unwrap();
    let mut listening = client.states();
    runner.abort();
    assert!(runner.await.unwrap_err().is_cancelled());

    assert!(!client.is_connected());
    assert_eq!(client.wait_connected(WAIT).await, Err(Error::Closed));
    let mut seen = Vec::new();
    while let Some(state) = within("the end of the states", listening.next()).await {
        seen.push(state);
    }
    assert!(
        matches!(
            seen.as_slice(),
            [
                ConnectionState::Connected { .. },
                ConnectionState::Disconnected
            ]
        ),
        "the listener hears that the client ended: {seen:?}"
    );
    let late: Vec<_> = client.states().collect().await;
    assert_eq!(late, [ConnectionState::Disconnected], "a late listener too");
}

#[tokio::test(start_paused = true)]
async fn clean_start_false_alone_asks_a_5_0_broker_to_keep_the_session_as_3_1_1_does() {
    // paho's habit, clean_session=False, and nothing else: on 5.0 the Session Expiry Interval was 0, so the broker
    // dropped the session (and the messages published meanwhile) when the connection ended, while the same options
    // kept it on a 3.1.1 broker (Clean Session 0). Now it is "never expires" unless given.
    type Choose = fn(mqtt_core::client::Options) -> mqtt_core::client::Options;
    let cases: [(Choose, (bool, u32)); 5] = [
        (|options| options, (true, 0)),
        (|options| options.clean_start(false), (false, u32::MAX)),
        (
            |options| options.clean_start(false).session_expiry(60),
            (false, 60),
        ),
        (|options| options.session_expiry(60), (true, 60)),
        // A broker-assigned identifier: kept across this run's lost connections, for an hour after (the next run
        // gets another identifier).
        (
            |options| options.client_id("").clean_start(false),
            (false, 3600),
        ),
    ];
    for (choose, expected) in cases {
        let link = Link::default();
        let (client, runner) = link.spawn(&choose(link.options("expiry")));
        client.wait_connected(WAIT).await.unwrap();
        client.disconnect(WAIT).await.unwrap();
        runner.await.unwrap();
        let sent = link.broker(|broker| {
            let connect = &broker.connections()[0];
            (connect.clean_start, connect.session_expiry_interval)
        });
        assert_eq!(sent, expected);
    }
}
