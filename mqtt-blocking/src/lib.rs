//! MQTT 3.1.1 and 5.0 client for plain threads, with no async runtime inside.
//!
//! A thin binding of [`mqtt-core`](proto): the protocol is the core's session; this crate runs it with [mio] on one
//! thread (yours with [`EventLoop::run`], or its own with [`EventLoop::start`]), opens connections (TCP, TLS with
//! rustls, WebSocket), and carries commands, messages and states between your threads and the session. Names match
//! `mqtt-tokio` and `mqtt-smol` where the concept is the same: [`Options`], [`connect`], [`new`], [`Client`],
//! [`ConnectionState`], [`Error`].
//!
//! ```no_run
//! use std::time::Duration;
//! use mqtt_blocking::{Options, QoS};
//!
//! # fn run() -> Result<(), mqtt_blocking::Error> {
//! let client = mqtt_blocking::connect(&Options::new("mqtt://127.0.0.1:1883")?.client_id("doc"))?;
//! client
//!     .subscribe("sensors/+/temperature", QoS::AtLeastOnce, |_client, message| {
//!         println!("{}: {:?}", message.topic, message.payload);
//!     })?
//!     .wait_timeout(Duration::from_secs(5))?;
//! client
//!     .publish("sensors/kitchen/temperature", "21.5", QoS::AtLeastOnce, false)?
//!     .wait_timeout(Duration::from_secs(5))?;
//! client.disconnect(Duration::from_secs(5))
//! # }
//! ```
//!
//! # Callbacks
//!
//! Callbacks ([`Client::subscribe`], [`Client::on_message`], [`Client::on_state`], [`Client::on_connecting`],
//! [`Client::on_loop_failure`]) run on the event loop's thread, one at a time, never under a lock: they may publish,
//! subscribe or read the statistics through the client they are given. They must not wait for what only the loop
//! can bring: [`Pending::wait`] and [`Client::wait_connected`] fail with [`Error::WaitInCallback`] there instead of
//! blocking forever, and [`Client::disconnect`] only starts the disconnection.
//!
//! A callback that panics does not harm the session: the panic is caught, reported to the
//! [`Client::on_loop_failure`] callbacks as [`Error::CallbackPanicked`], and the loop goes on with the next
//! callback. A callback that blocks for long holds up the loop: nothing is read or written meanwhile, so the broker
//! may close the connection when the keep alive runs out (the session then reconnects, and QoS 1 and 2 messages
//! are resent as usual).
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

mod client;
mod client_v5;
mod event_loop;
mod transport;

pub use client::{Client, Delivery, Messages, Pending};
pub use event_loop::{EventLoop, LoopHandle, connect, new};
pub use proto::client::{
    ConnectionState, DisconnectOptions, Durability, Error, Filter, Granted, LastReason, LastWill,
    Message, Options, Persistence, ServerInfo, StoreError, SubscribeRequest, SubscriptionIdChoice,
    TlsError, UnsubscribeRequest,
};
pub use proto::codec::{ProtocolVersion, QoS, ReasonCode, RetainHandling};
pub use proto::reconnect::ReconnectPolicy;
pub use proto::session::{
    AuthError, Authenticator, ConnectRefusal, Disconnection, PublishFailure, ReauthError, Stats,
};
pub use proto::{ConfigError, PublishError, SubscribeError, TopicError};
pub use transport::{Connector, Stream};
