//! Dropping the last handle of mqtt-blocking's client waits for the graceful disconnect to end (a paho habit:
//! publish, then return from `main`). Before, the drop returned at once and the process ended with the messages
//! in flight and without DISCONNECT (3 of 100 QoS 1 messages arrived, and the broker published the will).

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use mqtt_blocking::{ConnectionState, Options, QoS};
use mqtt_test::{BrokerConfig, Direction, FakeBrokerServer};
use proto::codec::PacketType;

#[test]
fn dropping_the_last_handle_returns_once_every_message_is_acknowledged_and_the_client_disconnected()
{
    let server = FakeBrokerServer::start(BrokerConfig::default()).unwrap();
    let options = Options::new(&server.url())
        .unwrap()
        .client_id("last-handle");
    let client = mqtt_blocking::connect(&options).unwrap();
    let states = Arc::new(Mutex::new(Vec::new()));
    let seen = states.clone();
    client.on_state(move |_, state| seen.lock().unwrap().push(state));
    server.broker().hold_acks();
    for i in 0..100u8 {
        drop(
            client
                .publish("exit/t", [i], QoS::AtLeastOnce, false)
                .unwrap(),
        );
    }
    thread::scope(|scope| {
        // The broker acknowledges a moment later, while the drop below waits.
        scope.spawn(|| {
            thread::sleep(Duration::from_millis(300));
            server.broker().release_acks();
        });
        let second = client.clone();
        drop(client);
        assert!(
            !states
                .lock()
                .unwrap()
                .contains(&ConnectionState::Disconnected),
            "another handle lives: nothing ended"
        );
        drop(second);
        assert_eq!(
            states.lock().unwrap().last(),
            Some(&ConnectionState::Disconnected),
            "the drop of the last handle returned before the client disconnected"
        );
    });
    assert_eq!(
        server.broker().received().len(),
        100,
        "every message arrived"
    );
    assert!(
        server.wait_until(Duration::from_secs(10), |broker| {
            broker.count(Direction::ClientToBroker, PacketType::Disconnect) == 1
        }),
        "the broker got DISCONNECT"
    );
}
