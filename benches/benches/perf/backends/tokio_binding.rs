//! mqtt-tokio, on a current-thread tokio runtime (the event loop task and the application on one thread).

use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use mqtt_core::PublishError;
use mqtt_tokio::{Client, ConnectionState, Delivery, Error, Options, ProtocolVersion, QoS};

use super::{Backend, CONNECT_TIMEOUT, DELIVERY_WINDOW, DISCONNECT_TIMEOUT, INFLIGHT, stalled};
use crate::child::{self, IdleMeter, PingMeter, PubMeter, SlowMeter, SubMeter};
use crate::workload::Job;

/// mqtt-tokio.
pub(crate) struct MqttTokio;

impl Backend for MqttTokio {
    fn persists(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "mqtt-tokio"
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

fn block_on<T>(future: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?
        .block_on(future)
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

/// `mqtt_tokio::connect`, plus (`watch`) a task that reports connection losses.
async fn connect(job: &Job, client_id: &str, watch: bool) -> Result<Client, String> {
    let client = mqtt_tokio::connect(options(job, client_id)?)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    if !watch {
        return Ok(client);
    }
    let mut states = client.states();
    tokio::spawn(async move {
        while let Some(state) = states.next().await {
            if let ConnectionState::Lost(reason) = state {
                child::connection_lost(reason.to_string());
            }
        }
    });
    Ok(client)
}

/// Runs `phase` for at most the job's deadline.
async fn bounded<T>(
    job: &Job,
    phase: &str,
    work: impl Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout(job.deadline, work)
        .await
        .unwrap_or_else(|_| Err(stalled(phase, job.deadline)))
}

async fn wait(delivery: Delivery) -> Result<(), String> {
    delivery.wait().await.map_err(|e| format!("delivery: {e}"))
}

async fn publisher(job: &Job, meter: &mut PubMeter) -> Result<(), String> {
    let client = connect(job, &job.client_id, true).await?;
    let qos = qos(job.qos);
    meter.started();
    bounded(job, "publishing", async {
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
    let outcome = bounded(job, "receiving", async {
        loop {
            tokio::select! {
                biased;
                _ = &mut stop => return Ok(()),
                message = messages.recv() => match message {
                    Some(message) => if meter.received(&message.payload) {
                        return Ok(());
                    },
                    None => return Err("the subscription ended".to_owned()),
                },
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
    let outcome = bounded(job, "receiving", async {
        tokio::select! {
            biased;
            _ = &mut stop => return Ok(()),
            () = tokio::time::sleep(meter.hold_left()) => {}
        }
        loop {
            tokio::select! {
                biased;
                _ = &mut stop => return Ok(()),
                message = messages.recv() => match message {
                    Some(message) => if meter.received(&message.payload) {
                        return Ok(());
                    },
                    None => return Err("the subscription ended".to_owned()),
                },
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
    bounded(job, "ping-pong", async {
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
    bounded(job, "opening connections", async {
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
            tokio::time::sleep(Duration::from_millis(500)).await;
            meter.mark(mark);
        }
        Ok(())
    })
    .await?;
    // The connections end with the process.
    std::mem::forget(clients);
    Ok(())
}
