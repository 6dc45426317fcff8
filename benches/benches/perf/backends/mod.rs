//! The clients under test, one module each behind [`Backend`]. Adding a backend is one file here and one line in
//! [`ALL`].
//!
//! Every backend runs each role the way its users would, on one thread where the library allows it (tokio's
//! current-thread runtime, smol's local executor; mqtt-blocking's event loop has a thread of its own), with the
//! same settings: MQTT 3.1.1, [`INFLIGHT`] outgoing QoS 1/2 messages in flight,
//! `TCP_NODELAY`, keep alive 60 s, clean session. A role connects, then calls its meter around the measured part;
//! it bounds its main phase by [`Job::deadline`](crate::workload::Job) and returns an error saying where it stalled.

mod blocking_binding;
mod embedded_std;
pub(crate) mod floor;
mod rumqttc_peer;
mod smol_binding;
mod tokio_binding;

use std::time::Duration;

use crate::child::{IdleMeter, PingMeter, PubMeter, SlowMeter, SubMeter};
use crate::workload::Job;

/// One client library, able to play every role of the harness.
pub(crate) trait Backend: Sync {
    /// Its name in the report and on the command line.
    fn name(&self) -> &'static str;

    /// Publishes `job.count` payloads from `meter.payload(seq)` at `job.qos` to `job.topic`; calls
    /// `meter.started()` once connected, `meter.waited()` whenever the client has no room, `meter.acked()` once
    /// everything is acknowledged (or handed over, at QoS 0), and `meter.done()` after disconnecting.
    fn publisher(&self, job: &Job, meter: &mut PubMeter) -> Result<(), String>;

    /// Subscribes to `job.topic` at `job.qos`, calls `meter.ready()`, hands every payload to `meter.received()`
    /// until it returns `true` or `meter.take_stop()` resolves, then calls `meter.done()`.
    fn subscriber(&self, job: &Job, meter: &mut SubMeter) -> Result<(), String>;

    /// Subscribes to `job.topic` at `job.qos`, then `meter.total()` times publishes `meter.payload(seq)` there at
    /// `job.qos` and waits until `meter.received()` returns that `seq`.
    fn ping_pong(&self, job: &Job, meter: &mut PingMeter) -> Result<(), String>;

    /// Opens one connection and calls `meter.baseline()`, then opens more, `job.concurrency` at a time, calling
    /// `meter.mark(n)` once `n` are open for each `n` of `job.marks`. Connections stay idle and open until the
    /// process exits.
    fn idle(&self, job: &Job, meter: &mut IdleMeter) -> Result<(), String>;

    /// The slow consumer: subscribes to `job.topic` at `job.qos`, calls `meter.ready()`, takes no message for
    /// `meter.hold_left()` (the way an application of this library would fall behind: a stream or queue not read,
    /// a handler that does not return), then hands every payload to `meter.received()` as
    /// [`subscriber`](Self::subscriber) does, and calls `meter.done()`.
    fn slow_subscriber(&self, job: &Job, meter: &mut SlowMeter) -> Result<(), String>;

    /// Whether the publisher can keep its session in a file store (`Job::store`).
    fn persists(&self) -> bool {
        false
    }
}

/// Every backend, in report order. The last one is the peer the others are compared with.
pub(crate) static ALL: &[&dyn Backend] = &[
    &tokio_binding::MqttTokio,
    &smol_binding::MqttSmol,
    &blocking_binding::MqttBlocking,
    &embedded_std::MqttEmbedded,
    &rumqttc_peer::Rumqttc,
];

/// The name of the peer every ratio is taken against.
pub(crate) const PEER: &str = "rumqttc";

/// The backend called `name`.
pub(crate) fn find(name: &str) -> Option<&'static dyn Backend> {
    ALL.iter().copied().find(|backend| backend.name() == name)
}

/// The raw-socket ping-pong every latency measurement also runs: the least a round trip takes on this machine.
pub(crate) static FLOOR: &dyn Backend = &floor::Floor;

/// What a child process plays: a backend, or the floor.
pub(crate) fn find_child(name: &str) -> Option<&'static dyn Backend> {
    find(name).or_else(|| (name == floor::NAME).then_some(FLOOR))
}

/// Outgoing QoS 1 and 2 messages in flight, for every backend: our default (rumqttc's is 100).
pub(crate) const INFLIGHT: u16 = 64;

/// How long a client may take to connect.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a graceful disconnect may take.
pub(crate) const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Outstanding QoS 1/2 deliveries a publisher of ours keeps before awaiting the oldest (its own backpressure, on
/// top of the client's queue).
pub(crate) const DELIVERY_WINDOW: usize = 1000;

/// How long a publisher sleeps when the client's queue is full and no delivery is outstanding (QoS 0).
pub(crate) const FULL_QUEUE_PAUSE: Duration = Duration::from_millis(1);

/// The error text of a role's phase that did not finish in time.
pub(crate) fn stalled(phase: &str, deadline: Duration) -> String {
    format!(
        "stalled: {phase} did not finish within {} s",
        deadline.as_secs_f64()
    )
}
