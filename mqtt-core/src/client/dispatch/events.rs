//! What the session reports, routed: events become connection states, answers to the calls that wait for
//! them, and messages for the subscriptions ([`Dispatch::on_event`]); transport failures are kept for the state
//! that follows.

use std::borrow::ToOwned;
use std::vec;

use super::{Dispatch, Granted};
use crate::client::{ConnectionState, Error};
use crate::codec::ReasonCode;
use crate::driver::Flow;
use crate::session::{AckToken, ConnectRefusal, Disconnection, Event};

impl Dispatch {
    /// Why the latest connection attempt failed, for [`last_transport_error`](Self::last_transport_error).
    pub fn record_transport_error(&mut self, error: Error) {
        self.last_transport_error = Some(error);
    }

    /// A transport failure: opening, reading or writing failed. Before the broker accepted the connection it is
    /// why the attempt failed, and the state that follows says so ([`ConnectionState::Unreachable`]).
    pub fn record_io_error(&mut self, error: Error) {
        if !self.established {
            self.unreachable = Some(error.clone());
        }
        self.record_transport_error(error);
    }

    /// The runner starts an attempt to broker `broker` of the failover list.
    pub fn record_connecting(&mut self, broker: usize) {
        self.broker = broker;
        tracing::info!(broker = self.broker_url(), "connecting");
    }

    /// Routes one event of the session; see [`EventSink::event`](crate::driver::EventSink::event).
    pub fn on_event(&mut self, event: Event<'_>, ack: Option<AckToken>) -> Flow {
        match event {
            Event::Message(publish) => return self.deliver(&publish, ack),
            Event::Published { ticket } => {
                if let Some(done) = self.publishes.remove(&ticket) {
                    let _ = done.send(Ok(()));
                }
            }
            Event::PublishFailed { ticket, reason } => {
                if let Some(done) = self.publishes.remove(&ticket) {
                    let _ = done.send(Err(Error::PublishFailed(reason)));
                }
            }
            Event::Subscribed { ticket, reasons } => {
                let granted: Granted = reasons
                    .iter()
                    .map(|code| code.granted_qos().ok_or(Error::SubscriptionRefused(code)))
                    .collect();
                // Refused filters stop matching; a route left without filters goes.
                if let Some(route) = self.routes.iter_mut().find(|r| r.ticket == ticket) {
                    let mut results = granted.iter();
                    route
                        .filters
                        .retain(|_| results.next().is_none_or(Result::is_ok));
                }
                self.routes
                    .retain(|route| route.ticket != ticket || !route.filters.is_empty());
                let inbox = match granted.first() {
                    Some(Err(Error::SubscriptionRefused(code))) => Err(Error::InboxRefused(*code)),
                    _ => Ok(()),
                };
                self.v5.subscribed(ticket, &inbox);
                if let Some(done) = self.subscribes.remove(&ticket) {
                    let _ = done.send(Ok(granted));
                }
            }
            Event::RequestTooLarge { ticket } => {
                self.routes.retain(|route| route.ticket != ticket);
                if let Some(done) = self.subscribes.remove(&ticket) {
                    let _ = done.send(Err(Error::RequestTooLarge));
                }
                if let Some((_, done)) = self.unsubscribes.remove(&ticket) {
                    let _ = done.send(Err(Error::RequestTooLarge));
                }
                self.v5.subscribed(ticket, &Err(Error::RequestTooLarge));
            }
            Event::MessageTooLarge { size, max, qos } => {
                tracing::warn!(
                    size,
                    max,
                    ?qos,
                    "a message of {size} bytes from the broker exceeds max_packet_size ({max} bytes): acknowledged \
                     and not delivered (MQTT 3.1.1 cannot tell the broker the limit; see Stats::messages_too_large)"
                );
            }
            Event::Unsubscribed { ticket, reasons } => {
                if let Some((filters, done)) = self.unsubscribes.remove(&ticket) {
                    self.abandoned.forget(&filters);
                    // 3.1.1: an UNSUBACK without codes means every filter is gone.
                    let codes = match reasons.is_empty() {
                        true => vec![ReasonCode::SUCCESS; filters.len()],
                        false => reasons.iter().collect(),
                    };
                    let _ = done.send(Ok(codes));
                }
            }
            Event::Redirected {
                reference,
                permanent,
            } => {
                let url = crate::client::redirect_url(self.broker_url(), reference);
                let to = url.clone().unwrap_or_else(|_| reference.to_owned());
                self.v5.redirect_url = Some(url);
                self.state(ConnectionState::Redirected { to, permanent });
            }
            Event::Reauthenticated => self.v5.reauthenticated(&Ok(())),
            Event::PingResponse { round_trip } => self.pings.answer(&Ok(round_trip)),
            Event::Connected { session_present } => {
                self.unreachable = None;
                self.established = true;
                self.ever_connected = true;
                let broker = self.broker_url().to_owned();
                self.state(ConnectionState::Connected {
                    session_present,
                    broker,
                });
            }
            Event::ConnectFailed { reason } => {
                self.established = false;
                let unreachable = self.unreachable.take();
                let only_v5 = self.only_v5 && !self.ever_connected;
                self.state(match (reason, unreachable) {
                    (Disconnection::Refused(refusal), _) => ConnectionState::Refused(refusal),
                    // What 3.1.1-only brokers do with a 5.0 CONNECT (rumqttd's 3.1.1 listener, among others).
                    (Disconnection::TransportClosed, Some(error))
                        if only_v5 && is_broker_close(&error) =>
                    {
                        tracing::warn!(
                            broker = self.broker_url(),
                            "the broker closed the connection without answering the MQTT 5.0 CONNECT: it \
                             does not speak 5.0 (leave Options::version unset to fall back to 3.1.1)"
                        );
                        ConnectionState::Refused(ConnectRefusal::UnsupportedProtocolVersion)
                    }
                    (Disconnection::TransportClosed, Some(error)) => {
                        ConnectionState::Unreachable(error)
                    }
                    (other, _) => ConnectionState::Lost(other),
                });
            }
            Event::ConnectionLost { reason } => {
                self.v5.reauthenticated(&Err(Error::ConnectionLost(reason)));
                self.pings.answer(&Err(Error::ConnectionLost(reason)));
                self.established = false;
                self.unreachable = None;
                self.state(match reason {
                    // Asked for, not lost: a handler that reconnects on every loss must not end the new one.
                    Disconnection::Reconnect => ConnectionState::Reconnecting {
                        attempt: 0,
                        delay: core::time::Duration::ZERO,
                    },
                    reason => ConnectionState::Lost(reason),
                });
            }
            Event::Reconnecting { attempt, delay } => {
                self.state(ConnectionState::Reconnecting { attempt, delay });
            }
            Event::GaveUp { reason } => {
                self.state(ConnectionState::GaveUp(reason));
                self.fail_pending(&Error::GaveUp(reason));
                if self.handles_gone {
                    self.finish();
                }
            }
            Event::Disconnected { unacknowledged } => {
                if unacknowledged > 0 {
                    tracing::warn!(
                        unacknowledged,
                        "disconnected with messages the broker did not acknowledge"
                    );
                }
                self.state(ConnectionState::Disconnected);
                self.answer_disconnects(unacknowledged);
                self.finish();
            }
        }
        Flow::Taken
    }
}

/// Whether a transport failure is the broker closing the connection (the end of the stream).
fn is_broker_close(error: &Error) -> bool {
    matches!(error, Error::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof)
}
