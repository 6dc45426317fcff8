//! The link against a scripted stream that delivers a few bytes per call and makes every other call wait, with
//! the futures dropped at each wait, as the runner does.

extern crate std;

use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use std::collections::VecDeque;
use std::vec::Vec;

use embedded_io_async::{ErrorKind, ErrorType, Read, Write};

use super::Link;

/// Hands out `chunk` bytes per read and takes `chunk` per write, each only on every other call.
struct Script {
    incoming: VecDeque<u8>,
    sent: Vec<u8>,
    chunk: usize,
    ready: bool,
}

impl Script {
    fn new(incoming: &[u8], chunk: usize) -> Self {
        Self {
            incoming: incoming.iter().copied().collect(),
            sent: Vec::new(),
            chunk,
            ready: false,
        }
    }

    /// Waits on one call of two.
    async fn turn(&mut self) {
        poll_fn(|_| {
            self.ready = !self.ready;
            if self.ready {
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await;
    }
}

impl ErrorType for Script {
    type Error = ErrorKind;
}

impl Read for Script {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        self.turn().await;
        let n = buf.len().min(self.chunk).min(self.incoming.len());
        for (to, from) in buf.iter_mut().zip(self.incoming.drain(..n)) {
            *to = from;
        }
        Ok(n)
    }
}

impl Write for Script {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        self.turn().await;
        let n = buf.len().min(self.chunk);
        self.sent.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    async fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }
}

fn poll_once<F: Future>(future: F) -> Poll<F::Output> {
    pin!(future).poll(&mut Context::from_waker(Waker::noop()))
}

/// A record with `len` bytes of content, numbered from `first`.
fn record(len: u16, first: u8) -> Vec<u8> {
    let mut record = std::vec![23, 3, 3];
    record.extend_from_slice(&len.to_be_bytes());
    record.extend((0..len).map(|i| first.wrapping_add(i as u8)));
    record
}

/// Reads `len` bytes as embedded-tls reads a record: the header, then the rest, from one link, each read polled
/// once per attempt and dropped when it waits. Returns what was read and how many reads waited in a record.
fn read_record(link: &mut Link<'_, Script>) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut waits_inside = 0;
    let mut header = [0; 5];
    for _ in 0..1000 {
        if let Poll::Ready(n) = poll_once(link.read(&mut header)) {
            assert_eq!(n, Ok(5));
            break;
        }
    }
    out.extend_from_slice(&header);
    let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
    let mut body = std::vec![0; len];
    let mut got = 0;
    while got < len {
        match poll_once(link.read(&mut body[got..])) {
            Poll::Ready(n) => got += n.expect("reads"),
            Poll::Pending => waits_inside += 1,
        }
    }
    out.extend_from_slice(&body);
    (out, waits_inside)
}

#[test]
fn records_come_whole_though_the_stream_trickles_and_waits_are_cancelled() {
    let (first, second) = (record(40, 0), record(300, 100));
    let stream = [first.clone(), second.clone()].concat();
    let (mut rx, mut tx) = ([0; 400], [0; 64]);
    let mut link = Link::new(Script::new(&stream, 3), &mut rx, &mut tx);
    assert_eq!(read_record(&mut link), (first, 0));
    assert_eq!(read_record(&mut link), (second, 0));
}

#[test]
fn a_record_larger_than_the_buffer_fails_instead_of_waiting_forever() {
    let stream = record(100, 0);
    let (mut rx, mut tx) = ([0; 64], [0; 64]);
    let mut link = Link::new(Script::new(&stream, 50), &mut rx, &mut tx);
    let mut buf = [0; 5];
    let outcome = (0..100).find_map(|_| match poll_once(link.read(&mut buf)) {
        Poll::Ready(outcome) => Some(outcome),
        Poll::Pending => None,
    });
    assert_eq!(outcome, Some(Err(ErrorKind::OutOfMemory)));
}

#[test]
fn the_end_of_the_stream_within_a_record_reads_zero() {
    let stream = record(100, 0);
    let (mut rx, mut tx) = ([0; 200], [0; 64]);
    let mut link = Link::new(Script::new(&stream[..50], 7), &mut rx, &mut tx);
    let mut buf = [0; 5];
    let outcome = (0..100).find_map(|_| match poll_once(link.read(&mut buf)) {
        Poll::Ready(outcome) => Some(outcome),
        Poll::Pending => None,
    });
    assert_eq!(outcome, Some(Ok(0)));
}

#[test]
fn writing_into_an_empty_link_never_waits_and_draining_resumes_where_it_stopped() {
    let (mut rx, mut tx) = ([0; 64], [0; 32]);
    let mut link = Link::new(Script::new(&[], 5), &mut rx, &mut tx);
    let record: Vec<u8> = (0..32).collect();
    // A whole record goes in at once: this is what makes a TLS write cancel-safe.
    assert_eq!(poll_once(link.write(&record)), Poll::Ready(Ok(32)));
    assert!(link.io.sent.is_empty());
    // Draining is cancelled at every wait, and resumes.
    let mut attempts = 0;
    while poll_once(link.drain()).is_pending() {
        attempts += 1;
        assert!(attempts < 100, "the drain does not progress");
    }
    assert_eq!(link.io.sent, record);
}

#[test]
fn reading_first_sends_what_was_written() {
    let answer = record(10, 0);
    let (mut rx, mut tx) = ([0; 64], [0; 32]);
    let mut link = Link::new(Script::new(&answer, 64), &mut rx, &mut tx);
    assert_eq!(poll_once(link.write(b"client hello")), Poll::Ready(Ok(12)));
    assert_eq!(read_record(&mut link).0, answer);
    assert_eq!(link.io.sent, b"client hello");
}
