//! mqtt-blocking: reconnects asked for from callbacks, the way a paho user writes them (a reconnect then a
//! disconnect in the same callback, a reconnect on a lost connection, a reconnect after the client disconnected),
//! against the fake broker over TCP.

use std::sync::mpsc;
use std::time::Duration;

use mqtt_blocking::{ConnectionState, Error, Options, QoS};
use mqtt_test::{BrokerConfig, TcpBroker};

const WAIT: Duration = Duration::from_secs(20);

fn options(broker: &TcpBroker, id: &str) -> Options {
    Options::new(&broker.url())
        .unwrap()
        .client_id(id)
        .clean_start(false)
        .session_expiry(300)
        .connect_timeout(WAIT)
}

/// The last call wins: a callback that reconnects and then disconnects its client ends it, as the same two calls
/// do outside a callback.
#[test]
fn a_callback_that_reconnects_then_disconnects_ends_the_client() {
    let broker = TcpBroker::start(BrokerConfig::default());
    let client = mqtt_blocking::connect(&options(&broker, "cb-re-dis")).unwrap();
    let (said, outcomes) = mpsc::channel();
    client
        .subscribe("cb/#", QoS::AtLeastOnce, move |client, _message| {
            let reconnected = client.reconnect();
            let disconnected = client.disconnect(Duration::ZERO);
            let _ = said.send((reconnected, disconnected));
        })
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let (changed, states) = mpsc::channel();
    client.on_state(move |_client, state| {
        let _ = changed.send(state);
    });
    broker.broker(|b| b.inject("cb/x", b"stop", QoS::AtLeastOnce, false));
    let (reconnected, disconnected) = outcomes.recv_timeout(WAIT).unwrap();
    reconnected.unwrap();
    disconnected.unwrap();
    // The disconnect came last: the client ends, and does not connect again.
    loop {
        match states.recv_timeout(WAIT).unwrap() {
            ConnectionState::Disconnected => break,
            // The first connection's state, told to a callback registered after it, is not a reconnect.
            ConnectionState::Connected { .. } => {
                let connections = broker.broker(|b| b.connections().len());
                assert_eq!(
                    connections, 1,
                    "the client connected again after its callback's disconnect"
                );
            }
            _ => {}
        }
    }
    assert!(matches!(client.wait_connected(WAIT), Err(Error::Closed)));
    assert_eq!(broker.broker(|b| b.connections().len()), 1);
}

/// A callback that disconnects its client and then reconnects it (paho's way to restart a connection): the
/// reconnect comes last and calls the disconnect off, as the same two calls do outside a callback; it returns Ok,
/// the client is connected again, and the message is acknowledged first, so the broker does not send it again.
#[test]
fn a_callback_that_disconnects_then_reconnects_connects_again() {
    let broker = TcpBroker::start(BrokerConfig::default());
    let client = mqtt_blocking::connect(&options(&broker, "cb-dis-re")).unwrap();
    let (said, outcomes) = mpsc::channel();
    client
        .subscribe("cb/#", QoS::AtLeastOnce, move |client, _message| {
            let disconnected = client.disconnect(Duration::ZERO);
            let reconnected = client.reconnect();
            let _ = said.send((disconnected, reconnected));
        })
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    broker.broker(|b| b.inject("cb/x", b"stop", QoS::AtLeastOnce, false));
    let (disconnected, reconnected) = outcomes.recv_timeout(WAIT).unwrap();
    disconnected.unwrap();
    reconnected.unwrap();
    assert!(
        broker.wait_for(|b| b.connections().len() == 2 && b.is_connected(), WAIT),
        "the callback's reconnect connected again"
    );
    client.wait_connected(WAIT).unwrap();
    client
        .publish("other/y", "still here", QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    // The handler's message was acknowledged before the connection ended: it does not come again, so the
    // handler does not restart the connection again (and call this disconnect off).
    client.disconnect(WAIT).unwrap();
    assert_eq!(outcomes.try_iter().count(), 0, "the message came again");
    assert_eq!(broker.broker(|b| b.connections().len()), 2);
}

/// A state callback that reconnects on [`ConnectionState::Lost`] (paho's `on_disconnect: client.reconnect()`):
/// Ok, and the client is connected again, without waiting for the reconnect schedule.
#[test]
fn a_state_callback_that_reconnects_on_a_lost_connection_connects_again() {
    let broker = TcpBroker::start(BrokerConfig::default());
    // A long schedule: only the callback's reconnect can bring the connection back in time.
    let client = mqtt_blocking::connect(&options(&broker, "cb-lost-re").reconnect(
        mqtt_blocking::ReconnectPolicy::fixed(Duration::from_secs(600)),
    ))
    .unwrap();
    let (said, outcomes) = mpsc::channel();
    client.on_state(move |client, state| {
        if let ConnectionState::Lost(_) = state {
            let _ = said.send(client.reconnect());
        }
    });
    broker.broker(|b| b.close_connection());
    outcomes.recv_timeout(WAIT).unwrap().unwrap();
    assert!(
        broker.wait_for(|b| b.connections().len() == 2 && b.is_connected(), WAIT),
        "the state callback's reconnect connected again"
    );
    client.wait_connected(WAIT).unwrap();
    client
        .publish("other/y", "back", QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    client.disconnect(WAIT).unwrap();
}

/// A reconnect from a callback once the client has ended: [`Error::Closed`].
#[test]
fn a_callback_reconnect_after_the_client_ended_is_closed() {
    let broker = TcpBroker::start(BrokerConfig::default());
    let client = mqtt_blocking::connect(&options(&broker, "cb-ended-re")).unwrap();
    let (said, outcomes) = mpsc::channel();
    client.on_state(move |client, state| {
        if let ConnectionState::Disconnected = state {
            let _ = said.send(client.reconnect());
        }
    });
    client.disconnect(WAIT).unwrap();
    if let Ok(outcome) = outcomes.recv_timeout(Duration::from_secs(2)) {
        assert!(matches!(outcome, Err(Error::Closed)), "{outcome:?}");
    }
    assert!(matches!(client.reconnect(), Err(Error::Closed)));
    assert_eq!(broker.broker(|b| b.connections().len()), 1);
}

/// Every handle is dropped (the loop disconnects and ends) while a callback runs; the callback then reconnects
/// with the handle it was given (which does not keep the loop alive): the client is ending, so the reconnect is
/// refused with [`Error::Closed`] and does not call the last handle's disconnect off, and the loop ends.
#[test]
fn a_callback_reconnect_after_the_last_handle_is_dropped_is_closed_and_the_loop_ends() {
    let broker = TcpBroker::start(BrokerConfig::default());
    let (client, event_loop) = mqtt_blocking::new(&options(&broker, "cb-gone-re")).unwrap();
    let running = event_loop.start().unwrap();
    client.wait_connected(WAIT).unwrap();
    let (entered, in_callback) = mpsc::channel();
    let (said, outcomes) = mpsc::channel();
    client
        .subscribe("cb/#", QoS::AtLeastOnce, move |client, _message| {
            let _ = entered.send(());
            // Until the last handle's drop has started the disconnect: publishing is then refused.
            for _ in 0..10_000 {
                if matches!(
                    client.publish("other/z", "x", QoS::AtMostOnce, false),
                    Err(Error::Closed)
                ) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            let _ = said.send(client.reconnect());
        })
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    broker.broker(|b| b.inject("cb/x", b"go", QoS::AtLeastOnce, false));
    in_callback.recv_timeout(WAIT).unwrap();
    // The drop waits for the loop (at most the disconnect timeout); the callback goes on meanwhile.
    let dropper = std::thread::spawn(move || drop(client));
    let outcome = outcomes.recv_timeout(WAIT).unwrap();
    dropper.join().unwrap();
    assert!(
        matches!(outcome, Err(Error::Closed)),
        "the callback's reconnect after the last handle was dropped: {outcome:?}"
    );
    running.join().unwrap();
    assert_eq!(broker.broker(|b| b.connections().len()), 1);
}
