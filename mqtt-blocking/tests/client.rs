//! The blocking client against a real mosquitto: many threads at once (nothing lost, no deadlock), callbacks that
//! publish or misbehave (the session stays intact), states, the offline queue. Every wait is bounded.

use std::collections::HashSet;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use mqtt_blocking::{ConnectionState, Error, Options, ProtocolVersion, PublishError, QoS};
use mqtt_test::{Listener, Mosquitto, MosquittoConfig};

const WAIT: Duration = Duration::from_secs(20);

fn broker() -> Mosquitto {
    Mosquitto::start(MosquittoConfig::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn options(broker: &Mosquitto, id: &str) -> Options {
    Options::new(&broker.url(Listener::Plain))
        .unwrap()
        .client_id(id)
        .connect_timeout(WAIT)
}

#[test]
fn eight_threads_publishing_at_once_lose_nothing() {
    const THREADS: usize = 8;
    const EACH: usize = 400;
    let broker = broker();
    let subscriber = mqtt_blocking::connect(&options(&broker, "threads-sub")).unwrap();
    let (seen, received) = mpsc::channel();
    subscriber
        .subscribe("threads/#", QoS::AtLeastOnce, move |_, message| {
            let _ = seen.send(message.payload.clone());
        })
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let publisher = mqtt_blocking::connect(&options(&broker, "threads-pub")).unwrap();
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let publisher = publisher.clone();
            thread::spawn(move || {
                let qos = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce][t % 3];
                let deliveries: Vec<_> = (0..EACH)
                    .map(|i| {
                        publisher
                            .publish(format!("threads/{t}"), format!("{t}:{i}"), qos, false)
                            .unwrap()
                    })
                    .collect();
                for delivery in deliveries {
                    delivery.wait_timeout(WAIT).unwrap();
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let mut payloads = HashSet::new();
    while payloads.len() < THREADS * EACH {
        let payload = received
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("only {} of {} arrived", payloads.len(), THREADS * EACH));
        let text = String::from_utf8(payload.to_vec()).unwrap();
        assert!(payloads.insert(text.clone()), "{text} arrived twice");
    }
    assert_eq!(publisher.stats().messages_sent, (THREADS * EACH) as u64);
    publisher.disconnect(WAIT).unwrap();
    subscriber.disconnect(WAIT).unwrap();
}

#[test]
fn callbacks_can_publish_and_a_panicking_callback_leaves_the_session_working() {
    let broker = broker();
    let client = mqtt_blocking::connect(&options(&broker, "callbacks")).unwrap();
    let failures = Arc::new(Mutex::new(Vec::new()));
    let reported = failures.clone();
    client.on_loop_failure(move |error| reported.lock().unwrap().push(error.to_string()));

    // A request answered from inside a callback, and a callback that panics on its first message.
    client
        .subscribe("callbacks/request", QoS::AtLeastOnce, |client, message| {
            let answer = client.publish(
                "callbacks/answer",
                message.payload.clone(),
                QoS::AtLeastOnce,
                false,
            );
            // Waiting here would stop the loop it waits for: refused at once.
            assert!(matches!(answer.unwrap().wait(), Err(Error::WaitInCallback)));
        })
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let mut panicked = false;
    client
        .subscribe("callbacks/panic", QoS::AtMostOnce, move |_, _| {
            if !std::mem::replace(&mut panicked, true) {
                panic!("a broken callback");
            }
        })
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let answers = client.messages();
    client
        .subscribe("callbacks/answer", QoS::AtLeastOnce, |_, _| {})
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();

    let _qos0 = client
        .publish("callbacks/panic", "boom", QoS::AtMostOnce, false)
        .unwrap();
    for i in 0..3 {
        let payload = format!("request {i}");
        client
            .publish(
                "callbacks/request",
                payload.clone(),
                QoS::AtLeastOnce,
                false,
            )
            .unwrap()
            .wait_timeout(WAIT)
            .unwrap();
        let answer = loop {
            let message = answers.recv_timeout(WAIT).unwrap();
            if message.topic == "callbacks/answer" {
                break message;
            }
        };
        assert_eq!(answer.payload, payload.as_bytes());
    }
    assert!(client.is_connected());
    let failures = failures.lock().unwrap().clone();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("a broken callback"), "{failures:?}");
    client.disconnect(WAIT).unwrap();
}

#[test]
fn state_callbacks_see_connect_loss_and_reconnect() {
    let mut broker = broker();
    let (client, event_loop) = mqtt_blocking::new(&options(&broker, "states").reconnect(
        mqtt_blocking::ReconnectPolicy {
            initial_delay: Duration::from_millis(100),
            ..Default::default()
        },
    ))
    .unwrap();
    let (seen, states) = mpsc::channel();
    client.on_state(move |_, state| {
        let _ = seen.send(state);
    });
    let (attempt, attempts) = mpsc::channel();
    client.on_connecting(move |_| {
        let _ = attempt.send(());
    });
    let running = event_loop.start().unwrap();
    let next = || states.recv_timeout(WAIT).unwrap();
    assert!(matches!(next(), ConnectionState::Connected { .. }));
    broker.restart().unwrap();
    assert!(matches!(next(), ConnectionState::Lost(_)));
    loop {
        match next() {
            ConnectionState::Connected { .. } => break,
            ConnectionState::Reconnecting { .. } | ConnectionState::Lost(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        attempts.try_iter().count() >= 2,
        "a callback before each attempt"
    );
    client.disconnect(WAIT).unwrap();
    assert_eq!(next(), ConnectionState::Disconnected);
    running.join().unwrap();
    assert!(matches!(
        client.publish("t", "x", QoS::AtMostOnce, false),
        Err(Error::Closed)
    ));
}

#[test]
fn publishing_offline_queues_until_the_queue_is_full_then_says_so() {
    // Nothing listens on this port: the session stays offline and keeps what it is given.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("mqtt://{}", closed.local_addr().unwrap());
    drop(closed);
    let options = Options::new(&url)
        .unwrap()
        .client_id("offline")
        .queue_bytes(4096);
    let (client, event_loop) = mqtt_blocking::new(&options).unwrap();
    let running = event_loop.start().unwrap();
    let mut queued = Vec::new();
    let refusal = loop {
        match client.publish("offline/t", vec![7; 100], QoS::AtLeastOnce, false) {
            Ok(delivery) => queued.push(delivery),
            Err(e) => break e,
        }
        assert!(
            queued.len() < 100,
            "a 4 KiB queue took {} messages",
            queued.len()
        );
    };
    assert!(
        matches!(refusal, Error::Publish(PublishError::QueueFull)),
        "{refusal}"
    );
    assert!(!queued.is_empty());
    assert!(matches!(
        queued
            .pop()
            .unwrap()
            .wait_timeout(Duration::from_millis(50)),
        Err(Error::Timeout)
    ));
    assert!(matches!(
        client.publish("bad/+/topic", "x", QoS::AtMostOnce, false),
        Err(Error::Publish(PublishError::InvalidTopic(_)))
    ));
    drop(queued);
    drop(client);
    // The last handle gone, the loop ends by itself.
    for _ in 0..200 {
        if running.is_finished() {
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    assert!(running.is_finished(), "the loop outlived its handles");
    running.join().unwrap();
}

#[test]
fn a_refusing_connack_right_before_the_close_is_seen_every_time() {
    // mosquitto answers a wrong password with CONNACK and closes at once: the refusal must not be lost in the
    // close, whichever read sees the end of the stream.
    let broker = Mosquitto::start(MosquittoConfig::default().with_users([("alice", "right")]))
        .unwrap_or_else(|e| panic!("{e}"));
    for round in 0..20 {
        let version = [ProtocolVersion::V311, ProtocolVersion::V5][round % 2];
        let wrong = Options::new(&broker.url(Listener::Password))
            .unwrap()
            .version(version)
            .credentials("alice", "wrong")
            .connect_timeout(Duration::from_secs(5));
        match mqtt_blocking::connect(&wrong) {
            Err(Error::Refused(refusal)) => assert!(refusal.is_auth_failure(), "{refusal}"),
            other => panic!("round {round}, {version}: {other:?}"),
        }
    }
}

#[test]
fn a_client_whose_event_loop_was_aborted_is_not_connected_and_waits_for_a_connection_fail() {
    // `LoopHandle::abort` drops the connection without DISCONNECT, as a process that dies would. The client then
    // still said it was connected, and `wait_connected` succeeded at once (the last state, `Connected`, was
    // replayed for a connection that was gone).
    let broker = mqtt_test::TcpBroker::start(mqtt_test::BrokerConfig::default());
    let (client, event_loop) =
        mqtt_blocking::new(&Options::new(&broker.url()).unwrap().client_id("aborted")).unwrap();
    let states = Arc::new(Mutex::new(Vec::new()));
    let seen = states.clone();
    client.on_state(move |_, state| seen.lock().unwrap().push(state));
    let handle = event_loop.start().unwrap();
    client.wait_connected(WAIT).unwrap();
    handle.abort();
    handle.join().unwrap();

    assert!(!client.is_connected());
    assert_eq!(client.wait_connected(WAIT), Err(Error::Closed));
    let states = states.lock().unwrap();
    assert!(
        matches!(
            states.as_slice(),
            [
                ConnectionState::Connected { .. },
                ConnectionState::Disconnected
            ]
        ),
        "the state callback hears that the client ended: {states:?}"
    );
}
