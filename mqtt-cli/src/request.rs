//! `mqtt req`: MQTT 5 request/response. A request carries a Response Topic and Correlation Data; the responder
//! publishes its answer there with the same Correlation Data.
//!
//! mqtt-tokio cannot put those properties on a message yet, and a request without them reaches no responder:
//! `mqtt req` checks its arguments and reads the payload, then says so (exit code 1) instead of pretending. When
//! `Client::request` lands, [`Request::send`] connects, calls it and prints the response with the `sub` formats.

use std::time::Duration;

use bytes::Bytes;

use crate::args::ReqArgs;
use crate::connection::Target;
use crate::failure::{Class, Failure};
use crate::output::Format;
use crate::publish::payload;

/// The packets `mqtt req` sends, for `-D`.
const PACKETS: &[&str] = &["connect", "publish", "subscribe", "disconnect", "will"];

/// A request, ready to send.
#[derive(Debug)]
struct Request {
    topic: String,
    timeout: Duration,
    // Read by `send` once `Client::request` exists (branch mqtt5).
    #[expect(dead_code, reason = "sent once mqtt-tokio has Client::request")]
    target: Target,
    #[expect(dead_code, reason = "sent once mqtt-tokio has Client::request")]
    response_topic: Option<String>,
    #[expect(dead_code, reason = "sent once mqtt-tokio has Client::request")]
    payload: Bytes,
    #[expect(dead_code, reason = "sent once mqtt-tokio has Client::request")]
    qos: u8,
    #[expect(
        dead_code,
        reason = "the response is printed once mqtt-tokio has Client::request"
    )]
    format: Format,
}

/// Runs `mqtt req`.
///
/// # Errors
///
/// Usage failures for the arguments; then, until mqtt-tokio supports MQTT 5 request/response, a failure that says
/// so.
pub(crate) async fn run(args: ReqArgs) -> Result<(), Failure> {
    let request = Request {
        target: Target::new(&args.connect, PACKETS)?,
        payload: payload(
            args.message.as_deref(),
            args.file.as_deref(),
            args.stdin_file,
        )?,
        topic: args.topic,
        response_topic: args.response_topic,
        qos: args.qos,
        timeout: args.timeout,
        format: Format::new(&args.output),
    };
    request.send().await
}

impl Request {
    /// Sends the request and prints its response.
    async fn send(self) -> Result<(), Failure> {
        Err(Failure::new(
            Class::Other,
            format!(
                "cannot send the request to {} (and wait {:?} for its response): mqtt req needs MQTT 5 \
                 request/response support (a Response Topic and Correlation Data on the request), which \
                 mqtt-tokio does not have yet: it is coming",
                self.topic, self.timeout
            ),
        )
        .hint(
            "until then, a responder that reads the reply topic from the payload works with `mqtt sub -t REPLY \
             -C 1 &` and `mqtt pub -t REQUEST -m ...`",
        ))
    }
}
