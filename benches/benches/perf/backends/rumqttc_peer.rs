//! rumqttc 0.25, the peer: its `AsyncClient` and `EventLoop` (MQTT 3.1.1) on a current-thread tokio runtime, used
//! as its documentation shows: a task polls the event loop while the application calls the client. The
//! subscriber and the ping-pong read messages straight from `EventLoop::poll`, the cheapest way rumqttc offers; the
//! slow consumer forwards them from a task into a channel, as applications that read elsewhere do.

use std::future::Future;
use std::time::Duration;

use futures::channel::oneshot;
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, NetworkOptions, Outgoing, Packet, QoS};

use super::{Backend, CONNECT_TIMEOUT, DISCONNECT_TIMEOUT, INFLIGHT, stalled};
use crate::child::{self, IdleMeter, PingMeter, PubMeter, SlowMeter, SubMeter};
use crate::workload::Job;

/// rumqttc.
pub(crate) struct Rumqttc;

impl Backend for Rumqttc {
    fn name(&self) -> &'static str {
        super::PEER
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

/// Capacity of the request channel between `AsyncClient` and `EventLoop` (`AsyncClient::new`'s `cap`): as many
/// requests as messages in flight.
const REQUEST_CAPACITY: usize = INFLIGHT as usize;

/// Largest packet either way: room for the 1 MiB payloads of the sweep (rumqttc's default is 10 KiB).
const MAX_PACKET: usize = 2 * 1024 * 1024;

fn block_on<T>(future: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?
        .block_on(future)
}

fn qos(level: u8) -> QoS {
    match level {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

fn client(job: &Job, client_id: &str) -> Result<(AsyncClient, EventLoop), String> {
    let address = job.url.strip_prefix("mqtt://").unwrap_or(&job.url);
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| format!("no port in {}", job.url))?;
    let port = port
        .parse()
        .map_err(|_| format!("bad port in {}", job.url))?;
    let mut options = MqttOptions::new(client_id, host, port);
    options
        .set_keep_alive(Duration::from_secs(60))
        .set_inflight(INFLIGHT)
        .set_max_packet_size(MAX_PACKET, MAX_PACKET)
        .set_clean_session(true);
    let (client, mut event_loop) = AsyncClient::new(options, REQUEST_CAPACITY);
    let mut network = NetworkOptions::new();
    network.set_tcp_nodelay(true);
    network.set_connection_timeout(CONNECT_TIMEOUT.as_secs());
    event_loop.set_network_options(network);
    Ok((client, event_loop))
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

/// Polls until the broker accepts the connection.
async fn connect(event_loop: &mut EventLoop) -> Result<(), String> {
    within(CONNECT_TIMEOUT, "connect", async {
        loop {
            match event_loop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(format!("connect: {e}")),
            }
        }
    })
    .await
}

/// Polls until `wanted` says the event it waits for has come.
async fn poll_until(
    event_loop: &mut EventLoop,
    mut wanted: impl FnMut(&Event) -> bool,
) -> Result<(), String> {
    loop {
        let event = event_loop.poll().await.map_err(|e| e.to_string())?;
        if wanted(&event) {
            return Ok(());
        }
    }
}

async fn publisher(job: &Job, meter: &mut PubMeter) -> Result<(), String> {
    let (client, mut event_loop) = client(job, &job.client_id)?;
    connect(&mut event_loop).await?;
    let qos = qos(job.qos);
    let count = job.count;
    meter.started();
    // The event loop's task counts what completes each message: PUBACK, PUBCOMP, or at QoS 0 the PUBLISH going
    // out; it ends when DISCONNECT goes out.
    let (all_done, all_done_rx) = oneshot::channel::<()>();
    let driver = tokio::spawn(async move {
        let mut all_done = Some(all_done);
        let mut completed = 0;
        poll_until(&mut event_loop, |event| {
            let completes = matches!(
                (qos, event),
                (QoS::AtMostOnce, Event::Outgoing(Outgoing::Publish(_)))
                    | (QoS::AtLeastOnce, Event::Incoming(Packet::PubAck(_)))
                    | (QoS::ExactlyOnce, Event::Incoming(Packet::PubComp(_)))
            );
            if completes {
                completed += 1;
                if completed == count
                    && let Some(done) = all_done.take()
                {
                    let _ = done.send(());
                }
            }
            matches!(event, Event::Outgoing(Outgoing::Disconnect))
        })
        .await
    });
    within(job.deadline, "publishing", async {
        for seq in 0..count {
            client
                .publish(job.topic.as_str(), qos, false, meter.payload(seq))
                .await
                .map_err(|e| format!("publish: {e}"))?;
        }
        all_done_rx
            .await
            .map_err(|_| "the event loop ended before every acknowledgement".to_owned())?;
        meter.acked();
        client
            .disconnect()
            .await
            .map_err(|e| format!("disconnect: {e}"))?;
        within(DISCONNECT_TIMEOUT, "disconnect", async {
            driver.await.map_err(|e| e.to_string())?
        })
        .await
    })
    .await?;
    meter.done();
    Ok(())
}

async fn subscriber(job: &Job, meter: &mut SubMeter) -> Result<(), String> {
    let (client, mut event_loop) = client(job, &job.client_id)?;
    connect(&mut event_loop).await?;
    client
        .subscribe(job.topic.as_str(), qos(job.qos))
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    within(CONNECT_TIMEOUT, "subscribe", async {
        poll_until(&mut event_loop, |event| {
            matches!(event, Event::Incoming(Packet::SubAck(_)))
        })
        .await
    })
    .await?;
    let mut stop = meter.take_stop();
    meter.ready();
    let outcome = within(job.deadline, "receiving", async {
        loop {
            tokio::select! {
                biased;
                _ = &mut stop => return Ok(()),
                event = event_loop.poll() => match event {
                    Ok(Event::Incoming(Packet::Publish(publish))) => {
                        if meter.received(&publish.payload) {
                            return Ok(());
                        }
                    }
                    Ok(_) => {}
                    Err(e) => return Err(format!("receiving: {e}")),
                },
            }
        }
    })
    .await;
    meter.done();
    // Send the acknowledgements still queued and DISCONNECT; a failure here changes nothing measured.
    let _ = client.disconnect().await;
    let _ = within(DISCONNECT_TIMEOUT, "disconnect", async {
        poll_until(&mut event_loop, |event| {
            matches!(event, Event::Outgoing(Outgoing::Disconnect))
        })
        .await
    })
    .await;
    outcome
}

/// The common application pattern: the event loop must keep being polled (or the broker drops the client at keep
/// alive), so a task polls it and forwards each incoming publish's payload into a channel, which the application
/// does not read during the idle phase. rumqttc acknowledges each QoS 1 message as the event loop reads it.
async fn slow_subscriber(job: &Job, meter: &mut SlowMeter) -> Result<(), String> {
    let (client, mut event_loop) = client(job, &job.client_id)?;
    connect(&mut event_loop).await?;
    client
        .subscribe(job.topic.as_str(), qos(job.qos))
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    within(CONNECT_TIMEOUT, "subscribe", async {
        poll_until(&mut event_loop, |event| {
            matches!(event, Event::Incoming(Packet::SubAck(_)))
        })
        .await
    })
    .await?;
    let (forward, mut payloads) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        loop {
            match event_loop.poll().await {
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    // Nobody listens any more: the role is done.
                    if forward.send(publish.payload).is_err() {
                        return;
                    }
                }
                Ok(Event::Outgoing(Outgoing::Disconnect)) => return,
                Ok(_) => {}
                Err(e) => {
                    child::connection_lost(e.to_string());
                    return;
                }
            }
        }
    });
    let mut stop = meter.take_stop();
    meter.ready();
    let outcome = within(job.deadline, "receiving", async {
        tokio::select! {
            biased;
            _ = &mut stop => return Ok(()),
            () = tokio::time::sleep(meter.hold_left()) => {}
        }
        loop {
            tokio::select! {
                biased;
                _ = &mut stop => return Ok(()),
                payload = payloads.recv() => match payload {
                    Some(payload) => if meter.received(&payload) {
                        return Ok(());
                    },
                    None => return Err("the event loop's task ended".to_owned()),
                },
            }
        }
    })
    .await;
    meter.done();
    let _ = client.disconnect().await;
    let _ = within(DISCONNECT_TIMEOUT, "disconnect", async {
        driver.await.map_err(|e| e.to_string())
    })
    .await;
    outcome
}

async fn ping_pong(job: &Job, meter: &mut PingMeter) -> Result<(), String> {
    let (client, mut event_loop) = client(job, &job.client_id)?;
    connect(&mut event_loop).await?;
    let qos = qos(job.qos);
    client
        .subscribe(job.topic.as_str(), qos)
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    within(CONNECT_TIMEOUT, "subscribe", async {
        poll_until(&mut event_loop, |event| {
            matches!(event, Event::Incoming(Packet::SubAck(_)))
        })
        .await
    })
    .await?;
    within(job.deadline, "ping-pong", async {
        for seq in 0..meter.total() {
            client
                .publish(job.topic.as_str(), qos, false, meter.payload(seq))
                .await
                .map_err(|e| format!("publish: {e}"))?;
            poll_until(&mut event_loop, |event| match event {
                Event::Incoming(Packet::Publish(publish)) => {
                    meter.received(&publish.payload) == Some(seq)
                }
                _ => false,
            })
            .await?;
        }
        Ok(())
    })
    .await?;
    let _ = client.disconnect().await;
    let _ = within(DISCONNECT_TIMEOUT, "disconnect", async {
        poll_until(&mut event_loop, |event| {
            matches!(event, Event::Outgoing(Outgoing::Disconnect))
        })
        .await
    })
    .await;
    Ok(())
}

/// One connection whose event loop runs in its own task; resolves once connected.
fn spawn_connection(
    job: &Job,
    client_id: &str,
) -> Result<(AsyncClient, oneshot::Receiver<Result<(), String>>), String> {
    let (client, mut event_loop) = client(job, client_id)?;
    let (connected, connected_rx) = oneshot::channel();
    tokio::spawn(async move {
        let outcome = connect(&mut event_loop).await;
        let failed = outcome.is_err();
        let _ = connected.send(outcome);
        if !failed {
            // Keep polling: pings, and nothing else while idle.
            while event_loop.poll().await.is_ok() {}
        }
    });
    Ok((client, connected_rx))
}

async fn idle(job: &Job, meter: &mut IdleMeter) -> Result<(), String> {
    let (first, connected) = spawn_connection(job, &format!("{}-0", job.client_id))?;
    connected.await.map_err(|_| "connect: task ended")??;
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
                    outcome.map_err(|_| "connect: task ended")??;
                }
            }
            // Let every event loop reach its idle state.
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
