//! An in-memory connection to a [`FakeBroker`] for the async [`Driver`](mqtt_core::driver::Driver) and the
//! bindings built on it: what the client writes goes to the broker at once, what the broker answers is read back,
//! and a read with nothing to read stays pending (a test's virtual clock decides what happens next). Shared by the
//! driver's tests in `mqtt-core` and the runner's tests in `mqtt-embedded`.

use core::future::poll_fn;
use core::task::Poll;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use mqtt_core::io::Connect;

use crate::FakeBroker;

/// One connection to the shared broker. The end of the stream comes after the last bytes the broker sent.
pub struct MemoryStream {
    broker: Rc<RefCell<FakeBroker>>,
    pending: VecDeque<u8>,
    open: bool,
}

impl embedded_io_async::ErrorType for MemoryStream {
    type Error = embedded_io_async::ErrorKind;
}

impl embedded_io_async::Read for MemoryStream {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        poll_fn(|_| {
            while let Some(bytes) = self.broker.borrow_mut().poll_transmit() {
                self.pending.extend(bytes);
            }
            if self.pending.is_empty() && self.broker.borrow_mut().poll_close() {
                self.open = false;
            }
            if self.pending.is_empty() {
                return if self.open {
                    Poll::Pending
                } else {
                    Poll::Ready(Ok(0))
                };
            }
            let n = buf.len().min(self.pending.len());
            for (slot, byte) in buf.iter_mut().zip(self.pending.drain(..n)) {
                *slot = byte;
            }
            Poll::Ready(Ok(n))
        })
        .await
    }
}

impl embedded_io_async::Write for MemoryStream {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        if !self.open {
            return Err(embedded_io_async::ErrorKind::BrokenPipe);
        }
        self.broker.borrow_mut().handle_bytes(buf);
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl Drop for MemoryStream {
    fn drop(&mut self) {
        if self.open {
            self.broker.borrow_mut().handle_connection_closed();
        }
    }
}

/// Opens connections to the broker, refusing the first `fail_first` attempts.
pub struct MemoryConnector {
    /// The broker every connection goes to.
    pub broker: Rc<RefCell<FakeBroker>>,
    /// Attempts refused before the first that connects.
    pub fail_first: u32,
    /// Attempts so far, shared with the test.
    pub attempts: Rc<Cell<u32>>,
}

impl Connect for MemoryConnector {
    type Io = MemoryStream;
    type Error = &'static str;

    async fn connect(&mut self) -> Result<MemoryStream, &'static str> {
        self.attempts.set(self.attempts.get() + 1);
        if self.attempts.get() <= self.fail_first {
            return Err("connection refused");
        }
        self.broker.borrow_mut().handle_connection_opened();
        Ok(MemoryStream {
            broker: self.broker.clone(),
            pending: VecDeque::new(),
            open: true,
        })
    }
}
