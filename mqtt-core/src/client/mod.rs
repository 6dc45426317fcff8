//! The runtime-independent half of the std clients (feature `std`): options, errors, messages, connection states,
//! the command and event routing, and the async [`Client`] handle with its [`EventLoop`].
//!
//! `mqtt-tokio` and `mqtt-smol` are this module plus a [`Runtime`]: a clock, a connector (TCP, TLS, WebSocket) and
//! a timer. `mqtt-blocking` uses the same [`Options`], [`Error`], [`Message`], [`ConnectionState`], [`Shared`]
//! and [`Dispatch`] around a poll(2) loop. Applications use those crates, which re-export what they need from here.
//!
//! One shape on every backend: the [`Client`] handles and the runner share the session behind one short lock
//! ([`Shared`]). A handle's call gives the session its command and wakes the runner; it answers at once, before
//! the runner has run and while disconnected. The runner ([`EventLoop`] here, a poll(2) loop in mqtt-blocking) is the
//! only one that touches the connection, and a wake-up never cancels a connection attempt.
//!
//! ```text
//!  Client ──lock: command──▶ Shared { Session, Dispatch } ◀──lock: bytes, timers, events── EventLoop (Driver)
//!     ▲          │ wake ─────────────────────────────────────────────────────────────────────────▲
//!     └── Delivery, Subscription / Messages / States: bounded queues ◀── Dispatch
//! ```
//!
//! The delivery rules below say how messages reach subscriptions, how memory stays bounded when the application
//! reads slowly, and when a message is acknowledged.
//!
//! # Delivery rules
//!
//! - A subscription receives what its filters match from the moment its SUBSCRIBE is queued (a broker may send
//!   retained or queued messages before its SUBACK), until it is dropped or unsubscribed. Filters the broker
//!   refuses stop matching at the SUBACK.
//! - A message matching several subscriptions of one client reaches each once (5.0 Subscription Identifiers say
//!   which; without them, the filters decide). [`messages()`](Client::messages) listeners get every message
//!   too.
//! - A message that matches no subscription and finds no `messages()` listener is kept (up to the capacity) for
//!   the first subscription or listener that comes and matches it: resuming a persistent session, `connect()`
//!   then `subscribe()` loses nothing.
//! - A message for a subscription whose handle was dropped without unsubscribing (the broker still holds it) and
//!   that no live subscription or `messages()` listener takes is acknowledged at once (nobody may ever read it),
//!   and kept like the others while there is room; beyond, it is let go rather than pausing the client. Until
//!   the filter is unsubscribed, the broker still sends its messages.
//! - Every queue is bounded, by its number of messages ([`Options::message_capacity`], default 1,024) and by
//!   their bytes ([`Options::message_capacity_bytes`], default 4 MiB; a queue always takes one message, however
//!   large). When a message cannot be queued everywhere it goes (a queue is full), the runner holds it and stops
//!   reading from the broker until the application makes room: TCP and the broker's window push back, nothing is
//!   dropped and memory stays bounded. One slow consumer therefore pauses every subscription of the client.
//! - While the broker owes the application an answer (the acknowledgement of a message it published at QoS 1 or
//!   2, a SUBACK or UNSUBACK, the reply of a request, the end of a re-authentication), a full queue takes more
//!   rather than pause the reads: up to [`Options::receive_maximum`] messages past its capacity, and twice its
//!   bytes. The answer comes behind the messages the broker sent before it, and at QoS 1 and 2 the broker sends
//!   no more than that window unacknowledged: a consumer that awaits `delivery.wait()`, `subscribe` or `request`
//!   between two messages gets its answer. Past that room (a QoS 0 flood larger than the queue's bytes ahead of
//!   the answer), reading pauses as usual and the answer waits until the queue is read: take messages in one
//!   task and await answers in another (or spawn the wait), or give the queue more room.
//! - Until the broker answers its SUBSCRIBE, a subscription takes what arrives for it beyond its capacity: its
//!   reader cannot read before the answer, and pausing would keep the answer (behind those messages) from
//!   arriving. Messages a resumed session brings before the SUBACK are bounded by what the broker queued, and at
//!   QoS 1 and 2 by the client's Receive Maximum (none is acknowledged before it is taken).
//! - A QoS 1 or 2 message is acknowledged to the broker once the application has taken every copy from its
//!   queues (or, with manual acknowledgement, when the application acknowledges it), in the order received.
//!
//! [MQTT 5.0](mqtt5) has a section per feature: properties, subscription options, what the broker announced,
//! topic aliases, request/response, enhanced authentication, redirection.

mod abandoned;
mod command;
mod connecting;
mod delivered;
mod dispatch;
mod error;
mod event_loop;
mod exchange;
mod file_store;
mod handle;
mod handle_v5;
mod message;
#[doc = include_str!("mqtt5.md")]
pub mod mqtt5 {}
mod options;
mod persist;
mod ping;
mod queue;
mod receiver;
mod redirect;
mod room;
mod shared;
#[cfg(feature = "tls")]
pub mod tls;
mod v5;
mod will;

pub use command::{Acknowledgement, Disconnected, Published, Request, SubAck, UnsubAck};
pub use connecting::ConnectWatch;
pub use dispatch::{Dispatch, Granted};
pub use error::{Error, TlsError};
pub use event_loop::{EventLoop, Runtime};
pub use exchange::redirect_url;
pub use file_store::{StoreError, StoreErrorKind};
pub use handle::{Client, Delivery, Messages, States, Subscription};
pub use handle_v5::Responder;
pub use message::Message;
pub use options::{Encoded, Options, TlsOptions};
pub use persist::{Durability, Persistence, Store};
pub use ping::Pong;
pub use receiver::{Receiver, StateReceiver, Taken};
pub use redirect::Redirecting;
pub use shared::{Core, CoreGuard, HandleGuard, Shared};
pub use v5::{
    DisconnectOptions, Filter, LastReason, ServerInfo, SubscribeRequest, SubscriptionIdChoice,
    UnsubscribeRequest,
};
pub use will::LastWill;

use core::time::Duration;
use std::string::String;

use crate::session::{ConnectRefusal, Disconnection};

/// The filter of consumer group `group` on `filter`: the shared subscription `$share/{group}/{filter}`, with which
/// the broker gives each message matching `filter` to one of the sessions subscribed with the same group rather
/// than to each of them (MQTT 5.0 shared subscriptions; mosquitto, EMQX, HiveMQ and VerneMQ accept the same filter
/// from 3.1.1 clients). The bindings' `Client::subscribe_shared` subscribes to it.
///
/// # Errors
///
/// [`Error::Subscribe`] with [`TopicError::InvalidSharedSubscription`](crate::TopicError) when `group` is empty or
/// contains `/`, `+` or `#`, or with the filter's own error when `filter` is not a valid topic filter.
///
/// # Spec
///
/// `[MQTT-4.8.2-1]`, `[MQTT-4.8.2-2]`: a share name is at least one character, without `/`, `+` or `#`, and is
/// followed by `/` and a topic filter.
///
/// ```
/// use mqtt_core::client::shared_filter;
///
/// assert_eq!(shared_filter("workers", "jobs/+").unwrap(), "$share/workers/jobs/+");
/// assert!(shared_filter("a/b", "jobs").is_err());
/// assert!(shared_filter("", "jobs").is_err());
/// ```
pub fn shared_filter(group: &str, filter: &str) -> Result<String, Error> {
    let invalid = |error| Error::Subscribe(crate::SubscribeError::InvalidFilter(error));
    if group.is_empty() || group.contains(['/', '+', '#']) {
        return Err(invalid(crate::TopicError::InvalidSharedSubscription));
    }
    crate::topic::validate_filter(filter).map_err(invalid)?;
    Ok(std::format!("$share/{group}/{filter}"))
}

/// How long a `disconnect(timeout)` call waits for the event loop to end: `timeout`, but at least a second.
///
/// The timeout bounds the wait for acknowledgements (nine tenths of it); what follows (the DISCONNECT going out,
/// the event loop ending) takes a moment of its own, which a short timeout would not leave: paho's
/// `disconnect(0)`, "do not wait for acknowledgements", then reported a timeout although it disconnected.
///
/// ```
/// use core::time::Duration;
/// use mqtt_core::client::disconnect_wait;
///
/// assert_eq!(disconnect_wait(Duration::ZERO), Duration::from_secs(1));
/// assert_eq!(disconnect_wait(Duration::from_secs(5)), Duration::from_secs(5));
/// ```
pub fn disconnect_wait(timeout: Duration) -> Duration {
    timeout.max(Duration::from_secs(1))
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
    /// The next attempt is scheduled. After [`Client::reconnect`] on an established connection: attempt 0, no
    /// delay (the application asked for it: not reported as [`Lost`](Self::Lost), so that a handler that
    /// reconnects on every loss does not end the new connection). A reconnect asked for right after an attempt
    /// the application asked for failed: the wait for the schedule's next attempt (a handler that reconnects on
    /// every failure is paced by the schedule, not spinning).
    Reconnecting {
        /// Attempts since the last successful connection (0: a reconnect the application asked for).
        attempt: u32,
        /// Wait before it.
        delay: Duration,
    },
    /// The broker redirected the client (5.0 Use Another Server or Server Moved with a Server Reference): the
    /// next attempt, at once, goes to `to` (see [`Options::follow_redirects`]).
    Redirected {
        /// The URL of the server the reference names (or the reference itself, if it does not make one: that
        /// attempt then fails and the failover list applies again).
        to: String,
        /// Server Moved: later connections go there too. Use Another Server: this one.
        permanent: bool,
    },
    /// The session stopped trying (permanent refusal, a 5.0 session taken over by another client with the same
    /// identifier, or attempts exhausted).
    GaveUp(Disconnection),
    /// Disconnected by the application, or the event loop ended without disconnecting (its task aborted, its
    /// future dropped, its thread aborted): the last state a client has.
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
            Self::Reconnecting { attempt: 0, delay } if delay.is_zero() => {
                f.write_str("reconnecting now, as the application asked")
            }
            Self::Reconnecting { attempt: 0, delay } => write!(
                f,
                "reconnecting in {delay:?}, as the application asked (its last attempt failed: the reconnect \
                 schedule paces its retries)"
            ),
            Self::Reconnecting { attempt, delay } => {
                write!(f, "reconnect attempt {attempt} in {delay:?}")
            }
            Self::Redirected { to, permanent } => write!(
                f,
                "redirected by the broker to {to} ({})",
                if *permanent { "moved" } else { "for now" }
            ),
            Self::GaveUp(reason) => write!(f, "gave up connecting: {reason}"),
            Self::Disconnected => f.write_str("disconnected"),
        }
    }
}
