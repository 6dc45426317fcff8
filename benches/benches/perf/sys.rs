//! What the harness asks the kernel: the monotonic clock (shared by every process, so a publisher's and a
//! subscriber's timestamps compare), the process's CPU time and peak RSS (`getrusage`), its current RSS and thread
//! count (`/proc/self/status`), its open file descriptors (`/proc/self/fd`), and the open-file limit
//! (`setrlimit`).
//!
//! The only `unsafe` of the harness is here: libc calls that take a pointer to a local struct.

use std::io;

/// Nanoseconds of `CLOCK_MONOTONIC`: the same clock in every process of the machine.
pub(crate) fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_MONOTONIC) failed");
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(ts.tv_nsec).unwrap_or(0)
}

/// The calling process's resource usage so far.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Usage {
    /// User plus system CPU time, in nanoseconds (microsecond resolution).
    pub(crate) cpu_ns: u64,
    /// Peak resident set size, in bytes.
    pub(crate) max_rss: u64,
}

/// `getrusage(RUSAGE_SELF)`: every thread of this process.
pub(crate) fn usage() -> Usage {
    // SAFETY: rusage is plain data; all-zero is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &raw mut ru) };
    assert_eq!(rc, 0, "getrusage failed");
    let micros = |tv: libc::timeval| {
        u64::try_from(tv.tv_sec).unwrap_or(0) * 1_000_000 + u64::try_from(tv.tv_usec).unwrap_or(0)
    };
    Usage {
        cpu_ns: (micros(ru.ru_utime) + micros(ru.ru_stime)) * 1000,
        // Not ru_maxrss: a child inherits its parent's peak through fork and exec, so small clients would all
        // report the harness parent's size. VmHWM is this process's own peak.
        max_rss: status_bytes("VmHWM:"),
    }
}

/// The current resident set size in bytes (`VmRSS` of `/proc/self/status`), 0 if it cannot be read.
pub(crate) fn rss() -> u64 {
    status_bytes("VmRSS:")
}

/// A size line of `/proc/self/status`, in bytes; 0 if it cannot be read.
fn status_bytes(field: &str) -> u64 {
    status_number(field) * 1024
}

/// The number of a line of `/proc/self/status` (kB for sizes), without its unit; 0 if it cannot be read.
fn status_number(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .unwrap_or(0)
}

/// The threads of this process (`Threads:` of `/proc/self/status`), 0 if it cannot be read.
pub(crate) fn threads() -> u64 {
    status_number("Threads:")
}

/// The open file descriptors of this process: the entries of `/proc/self/fd` (the one that lists them
/// included, so compare two counts rather than read one), 0 if it cannot be read.
pub(crate) fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |entries| entries.count() as u64)
}

/// Open files the harness asks for when it may raise the hard limit: 10,000 idle connections of a client with a
/// few descriptors each (mqtt-blocking's event loop has its own poller and waker).
const WANTED_OPEN_FILES: u64 = 65_536;

/// Raises the limit of open files and returns the new soft limit. Children (mosquitto, the clients) inherit it.
/// With the privilege (root outside a container that drops it) both limits go up to [`WANTED_OPEN_FILES`], at most
/// `fs.nr_open`; otherwise the soft limit goes up to the hard one.
pub(crate) fn raise_open_files() -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let ceiling = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
        .unwrap_or(WANTED_OPEN_FILES);
    let wanted = WANTED_OPEN_FILES.min(ceiling);
    if limit.rlim_max < wanted {
        let raised = libc::rlimit {
            rlim_cur: wanted,
            rlim_max: wanted,
        };
        // SAFETY: `raised` is a valid rlimit whose soft limit does not exceed its hard limit.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const raised) } == 0 {
            return Ok(wanted);
        }
    }
    limit.rlim_cur = limit.rlim_max;
    // SAFETY: `limit` is a valid rlimit whose soft limit does not exceed its hard limit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(limit.rlim_cur)
}

/// The 1, 5 and 15 minute load averages, as `/proc/loadavg` gives them.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" / ")
        })
        .unwrap_or_else(|| "unknown".to_owned())
}
