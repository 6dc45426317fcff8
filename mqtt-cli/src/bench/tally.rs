//! What a subscriber of the benchmark counts: each message's header says which run, publisher and sequence number
//! it is and when it was sent; from them come lost, duplicated and out-of-order messages and the latency.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Bytes of the header at the start of every payload: run id (8), publisher (4), sequence number (8), send time
/// in nanoseconds since the run started (8), big-endian.
pub(crate) const HEADER: usize = 28;

/// Largest latency recorded, in microseconds (one hour); longer ones count as this.
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// An empty latency histogram in microseconds (1 µs to an hour), three significant digits.
///
/// # Errors
///
/// Never with these bounds; the histogram crate's error otherwise.
pub(crate) fn histogram() -> Result<Histogram<u64>, hdrhistogram::CreationError> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
}

/// Writes the header into `payload` (at least [`HEADER`] bytes).
pub(crate) fn write_header(
    payload: &mut [u8],
    run: u64,
    publisher: u32,
    sequence: u64,
    sent_at: Duration,
) {
    let nanos = u64::try_from(sent_at.as_nanos()).unwrap_or(u64::MAX);
    let fields = [
        &run.to_be_bytes()[..],
        &publisher.to_be_bytes(),
        &sequence.to_be_bytes(),
        &nanos.to_be_bytes(),
    ];
    let mut at = 0;
    for field in fields {
        if let Some(slot) = payload.get_mut(at..at + field.len()) {
            slot.copy_from_slice(field);
        }
        at += field.len();
    }
}

/// The header of a payload: (run, publisher, sequence, sent at); `None` if too short.
fn read_header(payload: &[u8]) -> Option<(u64, u32, u64, Duration)> {
    let u64_at = |at: usize| {
        Some(u64::from_be_bytes(
            payload.get(at..at + 8)?.try_into().ok()?,
        ))
    };
    let run = u64_at(0)?;
    let publisher = u32::from_be_bytes(payload.get(8..12)?.try_into().ok()?);
    let sequence = u64_at(12)?;
    let sent_at = Duration::from_nanos(u64_at(20)?);
    Some((run, publisher, sequence, sent_at))
}

/// One subscriber's count of the run.
#[derive(Debug)]
pub(crate) struct Tally {
    run: u64,
    publishers: u32,
    count: u64,
    /// One bit per (publisher, sequence number): received.
    seen: Vec<u64>,
    /// Per publisher, the highest sequence number received.
    highest: Vec<Option<u64>>,
    /// Distinct messages of this run received.
    pub(crate) unique: u64,
    /// Messages received again.
    pub(crate) duplicated: u64,
    /// Messages received after one its publisher sent later.
    pub(crate) out_of_order: u64,
    /// Messages that are not of this run (a retained message, another run's...), ignored.
    pub(crate) foreign: u64,
    /// Latency of each distinct message, in microseconds.
    pub(crate) latency: Histogram<u64>,
    /// When the last distinct message arrived, since the start of the run.
    pub(crate) last_at: Duration,
}

impl Tally {
    /// A tally for a run of `publishers` × `count` messages, with an empty [`histogram`].
    pub(crate) fn new(run: u64, publishers: u32, count: u64, latency: Histogram<u64>) -> Self {
        let bits = u64::from(publishers).saturating_mul(count);
        let words = usize::try_from(bits.div_ceil(64)).unwrap_or(usize::MAX);
        Self {
            run,
            publishers,
            count,
            seen: vec![0; words],
            highest: vec![None; usize::try_from(publishers).unwrap_or(0)],
            unique: 0,
            duplicated: 0,
            out_of_order: 0,
            foreign: 0,
            latency,
            last_at: Duration::ZERO,
        }
    }

    /// Messages expected: one per publisher and sequence number.
    pub(crate) fn expected(&self) -> u64 {
        u64::from(self.publishers).saturating_mul(self.count)
    }

    /// Counts a message received `now` (since the start of the run).
    pub(crate) fn record(&mut self, payload: &[u8], now: Duration) {
        let Some((run, publisher, sequence, sent_at)) = read_header(payload) else {
            self.foreign += 1;
            return;
        };
        if run != self.run || publisher >= self.publishers || sequence >= self.count {
            self.foreign += 1;
            return;
        }
        let bit = u64::from(publisher) * self.count + sequence;
        let (word, mask) = (
            usize::try_from(bit / 64).unwrap_or(usize::MAX),
            1u64 << (bit % 64),
        );
        let Some(slot) = self.seen.get_mut(word) else {
            self.foreign += 1;
            return;
        };
        if *slot & mask != 0 {
            self.duplicated += 1;
            return;
        }
        *slot |= mask;
        self.unique += 1;
        self.last_at = now;
        let micros = u64::try_from(now.saturating_sub(sent_at).as_micros()).unwrap_or(u64::MAX);
        self.latency
            .saturating_record(micros.clamp(1, MAX_LATENCY_US));
        if let Some(highest) = self
            .highest
            .get_mut(usize::try_from(publisher).unwrap_or(usize::MAX))
        {
            match highest {
                Some(high) if sequence < *high => self.out_of_order += 1,
                _ => *highest = Some(sequence),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(run: u64, publisher: u32, sequence: u64, sent_ms: u64) -> Vec<u8> {
        let mut payload = vec![0; HEADER + 4];
        write_header(
            &mut payload,
            run,
            publisher,
            sequence,
            Duration::from_millis(sent_ms),
        );
        payload
    }

    #[test]
    fn lost_duplicated_and_out_of_order_messages_are_counted() {
        let mut tally = Tally::new(7, 2, 3, histogram().unwrap());
        let at = Duration::from_millis;
        for (publisher, sequence) in [(0, 0), (0, 2), (0, 1), (0, 1), (1, 0)] {
            tally.record(&message(7, publisher, sequence, 10), at(12));
        }
        tally.record(&message(8, 0, 0, 10), at(12));
        tally.record(b"short", at(12));
        assert_eq!(tally.expected(), 6);
        assert_eq!(tally.unique, 4);
        assert_eq!(tally.duplicated, 1);
        assert_eq!(tally.out_of_order, 1);
        assert_eq!(tally.foreign, 2);
        assert_eq!(tally.expected() - tally.unique, 2);
        // 2 ms, within the histogram's precision.
        assert!((1990..=2010).contains(&tally.latency.value_at_quantile(0.5)));
    }
}
