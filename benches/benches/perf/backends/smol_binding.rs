//! mqtt-smol, on a smol `LocalExecutor` driven by `smol::block_on` (the event loop task and the application on one
//! thread, as tokio's current-thread runtime does for mqtt-tokio). `mqtt_smol::connect` would spawn the event loop
//! on smol's global executor, another thread; `mqtt_smol::new` plus a local spawn keeps the comparison with tokio
//! like for like.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use futures::future::Either;
use mqtt_core::PublishError;
use mqtt_smol::{Client, ConnectionState, Delivery, Error, Options, ProtocolVersion, QoS};
use smol::{LocalExecutor, Timer};

use super::{Backend, CONNECT_TIMEOUT, DELIVERY_WINDOW, DISCONNECT_TIMEOUT, INFLIGHT, stalled};
use crate::child::{self, IdleMeter, PingMeter, PubMeter, SlowMeter, SubMeter};
use crate::workload::Job;

/// mqtt-smol.
pub(crate) struct MqttSmol;

impl Backend for MqttSmol {
    fn persists(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "mqtt-smol"
    }

    fn publisher(&self, job: &Job, meter: &mut PubMeter) -> Result<(), String> {
        block_on(publisher(job, meter))
    }

    fn subscriber(&self, job: &Job, meter: &mut SubMeter) -> Result<(), String> {
        block_on(subscriber(job, meter))
    }

    fn ping_pong(&self, job: &Job, meter: &mut PingMeter) -> Result<(), String> {
        block_on(ping_pong(job, meter))
    }

    fn idle(&self, job: &Job, meter: &mut IdleMeter) -> Result<(), String> {
        block_on(idle(job, meter))
    }

    fn slow_subscriber(&self, job: &Job, meter: &mut SlowMeter) -> Result<(), String> {
        block_on(slow_subscriber(job, meter))
    }
}

thread_local! {
    /// Runs the event loops; `block_on` runs it alongside the role.
    static EXECUTOR: LocalExecutor<'static> = const { LocalExecutor::new() };
}

fn block_on<T>(future: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    EXECUTOR.with(|executor| smol::block_on(executor.run(future)))
}

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

/// `mqtt_smol::connect`, with the event loop on the local executor, plus (`watch`) a task that reports connection
/// losses.
async fn connect(job: &Job, client_id: &str, watch: bool) -> Result<Client, String> {
    let (client, event_loop) =
        mqtt_smol::new(&options(job, client_id)?).map_err(|e| format!("connect: {e}"))?;
    let mut states = client.states();
    EXECUTOR.with(|executor| executor.spawn(event_loop.run()).detach());
    within(CONNECT_TIMEOUT, "connect", async {
        while let Some(state) = states.next().await {
            match state {
                ConnectionState::Connected { .. } => return Ok(()),
                ConnectionState::Refused(refusal) => {
                    return Err(format!("connect: refused: {refusal}"));
                }
                ConnectionState::GaveUp(reason) => {
                    return Err(format!("connect: gave up: {reason}"));
                }
                _ => {}
            }
        }
        Err("connect: the event loop ended".to_owned())
    })
    .await?;
    if !watch {
        return Ok(client);
    }
    // Report connection losses from now on.
    EXECUTOR.with(|executor| {
        executor
            .spawn(async move {
                while let Some(state) = states.next().await {
                    if let ConnectionState::Lost(reason) = state {
                        child::connection_lost(reason.to_string());
                    }
                }
            })
            .detach();
    });
    Ok(client)
}

/// Runs `work` for at most `limit`.
async fn within<T>(
    limit: Duration,
    phase: &str,
    work: impl Future<Output = Result<T, String>>,
) -> Result<T, String> {
    smol::future::or(work, async {
        Timer::after(limit).await;
        Err(stalled(phase, limit))
    })
    .await
}

async fn wait(delivery: Delivery) -> Result<(), String> {
    delivery.wait().await.map_err(|e| format!("delivery: {e}"))
}

async fn publisher(job: &Job, meter: &mut PubMeter) -> Result<(), String> {
    let client = connect(job, &job.client_id, true).await?;
    let qos = qos(job.qos);
    meter.started();
    within(job.deadline, "publishing", async {
        let mut window = VecDeque::new();
        for seq in 0..job.count {
            let payload = Bytes::from(meter.payload(seq));
            loop {
                match client
                    .publish(job.topic.as_str(), payload.clone(), qos, false)
                    .await
                {
                    Ok(delivery) => {
                        if qos != QoS::AtMostOnce {
                            window.push_back(delivery);
                            if window.len() >= DELIVERY_WINDOW
                                && let Some(oldest) = window.pop_front()
                            {
                                wait(oldest).await?;
                            }
                        }
                        break;
                    }
                    Err(Error::Publish(PublishError::QueueFull)) => {
                        meter.waited();
                        match window.pop_front() {
                            Some(oldest) => wait(oldest).await?,
                            // No acknowledgement to wait for (QoS 0): wait for room.
                            None => {
                                let delivery = client
                                    .publish_when_room(
                                        job.topic.as_str(),
                                        payload.clone(),
                                        qos,
                                        false,
                                    )
                                    .await
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
            wait(delivery).await?;
        }
        meter.acked();
        client
            .disconnect(DISCONNECT_TIMEOUT)
            .await
            .map_err(|e| format!("disconnect: {e}"))
    })
    .await?;
    meter.done();
    Ok(())
}

async fn subscriber(job: &Job, meter: &mut SubMeter) -> Result<(), String> {
    let client = connect(job, &job.client_id, true).await?;
    let mut messages = client
        .subscribe(job.topic.as_str(), qos(job.qos))
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    let mut stop = meter.take_stop();
    meter.ready();
    let outcome = within(job.deadline, "receiving", async {
        loop {
            match futures::future::select(&mut stop, pin!(messages.recv())).await {
                Either::Left(_) => return Ok(()),
                Either::Right((Some(message), _)) => {
                    if meter.received(&message.payload) {
                        return Ok(());
                    }
                }
                Either::Right((None, _)) => return Err("the subscription ended".to_owned()),
            }
        }
    })
    .await;
    meter.done();
    let _ = client.disconnect(DISCONNECT_TIMEOUT).await;
    outcome
}

/// The subscription stream is not read during the idle phase (the event loop task runs on), then read as
/// [`subscriber`] reads it.
async fn slow_subscriber(job: &Job, meter: &mut SlowMeter) -> Result<(), String> {
    let client = connect(job, &job.client_id, true).await?;
    let mut messages = client
        .subscribe(job.topic.as_str(), qos(job.qos))
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    let mut stop = meter.take_stop();
    meter.ready();
    let outcome = within(job.deadline, "receiving", async {
        let idle = Timer::after(meter.hold_left());
        if let Either::Left(_) = futures::future::select(&mut stop, idle).await {
            return Ok(());
        }
        loop {
            match futures::future::select(&mut stop, pin!(messages.recv())).await {
                Either::Left(_) => return Ok(()),
                Either::Right((Some(message), _)) => {
                    if meter.received(&message.payload) {
                        return Ok(());
                    }
                }
                Either::Right((None, _)) => return Err("the subscription ended".to_owned()),
            }
        }
    })
    .await;
    meter.done();
    let _ = client.disconnect(DISCONNECT_TIMEOUT).await;
    outcome
}

async fn ping_pong(job: &Job, meter: &mut PingMeter) -> Result<(), String> {
    let client = connect(job, &job.client_id, true).await?;
    let qos = qos(job.qos);
    let mut messages = client
        .subscribe(job.topic.as_str(), qos)
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    within(job.deadline, "ping-pong", async {
        for seq in 0..meter.total() {
            let payload = Bytes::from(meter.payload(seq));
            // The acknowledgement is not awaited: the round trip ends when the message comes back.
            drop(
                client
                    .publish(job.topic.as_str(), payload, qos, false)
                    .await
                    .map_err(|e| format!("publish: {e}"))?,
            );
            loop {
                let message = messages.recv().await.ok_or("the subscription ended")?;
                if meter.received(&message.payload) == Some(seq) {
                    break;
                }
            }
        }
        Ok(())
    })
    .await?;
    let _ = client.disconnect(DISCONNECT_TIMEOUT).await;
    Ok(())
}

async fn idle(job: &Job, meter: &mut IdleMeter) -> Result<(), String> {
    let mut clients = vec![connect(job, &format!("{}-0", job.client_id), false).await?];
    meter.baseline();
    within(job.deadline, "opening connections", async {
        for &mark in &job.marks {
            while (clients.len() as u64) < mark {
                let open = clients.len();
                let batch = (mark as usize - open).min(job.concurrency);
                let ids: Vec<String> = (open..open + batch)
                    .map(|n| format!("{}-{n}", job.client_id))
                    .collect();
                let opened =
                    futures::future::join_all(ids.iter().map(|id| connect(job, id, false))).await;
                for client in opened {
                    clients.push(client?);
                }
            }
            // Let every event loop reach its idle state (keep-alive timer set, reads pending).
            Timer::after(Duration::from_millis(500)).await;
            meter.mark(mark);
        }
        Ok(())
    })
    .await?;
    // The connections end with the process.
    std::mem::forget(clients);
    Ok(())
}
