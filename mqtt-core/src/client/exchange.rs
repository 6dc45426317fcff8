//! The MQTT 5.0 exchanges of the std clients that span several events: request/response (a reply inbox, replies
//! matched to requests by Correlation Data), re-authentication (its completion), and redirection (the URL the next
//! attempt goes to). [`Exchange`] lives in the [`Dispatch`](super::Dispatch).
//!
//! # Request/response
//!
//! `request(topic, payload, timeout)` publishes the request with a Response Topic and a Correlation Data of its own,
//! and waits for the message on that topic carrying the same Correlation Data.
//!
//! - The Response Topic is the client's reply inbox: `{base}/{client}` where `base` is the broker's Response
//!   Information when it gave one ([`Options::request_response_information`](super::Options)), else `replies`,
//!   and `client` the client identifier, or the one the broker assigned (a random level before it is known).
//!   The inbox is subscribed once, at QoS 1, before the first request goes out; the session subscribes again
//!   after a lost session.
//! - Each request gets its own Correlation Data (a per-client random prefix and a counter): any number of
//!   requests may wait at once, each gets its own reply, in whatever order replies come.
//! - A reply is taken by its request only: it reaches no subscription or `messages()` stream. A reply nobody waits
//!   for any more (its request timed out) is dropped and acknowledged.

use std::collections::HashMap;
use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use bytes::Bytes;
use futures_channel::oneshot;

use super::dispatch::{AckRef, Delivered};
use super::{Error, Message};
use crate::codec::Publish;
use crate::session::{AckToken, Ticket};
use crate::url::BrokerUrl;

/// A reply to a request: the message, and its acknowledgement, owed once it is taken.
pub(crate) type Reply = oneshot::Sender<Delivered>;

/// The reply inbox of request/response.
#[derive(Debug)]
pub(crate) struct Inbox {
    /// The Response Topic requests carry (the filter subscribed).
    pub(crate) topic: String,
    /// The subscription request, until its SUBACK.
    pub(crate) ticket: Option<Ticket>,
    /// Requests waiting for the SUBACK.
    pub(crate) waiters: Vec<oneshot::Sender<Result<(), Error>>>,
}

/// See the [module docs](self).
#[derive(Debug, Default)]
pub(crate) struct Exchange {
    /// Subscribe requests carry a Subscription Identifier chosen by the client.
    pub(crate) automatic_ids: bool,
    pub(crate) inbox: Option<Inbox>,
    /// Requests waiting for their reply, by Correlation Data.
    pub(crate) requests: HashMap<Bytes, Reply>,
    pub(crate) next_request: u64,
    /// The last level of the inbox topic: the client identifier, made a valid topic level.
    pub(crate) inbox_name: String,
    /// Makes this client's Correlation Data its own.
    pub(crate) correlation_prefix: u64,
    /// Waiting for the current re-authentication.
    pub(crate) reauths: Vec<oneshot::Sender<Result<(), Error>>>,
    /// The URL the session's redirection goes to, once the Server Reference was read.
    pub(crate) redirect_url: Option<Result<String, Error>>,
}

impl Exchange {
    /// A message on the reply inbox: given to its request, or dropped (and its acknowledgement released) if none
    /// waits. `None` if the message is not a reply.
    pub(crate) fn take_reply(
        &mut self,
        publish: &Publish<'_>,
        ack: Option<AckToken>,
        manual_ack: bool,
        pending_acks: &mut Vec<AckToken>,
    ) -> Option<()> {
        let inbox = self.inbox.as_ref()?;
        let reply_to = publish.topic.strip_prefix(inbox.topic.as_str())?;
        if !reply_to.is_empty() {
            return None;
        }
        let ack_ref = ack.map(AckRef::single);
        let waiting = publish
            .properties
            .correlation_data
            .and_then(|data| self.requests.remove(data));
        let delivered = Delivered {
            message: Message::received(publish, ack.filter(|_| manual_ack)),
            ack: ack_ref,
        };
        let unclaimed = match waiting {
            Some(reply) => reply.send(delivered).err(),
            None => Some(delivered),
        };
        if let Some(token) = unclaimed.and_then(|d| d.ack).and_then(AckRef::taken) {
            pending_acks.push(token);
        }
        Some(())
    }

    /// A SUBACK: the inbox's makes its waiting requests go on (or fail with the refusal).
    pub(crate) fn subscribed(&mut self, ticket: Ticket, outcome: &Result<(), Error>) {
        let Some(inbox) = self.inbox.as_mut().filter(|i| i.ticket == Some(ticket)) else {
            return;
        };
        inbox.ticket = None;
        for waiter in inbox.waiters.drain(..) {
            let _ = waiter.send(outcome.clone());
        }
        if outcome.is_err() {
            self.inbox = None;
        }
    }

    /// Whether the application awaits something the broker sends: a reply, the inbox's SUBACK, the end of a
    /// re-authentication.
    pub(crate) fn awaits_broker(&self) -> bool {
        !self.requests.is_empty()
            || !self.reauths.is_empty()
            || self
                .inbox
                .as_ref()
                .is_some_and(|inbox| inbox.ticket.is_some())
    }

    /// The next Correlation Data.
    pub(crate) fn correlation(&mut self) -> Bytes {
        self.next_request += 1;
        let prefix = self.correlation_prefix;
        Bytes::from(format!("{prefix:016x}-{}", self.next_request).into_bytes())
    }

    /// The client identifier as the inbox's topic level: wildcards, separators and NUL replaced (empty for an
    /// empty identifier: see [`inbox_topic`](Self::inbox_topic)).
    pub(crate) fn inbox_level(client_id: &str) -> String {
        client_id
            .chars()
            .map(|c| match c {
                '+' | '#' | '/' | '\0' => '_',
                c => c,
            })
            .collect()
    }

    /// The reply inbox's topic under `base`: its last level is the client identifier, or for a client that left
    /// its identifier to the broker the one the broker assigned (`assigned`), or, before that is known, a level
    /// of its own. Never a level that every client without an identifier shares: each would receive the
    /// responses to the others' requests.
    pub(crate) fn inbox_topic(&self, base: &str, assigned: Option<&str>) -> String {
        let level = match self.inbox_name.is_empty() {
            false => self.inbox_name.clone(),
            true => assigned
                .map(Self::inbox_level)
                .filter(|level| !level.is_empty())
                .unwrap_or_else(unique_level),
        };
        format!("{}/{level}", base.trim_end_matches('/'))
    }

    /// The re-authentication succeeded, or (`Err`) the connection ended first.
    pub(crate) fn reauthenticated(&mut self, outcome: &Result<(), Error>) {
        for done in self.reauths.drain(..) {
            let _ = done.send(outcome.clone());
        }
    }

    /// Every exchange waiting fails with `error` (the client is finished, or gave up).
    pub(crate) fn fail(&mut self, error: &Error) {
        self.reauthenticated(&Err(error.clone()));
        if let Some(inbox) = &mut self.inbox {
            for waiter in inbox.waiters.drain(..) {
                let _ = waiter.send(Err(error.clone()));
            }
        }
        self.requests.clear();
    }
}

/// The URL a redirection goes to, from the URL of the current broker and the broker's Server Reference: its first
/// reference (space-separated), either a URL or `host`, `host:port`, `[v6]` or `[v6]:port`, which keeps the
/// current scheme, port (when none is given) and WebSocket path.
///
/// # Errors
///
/// [`Error::InvalidUrl`] for a reference that does not parse; [`Error::Redirect`] for one that would leave TLS
/// for plain TCP or WebSocket.
pub fn redirect_url(current: &str, reference: &str) -> Result<String, Error> {
    let current = BrokerUrl::parse(current).map_err(Error::InvalidUrl)?;
    let first = reference.split_whitespace().next().unwrap_or_default();
    let target = if first.contains("://") {
        BrokerUrl::parse(first)
            .map_err(Error::InvalidUrl)?
            .to_string()
    } else {
        let scheme = match (current.transport.is_tls(), current.transport.is_websocket()) {
            (false, false) => "mqtt",
            (true, false) => "mqtts",
            (false, true) => "ws",
            (true, true) => "wss",
        };
        let has_port = match first.rsplit_once(']') {
            Some((_, rest)) => rest.starts_with(':'),
            None => first.contains(':'),
        };
        let text = match has_port {
            true => format!("{scheme}://{first}{}", current.path),
            false => format!("{scheme}://{first}:{}{}", current.port, current.path),
        };
        BrokerUrl::parse(&text)
            .map_err(Error::InvalidUrl)?
            .to_string()
    };
    let parsed = BrokerUrl::parse(&target).map_err(Error::InvalidUrl)?;
    if current.transport.is_tls() && !parsed.transport.is_tls() {
        return Err(Error::Redirect(target));
    }
    Ok(target)
}

/// A topic level no other client picks: `client-` and 64 random bits (`RandomState`'s keys come from the operating
/// system's randomness, and change with each call within a thread).
fn unique_level() -> String {
    use core::hash::BuildHasher as _;
    let bits = std::collections::hash_map::RandomState::new().hash_one(0x0072_6570_6c69_6573_u64);
    format!("client-{bits:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reply_inbox_of_a_client_without_identifier_is_its_own() {
        let chosen = Exchange {
            inbox_name: Exchange::inbox_level("pump/7#"),
            ..Exchange::default()
        };
        assert_eq!(chosen.inbox_topic("replies", None), "replies/pump_7_");
        assert_eq!(chosen.inbox_topic("base/", Some("auto-1")), "base/pump_7_");
        let anonymous = Exchange::default();
        assert_eq!(
            anonymous.inbox_topic("replies", Some("auto/1")),
            "replies/auto_1"
        );
        let (a, b) = (
            anonymous.inbox_topic("replies", None),
            anonymous.inbox_topic("replies", Some("")),
        );
        assert!(
            a.starts_with("replies/client-") && b.starts_with("replies/client-"),
            "{a} {b}"
        );
        assert_ne!(
            a, b,
            "before the broker assigns one, each inbox has a level of its own"
        );
    }

    #[test]
    fn a_reference_keeps_the_scheme_port_and_path_it_does_not_name() {
        let cases = [
            ("mqtt://a:1883", "b", "mqtt://b:1883"),
            ("mqtt://a:1884", "b:2000", "mqtt://b:2000"),
            (
                "mqtts://a:8883",
                "b.example other.example",
                "mqtts://b.example:8883",
            ),
            ("wss://a:443/mqtt", "b:9443", "wss://b:9443/mqtt"),
            ("mqtt://a:1883", "[::1]:1999", "mqtt://[::1]:1999"),
            ("mqtt://a:1883", "[::1]", "mqtt://[::1]:1883"),
            ("mqtt://a:1883", "mqtts://c:8884", "mqtts://c:8884"),
        ];
        for (current, reference, expected) in cases {
            assert_eq!(
                redirect_url(current, reference).unwrap(),
                expected,
                "{reference}"
            );
        }
    }

    #[test]
    fn a_reference_never_leaves_tls() {
        for (current, reference) in [("mqtts://a", "mqtt://b:1883"), ("wss://a/m", "ws://b/m")] {
            assert!(matches!(
                redirect_url(current, reference),
                Err(Error::Redirect(_))
            ));
        }
        assert!(matches!(
            redirect_url("mqtt://a", "gopher://b"),
            Err(Error::InvalidUrl(_))
        ));
    }
}
