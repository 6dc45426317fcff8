//! The file store of the std clients: an append-only log of the session's records, with a checksum on every
//! record, compacted by rewriting a snapshot aside and renaming it over the log.
//!
//! # Format
//!
//! ```text
//! header  "MQTTLOG" 0x01 | version: u32 LE (1) | reserved: u32       16 bytes
//! frame   length: u32 LE | crc: u32 LE | record (length bytes)       repeated
//! ```
//!
//! `crc` is the CRC-32 (IEEE) of the four length bytes followed by the record; the record is a
//! [`Change`](crate::session::persist::Change) as the session encodes it.
//!
//! # Crashes
//!
//! - A record is appended with one `write(2)`; a process that dies leaves the file as it was before or after the
//!   write, or (on a power loss) with a partial record at its end. A damaged record at the end of the file, with
//!   nothing valid after it, is such a torn write: it is cut off when the store is opened, and nothing that was
//!   durable is lost with it (a change is durable only once written whole, and synced as the durability asks).
//! - A damaged record followed by valid ones is not a torn write: the file was damaged in the middle (a bit flip,
//!   a bad sector, another program). Opening fails with [`StoreError`], which names the file and the offset of
//!   the damaged record; [`Persistence::start_fresh_if_corrupt`](super::Persistence::start_fresh_if_corrupt)
//!   moves such a file aside instead and starts empty.
//! - Compaction writes the snapshot to `<file>.tmp`, syncs it, renames it over the log and syncs the directory: at
//!   every moment the log is the old one or the new one, whole.

use std::borrow::ToOwned;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;
use std::vec::Vec;

use crate::session::persist::{Change, RestoreError};

/// The file's first bytes.
const MAGIC: &[u8; 8] = b"MQTTLOG\x01";
/// The format version this code writes and reads.
const VERSION: u32 = 1;
/// Bytes of the file header.
pub(crate) const HEADER: usize = 16;
/// Bytes before each record: its length and its checksum.
const FRAME: usize = 8;
/// The largest record a frame may announce (a message is at most the largest MQTT packet, 256 MiB).
const MAX_RECORD: usize = 256 * 1024 * 1024 + 64;

/// Why a store cannot be used: its file, where in it (for damage), and what is wrong.
#[derive(Debug, Clone)]
pub struct StoreError {
    /// The store's file.
    pub path: PathBuf,
    /// Where the damage is, for [`StoreErrorKind::Corrupt`] and [`StoreErrorKind::Record`].
    pub offset: Option<u64>,
    /// What is wrong.
    pub kind: StoreErrorKind,
}

impl core::fmt::Display for StoreError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "message store {}", self.path.display())?;
        if let Some(offset) = self.offset {
            write!(f, " at byte {offset}")?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            StoreErrorKind::Io(e) => Some(&**e),
            StoreErrorKind::Record(e) => Some(e),
            StoreErrorKind::Corrupt(_) => None,
        }
    }
}

/// What is wrong with a store, in [`StoreError`].
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// Reading or writing the file failed (permissions, a full disk...).
    #[error("{0}")]
    Io(Arc<io::Error>),
    /// The file is damaged: it is not a store, or a record in it fails its checksum while valid records follow.
    /// Move it aside (or let `Persistence::start_fresh_if_corrupt` do it) to start without its messages.
    #[error("damaged: {0}")]
    Corrupt(&'static str),
    /// A record passes its checksum but cannot be restored: written by an incompatible version, by another
    /// client identifier, or more than the session's configured memory holds.
    #[error("record cannot be restored: {0}")]
    Record(RestoreError),
}

impl StoreError {
    fn io(path: &Path, error: io::Error) -> Self {
        Self {
            path: path.to_owned(),
            offset: None,
            kind: StoreErrorKind::Io(Arc::new(error)),
        }
    }

    fn corrupt(path: &Path, offset: usize, what: &'static str) -> Self {
        Self {
            path: path.to_owned(),
            offset: Some(offset as u64),
            kind: StoreErrorKind::Corrupt(what),
        }
    }

    /// A record at `offset` that does not restore.
    pub(crate) fn record(path: &Path, offset: u64, error: RestoreError) -> Self {
        Self {
            path: path.to_owned(),
            offset: Some(offset),
            kind: StoreErrorKind::Record(error),
        }
    }
}

/// The CRC-32 table: the remainder of each byte value. (Computed at compile time: `i` stays below 256.)
#[allow(clippy::indexing_slicing)]
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32 (IEEE 802.3, reflected, as zlib computes it), table-driven; `crc` continues an earlier one (0 to start).
fn crc32(crc: u32, bytes: &[u8]) -> u32 {
    let mut c = !crc;
    for &b in bytes {
        let index = ((c ^ u32::from(b)) & 0xff) as usize;
        c = CRC_TABLE.get(index).copied().unwrap_or(0) ^ (c >> 8);
    }
    !c
}

/// Appends `change` to `buf` as a frame.
pub(crate) fn frame(buf: &mut Vec<u8>, change: &Change<'_>) {
    let start = buf.len();
    let len = change.encoded_len();
    buf.resize(start + FRAME + len, 0);
    let written = buf
        .get_mut(start + FRAME..)
        .and_then(|record| change.encode(record))
        .unwrap_or(0);
    buf.truncate(start + FRAME + written);
    let len_bytes = u32::try_from(written).unwrap_or(u32::MAX).to_le_bytes();
    let crc = crc32(
        crc32(0, &len_bytes),
        buf.get(start + FRAME..).unwrap_or_default(),
    );
    if let Some(head) = buf.get_mut(start..start + FRAME) {
        let (len_field, crc_field) = head.split_at_mut(4);
        len_field.copy_from_slice(&len_bytes);
        crc_field.copy_from_slice(&crc.to_le_bytes());
    }
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The record of a valid frame at `at`, if one is there.
fn frame_at(bytes: &[u8], at: usize) -> Option<&[u8]> {
    let len = usize::try_from(u32_at(bytes, at)?).ok()?;
    let crc = u32_at(bytes, at + 4)?;
    if len == 0 || len > MAX_RECORD {
        return None;
    }
    let record = bytes.get(at + FRAME..at + FRAME + len)?;
    let len_bytes = bytes.get(at..at + 4)?;
    (crc32(crc32(0, len_bytes), record) == crc).then_some(record)
}

/// The records of a log file, as read.
#[derive(Debug, Default)]
pub(crate) struct Log {
    bytes: Vec<u8>,
    /// Where each record is: its frame's offset, and the record's range.
    records: Vec<(u64, core::ops::Range<usize>)>,
    /// A torn write was found at this offset (and will be cut off).
    pub(crate) torn_at: Option<u64>,
}

impl Log {
    /// Reads the log at `path`; an empty log if there is no file.
    pub(crate) fn read(path: &Path) -> Result<Self, StoreError> {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(StoreError::io(path, e)),
        };
        if bytes.is_empty() {
            return Ok(Self::default());
        }
        if bytes.len() < HEADER || bytes.get(..8) != Some(MAGIC) {
            return Err(StoreError::corrupt(path, 0, "not a store file"));
        }
        if u32_at(&bytes, 8) != Some(VERSION) {
            return Err(StoreError::corrupt(
                path,
                8,
                "an unknown version of the format",
            ));
        }
        let mut records = Vec::new();
        let mut at = HEADER;
        let mut torn_at = None;
        while at < bytes.len() {
            match frame_at(&bytes, at) {
                Some(record) => {
                    records.push((at as u64, at + FRAME..at + FRAME + record.len()));
                    at += FRAME + record.len();
                }
                None => {
                    // Torn at the end, or damaged in the middle: a valid frame further on tells them apart.
                    if (at + 1..bytes.len()).any(|p| frame_at(&bytes, p).is_some()) {
                        let what = match u32_at(&bytes, at).and_then(|l| usize::try_from(l).ok()) {
                            Some(len) if len > 0 && at + FRAME + len <= bytes.len() => {
                                "a record fails its checksum"
                            }
                            _ => "a record's length is invalid",
                        };
                        return Err(StoreError::corrupt(path, at, what));
                    }
                    torn_at = Some(at as u64);
                    break;
                }
            }
        }
        Ok(Self {
            bytes,
            records,
            torn_at,
        })
    }

    /// The records, oldest first, each with its offset in the file.
    pub(crate) fn records(&self) -> impl Iterator<Item = (u64, &[u8])> + '_ {
        self.records
            .iter()
            .map(|(offset, range)| (*offset, self.bytes.get(range.clone()).unwrap_or_default()))
    }
}

/// A store's file, open for appending.
pub(crate) struct FileStore {
    path: PathBuf,
    file: File,
    /// Bytes written whole.
    len: u64,
    /// Size right after the last snapshot.
    base: u64,
    /// A write failed: what the file holds is behind the session; the next write is a snapshot.
    broken: bool,
    /// Log growth after which a snapshot replaces it.
    compact_min: u64,
    /// For the flusher (batched durability): a handle on the current file, and whether it has unsynced writes.
    sync_handle: Arc<Mutex<Option<File>>>,
    dirty: Arc<AtomicBool>,
}

impl core::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FileStore")
            .field("path", &self.path)
            .field("len", &self.len)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl FileStore {
    /// Creates the store at `path` holding `snapshot` (frames), replacing what was there.
    pub(crate) fn create(
        path: &Path,
        snapshot: &[u8],
        compact_min: u64,
    ) -> Result<Self, StoreError> {
        let file = write_aside(path, snapshot).map_err(|e| StoreError::io(path, e))?;
        let len = (HEADER + snapshot.len()) as u64;
        let sync_handle = Arc::new(Mutex::new(file.try_clone().ok()));
        Ok(Self {
            path: path.to_owned(),
            file,
            len,
            base: len,
            broken: false,
            compact_min,
            sync_handle,
            dirty: Arc::new(AtomicBool::new(false)),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the next write must be a snapshot: the log grew enough to compact, or a write failed.
    pub(crate) fn wants_snapshot(&self) -> bool {
        self.broken || self.len - self.base > self.compact_min.max(2 * self.base)
    }

    /// Appends frames with one write. A failure leaves the store broken (the next write is a snapshot).
    pub(crate) fn append(&mut self, frames: &[u8]) -> Result<(), StoreError> {
        match self.file.write_all(frames) {
            Ok(()) => {
                self.len += frames.len() as u64;
                self.dirty.store(true, Ordering::Release);
                Ok(())
            }
            Err(e) => {
                self.broken = true;
                Err(StoreError::io(&self.path, e))
            }
        }
    }

    /// Makes what was written durable (`fdatasync`).
    pub(crate) fn sync(&mut self) -> Result<(), StoreError> {
        self.dirty.store(false, Ordering::Release);
        self.file.sync_data().map_err(|e| {
            self.broken = true;
            StoreError::io(&self.path, e)
        })
    }

    /// Replaces the log by `snapshot` (frames), durably.
    pub(crate) fn rewrite(&mut self, snapshot: &[u8]) -> Result<(), StoreError> {
        match write_aside(&self.path, snapshot) {
            Ok(file) => {
                *self
                    .sync_handle
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = file.try_clone().ok();
                self.file = file;
                self.len = (HEADER + snapshot.len()) as u64;
                self.base = self.len;
                self.broken = false;
                Ok(())
            }
            Err(e) => {
                self.broken = true;
                Err(StoreError::io(&self.path, e))
            }
        }
    }

    /// Syncs the file every `period` while it has unsynced writes, on a thread of its own, until the store is
    /// dropped.
    pub(crate) fn sync_every(&self, period: Duration, alive: Weak<()>) {
        let (handle, dirty) = (self.sync_handle.clone(), self.dirty.clone());
        let spawned = std::thread::Builder::new()
            .name("mqtt-store-sync".into())
            .spawn(move || {
                while alive.upgrade().is_some() {
                    std::thread::sleep(period);
                    if dirty.swap(false, Ordering::AcqRel)
                        && let Some(file) = &*handle.lock().unwrap_or_else(PoisonError::into_inner)
                        && let Err(error) = file.sync_data()
                    {
                        tracing::error!(%error, "syncing the message store failed");
                        dirty.store(true, Ordering::Release);
                    }
                }
            });
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot start the message store's sync thread");
        }
    }

    /// Syncs what is left unsynced (when the store is closed).
    pub(crate) fn flush(&mut self) {
        if self.dirty.swap(false, Ordering::AcqRel) {
            let _ = self.file.sync_data();
        }
    }
}

/// Writes a log holding `frames` beside `path`, syncs it, renames it over `path` and syncs the directory.
fn write_aside(path: &Path, frames: &[u8]) -> io::Result<File> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)?;
    let mut header = [0u8; HEADER];
    header[..8].copy_from_slice(MAGIC);
    header[8..12].copy_from_slice(&VERSION.to_le_bytes());
    file.write_all(&header)?;
    file.write_all(frames)?;
    file.sync_data()?;
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        // Some platforms cannot open a directory to sync it; the rename is then as durable as they make it.
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(file)
}

/// Moves a damaged store aside (`<file>.corrupt`, replacing an older one), to start without it.
pub(crate) fn move_aside(path: &Path) -> Result<PathBuf, StoreError> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(".corrupt");
    let aside = PathBuf::from(aside);
    fs::rename(path, &aside).map_err(|e| StoreError::io(path, e))?;
    Ok(aside)
}

#[cfg(test)]
#[path = "file_store_tests.rs"]
mod tests;
