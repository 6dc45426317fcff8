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
// Nothing reachable from broker bytes or caller arguments may panic (tests may).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
#![warn(missing_docs)]

mod clock;
mod event_loop;
mod tls;
mod transport;

pub use clock::SmolClock;
pub use event_loop::{EventLoop, Smol, connect, new};
pub use proto::client::{
    Client, ConnectionState, Delivery, DisconnectOptions, Durability, Error, Filter, LastReason,
    LastWill, Message, Options, Persistence, Responder, ServerInfo, StoreError, SubscribeRequest,
    Subscription, SubscriptionIdChoice, TlsError, UnsubscribeRequest,
};
pub use proto::codec::{ProtocolVersion, QoS, ReasonCode, RetainHandling};
pub use proto::reconnect::ReconnectPolicy;
pub use proto::session::{
    AuthError, Authenticator, ConnectRefusal, Disconnection, PublishFailure, ReauthError, Stats,
};
pub use proto::{ConfigError, PublishError, SubscribeError, TopicError};
pub use transport::{Connector, Stream};
