//! [`Error`]: everything that can go wrong in a std client, with a message a person understands.

use std::borrow::ToOwned;
use std::string::String;
use std::sync::Arc;

use crate::codec::ReasonCode;
use crate::session::{ConnectRefusal, Disconnection, PingError, PublishFailure, ReauthError};
use crate::url::UrlError;
use crate::{ConfigError, PublishError, SubscribeError};

/// Everything that can go wrong, with a message a person understands.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The broker URL cannot be parsed.
    #[error("invalid broker URL: {0}")]
    InvalidUrl(#[source] UrlError),
    /// A required environment variable is missing or invalid.
    #[error("environment: {0}")]
    Environment(&'static str),
    /// The options cannot make a session.
    #[error("invalid configuration: {0}")]
    Config(#[source] ConfigError),
    /// TLS could not be set up, or its handshake failed.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The WebSocket handshake failed.
    #[error("WebSocket handshake failed: {0}")]
    WebSocket(String),
    /// The network failed (the broker cannot be reached, the connection was reset...).
    #[error("network error: {0}")]
    Io(#[source] Arc<std::io::Error>),
    /// The session refused the message: an invalid topic, a message too large, or a full queue (nothing was
    /// dropped: retry later).
    #[error("cannot publish: {0}")]
    Publish(#[source] PublishError),
    /// The broker did not take the message.
    #[error("message not delivered: {0}")]
    PublishFailed(PublishFailure),
    /// The session refused the subscription request (an invalid filter or QoS, too many requests).
    #[error("cannot subscribe: {0}")]
    Subscribe(#[source] SubscribeError),
    /// The broker refused a filter of a subscription.
    #[error("subscription refused by the broker: {0}")]
    SubscriptionRefused(ReasonCode),
    /// A SUBSCRIBE or UNSUBSCRIBE too large for the transmit buffer.
    #[error("the request is too large to send")]
    RequestTooLarge,
    /// The broker refused the connection, with its reason (every 3.1.1 return code and 5.0 reason code).
    ///
    /// [`ConnectRefusal::UnsupportedProtocolVersion`] says the broker does not speak the MQTT version of the
    /// CONNECT: it answered 3.1.1 code 1 or 5.0 `0x84`, or (for a client that speaks only 5.0, see
    /// [`Options::version`](super::Options::version)) it closed the connection without answering the first 5.0
    /// CONNECT, as 3.1.1-only brokers do. Without `version`, the client falls back to 3.1.1 instead.
    #[error("connection refused: {}", refusal_text(.0))]
    Refused(ConnectRefusal),
    /// The session stopped trying to connect.
    #[error("gave up connecting: {0}")]
    GaveUp(Disconnection),
    /// A connection attempt failed after the transport opened (the broker closed it, broke the protocol...).
    #[error("the connection attempt failed: {0}")]
    ConnectionFailed(Disconnection),
    /// An operation did not finish in time.
    #[error("timed out")]
    Timeout,
    /// The event loop has ended (disconnected, or its task stopped). A client that ended stays ended: unlike
    /// paho's `reconnect()` after `disconnect()`, connecting again takes a new client (the bindings' `connect` or
    /// `new` with the same options).
    #[error(
        "the client has ended (disconnected, or its event loop stopped): make a new client to connect again"
    )]
    Closed,
    /// A callback waited for something only its own event loop can bring (an acknowledgement, the end of the
    /// loop): the wait would never end, so it fails at once. Publishing or subscribing from a callback is fine.
    #[error("a callback cannot wait for its own event loop")]
    WaitInCallback,
    /// A callback panicked; the event loop caught the panic and went on.
    #[error("a callback panicked: {0}")]
    CallbackPanicked(String),
    /// The client disconnected before the broker acknowledged these messages (the caller's timeout ran out
    /// first): their deliveries fail with [`Error::Closed`]. Wait for deliveries, or give `disconnect` more time.
    #[error("disconnected with {0} message(s) not acknowledged by the broker")]
    Unacknowledged(usize),
    /// A [`reconnect`](super::Client::reconnect) called off a graceful disconnect before it ended: the client
    /// connects again, and the messages it was waiting for stay queued.
    #[error("the disconnect was called off by a reconnect")]
    DisconnectCalledOff,
    /// The broker refused the UNSUBSCRIBE of a filter (5.0), with this code.
    #[error("unsubscribe refused by the broker: {0}")]
    UnsubscribeRefused(ReasonCode),
    /// A redirection was not followed: the broker's Server Reference would leave TLS for a plain connection.
    #[error("redirection to {0} refused: it would leave TLS")]
    Redirect(String),
    /// A re-authentication could not start (no authenticator, not connected, one already running).
    #[error("cannot re-authenticate: {0}")]
    Reauthenticate(#[source] ReauthError),
    /// A ping could not be sent ([`PingError::NotConnected`]: wait for the connection, then ping).
    #[error("cannot ping: {0}")]
    Ping(#[source] PingError),
    /// The connection ended before the re-authentication (or the request) completed.
    #[error("the connection ended first: {0}")]
    ConnectionLost(Disconnection),
    /// What the options or the broker allow cannot carry this: DISCONNECT properties larger than the room kept
    /// for them, or 5.0 properties on a 3.1.1 connection.
    #[error("cannot encode the packet: {0}")]
    Encode(#[source] crate::EncodeError),
    /// A request got no reply (5.0 request/response): the broker refused the reply subscription with this code.
    #[error("the reply inbox subscription was refused: {0}")]
    InboxRefused(ReasonCode),
    /// The message store ([`Options::persistence`](super::Options::persistence)) cannot be read or written, or is
    /// damaged (the error names the file, and the offset of the damage).
    #[error(transparent)]
    Store(#[from] super::StoreError),
}

/// A refusal in words; the protocol version's says what it means for the versions.
fn refusal_text(refusal: &ConnectRefusal) -> String {
    use std::string::ToString;
    match refusal {
        ConnectRefusal::UnsupportedProtocolVersion => "the broker does not speak the MQTT version of the \
            CONNECT (unacceptable protocol version): a broker that only speaks 3.1.1 does not speak MQTT 5.0; \
            without Options::version the client falls back to 3.1.1"
            .to_owned(),
        other => other.to_string(),
    }
}

/// Errors are equal when they are of the same kind and say the same (an I/O error has no equality of its own).
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        use std::string::ToString;
        core::mem::discriminant(self) == core::mem::discriminant(other)
            && self.to_string() == other.to_string()
    }
}

impl Eq for Error {}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Self {
        Self::Io(Arc::new(error))
    }
}

/// Why TLS failed, in [`Error::Tls`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The TLS options cannot be used: a CA, certificate or key that does not parse, a key that does not match its
    /// certificate, a host name no certificate can carry, or no system root certificates.
    #[error("invalid TLS configuration: {0}")]
    Config(String),
    /// The broker's certificate was refused: not signed by a trusted CA, not issued for the host name of the URL,
    /// expired...
    #[error("the broker's certificate was refused: {0}")]
    Certificate(String),
    /// The handshake failed otherwise: the broker refused the client certificate (or its absence), no protocol
    /// version or cipher suite in common...
    #[error("TLS handshake failed: {0}")]
    Handshake(String),
}
