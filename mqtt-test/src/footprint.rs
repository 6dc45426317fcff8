//! What this process holds, from `/proc/self` (Linux): open file descriptors, threads and resident memory. For
//! tests that check a client gives back everything it took (alone in their test binary, one at a time).

use std::fs;

/// Open file descriptors of this process.
///
/// # Panics
///
/// If `/proc/self/fd` cannot be read (not Linux).
#[must_use]
pub fn descriptors() -> usize {
    fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd (Linux)")
        .count()
}

/// Threads of this process.
///
/// # Panics
///
/// If `/proc/self/task` cannot be read (not Linux).
#[must_use]
pub fn threads() -> usize {
    fs::read_dir("/proc/self/task")
        .expect("/proc/self/task (Linux)")
        .count()
}

/// Resident memory of this process (`VmRSS`), KiB.
///
/// # Panics
///
/// If `/proc/self/status` cannot be read or has no `VmRSS` line (not Linux).
#[must_use]
pub fn rss_kib() -> u64 {
    let status = fs::read_to_string("/proc/self/status").expect("/proc/self/status (Linux)");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .expect("a VmRSS line in /proc/self/status")
}

/// Descriptors, threads and resident memory at one point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// Open file descriptors.
    pub descriptors: usize,
    /// Threads.
    pub threads: usize,
    /// Resident memory, KiB.
    pub rss_kib: u64,
}

impl Footprint {
    /// This process's footprint now.
    #[must_use]
    pub fn now() -> Self {
        Self {
            descriptors: descriptors(),
            threads: threads(),
            rss_kib: rss_kib(),
        }
    }

    /// Asserts that the process holds no more descriptors or threads than at `self`, and that its resident
    /// memory grew by at most `rss_slack_kib` (allocator caches, lazily grown tables); `after` says after what.
    ///
    /// # Panics
    ///
    /// When it holds more.
    pub fn assert_returned(&self, rss_slack_kib: u64, after: &str) {
        let now = Self::now();
        assert_eq!(
            now.descriptors, self.descriptors,
            "descriptors after {after}"
        );
        assert_eq!(now.threads, self.threads, "threads after {after}");
        let grown = now.rss_kib.saturating_sub(self.rss_kib);
        assert!(
            grown <= rss_slack_kib,
            "the resident set grew by {grown} KiB after {after}"
        );
    }
}
