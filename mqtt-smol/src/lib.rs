//! MQTT 3.1.1 and 5.0 client for smol.
//!
//! A thin binding of [`mqtt-core`](proto): the protocol (sessions, QoS flows, keep alive, reconnects, the offline
//! queue) is the core's; this crate opens connections, keeps time and carries commands and messages between your
//! tasks and the connection.
//!
//! **Status:** plain TCP (`mqtt://`, `tcp://`) works; TLS (`mqtts://`) and WebSocket (`ws://`, `wss://`) are not
//! implemented yet and are refused with [`Error::Unsupported`].
//!
//! ```no_run
//! use mqtt_smol::{Options, QoS};
//!
//! # async fn run() -> Result<(), mqtt_smol::Error> {
//! let client = mqtt_smol::connect(Options::new("mqtt://127.0.0.1:1883")?.client_id("doc")).await?;
//! let mut readings = client.subscribe("sensors/+/temperature", QoS::AtLeastOnce).await?;
//! client.publish("sensors/kitchen/temperature", "21.5", QoS::AtLeastOnce, false).await?.wait().await?;
//! if let Some(message) = readings.recv().await {
//!     println!("{}: {:?}", message.topic, message.payload);
//! }
//! client.disconnect(std::time::Duration::from_secs(5)).await
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod clock;
mod event_loop;
mod options;
mod transport;

pub use client::{Client, ConnectionState, Delivery, Message, Subscription};
pub use clock::SmolClock;
pub use event_loop::{EventLoop, connect, new};
pub use options::{LastWill, Options};
pub use proto::codec::{ProtocolVersion, QoS, ReasonCode};
pub use proto::reconnect::ReconnectPolicy;
pub use proto::session::{ConnectRefusal, Disconnection, PublishFailure, Stats};
pub use transport::{Connector, Stream};

/// Everything that can go wrong, with a message a person understands.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The broker URL cannot be parsed.
    #[error("invalid broker URL: {0}")]
    InvalidUrl(#[source] proto::url::UrlError),
    /// A required environment variable is missing or invalid.
    #[error("environment: {0}")]
    Environment(&'static str),
    /// The options cannot make a session.
    #[error("invalid configuration: {0}")]
    Config(#[source] proto::ConfigError),
    /// A feature this crate does not have yet.
    #[error("not supported: {0}")]
    Unsupported(&'static str),
    /// The session refused the message.
    #[error("cannot publish: {0}")]
    Publish(#[source] proto::PublishError),
    /// The broker did not take the message.
    #[error("message not delivered: {0}")]
    PublishFailed(PublishFailure),
    /// The session refused the subscription request.
    #[error("cannot subscribe: {0}")]
    Subscribe(#[source] proto::SubscribeError),
    /// The broker refused a filter of a subscription.
    #[error("subscription refused by the broker: {0}")]
    SubscriptionRefused(ReasonCode),
    /// A SUBSCRIBE or UNSUBSCRIBE too large for the transmit buffer.
    #[error("the request is too large to send")]
    RequestTooLarge,
    /// The broker refused the connection.
    #[error("connection refused: {0}")]
    Refused(ConnectRefusal),
    /// The session stopped trying to connect.
    #[error("gave up connecting: {0}")]
    GaveUp(Disconnection),
    /// An operation did not finish in time.
    #[error("timed out")]
    Timeout,
    /// The event loop has ended (disconnected, or its task stopped).
    #[error("the connection's event loop has ended")]
    Closed,
}
