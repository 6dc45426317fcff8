//! [`List`]: a sequence of packet items (topic filters, reason codes, user properties, subscription identifiers)
//! that is either a slice built by the application or the still-encoded bytes of a decoded packet.
//!
//! Keeping decoded lists in wire form is what makes decoding allocation-free with no fixed capacity: a SUBSCRIBE
//! with a thousand filters decodes into a `List` that points at its bytes, and iterating it parses one item at a
//! time. The bytes were validated when the packet was decoded.

use core::fmt;

use crate::codec::ReasonCode;

mod sealed {
    #[allow(unreachable_pub)]
    pub trait Sealed {}
}

/// An item that can be held by a [`List`]. Implemented by this crate's item types only.
pub trait ListItem<'a>: Copy + sealed::Sealed {
    /// Parses the next item from the front of `bytes`, advancing it; `None` when there is none left.
    ///
    /// Only called on bytes that the decoder has already validated.
    #[doc(hidden)]
    fn read_item(bytes: &mut &'a [u8]) -> Option<Self>;
}

impl sealed::Sealed for &str {}
impl sealed::Sealed for ReasonCode {}
impl sealed::Sealed for super::Subscription<'_> {}
impl sealed::Sealed for super::UserProperty<'_> {}
impl sealed::Sealed for super::SubscriptionId {}

/// A sequence of items of a packet.
///
/// Build one from a slice ([`List::new`], `From<&[T]>`); decoded packets hold one that iterates their bytes. Two
/// lists are equal when they yield equal items, whatever their form.
///
/// ```
/// use mqtt_core::codec::List;
///
/// let filters: List<'_, &str> = List::new(&["a/b", "c/#"]);
/// assert_eq!(filters.len(), 2);
/// assert_eq!(filters.iter().last(), Some("c/#"));
/// ```
#[derive(Clone, Copy)]
pub struct List<'a, T> {
    repr: Repr<'a, T>,
}

#[derive(Clone, Copy)]
enum Repr<'a, T> {
    Slice(&'a [T]),
    Wire { bytes: &'a [u8], len: usize },
    Repeat { item: T, len: usize },
}

impl<'a, T: ListItem<'a>> List<'a, T> {
    /// A list of the given items.
    pub const fn new(items: &'a [T]) -> Self {
        Self {
            repr: Repr::Slice(items),
        }
    }

    /// A list over validated wire bytes holding `len` items.
    pub(crate) const fn wire(bytes: &'a [u8], len: usize) -> Self {
        Self {
            repr: Repr::Wire { bytes, len },
        }
    }

    /// `len` times the same item (a failure code for every filter of a request).
    pub(crate) const fn repeat(item: T, len: usize) -> Self {
        Self {
            repr: Repr::Repeat { item, len },
        }
    }

    /// The number of items.
    pub const fn len(&self) -> usize {
        match self.repr {
            Repr::Slice(items) => items.len(),
            Repr::Wire { len, .. } | Repr::Repeat { len, .. } => len,
        }
    }

    /// Whether the list has no items.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The items, in order.
    pub fn iter(&self) -> ListIter<'a, T> {
        ListIter { repr: self.repr }
    }
}

impl<T> Default for List<'_, T> {
    fn default() -> Self {
        Self {
            repr: Repr::Slice(&[]),
        }
    }
}

impl<'a, T: ListItem<'a>> From<&'a [T]> for List<'a, T> {
    fn from(items: &'a [T]) -> Self {
        Self::new(items)
    }
}

impl<'a, T: ListItem<'a>, const N: usize> From<&'a [T; N]> for List<'a, T> {
    fn from(items: &'a [T; N]) -> Self {
        Self::new(items)
    }
}

impl<'a, T: ListItem<'a> + PartialEq> PartialEq for List<'a, T> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<'a, T: ListItem<'a> + Eq> Eq for List<'a, T> {}

impl<'a, T: ListItem<'a> + fmt::Debug> fmt::Debug for List<'a, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a, T: ListItem<'a>> IntoIterator for List<'a, T> {
    type Item = T;
    type IntoIter = ListIter<'a, T>;

    fn into_iter(self) -> ListIter<'a, T> {
        self.iter()
    }
}

impl<'a, T: ListItem<'a>> IntoIterator for &List<'a, T> {
    type Item = T;
    type IntoIter = ListIter<'a, T>;

    fn into_iter(self) -> ListIter<'a, T> {
        self.iter()
    }
}

/// Iterator over the items of a [`List`].
#[derive(Clone)]
pub struct ListIter<'a, T> {
    repr: Repr<'a, T>,
}

impl<'a, T: ListItem<'a>> Iterator for ListIter<'a, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        match &mut self.repr {
            Repr::Slice(items) => {
                let (first, rest) = items.split_first()?;
                *items = rest;
                Some(*first)
            }
            Repr::Wire { bytes, len } => {
                if *len == 0 {
                    return None;
                }
                let item = T::read_item(bytes);
                // Validated bytes always hold `len` items; should they not, stop rather than misreport the length.
                *len = if item.is_some() { *len - 1 } else { 0 };
                item
            }
            Repr::Repeat { item, len } => {
                *len = len.checked_sub(1)?;
                Some(*item)
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = match self.repr {
            Repr::Slice(items) => items.len(),
            Repr::Wire { len, .. } | Repr::Repeat { len, .. } => len,
        };
        (0, Some(len))
    }
}

impl<'a> ListItem<'a> for &'a str {
    fn read_item(bytes: &mut &'a [u8]) -> Option<Self> {
        let raw = read_prefixed(bytes)?;
        core::str::from_utf8(raw).ok()
    }
}

impl<'a> ListItem<'a> for ReasonCode {
    fn read_item(bytes: &mut &'a [u8]) -> Option<Self> {
        let (&first, rest) = bytes.split_first()?;
        *bytes = rest;
        Some(Self(first))
    }
}

/// Reads a two-byte length and that many bytes from the front of `bytes`.
pub(crate) fn read_prefixed<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (len, rest) = bytes.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_be_bytes(*len));
    if rest.len() < len {
        return None;
    }
    let (value, rest) = rest.split_at(len);
    *bytes = rest;
    Some(value)
}
