//! The device-style client, with `mqtt-blocking` on plain threads: a connector configured from the environment,
//! JSON payloads, a callback per topic, a connection-state callback while the client reconnects by itself, and
//! the statistics at the end. No async runtime is involved.
//!
//! ```text
//! cargo run -p examples --bin blocking_pubsub                                    # an in-process broker
//! MQTT_BROKER=mqtt://127.0.0.1:1883 cargo run -p examples --bin blocking_pubsub  # your broker
//! ```
//!
//! `MQTT_BROKER`, `MQTT_PORT`, `MQTT_USERNAME`, `MQTT_PASSWORD` and `MQTT_CLIENT_ID` configure the connection,
//! as in the other examples. A thermostat subscribes to temperatures and to commands; sensors publish readings as
//! JSON; the thermostat answers a command from inside its callback.

use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use examples::broker;
use mqtt_blocking::{ConnectionState, Message, Options, QoS};
use serde_json::{Value, json};

const STEP_TIMEOUT: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("blocking_pubsub failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let broker = broker::start_unless_configured()?;
    let options = match &broker {
        Some(broker) => Options::new(&broker.url())?,
        None => Options::from_env()?,
    };
    let home = format!("blocking_pubsub/{}", std::process::id());
    let options = options
        .client_id(format!("thermostat-{}", std::process::id()))
        .connect_timeout(STEP_TIMEOUT)
        // If the thermostat vanishes, the broker tells everyone (retained, so late subscribers know too).
        .will(
            format!("{home}/thermostat/status"),
            r#"{"online":false}"#,
            QoS::AtLeastOnce,
            true,
        );
    println!("connecting to {}", options.brokers().join(", "));

    // Callbacks first, then the loop on its own thread: the connection's outcome arrives as a state.
    let (client, event_loop) = mqtt_blocking::new(&options)?;
    let mut connected = false;
    client.on_state(move |_, state| {
        println!("  state: {}", examples::describe_state(&state, connected));
        connected = matches!(state, ConnectionState::Connected { .. });
    });
    client.on_connecting(|_| println!("  opening a connection..."));
    client.on_loop_failure(|error| eprintln!("  event loop: {error}"));
    let running = event_loop.start()?;
    client.wait_connected(STEP_TIMEOUT)?;

    // A callback per topic. Each runs on the event loop's thread and gets the client, to answer from there.
    let (readings_tx, readings) = mpsc::channel();
    let granted = client
        .subscribe(
            format!("{home}/+/temperature"),
            QoS::AtLeastOnce,
            move |_, message| {
                let reading = json_of(message);
                println!("  {} says {reading}", message.topic);
                let _ = readings_tx.send(reading);
            },
        )?
        .wait_timeout(STEP_TIMEOUT)?;
    println!(
        "subscribed to {home}/+/temperature (granted QoS {})",
        granted as u8
    );
    let (answered_tx, answered) = mpsc::channel();
    let answers = format!("{home}/thermostat/answer");
    client
        .subscribe(
            format!("{home}/thermostat/set"),
            QoS::ExactlyOnce,
            move |client, message| {
                let command = json_of(message);
                let answer = json!({ "accepted": true, "target": command["target"] });
                // Publishing from a callback is fine; waiting for the acknowledgement here is not (the loop would wait
                // for itself), so the delivery is dropped: the message still goes out.
                match client.publish(
                    answers.as_str(),
                    answer.to_string(),
                    QoS::AtLeastOnce,
                    false,
                ) {
                    Ok(_delivery) => {
                        println!("  thermostat: target {} accepted", command["target"]);
                    }
                    Err(e) => eprintln!("  thermostat: cannot answer: {e}"),
                }
                let _ = answered_tx.send(());
            },
        )?
        .wait_timeout(STEP_TIMEOUT)?;
    client
        .publish(
            format!("{home}/thermostat/status"),
            r#"{"online":true}"#,
            QoS::AtLeastOnce,
            true,
        )?
        .wait_timeout(STEP_TIMEOUT)?;

    // Sensors publish JSON readings; each publish is acknowledged by the broker before the next.
    for (room, celsius) in [("kitchen", 21.5), ("hall", 19.0), ("cellar", 12.25)] {
        let payload = json!({ "room": room, "celsius": celsius });
        client
            .publish(
                format!("{home}/{room}/temperature"),
                payload.to_string(),
                QoS::AtLeastOnce,
                false,
            )?
            .wait_timeout(STEP_TIMEOUT)?;
    }
    for _ in 0..3 {
        readings
            .recv_timeout(STEP_TIMEOUT)
            .map_err(|_| "a reading did not arrive")?;
    }
    client
        .publish(
            format!("{home}/thermostat/set"),
            json!({ "target": 20.5 }).to_string(),
            QoS::ExactlyOnce,
            false,
        )?
        .wait_timeout(STEP_TIMEOUT)?;
    answered
        .recv_timeout(STEP_TIMEOUT)
        .map_err(|_| "the command was not answered")?;

    // The connection drops; the client reconnects by itself and restores its subscriptions.
    println!(
        "dropping the connection (Client::reconnect): the state callback follows the reconnect"
    );
    client.reconnect()?;
    client.wait_connected(STEP_TIMEOUT)?;
    client
        .publish(
            format!("{home}/garage/temperature"),
            json!({ "room": "garage", "celsius": 8.0 }).to_string(),
            QoS::AtLeastOnce,
            false,
        )?
        .wait_timeout(STEP_TIMEOUT)?;
    readings
        .recv_timeout(STEP_TIMEOUT)
        .map_err(|_| "no reading after the reconnect")?;

    // After a graceful disconnect everything queued is out (the thermostat's answer too): final counters.
    client.disconnect(STEP_TIMEOUT)?;
    let stats = client.stats();
    println!(
        "statistics: {} messages sent ({} bytes), {} received ({} bytes), {} disconnection(s)",
        stats.messages_sent,
        stats.bytes_sent,
        stats.messages_received,
        stats.bytes_received,
        stats.disconnections
    );
    running.join()?;
    Ok(())
}

/// The message's payload as JSON (`null` if it is not JSON).
fn json_of(message: &Message) -> Value {
    serde_json::from_slice(&message.payload).unwrap_or(Value::Null)
}
