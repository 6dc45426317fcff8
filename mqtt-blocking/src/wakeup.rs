//! The event loop's wake-up descriptor, polled beside the connection: handles and the connecting thread write to it,
//! the loop drains it. An eventfd where the system has one (Linux, Android, FreeBSD, illumos: one descriptor); a
//! pair of Unix datagram sockets elsewhere (two).
//!
//! Only a loop that is blocked, or about to block, in `poll(2)` is written to: a wake-up while it works (the
//! acknowledgements its own callbacks release, commands while it is busy) is a flag it looks at before it blocks
//! again, and costs no system call on either side.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::task::Wake;

#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "illumos"
))]
mod imp {
    use std::io;
    use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

    use rustix::event::{EventfdFlags, eventfd};
    use rustix::io::Errno;

    /// An eventfd: a counter that is readable while not zero.
    pub(super) struct Imp(OwnedFd);

    impl Imp {
        pub(super) fn new() -> io::Result<Self> {
            Ok(Self(eventfd(
                0,
                EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK,
            )?))
        }

        pub(super) fn wake(&self) {
            // `AGAIN` only when the counter is about to overflow: it is readable then anyway.
            while rustix::io::write(&self.0, &1_u64.to_ne_bytes()) == Err(Errno::INTR) {}
        }

        pub(super) fn drain(&self) {
            // One read takes the whole count back to zero; `AGAIN` when it was zero already.
            let mut count = [0; 8];
            while rustix::io::read(&self.0, &mut count) == Err(Errno::INTR) {}
        }

        pub(super) fn fd(&self) -> BorrowedFd<'_> {
            self.0.as_fd()
        }
    }
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "illumos"
)))]
mod imp {
    use std::io;
    use std::os::fd::{AsFd, BorrowedFd};
    use std::os::unix::net::UnixDatagram;

    /// A socket pair: a wake-up is a datagram on its way to the polled end.
    pub(super) struct Imp {
        polled: UnixDatagram,
        sender: UnixDatagram,
    }

    impl Imp {
        pub(super) fn new() -> io::Result<Self> {
            let (polled, sender) = UnixDatagram::pair()?;
            polled.set_nonblocking(true)?;
            sender.set_nonblocking(true)?;
            Ok(Self { polled, sender })
        }

        pub(super) fn wake(&self) {
            // A full queue is a pending wake-up already.
            while matches!(self.sender.send(&[1]), Err(e) if e.kind() == io::ErrorKind::Interrupted)
            {
            }
        }

        pub(super) fn drain(&self) {
            let mut byte = [0; 1];
            loop {
                match self.polled.recv(&mut byte) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        }

        pub(super) fn fd(&self) -> BorrowedFd<'_> {
            self.polled.as_fd()
        }
    }
}

/// Wakes an event loop blocked in `poll(2)`: [`notify`](Self::notify) from anywhere; the loop calls
/// [`sleep`](Self::sleep) before it polls the descriptor and [`awake`](Self::awake) after.
///
/// Either the loop sees a notification in `sleep`, or the notifier sees the loop asleep and makes the descriptor
/// readable: both flags are sequentially consistent, each side stores its own before it reads the other's.
pub(crate) struct Wakeup {
    descriptor: imp::Imp,
    /// A notification since the loop last looked.
    pending: AtomicBool,
    /// The loop is in `poll(2)`, or about to be: a notification must make the descriptor readable.
    sleeping: AtomicBool,
}

impl Wakeup {
    /// A wake-up descriptor, not readable yet.
    pub(crate) fn new() -> io::Result<Self> {
        Ok(Self {
            descriptor: imp::Imp::new()?,
            pending: AtomicBool::new(false),
            sleeping: AtomicBool::new(false),
        })
    }

    /// Wakes the loop, or makes sure it looks again before it blocks. Whatever the loop is to see (a command, a
    /// connection's outcome) is stored before this call.
    pub(crate) fn notify(&self) {
        self.pending.store(true, SeqCst);
        if self.sleeping.load(SeqCst) {
            self.descriptor.wake();
        }
    }

    /// The loop is about to poll the descriptor, and `drain`s it first if the last poll found it readable (here
    /// rather than on waking: the read is not between a command and its write). Whether the loop was notified since
    /// it last looked: then it must not block.
    pub(crate) fn sleep(&self, drain: bool) -> bool {
        if drain {
            // What the writes announced was seen when the loop woke up (`awake`); a late write that comes after
            // this read only makes the next poll return at once.
            self.descriptor.drain();
        }
        self.sleeping.store(true, SeqCst);
        self.pending.swap(false, SeqCst)
    }

    /// The loop is back from `poll(2)`; it looks at what changed right after this.
    pub(crate) fn awake(&self) {
        self.sleeping.store(false, SeqCst);
        // Seen now: what the notifications announced is visible to the loop's next look.
        self.pending.swap(false, SeqCst);
    }
}

impl AsFd for Wakeup {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.descriptor.fd()
    }
}

impl Wake for Wakeup {
    fn wake(self: Arc<Self>) {
        self.notify();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.notify();
    }
}
