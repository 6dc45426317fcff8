//! mqtt-blocking, used as its documentation shows: `mqtt_blocking::connect` starts the event loop on a thread of
//! its own (`mqtt-event-loop`) and the role runs on the calling thread with the blocking `Client`: two threads per
//! client, which is what this binding is (there is no async runtime to share one thread with). Each connection
//! attempt also opens its socket on a short-lived `mqtt-connect` thread.
//!
//! The subscriber counts its messages in the subscription's callback, on the event loop's thread, as paho's
//! `messageArrived` users do: one thread handles a message from the socket to the application, as in the async
//! backends. (Forwarding each payload to the role's thread through a channel cost a thread wake-up per message:
//! 6.55 µs of CPU per message at QoS 0 through mosquitto, against 4.12 for mqtt-tokio.) The ping-pong role
//! forwards each payload to the thread that publishes, a request/response application's shape; `messages()` is
//! used by the slow consumer.

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mqtt_blocking::{Client, ConnectionState, Delivery, Error, Options, ProtocolVersion, QoS};
use mqtt_core::PublishError;

use super::{Backend, CONNECT_TIMEOUT, DELIVERY_WINDOW, DISCONNECT_TIMEOUT, INFLIGHT, stalled};
use crate::child::{self, IdleMeter, PingMeter, PubMeter, SlowMeter, SubMeter};
use crate::workload::Job;

/// mqtt-blocking.
pub(crate) struct MqttBlocking;

impl Backend for MqttBlocking {
    fn persists(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "mqtt-blocking"
    }

    fn publisher(&self, job: &Job, meter: &mut PubMeter) -> Result<(), String> {
        publisher(job, meter)
    }

    fn subscriber(&self, job: &Job, meter: &mut SubMeter) -> Result<(), String> {
        subscriber(job, meter)
    }

    fn ping_pong(&self, job: &Job, meter: &mut PingMeter) -> Result<(), String> {
        ping_pong(job, meter)
    }

    fn idle(&self, job: &Job, meter: &mut IdleMeter) -> Result<(), String> {
        idle(job, meter)
    }

    fn slow_subscriber(&self, job: &Job, meter: &mut SlowMeter) -> Result<(), String> {
        slow_subscriber(job, meter)
    }
}

/// How often a waiting subscriber looks whether the parent asked it to stop.
const STOP_POLL: Duration = Duration::from_millis(20);

fn qos(level: u8) -> QoS {
    QoS::from_u8(level).unwrap_or(QoS::AtMostOnce)
}

fn options(job: &Job, client_id: &str) -> Result<Options, String> {
    Ok(Options::new(&job.url)
        .map_err(|e| e.to_string())?
        .client_id(client_id)
        .version(ProtocolVersion::V311)
        .keep_alive(Duration::from_secs(60))
        .max_inflight(INFLIGHT)
        .max_inflight_v311(INFLIGHT)
        .connect_timeout(CONNECT_TIMEOUT))
    .map(|options| match &job.store {
        Some(store) => options.persistence(store.persistence()),
        None => options,
    })
}

/// `mqtt_blocking::connect` (blocks until the broker accepted the connection), plus a state callback that reports
/// connection losses.
fn connect(job: &Job, client_id: &str) -> Result<Client, String> {
    let client =
        mqtt_blocking::connect(&options(job, client_id)?).map_err(|e| format!("connect: {e}"))?;
    client.on_state(|_, state| {
        if let ConnectionState::Lost(reason) = state {
            child::connection_lost(reason.to_string());
        }
    });
    Ok(client)
}

/// Subscribes to the job's topic; the payloads come through the returned channel.
fn subscribe(client: &Client, job: &Job) -> Result<Receiver<Bytes>, String> {
    let (payloads, received) = mpsc::channel();
    client
        .subscribe(job.topic.as_str(), qos(job.qos), move |_, message| {
            let _ = payloads.send(message.payload.clone());
        })
        .map_err(|e| format!("subscribe: {e}"))?
        .wait_timeout(CONNECT_TIMEOUT)
        .map_err(|e| format!("subscribe: {e}"))?;
    Ok(received)
}

/// The end of a phase of `job`, and what is left of it.
struct Deadline {
    at: Instant,
    limit: Duration,
    phase: &'static str,
}

impl Deadline {
    fn new(job: &Job, phase: &'static str) -> Self {
        Self {
            at: Instant::now() + job.deadline,
            limit: job.deadline,
            phase,
        }
    }

    fn left(&self) -> Result<Duration, String> {
        self.at
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
            .ok_or_else(|| stalled(self.phase, self.limit))
    }

    /// Waits for `delivery` until the deadline.
    fn wait(&self, delivery: Delivery) -> Result<(), String> {
        delivery.wait_timeout(self.left()?).map_err(|e| match e {
            Error::Timeout => stalled(self.phase, self.limit),
            e => format!("delivery: {e}"),
        })
    }
}

fn publisher(job: &Job, meter: &mut PubMeter) -> Result<(), String> {
    let client = connect(job, &job.client_id)?;
    let qos = qos(job.qos);
    meter.started();
    let deadline = Deadline::new(job, "publishing");
    let mut window = VecDeque::new();
    for seq in 0..job.count {
        let payload = Bytes::from(meter.payload(seq));
        loop {
            match client.publish(job.topic.as_str(), payload.clone(), qos, false) {
                Ok(delivery) => {
                    if qos != QoS::AtMostOnce {
                        window.push_back(delivery);
                        if window.len() >= DELIVERY_WINDOW
                            && let Some(oldest) = window.pop_front()
                        {
                            deadline.wait(oldest)?;
                        }
                    }
                    break;
                }
                Err(Error::Publish(PublishError::QueueFull)) => {
                    meter.waited();
                    match window.pop_front() {
                        Some(oldest) => deadline.wait(oldest)?,
                        // No acknowledgement to wait for (QoS 0): wait for room.
                        None => {
                            let delivery = client
                                .publish_when_room(
                                    job.topic.as_str(),
                                    payload.clone(),
                                    qos,
                                    false,
                                    deadline.left()?,
                                )
                                .map_err(|e| format!("publish: {e}"))?;
                            if qos != QoS::AtMostOnce {
                                window.push_back(delivery);
                            }
                            break;
                        }
                    }
                }
                Err(e) => return Err(format!("publish: {e}")),
            }
        }
    }
    for delivery in window {
        deadline.wait(delivery)?;
    }
    meter.acked();
    client
        .disconnect(DISCONNECT_TIMEOUT)
        .map_err(|e| format!("disconnect: {e}"))?;
    meter.done();
    Ok(())
}

fn subscriber(job: &Job, meter: &mut SubMeter) -> Result<(), String> {
    let client = connect(job, &job.client_id)?;
    // The callback owns the meter while messages arrive (it runs on the event loop's thread); the role waits for
    // it to say that everything came, and takes the meter back.
    let counting = Arc::new(Mutex::new(meter.take()));
    // One signal at most: the callback sends once, when every message has come.
    let (all_came, done) = mpsc::sync_channel(1);
    let in_callback = counting.clone();
    let mut finished = false;
    client
        .subscribe(job.topic.as_str(), qos(job.qos), move |_, message| {
            let mut meter = in_callback.lock().unwrap_or_else(PoisonError::into_inner);
            if !finished && meter.received(&message.payload) {
                finished = true;
                let _ = all_came.try_send(());
            }
        })
        .map_err(|e| format!("subscribe: {e}"))?
        .wait_timeout(CONNECT_TIMEOUT)
        .map_err(|e| format!("subscribe: {e}"))?;
    lock_meter(&counting).ready();
    let deadline = Deadline::new(job, "receiving");
    let outcome = loop {
        if lock_meter(&counting).stop_requested() {
            break Ok(());
        }
        if let Err(stall) = deadline.left() {
            break Err(stall);
        }
        match done.recv_timeout(STOP_POLL) {
            Ok(()) => break Ok(()),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break Err("the subscription ended".to_owned()),
        }
    };
    let mut counted = lock_meter(&counting);
    counted.done();
    *meter = counted.take();
    drop(counted);
    let _ = client.disconnect(DISCONNECT_TIMEOUT);
    outcome
}

fn lock_meter(meter: &Mutex<SubMeter>) -> MutexGuard<'_, SubMeter> {
    meter.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The consumer that polls [`Client::messages`] (opened before subscribing, so that it gets every message; the
/// subscription's own callback does nothing) and does not poll it during the idle phase.
fn slow_subscriber(job: &Job, meter: &mut SlowMeter) -> Result<(), String> {
    let client = connect(job, &job.client_id)?;
    let messages = client.messages();
    client
        .subscribe(job.topic.as_str(), qos(job.qos), |_, _| {})
        .map_err(|e| format!("subscribe: {e}"))?
        .wait_timeout(CONNECT_TIMEOUT)
        .map_err(|e| format!("subscribe: {e}"))?;
    meter.ready();
    let deadline = Deadline::new(job, "receiving");
    // The idle phase, a little at a time to notice a stop.
    while !meter.hold_left().is_zero() && !meter.stop_requested() {
        std::thread::sleep(meter.hold_left().min(STOP_POLL));
    }
    let outcome = loop {
        if meter.stop_requested() {
            break Ok(());
        }
        if let Err(stall) = deadline.left() {
            break Err(stall);
        }
        match messages.recv_timeout(STOP_POLL) {
            Ok(message) => {
                if meter.received(&message.payload) {
                    break Ok(());
                }
            }
            Err(Error::Timeout) => {}
            Err(e) => break Err(format!("messages: {e}")),
        }
    };
    meter.done();
    let _ = client.disconnect(DISCONNECT_TIMEOUT);
    outcome
}

fn ping_pong(job: &Job, meter: &mut PingMeter) -> Result<(), String> {
    let client = connect(job, &job.client_id)?;
    let qos = qos(job.qos);
    let payloads = subscribe(&client, job)?;
    let deadline = Deadline::new(job, "ping-pong");
    for seq in 0..meter.total() {
        let payload = Bytes::from(meter.payload(seq));
        // The acknowledgement is not awaited: the round trip ends when the message comes back.
        drop(
            client
                .publish(job.topic.as_str(), payload, qos, false)
                .map_err(|e| format!("publish: {e}"))?,
        );
        loop {
            let payload = payloads
                .recv_timeout(deadline.left()?)
                .map_err(|e| match e {
                    RecvTimeoutError::Timeout => stalled(deadline.phase, deadline.limit),
                    RecvTimeoutError::Disconnected => "the subscription ended".to_owned(),
                })?;
            if meter.received(&payload) == Some(seq) {
                break;
            }
        }
    }
    let _ = client.disconnect(DISCONNECT_TIMEOUT);
    Ok(())
}

/// A client whose event loop runs on its own thread, not yet connected.
fn start(job: &Job, client_id: &str) -> Result<Client, String> {
    let (client, event_loop) =
        mqtt_blocking::new(&options(job, client_id)?).map_err(|e| format!("connect: {e}"))?;
    event_loop
        .start()
        .map_err(|e| format!("connect: event loop thread: {e}"))?;
    Ok(client)
}

fn idle(job: &Job, meter: &mut IdleMeter) -> Result<(), String> {
    let mut clients = vec![connect(job, &format!("{}-0", job.client_id))?];
    meter.baseline();
    let deadline = Deadline::new(job, "opening connections");
    for &mark in &job.marks {
        while (clients.len() as u64) < mark {
            let open = clients.len();
            let batch = (mark as usize - open).min(job.concurrency);
            // Start a batch of event loops (each connects on its own), then wait for each of them.
            let started = (open..open + batch)
                .map(|n| start(job, &format!("{}-{n}", job.client_id)))
                .collect::<Result<Vec<_>, _>>()?;
            for client in started {
                client
                    .wait_connected(CONNECT_TIMEOUT.min(deadline.left()?))
                    .map_err(|e| format!("connect (connection {}): {e}", clients.len()))?;
                clients.push(client);
            }
        }
        // Let every event loop reach its idle state (keep-alive timer set, poll waiting).
        std::thread::sleep(Duration::from_millis(500));
        meter.mark(mark);
    }
    // The connections end with the process.
    std::mem::forget(clients);
    Ok(())
}
