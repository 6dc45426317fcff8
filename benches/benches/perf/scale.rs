//! The scale-out sections (`--only failover,shared`), run in the parent with mqtt-tokio: the failover logic and the
//! shared subscriptions live in mqtt-core, the same for every backend.
//!
//! - `failover`: two mosquitto brokers as two nodes; a publisher on the first with the second as its failover,
//!   default reconnect policy and timeouts, publishing a QoS 1 stream (one message per millisecond); the first is
//!   killed (SIGKILL) mid-stream. The figure: from the kill to the first message acknowledged by the second.
//! - `shared`: consumer groups of 1, 2 and 3 clients on one mosquitto (`$share/bench/...`, QoS 1) take a burst of
//!   messages; the figure is the group's throughput, from the first publish to the last message received, with no
//!   work per message and with 1 ms of asynchronous work per message (a timer: about 2 ms on tokio), where a
//!   group's size shows.

use std::time::{Duration, Instant};

use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use mqtt_test::mosquitto::{Listener, Mosquitto};
use mqtt_tokio::{Client, Options, QoS};

use crate::cli::{Mode, Section, Settings};
use crate::orchestrate::Results;

/// The backend the figures are filed under.
pub(crate) const BACKEND: &str = "mqtt-tokio";

/// Consumer group sizes of the `shared` section.
pub(crate) const GROUPS: [usize; 3] = [1, 2, 3];

/// Work per message of the `shared` rows: none, and 1 ms.
pub(crate) const WORK_MS: [u64; 2] = [0, 1];

const WAIT: Duration = Duration::from_secs(60);

/// Runs the selected scale-out sections, adding their figures (and problems) to `results`.
pub(crate) fn run(settings: &Settings, results: &mut Results) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            results
                .problems
                .push(format!("scale-out sections: no runtime: {e}"));
            return;
        }
    };
    let full = settings.mode == Mode::Full;
    let runs = settings.runs.unwrap_or(if full { 5 } else { 3 });
    if settings.sections.contains(&Section::Failover) {
        for run in 1..=runs {
            match runtime.block_on(failover_once()) {
                Ok(took) => {
                    eprintln!(
                        "failover run {run}/{runs}: first acknowledgement by the other node {took:?} after the kill"
                    );
                    results.add("failover", BACKEND, "ms", took.as_secs_f64() * 1000.0);
                }
                Err(e) => results
                    .problems
                    .push(format!("failover run {run}/{runs}: {e}")),
            }
        }
    }
    if settings.sections.contains(&Section::Shared) {
        let broker = match Mosquitto::start(crate::orchestrate::nodelay_config()) {
            Ok(broker) => broker,
            Err(e) => {
                results
                    .problems
                    .push(format!("shared: cannot start mosquitto: {e}"));
                return;
            }
        };
        let url = broker.url(Listener::Plain);
        for work in WORK_MS {
            // With 1 ms of work a message, a member takes about 500 a second: fewer messages.
            let count: u32 = match (full, work) {
                (true, 0) => 30_000,
                (false, 0) => 10_000,
                (true, _) => 6_000,
                (false, _) => 3_000,
            };
            for members in GROUPS {
                for run in 1..=runs {
                    let tag = format!("{}-{members}-{work}-{run}", std::process::id());
                    match runtime.block_on(shared_once(&url, &tag, members, count, work)) {
                        Ok(rate) => {
                            eprintln!(
                                "shared {members} consumers, {work} ms work, run {run}/{runs}: {rate:.0} msg/s"
                            );
                            results.add(&shared_id(members, work), BACKEND, "rate", rate);
                        }
                        Err(e) => results.problems.push(format!(
                            "shared {members} consumers, {work} ms work, run {run}/{runs}: {e}"
                        )),
                    }
                }
            }
        }
    }
}

/// The results identifier of a consumer group figure.
pub(crate) fn shared_id(members: usize, work_ms: u64) -> String {
    format!("shared-{members}-w{work_ms}")
}

type Outcome<T> = Result<T, String>;

async fn connect(options: Options) -> Outcome<Client> {
    tokio::time::timeout(WAIT, mqtt_tokio::connect(options))
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| format!("connect: {e}"))
}

/// One failover measurement: the time from the kill of the publisher's node to the first acknowledgement from
/// the other node.
async fn failover_once() -> Outcome<Duration> {
    let start =
        || Mosquitto::start(crate::orchestrate::nodelay_config()).map_err(|e| e.to_string());
    let (mut first, second) = (start()?, start()?);
    let options = Options::new(&first.url(Listener::Plain))
        .and_then(|o| o.failover(&second.url(Listener::Plain)))
        .map_err(|e| e.to_string())?
        .client_id(format!("perf-failover-{}", std::process::id()));
    let client = connect(options).await?;
    let mut pending = FuturesUnordered::new();
    let mut ticks = tokio::time::interval(Duration::from_millis(1));
    let mut killed: Option<Instant> = None;
    let mut acked = 0u32;
    for n in 0..10_000u32 {
        ticks.tick().await;
        let delivery = client
            .publish(
                "perf/failover",
                n.to_be_bytes().to_vec(),
                QoS::AtLeastOnce,
                false,
            )
            .await
            .map_err(|e| format!("publish: {e}"))?;
        pending.push(async move { delivery.wait_timeout(WAIT).await.map(|()| Instant::now()) });
        while let Some(Some(outcome)) = futures::FutureExt::now_or_never(pending.next()) {
            let at = outcome.map_err(|e| format!("delivery: {e}"))?;
            acked += 1;
            if let Some(killed) = killed
                && at > killed
            {
                let _ = client.disconnect(Duration::from_secs(2)).await;
                return Ok(at - killed);
            }
        }
        if killed.is_none() && acked >= 500 {
            killed = Some(Instant::now());
            first.kill();
        }
    }
    Err("no acknowledgement from the other node".to_owned())
}

/// One consumer group measurement: `members` clients share `count` QoS 1 messages; the group's messages a second.
async fn shared_once(
    url: &str,
    tag: &str,
    members: usize,
    count: u32,
    work_ms: u64,
) -> Outcome<f64> {
    let topic = format!("perf/shared/{tag}");
    let mut consumers = Vec::new();
    for m in 0..members {
        let client = connect(
            Options::new(url)
                .map_err(|e| e.to_string())?
                .client_id(format!("perf-shared-{tag}-{m}")),
        )
        .await?;
        let mut subscription = client
            .subscribe_shared("bench", &format!("{topic}/#"), QoS::AtLeastOnce)
            .await
            .map_err(|e| format!("subscribe: {e}"))?;
        consumers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Ok(Some(message)) =
                tokio::time::timeout(Duration::from_secs(2), subscription.recv()).await
            {
                if work_ms > 0 {
                    tokio::time::sleep(Duration::from_millis(work_ms)).await;
                }
                let mut seq = [0; 4];
                seq.copy_from_slice(&message.payload[..4]);
                got.push((u32::from_be_bytes(seq), Instant::now()));
            }
            drop(client);
            got
        }));
    }
    let publisher = connect(
        Options::new(url)
            .map_err(|e| e.to_string())?
            .client_id(format!("perf-shared-{tag}-pub")),
    )
    .await?;
    let started = Instant::now();
    let mut pending = FuturesUnordered::new();
    for n in 0..count {
        while pending.len() >= 256 {
            if let Some(outcome) = pending.next().await {
                let outcome: Result<(), mqtt_tokio::Error> = outcome;
                outcome.map_err(|e| format!("delivery: {e}"))?;
            }
        }
        let mut payload = n.to_be_bytes().to_vec();
        payload.resize(64, 0);
        let delivery = publisher
            .publish(
                format!("{topic}/{}", n % 8),
                payload,
                QoS::AtLeastOnce,
                false,
            )
            .await
            .map_err(|e| format!("publish: {e}"))?;
        pending.push(delivery.wait_timeout(WAIT));
    }
    while let Some(outcome) = pending.next().await {
        outcome.map_err(|e| format!("delivery: {e}"))?;
    }
    let mut seen = vec![0u8; count as usize];
    let mut last = started;
    for consumer in consumers {
        for (seq, at) in consumer.await.map_err(|e| e.to_string())? {
            if let Some(slot) = seen.get_mut(seq as usize) {
                *slot = slot.saturating_add(1);
            }
            last = last.max(at);
        }
    }
    let lost = seen.iter().filter(|&&n| n == 0).count();
    let twice = seen.iter().filter(|&&n| n > 1).count();
    if lost > 0 || twice > 0 {
        return Err(format!("{lost} messages lost, {twice} received twice"));
    }
    Ok(f64::from(count) / (last - started).as_secs_f64())
}
