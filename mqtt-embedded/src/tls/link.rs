//! The pipe between embedded-tls and the stream underneath, which makes the TLS stream cancel-safe.
//!
//! embedded-tls keeps the part of a record it has read in its `read` future and half-written records in its
//! `write` future: the runner drops those futures whenever a [`Client`](crate::Client) command or a deadline
//! comes first, which would lose bytes in the middle of a record. So embedded-tls never touches the stream: it
//! reads from and writes to this [`Link`] ([`Wire`] is its handle), which
//!
//! - hands embedded-tls a record only once all of it is here, so that reading a record never waits halfway;
//!   waiting happens only between records, with the bytes received so far kept here;
//! - takes the records embedded-tls writes into its own buffer, which [`TlsStream`](super::TlsStream) empties
//!   into the stream before each write: writing a record into it never waits, and emptying it can stop anywhere
//!   and resume.

use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::mutex::{Mutex, MutexGuard};
use embedded_io_async::{Error as _, ErrorKind, ErrorType, Read, Write};

/// The TLS record header: content type, legacy version, length.
const HEADER: usize = 5;

/// The stream, the bytes received but not yet handed to embedded-tls, and those it wrote but not yet sent.
pub(crate) struct Link<'b, S> {
    io: S,
    /// Received bytes: `rx[rx_start..rx_end]`, starting with the record embedded-tls reads now or next.
    rx: &'b mut [u8],
    rx_start: usize,
    rx_end: usize,
    /// What is left to hand out of the record embedded-tls is reading; 0 between records.
    record_left: usize,
    /// Records written by embedded-tls: `tx[tx_start..tx_end]` is still to send.
    tx: &'b mut [u8],
    tx_start: usize,
    tx_end: usize,
}

impl<'b, S: Read + Write> Link<'b, S> {
    /// A link over `io`; `rx` must hold the largest record the broker sends (header included), `tx` the largest
    /// embedded-tls writes (its write buffer).
    pub(crate) fn new(io: S, rx: &'b mut [u8], tx: &'b mut [u8]) -> Self {
        Self {
            io,
            rx,
            rx_start: 0,
            rx_end: 0,
            record_left: 0,
            tx,
            tx_start: 0,
            tx_end: 0,
        }
    }

    /// The link, to the one user at a time (embedded-tls, or the stream between two of its calls).
    pub(crate) fn lock<M: RawMutex>(
        cell: &Mutex<M, Self>,
    ) -> Result<MutexGuard<'_, M, Self>, ErrorKind> {
        // Never contended: the stream and embedded-tls take turns inside one `&mut self` call.
        cell.try_lock().map_err(|_| ErrorKind::Other)
    }

    /// Sends every written byte.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe when the stream's `write` is: what is sent is forgotten at once, the rest stays.
    pub(crate) async fn drain(&mut self) -> Result<(), ErrorKind> {
        while self.tx_start < self.tx_end {
            let pending = self.tx.get(self.tx_start..self.tx_end).unwrap_or_default();
            match self.io.write(pending).await.map_err(|e| e.kind())? {
                0 => return Err(ErrorKind::WriteZero),
                n => self.tx_start += n,
            }
        }
        self.tx_start = 0;
        self.tx_end = 0;
        Ok(())
    }

    /// Sends every written byte and flushes the stream.
    pub(crate) async fn flush(&mut self) -> Result<(), ErrorKind> {
        self.drain().await?;
        self.io.flush().await.map_err(|e| e.kind())
    }

    /// Receives until a whole record is here; its length with the header, or 0 if the stream ended first.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe when the stream's `read` is: received bytes are kept.
    async fn fill_record(&mut self) -> Result<usize, ErrorKind> {
        loop {
            let received = self.rx.get(self.rx_start..self.rx_end).unwrap_or_default();
            if let Some(&[_, _, _, high, low]) = received.get(..HEADER) {
                let len = HEADER + usize::from(u16::from_be_bytes([high, low]));
                if len > self.rx.len() {
                    // Larger than the broker may send with the negotiated fragment length, or the buffer is
                    // smaller than its maximum: an error, never a wait for bytes that cannot fit.
                    return Err(ErrorKind::OutOfMemory);
                }
                if received.len() >= len {
                    return Ok(len);
                }
            }
            // The record starts at the front, so it has the whole buffer to grow into.
            if self.rx_start > 0 {
                self.rx.copy_within(self.rx_start..self.rx_end, 0);
                self.rx_end -= self.rx_start;
                self.rx_start = 0;
            }
            let free = self.rx.get_mut(self.rx_end..).unwrap_or_default();
            if free.is_empty() {
                return Err(ErrorKind::OutOfMemory);
            }
            match self.io.read(free).await.map_err(|e| e.kind())? {
                0 => return Ok(0),
                n => self.rx_end += n,
            }
        }
    }

    /// Hands out bytes of the current record; between records, first sends what was written and waits until the
    /// next record is here in full. Never more than the rest of the current record.
    ///
    /// # Cancel safety
    ///
    /// Waits only between records, where dropping the future loses nothing; within a record it is ready at once.
    pub(crate) async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.record_left == 0 {
            self.drain().await?;
            match self.fill_record().await? {
                0 => return Ok(0),
                len => self.record_left = len,
            }
        }
        let received = self.rx.get(self.rx_start..self.rx_end).unwrap_or_default();
        let n = buf.len().min(self.record_left).min(received.len());
        if let (Some(to), Some(from)) = (buf.get_mut(..n), received.get(..n)) {
            to.copy_from_slice(from);
        }
        self.rx_start += n;
        self.record_left -= n;
        Ok(n)
    }

    /// Takes written bytes; sends the earlier ones first only when there is no room at all.
    ///
    /// # Cancel safety
    ///
    /// Ready at once while there is room, which [`drain`](Self::drain) before a write guarantees for a record
    /// up to the buffer's size.
    pub(crate) async fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.tx_end == self.tx.len() {
            self.drain().await?;
        }
        let room = self.tx.get_mut(self.tx_end..).unwrap_or_default();
        let n = buf.len().min(room.len());
        if let (Some(to), Some(from)) = (room.get_mut(..n), buf.get(..n)) {
            to.copy_from_slice(from);
        }
        self.tx_end += n;
        Ok(n)
    }
}

/// The stream embedded-tls sees: a handle on the [`Link`].
pub(crate) struct Wire<'b, M: RawMutex, S>(pub(crate) &'b Mutex<M, Link<'b, S>>);

impl<M: RawMutex, S> ErrorType for Wire<'_, M, S> {
    type Error = ErrorKind;
}

impl<M: RawMutex, S: Read + Write> Read for Wire<'_, M, S> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        Link::lock(self.0)?.read(buf).await
    }
}

impl<M: RawMutex, S: Read + Write> Write for Wire<'_, M, S> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        Link::lock(self.0)?.write(buf).await
    }

    async fn flush(&mut self) -> Result<(), ErrorKind> {
        Link::lock(self.0)?.flush().await
    }
}

#[cfg(test)]
#[path = "link_tests.rs"]
mod tests;
