//! A fixed-capacity queue for the session's small internal queues (acknowledgements, events, transport actions).

/// A fixed-capacity FIFO.
#[derive(Debug, Clone)]
pub(super) struct Fifo<T: Copy, const N: usize> {
    items: [Option<T>; N],
    head: usize,
    len: usize,
}

impl<T: Copy, const N: usize> Fifo<T, N> {
    pub(super) const fn new() -> Self {
        Self {
            items: [None; N],
            head: 0,
            len: 0,
        }
    }

    pub(super) fn free(&self) -> usize {
        N - self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(super) fn push(&mut self, item: T) -> bool {
        if self.len == N {
            return false;
        }
        if let Some(slot) = self.items.get_mut((self.head + self.len) % N) {
            *slot = Some(item);
            self.len += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn pop(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let item = self.items.get_mut(self.head).and_then(Option::take);
        self.head = (self.head + 1) % N;
        self.len -= 1;
        item
    }

    pub(super) fn peek(&self) -> Option<T> {
        if self.len == 0 {
            None
        } else {
            self.items.get(self.head).copied().flatten()
        }
    }

    /// The newest item.
    pub(super) fn peek_back(&self) -> Option<T> {
        let last = (self.head + self.len.checked_sub(1)?) % N;
        self.items.get(last).copied().flatten()
    }

    /// Takes the newest item back.
    pub(super) fn pop_back(&mut self) -> Option<T> {
        let last = (self.head + self.len.checked_sub(1)?) % N;
        let item = self.items.get_mut(last).and_then(Option::take);
        self.len -= 1;
        item
    }

    /// Applies `f` to every item, oldest first.
    #[cfg(feature = "persist")]
    pub(super) fn for_each_mut(&mut self, mut f: impl FnMut(&mut T)) {
        for i in 0..self.len {
            if let Some(Some(item)) = self.items.get_mut((self.head + i) % N) {
                f(item);
            }
        }
    }

    pub(super) fn clear(&mut self) {
        *self = Self::new();
    }
}
