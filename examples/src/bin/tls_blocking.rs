//! TLS with `mqtt-blocking`: connect over `mqtts://`, checking the broker's certificate against a CA you give, then
//! publish one QoS 1 message and receive it back.
//!
//! ```text
//! cargo run -p examples --bin tls_blocking                                                  # an in-process broker behind TLS
//! MQTT_BROKER=mqtts://localhost:8883 MQTT_CA=ca.pem cargo run -p examples --bin tls_blocking  # your broker
//! ```
//!
//! With `MQTT_BROKER` unset it starts the in-process broker and a TLS front before it (`examples::tls_front`, which
//! runs on a small tokio runtime of its own: the stand-in broker's, not the client's) with a certificate for
//! `localhost` signed by a CA generated at start, which the client then trusts. With `MQTT_BROKER` set, the client
//! trusts the CA in the PEM file `MQTT_CA`, or the system's root certificates without it.

use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use examples::broker;
use examples::tls_front::{self, TlsFront};
use mqtt_blocking::{Options, QoS};

const STEP_TIMEOUT: Duration = Duration::from_secs(5);

type BoxError = Box<dyn std::error::Error>;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tls_blocking failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), BoxError> {
    // Keep the broker, its TLS front and the front's runtime alive until the end of `run`.
    let broker = broker::start_unless_configured()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let (options, _front) = match &broker {
        Some(broker) => {
            let front = runtime.block_on(TlsFront::start(broker.address()))?;
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
    let options = options
        .client_id(format!("tls-blocking-{}", std::process::id()))
        .connect_timeout(STEP_TIMEOUT);
    println!("connecting to {}", options.brokers().join(", "));
    let client = mqtt_blocking::connect(&options)?;
    println!("connected over TLS: the broker's certificate was verified");

    let topic = format!("tls_blocking/{}", std::process::id());
    let (received, messages) = mpsc::channel();
    client
        .subscribe(topic.as_str(), QoS::AtLeastOnce, move |_, message| {
            let _ = received.send(message.clone());
        })?
        .wait_timeout(STEP_TIMEOUT)?;
    println!("subscribed to {topic:?}");
    client
        .publish(topic.as_str(), "sent over TLS", QoS::AtLeastOnce, false)?
        .wait_timeout(STEP_TIMEOUT)?;
    println!("published a QoS 1 message to {topic:?}, acknowledged by the broker (PUBACK)");
    let message = messages
        .recv_timeout(STEP_TIMEOUT)
        .map_err(|_| "the message did not come back")?;
    println!(
        "received {:?} on {:?} at QoS {}",
        String::from_utf8_lossy(&message.payload),
        message.topic,
        message.qos as u8
    );
    client.disconnect(STEP_TIMEOUT)?;
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
