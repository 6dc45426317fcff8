//! What the client logs, printed by a `tracing` subscriber (`tracing-subscriber`'s `fmt`): each connection
//! attempt with its broker's URL, the outcome, lost connections and reconnect delays, backpressure, all inside a
//! span `mqtt` that names the client. Passwords and payloads never appear. The broker goes away for a second on
//! the way (the in-process one stops; a broker of `MQTT_BROKER` sees the client reconnect).
//!
//! ```text
//! cargo run -p examples --bin tracing_subscriber
//! MQTT_BROKER=mqtt://127.0.0.1:1883 cargo run -p examples --bin tracing_subscriber
//! ```

use std::process::ExitCode;
use std::time::Duration;

use examples::broker;
use futures::StreamExt;
use mqtt_tokio::{ConnectionState, Options, QoS, ReconnectPolicy};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

const TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> ExitCode {
    // The client's events (mqtt_core: the states, attempts, pauses) at DEBUG, on stdout, without colours; the
    // in-process broker's own logging stays out.
    let only_the_client = Targets::new()
        .with_target("mqtt_core", LevelFilter::DEBUG)
        .with_target("mqtt_tokio", LevelFilter::DEBUG);
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(std::io::stdout),
        )
        .with(only_the_client)
        .init();
    match tokio::time::timeout(TIMEOUT, run()).await {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("tracing_subscriber failed: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("tracing_subscriber failed: not finished within {TIMEOUT:?}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut broker = broker::start_unless_configured()?;
    let options = match &broker {
        Some(broker) => Options::new(&broker.url())?,
        None => Options::from_env()?,
    };
    let options = options
        .client_id(format!("tracing-{}", std::process::id()))
        // Logged as present, never as itself.
        .credentials("demo", "never-in-the-log")
        .reconnect(ReconnectPolicy {
            initial_delay: Duration::from_millis(250),
            ..ReconnectPolicy::default()
        });
    let client = mqtt_tokio::connect(options).await?;
    let topic = format!("tracing/{}", std::process::id());
    let mut inbox = client.subscribe(topic.as_str(), QoS::AtLeastOnce).await?;
    client
        .publish(
            topic.as_str(),
            "a payload the log leaves out",
            QoS::AtLeastOnce,
            false,
        )
        .await?
        .wait()
        .await?;
    let message = inbox.recv().await.ok_or("the subscription ended")?;
    println!(
        "received {} bytes on {}",
        message.payload.len(),
        message.topic
    );

    // The broker goes away: the log shows the loss, the reconnect delays and the next attempts.
    let mut states = client.states();
    // The current state (connected) comes first.
    states.next().await;
    match broker.as_mut() {
        Some(broker) => {
            broker.stop();
            tokio::time::sleep(Duration::from_secs(1)).await;
            broker.restart()?;
        }
        None => client.reconnect()?,
    }
    while let Some(state) = states.next().await {
        if matches!(state, ConnectionState::Connected { .. }) {
            break;
        }
    }
    client.disconnect(Duration::from_secs(5)).await?;
    println!("done: the client's log is above");
    Ok(())
}
