//! A stream of numbered QoS 1 messages through a cluster, and what a test checks about it: every message the
//! broker acknowledged is received, how many came twice, how long the client took to move to another node.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use mqtt_tokio::{Client, ConnectionState, Message, QoS, Subscription};
use tokio::task::JoinHandle;

use super::WAIT;

/// Publishes are kept at most this many unacknowledged at a time.
pub(crate) const WINDOW: usize = 64;

/// The payload of message `seq`: its number, then padding to 64 bytes.
pub(crate) fn payload(seq: u32) -> Vec<u8> {
    let mut payload = seq.to_be_bytes().to_vec();
    payload.resize(64, b'.');
    payload
}

fn seq_of(message: &Message) -> u32 {
    let mut bytes = [0; 4];
    bytes.copy_from_slice(&message.payload[..4]);
    u32::from_be_bytes(bytes)
}

/// What a publisher saw: each message number the broker acknowledged, with the time of the acknowledgement.
#[derive(Debug, Default, Clone)]
pub(crate) struct Acks(Arc<Mutex<Vec<(u32, Instant)>>>);

impl Acks {
    pub(crate) fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    pub(crate) fn all(&self) -> Vec<(u32, Instant)> {
        self.0.lock().unwrap().clone()
    }

    /// The numbers of the messages acknowledged, in the order of their acknowledgements.
    pub(crate) fn seqs(&self) -> Vec<u32> {
        self.all().into_iter().map(|(seq, _)| seq).collect()
    }

    /// The first acknowledgement at or after `at`, as the time since `at`.
    pub(crate) fn first_after(&self, at: Instant) -> Option<Duration> {
        self.all()
            .into_iter()
            .filter(|&(_, t)| t >= at)
            .map(|(_, t)| t - at)
            .min()
    }

    /// Waits (at most `timeout`) until at least `count` messages are acknowledged.
    pub(crate) async fn reach(&self, count: usize, timeout: Duration) {
        let started = Instant::now();
        while self.count() < count {
            assert!(
                started.elapsed() < timeout,
                "only {} of {count} messages acknowledged within {timeout:?}",
                self.count()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// How fast [`publish`] goes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Pace {
    /// As fast as the window allows.
    Full,
    /// At most this many messages per millisecond: a stream that lasts, so that a node can fail in its middle.
    PerMillisecond(u32),
}

/// Publishes messages `seqs` to `topic` at QoS 1, at most [`WINDOW`] unacknowledged, each with a deadline of
/// `each`, recording the acknowledgements; returns the client (which stays connected). Panics on a failed
/// delivery.
pub(crate) async fn publish(
    client: Client,
    topic: String,
    seqs: Range<u32>,
    pace: Pace,
    each: Duration,
    acks: Acks,
) -> Client {
    let mut pending = FuturesUnordered::new();
    let mut ticks = tokio::time::interval(Duration::from_millis(1));
    for (n, seq) in seqs.enumerate() {
        if let Pace::PerMillisecond(batch) = pace
            && n % batch as usize == 0
        {
            ticks.tick().await;
        }
        while pending.len() >= WINDOW {
            settle(&mut pending, &acks).await;
        }
        let delivery = client
            .publish(topic.as_str(), payload(seq), QoS::AtLeastOnce, false)
            .await
            .unwrap_or_else(|e| panic!("publish {seq}: {e}"));
        pending.push(async move { (seq, delivery.wait_timeout(each).await) });
    }
    while !pending.is_empty() {
        settle(&mut pending, &acks).await;
    }
    client
}

/// Publishes messages `seqs` to `topic` from a task of its own, paced to last ([`Pace::PerMillisecond`] 1) so that a
/// node can fail in its middle, each delivery with a deadline of [`WAIT`]; returns the acknowledgements as they come
/// and the task, which ends with the client.
pub(crate) fn spawn_stream(
    client: Client,
    topic: &str,
    seqs: Range<u32>,
) -> (Acks, JoinHandle<Client>) {
    let acks = Acks::default();
    let task = tokio::spawn(publish(
        client,
        topic.to_owned(),
        seqs,
        Pace::PerMillisecond(1),
        WAIT,
        acks.clone(),
    ));
    (acks, task)
}

/// Publishes 10,000 messages to `topic` from `publisher` as fast as the window allows, and checks that `received`
/// gets every one of them once, printing how fast as `what`.
pub(crate) async fn deliver_everything_once(
    publisher: Client,
    topic: &str,
    received: &Received,
    what: &str,
) {
    let total = 10_000;
    let started = Instant::now();
    publish(
        publisher,
        topic.to_owned(),
        0..total,
        Pace::Full,
        WAIT,
        Acks::default(),
    )
    .await;
    let all: Vec<u32> = (0..total).collect();
    let missing = received.wait_for(&all, WAIT).await;
    let took = started.elapsed();
    println!(
        "{what}: {} of {total} QoS 1 messages from node 1 received on node 2 in {took:.1?} ({:.0} msg/s), \
         duplicates {:?}",
        received.distinct(),
        f64::from(total) / took.as_secs_f64(),
        received.duplicates()
    );
    assert!(
        missing.is_empty(),
        "{} messages lost: {missing:?}",
        missing.len()
    );
    assert_eq!(received.duplicates(), (0, 0));
    assert_eq!(received.distinct(), total as usize);
}

async fn settle<F>(pending: &mut FuturesUnordered<F>, acks: &Acks)
where
    F: Future<Output = (u32, Result<(), mqtt_tokio::Error>)>,
{
    if let Some((seq, outcome)) = pending.next().await {
        outcome.unwrap_or_else(|e| panic!("delivery of message {seq}: {e}"));
        acks.0.lock().unwrap().push((seq, Instant::now()));
    }
}

/// What a subscriber received: how many times each message number, and when it first came.
#[derive(Debug, Default, Clone)]
pub(crate) struct Received(Arc<Mutex<BTreeMap<u32, (u32, Instant)>>>);

impl Received {
    /// Subscribes `client` to `filter` at QoS 1 and receives what comes, in a task of its own, until the test drops
    /// the client.
    pub(crate) async fn subscribe(client: &Client, filter: &str) -> Self {
        let subscription = client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
        let received = Self::default();
        tokio::spawn(received.clone().collect(subscription));
        received
    }

    /// Receives from `subscription` until it ends (the test drops the client).
    pub(crate) async fn collect(self, mut subscription: Subscription) {
        while let Some(message) = subscription.recv().await {
            let seq = seq_of(&message);
            let mut received = self.0.lock().unwrap();
            received.entry(seq).or_insert((0, Instant::now())).0 += 1;
        }
    }

    pub(crate) fn distinct(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// Messages received more than once, and how many extra copies.
    pub(crate) fn duplicates(&self) -> (usize, u32) {
        let received = self.0.lock().unwrap();
        let twice = received.values().filter(|(n, _)| *n > 1).count();
        let extra = received.values().map(|(n, _)| n - 1).sum();
        (twice, extra)
    }

    pub(crate) fn contains(&self, seq: u32) -> bool {
        self.0.lock().unwrap().contains_key(&seq)
    }

    /// When message `seq` first came.
    pub(crate) fn at(&self, seq: u32) -> Option<Instant> {
        self.0.lock().unwrap().get(&seq).map(|&(_, at)| at)
    }

    /// The message numbers received, in order.
    pub(crate) fn seqs(&self) -> Vec<u32> {
        self.0.lock().unwrap().keys().copied().collect()
    }

    /// Waits (at most `timeout`) until every message of `seqs` was received; returns those still missing.
    pub(crate) async fn wait_for(&self, seqs: &[u32], timeout: Duration) -> Vec<u32> {
        let started = Instant::now();
        loop {
            let missing: Vec<u32> = seqs
                .iter()
                .copied()
                .filter(|&s| !self.contains(s))
                .collect();
            if missing.is_empty() || started.elapsed() >= timeout {
                return missing;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Every connection state of a client, with the time it came.
#[derive(Debug, Default, Clone)]
pub(crate) struct States(Arc<Mutex<Vec<(Instant, ConnectionState)>>>);

impl States {
    /// Records the states of `client` from now on, in a task of its own.
    pub(crate) fn record(client: &Client) -> Self {
        let states = Self::default();
        let mut stream = client.states();
        let record = states.clone();
        tokio::spawn(async move {
            while let Some(state) = stream.next().await {
                record.0.lock().unwrap().push((Instant::now(), state));
            }
        });
        states
    }

    pub(crate) fn all(&self) -> Vec<(Instant, ConnectionState)> {
        self.0.lock().unwrap().clone()
    }

    /// The first `Connected` after `at`: how long after `at`, to which broker, with which session flag.
    pub(crate) fn connected_after(&self, at: Instant) -> Option<(Duration, String, bool)> {
        self.all().into_iter().find_map(|(t, state)| match state {
            ConnectionState::Connected {
                session_present,
                broker,
                ..
            } if t >= at => Some((t - at, broker, session_present)),
            _ => None,
        })
    }

    /// When the client first saw its connection end after `at` (a `Lost` state).
    pub(crate) fn lost_after(&self, at: Instant) -> Option<Instant> {
        self.all().into_iter().find_map(|(t, state)| {
            (t >= at && matches!(state, ConnectionState::Lost(_))).then_some(t)
        })
    }

    /// Waits (at most `timeout`) for a `Connected` after `at`.
    pub(crate) async fn wait_connected_after(
        &self,
        at: Instant,
        timeout: Duration,
    ) -> (Duration, String, bool) {
        let started = Instant::now();
        loop {
            if let Some(connected) = self.connected_after(at) {
                return connected;
            }
            assert!(
                started.elapsed() < timeout,
                "no connection within {timeout:?}; states: {:#?}",
                self.all()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The states after `at`, for failure messages and reports.
    pub(crate) fn after(&self, at: Instant) -> Vec<String> {
        self.all()
            .into_iter()
            .filter(|(t, _)| *t >= at)
            .map(|(t, state)| format!("+{:?}: {state}", t - at))
            .collect()
    }
}
