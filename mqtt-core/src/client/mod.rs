//! The runtime-independent half of the std clients (feature `std`): options, errors, messages, connection states,
//! the command and event routing, and the async [`Client`] handle with its [`EventLoop`].
//!
//! `mqtt-tokio` and `mqtt-smol` are this module plus a [`Runtime`]: a clock, a connector (TCP, TLS, WebSocket) and
//! a timer. `mqtt-blocking` uses the same [`Options`], [`Error`], [`Message`], [`ConnectionState`], [`Shared`]
//! and [`Dispatch`] around a mio loop. Applications use those crates, which re-export what they need from here.
//!
//! One shape on every backend: the [`Client`] handles and the runner share the session behind one short lock
//! ([`Shared`]). A handle's call gives the session its command and wakes the runner; it answers at once, before
//! the runner has run and while disconnected. The runner ([`EventLoop`] here, a mio loop in mqtt-blocking) is the
//! only one that touches the connection, and a wake-up never cancels a connection attempt.
//!
//! ```text
//!  Client ──lock: command──▶ Shared { Session, Dispatch } ◀──lock: bytes, timers, events── EventLoop (Driver)
//!     ▲          │ wake ─────────────────────────────────────────────────────────────────────────▲
//!     └── Delivery, Subscription / Messages / States: bounded queues ◀── Dispatch
//! ```
//!
//! The [delivery rules](dispatch) say how messages reach subscriptions, how memory stays bounded when the
//! application reads slowly, and when a message is acknowledged.

mod command;
mod connecting;
mod dispatch;
mod error;
mod event_loop;
mod file_store;
mod handle;
mod options;
mod persist;
mod queue;
mod receiver;
mod shared;
#[cfg(feature = "tls")]
pub mod tls;

pub use command::{Acknowledgement, SubAck, UnsubAck};
pub use connecting::ConnectWatch;
pub use dispatch::{Dispatch, Granted};
pub use error::{Error, TlsError};
pub use event_loop::{EventLoop, Runtime};
pub use file_store::{StoreError, StoreErrorKind};
pub use handle::{Client, Delivery, Messages, States, Subscription};
pub use options::{Encoded, LastWill, Options, TlsOptions};
pub use persist::{Durability, Persistence, Store};
pub use receiver::{Receiver, StateReceiver, Taken};
pub use shared::{Core, HandleGuard, Shared};

use core::time::Duration;
use std::string::String;
use std::vec::Vec;

use bytes::Bytes;

use crate::codec::QoS;
use crate::session::{AckToken, ConnectRefusal, Disconnection};

/// A message received from the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Message {
    /// The topic it was published to.
    pub topic: String,
    /// Its payload.
    pub payload: Bytes,
    /// The QoS it was delivered with.
    pub qos: QoS,
    /// Whether it is a retained message.
    pub retain: bool,
    /// 5.0 user properties, in order.
    pub user_properties: Vec<(String, String)>,
    /// With manual acknowledgement, what [`Client::ack`] sends.
    pub(crate) ack: Option<AckToken>,
}

impl Message {
    /// With manual acknowledgement, what acknowledges this message (the bindings' `Client::ack` sends it).
    pub fn ack_token(&self) -> Option<AckToken> {
        self.ack
    }
}

/// A change of the connection, with its cause.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// The broker accepted the connection.
    Connected {
        /// The broker resumed the session.
        session_present: bool,
        /// The broker that accepted it, as its URL (credentials removed): with failover, which node.
        broker: String,
    },
    /// An attempt could not reach the broker: the connection was refused or timed out, the TLS handshake or the
    /// certificate check failed, the WebSocket handshake failed. The reconnect policy applies.
    Unreachable(Error),
    /// A connection attempt failed after the transport opened, or an established connection ended; the reconnect
    /// policy applies.
    Lost(Disconnection),
    /// The broker refused the connection (CONNACK), with its reason.
    Refused(ConnectRefusal),
    /// The next attempt is scheduled.
    Reconnecting {
        /// Attempts since the last successful connection.
        attempt: u32,
        /// Wait before it.
        delay: Duration,
    },
    /// The session stopped trying (permanent refusal or attempts exhausted).
    GaveUp(Disconnection),
    /// Disconnected by the application.
    Disconnected,
}

impl core::fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Connected {
                session_present,
                broker,
            } => write!(
                f,
                "connected to {broker} ({})",
                if *session_present {
                    "session resumed"
                } else {
                    "new session"
                }
            ),
            Self::Unreachable(error) => write!(f, "broker unreachable: {error}"),
            Self::Lost(reason) => write!(f, "connection lost: {reason}"),
            Self::Refused(refusal) => write!(f, "connection refused: {refusal}"),
            Self::Reconnecting { attempt, delay } => {
                write!(f, "reconnect attempt {attempt} in {delay:?}")
            }
            Self::GaveUp(reason) => write!(f, "gave up connecting: {reason}"),
            Self::Disconnected => f.write_str("disconnected"),
        }
    }
}
