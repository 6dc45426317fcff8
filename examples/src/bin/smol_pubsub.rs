//! Publish/subscribe with `mqtt-smol`: one client subscribes with wildcard filters and publishes readings that
//! match them; each subscription yields only the messages its filter matches.
//!
//! ```text
//! cargo run -p examples --bin smol_pubsub                                    # an in-process broker
//! MQTT_BROKER=mqtt://127.0.0.1:1883 cargo run -p examples --bin smol_pubsub  # your broker
//! ```

use std::process::ExitCode;
use std::time::Duration;

use examples::broker;
use mqtt_smol::{Error, Options, QoS, Subscription};

const TIMEOUT: Duration = Duration::from_secs(20);

fn main() -> ExitCode {
    let broker = match broker::start_unless_configured() {
        Ok(broker) => broker,
        Err(e) => {
            eprintln!("could not start the in-process broker: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = match &broker {
        Some(broker) => Options::new(&broker.url()),
        None => Options::from_env(),
    };
    // smol's executor: `block_on` runs the future on this thread; the client's connection runs on smol's global
    // executor, which `mqtt_smol::connect` spawns it on.
    let outcome = match options {
        Ok(options) => smol::block_on(within(TIMEOUT, run(options))),
        Err(e) => Some(Err(e)),
    };
    match outcome {
        Some(Ok(())) => ExitCode::SUCCESS,
        Some(Err(e)) => {
            eprintln!("smol_pubsub failed: {e}");
            ExitCode::FAILURE
        }
        None => {
            eprintln!("smol_pubsub failed: not finished within {TIMEOUT:?}");
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

async fn run(options: Options) -> Result<(), Error> {
    println!("connecting to {}", options.brokers().join(", "));
    let id = format!("smol-pubsub-{}", std::process::id());
    let options = options
        .client_id(id)
        .connect_timeout(Duration::from_secs(10));
    let client = mqtt_smol::connect(options).await?;
    println!("connected");

    // A prefix of our own, so that other programs on a shared broker do not interfere.
    let home = format!("smol_pubsub/{}", std::process::id());
    let temperatures = format!("{home}/+/temperature");
    let kitchen = format!("{home}/kitchen/#");
    let mut all_temperatures = client
        .subscribe(temperatures.as_str(), QoS::AtLeastOnce)
        .await?;
    println!("subscribed to {temperatures:?}");
    let mut kitchen_only = client.subscribe(kitchen.as_str(), QoS::AtLeastOnce).await?;
    println!("subscribed to {kitchen:?}");

    let readings = [
        ("kitchen/temperature", "21.5"),
        ("kitchen/humidity", "48"),
        ("hall/temperature", "19.0"),
        ("garage/temperature", "12.5"),
    ];
    for (topic, value) in readings {
        let topic = format!("{home}/{topic}");
        // `publish` returns once the client has queued the message; `wait` until the broker acknowledged it.
        client
            .publish(topic.as_str(), value, QoS::AtLeastOnce, false)
            .await?
            .wait()
            .await?;
        println!("published {value} to {topic:?}, acknowledged by the broker");
    }

    // Three readings match the temperature filter, two the kitchen filter (one message matches both).
    receive(&mut all_temperatures, &temperatures, 3).await?;
    receive(&mut kitchen_only, &kitchen, 2).await?;

    // One filter per request: rumqttd 0.20 answers an UNSUBSCRIBE of several filters with one UNSUBACK per filter.
    for filter in [temperatures, kitchen] {
        client.unsubscribe([filter.clone()]).await?;
        println!("unsubscribed from {filter:?}");
    }
    client.disconnect(Duration::from_secs(5)).await?;
    println!("disconnected");
    Ok(())
}

/// Receives `count` messages from `subscription` and prints them.
async fn receive(subscription: &mut Subscription, filter: &str, count: usize) -> Result<(), Error> {
    for _ in 0..count {
        let message = subscription.recv().await.ok_or(Error::Closed)?;
        println!(
            "  {filter:?} received {:?} = {}",
            message.topic,
            String::from_utf8_lossy(&message.payload)
        );
    }
    Ok(())
}
