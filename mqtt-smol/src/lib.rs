//! MQTT 3.1.1 and 5.0 client for smol.
//!
//! A thin binding of [`mqtt-core`](proto): the protocol (sessions, QoS flows, keep alive, reconnects, the offline
//! queue) is the core's; this crate opens connections, keeps time and carries commands and messages between your
//! tasks and the connection.
//!
//! Transports, chosen by the URL's scheme: TCP (`mqtt://`, `tcp://`), TLS (`mqtts://`, `ssl://`), WebSocket
//! (`ws://`) and WebSocket over TLS (`wss://`, path `/mqtt` unless the URL gives one), with the `mqtt` subprotocol.
//! TLS is rustls with the `ring` provider; the broker's certificate is always verified, against the system's root
//! certificates or the CA given with [`Options::ca_pem`] or [`Options::ca_der`]; [`Options::client_auth_pem`] and
//! [`Options::client_auth_der`] add a client certificate for mutual TLS. The server name is the URL's host.
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
//!
//! Over TLS, with the broker's own CA and a client certificate:
//!
//! ```no_run
//! use mqtt_smol::Options;
//!
//! # async fn run() -> Result<(), mqtt_smol::Error> {
//! let pem = |file| std::fs::read(file).expect("a PEM file");
//! let options = Options::new("mqtts://broker.local")?
//!     .ca_pem(pem("ca.pem"))
//!     .client_auth_pem(pem("client.pem"), pem("client-key.pem"));
//! let client = mqtt_smol::connect(options).await?;
//! # drop(client);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::sync::Arc;

mod client;
mod clock;
mod event_loop;
mod options;
mod tls;
mod transport;

pub use client::{Client, ConnectionState, Delivery, Message, Subscription};
pub use clock::SmolClock;
pub use event_loop::{EventLoop, connect, new};
pub use options::{LastWill, Options};
pub use proto::codec::{ProtocolVersion, QoS, ReasonCode};
pub use proto::reconnect::ReconnectPolicy;
pub use proto::session::{ConnectRefusal, Disconnection, PublishFailure, Stats};
pub use tls::TlsError;
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
    /// TLS could not be set up, or its handshake failed.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The WebSocket handshake failed.
    #[error("WebSocket handshake failed: {0}")]
    WebSocket(String),
    /// The network failed (the broker cannot be reached, the connection was reset...).
    #[error("network error: {0}")]
    Io(#[source] Arc<std::io::Error>),
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
