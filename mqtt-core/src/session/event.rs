//! What a session tells the application: [`Event`]s, and the [`Ticket`]s that tie completions to commands.

use core::fmt;
use core::time::Duration;

use crate::codec::{List, PacketType, ProtocolVersion, Publish, ReasonCode};
use crate::error::ProtocolError;

/// The handle of a command (publish, subscribe, unsubscribe): its completion event carries the same ticket.
///
/// Tickets count up from 1 per session and wrap after 2³² − 1 commands. [`Ticket::RESUBSCRIBE`] marks the
/// requests the session makes itself to restore subscriptions a broker lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(pub u32);

impl Ticket {
    /// The ticket of SUBSCRIBE requests the session sends by itself to restore lost subscriptions.
    pub const RESUBSCRIBE: Self = Self(0);
}

impl fmt::Display for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The receipt of one incoming QoS 1 or 2 message, to acknowledge it with
/// [`Session::ack`](crate::session::Session::ack) once the application has it (with
/// [`Config::manual_ack`](crate::Config::manual_ack)); from
/// [`Session::message_ack`](crate::session::Session::message_ack).
///
/// Opaque. A token stands for one arrival of one message on one connection, never for a packet identifier: a
/// token from a connection that has ended, or of a message already acknowledged, acknowledges nothing, even when
/// the broker has since reused its packet identifier. Tokens of different sessions must not be mixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AckToken(pub(crate) u64);

/// Why the broker refused a connection, from the CONNACK of either protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectRefusal {
    /// The broker does not speak the requested protocol version (3.1.1 code 1, 5.0 `0x84`, or code 1 from a
    /// 3.1.1-only broker answering a 5.0 CONNECT).
    UnsupportedProtocolVersion,
    /// The client identifier is not allowed (3.1.1 code 2, 5.0 `0x85`).
    IdentifierRejected,
    /// The MQTT service is unavailable (3.1.1 code 3, 5.0 `0x88`).
    ServerUnavailable,
    /// The user name or password was not accepted (3.1.1 code 4, 5.0 `0x86`). Permanent by default.
    BadUserNameOrPassword,
    /// The client is not authorised to connect (3.1.1 code 5, 5.0 `0x87`). Permanent by default.
    NotAuthorized,
    /// Any other refusal, with the code received.
    Other(ReasonCode),
}

impl ConnectRefusal {
    /// The refusal a CONNACK code means in `version`; `None` for success.
    pub fn from_code(version: ProtocolVersion, code: ReasonCode) -> Option<Self> {
        Some(match (version, code.0) {
            (_, 0) => return None,
            // A 3.1.1-only server answers a 5.0 CONNECT with its own return code 1.
            (ProtocolVersion::V311 | ProtocolVersion::V5, 1) | (ProtocolVersion::V5, 0x84) => {
                Self::UnsupportedProtocolVersion
            }
            (ProtocolVersion::V311, 2) | (ProtocolVersion::V5, 0x85) => Self::IdentifierRejected,
            (ProtocolVersion::V311, 3) | (ProtocolVersion::V5, 0x88) => Self::ServerUnavailable,
            (ProtocolVersion::V311, 4) | (ProtocolVersion::V5, 0x86) => Self::BadUserNameOrPassword,
            (ProtocolVersion::V311, 5) | (ProtocolVersion::V5, 0x87) => Self::NotAuthorized,
            _ => Self::Other(code),
        })
    }

    /// Whether retrying cannot help without a change of configuration (bad credentials, not authorised).
    pub fn is_auth_failure(&self) -> bool {
        matches!(self, Self::BadUserNameOrPassword | Self::NotAuthorized)
    }
}

impl fmt::Display for ConnectRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedProtocolVersion => f.write_str("unacceptable protocol version"),
            Self::IdentifierRejected => f.write_str("client identifier rejected"),
            Self::ServerUnavailable => f.write_str("server unavailable"),
            Self::BadUserNameOrPassword => f.write_str("bad user name or password"),
            Self::NotAuthorized => f.write_str("not authorized"),
            Self::Other(code) => write!(f, "{code}"),
        }
    }
}

/// Why a connection, or an attempt to make one, ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Disconnection {
    /// The transport closed or failed (reported by the binding).
    TransportClosed,
    /// The transport did not open, or CONNACK did not arrive, within the connect timeout.
    ConnectTimeout,
    /// No PINGRESP arrived within the ping timeout.
    KeepAliveTimeout,
    /// The broker refused the connection.
    Refused(ConnectRefusal),
    /// The broker broke the protocol; the session closed the connection (with a DISCONNECT in 5.0).
    Protocol(ProtocolError),
    /// The broker sent DISCONNECT (5.0) with this reason.
    ServerDisconnect(ReasonCode),
}

impl fmt::Display for Disconnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TransportClosed => f.write_str("the connection was closed"),
            Self::ConnectTimeout => {
                f.write_str("timed out waiting for the broker to accept the connection")
            }
            Self::KeepAliveTimeout => {
                f.write_str("the broker did not answer a keep-alive ping in time")
            }
            Self::Refused(r) => write!(f, "the broker refused the connection: {r}"),
            Self::Protocol(e) => write!(f, "protocol error: {e}"),
            Self::ServerDisconnect(code) => write!(f, "the broker closed the connection: {code}"),
        }
    }
}

/// Why an outgoing message was not delivered to the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishFailure {
    /// The broker answered with a failure reason code (5.0 PUBACK or PUBREC).
    Rejected(ReasonCode),
    /// The broker lost the session and the configuration says to report rather than republish.
    SessionLost,
    /// The message is larger than the broker accepts (5.0 Maximum Packet Size learned after it was queued).
    TooLarge {
        /// Size of the PUBLISH packet.
        size: u32,
        /// The broker's maximum.
        max: u32,
    },
    /// The broker does not support the message's QoS (5.0 Maximum QoS learned after it was queued).
    QoSNotSupported,
    /// The broker does not support retained messages (5.0 Retain Available learned after it was queued).
    RetainNotSupported,
    /// A poison message: `connections` connections in a row ended while it was the oldest message in flight
    /// without an acknowledgement (see [`Config::poison_threshold`](crate::Config::poison_threshold)). A 3.1.1
    /// broker closes the connection on a message larger than it accepts, for example. It is not sent again, so
    /// that the messages behind it go out. The broker may still have taken it, if it was not to blame.
    Poison {
        /// Connections in a row that ended with the message unacknowledged.
        connections: u8,
    },
    /// The broker acknowledged the message with the wrong packet: PUBACK for a QoS 2 message (RabbitMQ takes
    /// QoS 2 as QoS 1), PUBREC or PUBCOMP for a QoS 1 message, PUBCOMP before PUBREC. The broker may have taken the
    /// message, but not with the QoS asked for. The session also closes the connection: a protocol error.
    WrongAck {
        /// The acknowledgement received.
        received: PacketType,
    },
}

impl fmt::Display for PublishFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected(code) => write!(f, "rejected by the broker: {code}"),
            Self::SessionLost => {
                f.write_str("the broker lost the session before acknowledging the message")
            }
            Self::TooLarge { size, max } => {
                write!(
                    f,
                    "the packet of {size} bytes exceeds the broker's maximum of {max}"
                )
            }
            Self::QoSNotSupported => f.write_str("the broker does not support this QoS"),
            Self::RetainNotSupported => {
                f.write_str("the broker does not support retained messages")
            }
            Self::Poison { connections } => write!(
                f,
                "{connections} connections in a row ended while the message awaited its acknowledgement"
            ),
            Self::WrongAck { received } => {
                write!(
                    f,
                    "the broker answered with {received}, the wrong acknowledgement for its QoS"
                )
            }
        }
    }
}

/// Something the application should know, from [`Session::poll_event`](crate::session::Session::poll_event).
///
/// Events that carry packet data borrow the session's receive buffer until the next call into the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The broker accepted the connection.
    Connected {
        /// The broker resumed an existing session.
        session_present: bool,
    },
    /// An attempt to connect failed.
    ConnectFailed {
        /// Why.
        reason: Disconnection,
    },
    /// An established connection ended.
    ConnectionLost {
        /// Why.
        reason: Disconnection,
    },
    /// The next connection attempt is scheduled.
    Reconnecting {
        /// Attempts since the last successful connection, this one included.
        attempt: u32,
        /// The wait before it.
        delay: Duration,
    },
    /// The session stopped trying to connect: a permanent refusal, or the policy's attempts are used up. A manual
    /// reconnect starts over.
    GaveUp {
        /// The failure that ended it.
        reason: Disconnection,
    },
    /// A disconnect asked for by the application is complete.
    Disconnected,
    /// A message from the broker. Its topic is resolved if it came as a topic alias.
    ///
    /// With [`Config::manual_ack`](crate::Config::manual_ack), a QoS 1 or 2 message is acknowledged to the broker
    /// only after [`Session::ack`](crate::session::Session::ack) with the token
    /// [`Session::message_ack`](crate::session::Session::message_ack) gives right after this event. An
    /// application that cannot take it now calls [`Session::hold_message`](crate::session::Session::hold_message)
    /// and gets the same event again.
    Message(Publish<'a>),
    /// An outgoing QoS 1 or 2 message was acknowledged (PUBACK, or PUBREC and then PUBCOMP).
    Published {
        /// The ticket `publish` returned.
        ticket: Ticket,
    },
    /// An outgoing message will not be delivered.
    PublishFailed {
        /// The ticket `publish` returned.
        ticket: Ticket,
        /// Why.
        reason: PublishFailure,
    },
    /// The broker answered a SUBSCRIBE: one code per filter, in request order (granted QoS, or a failure).
    Subscribed {
        /// The ticket `subscribe` returned, or [`Ticket::RESUBSCRIBE`].
        ticket: Ticket,
        /// Per filter: `0x00` to `0x02` granted QoS; `0x80` and above failure.
        reasons: List<'a, ReasonCode>,
    },
    /// A SUBSCRIBE or UNSUBSCRIBE request was dropped unsent: its packet does not fit the transmit buffer given
    /// to `poll_transmit`, or exceeds the Maximum Packet Size the broker announced after the request was made
    /// (`[MQTT-3.2.2-15]`). With [`Ticket::RESUBSCRIBE`], one filter of the session's own re-subscription was
    /// too large on its own (the others go out in further packets).
    RequestTooLarge {
        /// The ticket `subscribe` or `unsubscribe` returned, or [`Ticket::RESUBSCRIBE`].
        ticket: Ticket,
    },
    /// The broker answered an UNSUBSCRIBE (5.0: one code per filter; 3.1.1: none).
    Unsubscribed {
        /// The ticket `unsubscribe` returned.
        ticket: Ticket,
        /// Per filter, in 5.0.
        reasons: List<'a, ReasonCode>,
    },
}

/// Events without borrowed data, queued inside the session until polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OwnedEvent {
    Connected { session_present: bool },
    ConnectFailed(Disconnection),
    ConnectionLost(Disconnection),
    Reconnecting { attempt: u32, delay: Duration },
    GaveUp(Disconnection),
    Disconnected,
    Published(Ticket),
    PublishFailed(Ticket, PublishFailure),
    RequestTooLarge(Ticket),
}

impl OwnedEvent {
    pub(crate) fn into_event<'a>(self) -> Event<'a> {
        match self {
            Self::Connected { session_present } => Event::Connected { session_present },
            Self::ConnectFailed(reason) => Event::ConnectFailed { reason },
            Self::ConnectionLost(reason) => Event::ConnectionLost { reason },
            Self::Reconnecting { attempt, delay } => Event::Reconnecting { attempt, delay },
            Self::GaveUp(reason) => Event::GaveUp { reason },
            Self::Disconnected => Event::Disconnected,
            Self::Published(ticket) => Event::Published { ticket },
            Self::PublishFailed(ticket, reason) => Event::PublishFailed { ticket, reason },
            Self::RequestTooLarge(ticket) => Event::RequestTooLarge { ticket },
        }
    }
}
