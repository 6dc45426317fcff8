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
    ///
    /// Codes 1 to 5 are never 5.0 Connect Reason Codes: in answer to a 5.0 CONNECT they are a 3.1.1 broker's
    /// return code (aedes answers `20 02 00 01`, "unacceptable protocol version"), and are read as such rather
    /// than as "Granted QoS 1".
    pub fn from_code(version: ProtocolVersion, code: ReasonCode) -> Option<Self> {
        let version = match code.0 {
            1..=5 => ProtocolVersion::V311,
            _ => version,
        };
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

    /// Whether the refusal is about the broker rather than the client, so that another broker of a failover list
    /// may accept the same CONNECT:
    ///
    /// | refusal | about |
    /// |---|---|
    /// | server unavailable (3.1.1 code 3, 5.0 `0x88`), server busy `0x89`, use another server `0x9C`, server moved `0x9D`, quota exceeded `0x97` (a node's connection limit) | the broker: move on |
    /// | unsupported protocol version (3.1.1 code 1, 5.0 `0x84`) | the broker: another may speak the version |
    /// | identifier rejected, bad user name or password, not authorised, banned `0x8A`, bad authentication method `0x8C`, connection rate exceeded `0x9F`, and every other code (malformed, protocol error, packet too large, will not supported...) | the client or its CONNECT: stay |
    pub fn is_about_the_server(&self) -> bool {
        match self {
            Self::ServerUnavailable | Self::UnsupportedProtocolVersion => true,
            Self::Other(code) => matches!(code.0, 0x89 | 0x97 | 0x9c | 0x9d),
            Self::IdentifierRejected | Self::BadUserNameOrPassword | Self::NotAuthorized => false,
        }
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
    /// The application asked for a new connection ([`Session::reconnect`](crate::Session::reconnect)): not a
    /// failure. The std clients report it as `ConnectionState::Reconnecting` with attempt 0, not as a loss, so
    /// that a handler that reconnects on every loss does not end the connection it asked for.
    Reconnect,
}

impl Disconnection {
    /// Whether the next attempt should go to the next broker of a failover list: the failure is about the broker
    /// (or the way to it), not about the client.
    ///
    /// - The transport closed or did not open, no CONNACK within the connect timeout (a hung node that still
    ///   completes TCP handshakes), no PINGRESP in time, a protocol error by the broker: move on.
    /// - A refusal: see [`ConnectRefusal::is_about_the_server`].
    /// - A DISCONNECT from the broker: move on for server busy `0x89`, server shutting down `0x8B`, quota exceeded
    ///   `0x97`, use another server `0x9C` and server moved `0x9D`; stay for every other reason, which is about
    ///   the client (session taken over, not authorised, a request the broker does not support...).
    pub fn fails_over(&self) -> bool {
        match self {
            Self::TransportClosed
            | Self::ConnectTimeout
            | Self::KeepAliveTimeout
            | Self::Protocol(_) => true,
            Self::Refused(refusal) => refusal.is_about_the_server(),
            Self::ServerDisconnect(code) => matches!(code.0, 0x89 | 0x8b | 0x97 | 0x9c | 0x9d),
            Self::Reconnect => false,
        }
    }
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
            Self::ServerDisconnect(code) if *code == ReasonCode::SESSION_TAKEN_OVER => write!(
                f,
                "the broker closed the connection: {code} (another client connected with the same client \
                 identifier)"
            ),
            Self::ServerDisconnect(code) => write!(f, "the broker closed the connection: {code}"),
            Self::Reconnect => f.write_str("the application asked for a new connection"),
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
    /// The message carries 5.0 properties and the session fell back to MQTT 3.1.1 (see
    /// [`Config::fallback_to_v311`](crate::Config::fallback_to_v311)) before it was sent.
    PropertiesNotSupported,
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
            Self::PropertiesNotSupported => f.write_str(
                "the broker speaks MQTT 3.1.1, which cannot carry the message's properties",
            ),
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
    /// The next connection attempt is scheduled (or, with a zero `delay`, starts at once).
    Reconnecting {
        /// Attempts since the schedule last started over (a connection that stayed up for
        /// [`stable_after`](crate::reconnect::ReconnectPolicy::stable_after), or `connect`/`reconnect`), this one
        /// included. The fall back to MQTT 3.1.1 is not a failure of the broker and does not count.
        attempt: u32,
        /// The wait before it: zero for the next broker of a failover list within a round, and for the fall back
        /// to 3.1.1.
        delay: Duration,
    },
    /// The session stopped trying to connect: a permanent refusal, or the policy's attempts are used up. A manual
    /// reconnect starts over.
    GaveUp {
        /// The failure that ended it.
        reason: Disconnection,
    },
    /// A disconnect asked for by the application is complete.
    Disconnected {
        /// Outgoing messages still unacknowledged (QoS 1 and 2) or unsent (QoS 0) when the connection closed. They
        /// stay queued and go out if the session connects again; nothing was dropped.
        unacknowledged: usize,
    },
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
    ///
    /// Also reports a request that failed as a whole, with the same failure code for every filter: the broker
    /// closed the connection with a DISCONNECT about it (such as `0x9E` Shared Subscriptions not supported, on a
    /// `$share/` filter) instead of answering, or a later CONNACK said the broker does not support what it asks
    /// for. Such a request is not sent again.
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
    /// MQTT 3.1.1: the broker sent a message larger than [`Config::max_packet_size`](crate::Config), which a
    /// 3.1.1 client cannot announce. The session read past it without keeping it and acknowledged it (PUBACK, or
    /// PUBREC then PUBCOMP), in order with the messages around it: on a persistent session the broker would
    /// otherwise send it again after every reconnect, and nothing behind it would ever arrive. The message is
    /// lost to the application; this event is the only trace of it. (On 5.0 the broker knows the limit and must
    /// not send such a message, `[MQTT-3.1.2-25]`: one that does is a protocol error.)
    MessageTooLarge {
        /// The packet's size, fixed header included.
        size: u32,
        /// The limit in force.
        max: u32,
        /// Its QoS.
        qos: crate::codec::QoS,
    },
    /// The broker answered an UNSUBSCRIBE (5.0: one code per filter; 3.1.1: none). As for `Subscribed`, a request
    /// the broker closed the connection over (DISCONNECT `0x8F` Topic Filter invalid) is reported with that code
    /// for every filter and not sent again.
    Unsubscribed {
        /// The ticket `unsubscribe` returned.
        ticket: Ticket,
        /// Per filter, in 5.0.
        reasons: List<'a, ReasonCode>,
    },
    /// The session follows the broker's redirection (5.0 Use Another Server or Server Moved with a Server
    /// Reference, [`Config::follow_redirects`](crate::Config::follow_redirects)): the next attempt, which starts at
    /// once, goes to `reference`. See [redirection](crate::session#redirection).
    Redirected {
        /// The Server Reference, as the broker sent it.
        reference: &'a str,
        /// Server Moved (`0x9D`): later connections go there too. Use Another Server (`0x9C`): this one.
        permanent: bool,
    },
    /// A re-authentication ([`Session::reauthenticate`](crate::session::Session::reauthenticate)) succeeded: the
    /// broker answered AUTH Success and the authenticator accepted its final data.
    Reauthenticated,
    /// The broker answered the ping the application asked for ([`Session::ping`](crate::session::Session::ping))
    /// with PINGRESP. Keep-alive pings the application did not ask for are not reported.
    PingResponse {
        /// From the write of the PINGREQ to the arrival of the PINGRESP (as the `now` of the calls that did
        /// them).
        round_trip: Duration,
    },
}

/// Events without borrowed data, queued inside the session until polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OwnedEvent {
    Connected {
        session_present: bool,
    },
    ConnectFailed(Disconnection),
    ConnectionLost(Disconnection),
    Reconnecting {
        attempt: u32,
        /// Milliseconds (saturated; a `Duration` would double the size of every queued event).
        delay_ms: u32,
    },
    GaveUp(Disconnection),
    Disconnected {
        unacknowledged: usize,
    },
    Published(Ticket),
    PublishFailed(Ticket, PublishFailure),
    RequestTooLarge(Ticket),
    MessageTooLarge {
        size: u32,
        max: u32,
        qos: crate::codec::QoS,
    },
    /// A SUBSCRIBE (or UNSUBSCRIBE) of `filters` filters failed as a whole with `reason`.
    RequestFailed {
        ticket: Ticket,
        reason: ReasonCode,
        filters: usize,
        subscribe: bool,
    },
    /// The session follows a redirection to the Server Reference it keeps.
    Redirected {
        permanent: bool,
    },
    Reauthenticated,
    /// Milliseconds, saturated (as `Reconnecting`'s delay).
    PingResponse {
        round_trip_ms: u32,
    },
}

impl OwnedEvent {
    /// The event, with `reference` the Server Reference the session keeps (for `Redirected`).
    pub(crate) fn into_event(self, reference: &str) -> Event<'_> {
        match self {
            Self::Connected { session_present } => Event::Connected { session_present },
            Self::ConnectFailed(reason) => Event::ConnectFailed { reason },
            Self::ConnectionLost(reason) => Event::ConnectionLost { reason },
            Self::Reconnecting { attempt, delay_ms } => Event::Reconnecting {
                attempt,
                delay: crate::time::duration_from_millis(u64::from(delay_ms)),
            },
            Self::GaveUp(reason) => Event::GaveUp { reason },
            Self::Disconnected { unacknowledged } => Event::Disconnected { unacknowledged },
            Self::Published(ticket) => Event::Published { ticket },
            Self::PublishFailed(ticket, reason) => Event::PublishFailed { ticket, reason },
            Self::RequestTooLarge(ticket) => Event::RequestTooLarge { ticket },
            Self::MessageTooLarge { size, max, qos } => Event::MessageTooLarge { size, max, qos },
            Self::RequestFailed {
                ticket,
                reason,
                filters,
                subscribe,
            } => {
                let reasons = List::repeat(reason, filters);
                match subscribe {
                    true => Event::Subscribed { ticket, reasons },
                    false => Event::Unsubscribed { ticket, reasons },
                }
            }
            Self::Redirected { permanent } => Event::Redirected {
                reference,
                permanent,
            },
            Self::Reauthenticated => Event::Reauthenticated,
            Self::PingResponse { round_trip_ms } => Event::PingResponse {
                round_trip: crate::time::duration_from_millis(u64::from(round_trip_ms)),
            },
        }
    }
}
