//! The blocking client's `ping`, `Delivery::id` and `Options::ack_timeout`, against the fake broker over TCP.
//! Every wait is bounded.

use std::sync::mpsc;
use std::time::Duration;

use mqtt_blocking::{ConnectionState, Disconnection, Error, Options, PingError, QoS};
use mqtt_test::{BrokerConfig, TcpBroker};

const WAIT: Duration = Duration::from_secs(20);

fn options(broker: &TcpBroker, id: &str) -> Options {
    Options::new(&broker.url())
        .unwrap()
        .client_id(id)
        .keep_alive(Duration::from_secs(600))
        .connect_timeout(WAIT)
}

#[test]
fn ping_blocks_until_the_broker_answered_and_sends_one_pingreq() {
    let broker = TcpBroker::start(BrokerConfig::default());
    let client = mqtt_blocking::connect(&options(&broker, "ping")).unwrap();
    let before = broker.broker(|b| b.pings());
    client.ping(WAIT).unwrap();
    // [MQTT-3.12.4-1]: the broker answers PINGREQ with PINGRESP.
    assert_eq!(broker.broker(|b| b.pings()), before + 1);
    client.disconnect(WAIT).unwrap();
}

#[test]
fn ping_before_the_connection_is_a_typed_error() {
    let broker = TcpBroker::start(BrokerConfig::default());
    let (client, _event_loop) = mqtt_blocking::new(&options(&broker, "ping-early")).unwrap();
    assert!(matches!(
        client.ping(WAIT),
        Err(Error::Ping(PingError::NotConnected))
    ));
}

#[test]
fn ping_in_a_callback_is_refused_rather_than_blocking_the_loop() {
    let broker = TcpBroker::start(BrokerConfig::default());
    let (client, event_loop) = mqtt_blocking::new(&options(&broker, "ping-callback")).unwrap();
    let (tell, told) = mpsc::channel();
    client.on_state(move |client, state| {
        if matches!(state, ConnectionState::Connected { .. }) {
            let _ = tell.send(client.ping(WAIT));
        }
    });
    let handle = event_loop.start().unwrap();
    let outcome = told.recv_timeout(WAIT).unwrap();
    assert!(matches!(outcome, Err(Error::WaitInCallback)), "{outcome:?}");
    client.disconnect(WAIT).unwrap();
    handle.join().unwrap();
}

#[test]
fn a_ping_the_broker_never_answers_ends_the_connection_at_the_ping_timeout() {
    let broker = TcpBroker::start(BrokerConfig::default());
    let options = options(&broker, "ping-silent").ping_timeout(Duration::from_millis(300));
    let client = mqtt_blocking::connect(&options).unwrap();
    broker.broker(|b| b.set_answer_pings(false));
    let outcome = client.ping(WAIT);
    assert!(
        matches!(
            outcome,
            Err(Error::ConnectionLost(Disconnection::KeepAliveTimeout))
        ),
        "{outcome:?}"
    );
}

#[test]
fn delivery_ids_are_unique_and_follow_the_publish_order() {
    let broker = TcpBroker::start(BrokerConfig::default());
    let client = mqtt_blocking::connect(&options(&broker, "ids")).unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            let delivery = client.publish("ids", "x", qos, false).unwrap();
            ids.push(delivery.id());
            delivery.wait_timeout(WAIT).unwrap();
        }
    }
    assert_eq!(ids, [1, 2, 3, 4, 5, 6]);
    client.disconnect(WAIT).unwrap();
}

#[test]
fn ack_timeout_bounds_a_delivery_wait_and_the_message_is_acknowledged_later_all_the_same() {
    let broker = TcpBroker::start(BrokerConfig::default());
    let options = options(&broker, "ack-timeout").ack_timeout(Some(Duration::from_millis(300)));
    let client = mqtt_blocking::connect(&options).unwrap();
    broker.broker(|b| b.hold_acks());
    let delivery = client
        .publish("slow", "x", QoS::AtLeastOnce, false)
        .unwrap();
    assert!(broker.wait_for(|b| b.received().len() == 1, WAIT));
    let outcome = delivery.wait();
    assert!(matches!(outcome, Err(Error::Timeout)), "{outcome:?}");
    // Not lost: acknowledged once the broker answers (the disconnect finds nothing unacknowledged), sent once.
    broker.broker(|b| b.release_acks());
    client.disconnect(WAIT).unwrap();
    assert_eq!(broker.broker(|b| b.received().len()), 1);
}
