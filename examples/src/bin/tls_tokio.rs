//! TLS with `mqtt-tokio`: connect over `mqtts://`, checking the broker's certificate against a CA you give, then
//! publish one QoS 1 message and receive it back.
//!
//! ```text
//! cargo run -p examples --bin tls_tokio                                           # an in-process broker behind TLS
//! MQTT_BROKER=mqtts://localhost:8883 MQTT_CA=ca.pem cargo run -p examples --bin tls_tokio  # your broker
//! ```
//!
//! With `MQTT_BROKER` unset it starts the in-process broker and a TLS front before it (`examples::tls_front`) with a
//! certificate for `localhost` signed by a CA generated at start, which the client then trusts. With `MQTT_BROKER`
//! set, the client trusts the CA in the PEM file `MQTT_CA`, or the system's root certificates without it.

use std::process::ExitCode;
use std::time::Duration;

use examples::broker;
use examples::tls_front::{self, TlsFront};
use mqtt_tokio::{Options, QoS};

const TIMEOUT: Duration = Duration::from_secs(20);
const STEP_TIMEOUT: Duration = Duration::from_secs(5);

type BoxError = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> ExitCode {
    match tokio::time::timeout(TIMEOUT, run()).await {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("tls_tokio failed: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("tls_tokio failed: not finished within {TIMEOUT:?}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), BoxError> {
    // Keep the broker and its TLS front alive until the end of `run`.
    let broker = broker::start_unless_configured()?;
    let (options, _front) = match &broker {
        Some(broker) => {
            let front = TlsFront::start(broker.address()).await?;
            println!(
                "started an in-process broker at {} and a TLS front at {}, with a certificate for \"localhost\" \
                 signed by a CA generated just now",
                broker.url(),
                front.url()
            );
            let options = Options::new(&front.url())?.ca_pem(front.ca_pem());
            println!("the client trusts that CA only");
            (options, Some(front))
        }
        None => (options_from_env()?, None),
    };
    let id = format!("tls-tokio-{}", std::process::id());
    let options = options.client_id(id).connect_timeout(STEP_TIMEOUT);
    println!("connecting to {}", options.brokers().join(", "));
    let client = mqtt_tokio::connect(options).await?;
    println!("connected over TLS: the broker's certificate was verified");

    let topic = format!("tls_tokio/{}", std::process::id());
    let mut messages = client.subscribe(topic.as_str(), QoS::AtLeastOnce).await?;
    println!("subscribed to {topic:?}");
    client
        .publish(topic.as_str(), "sent over TLS", QoS::AtLeastOnce, false)
        .await?
        .wait_timeout(STEP_TIMEOUT)
        .await?;
    println!("published a QoS 1 message to {topic:?}, acknowledged by the broker (PUBACK)");
    let message = tokio::time::timeout(STEP_TIMEOUT, messages.recv())
        .await
        .map_err(|_| "the message did not come back")?
        .ok_or("the connection's event loop ended")?;
    println!(
        "received {:?} on {:?} at QoS {}",
        String::from_utf8_lossy(&message.payload),
        message.topic,
        message.qos as u8
    );

    client.disconnect(STEP_TIMEOUT).await?;
    println!("disconnected");
    Ok(())
}

/// `MQTT_BROKER` and the other `MQTT_*` variables, with the CA in the file `MQTT_CA` if set.
fn options_from_env() -> Result<Options, BoxError> {
    let options = Options::from_env()?;
    match tls_front::broker_from_env()? {
        Some((_, Some(ca))) => Ok(options.ca_pem(ca)),
        _ => Ok(options),
    }
}
