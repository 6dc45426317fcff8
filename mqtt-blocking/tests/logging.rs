//! What mqtt-blocking logs through `tracing` while it is refused, connects, pauses for a full queue, refuses a
//! publish and meets a protocol error: enough to debug a reconnect loop, and no secret. The scenario of
//! `mqtt_test::logging_tests!` (which tokio and smol run), written for threads; the event loop runs on its own
//! thread, so the capture is the process's subscriber (this file is a test binary of its own).

use std::sync::mpsc;
use std::time::{Duration, Instant};

use mqtt_blocking::{
    ConnectionState, Disconnection, Error, Options, ProtocolVersion, PublishError, QoS, ReasonCode,
    ReconnectPolicy,
};
use mqtt_test::{BrokerConfig, Capture, FakeBrokerServer};

const WAIT: Duration = Duration::from_secs(10);
const PASSWORD: &str = "hunter2-correct-horse";
const URL_PASSWORD: &str = "url-secret-pw";
const PAYLOAD: &str = "payload-never-logged";

/// The next state from `states` that `wanted` accepts; panics after `WAIT`.
fn until_state(
    states: &mpsc::Receiver<ConnectionState>,
    what: &str,
    wanted: impl Fn(&ConnectionState) -> bool,
) -> ConnectionState {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match states.recv_timeout(left) {
            Ok(state) if wanted(&state) => return state,
            Ok(_) => {}
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

#[test]
fn the_log_explains_a_reconnect_loop_and_holds_no_secret_and_no_payload() {
    let capture = Capture::global();
    let broker = FakeBrokerServer::start(BrokerConfig {
        // Server unavailable: refused, and retried.
        refuse_connect: Some(ReasonCode(3)),
        ..BrokerConfig::default()
    })
    .unwrap();
    let url = broker
        .url()
        .replace("mqtt://", &format!("mqtt://alice:{URL_PASSWORD}@"));
    let options = Options::new(&url)
        .unwrap()
        .client_id("logged")
        .credentials("alice", PASSWORD)
        .will("log/will", PAYLOAD, QoS::AtLeastOnce, false)
        .version(ProtocolVersion::V311)
        .reconnect(ReconnectPolicy {
            initial_delay: Duration::from_millis(20),
            ..ReconnectPolicy::default()
        })
        .message_capacity(1)
        .queue_bytes(4096);
    let (client, event_loop) = mqtt_blocking::new(&options).unwrap();
    let (sink, states) = mpsc::channel();
    client.on_state(move |_, state| {
        let _ = sink.send(state);
    });
    let inbox = client.messages();
    let running = event_loop.start().unwrap();

    // Refused once, then accepted.
    until_state(&states, "the refusal", |s| {
        matches!(s, ConnectionState::Refused(_))
    });
    broker.broker().refuse_connect(None);
    until_state(&states, "the connection", |s| {
        matches!(s, ConnectionState::Connected { .. })
    });
    // A stream that holds one message, and three for it: reading pauses.
    client
        .subscribe("log/in", QoS::AtLeastOnce, |_, _| {})
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    for _ in 0..3 {
        broker
            .broker()
            .inject("log/in", PAYLOAD.as_bytes(), QoS::AtLeastOnce, false);
    }
    let deadline = Instant::now() + WAIT;
    while !capture.text().contains("reading from the broker is paused") {
        assert!(Instant::now() < deadline, "no pause:\n{}", capture.text());
        std::thread::sleep(Duration::from_millis(5));
    }
    for _ in 0..3 {
        let message = inbox.recv_timeout(WAIT).unwrap();
        assert_eq!(message.payload.as_ref(), PAYLOAD.as_bytes());
    }
    // Acknowledgements held: the outgoing queue fills and refuses.
    broker.broker().hold_acks();
    let mut deliveries = Vec::new();
    let refused = loop {
        match client.publish("log/out", vec![b'x'; 256], QoS::AtLeastOnce, false) {
            Ok(delivery) => deliveries.push(delivery),
            Err(error) => break error,
        }
        assert!(deliveries.len() < 1000, "the queue never filled");
    };
    assert!(
        matches!(refused, Error::Publish(PublishError::QueueFull)),
        "{refused:?}"
    );
    broker.broker().release_acks();
    for delivery in deliveries {
        delivery.wait_timeout(WAIT).unwrap();
    }
    // A second CONNACK: the broker broke the protocol.
    broker.broker().send_raw(&[0x20, 0x02, 0x00, 0x00]);
    let lost = until_state(&states, "the protocol error", |s| {
        matches!(s, ConnectionState::Lost(_))
    });
    assert!(
        matches!(lost, ConnectionState::Lost(Disconnection::Protocol(_))),
        "{lost:?}"
    );
    until_state(&states, "the reconnection", |s| {
        matches!(s, ConnectionState::Connected { .. })
    });
    client.disconnect(WAIT).unwrap();
    running.join().unwrap();

    let text = capture.text();
    let port = broker.address();
    for wanted in [
        "span mqtt client_id=logged".to_owned(),
        format!("connecting broker=mqtt://{port}"),
        "connection refused refusal=server unavailable".to_owned(),
        "reconnecting attempt=1 delay=".to_owned(),
        format!("connected broker=mqtt://{port}"),
        "the broker broke the protocol: the connection is closed error=unexpected CONNACK"
            .to_owned(),
        "a message queue is full: reading from the broker is paused".to_owned(),
        "publish refused: the outgoing queue is full".to_owned(),
        "disconnected".to_owned(),
    ] {
        assert!(text.contains(&wanted), "no `{wanted}` in the log:\n{text}");
    }
    for secret in [PASSWORD, URL_PASSWORD, PAYLOAD, "hunter2"] {
        assert!(!text.contains(secret), "`{secret}` in the log:\n{text}");
    }
}
