//! MQTT 5.0 properties with `mqtt-blocking`: what the broker announced in CONNACK, a message with every PUBLISH
//! property and what the subscriber receives of it (Subscription Identifier included), subscription options,
//! user properties on CONNECT and SUBSCRIBE, the unsubscribe code, and a DISCONNECT with a reason string.
//!
//! ```text
//! cargo run -p examples --bin mqtt5_properties                                    # an in-process broker
//! MQTT_BROKER=mqtt://127.0.0.1:1883 cargo run -p examples --bin mqtt5_properties  # your broker
//! ```

use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use examples::broker;
use mqtt_blocking::{
    DisconnectOptions, Error, Filter, Message, Options, QoS, SubscribeRequest, UnsubscribeRequest,
};

const WAIT: Duration = Duration::from_secs(10);

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
    match options.and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqtt5_properties failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(options: Options) -> Result<(), Error> {
    println!("connecting to {}", options.brokers().join(", "));
    let pid = std::process::id();
    let options = options
        .connect_timeout(WAIT)
        .user_property("example", "mqtt5_properties");
    let client = mqtt_blocking::connect(&options.client_id(format!("mqtt5-props-{pid}")))?;

    // Everything CONNACK said, as one value.
    if let Some(info) = client.server_info() {
        println!(
            "the broker announced: maximum QoS {:?}, retain {}, wildcards {}, subscription identifiers {}, \
             shared subscriptions {}, topic aliases {}, receive maximum {}",
            info.maximum_qos,
            info.retain_available,
            info.wildcard_subscription_available,
            info.subscription_identifiers_available,
            info.shared_subscription_available,
            info.topic_alias_maximum,
            info.receive_maximum,
        );
    }

    // A subscription with options, its own Subscription Identifier and a user property.
    let topic = format!("mqtt5_properties/{pid}/reading");
    let (received, messages) = mpsc::channel();
    let request = SubscribeRequest::new()
        .filter(Filter::new(&topic, QoS::AtLeastOnce).retain_as_published(true))
        .subscription_id(42)
        .user_property("purpose", "demo");
    let granted = client
        .subscribe_with(request, move |_, message| {
            let _ = received.send(message.clone());
        })?
        .wait_timeout(WAIT)?;
    println!("subscribed to {topic}: {granted:?}");

    // A message with every PUBLISH property.
    let sent = Message::new(&topic, r#"{"celsius": 21.5}"#)
        .qos(QoS::AtLeastOnce)
        .payload_format_indicator(true)
        .content_type("application/json")
        .message_expiry_interval(60)
        .response_topic(format!("mqtt5_properties/{pid}/replies"))
        .correlation_data(&b"reading-1"[..])
        .user_property("unit", "celsius")
        .user_property("sensor", "kitchen");
    client.publish_message(sent)?.wait_timeout(WAIT)?;
    println!("published with every PUBLISH property; the broker acknowledged it");

    let got = messages.recv_timeout(WAIT).map_err(|_| Error::Timeout)?;
    println!(
        "received on {}: {}",
        got.topic,
        String::from_utf8_lossy(&got.payload)
    );
    println!(
        "  payload format indicator: {:?}",
        got.payload_format_indicator
    );
    println!("  content type: {:?}", got.content_type);
    println!(
        "  message expiry interval: {:?} s",
        got.message_expiry_interval
    );
    println!("  response topic: {:?}", got.response_topic);
    println!(
        "  correlation data: {:?}",
        got.correlation_data
            .as_ref()
            .map(|c| String::from_utf8_lossy(c).into_owned())
    );
    println!("  user properties: {:?}", got.user_properties);
    println!(
        "  subscription identifiers: {:?}",
        got.subscription_identifiers
    );
    if got.content_type.as_deref() != Some("application/json") || got.user_properties.len() != 2 {
        return Err(Error::Environment(
            "the properties did not make the round trip",
        ));
    }

    // Unsubscribing reports a code per filter.
    let codes = client
        .unsubscribe_with(
            UnsubscribeRequest::new([topic.as_str()]).user_property("purpose", "demo"),
        )?
        .wait_timeout(WAIT)?;
    println!("unsubscribed: {codes:?}");

    // The DISCONNECT says why.
    client.disconnect_with(DisconnectOptions::new().reason_string("example done"), WAIT)?;
    println!("disconnected with a reason string");
    Ok(())
}
