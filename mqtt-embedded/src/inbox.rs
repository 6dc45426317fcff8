//! Per-filter routing without an allocator: the [`Inbox`].

use core::cell::RefCell;
use core::task::Waker;

use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use embassy_sync::blocking_mutex::raw::{CriticalSectionRawMutex, RawMutex};
use proto::codec::{Publish, QoS};
use proto::driver::Flow;
use proto::session::Event;

use crate::runner::{Hub, register};

/// Bytes an inbox keeps per copied message besides its topic and payload.
pub const MESSAGE_OVERHEAD: usize = 7;

/// A fixed-capacity queue of the messages of some topic filters, for a task of the application. Make it with a
/// buffer for copies (or `&mut []` to borrow every message from the receive buffer), keep it as long as the client
/// (a `static`, or a local that outlives the [`Resources`](crate::Resources)), give it its filters with
/// [`Client::subscribe_to`](crate::Client::subscribe_to), and take its messages with
/// [`Client::receive`](crate::Client::receive).
///
/// The runner matches each message's topic against the filters of every inbox with the core's matcher
/// ([`proto::topic::matches`]). An inbox whose filter matches gets the message:
///
/// - **copied** into its buffer (topic, payload, QoS, retain flag; not the 5.0 properties), if there is room: the
///   runner goes on at once, and the task receives it later from the inbox's buffer;
/// - **borrowed** from the client's receive buffer otherwise (the inbox's buffer is full, or smaller than the
///   message, or empty: an inbox over `&mut []` copies nothing): the runner holds the message
///   ([`Session::hold_message`](proto::Session::hold_message)), reads nothing more from the broker, and waits
///   until the task has received it, in place, with every 5.0 property. Zero copy, at the price of pausing the
///   client while the task takes its time (one slow inbox pauses every other, as TCP pushes back on the broker).
///
/// Either way a task receives its inbox's messages in the order they arrived. While the runner holds a message
/// for an inbox, nothing the broker sent after it is read, acknowledgements included: a task that awaits the
/// client (a [`publish`](crate::Client::publish), a [`subscribe`](crate::Client::subscribe)...) must not be the
/// only one to receive from an inbox that may be holding the runner, or it waits forever. Receive in a task of
/// its own, or alongside (`join`) what awaits the client. A message that several inboxes
/// match goes to each; one that no inbox matches goes to the runner's handler. QoS 1 and 2 messages are
/// acknowledged to the broker once every matching inbox has them (copied, or received when borrowed).
///
/// Why a closure and not a guard: a message borrowed from the receive buffer is only readable with the session
/// locked (a blocking mutex, never held across an await), and a copy in an inbox only with the inbox locked, so
/// [`receive`](crate::Client::receive) hands the message to a closure that runs under that lock. Like the
/// runner's handler, it must be short and must not call into the client or the inbox.
///
/// An inbox locks its state with a critical section (`critical-section`: the target must provide one, as
/// cortex-m's `critical-section-single-core` does), whatever the client's mutex, so that the client's resources
/// stay `Send` with [`NoopRawMutex`](crate::NoopRawMutex).
pub struct Inbox<'d> {
    inner: BlockingMutex<CriticalSectionRawMutex, RefCell<State<'d>>>,
}

struct State<'d> {
    /// The address of the hub of the client whose routing list holds this inbox (an identity, never followed).
    owner: usize,
    filters: &'d [&'d str],
    next: Option<&'d Inbox<'d>>,
    /// The message the runner holds in the receive buffer is for this inbox, which has not received it yet.
    held: bool,
    /// This inbox has the message being routed (copied, or received).
    done: bool,
    waker: Option<Waker>,
    buf: &'d mut [u8],
    start: usize,
    end: usize,
}

impl<'d> Inbox<'d> {
    /// An inbox that copies messages into `buf` while they fit (each takes its topic, its payload and
    /// [`MESSAGE_OVERHEAD`] bytes), and borrows the others from the client's receive buffer.
    pub const fn new(buf: &'d mut [u8]) -> Self {
        Self {
            inner: BlockingMutex::new(RefCell::new(State {
                owner: 0,
                filters: &[],
                next: None,
                held: false,
                done: false,
                waker: None,
                buf,
                start: 0,
                end: 0,
            })),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut State<'d>) -> R) -> R {
        self.inner.lock(|state| f(&mut state.borrow_mut()))
    }

    /// Whether this inbox is in the routing list of `hub`.
    fn belongs_to<M: RawMutex>(&self, hub: &Hub<'d, M>) -> bool {
        let owner = core::ptr::from_ref(hub) as usize;
        self.with(|state| state.owner == owner)
    }

    /// Hands the next message to `f` if there is one now: the oldest copy, or the message `hub`'s runner holds for
    /// this inbox. See [`Client::receive`](crate::Client::receive).
    pub(crate) fn take<M: RawMutex, R>(
        &self,
        hub: &Hub<'d, M>,
        f: &mut Option<impl FnOnce(Publish<'_>) -> R>,
    ) -> Option<R> {
        if let Some(result) = self.with(|state| state.pop(|message| f.take().map(|f| f(message)))) {
            // The runner may wait for room here.
            hub.wake.signal();
            return result;
        }
        if !self.belongs_to(hub) {
            return None;
        }
        let result = hub.with_session(|session| {
            if !self.with(|state| state.held) {
                return None;
            }
            if !session.has_held_message() {
                // The connection ended with the message: the broker sends it again on a resumed session.
                self.with(|state| state.held = false);
                return None;
            }
            let Some(Event::Message(message)) = session.poll_event() else {
                return None;
            };
            let result = f.take().map(|f| f(message));
            self.with(|state| {
                state.held = false;
                state.done = true;
            });
            if hub.held_elsewhere(self) {
                session.hold_message();
            }
            result
        });
        if result.is_some() {
            hub.wake.signal();
        }
        result
    }

    /// Registers the task to wake when a message arrives.
    pub(crate) fn register(&self, waker: &Waker) {
        self.with(|state| register(&mut state.waker, waker));
    }

    /// Links this inbox into `hub`'s routing list with `filters`; `false` if it is linked already.
    pub(crate) fn link<M: RawMutex>(&'d self, hub: &Hub<'d, M>, filters: &'d [&'d str]) -> bool {
        let owner = core::ptr::from_ref(hub) as usize;
        hub.routes.lock(|first| {
            let linked = self.with(|state| {
                if state.owner != 0 {
                    return false;
                }
                state.owner = owner;
                state.filters = filters;
                state.next = first.get();
                state.held = false;
                state.done = false;
                true
            });
            if linked {
                first.set(Some(self));
            }
            linked
        })
    }

    /// Takes this inbox out of its hub's routing list; returns its filters.
    pub(crate) fn unlink<M: RawMutex>(&'d self, hub: &Hub<'d, M>) -> &'d [&'d str] {
        if !self.belongs_to(hub) {
            return &[];
        }
        hub.routes.lock(|first| {
            let (next, filters) = self.with(|state| {
                state.owner = 0;
                state.held = false;
                (state.next.take(), core::mem::take(&mut state.filters))
            });
            if first.get().is_some_and(|f| core::ptr::eq(f, self)) {
                first.set(next);
                return filters;
            }
            let mut at = first.get();
            while let Some(inbox) = at {
                at = inbox.with(|state| match state.next {
                    Some(n) if core::ptr::eq(n, self) => {
                        state.next = next;
                        None
                    }
                    other => other,
                });
            }
            filters
        })
    }

    /// The filters this inbox was subscribed to, while it is linked.
    pub(crate) fn filters(&self) -> &'d [&'d str] {
        self.with(|state| state.filters)
    }

    pub(crate) fn next(&self) -> Option<&'d Self> {
        self.with(|state| state.next)
    }

    pub(crate) fn waits_for_held(&self) -> bool {
        self.with(|state| state.held)
    }

    /// The runner offers `message` (see [`Hub::route`]): copies it if this inbox's filters match and it has room,
    /// or asks the runner to hold it. Returns the next inbox.
    pub(crate) fn offer(
        &self,
        message: &Publish<'_>,
        again: bool,
        matched: &mut bool,
        flow: &mut Flow,
    ) -> Option<&'d Self> {
        self.with(|state| {
            if !again {
                state.held = false;
                state.done = false;
            }
            let ours = state
                .filters
                .iter()
                .any(|filter| proto::topic::matches(filter, message.topic));
            if ours {
                *matched = true;
                if !state.done {
                    state.done = state.push(message);
                    state.held = !state.done;
                    if state.held {
                        *flow = Flow::Hold;
                    }
                    if let Some(waker) = state.waker.take() {
                        waker.wake();
                    }
                }
            }
            state.next
        })
    }
}

impl State<'_> {
    /// Copies `message` in, if it fits: topic length (2 bytes), payload length (4), QoS and retain (1), topic,
    /// payload.
    fn push(&mut self, message: &Publish<'_>) -> bool {
        let (topic, payload) = (message.topic.as_bytes(), message.payload);
        let (Ok(topic_len), Ok(payload_len)) =
            (u16::try_from(topic.len()), u32::try_from(payload.len()))
        else {
            return false;
        };
        let len = MESSAGE_OVERHEAD + topic.len() + payload.len();
        if self.end + len > self.buf.len() && self.start > 0 {
            proto::buffer::move_within(self.buf, self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let Some(slot) = self.buf.get_mut(self.end..self.end + len) else {
            return false;
        };
        let (header, body) = slot.split_at_mut(MESSAGE_OVERHEAD);
        let (topic_at, payload_at) = body.split_at_mut(topic.len());
        let flags = message.qos as u8 | u8::from(message.retain) << 2;
        for (dst, src) in header.iter_mut().zip(
            topic_len
                .to_le_bytes()
                .into_iter()
                .chain(payload_len.to_le_bytes())
                .chain([flags]),
        ) {
            *dst = src;
        }
        topic_at.copy_from_slice(topic);
        payload_at.copy_from_slice(payload);
        self.end += len;
        true
    }

    /// Hands the oldest copied message to `f` and frees its room; `None` if there is none.
    fn pop<R>(&mut self, f: impl FnOnce(Publish<'_>) -> R) -> Option<R> {
        let stored = self.buf.get(self.start..self.end)?;
        let (header, body) = stored.split_at_checked(MESSAGE_OVERHEAD)?;
        let byte = |i: usize| header.get(i).copied().unwrap_or(0);
        let topic_len = usize::from(u16::from_le_bytes([byte(0), byte(1)]));
        let payload_len = u32::from_le_bytes([byte(2), byte(3), byte(4), byte(5)]) as usize;
        let (topic, rest) = body.split_at_checked(topic_len)?;
        let payload = rest.get(..payload_len)?;
        let message = Publish {
            topic: core::str::from_utf8(topic).unwrap_or_default(),
            payload,
            qos: match byte(6) & 3 {
                2 => QoS::ExactlyOnce,
                1 => QoS::AtLeastOnce,
                _ => QoS::AtMostOnce,
            },
            retain: byte(6) & 4 != 0,
            ..Publish::default()
        };
        let result = f(message);
        self.start += MESSAGE_OVERHEAD + topic_len + payload_len;
        if self.start >= self.end {
            self.start = 0;
            self.end = 0;
        }
        Some(result)
    }
}
