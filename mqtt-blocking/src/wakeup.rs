//! The event loop's wake-up descriptor, polled beside the connection: handles and the connecting thread write to it,
//! the loop drains it. An eventfd where the system has one (Linux, Android, FreeBSD, illumos: one descriptor); a
//! pair of Unix datagram sockets elsewhere (two).

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;
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

/// Wakes an event loop blocked in `poll(2)`: readable from [`notify`](Self::notify) until [`drain`](Self::drain).
pub(crate) struct Wakeup(imp::Imp);

impl Wakeup {
    /// A wake-up descriptor, not readable yet.
    pub(crate) fn new() -> io::Result<Self> {
        imp::Imp::new().map(Self)
    }

    /// Makes the descriptor readable (once is enough: the loop drains it before it looks at what changed).
    pub(crate) fn notify(&self) {
        self.0.wake();
    }

    /// Makes the descriptor not readable again.
    pub(crate) fn drain(&self) {
        self.0.drain();
    }
}

impl AsFd for Wakeup {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.fd()
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
