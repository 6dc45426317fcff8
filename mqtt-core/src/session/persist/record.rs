//! The records of a store: [`Change`], its encoding, and why one cannot be restored ([`RestoreError`]).

use crate::codec::{PacketId, ProtocolVersion, QoS, ReasonCode, SubscriptionOptions};
use crate::error::DecodeError;

use super::Form;
use crate::session::Ticket;
use crate::session::subscriptions::{self, Subscriptions};
/// One record of the store: a change, or a part of a snapshot. Encoded with [`encode`](Self::encode), read back
/// with [`decode`](Self::decode) (the framing and the checksums are the store's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change<'a> {
    /// The client identifier in use; `assigned` if a 5.0 broker assigned it (the configured one is empty).
    Identity {
        /// The identifier.
        client_id: &'a str,
        /// The broker assigned it.
        assigned: bool,
    },
    /// An outgoing QoS 1 or 2 message, with its state.
    Message {
        /// Its ticket (kept across a restart).
        ticket: Ticket,
        /// Its QoS (1 or 2).
        qos: QoS,
        /// `packet` is in its MQTT 5.0 form.
        v5: bool,
        /// Where it is in its flow.
        form: Form,
        /// Its packet identifier, once given.
        packet_id: Option<PacketId>,
        /// The encoded PUBLISH (its packet identifier field may be a placeholder).
        packet: &'a [u8],
    },
    /// A message's form or packet identifier changed.
    State {
        /// The message.
        ticket: Ticket,
        /// Its form now.
        form: Form,
        /// Its packet identifier now.
        packet_id: Option<PacketId>,
    },
    /// A message is finished (acknowledged, failed or reported): it leaves the store.
    Done {
        /// The message.
        ticket: Ticket,
    },
    /// An incoming QoS 2 identifier awaits PUBREL.
    Qos2Received(PacketId),
    /// An incoming QoS 2 identifier was released.
    Qos2Released(PacketId),
    /// Every incoming QoS 2 identifier was forgotten (the broker lost the session).
    Qos2Cleared,
    /// The subscriptions to keep, replacing those stored before.
    Subscriptions(SubscriptionList<'a>),
}

/// The subscriptions a [`Change::Subscriptions`] carries.
#[derive(Clone, Copy)]
pub struct SubscriptionList<'a>(List<'a>);

#[derive(Clone, Copy)]
enum List<'a> {
    /// The session's table (only the subscriptions to keep are listed).
    Table {
        table: &'a Subscriptions,
        buf: &'a [u8],
    },
    /// Decoded from a record: the entries as encoded.
    Encoded(&'a [u8]),
}

/// One subscription of a [`SubscriptionList`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SavedSubscription<'a> {
    /// The topic filter.
    pub filter: &'a str,
    /// Its options.
    pub options: SubscriptionOptions,
    /// What the broker granted (a SUBACK reason code).
    pub granted: ReasonCode,
    /// The 5.0 Subscription Identifier (0: none).
    pub subscription_id: u32,
    /// Being restored (the broker lost it): subscribed again on the next connection.
    pub pending: bool,
}

/// Bytes of one encoded subscription besides its filter.
const SUBSCRIPTION_HEADER: usize = 1 + 1 + 1 + 4 + 2;

impl<'a> SubscriptionList<'a> {
    /// The subscriptions of the session's table to keep.
    pub(crate) fn of_table(table: &'a Subscriptions, buf: &'a [u8]) -> Self {
        Self(List::Table { table, buf })
    }

    /// The subscriptions, in table order.
    pub fn iter(&self) -> impl Iterator<Item = SavedSubscription<'a>> + 'a {
        let list = self.0;
        let mut table_pos = match list {
            List::Table { table, .. } => table.first(),
            List::Encoded(_) => None,
        };
        let mut encoded = match list {
            List::Encoded(bytes) => bytes,
            List::Table { .. } => &[],
        };
        core::iter::from_fn(move || match list {
            List::Table { table, buf } => loop {
                let pos = table_pos?;
                table_pos = table.next(buf, pos);
                let (entry, filter) = table.get(buf, pos)?;
                let pending = matches!(
                    entry.state,
                    subscriptions::State::SubscribeQueued | subscriptions::State::SubscribeSent
                ) && entry.ticket == Ticket::RESUBSCRIBE.0;
                if entry.state == subscriptions::State::Active || pending {
                    return Some(SavedSubscription {
                        filter,
                        options: entry.options,
                        granted: entry.granted,
                        subscription_id: entry.subscription_id,
                        pending,
                    });
                }
            },
            List::Encoded(_) => {
                let (saved, rest) = decode_subscription(encoded).ok()??;
                encoded = rest;
                Some(saved)
            }
        })
    }

    /// A hash of the list (FNV-1a), to tell whether it changed since it was last stored.
    pub(crate) fn fingerprint(&self) -> u32 {
        let mut hash: u32 = 0x811c_9dc5;
        let mut eat = |bytes: &[u8]| {
            for &b in bytes {
                hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
            }
        };
        for s in self.iter() {
            eat(&[u8::from(s.pending), s.options.to_byte(), s.granted.0]);
            eat(&s.subscription_id.to_le_bytes());
            eat(s.filter.as_bytes());
            eat(&[0xff]);
        }
        // The empty list is 0, as a new table's stored fingerprint.
        hash ^ 0x811c_9dc5
    }

    fn encoded_len(&self) -> usize {
        2 + self
            .iter()
            .map(|s| SUBSCRIPTION_HEADER + s.filter.len())
            .sum::<usize>()
    }
}

impl PartialEq for SubscriptionList<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for SubscriptionList<'_> {}

impl core::fmt::Debug for SubscriptionList<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// One subscription at the front of `bytes`, and the rest. `Ok(None)` at the end.
fn decode_subscription(
    bytes: &[u8],
) -> Result<Option<(SavedSubscription<'_>, &[u8])>, RestoreError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let mut r = Read(bytes);
    let flags = r.u8()?;
    let options = SubscriptionOptions::from_byte(r.u8()?, ProtocolVersion::V5)
        .map_err(|_| RestoreError::Malformed("subscription options"))?;
    let granted = ReasonCode(r.u8()?);
    let subscription_id = r.u32()?;
    let len = usize::from(r.u16()?);
    let filter = core::str::from_utf8(r.take(len)?)
        .map_err(|_| RestoreError::Malformed("subscription filter"))?;
    Ok(Some((
        SavedSubscription {
            filter,
            options,
            granted,
            subscription_id,
            pending: flags & 1 != 0,
        },
        r.0,
    )))
}

/// Why a record cannot be restored. The caller (the store) says which record, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// [`Session::restore`](crate::Session::restore) after [`Session::connect`](crate::Session::connect): restore
    /// into a new session.
    #[error("records can only be restored into a session that has not started")]
    NotIdle,
    /// The record is of a kind this version does not know (written by a newer one, or damaged).
    #[error("unknown record kind {0}")]
    UnknownKind(u8),
    /// The record is damaged: a field is missing or invalid.
    #[error("malformed record: {0}")]
    Malformed(&'static str),
    /// The stored PUBLISH of a message does not decode.
    #[error("stored message does not decode: {0}")]
    Packet(#[source] DecodeError),
    /// The store belongs to another client identifier than the configured one.
    #[error("the store belongs to another client identifier")]
    OtherClient,
    /// The stored messages do not fit the session's outbox (configure more queue memory).
    #[error("the stored messages do not fit the outbox")]
    QueueFull,
    /// The stored incoming QoS 2 identifiers do not fit the table (configure a larger receive maximum).
    #[error("the stored QoS 2 identifiers do not fit the table")]
    Qos2TableFull,
    /// The stored subscriptions do not fit the subscription table (configure more subscription memory).
    #[error("the stored subscriptions do not fit the table")]
    SubscriptionsFull,
}

// ----- encoding -----

const IDENTITY: u8 = 1;
const MESSAGE: u8 = 2;
const STATE: u8 = 3;
const DONE: u8 = 4;
const QOS2_RECEIVED: u8 = 5;
const QOS2_RELEASED: u8 = 6;
const QOS2_CLEARED: u8 = 7;
const SUBSCRIPTIONS: u8 = 8;

/// A cursor over a record's bytes.
struct Read<'a>(&'a [u8]);

impl<'a> Read<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], RestoreError> {
        if self.0.len() < n {
            return Err(RestoreError::Malformed("record ends early"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, RestoreError> {
        Ok(self.take(1)?.first().copied().unwrap_or(0))
    }

    fn u16(&mut self) -> Result<u16, RestoreError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([
            b.first().copied().unwrap_or(0),
            b.get(1).copied().unwrap_or(0),
        ]))
    }

    fn u32(&mut self) -> Result<u32, RestoreError> {
        let b: [u8; 4] = self.take(4)?.try_into().unwrap_or_default();
        Ok(u32::from_le_bytes(b))
    }
}

/// A cursor writing a record; it stops (and says so) at the end of the buffer.
struct Write<'b> {
    buf: &'b mut [u8],
    at: usize,
    fits: bool,
}

impl Write<'_> {
    fn bytes(&mut self, bytes: &[u8]) {
        match self.buf.get_mut(self.at..self.at + bytes.len()) {
            Some(dst) => dst.copy_from_slice(bytes),
            None => self.fits = false,
        }
        self.at += bytes.len();
    }
}

fn form_and_id(r: &mut Read<'_>) -> Result<(Form, Option<PacketId>), RestoreError> {
    let form = Form::from_u8(r.u8()?).ok_or(RestoreError::Malformed("message form"))?;
    let packet_id = PacketId::new(r.u16()?);
    if form != Form::Queued && packet_id.is_none() {
        return Err(RestoreError::Malformed(
            "a sent message without a packet identifier",
        ));
    }
    Ok((form, packet_id))
}

impl<'a> Change<'a> {
    /// Bytes of the encoded record.
    pub fn encoded_len(&self) -> usize {
        1 + match self {
            Self::Identity { client_id, .. } => 1 + 2 + client_id.len(),
            Self::Message { packet, .. } => 4 + 1 + 1 + 1 + 2 + packet.len(),
            Self::State { .. } => 4 + 1 + 2,
            Self::Done { .. } => 4,
            Self::Qos2Received(_) | Self::Qos2Released(_) => 2,
            Self::Qos2Cleared => 0,
            Self::Subscriptions(list) => list.encoded_len(),
        }
    }

    /// Writes the record into `buf`; returns its length, or `None` if `buf` is shorter than
    /// [`encoded_len`](Self::encoded_len).
    pub fn encode(&self, buf: &mut [u8]) -> Option<usize> {
        let mut w = Write {
            buf,
            at: 0,
            fits: true,
        };
        let id = |id: &Option<PacketId>| id.map_or(0, |id| id.get()).to_le_bytes();
        match self {
            Self::Identity {
                client_id,
                assigned,
            } => {
                w.bytes(&[IDENTITY, u8::from(*assigned)]);
                w.bytes(&u16::try_from(client_id.len()).ok()?.to_le_bytes());
                w.bytes(client_id.as_bytes());
            }
            Self::Message {
                ticket,
                qos,
                v5,
                form,
                packet_id,
                packet,
            } => {
                w.bytes(&[MESSAGE]);
                w.bytes(&ticket.0.to_le_bytes());
                w.bytes(&[*qos as u8, u8::from(*v5), *form as u8]);
                w.bytes(&id(packet_id));
                w.bytes(packet);
            }
            Self::State {
                ticket,
                form,
                packet_id,
            } => {
                w.bytes(&[STATE]);
                w.bytes(&ticket.0.to_le_bytes());
                w.bytes(&[*form as u8]);
                w.bytes(&id(packet_id));
            }
            Self::Done { ticket } => {
                w.bytes(&[DONE]);
                w.bytes(&ticket.0.to_le_bytes());
            }
            Self::Qos2Received(id) => {
                w.bytes(&[QOS2_RECEIVED]);
                w.bytes(&id.get().to_le_bytes());
            }
            Self::Qos2Released(id) => {
                w.bytes(&[QOS2_RELEASED]);
                w.bytes(&id.get().to_le_bytes());
            }
            Self::Qos2Cleared => w.bytes(&[QOS2_CLEARED]),
            Self::Subscriptions(list) => {
                w.bytes(&[SUBSCRIPTIONS]);
                let count = list.iter().count();
                w.bytes(&u16::try_from(count).ok()?.to_le_bytes());
                for s in list.iter() {
                    w.bytes(&[u8::from(s.pending), s.options.to_byte(), s.granted.0]);
                    w.bytes(&s.subscription_id.to_le_bytes());
                    w.bytes(&u16::try_from(s.filter.len()).ok()?.to_le_bytes());
                    w.bytes(s.filter.as_bytes());
                }
            }
        }
        w.fits.then_some(w.at)
    }

    /// Reads a record written by [`encode`](Self::encode).
    ///
    /// # Errors
    ///
    /// [`RestoreError::UnknownKind`] or [`RestoreError::Malformed`] for bytes that are not such a record.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, RestoreError> {
        let mut r = Read(bytes);
        let change = match r.u8()? {
            IDENTITY => {
                let assigned = r.u8()? != 0;
                let len = usize::from(r.u16()?);
                let client_id = core::str::from_utf8(r.take(len)?)
                    .map_err(|_| RestoreError::Malformed("client identifier"))?;
                Self::Identity {
                    client_id,
                    assigned,
                }
            }
            MESSAGE => {
                let ticket = Ticket(r.u32()?);
                let Ok(qos @ (QoS::AtLeastOnce | QoS::ExactlyOnce)) = QoS::from_u8(r.u8()?) else {
                    return Err(RestoreError::Malformed("message QoS"));
                };
                let v5 = r.u8()? != 0;
                let (form, packet_id) = form_and_id(&mut r)?;
                let packet = core::mem::take(&mut r.0);
                Self::Message {
                    ticket,
                    qos,
                    v5,
                    form,
                    packet_id,
                    packet,
                }
            }
            STATE => {
                let ticket = Ticket(r.u32()?);
                let (form, packet_id) = form_and_id(&mut r)?;
                Self::State {
                    ticket,
                    form,
                    packet_id,
                }
            }
            DONE => Self::Done {
                ticket: Ticket(r.u32()?),
            },
            kind @ (QOS2_RECEIVED | QOS2_RELEASED) => {
                let id = PacketId::new(r.u16()?)
                    .ok_or(RestoreError::Malformed("packet identifier 0"))?;
                match kind {
                    QOS2_RECEIVED => Self::Qos2Received(id),
                    _ => Self::Qos2Released(id),
                }
            }
            QOS2_CLEARED => Self::Qos2Cleared,
            SUBSCRIPTIONS => {
                let count = r.u16()?;
                let entries = core::mem::take(&mut r.0);
                // Every entry must read back, and their number agree.
                let mut rest = entries;
                let mut seen = 0u16;
                while let Some((_, next)) = decode_subscription(rest)? {
                    rest = next;
                    seen = seen.saturating_add(1);
                }
                if seen != count {
                    return Err(RestoreError::Malformed("subscription count"));
                }
                Self::Subscriptions(SubscriptionList(List::Encoded(entries)))
            }
            kind => return Err(RestoreError::UnknownKind(kind)),
        };
        if !r.0.is_empty() {
            return Err(RestoreError::Malformed("bytes after the record"));
        }
        Ok(change)
    }
}
