//! `mqtt req`: MQTT 5 request/response. The request carries a Response Topic and Correlation Data; the responder
//! publishes its answer on that topic with the same Correlation Data, and `mqtt req` prints it in the `sub`
//! formats.
//!
//! By default the client's own [`Client::request`] does the work: its reply inbox, QoS 1, Correlation Data of its
//! own. A request it cannot express (a Response Topic chosen with `-e`, another QoS, `-D PUBLISH` or
//! `-D SUBSCRIBE` properties) is made of the client's public calls instead: subscribe to the response topic, publish
//! the request with its properties, take the first message on that topic that carries the request's Correlation
//! Data.

use std::io::ErrorKind;
use std::time::SystemTime;

use bytes::Bytes;
use mqtt_tokio::{Client, Error, Message, ProtocolVersion};

use crate::args::{ReqArgs, Version};
use crate::connection::{Target, qos};
use crate::failure::{Class, Failure};
use crate::output::Format;
use crate::property::Value;
use crate::publish::{payload, within};

/// The packets `mqtt req` sends, for `-D`.
const PACKETS: &[&str] = &["connect", "publish", "subscribe", "disconnect", "will"];

/// Runs `mqtt req`.
///
/// # Errors
///
/// Usage failures for the arguments (and for `-V 311`: 3.1.1 has no request/response); then the connection's, a
/// refused subscription or request, or a timeout when the connection and the response took longer than `-W`.
pub(crate) async fn run(args: ReqArgs) -> Result<(), Failure> {
    if args.connect.version == Some(Version::V311) {
        return Err(Failure::usage(
            "mqtt req needs MQTT 5: request/response rides on the Response Topic and Correlation Data \
             properties, which MQTT 3.1.1 does not have",
        )
        .hint("drop -V 311 (mqtt speaks MQTT 5 by default); against a 3.1.1-only broker, use mqtt sub and mqtt pub"));
    }
    let mut target = Target::new(&args.connect, PACKETS)?;
    // No fallback to 3.1.1: a broker that does not speak 5 is told at once.
    target.options = target.options.clone().version(ProtocolVersion::V5);
    let payload = payload(
        args.message.as_deref(),
        args.file.as_deref(),
        args.stdin_file,
    )?;
    let format = Format::new(&args.output);
    let response_topic = args.response_topic.clone().or_else(|| {
        match target.properties.get("publish", "response-topic") {
            Some(Value::Text(topic)) => Some(topic.clone()),
            _ => None,
        }
    });
    let own = response_topic.is_some()
        || args.qos != 1
        || target.properties.has("publish")
        || target.properties.has("subscribe");

    // -W bounds the whole exchange, the connection included (as mosquitto_rr's).
    let deadline = tokio::time::Instant::now() + args.timeout;
    let connection = within(Some(deadline), target.connect(), "connecting").await?;
    let client = &connection.client;
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    // From here on, Ctrl-C and SIGTERM end with a DISCONNECT, as in mqtt sub.
    let interrupted = crate::signal::interrupted();
    let exchange = async {
        match own {
            false => client.request(&args.topic, payload, left).await,
            true => {
                let topic = response_topic.unwrap_or_else(|| inbox(&target));
                let request = target
                    .message(&args.topic, payload, qos(args.qos), false)
                    .response_topic(&topic);
                tokio::time::timeout_at(deadline, exchange(client, &target, request, topic))
                    .await
                    .unwrap_or(Err(Error::Timeout))
            }
        }
    };
    let answered = tokio::select! {
        answered = exchange => Some(answered),
        () = interrupted => None,
    };
    let outcome = match answered {
        None => Err(Failure::new(
            Class::Other,
            "interrupted (Ctrl-C or SIGTERM) before the response came",
        )
        .hint("nothing was printed; the request may have reached its responder")),
        Some(Ok(response)) => Ok(response),
        Some(Err(Error::Timeout)) => Err(Failure::new(
            Class::Timeout,
            format!(
                "no response to the request on {} within {:?} (-W)",
                args.topic, args.timeout
            ),
        )
        .hint(
            "check that a responder is subscribed to the request's topic and publishes its answer on the \
             request's Response Topic with its Correlation Data; allow more time with -W",
        )),
        Some(Err(error)) => Err(Failure::at(&connection.broker, &error)),
    };
    let closed = connection.close().await;
    let response = outcome?;
    match format.write(&mut std::io::stdout().lock(), &response) {
        Err(error) if error.kind() != ErrorKind::BrokenPipe => return Err(Failure::from(error)),
        _ => {}
    }
    closed
}

/// A request made of the client's public calls: subscribes to `topic`, publishes `request` with `topic` as its
/// Response Topic and a Correlation Data (`-D PUBLISH correlation-data`, or one of its own), and returns the first
/// message on `topic` with the same Correlation Data (others, such as answers to other requesters, are skipped).
async fn exchange(
    client: &Client,
    target: &Target,
    request: Message,
    topic: String,
) -> Result<Message, Error> {
    let correlation = match &request.correlation_data {
        Some(data) => data.clone(),
        None => Bytes::from(nonce().into_bytes()),
    };
    let mut responses = client
        .subscribe_with(target.subscribe([&topic], request.qos))
        .await?;
    if let Some(Err(refused)) = responses.granted().first() {
        return Err(refused.clone());
    }
    let request = request.correlation_data(correlation.clone());
    client.publish_message(request).await?.wait().await?;
    loop {
        let response = responses.recv().await.ok_or(Error::Closed)?;
        if response.correlation_data.as_ref() == Some(&correlation) {
            return Ok(response);
        }
    }
}

/// A response topic of this request's own: `replies/CLIENT/NONCE`.
fn inbox(target: &Target) -> String {
    let client: String = target
        .options
        .client_identifier()
        .chars()
        .map(|c| match c {
            '+' | '#' | '/' | '\0' => '_',
            c => c,
        })
        .collect();
    format!("replies/{client}/{}", nonce())
}

/// Text no other request is likely to use: the process and the time.
fn nonce() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    format!("mqtt-req-{:x}-{nanos:x}", std::process::id())
}
