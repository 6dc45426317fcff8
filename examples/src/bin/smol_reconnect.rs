//! Reconnecting with `mqtt-smol` (the smol twin of `reconnect`): the broker goes away for a few seconds and comes back. The client's connection
//! states show the reconnect schedule; a message published while offline waits in the client's queue and is
//! delivered after the reconnect.
//!
//! ```text
//! cargo run -p examples --bin smol_reconnect                                 # an in-process broker, stopped and restarted
//! MQTT_BROKER=mqtt://127.0.0.1:1883 cargo run -p examples --bin smol_reconnect  # your broker: the client drops its connection
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

use examples::broker;
use futures::StreamExt;
use mqtt_smol::{ConnectionState, Options, QoS, ReconnectPolicy};

const TIMEOUT: Duration = Duration::from_secs(30);
/// How long the in-process broker stays down.
const OUTAGE: Duration = Duration::from_secs(3);

fn main() -> ExitCode {
    match smol::block_on(within(TIMEOUT, run())) {
        Some(Ok(())) => ExitCode::SUCCESS,
        Some(Err(e)) => {
            eprintln!("smol_reconnect failed: {e}");
            ExitCode::FAILURE
        }
        None => {
            eprintln!("smol_reconnect failed: not finished within {TIMEOUT:?}");
            ExitCode::FAILURE
        }
    }
}

/// `future`'s output, or `None` if it did not finish within `limit`.
async fn within<T>(limit: Duration, future: impl Future<Output = T>) -> Option<T> {
    smol::future::or(async { Some(future.await) }, async {
        smol::Timer::after(limit).await;
        None
    })
    .await
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
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
    let id = format!("smol-reconnect-{}", std::process::id());
    let options = options
        .client_id(id)
        .reconnect(policy)
        .connect_timeout(Duration::from_secs(5));
    let client = mqtt_smol::connect(options).await?;
    println!("{} connected", at());

    // Every change of the connection, printed as it happens, until the client has disconnected.
    let mut states = client.states();
    let printer = smol::spawn(async move {
        let mut connected = true;
        while let Some(state) = states.next().await {
            println!(
                "{} state: {}",
                at(),
                examples::describe_state(&state, connected)
            );
            connected = matches!(state, ConnectionState::Connected { .. });
            if state == ConnectionState::Disconnected {
                break;
            }
        }
    });

    let topic = format!("smol_reconnect/{}", std::process::id());
    let mut messages = client.subscribe(topic.as_str(), QoS::AtLeastOnce).await?;
    // Publish while the connection is down: the client keeps a QoS 1 message queued until the broker has it.
    let offline = async {
        let delivery = client.publish(
            topic.as_str(),
            "sent while offline",
            QoS::AtLeastOnce,
            false,
        );
        let delivery = delivery.await?;
        println!(
            "{} published a QoS 1 message while offline: it waits in the client's queue",
            at()
        );
        Ok::<_, mqtt_smol::Error>(delivery)
    };
    let delivery = match &mut broker {
        Some(broker) => {
            broker.stop();
            println!(
                "{} the broker stopped: its listener and every connection are closed",
                at()
            );
            let delivery = offline.await?;
            smol::Timer::after(OUTAGE).await;
            broker.restart()?;
            println!("{} the broker is back on the same port", at());
            delivery
        }
        None => {
            // A broker of your own cannot be restarted from here: drop the connection instead.
            client.reconnect()?;
            println!("{} dropped the connection (Client::reconnect)", at());
            offline.await?
        }
    };

    // After the reconnect the queued message goes out; it comes back through the subscription, which the client
    // restored on the new connection.
    delivery.wait_timeout(Duration::from_secs(10)).await?;
    println!(
        "{} the broker acknowledged the message sent while offline (PUBACK)",
        at()
    );
    let message = within(Duration::from_secs(5), messages.recv())
        .await
        .ok_or("the message sent while offline did not come back")?
        .ok_or("the connection's event loop ended")?;
    let payload = String::from_utf8_lossy(&message.payload);
    println!("{} received {payload:?} on {:?}", at(), message.topic);

    let stats = client.stats();
    client.disconnect(Duration::from_secs(5)).await?;
    let _ = within(Duration::from_secs(1), printer).await;
    println!("connections lost along the way: {}", stats.disconnections);
    Ok(())
}
