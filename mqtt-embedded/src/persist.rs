//! Persistence in flash (feature `persist`): the session survives a reset (a watchdog, a brown-out, a firmware
//! update): the outgoing QoS 1 and 2 messages that [`Client::queue`](crate::Client::queue) accepted, incoming QoS 2
//! flows half done, subscriptions and the client identifier. The same journal as the std clients' file store (see
//! [`proto::session::persist`]), written to a NOR flash through [`sequential-storage`](sequential_storage)'s
//! power-fail-safe queue.
//!
//! ```ignore
//! let (client, runner) = mqtt_embedded::new(&config, resources, connector, clock)?;
//! // Two regions of whole flash pages, each large enough for the session's whole state.
//! let store = FlashStore::new(flash, 0x3_0000..0x3_4000, 0x3_4000..0x3_8000)?;
//! let persister = mqtt_embedded::persist::restore(&client, store, &mut BUFFER).await?;
//! // The messages the session inherited go out once the runner connects; run both tasks.
//! join(runner.run(handler), persister.run()).await;
//! ```
//!
//! # Layout
//!
//! Two regions, A and B. The active one holds a snapshot of the session between a header item and a commit item
//! (with a generation number), followed by the changes since, one record per item. When the active region is full
//! (and at every start), a new snapshot goes into the other region: it is erased, written, committed, and only
//! then does it become the active one. A reset at any moment leaves at least one committed snapshot, and the one
//! with the highest generation wins; an item torn by the reset is ignored by the queue.
//!
//! # Memory and limits
//!
//! The persister renders a snapshot into the buffer it is given before writing it: give it at least the size of
//! the `STORE` and `SUBS` resources plus 64 bytes. A record is one flash item, so a message whose record does not
//! fit a flash page (minus a few bytes) is refused by `queue` with [`PublishError::TooLarge`]. Each region must hold
//! a snapshot and then some: a few pages more than the `STORE` and `SUBS` resources.

use core::ops::Range;

use embassy_sync::blocking_mutex::raw::RawMutex;
use embedded_storage_async::nor_flash::NorFlash;
use proto::io::{Clock, Connect};
use proto::session::persist::{Change, Persist, PersistMark, RestoreError};
use proto::{PublishError, Session};
use sequential_storage::cache::{Cache, Uncached};
use sequential_storage::queue::{QueueConfig, QueueStorage};

use crate::Client;
use crate::runner::Shared;

type NoCache = Cache<Uncached, Uncached, Uncached>;

/// The first item of a region: a snapshot of this generation follows.
const HEADER: [u8; 4] = *b"MQSH";
/// The item after a snapshot: it is whole.
const COMMIT: [u8; 4] = *b"MQSC";

/// Why the flash store failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A region is not made of whole flash pages, or the regions overlap.
    #[error("the flash regions are not whole pages, or overlap")]
    Regions,
    /// The flash driver failed.
    #[error("the flash failed")]
    Flash,
    /// The flash holds data that is not a store (or is damaged beyond what a reset leaves): erase the regions.
    #[error("the flash is corrupted")]
    Corrupted,
    /// A snapshot does not fit a region, or the buffer: give both more room.
    #[error("the session's state does not fit the flash region or the buffer")]
    Full,
    /// A stored record cannot be restored into the session (its `index` counts the items of the region).
    #[error("record {index} cannot be restored: {error}")]
    Record {
        /// Which item of the active region.
        index: u32,
        /// Why.
        error: RestoreError,
    },
}

impl<E> From<sequential_storage::Error<E>> for StoreError {
    fn from(error: sequential_storage::Error<E>) -> Self {
        match error {
            sequential_storage::Error::Storage { .. } => Self::Flash,
            sequential_storage::Error::FullStorage | sequential_storage::Error::ItemTooBig => {
                Self::Full
            }
            _ => Self::Corrupted,
        }
    }
}

/// A session store in two regions of a NOR flash: see the [module docs](self).
pub struct FlashStore<F: NorFlash> {
    /// The flash, with the queue over the region in use.
    queue: Option<QueueStorage<F, NoCache>>,
    regions: [Range<u32>; 2],
    active: usize,
    generation: u32,
}

impl<F: NorFlash> core::fmt::Debug for FlashStore<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FlashStore")
            .field("regions", &self.regions)
            .field("active", &self.active)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl<F: NorFlash> FlashStore<F> {
    /// A store in the regions `a` and `b` of `flash` (byte ranges of whole pages, not overlapping). Nothing is
    /// read or written until [`restore`].
    ///
    /// # Errors
    ///
    /// [`StoreError::Regions`] for ranges that are not whole pages, or that overlap.
    pub fn new(flash: F, a: Range<u32>, b: Range<u32>) -> Result<Self, StoreError> {
        let config =
            |r: &Range<u32>| QueueConfig::<F>::try_new(r.clone()).map_err(|_| StoreError::Regions);
        config(&b)?;
        if a.start < b.end && b.start < a.end {
            return Err(StoreError::Regions);
        }
        let queue = QueueStorage::new(flash, config(&a)?, Cache::new_uncached());
        Ok(Self {
            queue: Some(queue),
            regions: [a, b],
            active: 0,
            generation: 0,
        })
    }

    /// The largest record one flash item holds.
    pub fn max_record(&self) -> usize {
        let overhead = QueueStorage::<F, NoCache>::item_overhead_size() as usize;
        F::ERASE_SIZE.saturating_sub(overhead + 2 * F::WRITE_SIZE.max(4))
    }

    /// Moves the queue to region `index`.
    fn switch(&mut self, index: usize) -> Result<&mut QueueStorage<F, NoCache>, StoreError> {
        let range = self
            .regions
            .get(index)
            .cloned()
            .ok_or(StoreError::Regions)?;
        let queue = self.queue.take().ok_or(StoreError::Flash)?;
        if queue.flash_range() != range {
            let (flash, _) = queue.destroy();
            let config = QueueConfig::try_new(range).map_err(|_| StoreError::Regions)?;
            self.queue = Some(QueueStorage::new(flash, config, Cache::new_uncached()));
        } else {
            self.queue = Some(queue);
        }
        self.queue.as_mut().ok_or(StoreError::Flash)
    }

    /// The generation of the committed snapshot of region `index`, if it has one.
    async fn committed(&mut self, index: usize, buf: &mut [u8]) -> Result<Option<u32>, StoreError> {
        let queue = self.switch(index)?;
        let mut iter = queue.iter().await?;
        let mut generation = None;
        while let Some(entry) = iter.next(buf).await? {
            match (generation, marker(&entry)) {
                (None, Some((HEADER, g))) => generation = Some(g),
                (None, _) => return Ok(None),
                (Some(g), Some((COMMIT, c))) if c == g => return Ok(Some(g)),
                _ => {}
            }
        }
        Ok(None)
    }

    /// Reads the committed state with the highest generation, record by record, into `restore`.
    async fn load(
        &mut self,
        buf: &mut [u8],
        mut restore: impl FnMut(&[u8]) -> Result<(), RestoreError>,
    ) -> Result<(), StoreError> {
        let a = self.committed(0, buf).await?;
        let b = self.committed(1, buf).await?;
        let (active, generation) = match (a, b) {
            (Some(a), Some(b)) if b > a => (1, b),
            (Some(a), _) => (0, a),
            (None, Some(b)) => (1, b),
            (None, None) => return Ok(()),
        };
        self.active = active;
        self.generation = generation;
        let queue = self.switch(active)?;
        let mut iter = queue.iter().await?;
        let mut index = 0u32;
        while let Some(entry) = iter.next(buf).await? {
            if marker(&entry).is_none() {
                restore(&entry).map_err(|error| StoreError::Record { index, error })?;
            }
            index += 1;
        }
        Ok(())
    }

    /// Writes a snapshot (records, each behind its `u16` length, in `records`) into the other region, commits
    /// it, and makes it the active one.
    async fn rewrite(&mut self, records: &[u8]) -> Result<(), StoreError> {
        let other = 1 - self.active;
        let generation = self.generation.wrapping_add(1);
        let queue = self.switch(other)?;
        queue.erase_all().await?;
        queue.push(&item(HEADER, generation), false).await?;
        let mut rest = records;
        while let Some((record, next)) = split_record(rest) {
            queue.push(record, false).await?;
            rest = next;
        }
        queue.push(&item(COMMIT, generation), false).await?;
        self.active = other;
        self.generation = generation;
        Ok(())
    }

    /// Appends one record to the active region.
    async fn append(&mut self, record: &[u8]) -> Result<(), StoreError> {
        let active = self.active;
        self.switch(active)?.push(record, false).await?;
        Ok(())
    }

    /// Gives the flash back.
    pub fn into_flash(self) -> Option<F> {
        self.queue.map(|queue| queue.destroy().0)
    }
}

fn item(kind: [u8; 4], generation: u32) -> [u8; 8] {
    let mut item = [0u8; 8];
    let (head, tail) = item.split_at_mut(4);
    head.copy_from_slice(&kind);
    tail.copy_from_slice(&generation.to_le_bytes());
    item
}

/// A header or commit item: its kind and generation.
fn marker(entry: &[u8]) -> Option<([u8; 4], u32)> {
    let kind: [u8; 4] = entry.get(..4)?.try_into().ok()?;
    let generation = u32::from_le_bytes(entry.get(4..8)?.try_into().ok()?);
    (entry.len() == 8 && (kind == HEADER || kind == COMMIT)).then_some((kind, generation))
}

/// The first length-prefixed record of `bytes`, and the rest.
fn split_record(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = usize::from(u16::from_le_bytes([*bytes.first()?, *bytes.get(1)?]));
    Some((bytes.get(2..2 + len)?, bytes.get(2 + len..)?))
}

/// Appends `change` behind its `u16` length at `at` in `buf`; the new end.
fn put(buf: &mut [u8], at: usize, change: &Change<'_>) -> Result<usize, StoreError> {
    let len = change.encoded_len();
    let prefix = u16::try_from(len)
        .map_err(|_| StoreError::Full)?
        .to_le_bytes();
    buf.get_mut(at..at + 2)
        .ok_or(StoreError::Full)?
        .copy_from_slice(&prefix);
    let record = buf.get_mut(at + 2..at + 2 + len).ok_or(StoreError::Full)?;
    change.encode(record).ok_or(StoreError::Full)?;
    Ok(at + 2 + len)
}

/// Renders the session's snapshot into `buf`; the bytes used and the mark it covers.
fn snapshot(session: &mut Session<'_>, buf: &mut [u8]) -> Result<(usize, PersistMark), StoreError> {
    let mark = session.begin_snapshot();
    let mut at = 0;
    for change in session.snapshot() {
        at = put(buf, at, &change)?;
    }
    Ok((at, mark))
}

/// Writes what the session changes into a [`FlashStore`]: run [`run`](Self::run) next to the runner.
pub struct Persister<'d, M: RawMutex, C: Clock, F: NorFlash> {
    shared: &'d Shared<'d, M, C>,
    store: FlashStore<F>,
    buf: &'d mut [u8],
}

impl<M: RawMutex, C: Clock, F: NorFlash> core::fmt::Debug for Persister<'_, M, C, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Persister")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// Restores the client's session from `store` (if it holds one), turns persistence on, and stores a fresh snapshot.
/// Call it before the runner runs; then run the [`Persister`] it returns next to the runner. `buf` is the
/// persister's working memory (see the [module docs](self#memory-and-limits)).
///
/// After it, [`Client::queue`] returns once its message is stored, and every message it accepted survives a reset.
///
/// # Errors
///
/// A [`StoreError`]: the flash failed, is corrupted (erase the regions to start fresh), or holds a record that does
/// not restore (a store of another client, or more than the resources hold); the state does not fit `buf`.
pub async fn restore<'d, M, N, C, F>(
    client: &Client<'d, M, N, C>,
    mut store: FlashStore<F>,
    buf: &'d mut [u8],
) -> Result<Persister<'d, M, C, F>, StoreError>
where
    M: RawMutex,
    N: Connect,
    C: Clock,
    F: NorFlash,
{
    let shared = client.shared;
    store
        .load(buf, |record| shared.hub.with_session(|s| s.restore(record)))
        .await?;
    let max_record = store.max_record();
    shared.hub.with(|state| state.max_record = max_record);
    let (len, mark) = shared.hub.with_session(|session| {
        session.enable_persistence();
        snapshot(session, buf)
    })?;
    store.rewrite(buf.get(..len).unwrap_or_default()).await?;
    shared
        .hub
        .with_session(|session| session.handle_persisted(mark));
    Ok(Persister { shared, store, buf })
}

/// What the persister took from the session under its lock.
enum Took {
    Nothing,
    Record(usize, PersistMark),
    Snapshot(usize, PersistMark),
}

impl<M: RawMutex, C: Clock, F: NorFlash> Persister<'_, M, C, F> {
    /// Writes every change of the session to the flash, in order, and tells the session (and the clients waiting
    /// in `queue`) once each is durable. Never returns.
    ///
    /// A write that fails is tried again, as a snapshot, at the next change: meanwhile the session sends nothing
    /// that depends on it.
    pub async fn run(mut self) -> ! {
        loop {
            self.shared.hub.stored.wait().await;
            while let Ok(true) = self.write_one().await {}
        }
    }

    /// Writes the next change (or a snapshot); whether there was one.
    async fn write_one(&mut self) -> Result<bool, StoreError> {
        let buf = &mut *self.buf;
        let took = self.shared.hub.with_session(|session| {
            let took = match session.poll_persist() {
                None => return Ok(Took::Nothing),
                Some(Persist::Change(change)) => put(buf, 0, &change).map(|end| (end, false)),
                Some(_) => snapshot(session, buf).map(|(end, _)| (end, true)),
            };
            let mark = session.persist_mark();
            took.map(|(end, whole)| match whole {
                true => Took::Snapshot(end, mark),
                false => Took::Record(end, mark),
            })
        });
        let (written, mark) = match took {
            Ok(Took::Nothing) => return Ok(false),
            Ok(Took::Record(end, mark)) => {
                let record = split_record(buf.get(..end).unwrap_or_default())
                    .map_or(&[][..], |(record, _)| record);
                match self.store.append(record).await {
                    Ok(()) => (true, mark),
                    // The region is full: a snapshot in the other one instead (it holds this change too).
                    Err(StoreError::Full) => (self.resnapshot().await?, mark),
                    Err(e) => return Err(self.failed(e)),
                }
            }
            Ok(Took::Snapshot(end, mark)) => {
                match self.store.rewrite(buf.get(..end).unwrap_or_default()).await {
                    Ok(()) => (true, mark),
                    Err(e) => return Err(self.failed(e)),
                }
            }
            Err(e) => return Err(self.failed(e)),
        };
        if written {
            self.shared
                .hub
                .with_session(|session| session.handle_persisted(mark));
            self.shared.hub.stored_waiters();
            self.shared.hub.wake.signal();
        }
        Ok(true)
    }

    /// A snapshot of the whole state into the other region; whether it was written.
    async fn resnapshot(&mut self) -> Result<bool, StoreError> {
        let buf = &mut *self.buf;
        let (end, mark) = self
            .shared
            .hub
            .with_session(|session| snapshot(session, buf))?;
        match self.store.rewrite(buf.get(..end).unwrap_or_default()).await {
            Ok(()) => {
                self.shared
                    .hub
                    .with_session(|session| session.handle_persisted(mark));
                Ok(true)
            }
            Err(e) => Err(self.failed(e)),
        }
    }

    /// A write failed: what the flash holds is behind the session, so the next write is a whole snapshot (the
    /// journal is made to overflow), and the persister looks again at the next change.
    fn failed(&mut self, error: StoreError) -> StoreError {
        self.shared
            .hub
            .with_session(|session| session.force_snapshot());
        error
    }
}

/// Whether a message of `size` encoded bytes can be stored with `max_record` bytes per record (0: no store).
pub(crate) fn check_size(size: usize, max_record: usize) -> Result<(), PublishError> {
    // The record adds its kind, ticket, QoS, flags, form and packet identifier to the PUBLISH.
    let record = size + 10;
    if max_record > 0 && record > max_record {
        return Err(PublishError::TooLarge {
            size,
            max: max_record.saturating_sub(10),
        });
    }
    Ok(())
}
