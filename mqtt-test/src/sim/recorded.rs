//! [`RecordedEvent`]: a session [`Event`] with owned data, as the [`Sim`](super::Sim) records it.

use core::time::Duration;
use std::fmt;

use mqtt_core::codec::ReasonCode;
use mqtt_core::session::{Disconnection, PublishFailure};
use mqtt_core::{Event, Ticket};

use crate::broker::Message;

/// An [`Event`] with owned data, as the [`Sim`](super::Sim) records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordedEvent {
    /// [`Event::Connected`].
    Connected {
        /// The broker resumed an existing session.
        session_present: bool,
    },
    /// [`Event::ConnectFailed`].
    ConnectFailed {
        /// Why.
        reason: Disconnection,
    },
    /// [`Event::ConnectionLost`].
    ConnectionLost {
        /// Why.
        reason: Disconnection,
    },
    /// [`Event::Reconnecting`].
    Reconnecting {
        /// Attempts since the last successful connection, this one included.
        attempt: u32,
        /// The wait before it.
        delay: Duration,
    },
    /// [`Event::GaveUp`].
    GaveUp {
        /// The failure that ended it.
        reason: Disconnection,
    },
    /// [`Event::Disconnected`].
    Disconnected {
        /// Messages still unacknowledged (they stay queued).
        unacknowledged: usize,
    },
    /// [`Event::Message`].
    Message(Message),
    /// [`Event::Published`].
    Published {
        /// The ticket `publish` returned.
        ticket: Ticket,
    },
    /// [`Event::PublishFailed`].
    PublishFailed {
        /// The ticket `publish` returned.
        ticket: Ticket,
        /// Why.
        reason: PublishFailure,
    },
    /// [`Event::Subscribed`].
    Subscribed {
        /// The ticket `subscribe` returned.
        ticket: Ticket,
        /// One code per filter.
        reasons: Vec<ReasonCode>,
    },
    /// [`Event::RequestTooLarge`].
    RequestTooLarge {
        /// The ticket `subscribe` or `unsubscribe` returned.
        ticket: Ticket,
    },
    /// [`Event::Unsubscribed`].
    Unsubscribed {
        /// The ticket `unsubscribe` returned.
        ticket: Ticket,
        /// One code per filter (5.0).
        reasons: Vec<ReasonCode>,
    },
    /// [`Event::PingResponse`].
    PingResponse {
        /// From the PINGREQ's write to the PINGRESP's arrival.
        round_trip: Duration,
    },
    /// An event this harness does not know yet, as its `Debug` text.
    Other(String),
}

impl From<Event<'_>> for RecordedEvent {
    fn from(event: Event<'_>) -> Self {
        match event {
            Event::Connected { session_present } => Self::Connected { session_present },
            Event::ConnectFailed { reason } => Self::ConnectFailed { reason },
            Event::ConnectionLost { reason } => Self::ConnectionLost { reason },
            Event::Reconnecting { attempt, delay } => Self::Reconnecting { attempt, delay },
            Event::GaveUp { reason } => Self::GaveUp { reason },
            Event::Disconnected { unacknowledged } => Self::Disconnected { unacknowledged },
            Event::Message(publish) => {
                Self::Message(Message::from_publish(&publish, publish.topic))
            }
            Event::Published { ticket } => Self::Published { ticket },
            Event::PublishFailed { ticket, reason } => Self::PublishFailed { ticket, reason },
            Event::Subscribed { ticket, reasons } => Self::Subscribed {
                ticket,
                reasons: reasons.iter().collect(),
            },
            Event::RequestTooLarge { ticket } => Self::RequestTooLarge { ticket },
            Event::Unsubscribed { ticket, reasons } => Self::Unsubscribed {
                ticket,
                reasons: reasons.iter().collect(),
            },
            Event::PingResponse { round_trip } => Self::PingResponse { round_trip },
            other => Self::Other(format!("{other:?}")),
        }
    }
}

impl fmt::Display for RecordedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Message(m) => write!(f, "Message({m})"),
            other => write!(f, "{other:?}"),
        }
    }
}
