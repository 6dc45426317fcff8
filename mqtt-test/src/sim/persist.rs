//! Persistence in the simulation: a [`SimStore`] that keeps the session's records in memory the way a file store
//! keeps them on disk, and [`Sim::crash`], the death of the client's process.
//!
//! The store models a binding that writes what the session gives ([`Session::poll_persist`]) at every drive, and
//! makes it durable either at once, or only at the next step of the simulation (with `lag`, as a store that
//! syncs on a timer): a crash loses what was written and not yet durable. [`Sim::publish`] stores the message's
//! record durably before it returns, as the std clients do before `publish` returns.

use mqtt_core::session::persist::{Persist, PersistMark};
use mqtt_core::{Buffers, Config, ConfigError, Session};

use super::Sim;
use crate::link::End;

/// The records of a session, as a store keeps them: see the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct SimStore {
    /// Durable records, oldest first.
    durable: Vec<Vec<u8>>,
    /// Written, not durable yet (with `lag`): a crash loses them.
    pending: Vec<Vec<u8>>,
    /// The mark the pending records reach.
    pending_mark: Option<PersistMark>,
    /// Durability comes at the next step rather than at once.
    lag: bool,
    /// Records written so far.
    pub writes: usize,
    /// Snapshots written so far (a journal overflow, or the base after a restart).
    pub snapshots: usize,
}

impl SimStore {
    /// The durable records, oldest first: what a restarted process reads.
    pub fn records(&self) -> &[Vec<u8>] {
        &self.durable
    }

    /// Records written and not durable yet.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Takes every change the session has (or a snapshot), as the binding's write; returns whether it took any.
    fn write(&mut self, session: &mut Session<'_>, durable: bool) -> bool {
        let mut wrote = false;
        let mut buf = Vec::new();
        while let Some(persist) = session.poll_persist() {
            wrote = true;
            match persist {
                Persist::Change(change) => {
                    buf.resize(change.encoded_len(), 0);
                    let n = change.encode(&mut buf).expect("the record fits its length");
                    self.pending.push(buf[..n].to_vec());
                    self.writes += 1;
                }
                Persist::Snapshot => self.snapshot(session),
                _ => unreachable!("no other kind"),
            }
        }
        if wrote {
            self.pending_mark = Some(session.persist_mark());
        }
        if durable || !self.lag {
            self.sync(session);
        }
        wrote
    }

    /// Replaces everything by a snapshot of the session, durable at once (written aside and renamed over).
    fn snapshot(&mut self, session: &mut Session<'_>) {
        let mark = session.persist_mark();
        self.durable = session
            .snapshot()
            .map(|change| {
                let mut buf = vec![0; change.encoded_len()];
                let n = change.encode(&mut buf).expect("the record fits its length");
                buf.truncate(n);
                buf
            })
            .collect();
        self.pending.clear();
        self.pending_mark = None;
        self.snapshots += 1;
        session.handle_persisted(mark);
    }

    /// Makes what was written durable, and tells the session.
    fn sync(&mut self, session: &mut Session<'_>) -> bool {
        let Some(mark) = self.pending_mark.take() else {
            return false;
        };
        self.durable.append(&mut self.pending);
        session.handle_persisted(mark);
        true
    }
}

impl Sim {
    /// Turns persistence on for the session (see [`Session::enable_persistence`]) with a [`SimStore`]; with `lag`,
    /// what the runner writes becomes durable only at the next step (a crash before loses it).
    pub fn enable_persistence(&mut self, lag: bool) {
        self.session.enable_persistence();
        let mut store = SimStore {
            lag,
            ..SimStore::default()
        };
        let mark = self.session.begin_snapshot();
        store.snapshot(&mut self.session);
        self.session.handle_persisted(mark);
        self.note(format!("persistence on (lag: {lag})"));
        self.store = Some(store);
    }

    /// The store, if persistence is on.
    pub fn store(&self) -> Option<&SimStore> {
        self.store.as_ref()
    }

    /// The client's process dies: the session is dropped without any shutdown (nothing more is sent, the
    /// operating system closes the socket, the broker sees the close after what was already on its way), what the
    /// store had not made durable is lost, and a new process starts a session from `config` (the same as before)
    /// restored from the durable records, with persistence on. It does not connect: call
    /// [`connect`](Self::connect).
    ///
    /// # Errors
    ///
    /// The [`ConfigError`] of [`Session::new`].
    ///
    /// # Panics
    ///
    /// Without persistence on, or if a durable record does not restore.
    pub fn crash(&mut self, config: &Config<'_>) -> Result<(), ConfigError> {
        let now = self.now();
        let mut store = self.store.take().expect("crash needs persistence on");
        let lost = store.pending.len();
        store.pending.clear();
        store.pending_mark = None;
        self.trace.push(
            now,
            format!(
                "process crash ({lost} records not durable are lost; {} durable)",
                store.durable.len()
            ),
        );
        self.link.close(End::Client, now);
        self.to_session.clear();
        for reader in &mut self.readers {
            reader.reset();
        }
        let (rx, store_len, subscriptions) = self.buffers;
        let mut session = Session::new(config, Buffers::owned(rx, store_len, subscriptions))?;
        let brokers = 1 + self.failover.len();
        if brokers > 1 {
            session.set_brokers(brokers);
        }
        for (i, record) in store.durable.iter().enumerate() {
            if let Err(e) = session.restore(record) {
                self.fail(format!("record {i} does not restore: {e}"));
            }
        }
        session.enable_persistence();
        let mark = session.begin_snapshot();
        store.snapshot(&mut session);
        session.handle_persisted(mark);
        self.session = session;
        self.store = Some(store);
        self.deadline_seen = None;
        self.timeout_handled_at = None;
        self.unacked.clear();
        self.crashes += 1;
        Ok(())
    }

    /// How many times the client's process crashed.
    pub fn crashes(&self) -> usize {
        self.crashes
    }

    /// The runner's writes at each drive: everything the session has, durable at once unless the store lags.
    pub(super) fn persist(&mut self) -> bool {
        match &mut self.store {
            Some(store) => store.write(&mut self.session, false),
            None => false,
        }
    }

    /// What a `publish` wrote is durable before it returns.
    pub(super) fn persist_now(&mut self) {
        if let Some(store) = &mut self.store {
            store.write(&mut self.session, true);
        }
    }

    /// A lagging store's writes become durable as time moves on.
    pub(super) fn persist_sync(&mut self) -> bool {
        match &mut self.store {
            Some(store) => store.sync(&mut self.session),
            None => false,
        }
    }
}
