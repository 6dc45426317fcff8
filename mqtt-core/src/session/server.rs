//! What the broker said: everything its latest CONNACK announced ([`ConnAckInfo`]), the latest Reason String of
//! any packet ([`Reason`]), and the client's own DISCONNECT with properties ([`Session::disconnect_with`]).

use core::time::Duration;

use super::receive::Step;
use super::store::Text;
use super::{Session, Timer};
use crate::codec::{
    ConnAck, Disconnect, DisconnectProperties, Packet, PacketType, ProtocolVersion, QoS, ReasonCode,
};
use crate::error::EncodeError;
use crate::time::Instant;

/// What a 5.0 broker said about itself in CONNACK (3.1.1: the permissive defaults).
#[derive(Debug, Clone, Copy)]
pub(super) struct ServerLimits {
    pub(super) receive_maximum: u16,
    pub(super) max_packet_size: u32,
    pub(super) topic_alias_maximum: u16,
    pub(super) max_qos: QoS,
    pub(super) retain_available: bool,
    pub(super) subscription_ids_available: bool,
    pub(super) shared_available: bool,
    pub(super) wildcards_available: bool,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            receive_maximum: u16::MAX,
            max_packet_size: u32::MAX,
            topic_alias_maximum: 0,
            max_qos: QoS::ExactlyOnce,
            retain_available: true,
            subscription_ids_available: true,
            shared_available: true,
            wildcards_available: true,
        }
    }
}

/// What a 5.0 broker announced in its latest successful CONNACK, as one value (3.1.1: the defaults, nothing
/// announced). From [`Session::connack_info`].
///
/// Texts (Response Information, Server Reference, Reason String) are kept in the store when
/// [`Config::text_len`](crate::Config::text_len) leaves room for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnAckInfo<'a> {
    /// The broker resumed a session.
    pub session_present: bool,
    /// The client identifier the broker assigned (the client sent an empty one).
    pub assigned_client_id: Option<&'a str>,
    /// The keep alive the broker imposed (Server Keep Alive), in seconds.
    pub server_keep_alive: Option<u16>,
    /// The keep alive in force on this connection.
    pub keep_alive: Duration,
    /// The Session Expiry Interval the broker uses, when it differs from the client's.
    pub session_expiry_interval: Option<u32>,
    /// QoS 1 and 2 messages the broker takes in flight at once (65,535 when not announced).
    pub receive_maximum: u16,
    /// The largest packet the broker accepts, if it said.
    pub maximum_packet_size: Option<u32>,
    /// Topic aliases the broker accepts from the client (0: none).
    pub topic_alias_maximum: u16,
    /// The highest QoS the broker supports: publishing above it is refused locally
    /// ([`PublishError::QoSNotSupported`](crate::PublishError::QoSNotSupported)).
    pub maximum_qos: QoS,
    /// Retained messages supported.
    pub retain_available: bool,
    /// Wildcard subscriptions supported.
    pub wildcard_subscription_available: bool,
    /// Subscription identifiers supported.
    pub subscription_identifiers_available: bool,
    /// Shared subscriptions supported.
    pub shared_subscription_available: bool,
    /// The basis of response topics, when the client asked for it
    /// ([`Config::request_response_information`](crate::Config::request_response_information)).
    pub response_information: Option<&'a str>,
    /// Another server the client may use (the latest Server Reference, of a CONNACK or a DISCONNECT).
    pub server_reference: Option<&'a str>,
    /// The CONNACK's Reason String.
    pub reason_string: Option<&'a str>,
}

/// The latest Reason String the broker sent, with the packet and reason code it came with. From
/// [`Session::last_reason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reason<'a> {
    /// The packet: CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, DISCONNECT or AUTH.
    pub packet: PacketType,
    /// Its reason code (for SUBACK and UNSUBACK, the first filter's).
    pub code: ReasonCode,
    /// The Reason String, cut at a character boundary to 128 bytes.
    pub reason_string: &'a str,
}

/// What the session keeps from CONNACK beyond its limits, and about the latest reason.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Announced {
    connected: bool,
    session_present: bool,
    server_keep_alive: Option<u16>,
    session_expiry_interval: Option<u32>,
    last_reason: Option<(PacketType, ReasonCode)>,
    /// The application gave its DISCONNECT properties: the store's farewell slot holds the packet.
    pub(super) farewell: bool,
}

impl Session<'_> {
    /// Every packet: its Reason String, if it has one, is the latest.
    pub(super) fn note_reason(&mut self, packet: &Packet<'_>) {
        let (code, reason) = match packet {
            Packet::ConnAck(p) => (p.reason, p.properties.reason_string),
            Packet::PubAck(p) | Packet::PubRec(p) | Packet::PubRel(p) | Packet::PubComp(p) => {
                (p.reason, p.properties.reason_string)
            }
            Packet::SubAck(p) => (
                p.reasons.iter().next().unwrap_or_default(),
                p.properties.reason_string,
            ),
            Packet::UnsubAck(p) => (
                p.reasons.iter().next().unwrap_or_default(),
                p.properties.reason_string,
            ),
            Packet::Disconnect(p) => (p.reason, p.properties.reason_string),
            Packet::Auth(p) => (p.reason, p.properties.reason_string),
            _ => return,
        };
        if reason.is_some() {
            self.announced.last_reason = Some((packet.packet_type(), code));
            self.keep_reason_string(reason);
        }
    }

    /// What a CONNACK says beyond the limits the session applies: what is kept for
    /// [`connack_info`](Self::connack_info), the check of enhanced authentication, a redirection. `Some` with the
    /// step to take instead of accepting the connection.
    pub(super) fn note_connack(&mut self, connack: &ConnAck<'_>, accepted: bool) -> Option<Step> {
        let p = &connack.properties;
        if !accepted {
            self.note_server_reference(connack.reason, p.server_reference);
            return None;
        }
        if let Err(error) = self.connack_auth(p) {
            self.reject_connack(error);
            return Some(Step::Continue);
        }
        self.redirect_connected();
        self.announced = Announced {
            connected: true,
            session_present: connack.session_present,
            server_keep_alive: p.server_keep_alive,
            session_expiry_interval: p.session_expiry_interval,
            ..self.announced
        };
        let response = p.response_information.map(str::as_bytes);
        self.store.set_text(Text::ResponseInformation, response);
        let assigned = p.assigned_client_identifier.map(str::as_bytes);
        self.store.set_text(Text::AssignedClientId, assigned);
        if let Some(reference) = p.server_reference {
            self.store
                .set_text(Text::ServerReference, Some(reference.as_bytes()));
        }
        let reason = p.reason_string.unwrap_or_default();
        let room = self.store.text_room(Text::ConnAckReason);
        let mut len = reason.len().min(room.len());
        while !reason.is_char_boundary(len) {
            len -= 1;
        }
        if let (Some(dst), Some(src)) = (room.get_mut(..len), reason.as_bytes().get(..len)) {
            dst.copy_from_slice(src);
        }
        self.store.set_text_len(Text::ConnAckReason, len);
        None
    }

    /// A DISCONNECT from the broker: its Server Reference may redirect the session.
    pub(super) fn note_disconnect(&mut self, disconnect: &Disconnect<'_>) {
        self.note_server_reference(disconnect.reason, disconnect.properties.server_reference);
    }

    /// What the broker's latest successful CONNACK announced; `None` before the first one. Kept after the
    /// connection ends, until the next CONNACK.
    pub fn connack_info(&self) -> Option<ConnAckInfo<'_>> {
        if !self.announced.connected {
            return None;
        }
        let text = |slot| {
            self.store
                .text(slot)
                .and_then(|t| core::str::from_utf8(t).ok())
        };
        let s = &self.server;
        Some(ConnAckInfo {
            session_present: self.announced.session_present,
            assigned_client_id: text(Text::AssignedClientId).or_else(|| self.assigned_client_id()),
            server_keep_alive: self.announced.server_keep_alive,
            keep_alive: self.keep_alive,
            session_expiry_interval: self.announced.session_expiry_interval,
            receive_maximum: s.receive_maximum,
            maximum_packet_size: (s.max_packet_size != u32::MAX).then_some(s.max_packet_size),
            topic_alias_maximum: s.topic_alias_maximum,
            maximum_qos: s.max_qos,
            retain_available: s.retain_available,
            wildcard_subscription_available: s.wildcards_available,
            subscription_identifiers_available: s.subscription_ids_available,
            shared_subscription_available: s.shared_available,
            response_information: text(Text::ResponseInformation),
            server_reference: self.server_reference(),
            reason_string: text(Text::ConnAckReason),
        })
    }

    /// The latest Reason String the broker sent (5.0), with the packet and reason code it came with: any packet
    /// that carries one (CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, DISCONNECT, AUTH). Kept until
    /// the next one.
    pub fn last_reason(&self) -> Option<Reason<'_>> {
        let (packet, code) = self.announced.last_reason?;
        Some(Reason {
            packet,
            code,
            reason_string: self.last_reason_string()?,
        })
    }

    /// Disconnects gracefully as [`disconnect_within`](Self::disconnect_within) does, with this DISCONNECT:
    /// a reason code (Normal disconnection, or Disconnect with Will Message `0x04` to have the broker publish the
    /// will) and, in 5.0, properties (Session Expiry Interval, Reason String, User Properties). The packet is kept
    /// in the store (a text slot, [`Config::text_len`](crate::Config::text_len)) until it is sent.
    ///
    /// # Errors
    ///
    /// [`EncodeError::BufferTooSmall`] when the packet does not fit the slot, [`EncodeError::NotInProtocolVersion`]
    /// for a reason code or properties on a 3.1.1 connection; nothing changed then (call `disconnect_within`).
    ///
    /// # Spec
    ///
    /// `[MQTT-3.14.2-2]`: a Session Expiry Interval set in DISCONNECT when CONNECT had none (zero) is a protocol
    /// error; the broker may close with `0x82`. The session sends what it is given.
    pub fn disconnect_with(
        &mut self,
        disconnect: &Disconnect<'_>,
        timeout: Duration,
        now: Instant,
    ) -> Result<(), EncodeError> {
        let packet = Packet::Disconnect(Disconnect {
            properties: DisconnectProperties {
                // The client must not send one. `[MQTT-3.14.2-3]`
                server_reference: None,
                ..disconnect.properties
            },
            ..*disconnect
        });
        let room = self.store.text_room(Text::Farewell);
        let len = packet.encode(self.version, room)?;
        self.store.set_text_len(Text::Farewell, len);
        self.announced.farewell = true;
        self.disconnect_within(timeout, now);
        Ok(())
    }

    /// The wait of a graceful disconnect, [`Config::disconnect_timeout`](crate::Config::disconnect_timeout).
    pub fn disconnect_timeout(&self) -> Duration {
        self.settings.disconnect_timeout
    }

    /// How long a binding goes on writing what the session wrote before it closed the transport (its DISCONNECT)
    /// when the broker takes none of it: the ping timeout, as a broker that takes nothing for that long is as
    /// good as gone; past it, the binding closes the transport without the rest. Zero when the session itself
    /// closed the transport because its DISCONNECT could not even be written within the ping timeout (what is
    /// staged then is not worth a wait).
    pub fn close_write_timeout(&self) -> Duration {
        match self.write_stalled {
            true => Duration::ZERO,
            false => self.ping_timeout(),
        }
    }

    /// Whether the transport the session just closed carries acknowledgements the broker must get (released
    /// before a [`reconnect`](Self::reconnect)): the binding writes what it staged, for at most
    /// [`close_write_timeout`](Self::close_write_timeout), before it opens the next transport. Otherwise a new
    /// transport replaces the closing one at once. Holds until the next transport's outcome is handled.
    #[must_use]
    pub fn reopens_after_close_write(&self) -> bool {
        self.reopen_after_write
    }

    /// The DISCONNECT is due: it must be written within the ping timeout, or the session closes the transport
    /// without it (`handle_timeout`).
    pub(super) fn arm_disconnect_write(&mut self, now: Instant) {
        self.set_timer(Timer::Disconnect, Some(now + self.ping_timeout()));
    }

    /// Writes the application's DISCONNECT given to [`disconnect_with`](Self::disconnect_with), if there is one
    /// and it fits `buf`; `None` to write a plain one.
    pub(super) fn write_farewell(&mut self, buf: &mut [u8]) -> Option<usize> {
        if !core::mem::take(&mut self.announced.farewell) || self.version != ProtocolVersion::V5 {
            return None;
        }
        let packet = self.store.text(Text::Farewell)?;
        let dst = buf.get_mut(..packet.len())?;
        dst.copy_from_slice(packet);
        Some(packet.len())
    }
}
