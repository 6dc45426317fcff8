//! What the new-user tests of mqtt-blocking share: a mosquitto of the harness, options and connections to it,
//! a callback that forwards messages to a channel, and bounded waits.

#![allow(dead_code, reason = "each test binary uses part of it")]

use std::sync::mpsc::{Receiver, Sender};
use std::time::Duration;

use mqtt_blocking::{Client, Message, Options, QoS};
use mqtt_test::{Listener, Mosquitto, MosquittoConfig};

/// The longest any step waits.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// A mosquitto with `config`, on a free loopback port.
pub(crate) fn broker_with(config: MosquittoConfig) -> Mosquitto {
    Mosquitto::start(config).unwrap_or_else(|e| panic!("{e}"))
}

/// A mosquitto with the harness's defaults.
pub(crate) fn broker() -> Mosquitto {
    broker_with(MosquittoConfig::default())
}

/// Options for `broker`'s plain listener, with the client identifier `id`.
pub(crate) fn options(broker: &Mosquitto, id: &str) -> Options {
    Options::new(&broker.url(Listener::Plain))
        .unwrap()
        .client_id(id)
}

/// Connects, or fails the test.
pub(crate) fn connect(options: &Options) -> Client {
    mqtt_blocking::connect(options).unwrap_or_else(|e| panic!("connect: {e}"))
}

/// A message callback that forwards what it gets to a channel.
pub(crate) fn forward(to: &Sender<Message>) -> impl FnMut(&Client, &Message) + Send + 'static {
    let to = to.clone();
    move |_, message| {
        let _ = to.send(message.clone());
    }
}

/// The next message of `messages`, within [`WAIT`].
pub(crate) fn next(messages: &Receiver<Message>) -> Message {
    messages
        .recv_timeout(WAIT)
        .expect("timed out waiting for a message")
}

/// Publishes at QoS 1 and waits for the broker's acknowledgement.
pub(crate) fn publish_acked(client: &Client, topic: &str, payload: &str) {
    client
        .publish(topic, payload, QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
}
