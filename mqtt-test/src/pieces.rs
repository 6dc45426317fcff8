//! [`PiecewiseWriter`]: a peer that writes a known byte pattern in pieces of every size, pausing now and then, so
//! that a reader's reads come back short at every offset; and [`PatternCheck`], which checks what the reader got.
//! For the bindings' tests of their own socket reads (a short read must never lose a later arrival).

use std::io::Write as _;
use std::net::TcpStream;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// The byte at offset `i` of the pattern.
fn pattern(i: usize) -> u8 {
    // 251 is prime: no piece size lines up with the pattern's period.
    (i % 251) as u8
}

/// Writes `total` bytes of the pattern to a peer socket from a thread of its own: pieces of 1 to 97 bytes in
/// turn, with a 50 µs pause every 13 sizes. [`join`](Self::join) gives the socket back (to close it).
#[derive(Debug)]
pub struct PiecewiseWriter {
    thread: JoinHandle<TcpStream>,
}

impl PiecewiseWriter {
    /// Starts writing `total` bytes to `peer`.
    pub fn start(mut peer: TcpStream, total: usize) -> Self {
        let thread = thread::spawn(move || {
            let data: Vec<u8> = (0..total).map(pattern).collect();
            let mut sent = 0;
            let mut size = 1;
            while sent < total {
                let end = (sent + size).min(total);
                peer.write_all(&data[sent..end])
                    .expect("the reader is gone");
                sent = end;
                size = size % 97 + 1;
                if size % 13 == 0 {
                    thread::sleep(Duration::from_micros(50));
                }
            }
            peer
        });
        Self { thread }
    }

    /// Waits until everything is written; the peer socket, still open.
    ///
    /// # Panics
    ///
    /// If the writing thread panicked (the reader closed its end).
    pub fn join(self) -> TcpStream {
        self.thread.join().expect("the writer panicked")
    }
}

/// Checks reads against the pattern: every byte in order, and how many reads came back short.
#[derive(Debug)]
pub struct PatternCheck {
    total: usize,
    buf_len: usize,
    received: usize,
    short: usize,
}

impl PatternCheck {
    /// Expects `total` bytes read into a buffer of `buf_len`.
    pub fn new(total: usize, buf_len: usize) -> Self {
        Self {
            total,
            buf_len,
            received: 0,
            short: 0,
        }
    }

    /// Whether bytes are still missing.
    pub fn missing(&self) -> bool {
        self.received < self.total
    }

    /// Checks one read's bytes.
    ///
    /// # Panics
    ///
    /// On an empty read (the stream ended early) or a byte out of order.
    pub fn read(&mut self, bytes: &[u8]) {
        let received = self.received;
        assert!(
            !bytes.is_empty(),
            "the stream ended after {received} of {} bytes",
            self.total
        );
        if bytes.len() < self.buf_len {
            self.short += 1;
        }
        for (i, byte) in bytes.iter().enumerate() {
            assert_eq!(
                *byte,
                pattern(received + i),
                "byte {} out of order",
                received + i
            );
        }
        self.received += bytes.len();
    }

    /// The end of the check: everything arrived.
    ///
    /// # Panics
    ///
    /// If bytes are missing, or if no read came back short (the test would test nothing).
    pub fn finish(&self) {
        assert_eq!(self.received, self.total, "bytes are missing");
        assert!(
            self.short > 10,
            "no read came back short: the test tests nothing"
        );
    }
}
