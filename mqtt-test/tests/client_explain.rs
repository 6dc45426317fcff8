//! Issue 13 on the async std clients (the one [`mqtt_core::client::EventLoop`] under mqtt-tokio and mqtt-smol),
//! over the in-memory [`Link`] in tokio's virtual time: refusals typed and at once, `reconnect()` idempotent,
//! backoff that protects brokers, protocol version fallback, `disconnect(timeout)` that keeps its word. Virtual
//! time makes "at once" checkable: a wait for the connect timeout or a reconnect delay would show on the clock.

use core::time::Duration;

use futures_util::StreamExt;
use mqtt_core::client::{Client, ConnectionState, Error, Options};
use mqtt_core::codec::{ProtocolVersion, QoS, ReasonCode};
use mqtt_core::reconnect::ReconnectPolicy;
use mqtt_core::session::{ConnectRefusal, Disconnection};
use mqtt_test::tokio_link::{Link, OpenOutcome, within};
use mqtt_test::{BrokerConfig, V5Connect};

/// A connect timeout no test reaches: an outcome before it is an outcome at once.
const HOUR: Duration = Duration::from_secs(3600);
const WAIT: Duration = Duration::from_secs(60);

/// Options for `link` that only the outcome of the first round can end: an hour of connect timeout.
fn patient(link: &Link, id: &str) -> Options {
    link.options(id).connect_timeout(HOUR)
}

/// What `wait_connected` says for a client of `options` on `link`, and the virtual time it took.
async fn first_outcome(link: &Link, options: &Options) -> (Result<(), Error>, Duration, Client) {
    let (client, event_loop) = link.client(options);
    let outcome = client.wait_connected(HOUR);
    let started = link.elapsed();
    tokio::spawn(event_loop.run());
    let outcome = within("the first outcome", outcome).await;
    (outcome, link.elapsed() - started, client)
}

/// The states of `client` until `done` holds for one (included), at most a minute of virtual time.
async fn states_until(
    client: &Client,
    done: impl FnMut(&ConnectionState) -> bool,
) -> Vec<ConnectionState> {
    states_within(client, WAIT, done).await
}

/// The states of `client` until `done` holds for one (included), at most `limit` of virtual time.
async fn states_within(
    client: &Client,
    limit: Duration,
    mut done: impl FnMut(&ConnectionState) -> bool,
) -> Vec<ConnectionState> {
    let mut states = client.states();
    let mut seen = Vec::new();
    let all = async {
        while let Some(state) = states.next().await {
            let last = done(&state);
            seen.push(state);
            if last {
                break;
            }
        }
    };
    if tokio::time::timeout(limit, all).await.is_err() {
        panic!("timed out after {limit:?} of virtual time: {seen:?}");
    }
    seen
}

// ----- 13.1: refusals are typed and immediate -----

#[tokio::test(start_paused = true)]
async fn every_3_1_1_connack_refusal_code_reaches_wait_connected_as_itself_at_once() {
    // [MQTT-3.2.2-5]: a non-zero return code ends the attempt; codes 1 to 5 each have their meaning.
    let codes = [
        (1, ConnectRefusal::UnsupportedProtocolVersion),
        (2, ConnectRefusal::IdentifierRejected),
        (3, ConnectRefusal::ServerUnavailable),
        (4, ConnectRefusal::BadUserNameOrPassword),
        (5, ConnectRefusal::NotAuthorized),
    ];
    for (code, refusal) in codes {
        let link = Link::default();
        link.broker(|b| b.refuse_connect(Some(ReasonCode(code))));
        let options = patient(&link, "v311-refused").version(ProtocolVersion::V311);
        let (outcome, took, client) = first_outcome(&link, &options).await;
        assert_eq!(outcome, Err(Error::Refused(refusal)), "code {code}");
        assert!(
            took < Duration::from_millis(500),
            "code {code}: {took:?}, not at once"
        );
        assert!(!client.is_connected());
        link.broker(|b| assert_eq!(b.version(), None, "code {code}: nobody connected"));
    }
}

#[tokio::test(start_paused = true)]
async fn every_5_0_connack_refusal_reason_reaches_wait_connected_as_itself_at_once() {
    // Every Connect Reason Code of 0x80 and above the spec lists for CONNACK (§3.2.2.2).
    let named = |code: u8| match code {
        0x84 => ConnectRefusal::UnsupportedProtocolVersion,
        0x85 => ConnectRefusal::IdentifierRejected,
        0x86 => ConnectRefusal::BadUserNameOrPassword,
        0x87 => ConnectRefusal::NotAuthorized,
        0x88 => ConnectRefusal::ServerUnavailable,
        other => ConnectRefusal::Other(ReasonCode(other)),
    };
    let codes = [
        0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97,
        0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f,
    ];
    for code in codes {
        let link = Link::default();
        link.broker(|b| b.refuse_connect(Some(ReasonCode(code))));
        let options = patient(&link, "v5-refused").version(ProtocolVersion::V5);
        let (outcome, took, _client) = first_outcome(&link, &options).await;
        assert_eq!(
            outcome,
            Err(Error::Refused(named(code))),
            "code {code:#04x}"
        );
        assert!(
            took < Duration::from_millis(500),
            "code {code:#04x}: {took:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_refused_tcp_connection_is_reported_at_once_as_unreachable_not_as_a_lost_connection() {
    let link = Link::default();
    link.settings(|s| s.refuse_opens = 1);
    let (client, event_loop) = link.client(&patient(&link, "refused-tcp"));
    let outcome = client.wait_connected(HOUR);
    let mut states = client.states();
    tokio::spawn(event_loop.run());
    match within("the refusal", outcome).await {
        Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused),
        other => panic!("expected the refused connection, got {other:?}"),
    }
    assert!(link.elapsed() < Duration::from_millis(500));
    let first = within("a state", states.next()).await;
    assert!(
        matches!(&first, Some(ConnectionState::Unreachable(Error::Io(_)))),
        "a refused connection is not Lost(TransportClosed): {first:?}"
    );
    // The session keeps to its schedule: the next attempt connects.
    within("the reconnect", client.wait_connected(HOUR))
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn wait_connected_returns_the_last_cause_once_every_broker_of_the_list_failed_once() {
    let down = Link::default();
    down.settings(|s| s.refuse_opens = u32::MAX);
    let busy = Link::default();
    busy.broker(|b| b.refuse_connect(Some(ReasonCode(3))));
    let options = patient(&down, "failover")
        .version(ProtocolVersion::V311)
        .failover(&busy.url())
        .unwrap();
    let (outcome, took, _client) = first_outcome(&down, &options).await;
    assert_eq!(
        outcome,
        Err(Error::Refused(ConnectRefusal::ServerUnavailable)),
        "the cause of the round's last attempt"
    );
    assert!(took < Duration::from_millis(500), "{took:?}");
    assert_eq!(down.opens().len(), 1);
    assert_eq!(busy.opens().len(), 1, "both brokers tried once, at once");
}

#[tokio::test(start_paused = true)]
async fn with_keep_trying_wait_connected_waits_through_failed_rounds_for_the_connection() {
    let link = Link::default();
    link.settings(|s| s.refuse_opens = 3);
    let options = patient(&link, "keep-trying").keep_trying(true);
    let (outcome, took, client) = first_outcome(&link, &options).await;
    assert_eq!(outcome, Ok(()));
    assert!(client.is_connected());
    assert_eq!(link.opens().len(), 4);
    assert!(
        took >= Duration::from_secs(3),
        "three reconnect delays: {took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_broker_that_never_answers_connect_is_a_timeout_after_the_connect_timeout() {
    let link = Link::new(BrokerConfig {
        answer_connect: false,
        ..BrokerConfig::default()
    });
    let options = link.options("hung").connect_timeout(Duration::from_secs(5));
    let (outcome, took, _client) = first_outcome(&link, &options).await;
    assert_eq!(outcome, Err(Error::Timeout));
    assert_eq!(
        took,
        Duration::from_secs(5),
        "the connect timeout, no longer"
    );
}

// ----- 13.2: reconnect() is idempotent -----

#[tokio::test(start_paused = true)]
async fn reconnect_twice_in_a_row_ends_connected_under_the_manual_policy() {
    let link = Link::default();
    let options = link
        .options("twice")
        .reconnect(ReconnectPolicy::manual())
        .connect_timeout(Duration::from_secs(10));
    let (client, runner) = link.spawn(&options);
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    for calls in [2, 3] {
        let before = link.broker(|b| b.connections().len());
        for _ in 0..calls {
            client.reconnect().unwrap();
        }
        let seen = states_until(&client, |s| {
            matches!(
                s,
                ConnectionState::Connected { .. } | ConnectionState::GaveUp(_)
            )
        })
        .await;
        assert!(
            matches!(seen.last(), Some(ConnectionState::Connected { .. })),
            "{calls} calls: {seen:?}"
        );
        // Long past the connect timeout: still connected, nothing gave up.
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(client.is_connected(), "{calls} calls");
        assert!(
            link.broker(|b| b.is_connected() && b.connections().len() > before),
            "{calls} calls"
        );
    }
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_state_handler_that_reconnects_on_lost_and_on_gave_up_gets_the_connection_back() {
    // Seed 002's callbacks under the manual policy: a loss brings Lost, then GaveUp; the handler reconnects on
    // both, so two reconnect() calls follow each other.
    let link = Link::default();
    let options = link
        .options("handler")
        .reconnect(ReconnectPolicy::manual())
        .connect_timeout(Duration::from_secs(10));
    let (client, runner) = link.spawn(&options);
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    let handler = {
        let client = client.clone();
        let mut states = client.states();
        tokio::spawn(async move {
            let mut calls = 0;
            while let Some(state) = states.next().await {
                if matches!(state, ConnectionState::Lost(_) | ConnectionState::GaveUp(_)) {
                    calls += 1;
                    let _ = client.reconnect();
                }
                if calls >= 2 && matches!(state, ConnectionState::Connected { .. }) {
                    break;
                }
            }
            calls
        })
    };
    link.broker(mqtt_test::FakeBroker::close_connection);
    let calls = within("the handler", handler).await.unwrap();
    assert_eq!(calls, 2, "Lost and GaveUp each called reconnect()");
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(client.is_connected());
    assert!(link.broker(|b| b.is_connected()));
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn reconnect_then_disconnect_ends_disconnected() {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("then-disconnect"));
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    client.reconnect().unwrap();
    client.reconnect().unwrap();
    assert_eq!(within("disconnect", client.disconnect(WAIT)).await, Ok(()));
    within("the event loop", runner).await.unwrap();
    assert!(!client.is_connected());
    assert_eq!(client.reconnect(), Err(Error::Closed));
    assert!(link.wait_for(|b| !b.is_connected(), WAIT).await);
}

#[tokio::test(start_paused = true)]
async fn reconnect_during_a_graceful_disconnect_calls_it_off_and_ends_connected() {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("called-off"));
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    link.broker(mqtt_test::FakeBroker::hold_acks);
    let delivery = client
        .publish("held", "x", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    let disconnecting = {
        let client = client.clone();
        tokio::spawn(async move { client.disconnect(Duration::from_secs(20)).await })
    };
    tokio::task::yield_now().await;
    client.reconnect().unwrap();
    let outcome = within("the disconnect's answer", disconnecting)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        Err(Error::DisconnectCalledOff),
        "the disconnect says at once that it was called off"
    );
    within("connected again", client.wait_connected(WAIT))
        .await
        .unwrap();
    link.broker(mqtt_test::FakeBroker::release_acks);
    within("the held message", delivery.wait()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(client.is_connected());
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}

// ----- 13.3: backoff that protects brokers -----

/// The Reconnecting delays a client of `options` on `link` draws over `count` failed attempts.
async fn reconnect_delays(link: &Link, options: &Options, count: usize) -> Vec<Duration> {
    let (client, runner) = link.spawn(options);
    let mut delays = Vec::new();
    // 1 + 2 + ... + 32 + 60 + 60 s and their jitter: well within ten minutes.
    states_within(&client, Duration::from_secs(600), |state| {
        if let ConnectionState::Reconnecting { delay, .. } = state {
            delays.push(*delay);
        }
        delays.len() >= count
    })
    .await;
    runner.abort();
    delays
}

#[tokio::test(start_paused = true)]
async fn a_broker_that_accepts_and_drops_is_retried_on_the_growing_schedule() {
    let link = Link::new(BrokerConfig {
        drop_after_connack: true,
        ..BrokerConfig::default()
    });
    let delays = reconnect_delays(&link, &link.options("dropped"), 8).await;
    // 1, 2, 4 ... 32 s, then 60 s, each within the default ±25 % of jitter: never reset by a CONNACK.
    let base = [1, 2, 4, 8, 16, 32, 60, 60];
    for (delay, base) in delays.iter().zip(base) {
        let base = Duration::from_secs(base);
        assert!(
            *delay >= base.mul_f64(0.75) && *delay <= base.mul_f64(1.25),
            "{delay:?} for {base:?}: {delays:?}"
        );
    }
    // The broker saw the attempts that far apart.
    let opens = link.opens();
    let gaps: Vec<Duration> = opens
        .windows(2)
        .map(|pair| pair[1].started - pair[0].started)
        .collect();
    assert!(gaps.len() >= 7, "{opens:?}");
    assert!(
        gaps.windows(2).take(5).all(|pair| pair[1] > pair[0]),
        "growing: {gaps:?}"
    );
    assert!(
        opens
            .iter()
            .all(|o| matches!(o.outcome, OpenOutcome::Opened { .. })),
        "every attempt reached the broker and got its CONNACK: {opens:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn two_clients_from_default_options_draw_different_reconnect_delays() {
    let drop_all = || {
        Link::new(BrokerConfig {
            drop_after_connack: true,
            ..BrokerConfig::default()
        })
    };
    let (a, b) = (drop_all(), drop_all());
    // The options as an application makes them: no seed given.
    let options = |link: &Link| Options::new(&link.url()).unwrap();
    let first = reconnect_delays(&a, &options(&a), 5).await;
    let second = reconnect_delays(&b, &options(&b), 5).await;
    assert_ne!(first, second, "a fleet would reconnect in lockstep");
}

// ----- 13.5: disconnect(timeout) keeps its word -----

#[tokio::test(start_paused = true)]
async fn disconnect_returns_within_the_callers_timeout_and_counts_the_unacknowledged() {
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("short-timeout"));
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    link.broker(mqtt_test::FakeBroker::hold_acks);
    let mut deliveries = Vec::new();
    for i in 0..3 {
        deliveries.push(
            client
                .publish(format!("held/{i}"), "x", QoS::AtLeastOnce, false)
                .await
                .unwrap(),
        );
    }
    let started = link.elapsed();
    // Shorter than the 5 s the disconnect used to wait whatever the caller said.
    let outcome = client.disconnect(Duration::from_millis(300)).await;
    let took = link.elapsed() - started;
    assert_eq!(outcome, Err(Error::Unacknowledged(3)));
    assert!(took <= Duration::from_millis(300), "{took:?}");
    for delivery in deliveries {
        assert_eq!(
            delivery.wait().await,
            Err(Error::Closed),
            "told, not lost silently"
        );
    }
    runner.await.unwrap();
    assert!(link.wait_for(|b| !b.is_connected(), WAIT).await);
}

#[tokio::test(start_paused = true)]
async fn disconnect_waits_for_acknowledgements_that_come_in_time() {
    let link = Link::default();
    link.settings(|s| s.latency = Duration::from_millis(100));
    let (client, runner) = link.spawn(&link.options("in-time"));
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    let delivery = client
        .publish("acked", "x", QoS::ExactlyOnce, false)
        .await
        .unwrap();
    assert_eq!(client.disconnect(Duration::from_secs(5)).await, Ok(()));
    assert_eq!(delivery.wait().await, Ok(()));
    runner.await.unwrap();
    link.broker(|b| assert_eq!(b.received().len(), 1));
}

#[tokio::test(start_paused = true)]
async fn disconnect_while_offline_counts_the_queued_messages_it_did_not_send() {
    let link = Link::default();
    link.settings(|s| s.refuse_opens = u32::MAX);
    let (client, runner) = link.spawn(&link.options("offline"));
    within("the first attempt", async {
        while link.opens().is_empty() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    let queued = client
        .publish("queued", "x", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    assert_eq!(
        within("disconnect", client.disconnect(Duration::from_secs(1))).await,
        Err(Error::Unacknowledged(1))
    );
    assert_eq!(queued.wait().await, Err(Error::Closed));
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_disconnect_before_the_event_loop_runs_ends_it_without_a_connection() {
    let link = Link::default();
    let (client, event_loop) = link.client(&link.options("early-disconnect"));
    let queued = client
        .publish("never", "x", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    assert_eq!(
        client.disconnect(Duration::from_secs(1)).await,
        Err(Error::Unacknowledged(1))
    );
    assert_eq!(queued.wait().await, Err(Error::Closed));
    within("the event loop ends", event_loop.run()).await;
    assert!(link.opens().is_empty(), "{:?}", link.opens());
}

// ----- 13.6: protocol version mismatch said plainly -----

#[tokio::test(start_paused = true)]
async fn a_3_1_1_only_broker_is_reached_through_the_fallback_by_default() {
    for answer in [
        V5Connect::RefuseAsV311,
        V5Connect::RefuseAsV5,
        V5Connect::Close,
    ] {
        let link = Link::new(BrokerConfig {
            v5_connect: answer,
            ..BrokerConfig::default()
        });
        let options = Options::new(&link.url())
            .unwrap()
            .client_id("fallback")
            .connect_timeout(HOUR);
        let (outcome, took, client) = first_outcome(&link, &options).await;
        assert_eq!(outcome, Ok(()), "{answer:?}");
        assert!(took < Duration::from_millis(500), "{answer:?}: {took:?}");
        link.broker(|b| assert_eq!(b.version(), Some(ProtocolVersion::V311), "{answer:?}"));
        // And it works on 3.1.1.
        client
            .publish("after/fallback", "x", QoS::AtLeastOnce, false)
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn an_explicit_5_0_to_a_3_1_1_only_broker_fails_at_once_saying_the_broker_does_not_speak_5_0()
{
    for answer in [
        V5Connect::RefuseAsV311,
        V5Connect::RefuseAsV5,
        V5Connect::Close,
    ] {
        let link = Link::new(BrokerConfig {
            v5_connect: answer,
            ..BrokerConfig::default()
        });
        let options = patient(&link, "v5-only").version(ProtocolVersion::V5);
        let (outcome, took, _client) = first_outcome(&link, &options).await;
        assert_eq!(
            outcome,
            Err(Error::Refused(ConnectRefusal::UnsupportedProtocolVersion)),
            "{answer:?}"
        );
        let text = outcome.unwrap_err().to_string();
        assert!(
            text.contains("does not speak MQTT 5.0"),
            "{answer:?}: {text}"
        );
        assert!(took < Duration::from_millis(500), "{answer:?}: {took:?}");
        link.broker(|b| {
            assert!(
                b.connections()
                    .iter()
                    .all(|c| c.version == ProtocolVersion::V5),
                "{answer:?}: no 3.1.1 CONNECT"
            );
        });
    }
}

#[tokio::test(start_paused = true)]
async fn the_state_of_an_unanswered_5_0_connect_is_a_version_refusal_not_a_lost_connection() {
    let link = Link::new(BrokerConfig {
        v5_connect: V5Connect::Close,
        ..BrokerConfig::default()
    });
    let (client, runner) = link.spawn(&patient(&link, "v5-states").version(ProtocolVersion::V5));
    let seen = states_until(&client, |s| {
        matches!(s, ConnectionState::Reconnecting { .. })
    })
    .await;
    assert_eq!(
        seen.first(),
        Some(&ConnectionState::Refused(
            ConnectRefusal::UnsupportedProtocolVersion
        )),
        "{seen:?}"
    );
    assert!(!matches!(
        seen.first(),
        Some(ConnectionState::Lost(Disconnection::TransportClosed))
    ));
    runner.abort();
}

#[tokio::test(start_paused = true)]
async fn a_session_taken_over_by_a_client_with_the_same_identifier_is_given_up_and_says_why() {
    // MQTT 5.0 DISCONNECT 0x8E: reconnecting would take the session back from the other client, which would do
    // the same. The client stops, and its state and wait_connected say why.
    let link = Link::default();
    let (client, runner) = link.spawn(&link.options("same-id"));
    client.wait_connected(WAIT).await.unwrap();
    link.broker(|b| b.send_disconnect(ReasonCode::SESSION_TAKEN_OVER));
    let seen = states_until(&client, |s| matches!(s, ConnectionState::GaveUp(_))).await;
    let Some(ConnectionState::GaveUp(reason)) = seen.last() else {
        panic!("{seen:?}");
    };
    assert_eq!(
        *reason,
        Disconnection::ServerDisconnect(ReasonCode::SESSION_TAKEN_OVER)
    );
    assert!(
        reason.to_string().contains("same client identifier"),
        "{reason}"
    );
    tokio::time::sleep(Duration::from_secs(300)).await;
    assert_eq!(link.opens().len(), 1, "no attempt to take the session back");
    assert!(matches!(
        client.wait_connected(Duration::from_secs(1)).await,
        Err(Error::GaveUp(_))
    ));
    client.disconnect(WAIT).await.unwrap();
    runner.await.unwrap();
}
