//! Seeded random runs of the async std client on the in-memory [`Link`], in tokio's virtual time, with the
//! application's habits: re-subscribing on every connection, subscribing while messages flow, a consumer that
//! registers late, slow consumers, consumers that answer each message and await the answer's acknowledgement
//! before they take the next, a consumer that reconnects when a message tells it to; the broker injects QoS 0, 1
//! and 2 messages and the connection is cut or forced to reconnect at random. Each run is reproducible from its seed (printed when it fails).
//!
//! Invariants, per subscription (and the late `messages()` stream), for every message injected after it was made:
//! no QoS 1 message lost, no QoS 2 message twice, no QoS 0 message twice; no protocol error on either side; no
//! consumer stuck awaiting an answer; the messages the client read but the application has not taken stay within
//! the queue's capacity and, while the broker owes an answer, the room the delivery rules give it (the client's
//! Receive Maximum).
//!
//! `SEED=n` runs one seed; `DETAIL=1` adds the broker's packet log to a failure.

use core::time::Duration;
use std::sync::{Arc, Mutex};

use futures_util::{Stream, StreamExt};
use mqtt_core::client::{Client, ConnectionState, Message};
use mqtt_core::codec::{ProtocolVersion, QoS};
use mqtt_core::session::Disconnection;
use mqtt_test::tokio_link::{Link, within};

const RUNS: u64 = 300;
const STEPS: usize = 80;

/// xorshift64*: enough randomness for a schedule, reproducible from the seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

/// One consumer: when it was made, and the message numbers it took.
struct Consumer {
    name: String,
    made: Duration,
    taken: Vec<u64>,
}

type Consumers = Arc<Mutex<Vec<Consumer>>>;

/// What consumers that answer each message found wrong (an acknowledgement that never came).
type Stuck = Arc<Mutex<Vec<String>>>;

/// How a consumer takes its messages: its pause per message, and the client it answers each one with (awaiting
/// the answer's acknowledgement before it takes the next), if it does.
struct Habit {
    pause_ms: u64,
    answer: Option<(Client, Stuck)>,
    /// Calls `reconnect()` on the client after taking a message whose number is a multiple of this, the first
    /// time it takes it (a device that reconnects when a command tells it to): the message is acknowledged
    /// before the connection ends.
    reconnect: Option<(Client, u64)>,
}

/// Registers a consumer made now and reads `stream` into it, pausing up to `habit.pause_ms` per message (a slow
/// consumer) on a schedule of its own, and answering each message if `habit` says so.
fn consume(
    consumers: &Consumers,
    name: String,
    mut stream: impl Stream<Item = Message> + Unpin + Send + 'static,
    habit: Habit,
    seed: u64,
    made: Duration,
) {
    let index = {
        let mut all = consumers.lock().unwrap();
        all.push(Consumer {
            name,
            made,
            taken: Vec::new(),
        });
        all.len() - 1
    };
    let consumers = consumers.clone();
    tokio::spawn(async move {
        let mut rng = Rng::new(seed);
        while let Some(message) = stream.next().await {
            let number: u64 = std::str::from_utf8(&message.payload)
                .unwrap()
                .parse()
                .unwrap();
            let first_time = {
                let mut all = consumers.lock().unwrap();
                let first_time = !all[index].taken.contains(&number);
                all[index].taken.push(number);
                first_time
            };
            if let Some((client, stuck)) = &habit.answer {
                // Whatever the link does meanwhile, the session delivers it: only a lost answer times out.
                let answered = match client
                    .publish(format!("answers/{number}"), "", QoS::AtLeastOnce, false)
                    .await
                {
                    Ok(delivery) => {
                        tokio::time::timeout(Duration::from_secs(300), delivery.wait()).await
                    }
                    Err(e) => Ok(Err(e)),
                };
                match answered {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => stuck
                        .lock()
                        .unwrap()
                        .push(format!("answer to {number}: {e}")),
                    Err(_) => stuck
                        .lock()
                        .unwrap()
                        .push(format!("answer to {number}: no acknowledgement in 300 s")),
                }
            }
            if let Some((client, every)) = &habit.reconnect
                && number.is_multiple_of(*every)
                && first_time
            {
                let _ = client.reconnect();
            }
            if habit.pause_ms > 0 {
                tokio::time::sleep(Duration::from_millis(rng.below(habit.pause_ms))).await;
            }
        }
    });
}

/// The habit of paho users: subscribe again on every `Connected`. Also records the states.
fn resubscribe_on_connect(
    link: &Link,
    client: &Client,
    consumers: &Consumers,
    states_seen: &Arc<Mutex<Vec<ConnectionState>>>,
    seed: u64,
) {
    let mut states = client.states();
    let (link, client, consumers, seen) = (
        link.clone(),
        client.clone(),
        consumers.clone(),
        states_seen.clone(),
    );
    tokio::spawn(async move {
        let mut rng = Rng::new(seed);
        let mut n = 0;
        while let Some(state) = states.next().await {
            let connected = matches!(state, ConnectionState::Connected { .. });
            seen.lock().unwrap().push(state);
            if connected {
                n += 1;
                let made = link.elapsed();
                if let Ok(sub) = client.subscribe("r/#", QoS::ExactlyOnce).await {
                    let pause_ms = [0, 0, 20][rng.below(3) as usize];
                    consume(
                        &consumers,
                        format!("on-connect {n}"),
                        sub,
                        Habit {
                            pause_ms,
                            answer: None,
                            reconnect: None,
                        },
                        rng.below(u64::MAX),
                        made,
                    );
                }
            }
        }
    });
}

async fn run(seed: u64) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    let version = [ProtocolVersion::V5, ProtocolVersion::V311][rng.below(2) as usize];
    let capacity = 2 + rng.below(30) as usize;
    // A third of the runs have consumers that answer each message and await the answer's acknowledgement: with
    // the default window, so that the room a full queue makes for answers (up to the window past its capacity)
    // takes whatever the broker sends ahead of them, resends after a cut included. The others have a small window,
    // which bounds what the client reads past its queues tightly.
    let answers = rng.below(3) == 0;
    let window = match answers {
        true => u16::MAX,
        false => 10 + rng.below(30) as u16,
    };
    let link = Link::default();
    let (latency, delay) = (rng.below(30), rng.below(200));
    link.settings(|s| {
        s.latency = Duration::from_millis(latency);
        s.connect_delay = Duration::from_millis(delay);
    });
    let options = link
        .options("seeded")
        .version(version)
        .clean_start(false)
        .session_expiry(3600)
        .message_capacity(capacity)
        .receive_maximum(window)
        .keep_alive(Duration::from_secs(5))
        .jitter_seed(seed);
    let (client, runner) = link.spawn(&options);
    let consumers: Consumers = Arc::default();
    let stuck: Stuck = Arc::default();
    let answering = |rng: &mut Rng, one_in: u64| {
        (answers && rng.below(one_in) == 0).then(|| (client.clone(), stuck.clone()))
    };
    let states = Arc::new(Mutex::new(Vec::new()));
    // The first subscription lives through the whole run: it must see every message.
    let first = within(
        "the first subscribe",
        client.subscribe("r/#", QoS::ExactlyOnce),
    )
    .await
    .map_err(|e| format!("first subscribe: {e}"))?;
    // A quarter of the runs: the first consumer reconnects on the messages numbered a multiple of ten.
    let habit = Habit {
        pause_ms: [0, 5, 30][rng.below(3) as usize],
        answer: answering(&mut rng, 2),
        reconnect: (rng.below(4) == 0).then(|| (client.clone(), 10)),
    };
    consume(
        &consumers,
        "first".into(),
        first,
        habit,
        rng.below(u64::MAX),
        Duration::ZERO,
    );
    resubscribe_on_connect(&link, &client, &consumers, &states, rng.below(u64::MAX));

    // (number, QoS, injected at)
    let mut injected: Vec<(u64, QoS, Duration)> = Vec::new();
    let mut late = false;
    for step in 0..STEPS as u64 {
        match rng.below(12) {
            0..=6 => {
                let qos = [
                    QoS::AtMostOnce,
                    QoS::AtLeastOnce,
                    QoS::AtLeastOnce,
                    QoS::ExactlyOnce,
                ][rng.below(4) as usize];
                link.broker(|b| {
                    b.inject(
                        &format!("r/{}", step % 4),
                        step.to_string().as_bytes(),
                        qos,
                        false,
                    )
                });
                injected.push((step, qos, link.elapsed()));
            }
            7 => link.broker(mqtt_test::FakeBroker::close_connection),
            8 => client.reconnect().map_err(|e| format!("reconnect: {e}"))?,
            9 if !late => {
                late = true;
                let made = link.elapsed();
                consume(
                    &consumers,
                    "late messages()".into(),
                    client.messages(),
                    Habit {
                        pause_ms: 10,
                        answer: None,
                        reconnect: None,
                    },
                    rng.below(u64::MAX),
                    made,
                );
            }
            _ => {
                // Subscribing while messages flow.
                let (link2, client2, consumers2) =
                    (link.clone(), client.clone(), consumers.clone());
                let habit = Habit {
                    pause_ms: rng.below(40),
                    answer: answering(&mut rng, 2),
                    reconnect: None,
                };
                let consumer_seed = rng.below(u64::MAX);
                tokio::spawn(async move {
                    let made = link2.elapsed();
                    if let Ok(sub) = client2.subscribe("r/#", QoS::ExactlyOnce).await {
                        consume(
                            &consumers2,
                            format!("while flowing {step}"),
                            sub,
                            habit,
                            consumer_seed,
                            made,
                        );
                    }
                });
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.below(60))).await;
        // Bounded: what the client read and the first subscription did not take yet is at most its queue (with
        // the room for answers: the window), the one message held, and resends of what it already had.
        let read = client.stats().messages_received;
        let taken = consumers.lock().unwrap()[0].taken.len() as u64;
        let resent = link.broker(|b| b.delivered().iter().filter(|m| m.dup).count()) as u64;
        if read > taken + capacity as u64 + u64::from(window) + 1 + resent {
            return Err(format!(
                "read {read}, first subscription took {taken}, capacity {capacity}, window {window}, resent \
                 {resent}: unbounded"
            ));
        }
    }
    // Settle: the broker owes nothing (every copy of every QoS 1 and 2 message was taken and acknowledged).
    if !link
        .wait_for(
            |b| b.pending_to_client() == 0 && b.is_connected(),
            Duration::from_secs(600),
        )
        .await
    {
        let pending = link.broker(|b| b.pending_to_client());
        let taken: Vec<usize> = consumers
            .lock()
            .unwrap()
            .iter()
            .map(|c| c.taken.len())
            .collect();
        let detail = if std::env::var("DETAIL").is_ok() {
            link.broker(|b| {
                b.log()
                    .iter()
                    .map(|r| {
                        format!(
                            "\n{:?} {:?} {:?} dup={} {:?}",
                            r.direction, r.packet_type, r.packet_id, r.dup, r.qos
                        )
                    })
                    .collect::<String>()
            })
        } else {
            String::new()
        };
        return Err(format!(
            "the broker still owes {pending} messages after ten minutes (v {version:?}, connected {}, stats {:?}, taken {taken:?}, answers stuck {:?}) {detail}",
            client.is_connected(),
            client.stats(),
            stuck.lock().unwrap()
        ));
    }
    tokio::time::sleep(Duration::from_secs(5)).await;

    let stuck = stuck.lock().unwrap().clone();
    if !stuck.is_empty() {
        return Err(format!("consumers that answer got stuck: {stuck:?}"));
    }
    let violations = link.broker(|b| b.violations().to_vec());
    if !violations.is_empty() {
        return Err(format!("the broker saw violations: {violations:?}"));
    }
    let protocol_errors: Vec<_> = states
        .lock()
        .unwrap()
        .iter()
        .filter(|s| matches!(s, ConnectionState::Lost(Disconnection::Protocol(_))))
        .cloned()
        .collect();
    if !protocol_errors.is_empty() {
        return Err(format!("protocol errors: {protocol_errors:?}"));
    }
    for consumer in consumers.lock().unwrap().iter() {
        for &(number, qos, at) in &injected {
            let count = consumer.taken.iter().filter(|&&n| n == number).count();
            let after = at > consumer.made;
            let wrong = match qos {
                QoS::AtMostOnce => count > 1,
                QoS::AtLeastOnce => after && count == 0,
                QoS::ExactlyOnce => count > 1 || (after && count == 0),
            };
            if wrong {
                return Err(format!(
                    "{} (made at {:?}) took {qos:?} message {number} (injected at {at:?}) {count} times",
                    consumer.name, consumer.made
                ));
            }
        }
    }
    client
        .disconnect(Duration::from_secs(30))
        .await
        .map_err(|e| format!("disconnect: {e}"))?;
    within("the event loop's end", runner)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

#[test]
fn seeded_client_runs_with_the_applications_habits_lose_no_qos1_and_duplicate_no_qos2_per_subscription()
 {
    let mut failures = Vec::new();
    let only: Option<u64> = std::env::var("SEED").ok().and_then(|v| v.parse().ok());
    for seed in (0..RUNS).filter(|s| only.is_none_or(|only| only == *s)) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        if let Err(failure) = runtime.block_on(run(seed)) {
            failures.push(format!("seed {seed}: {failure}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {RUNS} runs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
