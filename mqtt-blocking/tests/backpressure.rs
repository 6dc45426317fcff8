//! Bounded delivery in the blocking client against the fake broker on a loopback port ([`TcpBroker`]): a message
//! is acknowledged once its callback has returned, a callback that falls behind stops the reads at the queue's
//! capacity, a `messages()` stream that is not read does the same (and still lets the acknowledgement of a reply
//! through to a reader that awaits it), and subscribing from `on_state` on every
//! connection keeps every request answered. Every wait is bounded.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mqtt_blocking::{ConnectionState, Disconnection, Options, QoS};
use mqtt_test::{BrokerConfig, Direction, TcpBroker};
use proto::codec::PacketType;

const WAIT: Duration = Duration::from_secs(20);
/// Time given to something that must not happen (a read, an acknowledgement) before checking it did not.
const SETTLE: Duration = Duration::from_millis(300);

fn options(broker: &TcpBroker, id: &str) -> Options {
    Options::new(&broker.url())
        .unwrap()
        .client_id(id)
        .connect_timeout(WAIT)
}

fn pubacks(broker: &TcpBroker) -> usize {
    broker.broker(|b| b.count(Direction::ClientToBroker, PacketType::PubAck))
}

#[test]
fn a_message_is_acknowledged_only_after_its_callback_returned_and_a_slow_callback_stops_the_reads()
{
    const TOTAL: usize = 100;
    const CAPACITY: usize = 8;
    let broker = TcpBroker::start(BrokerConfig::default());
    let client =
        mqtt_blocking::connect(&options(&broker, "slow-callback").message_capacity(CAPACITY))
            .unwrap();
    // The callback handles a message only when the test lets it (one permit per message).
    let (permit, permits) = mpsc::channel::<()>();
    let permits = Mutex::new(permits);
    let handled = Arc::new(Mutex::new(Vec::new()));
    let record = handled.clone();
    client
        .subscribe("cb/#", QoS::AtLeastOnce, move |_, message| {
            permits
                .lock()
                .unwrap()
                .recv_timeout(WAIT)
                .expect("a permit");
            record.lock().unwrap().push(message.topic.clone());
        })
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    broker.broker(|b| {
        for i in 0..TOTAL {
            b.inject(&format!("cb/{i}"), b"", QoS::AtLeastOnce, false);
        }
    });
    // The first callback waits for its permit: nothing is acknowledged, and reading stops at the capacity.
    assert!(!broker.wait_for(
        |b| b.count(Direction::ClientToBroker, PacketType::PubAck) > 0,
        SETTLE
    ));
    let received = client.stats().messages_received;
    assert!(
        received <= CAPACITY as u64 + 2,
        "{received} read while the callback is stuck"
    );
    // Callbacks run one by one; the acknowledgements never get ahead of them (they may go out in batches: the
    // loop writes between batches of callbacks).
    for done in 1..=TOTAL {
        permit.send(()).unwrap();
        let returned = || handled.lock().unwrap().len();
        assert!(
            broker.wait_for(|_| returned() >= done, WAIT),
            "callback {done} ran"
        );
        let acked = pubacks(&broker);
        assert!(
            acked <= returned(),
            "{acked} acknowledged after {} callbacks returned",
            returned()
        );
    }
    assert!(
        broker.wait_for(
            |b| b.count(Direction::ClientToBroker, PacketType::PubAck) == TOTAL,
            WAIT
        ),
        "every message acknowledged once its callback returned"
    );
    let expected: Vec<String> = (0..TOTAL).map(|i| format!("cb/{i}")).collect();
    assert_eq!(*handled.lock().unwrap(), expected, "each once, in order");
    broker.broker(|b| assert!(b.violations().is_empty(), "{:?}", b.violations()));
    client.disconnect(WAIT).unwrap();
}

#[test]
fn a_messages_stream_that_is_not_read_holds_its_capacity_and_then_gets_everything_once() {
    const TOTAL: usize = 2_000;
    const CAPACITY: usize = 16;
    let broker = TcpBroker::start(BrokerConfig::default());
    let options = options(&broker, "unread")
        .message_capacity(CAPACITY)
        .receive_maximum(50);
    let client = mqtt_blocking::connect(&options).unwrap();
    let messages = client.messages();
    client
        .subscribe("m/#", QoS::AtLeastOnce, |_, _| {})
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    broker.broker(|b| {
        for i in 0..TOTAL {
            b.inject(&format!("m/{i}"), b"", QoS::AtLeastOnce, false);
        }
    });
    assert!(
        broker.wait_for(|b| b.delivered().len() >= 50, WAIT),
        "the broker fills the window"
    );
    assert!(
        !broker.wait_for(|b| b.delivered().len() > 50, SETTLE),
        "and waits for acknowledgements"
    );
    assert_eq!(pubacks(&broker), 0, "the messages() copy is not taken yet");
    assert!(client.stats().messages_received <= CAPACITY as u64 + 1);
    for i in 0..TOTAL {
        let message = messages.recv_timeout(WAIT).unwrap();
        assert_eq!(message.topic, format!("m/{i}"));
    }
    assert!(broker.wait_for(|b| b.pending_to_client() == 0, WAIT));
    assert_eq!(pubacks(&broker), TOTAL);
    client.disconnect(WAIT).unwrap();
}

#[test]
fn subscribing_from_on_state_on_every_connection_answers_every_request_through_forced_reconnects() {
    const RECONNECTS: usize = 20;
    let broker = TcpBroker::start(BrokerConfig::default());
    let client = mqtt_blocking::connect(&options(&broker, "on-state")).unwrap();
    let (granted, grants) = mpsc::channel();
    let (seen, arrivals) = mpsc::channel();
    let lost = Arc::new(Mutex::new(Vec::new()));
    let losses = lost.clone();
    client.on_state(move |client, state| {
        if let ConnectionState::Lost(reason) = &state {
            losses.lock().unwrap().push(*reason);
        }
        if matches!(state, ConnectionState::Connected { .. }) {
            let seen = seen.clone();
            let pending = client
                .subscribe("s/#", QoS::AtLeastOnce, move |_, message| {
                    let _ = seen.send(message.topic.clone());
                })
                .unwrap();
            // A callback cannot wait; another thread can.
            let granted = granted.clone();
            std::thread::spawn(move || {
                let _ = granted.send(pending.wait_timeout(WAIT));
            });
        }
    });
    for round in 0..=RECONNECTS {
        assert_eq!(
            grants.recv_timeout(WAIT).unwrap(),
            Ok(QoS::AtLeastOnce),
            "round {round}"
        );
        if round < RECONNECTS {
            client.reconnect().unwrap();
        }
    }
    broker.broker(|b| b.inject("s/last", b"", QoS::AtLeastOnce, false));
    // One callback per subscription made, each called once.
    for _ in 0..=RECONNECTS {
        assert_eq!(arrivals.recv_timeout(WAIT).unwrap(), "s/last");
    }
    assert!(
        arrivals.recv_timeout(SETTLE).is_err(),
        "no subscription got it twice"
    );
    let protocol_errors: Vec<_> = lost
        .lock()
        .unwrap()
        .iter()
        .filter(|r| matches!(r, Disconnection::Protocol(_)))
        .copied()
        .collect();
    assert!(protocol_errors.is_empty(), "{protocol_errors:?}");
    broker.broker(|b| {
        assert_eq!(b.connections().len(), RECONNECTS + 1);
        assert!(b.violations().is_empty(), "{:?}", b.violations());
    });
    client.disconnect(WAIT).unwrap();
}

#[test]
fn a_messages_reader_that_awaits_each_replys_acknowledgement_keeps_up_with_a_qos1_flood() {
    // The habit: answer each message, and wait until the broker took the answer before reading the next. The
    // PUBACK comes behind the messages the broker sent first (its window), into a full queue.
    const TOTAL: usize = 1_000;
    const WINDOW: u16 = 50;
    let broker = TcpBroker::start(BrokerConfig::default());
    let options = options(&broker, "replier")
        .message_capacity(4)
        .receive_maximum(WINDOW);
    let client = mqtt_blocking::connect(&options).unwrap();
    let messages = client.messages();
    client
        .subscribe("requests/#", QoS::AtLeastOnce, |_, _| {})
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    broker.broker(|b| {
        for i in 0..TOTAL {
            b.inject(&format!("requests/{i}"), b"", QoS::AtLeastOnce, false);
        }
    });
    for i in 0..TOTAL {
        let message = messages.recv_timeout(WAIT).unwrap();
        assert_eq!(message.topic, format!("requests/{i}"), "in order, once");
        client
            .publish(format!("replies/{i}"), "done", QoS::AtLeastOnce, false)
            .unwrap()
            .wait_timeout(WAIT)
            .unwrap_or_else(|e| panic!("reply {i}: {e}: its PUBACK stayed behind the full queue"));
        let held = client.stats().messages_received - (i as u64 + 1);
        assert!(
            held <= 4 + u64::from(WINDOW),
            "{held} messages held for a queue of 4 and a window of {WINDOW}"
        );
    }
    assert!(broker.wait_for(|b| b.pending_to_client() == 0, WAIT));
    assert_eq!(pubacks(&broker), TOTAL);
    client.disconnect(WAIT).unwrap();
}
