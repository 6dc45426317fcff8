//! Shared pieces of the `mqtt-*` benchmarks: a counting global allocator and the packet fixtures.
//!
//! The benchmarks themselves live in `benches/`; this library only holds what more than one of them needs, so that
//! every benchmark compares implementations on the same packets.
//!
//! This is the one crate of the workspace that contains `unsafe` code, and only because [`GlobalAlloc`] is an
//! unsafe trait: [`CountingAlloc`] forwards every call unchanged to [`System`] and adds two relaxed counters.
#![warn(missing_docs, unreachable_pub)]
#![deny(unsafe_op_in_unsafe_fn)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Topic of every PUBLISH fixture.
pub const TOPIC: &str = "sensors/room-1/temperature";

/// Payload sizes of the PUBLISH fixtures, in bytes: 64 B, 1 KiB and 64 KiB.
pub const PAYLOAD_SIZES: [usize; 3] = [64, 1024, 64 * 1024];

/// Packet identifier of every fixture that carries one.
pub const PACKET_ID: u16 = 1;

/// Client identifier of the CONNECT fixture.
pub const CLIENT_ID: &str = "bench-client-0001";

/// Keep alive of the CONNECT fixture, in seconds.
pub const KEEP_ALIVE: u16 = 60;

/// User name of the CONNECT fixture.
pub const USERNAME: &str = "bench-user";

/// Password of the CONNECT fixture. ASCII so that rumqttc, which keeps passwords as `String`, can carry it too.
pub const PASSWORD: &[u8] = b"bench-password";

/// Will topic of the CONNECT fixture.
pub const WILL_TOPIC: &str = "clients/bench-client-0001/status";

/// Will payload of the CONNECT fixture.
pub const WILL_PAYLOAD: &[u8] = b"offline";

/// Topic filters of the SUBSCRIBE fixture with their requested QoS (0, 1 or 2), one filter per QoS.
pub const SUBSCRIBE_FILTERS: [(&str, u8); 3] = [
    ("sensors/+/temperature", 0),
    ("alerts/#", 1),
    ("clients/bench-client-0001/cmd", 2),
];

/// Builds a payload of `len` bytes with a repeating, non-constant pattern.
#[must_use]
pub fn payload(len: usize) -> Vec<u8> {
    // Truncation is the point: the pattern repeats every 251 bytes (a prime, so it never lines up with a power of 2).
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Allocation counts gathered by [`CountingAlloc::count`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AllocStats {
    /// Calls to `alloc`, `alloc_zeroed` and `realloc`.
    pub allocations: u64,
    /// Bytes requested by those calls (for `realloc`, the new size).
    pub bytes: u64,
}

impl AllocStats {
    /// Averages the counts over `ops` operations, as `(allocations per op, bytes per op)`.
    ///
    /// # Panics
    ///
    /// Panics if `ops` is 0.
    #[must_use]
    pub fn per_op(self, ops: u64) -> (f64, f64) {
        assert!(ops > 0, "cannot average over zero operations");
        // Precision loss above 2^53 does not matter for a report.
        (
            self.allocations as f64 / ops as f64,
            self.bytes as f64 / ops as f64,
        )
    }
}

/// A [`GlobalAlloc`] over [`System`] that counts allocations while [`count`](Self::count) runs.
///
/// Outside `count` the only extra work is one relaxed load of a flag per allocation, so a binary can register it as
/// `#[global_allocator]` and still time code that allocates without the counters slowing it down. The counters are
/// process-wide: allocations made by other threads while `count` runs are counted too, so count on a quiet process.
///
/// ```
/// use benches::CountingAlloc;
///
/// #[global_allocator]
/// static ALLOC: CountingAlloc = CountingAlloc::new();
///
/// fn main() {
///     let (v, stats) = ALLOC.count(|| vec![1u8; 16]);
///     assert_eq!(v.len(), 16);
///     assert_eq!(stats.allocations, 1);
/// }
/// ```
#[derive(Debug)]
pub struct CountingAlloc {
    enabled: AtomicBool,
    allocations: AtomicU64,
    bytes: AtomicU64,
}

impl CountingAlloc {
    /// Creates an allocator with counting switched off.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            enabled: AtomicBool::new(false),
            allocations: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    /// Runs `f` and returns its result with the allocations made while it ran.
    ///
    /// Return (or [`black_box`](std::hint::black_box)) whatever `f` builds: the optimiser may remove an allocation
    /// whose result is never used, and then it is not counted.
    ///
    /// # Panics
    ///
    /// Panics if called again from inside `f`.
    pub fn count<R>(&self, f: impl FnOnce() -> R) -> (R, AllocStats) {
        self.allocations.store(0, Ordering::Relaxed);
        self.bytes.store(0, Ordering::Relaxed);
        let was_enabled = self.enabled.swap(true, Ordering::SeqCst);
        assert!(!was_enabled, "CountingAlloc::count does not nest");
        let result = f();
        self.enabled.store(false, Ordering::SeqCst);
        let stats = AllocStats {
            allocations: self.allocations.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
        };
        (result, stats)
    }

    fn record(&self, size: usize) {
        if self.enabled.load(Ordering::Relaxed) {
            self.allocations.fetch_add(1, Ordering::Relaxed);
            self.bytes.fetch_add(size as u64, Ordering::Relaxed);
        }
    }
}

impl Default for CountingAlloc {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the `GlobalAlloc` contract; the
// counting touches only atomics, never allocates, and cannot unwind.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.record(layout.size());
        // SAFETY: the caller upholds `alloc`'s contract (non-zero size), which is `System::alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.record(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, hence from `System`, with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.record(new_size);
        // SAFETY: `ptr` came from `System` with `layout`, and the caller upholds `realloc`'s contract for `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
