//! Persistence for the std clients: [`Options::persistence`] keeps the session in a file, so that a client
//! restarted after a crash (same file, same client identifier) resumes its QoS 1 and 2 flows, and tells the
//! application how each message it inherited ends ([`Shared::take_recovered`], the bindings' `Client::recovered`).
//!
//! The session notes every change ([`session::persist`](crate::session::persist)); this module writes the changes
//! into the [file store](super::file_store): the handle that publishes writes its message's record before
//! `publish` returns, and the runner writes the rest at each turn, before the session sends what depends on it.
//! Both write under the session's lock, so the file holds the changes in the order they happened.

use core::time::Duration;
use std::borrow::ToOwned;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::vec::Vec;

use futures_channel::oneshot;

use super::command::Published;
use super::file_store::{FileStore, Log, StoreError, StoreErrorKind, frame, move_aside};
use super::{Core, Error, Message, Options, Shared};
use crate::Session;
use crate::codec::QoS;
use crate::session::Ticket;
use crate::session::persist::{Change, Persist};

/// How durable a stored change is when the client goes on (see [`Persistence::durability`]).
///
/// Every level keeps each change in the file with a `write(2)` before the client relies on it: before `publish`
/// returns, before a packet that depends on it goes out. What the levels differ in is `fsync`: whether the change
/// also survives the machine (a power loss, a kernel crash), and what that costs.
///
/// | level | survives a crash of the process | survives a power loss | cost |
/// |---|---|---|---|
/// | `EveryMessage` | everything | everything | an `fsync` per `publish` and per turn of the runner that stored something: a few hundred to a few thousand messages per second, by the disk |
/// | `Batched(period)` | everything | all but the last `period` | an `fsync` every `period` on a thread of its own, off the client's path |
/// | `None` | everything | what the operating system wrote back by then (usually the last 5 to 30 s are at risk) | no `fsync` (but one when the file is compacted) |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Durability {
    /// `fsync` before `publish` returns and before anything that depends on a change is sent.
    EveryMessage,
    /// `fsync` every period (if something was written), on a thread of the store.
    Batched(Duration),
    /// Never `fsync` (but when compacting).
    None,
}

impl Default for Durability {
    /// [`Durability::Batched`] every 10 ms.
    fn default() -> Self {
        Self::Batched(Duration::from_millis(10))
    }
}

/// Where and how the client keeps its session across restarts: see [`Options::persistence`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Persistence {
    path: PathBuf,
    durability: Durability,
    start_fresh_if_corrupt: bool,
    compact_after: u64,
}

impl Persistence {
    /// The session is kept in the file at `path` (created if missing; its directory must exist). One client, and
    /// one process, per file.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            durability: Durability::default(),
            start_fresh_if_corrupt: false,
            compact_after: 4 * 1024 * 1024,
        }
    }

    /// How durable each change is (default [`Durability::Batched`] every 10 ms).
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// With `true`, a damaged file (a record that fails its checksum with valid records after it, or one that
    /// cannot be restored) is moved aside to `<file>.corrupt` and the client starts with an empty session, logging
    /// a warning; the messages it held are lost. With `false` (the default), creating the client fails with
    /// [`Error::Store`], which names the file and the offset of the damage.
    pub fn start_fresh_if_corrupt(mut self, start_fresh: bool) -> Self {
        self.start_fresh_if_corrupt = start_fresh;
        self
    }

    /// How much the log may grow beyond its last snapshot (and beyond twice that snapshot) before it is compacted
    /// (default 4 MiB).
    pub fn compact_after(mut self, bytes: u64) -> Self {
        self.compact_after = bytes.max(4096);
        self
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The store of one client, opened by [`Options::open_session`]; give it to [`Shared::with_store`].
pub struct Store {
    file: FileStore,
    durability: Durability,
    /// Frames of the changes being written.
    frames: Vec<u8>,
    /// Keeps the sync thread of batched durability alive.
    _alive: Arc<()>,
}

impl core::fmt::Debug for Store {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Store")
            .field("file", &self.file)
            .field("durability", &self.durability)
            .finish_non_exhaustive()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if self.durability != Durability::None {
            self.file.flush();
        }
    }
}

impl Store {
    /// Writes what the session has to store, and tells it how far that is durable. Whether anything was written.
    pub(crate) fn write(&mut self, session: &mut Session<'_>) -> Result<bool, StoreError> {
        if self.file.wants_snapshot() {
            self.snapshot(session)?;
            return Ok(true);
        }
        self.frames.clear();
        while let Some(persist) = session.poll_persist() {
            match persist {
                Persist::Change(change) => frame(&mut self.frames, &change),
                // More changes than the journal held: the whole state instead.
                _ => {
                    self.snapshot(session)?;
                    return Ok(true);
                }
            }
        }
        if self.frames.is_empty() {
            return Ok(false);
        }
        let mark = session.persist_mark();
        self.file.append(&self.frames)?;
        if self.durability == Durability::EveryMessage {
            self.file.sync()?;
        }
        session.handle_persisted(mark);
        Ok(true)
    }

    /// Replaces the file by a snapshot of the session (compaction, or recovery from a failed write).
    fn snapshot(&mut self, session: &mut Session<'_>) -> Result<(), StoreError> {
        let mark = session.begin_snapshot();
        self.frames.clear();
        for change in session.snapshot() {
            frame(&mut self.frames, &change);
        }
        self.file.rewrite(&self.frames)?;
        session.handle_persisted(mark);
        Ok(())
    }
}

impl Options {
    /// Keeps the session in a file so that a restarted client resumes it: outgoing QoS 1 and 2 messages (every
    /// message whose `publish` returned, at the durability chosen), incoming QoS 2 flows half done, subscriptions
    /// and the client identifier. Restarted with the same file and client identifier, the client sends the
    /// messages again (with DUP and their packet identifiers; PUBREL where PUBREC had arrived) and the bindings'
    /// `Client::recovered` tells how each ends. Use it with [`clean_start`](Self::clean_start)`(false)` and a
    /// [`session_expiry`](Self::session_expiry), so that the broker keeps its side of the session too.
    pub fn persistence(mut self, persistence: Persistence) -> Self {
        self.persistence = Some(persistence);
        self
    }

    /// A session configured by these options, restored from the store when [`persistence`](Self::persistence) is
    /// set, with the store to hand to [`Shared::with_store`]. (The bindings' `new` and `connect` call it.)
    ///
    /// # Errors
    ///
    /// As [`session`](Self::session), and [`Error::Store`] when the store cannot be read or written, or is damaged
    /// (unless [`Persistence::start_fresh_if_corrupt`]).
    pub fn open_session(&self) -> Result<(Session<'static>, Option<Store>), Error> {
        let Some(persistence) = &self.persistence else {
            return Ok((self.session()?, None));
        };
        let path = &persistence.path;
        let mut session = self.session()?;
        match restore(path, &mut session) {
            Ok(()) => {}
            Err(error)
                if persistence.start_fresh_if_corrupt
                    && matches!(
                        error.kind,
                        StoreErrorKind::Corrupt(_) | StoreErrorKind::Record(_)
                    ) =>
            {
                let aside = move_aside(path).map_err(Error::Store)?;
                tracing::warn!(%error, aside = %aside.display(), "message store damaged: moved aside, starting empty");
                session = self.session()?;
            }
            Err(error) => return Err(Error::Store(error)),
        }
        session.enable_persistence();
        let mark = session.begin_snapshot();
        let mut frames = Vec::new();
        for change in session.snapshot() {
            frame(&mut frames, &change);
        }
        let file =
            FileStore::create(path, &frames, persistence.compact_after).map_err(Error::Store)?;
        session.handle_persisted(mark);
        let alive = Arc::new(());
        if let Durability::Batched(period) = persistence.durability {
            file.sync_every(period, Arc::downgrade(&alive));
        }
        Ok((
            session,
            Some(Store {
                file,
                durability: persistence.durability,
                frames,
                _alive: alive,
            }),
        ))
    }
}

/// A message of the log as it stands after every record about it: its own record, and what later ones changed.
struct Folded<'a> {
    offset: u64,
    change: Change<'a>,
}

/// Restores the records of the log at `path` into `session`.
///
/// The log is folded first, in one pass: each message's later records (its packet identifier, PUBREC, its end)
/// are applied to its own record here, so that the session restores each live message once, in publish order,
/// in its final form (the session would otherwise look each message up by ticket for each record about it).
/// The other records (identity, QoS 2 identifiers, subscriptions) are restored in the order they were written.
fn restore(path: &Path, session: &mut Session<'_>) -> Result<(), StoreError> {
    let log = Log::read(path)?;
    let mut messages: Vec<Option<Folded<'_>>> = Vec::new();
    let mut by_ticket: HashMap<Ticket, usize> = HashMap::new();
    let mut records = 0usize;
    for (offset, record) in log.records() {
        records += 1;
        let change = Change::decode(record).map_err(|e| StoreError::record(path, offset, e))?;
        match change {
            Change::Message { ticket, .. } => {
                if let Some(old) = by_ticket.insert(ticket, messages.len())
                    && let Some(slot) = messages.get_mut(old)
                {
                    *slot = None;
                }
                messages.push(Some(Folded { offset, change }));
            }
            Change::State {
                ticket,
                form: new_form,
                packet_id: new_id,
            } => {
                if let Some(Some(Folded {
                    change:
                        Change::Message {
                            form, packet_id, ..
                        },
                    ..
                })) = by_ticket.get(&ticket).and_then(|&i| messages.get_mut(i))
                {
                    *form = new_form;
                    *packet_id = new_id;
                }
            }
            Change::Done { ticket } => {
                if let Some(i) = by_ticket.remove(&ticket)
                    && let Some(slot) = messages.get_mut(i)
                {
                    *slot = None;
                }
            }
            _ => session
                .restore(record)
                .map_err(|e| StoreError::record(path, offset, e))?,
        }
    }
    let mut buf = Vec::new();
    for Folded { offset, change } in messages.into_iter().flatten() {
        buf.resize(change.encoded_len(), 0);
        let n = change.encode(&mut buf).unwrap_or(0);
        session
            .restore(buf.get(..n).unwrap_or_default())
            .map_err(|e| StoreError::record(path, offset, e))?;
    }
    if let Some(offset) = log.torn_at {
        tracing::info!(path = %path.display(), offset, "message store: a write torn by a crash is cut off");
    }
    if records > 0 {
        tracing::info!(
            path = %path.display(),
            records,
            messages = session.recovered().count(),
            "message store restored"
        );
    }
    Ok(())
}

impl Shared {
    /// Keeps the session in `store` from now on (none: in memory only), and prepares the outcomes of the messages
    /// the session inherited from it ([`take_recovered`](Self::take_recovered)). Call before the runner starts.
    pub fn with_store(mut self, store: Option<Store>) -> Self {
        let Some(store) = store else {
            return self;
        };
        let core = self.core.get_mut().unwrap_or_else(PoisonError::into_inner);
        let Core { session, dispatch } = core;
        let mut recovered = Vec::new();
        for r in session.recovered() {
            let (done, outcome) = oneshot::channel();
            match r.failed {
                Some(failure) => {
                    let _ = done.send(Err(Error::PublishFailed(failure)));
                }
                None => {
                    dispatch.publishes.insert(r.ticket, done);
                }
            }
            let message = Message::received(&r.message, None);
            dispatch.last_delivery_id += 1;
            let published = Published {
                id: dispatch.last_delivery_id,
                done: Some(outcome),
            };
            recovered.push((message, published));
        }
        *self
            .recovered
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner) = recovered;
        self.store = Some(Mutex::new(store));
        self
    }

    /// The messages the client inherited from its store when it started (each once: a second call gives none),
    /// in publish order, each with its id (given when the client started, before any new message's) and the
    /// outcome to wait for: the broker's acknowledgement, or why it failed.
    pub fn take_recovered(&self) -> Vec<(Message, Published)> {
        core::mem::take(
            &mut *self
                .recovered
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// The runner's turn, with the session locked: writes what the session has to store (nothing without a
    /// store). Whether the session may send again (it was waiting for the store, and is no longer).
    pub fn persist(&self, session: &mut Session<'_>) -> bool {
        let Some(store) = &self.store else {
            return false;
        };
        let waiting = session.is_waiting_for_store();
        // Nothing new, and nothing held back by a write that failed: nothing to do (not even to lock the store).
        if !session.wants_persist() && !waiting {
            return false;
        }
        let mut store = store.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(error) = store.write(session) {
            tracing::error!(%error, "writing the message store failed: nothing is sent until it works again");
        }
        waiting && !session.is_waiting_for_store()
    }

    /// After `publish` accepted a message, with the session still locked: its record is written before `publish`
    /// returns. If that fails, the message is taken back and the error returned.
    pub(crate) fn persist_published(&self, core: &mut Core, qos: QoS) -> Result<(), Error> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        if qos == QoS::AtMostOnce {
            // Not kept: the runner writes whatever else changed.
            return Ok(());
        }
        let mut store = store.lock().unwrap_or_else(PoisonError::into_inner);
        let Err(error) = store.write(&mut core.session) else {
            return Ok(());
        };
        // The message is the newest; nothing could give it an identifier since `publish`.
        if let Some(ticket) = core.session.recovered().last().map(|r| r.ticket)
            && core.session.withdraw(ticket)
        {
            core.dispatch.publishes.remove(&ticket);
        }
        Err(Error::Store(error))
    }

    /// The store's file, if the client has one.
    pub fn store_path(&self) -> Option<PathBuf> {
        let store = self.store.as_ref()?;
        let path = store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .file
            .path()
            .to_owned();
        Some(path)
    }
}
