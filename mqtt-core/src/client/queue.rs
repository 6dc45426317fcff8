//! [`Queue`]: a bounded queue from the runner to one consumer (a subscription, `messages()`, `states()`), usable
//! from async code (a waker) and from threads (a thread-unparking waker). It is bounded by its number of items
//! and by their memory ([`Weigh`]).

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::vec::Vec;

/// What an item of a [`Queue`] holds in memory, in bytes, for the queue's byte bound.
pub(crate) trait Weigh {
    /// Bytes this item holds (its heap data and its own size).
    fn weight(&self) -> usize;
}

/// A bounded queue from one producer. Its consumer end may be shared (mqtt-blocking's `Messages` read from
/// several threads): every consumer waiting is woken by an item, as any of them may be the one to take it, and
/// one that left must not swallow the wake-up of another. The producer never blocks: a full queue refuses the item and the producer
/// decides (the runner holds the message and stops reading; a state queue drops its oldest entry).
#[derive(Debug)]
pub(crate) struct Queue<T> {
    inner: Mutex<Inner<T>>,
    capacity: usize,
    /// Bytes the queue holds at most ([`Weigh`]): past them it has no room, though one item always fits.
    byte_capacity: usize,
    /// Items queued, mirrored outside the lock for the producer's room checks.
    len: AtomicUsize,
    /// Bytes queued, mirrored outside the lock.
    bytes: AtomicUsize,
    /// The consumer is gone, mirrored outside the lock.
    gone: AtomicBool,
}

#[derive(Debug)]
struct Inner<T> {
    items: VecDeque<T>,
    /// What `items` weigh together.
    bytes: usize,
    /// The consumers waiting (one per task or thread).
    wakers: Vec<Waker>,
    /// No more items will come: the consumer ends after the last.
    closed: bool,
    /// The consumer is gone: nothing will take items any more.
    abandoned: bool,
}

/// What the consumer got.
pub(crate) struct Popped<T> {
    pub(crate) item: T,
    /// The queue was full before this item was taken: a producer may be waiting for room.
    pub(crate) was_full: bool,
}

impl<T: Weigh> Queue<T> {
    /// An empty queue holding at most `capacity` items (at least one), whatever they weigh.
    pub(crate) fn new(capacity: usize) -> Self {
        Self::bounded(capacity, usize::MAX)
    }

    /// An empty queue holding at most `capacity` items (at least one) and, once it holds an item, no more
    /// after it weighs `byte_capacity` bytes or more: it may pass that by one item (so one item larger than the
    /// bound still goes through), never by more.
    pub(crate) fn bounded(capacity: usize, byte_capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                items: VecDeque::new(),
                bytes: 0,
                wakers: Vec::new(),
                closed: false,
                abandoned: false,
            }),
            capacity: capacity.max(1),
            byte_capacity,
            len: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            gone: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        // No code outside this module runs under the lock: a poisoned one still holds consistent data.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether one more item fits (a queue whose consumer is gone has room: it takes nothing). Without the lock:
    /// the answer holds for the one producer, as only the consumer changes it meanwhile, by taking.
    pub(crate) fn has_room(&self) -> bool {
        self.gone.load(Ordering::Acquire)
            || (self.len.load(Ordering::Acquire) < self.capacity
                && self.bytes.load(Ordering::Acquire) < self.byte_capacity)
    }

    /// Whether one more item fits in a queue allowed `extra` items past its capacity and twice its bytes (the
    /// room the runner gives while the broker owes the application an answer; see the
    /// [delivery rules](crate::client#delivery-rules)). Without the lock, as [`has_room`](Self::has_room).
    pub(crate) fn has_room_beyond(&self, extra: usize) -> bool {
        self.gone.load(Ordering::Acquire)
            || (self.len.load(Ordering::Acquire) < self.capacity.saturating_add(extra)
                && self.bytes.load(Ordering::Acquire) < self.byte_capacity.saturating_mul(2))
    }

    /// Whether `inner` is at its bound (by count or by bytes).
    fn is_full(&self, inner: &Inner<T>) -> bool {
        inner.items.len() >= self.capacity || inner.bytes >= self.byte_capacity
    }

    /// Mirrors `inner`'s size outside the lock.
    fn mirror(&self, inner: &Inner<T>) {
        self.len.store(inner.items.len(), Ordering::Release);
        self.bytes.store(inner.bytes, Ordering::Release);
    }

    /// Takes the oldest item, keeping the byte count.
    fn pop_front(inner: &mut Inner<T>) -> Option<T> {
        let item = inner.items.pop_front()?;
        inner.bytes = inner.bytes.saturating_sub(item.weight());
        Some(item)
    }

    /// Whether the consumer is gone.
    pub(crate) fn is_abandoned(&self) -> bool {
        self.gone.load(Ordering::Acquire)
    }

    /// Appends `item`, or gives it back if the queue is full, closed or abandoned.
    pub(crate) fn push(&self, item: T) -> Result<(), T> {
        self.push_within(item, true)
    }

    /// Appends `item` even past the capacity (for a consumer that cannot read yet); gives it back if the queue
    /// is closed or abandoned.
    pub(crate) fn push_over(&self, item: T) -> Result<(), T> {
        self.push_within(item, false)
    }

    fn push_within(&self, item: T, bounded: bool) -> Result<(), T> {
        let mut inner = self.lock();
        if inner.abandoned || inner.closed || (bounded && self.is_full(&inner)) {
            return Err(item);
        }
        inner.bytes = inner.bytes.saturating_add(item.weight());
        inner.items.push_back(item);
        self.mirror(&inner);
        let wakers = core::mem::take(&mut inner.wakers);
        drop(inner);
        wakers.into_iter().for_each(Waker::wake);
        Ok(())
    }

    /// Appends `item`, making room by dropping the oldest items if the queue is full. For notifications where the
    /// latest matters most (connection states).
    pub(crate) fn push_dropping_oldest(&self, item: T) {
        let mut inner = self.lock();
        if inner.abandoned || inner.closed {
            return;
        }
        while !inner.items.is_empty() && self.is_full(&inner) {
            Self::pop_front(&mut inner);
        }
        inner.bytes = inner.bytes.saturating_add(item.weight());
        inner.items.push_back(item);
        self.mirror(&inner);
        let wakers = core::mem::take(&mut inner.wakers);
        drop(inner);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Ends the queue: the consumer gets what is queued, then the end.
    pub(crate) fn close(&self) {
        let mut inner = self.lock();
        inner.closed = true;
        let wakers = core::mem::take(&mut inner.wakers);
        drop(inner);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// The consumer is gone: returns what it never took.
    pub(crate) fn abandon(&self) -> VecDeque<T> {
        let mut inner = self.lock();
        inner.abandoned = true;
        inner.wakers.clear();
        self.gone.store(true, Ordering::Release);
        inner.bytes = 0;
        let items = core::mem::take(&mut inner.items);
        self.mirror(&inner);
        items
    }

    /// The next item, `Ready(None)` at the end, or `Pending` (waking `cx` when an item or the end arrives).
    pub(crate) fn poll_pop(&self, cx: &mut Context<'_>) -> Poll<Option<Popped<T>>> {
        let mut inner = self.lock();
        let was_full = self.is_full(&inner);
        match Self::pop_front(&mut inner) {
            Some(item) => {
                self.mirror(&inner);
                Poll::Ready(Some(Popped { item, was_full }))
            }
            None if inner.closed => Poll::Ready(None),
            None => {
                if !inner.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    inner.wakers.push(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }

    /// The next item without waiting: `Ok(None)` when empty, `Err(())` at the end.
    #[cfg(test)]
    pub(crate) fn try_pop(&self) -> Result<Option<Popped<T>>, ()> {
        let mut inner = self.lock();
        let was_full = self.is_full(&inner);
        match Self::pop_front(&mut inner) {
            Some(item) => {
                self.mirror(&inner);
                Ok(Some(Popped { item, was_full }))
            }
            None if inner.closed => Err(()),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Weigh for i32 {
        fn weight(&self) -> usize {
            0
        }
    }

    impl Weigh for char {
        fn weight(&self) -> usize {
            0
        }
    }

    /// An item weighing its value in bytes.
    #[derive(Debug, PartialEq)]
    struct Blob(usize);

    impl Weigh for Blob {
        fn weight(&self) -> usize {
            self.0
        }
    }

    #[test]
    fn a_queue_is_full_at_its_bytes_before_its_count_and_one_item_always_fits() {
        let queue = Queue::bounded(100, 1000);
        queue.push(Blob(400)).unwrap();
        queue.push(Blob(400)).unwrap();
        assert!(queue.has_room(), "800 of 1000 bytes");
        // The item that passes the bound goes in; the next waits.
        queue.push(Blob(400)).unwrap();
        assert!(!queue.has_room());
        assert_eq!(queue.push(Blob(1)), Err(Blob(1)));
        let first = queue.try_pop().unwrap().unwrap();
        assert!(first.was_full);
        assert!(queue.has_room(), "800 bytes again");
        while queue.try_pop().unwrap().is_some() {}
        // An empty queue takes an item larger than its bound.
        queue.push(Blob(5000)).unwrap();
        assert!(!queue.has_room());
        assert_eq!(queue.try_pop().unwrap().unwrap().item, Blob(5000));
        assert!(queue.has_room());
        // What an abandoned queue held no longer counts.
        queue.push(Blob(5000)).unwrap();
        assert_eq!(queue.abandon().len(), 1);
        assert!(queue.has_room());
    }

    #[test]
    fn a_full_queue_refuses_and_reports_it_was_full_when_drained() {
        let queue = Queue::new(2);
        assert!(queue.push(1).is_ok());
        assert!(queue.push(2).is_ok());
        assert!(!queue.has_room());
        assert_eq!(queue.push(3), Err(3));
        let first = queue.try_pop().unwrap().unwrap();
        assert_eq!((first.item, first.was_full), (1, true));
        let second = queue.try_pop().unwrap().unwrap();
        assert_eq!((second.item, second.was_full), (2, false));
        assert!(queue.try_pop().unwrap().is_none());
        queue.close();
        assert!(queue.try_pop().is_err());
    }

    #[test]
    fn an_abandoned_queue_gives_back_what_was_not_taken_and_takes_nothing_more() {
        let queue = Queue::new(4);
        queue.push('a').unwrap();
        queue.push('b').unwrap();
        assert_eq!(queue.abandon(), ['a', 'b']);
        assert!(queue.has_room());
        assert_eq!(queue.push('c'), Err('c'));
    }

    /// Counts its wake-ups.
    struct Count(AtomicUsize);

    impl std::task::Wake for Count {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, Ordering::AcqRel);
        }
    }

    #[test]
    fn every_waiting_consumer_is_woken_so_one_that_left_does_not_strand_another() {
        use std::sync::Arc;
        let queue = Queue::new(4);
        let first = Arc::new(Count(AtomicUsize::new(0)));
        let second = Arc::new(Count(AtomicUsize::new(0)));
        for count in [&first, &second] {
            let waker = Waker::from(count.clone());
            assert!(
                queue
                    .poll_pop(&mut Context::from_waker(&waker))
                    .is_pending()
            );
        }
        queue.push(1).unwrap();
        // Either consumer may take it; the other (say the first, whose thread goes on waiting) must look again.
        assert_eq!(first.0.load(Ordering::Acquire), 1);
        assert_eq!(second.0.load(Ordering::Acquire), 1);
        // The same consumer polling again is registered once.
        let waker = Waker::from(first.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(queue.poll_pop(&mut cx).is_ready());
        assert!(queue.poll_pop(&mut cx).is_pending());
        assert!(queue.poll_pop(&mut cx).is_pending());
        queue.close();
        assert_eq!(first.0.load(Ordering::Acquire), 2);
        assert_eq!(second.0.load(Ordering::Acquire), 1);
    }

    #[test]
    fn dropping_the_oldest_keeps_the_latest_states() {
        let queue = Queue::new(2);
        for state in 1..=5 {
            queue.push_dropping_oldest(state);
        }
        assert_eq!(queue.try_pop().unwrap().unwrap().item, 4);
        assert_eq!(queue.try_pop().unwrap().unwrap().item, 5);
    }
}
