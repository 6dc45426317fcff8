//! mqtt-embedded on std, as mqtt-embedded's own mosquitto test runs it: TCP from tokio through
//! `embedded-io-adapters` (`FromTokio<TcpStream>`, `TCP_NODELAY` set by the connector), and the `Runner` and the
//! role in one task on a current-thread runtime (so `NoopRawMutex`), joined with `select`. The clock is
//! mqtt-tokio's `TokioClock` (one tokio timer, re-armed only when the deadline moves), the one mqtt-tokio's own
//! driver uses, so that the comparison is of the clients and not of two clocks (a new `Sleep` per wait, as in
//! mqtt-embedded's test, costs more than the rest of a small message's path).
//!
//! Messages reach the role through the runner's handler, borrowed from the receive buffer (zero copy): the
//! subscriber and the ping-pong hand them to their meter right there, in the runner. The handler also counts the
//! publisher's acknowledgements (`Event::Published`), since the client can await only [`SLOTS`] commands at once:
//! the publisher drops each `Delivery` (the message stays queued) and, when the store is full, waits for the next
//! acknowledgement, as the other publishers of ours wait for their oldest delivery.
//!
//! Every byte is reserved up front in [`Resources`]. For the publisher, subscriber and ping-pong they match our std
//! clients' defaults: a receive buffer of 1 MiB + 1 KiB (the 1 MiB payloads of the sweep), a 4 MiB store for
//! outgoing messages plus the QoS 2 receive table (a bitmap: `receive_maximum` 65,535 as in the std clients, since
//! mosquitto does not bound what it sends a 3.1.1 subscriber) and the CONNECT packet, and 16 KiB of transmit
//! staging. They live in a zero-initialised `static` (in `.bss`: like the std clients' zeroed heap buffers, only
//! what is touched becomes resident). An idle connection gets its own, small [`IdleMemory`] (boxed and leaked),
//! sized as a device would size a client that only keeps a connection open: 2 KiB packets, a 2 KiB store; and its
//! own runner task, spawned on a `LocalSet`.
//!
//! [`SLOTS`]: mqtt_embedded::SLOTS

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::sync::Mutex;
use std::time::Duration;

use embedded_io_adapters::tokio_1::FromTokio;
use futures::channel::oneshot;
use futures::future::Either;
use mqtt_embedded::{
    Config, Connect, Disconnection, Error, Event, NoopRawMutex, ProtocolVersion, Publish,
    PublishError, PublishFailure, QoS, Resources, Runner, Subscription,
};
use mqtt_tokio::TokioClock;
use tokio::net::TcpStream;
use tokio::sync::Notify;

use super::{Backend, CONNECT_TIMEOUT, DISCONNECT_TIMEOUT, FULL_QUEUE_PAUSE, INFLIGHT, stalled};
use crate::child::{self, IdleMeter, PingMeter, PubMeter, SlowMeter, SubMeter};
use crate::workload::Job;

/// mqtt-embedded.
pub(crate) struct MqttEmbedded;

impl Backend for MqttEmbedded {
    fn name(&self) -> &'static str {
        "mqtt-embedded"
    }

    fn publisher(&self, job: &Job, meter: &mut PubMeter) -> Result<(), String> {
        let memory = memory()?;
        block_on(publisher(job, meter, memory))
    }

    fn subscriber(&self, job: &Job, meter: &mut SubMeter) -> Result<(), String> {
        let memory = memory()?;
        block_on(subscriber(job, meter, memory))
    }

    fn ping_pong(&self, job: &Job, meter: &mut PingMeter) -> Result<(), String> {
        let memory = memory()?;
        block_on(ping_pong(job, meter, memory))
    }

    fn idle(&self, job: &Job, meter: &mut IdleMeter) -> Result<(), String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?;
        tokio::task::LocalSet::new().block_on(&runtime, idle(job, meter))
    }

    fn slow_subscriber(&self, job: &Job, meter: &mut SlowMeter) -> Result<(), String> {
        let memory = memory()?;
        block_on(slow_subscriber(job, meter, memory))
    }
}

/// Receive buffer: the largest packet accepted, a 1 MiB payload with its topic and header (our std clients'
/// default `max_packet_size`).
const RX: usize = 1024 * 1024 + 1024;
/// Store: 4 MiB of outgoing messages (our std clients' default `queue_bytes`), the 8 KiB QoS 2 receive bitmap, and
/// the CONNECT packet.
const STORE: usize = 4 * 1024 * 1024 + 8 * 1024 + 512;
/// Subscription table: one filter.
const SUBS: usize = 1024;
/// Transmit staging, as in the std clients.
const TX: usize = 16 * 1024;

/// The memory of a publisher, subscriber or ping-pong client.
type Memory = Resources<'static, NoopRawMutex, Tcp, TokioClock, RX, STORE, SUBS, TX>;

/// The memory of an idle connection.
type IdleMemory = Resources<'static, NoopRawMutex, Tcp, TokioClock, 2048, 2048, 256, 512>;

type Client = mqtt_embedded::Client<'static, NoopRawMutex, Tcp, TokioClock>;

/// The memory of the process's one publisher, subscriber or ping-pong client. All zeros, so it lands in `.bss`:
/// pages become resident as they are touched, and nothing is built on the stack (`Box::new(Memory::new())` builds
/// the 5 MiB there first, and they stay resident).
static MEMORY: Mutex<Memory> = Mutex::new(Memory::new());

/// The client's memory, for the rest of the process (its lock is never released).
fn memory() -> Result<&'static mut Memory, String> {
    let guard = MEMORY
        .try_lock()
        .map_err(|_| "the client's memory is taken".to_owned())?;
    Ok(&mut **Box::leak(Box::new(guard)))
}

fn block_on<T>(future: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?
        .block_on(future)
}

/// Opens a TCP connection to the broker for each attempt.
#[derive(Debug, Clone)]
struct Tcp(String);

impl Connect for Tcp {
    type Io = FromTokio<TcpStream>;
    type Error = std::io::Error;

    async fn connect(&mut self) -> Result<Self::Io, std::io::Error> {
        let stream = TcpStream::connect(self.0.as_str()).await?;
        stream.set_nodelay(true)?;
        Ok(FromTokio::new(stream))
    }
}

fn qos(level: u8) -> QoS {
    QoS::from_u8(level).unwrap_or(QoS::AtMostOnce)
}

fn config<'a>(client_id: &'a str, receive_maximum: u16) -> Config<'a> {
    Config {
        version: ProtocolVersion::V311,
        clean_start: true,
        keep_alive: Duration::from_secs(60),
        max_inflight: INFLIGHT,
        max_inflight_v311: INFLIGHT,
        receive_maximum,
        connect_timeout: CONNECT_TIMEOUT,
        ..Config::new(client_id)
    }
}

/// The broker's `host:port`.
fn address(job: &Job) -> Tcp {
    Tcp(job
        .url
        .strip_prefix("mqtt://")
        .unwrap_or(&job.url)
        .to_owned())
}

/// A client and its runner in `memory`.
fn new<const R: usize, const S: usize, const U: usize, const T: usize>(
    job: &Job,
    client_id: &str,
    receive_maximum: u16,
    memory: &'static mut Resources<'static, NoopRawMutex, Tcp, TokioClock, R, S, U, T>,
) -> Result<(Client, Runner<'static, NoopRawMutex, Tcp, TokioClock>), String> {
    let clock = TokioClock::new();
    mqtt_embedded::new(
        &config(client_id, receive_maximum),
        memory,
        address(job),
        clock,
    )
    .map_err(|e| format!("client: {e}"))
}

/// What the runner's handler saw, for the role to await. The handler wakes the role only when what it waits for
/// may have come (in this one task, every wake is another round of the scheduler).
#[derive(Default)]
struct Watch {
    connected: Cell<bool>,
    /// Why the latest connection attempt failed.
    connect_failure: Cell<Option<Disconnection>>,
    /// Outgoing QoS 1/2 messages acknowledged.
    completed: Cell<u64>,
    /// Wake the role once `completed` reaches this (0: it does not wait for acknowledgements).
    wake_at: Cell<u64>,
    /// The first outgoing message the broker did not take.
    publish_failure: Cell<Option<PublishFailure>>,
    /// The subscriber has every message.
    all_received: Cell<bool>,
    /// The sequence number of the last message that came back (ping-pong).
    came_back: Cell<Option<u64>>,
    /// Something above changed.
    changed: Notify,
}

impl Watch {
    /// The runner's handler: records what the role awaits, reports connection losses, and gives each message's
    /// payload to `on_message`, which says whether the role has something new to look at.
    fn handler<'a>(
        &'a self,
        mut on_message: impl FnMut(&[u8]) -> bool + 'a,
    ) -> impl FnMut(Event<'_>) + 'a {
        move |event| {
            match event {
                Event::Message(message) => {
                    if !on_message(message.payload) {
                        return;
                    }
                }
                Event::Published { .. } => {
                    let completed = self.completed.get() + 1;
                    self.completed.set(completed);
                    if self.wake_at.get() == 0 || completed < self.wake_at.get() {
                        return;
                    }
                }
                Event::PublishFailed { reason, .. } => {
                    if self.publish_failure.get().is_none() {
                        self.publish_failure.set(Some(reason));
                    }
                }
                Event::Connected { .. } => self.connected.set(true),
                Event::ConnectFailed { reason } => self.connect_failure.set(Some(reason)),
                Event::ConnectionLost { reason } => {
                    self.connected.set(false);
                    child::connection_lost(reason.to_string());
                }
                _ => return,
            }
            self.changed.notify_one();
        }
    }

    /// Waits until `done` holds.
    async fn until(&self, done: impl Fn(&Self) -> bool) {
        while !done(self) {
            self.changed.notified().await;
        }
    }

    /// Waits until `count` outgoing messages are acknowledged, or one failed.
    async fn acknowledged(&self, count: u64) -> Result<(), String> {
        self.wake_at.set(count);
        self.until(|w| w.completed.get() >= count || w.publish_failure.get().is_some())
            .await;
        self.wake_at.set(0);
        match self.publish_failure.get() {
            Some(reason) => Err(format!("delivery: {reason}")),
            None => Ok(()),
        }
    }

    /// Waits until the broker accepted the connection.
    async fn connected(&self) -> Result<(), String> {
        tokio::time::timeout(CONNECT_TIMEOUT, self.until(|w| w.connected.get()))
            .await
            .map_err(|_| match self.connect_failure.get() {
                Some(reason) => format!("connect: {reason}"),
                None => stalled("connect", CONNECT_TIMEOUT),
            })
    }
}

/// Runs `role` with the runner beside it in this task (the runner never ends), polled through
/// [`WithClonedWaker`].
async fn with_runner<T>(
    runner: Runner<'static, NoopRawMutex, Tcp, TokioClock>,
    handler: impl FnMut(Event<'_>),
    role: impl Future<Output = Result<T, String>>,
) -> Result<T, String> {
    let (run, role) = (pin!(runner.run(handler)), pin!(role));
    let both = futures::future::select(run, role);
    match (WithClonedWaker { inner: both }).await {
        Either::Left((never, _)) => never,
        Either::Right((outcome, _)) => outcome,
    }
}

/// Polls `inner` with a clone of the task's waker instead of the waker itself.
///
/// The waker tokio's current-thread runtime gives its `block_on` future and the clones of that waker are never
/// [`Waker::will_wake`] of each other (tokio 1.54 builds them with vtables at different addresses), while clones
/// are of each other. embassy-sync's `Signal` and `WakerRegistration`, which the runner and the client wait on,
/// take a waker that is not `will_wake` of the one they hold for another task's, and wake the one they hold. Polled
/// with `block_on`'s own waker, the runner so wakes its own task every time it is polled: the task spins, a whole
/// core while idle.
///
/// [`Waker::will_wake`]: std::task::Waker::will_wake
struct WithClonedWaker<F> {
    inner: F,
}

impl<F: Future + Unpin> Future for WithClonedWaker<F> {
    type Output = F::Output;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let waker = cx.waker().clone();
        std::pin::Pin::new(&mut self.inner).poll(&mut std::task::Context::from_waker(&waker))
    }
}

/// Runs `work` for at most `limit`.
async fn within<T>(
    limit: Duration,
    phase: &str,
    work: impl Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or_else(|_| Err(stalled(phase, limit)))
}

async fn disconnect(client: Client) -> Result<(), String> {
    within(DISCONNECT_TIMEOUT, "disconnect", async {
        client
            .disconnect()
            .await
            .map_err(|e| format!("disconnect: {e}"))
    })
    .await
}

async fn subscribe(client: Client, job: &Job) -> Result<(), String> {
    within(CONNECT_TIMEOUT, "subscribe", async {
        client
            .subscribe(&[Subscription::new(&job.topic, qos(job.qos))])
            .await
            .map(drop)
            .map_err(|e| format!("subscribe: {e}"))
    })
    .await
}

async fn publisher(
    job: &Job,
    meter: &mut PubMeter,
    memory: &'static mut Memory,
) -> Result<(), String> {
    let (client, runner) = new(job, &job.client_id, u16::MAX, memory)?;
    let watch = Watch::default();
    let qos = qos(job.qos);
    let role = async {
        watch.connected().await?;
        meter.started();
        within(job.deadline, "publishing", async {
            for seq in 0..job.count {
                let payload = meter.payload(seq);
                let message = Publish {
                    topic: &job.topic,
                    payload: &payload,
                    qos,
                    ..Publish::default()
                };
                loop {
                    match client.try_queue(&message) {
                        // The message is queued; its acknowledgement is counted by the handler.
                        Ok(delivery) => {
                            drop(delivery);
                            break;
                        }
                        Err(Error::Publish(PublishError::QueueFull)) => {
                            meter.waited();
                            if qos == QoS::AtMostOnce {
                                tokio::time::sleep(FULL_QUEUE_PAUSE).await;
                            } else {
                                // Room comes with the next acknowledgement.
                                watch.acknowledged(watch.completed.get() + 1).await?;
                            }
                        }
                        Err(e) => return Err(format!("publish: {e}")),
                    }
                }
            }
            if qos != QoS::AtMostOnce {
                watch.acknowledged(job.count).await?;
            }
            meter.acked();
            client
                .disconnect()
                .await
                .map_err(|e| format!("disconnect: {e}"))
        })
        .await?;
        meter.done();
        Ok(())
    };
    with_runner(runner, watch.handler(|_| false), role).await
}

async fn subscriber(
    job: &Job,
    meter: &mut SubMeter,
    memory: &'static mut Memory,
) -> Result<(), String> {
    let (client, runner) = new(job, &job.client_id, u16::MAX, memory)?;
    let watch = Watch::default();
    let mut stop = meter.take_stop();
    let meter = RefCell::new(meter);
    // Every message is counted here, in the runner, from the receive buffer.
    let handler = watch.handler(|payload| {
        let all = meter.borrow_mut().received(payload);
        watch.all_received.set(all);
        all
    });
    let role = async {
        watch.connected().await?;
        subscribe(client, job).await?;
        meter.borrow_mut().ready();
        let outcome = within(job.deadline, "receiving", async {
            // Every message has arrived, or the parent says to stop.
            futures::future::select(&mut stop, pin!(watch.until(|w| w.all_received.get()))).await;
            Ok(())
        })
        .await;
        meter.borrow_mut().done();
        let _ = disconnect(client).await;
        outcome
    };
    with_runner(runner, handler, role).await
}

/// The handler holds up the runner: the first message of the idle phase blocks it (and with it the thread: the
/// runner, the role and the runtime) until the phase is over; then messages are counted as [`subscriber`] counts
/// them.
async fn slow_subscriber(
    job: &Job,
    meter: &mut SlowMeter,
    memory: &'static mut Memory,
) -> Result<(), String> {
    let (client, runner) = new(job, &job.client_id, u16::MAX, memory)?;
    let watch = Watch::default();
    let mut stop = meter.take_stop();
    let meter = RefCell::new(meter);
    let handler = watch.handler(|payload| {
        let mut meter = meter.borrow_mut();
        let idle = meter.hold_left();
        if !idle.is_zero() {
            std::thread::sleep(idle);
        }
        let all = meter.received(payload);
        watch.all_received.set(all);
        all
    });
    let role = async {
        watch.connected().await?;
        subscribe(client, job).await?;
        meter.borrow_mut().ready();
        let outcome = within(job.deadline, "receiving", async {
            futures::future::select(&mut stop, pin!(watch.until(|w| w.all_received.get()))).await;
            Ok(())
        })
        .await;
        meter.borrow_mut().done();
        let _ = disconnect(client).await;
        outcome
    };
    with_runner(runner, handler, role).await
}

async fn ping_pong(
    job: &Job,
    meter: &mut PingMeter,
    memory: &'static mut Memory,
) -> Result<(), String> {
    let (client, runner) = new(job, &job.client_id, u16::MAX, memory)?;
    let watch = Watch::default();
    let qos = qos(job.qos);
    let meter = RefCell::new(meter);
    let handler = watch.handler(|payload| {
        let seq = meter.borrow_mut().received(payload);
        watch.came_back.set(seq);
        seq.is_some()
    });
    let role = async {
        watch.connected().await?;
        subscribe(client, job).await?;
        let total = meter.borrow().total();
        within(job.deadline, "ping-pong", async {
            for seq in 0..total {
                let payload = meter.borrow_mut().payload(seq);
                let message = Publish {
                    topic: &job.topic,
                    payload: &payload,
                    qos,
                    ..Publish::default()
                };
                // The acknowledgement is not awaited: the round trip ends when the message comes back.
                drop(
                    client
                        .queue(&message)
                        .await
                        .map_err(|e| format!("publish: {e}"))?,
                );
                watch.until(|w| w.came_back.get() == Some(seq)).await;
            }
            Ok(())
        })
        .await?;
        let _ = disconnect(client).await;
        Ok(())
    };
    with_runner(runner, handler, role).await
}

/// One idle connection: its own memory, and its runner in a task of its own; resolves once connected.
fn spawn_connection(
    job: &Job,
    client_id: &str,
) -> Result<(Client, oneshot::Receiver<Result<(), String>>), String> {
    let memory: &'static mut IdleMemory = Box::leak(Box::new(IdleMemory::new()));
    // The default receive maximum (32): an idle connection receives nothing.
    let (client, runner) = new(job, client_id, Config::new("").receive_maximum, memory)?;
    let (connected, connected_rx) = oneshot::channel();
    let mut connected = Some(connected);
    tokio::task::spawn_local(runner.run(move |event| {
        let outcome = match event {
            Event::Connected { .. } => Ok(()),
            Event::ConnectFailed { reason } => Err(format!("connect: {reason}")),
            _ => return,
        };
        if let Some(connected) = connected.take() {
            let _ = connected.send(outcome);
        }
    }));
    Ok((client, connected_rx))
}

async fn idle(job: &Job, meter: &mut IdleMeter) -> Result<(), String> {
    let (first, connected) = spawn_connection(job, &format!("{}-0", job.client_id))?;
    within(CONNECT_TIMEOUT, "connect", async {
        connected
            .await
            .map_err(|_| "connect: runner ended".to_owned())?
    })
    .await?;
    let mut clients = vec![first];
    meter.baseline();
    within(job.deadline, "opening connections", async {
        for &mark in &job.marks {
            while (clients.len() as u64) < mark {
                let open = clients.len();
                let batch = (mark as usize - open).min(job.concurrency);
                let mut waiting = Vec::with_capacity(batch);
                for n in open..open + batch {
                    let (client, connected) =
                        spawn_connection(job, &format!("{}-{n}", job.client_id))?;
                    clients.push(client);
                    waiting.push(connected);
                }
                for outcome in futures::future::join_all(waiting).await {
                    outcome.map_err(|_| "connect: runner ended".to_owned())??;
                }
            }
            // Let every runner reach its idle state (keep-alive timer set, read pending).
            tokio::time::sleep(Duration::from_millis(500)).await;
            meter.mark(mark);
        }
        Ok(())
    })
    .await
}
