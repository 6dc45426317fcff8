//! Caller-owned memory for a [`Session`](crate::session::Session).
//!
//! A session allocates nothing: every byte it keeps (received packets, messages awaiting acknowledgement, the
//! offline queue, subscriptions) lives in the [`Buffers`] it is given. On a microcontroller these are `static`
//! arrays; with the `alloc` feature they can be heap memory that the session owns.

use core::ops::{Deref, DerefMut};

/// One region of memory: borrowed, or (with the `alloc` feature) owned, at a fixed size or growing on use.
///
/// Its `Debug` output is its length, never its bytes: a session's buffers hold the CONNECT packet (with the
/// password) and every message.
pub enum Buf<'b> {
    /// Memory the caller keeps ownership of.
    Borrowed(&'b mut [u8]),
    /// Memory the session owns.
    #[cfg(feature = "alloc")]
    Owned(alloc::boxed::Box<[u8]>),
    /// Memory the session owns and grows when it needs more, up to `max` bytes: an idle client keeps little.
    #[cfg(feature = "alloc")]
    Growable {
        /// The memory so far.
        bytes: alloc::boxed::Box<[u8]>,
        /// The most it may grow to.
        max: usize,
    },
}

impl Buf<'_> {
    /// A zero-filled owned buffer of `len` bytes.
    #[cfg(feature = "alloc")]
    pub fn owned(len: usize) -> Buf<'static> {
        Buf::Owned(alloc::vec![0u8; len].into_boxed_slice())
    }

    /// An owned buffer of `initial` zero bytes that grows on use up to `max` (see [`grow_to_fit`]).
    ///
    /// [`grow_to_fit`]: Self::grow_to_fit
    #[cfg(feature = "alloc")]
    pub fn growable(initial: usize, max: usize) -> Buf<'static> {
        Buf::Growable {
            bytes: alloc::vec![0u8; initial.min(max)].into_boxed_slice(),
            max,
        }
    }

    /// Grows an owned buffer to `len` bytes (a growable one at most to its maximum), keeping its contents (the new
    /// bytes are zero); `false` for a borrowed buffer, which cannot grow, or when it is that large already.
    #[cfg(feature = "alloc")]
    pub fn grow(&mut self, len: usize) -> bool {
        let (bytes, len) = match self {
            Self::Owned(bytes) => (bytes, len),
            Self::Growable { bytes, max } => (bytes, len.min(*max)),
            Self::Borrowed(_) => return false,
        };
        if bytes.len() >= len {
            return false;
        }
        let mut grown = core::mem::take(bytes).into_vec();
        grown.resize(len, 0);
        *bytes = grown.into_boxed_slice();
        true
    }
}

impl Buf<'_> {
    /// The most this buffer can hold: its length, or a growable buffer's maximum.
    pub fn capacity(&self) -> usize {
        match self {
            #[cfg(feature = "alloc")]
            Self::Growable { max, .. } => *max,
            _ => self.len(),
        }
    }

    /// Makes a growable buffer at least `needed` bytes long (doubling, up to its maximum): whether it is now. A
    /// buffer of fixed size only says whether it is.
    pub fn grow_to_fit(&mut self, needed: usize) -> bool {
        #[cfg(feature = "alloc")]
        if let Self::Growable { bytes, max } = self
            && bytes.len() < needed
            && needed <= *max
        {
            let len = bytes.len().saturating_mul(2).max(needed).min(*max);
            let mut grown = core::mem::take(bytes).into_vec();
            grown.resize(len, 0);
            *bytes = grown.into_boxed_slice();
        }
        needed <= self.len()
    }
}

impl core::fmt::Debug for Buf<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Buf({} bytes)", self.len())
    }
}

impl Deref for Buf<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Self::Borrowed(b) => b,
            #[cfg(feature = "alloc")]
            Self::Owned(b) | Self::Growable { bytes: b, .. } => b,
        }
    }
}

impl DerefMut for Buf<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        match self {
            Self::Borrowed(b) => b,
            #[cfg(feature = "alloc")]
            Self::Owned(b) | Self::Growable { bytes: b, .. } => b,
        }
    }
}

impl<'b> From<&'b mut [u8]> for Buf<'b> {
    fn from(b: &'b mut [u8]) -> Self {
        Self::Borrowed(b)
    }
}

impl<'b, const N: usize> From<&'b mut [u8; N]> for Buf<'b> {
    fn from(b: &'b mut [u8; N]) -> Self {
        Self::Borrowed(b)
    }
}

/// The memory of a session.
///
/// Sizing:
/// - `rx` holds received bytes until they are processed; it must fit the largest packet the broker may send. Its
///   length is advertised to a 5.0 broker as the Maximum Packet Size (unless the configuration says less).
/// - `store` holds the CONNECT packet (re-sent on every reconnect), the identifiers of incoming QoS 2 messages
///   awaiting PUBREL (2 bytes each up to a Receive Maximum of 4,096, else an 8 KiB bitmap), with
///   [`Config::manual_ack`](crate::Config::manual_ack) the record of incoming QoS 1 and 2 messages awaiting the
///   application's acknowledgement (3 bytes × Receive Maximum), the topic alias tables, and, taking the rest,
///   every outgoing message until it is acknowledged: the inflight window and the offline queue. A full store
///   makes `publish` fail with a queue-full error; a store too small for the fixed parts is a
///   [`ConfigError::StoreTooSmall`](crate::ConfigError::StoreTooSmall) that names the size needed.
/// - `subscriptions` holds the subscriptions the session re-establishes when a broker has lost them, and the
///   SUBSCRIBE and UNSUBSCRIBE requests awaiting acknowledgement: about 12 bytes plus the filter per entry.
#[derive(Debug)]
pub struct Buffers<'b> {
    /// Received bytes.
    pub rx: Buf<'b>,
    /// CONNECT, incoming QoS 1/2 state, topic aliases and outgoing messages.
    pub store: Buf<'b>,
    /// Subscription table.
    pub subscriptions: Buf<'b>,
}

impl Buffers<'_> {
    /// Owned buffers of the given sizes.
    #[cfg(feature = "alloc")]
    pub fn owned(rx: usize, store: usize, subscriptions: usize) -> Buffers<'static> {
        Buffers {
            rx: Buf::owned(rx),
            store: Buf::owned(store),
            subscriptions: Buf::owned(subscriptions),
        }
    }
}
/// `buf.copy_within(src, dest)`, in pieces that do not overlap: each is a `memcpy`, so that a firmware does not
/// carry `memmove` (1.6 KB on a Cortex-M3) for the few places that slide bytes within a buffer. Ranges out of
/// `buf` do nothing.
pub fn move_within(buf: &mut [u8], src: core::ops::Range<usize>, dest: usize) {
    let len = src.end.saturating_sub(src.start);
    if src.start == dest || len == 0 || src.end > buf.len() || dest.saturating_add(len) > buf.len()
    {
        return;
    }
    // Pieces no longer than the distance moved never overlap their destination.
    let step = src.start.abs_diff(dest).min(len);
    let mut done = 0;
    while done < len {
        let n = step.min(len - done);
        // Downwards from the front, upwards from the back, so that no piece overwrites bytes still to move.
        let offset = if dest < src.start {
            done
        } else {
            len - done - n
        };
        let (from, to) = (src.start + offset, dest + offset);
        let (low, high) = buf.split_at_mut(from.max(to));
        let (dst, src) = match to < from {
            true => (low.get_mut(to..to + n), high.get(..n)),
            false => (high.get_mut(..n), low.get(from..from + n)),
        };
        if let (Some(dst), Some(src)) = (dst, src) {
            dst.copy_from_slice(src);
        }
        done += n;
    }
}

#[cfg(test)]
mod tests {
    use super::move_within;

    #[test]
    fn move_within_matches_copy_within_in_both_directions_and_every_overlap() {
        let original: [u8; 16] = core::array::from_fn(|i| i as u8);
        for start in 0..16 {
            for end in start..=16 {
                for dest in 0..=16 - (end - start) {
                    let (mut ours, mut core) = (original, original);
                    move_within(&mut ours, start..end, dest);
                    core.copy_within(start..end, dest);
                    assert_eq!(ours, core, "{start}..{end} to {dest}");
                }
            }
        }
        // Out of range: nothing moves, nothing panics.
        let mut buf = original;
        move_within(&mut buf, 10..20, 0);
        move_within(&mut buf, 0..4, 14);
        assert_eq!(buf, original);
    }
}
