//! mqtt-blocking callbacks that reconnect their own client, against the fake broker over TCP (and mosquitto): from `on_message`
//! and from `on_state`, the loop goes on, the subscription is kept, and every QoS 1 message arrives.

use std::sync::mpsc;
use std::time::Duration;

use mqtt_blocking::{ConnectionState, Options, ProtocolVersion, QoS};
use mqtt_test::{BrokerConfig, Listener, Mosquitto, MosquittoConfig, TcpBroker};

const WAIT: Duration = Duration::from_secs(20);

/// A client with a persistent session: what the broker sends again after a reconnect shows.
fn persistent(url: &str, id: impl Into<String>) -> Options {
    Options::new(url)
        .unwrap()
        .client_id(id)
        .clean_start(false)
        .session_expiry(300)
        .connect_timeout(WAIT)
}

#[test]
fn a_message_callback_that_reconnects_its_client_keeps_receiving() {
    let broker = TcpBroker::start(BrokerConfig::default());
    let options = persistent(&broker.url(), "cb-reconnect");
    let client = mqtt_blocking::connect(&options).unwrap();
    let (seen, arrivals) = mpsc::channel();
    client
        .subscribe("cb/#", QoS::AtLeastOnce, move |client, message| {
            if message.payload == "reconnect" {
                client.reconnect().unwrap();
            }
            let _ = seen.send(String::from_utf8(message.payload.to_vec()).unwrap());
        })
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let mut earlier = Vec::new();
    for round in 0..3 {
        let before = broker.broker(|b| b.connections().len());
        broker.broker(|b| b.inject("cb/x", b"reconnect", QoS::AtLeastOnce, false));
        assert_eq!(arrivals.recv_timeout(WAIT).unwrap(), "reconnect");
        assert!(
            broker.wait_for(|b| b.connections().len() > before && b.is_connected(), WAIT),
            "round {round}: the callback's reconnect connected again"
        );
        broker.broker(|b| {
            b.inject(
                "cb/x",
                format!("after-{round}").as_bytes(),
                QoS::AtLeastOnce,
                false,
            )
        });
        let mut next = arrivals.recv_timeout(WAIT).unwrap();
        // QoS 1 is at least once: the broker may send again what the reconnect left unacknowledged.
        while next == "reconnect" || earlier.contains(&next) {
            next = arrivals.recv_timeout(WAIT).unwrap();
        }
        assert_eq!(next, format!("after-{round}"));
        earlier.push(next);
    }
    client.disconnect(WAIT).unwrap();
}

#[test]
fn a_message_callback_that_reconnects_gets_the_message_once_not_again_and_again() {
    let broker = TcpBroker::start(BrokerConfig::default());
    let options = persistent(&broker.url(), "cb-reconnect-once");
    let client = mqtt_blocking::connect(&options).unwrap();
    let (seen, arrivals) = mpsc::channel();
    client
        .subscribe("cb/#", QoS::AtLeastOnce, move |client, message| {
            let _ = client.reconnect();
            let _ = seen.send(message.payload.clone());
        })
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    broker.broker(|b| b.inject("cb/x", b"reconnect", QoS::AtLeastOnce, false));
    arrivals.recv_timeout(WAIT).unwrap();
    // Bounded: a storm makes thousands of connections in this time.
    let again = arrivals.recv_timeout(Duration::from_millis(500));
    let connections = broker.broker(|b| b.connections().len());
    assert!(
        again.is_err(),
        "the message came again ({connections} connections)"
    );
    client.disconnect(WAIT).unwrap();
}

#[test]
fn a_state_callback_that_disconnects_on_a_lost_connection_ends_the_client() {
    let broker = TcpBroker::start(BrokerConfig::default());
    let options = Options::new(&broker.url())
        .unwrap()
        .client_id("cb-disconnect")
        .connect_timeout(WAIT);
    let client = mqtt_blocking::connect(&options).unwrap();
    let (said, outcomes) = mpsc::channel();
    client.on_state(move |client, state| {
        if let ConnectionState::Lost(_) = state {
            let _ = said.send(client.disconnect(Duration::ZERO));
        }
    });
    broker.broker(|b| b.close_connection());
    outcomes
        .recv_timeout(WAIT)
        .unwrap()
        .expect("a disconnect from the callback starts the disconnection");
    // Another thread waits for the end.
    client.disconnect(WAIT).unwrap();
    assert!(matches!(
        client.wait_connected(WAIT),
        Err(mqtt_blocking::Error::Closed)
    ));
    assert!(matches!(
        client.publish("t", "x", QoS::AtMostOnce, false),
        Err(mqtt_blocking::Error::Closed)
    ));
}

/// The same against mosquitto, on both protocol versions: the callback's message is acknowledged before the
/// connection ends, so the resumed session does not bring it again.
#[test]
fn a_message_callback_that_reconnects_gets_the_message_once_through_mosquitto() {
    let broker = Mosquitto::start(MosquittoConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let url = broker.url(Listener::Plain);
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let options = persistent(&url, format!("cb-reconnect-{version:?}")).version(version);
        let client = mqtt_blocking::connect(&options).unwrap();
        let (seen, arrivals) = mpsc::channel();
        let topic = format!("cb/mosquitto/{version:?}");
        client
            .subscribe(topic.as_str(), QoS::AtLeastOnce, move |client, message| {
                if message.payload == "reconnect" {
                    let _ = client.reconnect();
                }
                let _ = seen.send(String::from_utf8(message.payload.to_vec()).unwrap());
            })
            .unwrap()
            .wait_timeout(WAIT)
            .unwrap();
        let operator = mqtt_blocking::connect(
            &Options::new(&url)
                .unwrap()
                .client_id(format!("cb-operator-{version:?}")),
        )
        .unwrap();
        operator
            .publish(topic.as_str(), "reconnect", QoS::AtLeastOnce, false)
            .unwrap()
            .wait_timeout(WAIT)
            .unwrap();
        assert_eq!(arrivals.recv_timeout(WAIT).unwrap(), "reconnect");
        // Bounded: without the acknowledgement the command comes back at once after each reconnect.
        let again = arrivals.recv_timeout(Duration::from_millis(500));
        assert!(
            again.is_err(),
            "{version:?}: the message came again: {again:?}"
        );
        operator
            .publish(topic.as_str(), "after", QoS::AtLeastOnce, false)
            .unwrap()
            .wait_timeout(WAIT)
            .unwrap();
        assert_eq!(arrivals.recv_timeout(WAIT).unwrap(), "after", "{version:?}");
        client.disconnect(WAIT).unwrap();
        operator.disconnect(WAIT).unwrap();
    }
}
