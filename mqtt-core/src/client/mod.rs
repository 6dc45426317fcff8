//! The runtime-independent half of the std clients (feature `std`): options, errors, messages, connection states,
//! the command and event routing, and the async [`Client`] handle with its [`EventLoop`].
//!
//! `mqtt-tokio` and `mqtt-smol` are this module plus a [`Runtime`]: a clock, a connector (TCP, TLS, WebSocket) and
//! a timer. `mqtt-blocking` uses the same [`Options`], [`Error`], [`Message`], [`ConnectionState`] and [`Dispatch`]
//! around a mio loop. Applications use those crates, which re-export what they need from here.
//!
//! ```text
//!  Client ──Command──▶ EventLoop: Dispatch::apply ──▶ Session ──▶ Driver ──▶ Runtime::Connector
//!     ▲                          Dispatch::on_event ◀── Event ◀──┘
//!     └── replies, Subscription streams, ConnectionState streams
//! ```

mod dispatch;
mod error;
mod event_loop;
mod handle;
mod options;
#[cfg(feature = "tls")]
pub mod tls;

pub use dispatch::{Acknowledgement, Command, Dispatch, Granted, MessageSink, Shared, StateSink};
pub use error::{Error, TlsError};
pub use event_loop::{EventLoop, Runtime};
pub use handle::{Client, Delivery, Subscription};
pub use options::{Encoded, LastWill, Options, TlsOptions};

use core::time::Duration;
use std::string::String;
use std::vec::Vec;

use bytes::Bytes;

use crate::codec::QoS;
use crate::session::{ConnectRefusal, Disconnection};

/// A message received from the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

/// A change of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// The broker accepted the connection.
    Connected {
        /// The broker resumed the session.
        session_present: bool,
    },
    /// A connection attempt failed or an established connection ended; the reconnect policy applies.
    Lost(Disconnection),
    /// The broker refused the connection.
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
