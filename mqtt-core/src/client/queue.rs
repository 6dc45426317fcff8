//! [`Queue`]: a bounded queue from the runner to one consumer (a subscription, `messages()`, `states()`), usable
//! from async code (a waker) and from threads (a thread-unparking waker).

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::vec::Vec;

/// A bounded queue from one producer. Its consumer end may be shared (mqtt-blocking's `Messages` read from
/// several threads): every consumer waiting is woken by an item, as any of them may be the one to take it, and
/// one that left must not swallow the wake-up of another. The producer never blocks: a full queue refuses the item and the producer
/// decides (the runner holds the message and stops reading; a state queue drops its oldest entry).
#[derive(Debug)]
pub(crate) struct Queue<T> {
    inner: Mutex<Inner<T>>,
    capacity: usize,
    /// Items queued, mirrored outside the lock for the producer's room checks.
    len: AtomicUsize,
    /// The consumer is gone, mirrored outside the lock.
    gone: AtomicBool,
}

#[derive(Debug)]
struct Inner<T> {
    items: VecDeque<T>,
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

impl<T> Queue<T> {
    /// An empty queue holding at most `capacity` items (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                items: VecDeque::new(),
                wakers: Vec::new(),
                closed: false,
                abandoned: false,
            }),
            capacity: capacity.max(1),
            len: AtomicUsize::new(0),
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
        self.gone.load(Ordering::Acquire) || self.len.load(Ordering::Acquire) < self.capacity
    }

    /// Whether the consumer is gone.
    pub(crate) fn is_abandoned(&self) -> bool {
        self.gone.load(Ordering::Acquire)
    }

    /// Appends `item`, or gives it back if the queue is full, closed or abandoned.
    pub(crate) fn push(&self, item: T) -> Result<(), T> {
        self.push_within(item, self.capacity)
    }

    /// Appends `item` even past the capacity (for a consumer that cannot read yet); gives it back if the queue
    /// is closed or abandoned.
    pub(crate) fn push_over(&self, item: T) -> Result<(), T> {
        self.push_within(item, usize::MAX)
    }

    fn push_within(&self, item: T, capacity: usize) -> Result<(), T> {
        let mut inner = self.lock();
        if inner.abandoned || inner.closed || inner.items.len() >= capacity {
            return Err(item);
        }
        inner.items.push_back(item);
        self.len.store(inner.items.len(), Ordering::Release);
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
        while inner.items.len() >= self.capacity {
            inner.items.pop_front();
        }
        inner.items.push_back(item);
        self.len.store(inner.items.len(), Ordering::Release);
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
        self.len.store(0, Ordering::Release);
        core::mem::take(&mut inner.items)
    }

    /// The next item, `Ready(None)` at the end, or `Pending` (waking `cx` when an item or the end arrives).
    pub(crate) fn poll_pop(&self, cx: &mut Context<'_>) -> Poll<Option<Popped<T>>> {
        let mut inner = self.lock();
        let was_full = inner.items.len() >= self.capacity;
        match inner.items.pop_front() {
            Some(item) => {
                self.len.store(inner.items.len(), Ordering::Release);
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
        let was_full = inner.items.len() >= self.capacity;
        match inner.items.pop_front() {
            Some(item) => {
                self.len.store(inner.items.len(), Ordering::Release);
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
