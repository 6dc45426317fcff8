//! Issue 13 where the blocking client differs from the async ones (callbacks on the loop's thread, waits that
//! block), against the fake broker on a loopback port ([`TcpBroker`]): a state callback that reconnects on both
//! `Lost` and `GaveUp`, a reconnect that calls off a disconnect another thread waits for, a `Pending` made in a
//! callback and waited for by another thread, statistics that are current. The list every binding shares (refusals,
//! backoff, secrets, disconnect, versions) runs from `tests/interop.rs`. Every wait is bounded.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use mqtt_blocking::{ConnectionState, Delivery, Error, Options, QoS, ReconnectPolicy};
use mqtt_test::{BrokerConfig, TcpBroker};

const WAIT: Duration = Duration::from_secs(20);

fn options(broker: &TcpBroker, id: &str) -> Options {
    Options::new(&broker.url())
        .unwrap()
        .client_id(id)
        .connect_timeout(WAIT)
}

/// States a callback forwards, read with a bound.
fn forwarded_states(client: &mqtt_blocking::Client) -> mpsc::Receiver<ConnectionState> {
    let (sink, states) = mpsc::channel();
    client.on_state(move |_, state| {
        let _ = sink.send(state);
    });
    states
}

/// The next state `wanted` accepts, skipping others; panics after `WAIT`.
fn until_state(
    states: &mpsc::Receiver<ConnectionState>,
    wanted: impl Fn(&ConnectionState) -> bool,
) -> ConnectionState {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match states.recv_timeout(left) {
            Ok(state) if wanted(&state) => return state,
            Ok(_) => {}
            Err(e) => panic!("no such state in time: {e}"),
        }
    }
}

#[test]
fn a_state_callback_that_reconnects_on_lost_and_on_gave_up_gets_the_connection_back() {
    // Seed 002's callbacks under the manual policy: a loss brings Lost, then GaveUp; reconnect() on each makes
    // two calls in a row, and the client must end connected (it used to stay unconnected until the connect
    // timeout, then give up).
    let broker = TcpBroker::start(BrokerConfig::default());
    let client = mqtt_blocking::connect(
        &options(&broker, "handler")
            .reconnect(ReconnectPolicy::manual())
            .connect_timeout(Duration::from_secs(2)),
    )
    .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    client.on_state(move |client, state| {
        if matches!(state, ConnectionState::Lost(_) | ConnectionState::GaveUp(_)) {
            counted.fetch_add(1, Ordering::SeqCst);
            client.reconnect().unwrap();
        }
    });
    let states = forwarded_states(&client);
    let first = until_state(&states, |_| true);
    assert!(
        matches!(first, ConnectionState::Connected { .. }),
        "{first:?}"
    );
    broker.broker(mqtt_test::FakeBroker::close_connection);
    // Lost, GaveUp (each answered with a reconnect), then a connection.
    until_state(&states, |s| {
        matches!(s, ConnectionState::Connected { .. }) && calls.load(Ordering::SeqCst) >= 2
    });
    assert_eq!(calls.load(Ordering::SeqCst), 2, "Lost and GaveUp");
    // Past the connect timeout: still connected, nothing more happened.
    thread::sleep(Duration::from_secs(3));
    assert!(client.is_connected());
    let later: Vec<ConnectionState> = states.try_iter().collect();
    assert!(later.is_empty(), "{later:?}");
    client
        .publish("handler/after", "x", QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    assert_eq!(broker.broker(|b| b.connections().len()), 2);
    client.disconnect(WAIT).unwrap();
}

#[test]
fn reconnect_calls_off_a_disconnect_another_thread_waits_for() {
    let broker = TcpBroker::start(BrokerConfig::default());
    let client = mqtt_blocking::connect(&options(&broker, "called-off")).unwrap();
    broker.broker(mqtt_test::FakeBroker::hold_acks);
    let held = client
        .publish("called-off/held", "x", QoS::AtLeastOnce, false)
        .unwrap();
    assert!(broker.wait_for(|b| b.held_acks() == 1, WAIT));
    let states = forwarded_states(&client);
    let disconnecting = {
        let client = client.clone();
        thread::spawn(move || client.disconnect(WAIT))
    };
    // The disconnect is under way (it waits for the held acknowledgement) when the reconnect comes: from its
    // call on, publishing is refused (a QoS 0 probe until then).
    let deadline = Instant::now() + WAIT;
    while client
        .publish("called-off/probe", "p", QoS::AtMostOnce, false)
        .is_ok()
    {
        assert!(Instant::now() < deadline, "the disconnect never started");
        thread::sleep(Duration::from_millis(5));
    }
    assert!(!disconnecting.is_finished());
    client.reconnect().unwrap();
    assert_eq!(
        disconnecting.join().unwrap(),
        Err(Error::DisconnectCalledOff),
        "the waiting thread hears at once that its disconnect was called off"
    );
    until_state(&states, |s| matches!(s, ConnectionState::Connected { .. }));
    broker.broker(mqtt_test::FakeBroker::release_acks);
    held.wait_timeout(WAIT).unwrap();
    assert!(client.is_connected());
    client.disconnect(WAIT).unwrap();
}

#[test]
fn a_pending_made_in_a_callback_can_be_waited_for_by_another_thread() {
    let broker = TcpBroker::start(BrokerConfig::default());
    let client = mqtt_blocking::connect(&options(&broker, "pending")).unwrap();
    let (handoff, pendings) = mpsc::channel::<(Result<(), Error>, Delivery)>();
    let handoff = Mutex::new(handoff);
    client
        .subscribe(
            "pending/request",
            QoS::AtLeastOnce,
            move |client, message| {
                let answer = client
                    .publish(
                        "pending/answer",
                        message.payload.clone(),
                        QoS::AtLeastOnce,
                        false,
                    )
                    .unwrap();
                // On the loop's own thread a wait could never end: refused at once. (A second publish, so that
                // the one handed over stays unwaited.)
                let here = client
                    .publish("pending/answer", "again", QoS::AtLeastOnce, false)
                    .unwrap()
                    .wait();
                let _ = handoff.lock().unwrap().send((here, answer));
            },
        )
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    client
        .publish("pending/request", "x", QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let (here, answer) = pendings.recv_timeout(WAIT).unwrap();
    assert_eq!(here, Err(Error::WaitInCallback));
    // This thread waits for it: the PUBACK comes.
    assert_eq!(answer.wait_timeout(WAIT), Ok(()));
    assert!(broker.wait_for(
        |b| {
            b.received()
                .iter()
                .filter(|m| m.topic == "pending/answer")
                .count()
                == 2
        },
        WAIT
    ));
    client.disconnect(WAIT).unwrap();
}

#[test]
fn stats_count_what_happened_up_to_the_call() {
    let broker = TcpBroker::start(BrokerConfig::default());
    let client = mqtt_blocking::connect(&options(&broker, "stats")).unwrap();
    let inbox = client.messages();
    client
        .subscribe("stats/in", QoS::AtLeastOnce, |_, _| {})
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    for i in 1..=5u64 {
        client
            .publish("stats/out", "x", QoS::AtLeastOnce, false)
            .unwrap()
            .wait_timeout(WAIT)
            .unwrap();
        assert_eq!(
            client.stats().messages_sent,
            i,
            "counted by the time the delivery resolves"
        );
        broker.broker(|b| b.inject("stats/in", b"y", QoS::AtLeastOnce, false));
        inbox.recv_timeout(WAIT).unwrap();
        assert_eq!(
            client.stats().messages_received,
            i,
            "counted by the time the message is taken"
        );
    }
    client.disconnect(WAIT).unwrap();
}
