//! The flapping-broker soak's shared parts: the reconnect schedule both clients use, the broker's flapping, and
//! the arrivals' accounting (exactly once at QoS 2, at least once at QoS 1, first arrivals in publish order).
//! Each std binding's `flapping_broker` test drives its own client with these.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use mqtt_core::reconnect::ReconnectPolicy;

use crate::Mosquitto;

/// The topic of the QoS 1 messages: each payload starts with its sequence number (big-endian `u32`).
pub const QOS1_TOPIC: &str = "soak/1";
/// The topic of the QoS 2 messages.
pub const QOS2_TOPIC: &str = "soak/2";

/// A schedule that comes back quickly after each restart (100 to 400 ms, no jitter), so that every flap is
/// crossed several times by the publisher's window.
#[must_use]
pub fn quick_reconnects() -> ReconnectPolicy {
    ReconnectPolicy {
        initial_delay: Duration::from_millis(100),
        max_backoff: Duration::from_millis(400),
        steady_delay: Duration::from_millis(400),
        jitter_permille: 0,
        stable_after: Duration::from_millis(500),
        ..ReconnectPolicy::default()
    }
}

/// Stops and restarts `broker` (on the same port, its sessions saved) `flaps` times, `up` then `down` each, on
/// a thread; the handle gives the broker back.
#[must_use]
pub fn flap(
    mut broker: Mosquitto,
    flaps: usize,
    up: Duration,
    down: Duration,
) -> JoinHandle<Mosquitto> {
    std::thread::spawn(move || {
        for _ in 0..flaps {
            std::thread::sleep(up);
            broker.stop();
            std::thread::sleep(down);
            broker.restart().unwrap_or_else(|e| panic!("{e}"));
        }
        broker
    })
}

/// The sequence numbers received on each topic, in arrival order. Cloned into the subscriber's callback or task.
#[derive(Debug, Clone, Default)]
pub struct Arrivals(Arc<Mutex<(Vec<u32>, Vec<u32>)>>);

impl Arrivals {
    /// Records a message of the soak.
    ///
    /// # Panics
    ///
    /// On a topic that is not the soak's, or a payload shorter than a sequence number.
    pub fn record(&self, topic: &str, payload: &[u8]) {
        let n = u32::from_be_bytes(
            payload
                .get(..4)
                .and_then(|n| n.try_into().ok())
                .unwrap_or_else(|| panic!("a payload of {} bytes", payload.len())),
        );
        let mut arrivals = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match topic {
            QOS1_TOPIC => arrivals.0.push(n),
            QOS2_TOPIC => arrivals.1.push(n),
            other => panic!("a message on {other}"),
        }
    }

    /// Whether every one of `sent` messages (even sequence numbers at QoS 1, odd at QoS 2) has arrived.
    #[must_use]
    pub fn complete(&self, sent: u32) -> bool {
        let arrivals = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let distinct = |seen: &[u32]| seen.iter().collect::<BTreeSet<_>>().len();
        distinct(&arrivals.0) == sent.div_ceil(2) as usize
            && distinct(&arrivals.1) == (sent / 2) as usize
    }

    /// The last QoS 2 sequence number that arrived.
    #[must_use]
    pub fn last_qos2(&self) -> Option<u32> {
        let arrivals = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        arrivals.1.last().copied()
    }

    /// Checks the order and the repeats, and says what repeated. QoS 2 messages may arrive twice only where the
    /// broker itself sent a released one again as a PUBLISH (`broker_resent`, from its log). `[MQTT-4.6.0-2]`,
    /// `[MQTT-4.6.0-3]`, `[MQTT-4.6.0-6]`
    ///
    /// # Panics
    ///
    /// On a first arrival out of publish order, or a QoS 2 message repeated more than the broker resent.
    #[must_use]
    pub fn check(&self, broker_resent: usize) -> String {
        let arrivals = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (ones_out_of_order, ones_repeated) = out_of_order_and_repeated(&arrivals.0);
        let (twos_out_of_order, twos_repeated) = out_of_order_and_repeated(&arrivals.1);
        assert!(
            ones_out_of_order.is_empty(),
            "QoS 1 first arrivals out of order: {ones_out_of_order:?}"
        );
        assert!(
            twos_out_of_order.is_empty(),
            "QoS 2 first arrivals out of order: {twos_out_of_order:?}"
        );
        assert!(
            twos_repeated <= broker_resent,
            "{twos_repeated} QoS 2 messages arrived twice; the broker resent {broker_resent} released ones as PUBLISH"
        );
        format!(
            "QoS 1 repeated {ones_repeated}, QoS 2 repeated {twos_repeated} (the broker resent {broker_resent} \
             released ones as PUBLISH)"
        )
    }
}

/// First arrivals out of publish order, and arrivals after the first, of one topic's sequence numbers.
fn out_of_order_and_repeated(arrivals: &[u32]) -> (Vec<u32>, usize) {
    let mut seen = BTreeSet::new();
    let mut out_of_order = Vec::new();
    let mut last_first = None;
    for &n in arrivals {
        if seen.insert(n) {
            if last_first.is_some_and(|last| n < last) {
                out_of_order.push(n);
            }
            last_first = Some(n);
        }
    }
    (out_of_order, arrivals.len() - seen.len())
}
