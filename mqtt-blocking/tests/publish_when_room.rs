//! Publishing with backpressure on mqtt-blocking ([`Client::publish_when_room`]): a full outgoing queue is waited
//! for up to the caller's timeout, room made by acknowledgements lets the publisher go on, and a callback (on the
//! event loop's thread, which alone could make room) is told at once instead of deadlocking.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use mqtt_blocking::{Client, Error, Options, PublishError, QoS};
use mqtt_test::{BrokerConfig, FakeBrokerServer};

const WAIT: Duration = Duration::from_secs(10);

fn payload(i: usize) -> Vec<u8> {
    let mut payload = format!("{i:06}").into_bytes();
    payload.resize(100, b'.');
    payload
}

fn connected(server: &FakeBrokerServer, client_id: &str) -> Client {
    let options = Options::new(&server.url())
        .unwrap()
        .client_id(client_id)
        .queue_bytes(4096);
    mqtt_blocking::connect(&options).unwrap_or_else(|e| panic!("connect: {e}"))
}

/// Publishes until the queue is full; how many it took.
fn fill(client: &Client) -> usize {
    let mut queued = 0;
    loop {
        match client.publish("room/t", payload(queued), QoS::AtLeastOnce, false) {
            Ok(_) => queued += 1,
            Err(Error::Publish(PublishError::QueueFull)) => return queued,
            Err(e) => panic!("publish: {e}"),
        }
    }
}

#[test]
fn a_full_queue_is_waited_for_up_to_the_timeout_and_room_lets_the_publisher_go_on() {
    let server = FakeBrokerServer::start(BrokerConfig::default()).unwrap();
    let client = connected(&server, "room-blocking");
    server.broker().hold_acks();
    let queued = fill(&client);
    assert!(matches!(
        client.publish_when_room(
            "room/t",
            payload(900_000),
            QoS::AtLeastOnce,
            false,
            Duration::from_millis(300)
        ),
        Err(Error::Timeout)
    ));
    // A publisher thread waits for room; the broker acknowledging again lets it through.
    let publisher = {
        thread::spawn(move || {
            client.publish_when_room("room/t", payload(900_001), QoS::AtLeastOnce, false, WAIT)
        })
    };
    thread::sleep(Duration::from_millis(200));
    assert!(
        !publisher.is_finished(),
        "the queue is still full: the publisher waits"
    );
    server.broker().release_acks();
    let delivery = publisher.join().unwrap().unwrap();
    delivery.wait_timeout(WAIT).unwrap();
    assert!(server.wait_until(WAIT, |broker| broker.received().len() == queued + 1));
    let broker = server.broker();
    let payloads: Vec<&[u8]> = broker
        .received()
        .iter()
        .map(|m| m.payload.as_slice())
        .collect();
    assert!(
        !payloads.contains(&payload(900_000).as_slice()),
        "the timed-out message was not queued"
    );
    assert_eq!(payloads.last().copied(), Some(payload(900_001).as_slice()));
}

#[test]
fn a_callback_that_finds_the_queue_full_is_told_at_once_instead_of_deadlocking() {
    let server = FakeBrokerServer::start(BrokerConfig::default()).unwrap();
    let client = connected(&server, "room-callback");
    let (tx, rx) = mpsc::channel();
    client
        .subscribe("room/in", QoS::AtMostOnce, move |client, _| {
            let outcome =
                client.publish_when_room("room/t", payload(900_002), QoS::AtLeastOnce, false, WAIT);
            let _ = tx.send(outcome.map(|_| ()));
        })
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    server.broker().hold_acks();
    fill(&client);
    server
        .broker()
        .inject("room/in", b"go", QoS::AtMostOnce, false);
    let outcome = rx.recv_timeout(WAIT).expect("the callback returned");
    assert!(matches!(outcome, Err(Error::WaitInCallback)), "{outcome:?}");
}
