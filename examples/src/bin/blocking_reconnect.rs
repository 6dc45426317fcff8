//! Reconnecting with `mqtt-blocking`: the broker goes away for a few seconds and comes back. The state callback
//! shows the reconnect schedule; a message published while offline waits in the client's queue and is delivered
//! after the reconnect.
//!
//! ```text
//! cargo run -p examples --bin blocking_reconnect                                    # an in-process broker, stopped and restarted
//! MQTT_BROKER=mqtt://127.0.0.1:1883 cargo run -p examples --bin blocking_reconnect  # your broker: the client drops its connection
//! ```

use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use examples::broker;
use mqtt_blocking::{ConnectionState, Options, QoS, ReconnectPolicy};

/// How long the in-process broker stays down.
const OUTAGE: Duration = Duration::from_secs(3);
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("blocking_reconnect failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut broker = broker::start_unless_configured()?;
    let options = match &broker {
        Some(broker) => Options::new(&broker.url())?,
        None => Options::from_env()?,
    };
    let start = Instant::now();
    let at = move || format!("[{:5.2} s]", start.elapsed().as_secs_f64());
    // Retry quickly for the demonstration: 0.25 s after a loss, then doubling up to 1 s.
    let policy = ReconnectPolicy {
        initial_delay: Duration::from_millis(250),
        max_backoff: Duration::from_secs(1),
        steady_delay: Duration::from_secs(1),
        ..ReconnectPolicy::default()
    };
    let options = options
        .client_id(format!("blocking-reconnect-{}", std::process::id()))
        .reconnect(policy)
        .connect_timeout(Duration::from_secs(5));
    let client = mqtt_blocking::connect(&options)?;
    println!("{} connected", at());

    // Every change of the connection, printed by the event loop as it happens.
    let mut connected = true;
    client.on_state(move |_, state| {
        println!(
            "{} state: {}",
            at(),
            examples::describe_state(&state, connected)
        );
        connected = matches!(state, ConnectionState::Connected { .. });
    });

    let topic = format!("blocking_reconnect/{}", std::process::id());
    let (received, messages) = mpsc::channel();
    client
        .subscribe(topic.as_str(), QoS::AtLeastOnce, move |_, message| {
            let _ = received.send(message.clone());
        })?
        .wait_timeout(STEP_TIMEOUT)?;
    let delivery = match &mut broker {
        Some(broker) => {
            broker.stop();
            println!(
                "{} the broker stopped: its listener and every connection are closed",
                at()
            );
            let delivery = client.publish(
                topic.as_str(),
                "sent while offline",
                QoS::AtLeastOnce,
                false,
            )?;
            println!(
                "{} published a QoS 1 message while offline: it waits in the client's queue",
                at()
            );
            std::thread::sleep(OUTAGE);
            broker.restart()?;
            println!("{} the broker is back on the same port", at());
            delivery
        }
        None => {
            // A broker of your own cannot be restarted from here: drop the connection instead.
            client.reconnect()?;
            println!("{} dropped the connection (Client::reconnect)", at());
            client.publish(
                topic.as_str(),
                "sent while offline",
                QoS::AtLeastOnce,
                false,
            )?
        }
    };

    // After the reconnect the queued message goes out; it comes back through the subscription, which the client
    // restored on the new connection.
    delivery.wait_timeout(STEP_TIMEOUT)?;
    println!(
        "{} the broker acknowledged the message sent while offline (PUBACK)",
        at()
    );
    let message = messages
        .recv_timeout(STEP_TIMEOUT)
        .map_err(|_| "the message sent while offline did not come back")?;
    println!(
        "{} received {:?} on {:?}",
        at(),
        String::from_utf8_lossy(&message.payload),
        message.topic
    );
    let stats = client.stats();
    client.disconnect(Duration::from_secs(5))?;
    println!("connections lost along the way: {}", stats.disconnections);
    Ok(())
}
