//! `mqtt bench`: N publishers and M subscribers (one connection each) on one broker. Publisher `i` sends
//! `--count` messages to `PREFIX/i` at `--rate`; every subscriber subscribes to `PREFIX/#` and so expects all of
//! them. Each payload starts with a header (run, publisher, sequence number, send time): the subscribers count
//! lost, duplicated and out-of-order messages and the latency from it. A live progress bar on stderr, then a table
//! (or `--json`) on stdout.

mod report;
mod tally;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::future::{join_all, try_join_all};
use indicatif::{ProgressBar, ProgressStyle};
use mqtt_tokio::Subscription;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

use crate::args::BenchArgs;
use crate::connection::{Connection, Target, qos};
use crate::failure::{Class, Failure};
use crate::publish::Publisher;
use report::Report;
use tally::{HEADER, Tally};

/// The packets `mqtt bench` sends, for `-D`.
const PACKETS: &[&str] = &["connect", "publish", "subscribe", "disconnect"];

/// What every task adds to, for the progress bar.
#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    received: AtomicU64,
}

/// The run's settings, shared by its tasks.
#[derive(Debug, Clone, Copy)]
struct Plan {
    run: u64,
    publishers: u32,
    subscribers: u32,
    count: u64,
    qos: u8,
    size: usize,
    rate: f64,
    start: Instant,
    /// How long to wait for what is still on its way (`-W`).
    drain: Duration,
}

/// Runs `mqtt bench`.
///
/// # Errors
///
/// A usage failure for a payload too small for the header; a connection failure of any client, classified.
pub(crate) async fn run(args: BenchArgs) -> Result<(), Failure> {
    if args.size < HEADER {
        return Err(Failure::usage(format!("--size {}: too small", args.size))
            .hint(format!("give at least {HEADER} bytes: the header says which run, publisher and message it is")));
    }
    if args.pubs == 0 {
        return Err(Failure::usage(
            "--pubs 0: a benchmark needs at least one publisher",
        ));
    }
    let target = Target::new(&args.connect, PACKETS)?;
    let run = run_id();
    let prefix = args
        .topic
        .clone()
        .unwrap_or_else(|| format!("mqtt-bench/{run:016x}"));
    let name = args
        .connect
        .client_id
        .clone()
        .unwrap_or_else(|| format!("mqtt-bench-{:08x}", run as u32));
    let latency = tally::histogram()
        .map_err(|e| Failure::new(Class::Other, format!("latency histogram: {e}")))?;

    // Subscribers first, so that they see every message.
    let subscribers = try_join_all((0..args.subs).map(|j| {
        let target = target.named(format!("{name}-sub-{j}"));
        let filter = format!("{prefix}/#");
        async move {
            let connection = target.connect().await?;
            let subscription = connection
                .client
                .subscribe_with(target.subscribe([&filter], qos(args.qos)))
                .await
                .map_err(|e| Failure::at(&connection.broker, &e))?;
            Ok::<_, Failure>((connection, subscription))
        }
    }))
    .await?;
    let publishers = try_join_all(
        (0..args.pubs)
            .map(|i| target.named(format!("{name}-pub-{i}")))
            .map(|t| async move { t.connect().await }),
    )
    .await?;

    let plan = Plan {
        run,
        publishers: args.pubs,
        subscribers: args.subs,
        count: args.count,
        qos: args.qos,
        size: args.size,
        rate: args.rate,
        start: Instant::now(),
        drain: args.timeout,
    };
    let counters = Arc::new(Counters::default());
    let (stop, stopped) = watch::channel(false);
    let (connections, receiving): (Vec<Connection>, Vec<_>) = subscribers
        .into_iter()
        .map(|(connection, subscription)| {
            let tally = Tally::new(run, plan.publishers, plan.count, latency.clone());
            let task = tokio::spawn(receive(
                subscription,
                tally,
                plan,
                counters.clone(),
                stopped.clone(),
            ));
            (connection, task)
        })
        .unzip();
    let sending: Vec<_> = publishers
        .iter()
        .zip(0..)
        .map(|(connection, i)| {
            let publisher = Publisher::new(
                connection.client.clone(),
                target.message(&format!("{prefix}/{i}"), Bytes::new(), qos(plan.qos), false),
            );
            tokio::spawn(send(publisher, i, plan, counters.clone()))
        })
        .collect();
    let aborts: Vec<_> = sending.iter().map(|task| task.abort_handle()).collect();
    let progress = progress(&args, plan, counters.clone());

    let mut report = Report::new(&target.broker, &args);
    let mut failure = None;
    // Sending.
    let all_sent = join_all(sending);
    tokio::pin!(all_sent);
    tokio::select! {
        results = &mut all_sent => {
            report.publish_time = plan.start.elapsed();
            for result in results {
                match result {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => failure = failure.or(Some(error)),
                    Err(join) => failure = failure.or(Some(Failure::new(Class::Other, format!("a publisher stopped: {join}")))),
                }
            }
        }
        _ = crate::signal::interrupted() => {
            report.publish_time = plan.start.elapsed();
            report.interrupted = true;
            aborts.iter().for_each(|task| task.abort());
        }
    }
    report.sent = counters.sent.load(Ordering::Relaxed);
    // Receiving what is still on its way, for at most -W.
    if failure.is_some() || report.interrupted {
        let _ = stop.send(true);
    }
    let all_received = join_all(receiving);
    tokio::pin!(all_received);
    let tallies = tokio::select! {
        tallies = &mut all_received => tallies,
        () = tokio::time::sleep(args.timeout) => {
            report.timed_out = true;
            let _ = stop.send(true);
            all_received.await
        }
        // A Ctrl-C while sending already stopped the subscribers: this one is for the wait that follows.
        _ = crate::signal::interrupted() => {
            report.interrupted = true;
            let _ = stop.send(true);
            all_received.await
        }
    };
    progress.finish_and_clear();
    for tally in tallies {
        match tally {
            Ok(tally) => report.add(&tally),
            Err(join) => {
                failure = failure.or(Some(Failure::new(
                    Class::Other,
                    format!("a subscriber stopped: {join}"),
                )));
            }
        }
    }

    join_all(connections.into_iter().chain(publishers).map(|c| c.close())).await;
    if let Some(failure) = failure {
        return Err(failure);
    }
    let text = match args.json {
        true => report.json(),
        false => report.table(),
    };
    println!("{text}");
    Ok(())
}

/// One publisher: `count` messages at the plan's rate, then every acknowledgement.
async fn send(
    mut publisher: Publisher,
    index: u32,
    plan: Plan,
    counters: Arc<Counters>,
) -> Result<(), Failure> {
    let mut interval = match plan.rate > 0.0 {
        true => {
            let period =
                Duration::try_from_secs_f64(1.0 / plan.rate).unwrap_or(Duration::from_secs(86_400));
            let mut interval = tokio::time::interval(period.max(Duration::from_nanos(1)));
            // Behind schedule, catch up: the rate asked for is the average rate.
            interval.set_missed_tick_behavior(MissedTickBehavior::Burst);
            Some(interval)
        }
        false => None,
    };
    let mut payload = vec![0u8; plan.size];
    for sequence in 0..plan.count {
        if let Some(interval) = &mut interval {
            interval.tick().await;
        }
        tally::write_header(
            &mut payload,
            plan.run,
            index,
            sequence,
            plan.start.elapsed(),
        );
        publisher.send(Bytes::copy_from_slice(&payload)).await?;
        counters.sent.fetch_add(1, Ordering::Relaxed);
    }
    publisher.flush().await?;
    if plan.qos == 0 {
        // QoS 0 has no acknowledgement: done when the client has written every PUBLISH (its counters say so),
        // not when it accepted them, so that the send rate is the rate on the wire.
        let deadline = Instant::now() + plan.drain;
        while publisher.client().stats().messages_sent < plan.count && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    Ok(())
}

/// One subscriber: counts what comes until it has every message, or is told to stop.
async fn receive(
    mut subscription: Subscription,
    mut tally: Tally,
    plan: Plan,
    counters: Arc<Counters>,
    mut stop: watch::Receiver<bool>,
) -> Tally {
    while tally.unique < tally.expected() {
        tokio::select! {
            message = subscription.recv() => match message {
                Some(message) => {
                    tally.record(&message.payload, plan.start.elapsed());
                    counters.received.fetch_add(1, Ordering::Relaxed);
                }
                None => break,
            },
            _ = stop.wait_for(|stop| *stop) => break,
        }
    }
    tally
}

/// The live progress bar (drawn on stderr when it is a terminal), updated ten times a second.
fn progress(args: &BenchArgs, plan: Plan, counters: Arc<Counters>) -> ProgressBar {
    let to_send = u64::from(plan.publishers).saturating_mul(plan.count);
    let to_receive = to_send.saturating_mul(u64::from(plan.subscribers));
    let bar = match args.no_progress {
        true => ProgressBar::hidden(),
        false => ProgressBar::new(to_receive.max(to_send)),
    };
    let template = match plan.subscribers {
        0 => "{spinner} {elapsed_precise} [{bar:32}] {pos}/{len} sent",
        _ => "{spinner} {elapsed_precise} [{bar:32}] {pos}/{len} received, {msg}",
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    let shown = bar.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        while !shown.is_finished() {
            tick.tick().await;
            let sent = counters.sent.load(Ordering::Relaxed);
            match plan.subscribers {
                0 => shown.set_position(sent),
                _ => {
                    shown.set_position(counters.received.load(Ordering::Relaxed));
                    shown.set_message(format!("{sent}/{to_send} sent"));
                }
            }
        }
    });
    bar
}

/// An identifier for this run, different in every process and call: its messages are told from any other's.
fn run_id() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    hasher.finish()
}
