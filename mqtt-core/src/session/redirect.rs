//! Server redirection (MQTT 5.0 section 4.11): a broker answers CONNECT with a CONNACK refusal, or ends a
//! connection with a DISCONNECT, carrying Use Another Server (`0x9C`, temporary) or Server Moved (`0x9D`,
//! permanent) and a Server Reference. With [`Config::follow_redirects`](crate::Config::follow_redirects) the next
//! attempt goes to that server, at once.
//!
//! # Rules
//!
//! - The reference is kept in the store (a text slot of [`Config::text_len`](crate::Config::text_len) bytes; one
//!   that does not fit is not followed). [`Session::server_reference`] gives it; the binding parses it (the
//!   format is not specified; usually `host`, `host:port` or a space-separated list, of which the std clients take
//!   the first).
//! - While the session follows it, [`Session::broker`] returns the index one past the failover list
//!   (`Config::brokers`): the binding opens a connection to the referenced server then. [`Event::Redirected`]
//!   comes first, with the reference, then `Reconnecting` with a zero delay.
//! - An attempt to the referenced server that fails ends the redirection: the failover list applies again,
//!   at its next broker.
//! - After Use Another Server the referenced server serves the one connection: when it ends, the list applies
//!   again. After Server Moved it serves every later connection, until an attempt to it fails.
//! - At most [`MAX_HOPS`] redirections in a row without an accepted connection are followed (a loop of brokers
//!   pointing at each other ends there); the reconnect policy applies to the rest.
//! - Without `follow_redirects`, nothing moves: the reference is only kept, and both codes count as failures
//!   about the broker (the next broker of the list is tried).
//!
//! [`Event::Redirected`]: super::Event::Redirected

use super::Session;
use super::event::OwnedEvent;
use super::store::Text;
use crate::codec::ReasonCode;
use crate::time::Instant;

/// Redirections followed in a row without an accepted connection, at most.
pub const MAX_HOPS: u8 = 4;

/// The session's state of redirection.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Redirect {
    follow: bool,
    /// A redirection to follow when the connection has ended: whether it is permanent.
    pending: Option<bool>,
    /// Attempts go to the referenced server.
    active: bool,
    permanent: bool,
    /// The referenced server accepted the latest attempt.
    connected: bool,
    hops: u8,
}

impl Redirect {
    pub(super) fn new(follow: bool) -> Self {
        Self {
            follow,
            ..Self::default()
        }
    }

    pub(super) fn is_active(&self) -> bool {
        self.active
    }
}

impl Session<'_> {
    /// A CONNACK refusal or a DISCONNECT from the broker, with its reason and Server Reference: the reference is
    /// kept, and with Use Another Server or Server Moved the session follows it once the connection has ended.
    pub(super) fn note_server_reference(&mut self, reason: ReasonCode, reference: Option<&str>) {
        let Some(reference) = reference else {
            return;
        };
        let kept = self
            .store
            .set_text(Text::ServerReference, Some(reference.as_bytes()));
        let moves = matches!(
            reason,
            ReasonCode::USE_ANOTHER_SERVER | ReasonCode::SERVER_MOVED
        );
        if kept && moves && !reference.trim().is_empty() {
            self.redirect.pending = Some(reason == ReasonCode::SERVER_MOVED);
        }
    }

    /// CONNACK accepted the attempt: a redirection in force reached its server.
    pub(super) fn redirect_connected(&mut self) {
        self.redirect.hops = 0;
        self.redirect.connected = self.redirect.active;
    }

    /// Called when the next attempt is to be scheduled: follows a pending redirection (at once; `true`), or ends
    /// one that is over (see the [module docs](self)).
    pub(super) fn follow_redirect(&mut self, now: Instant) -> bool {
        let r = &mut self.redirect;
        if let Some(permanent) = r.pending.take()
            && r.follow
            && r.hops < MAX_HOPS
        {
            r.hops += 1;
            r.active = true;
            r.permanent = permanent;
            r.connected = false;
            self.events.push(OwnedEvent::Redirected { permanent });
            self.events.push(OwnedEvent::Reconnecting {
                attempt: self.backoff.attempts(),
                delay_ms: 0,
            });
            self.open(now);
            return true;
        }
        if r.active {
            if r.permanent && r.connected {
                // Moved for good: the next attempt goes there too; one that fails ends it.
                r.connected = false;
            } else {
                r.active = false;
            }
        }
        false
    }

    /// The latest Server Reference from the broker (CONNACK or DISCONNECT), kept until the next one, if the store
    /// keeps texts ([`Config::text_len`](crate::Config::text_len)) and it fit. While the session follows a
    /// redirection ([`is_redirected`](Self::is_redirected)) it names the server the binding opens.
    pub fn server_reference(&self) -> Option<&str> {
        self.store
            .text(Text::ServerReference)
            .and_then(|t| core::str::from_utf8(t).ok())
    }

    /// Whether the current or next attempt goes to the server of [`server_reference`](Self::server_reference)
    /// rather than to the failover list ([`broker`](Self::broker) is then one past the list).
    pub fn is_redirected(&self) -> bool {
        self.redirect.is_active()
    }
}
