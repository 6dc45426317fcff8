//! Persistence against a real broker: a publisher in a child process floods 10,000 messages through mosquitto
//! (persistent session, broker persistence on) and is killed with SIGKILL at random points, 20 times, each time
//! restarted from its store; a subscriber in this process, never killed, counts what arrives. Every message whose
//! `publish` had returned reaches the subscriber, and at QoS 2 none twice. Once at QoS 1, once at QoS 2.
//!
//! The child is this test binary, run again with `--exact persist_kill_child --ignored` and its orders in the
//! environment. It prints `attempt N` before each `publish` and `returned N` after it, so the parent knows which
//! messages it must find (returned) and where the next child starts (after the last attempted).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mqtt_blocking::{Durability, Error, Options, Persistence, PublishError, QoS};
use mqtt_test::{Listener, Mosquitto, MosquittoConfig};

const MESSAGES: u32 = 10_000;
const KILLS: u32 = 20;
const TOPIC: &str = "kill/flood";
/// Messages the publisher lets wait for their acknowledgement before it waits for the oldest (a flood with
/// backpressure: every kill finds hundreds in flight or queued).
const OUTSTANDING: usize = 500;

/// A small deterministic generator for the kill points.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

/// The publisher: restores its session from the store, publishes from `PERSIST_START` to the end, waits for every
/// acknowledgement (its own and those of the messages it inherited), and says `done`.
#[test]
#[ignore = "the child process of the kill tests, run by them"]
fn persist_kill_child() {
    let qos = match env("PERSIST_QOS").as_str() {
        "1" => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    };
    let start: u32 = env("PERSIST_START").parse().unwrap();
    let options = Options::new(&env("PERSIST_URL"))
        .unwrap()
        .client_id(format!("kill-publisher-{}", qos as u8))
        .clean_start(false)
        .session_expiry(3600)
        .persistence(
            Persistence::file(env("PERSIST_FILE"))
                .durability(Durability::Batched(Duration::from_millis(10))),
        );
    let client = mqtt_blocking::connect(&options).unwrap();
    let mut deliveries = std::collections::VecDeque::new();
    let wait = |delivery: mqtt_blocking::Delivery| {
        if let Err(e) = delivery.wait_timeout(Duration::from_secs(20)) {
            panic!(
                "a delivery failed: {e}; stats {:?}, connected {}",
                client.stats(),
                client.is_connected()
            );
        }
    };
    for (message, delivery) in client.recovered() {
        println!("recovered {}", number(&message.payload));
        deliveries.push_back(delivery);
    }
    println!("ready");
    for n in start..MESSAGES {
        println!("attempt {n}");
        let delivery = loop {
            match client.publish(TOPIC, n.to_be_bytes(), qos, false) {
                Ok(delivery) => break delivery,
                Err(Error::Publish(PublishError::QueueFull)) => {
                    thread::sleep(Duration::from_millis(1));
                }
                Err(e) => panic!("publish {n}: {e}"),
            }
        };
        println!("returned {n}");
        deliveries.push_back(delivery);
        while deliveries.len() > OUTSTANDING {
            wait(deliveries.pop_front().expect("not empty"));
        }
    }
    deliveries.into_iter().for_each(wait);
    println!("done");
    client.disconnect(Duration::from_secs(5)).unwrap();
}

fn number(payload: &[u8]) -> u32 {
    u32::from_be_bytes(payload.try_into().expect("4 bytes"))
}

/// What the children said.
#[derive(Default)]
struct Progress {
    attempted: Option<u32>,
    returned: Vec<u32>,
    recovered: u64,
}

fn spawn(url: &str, file: &PathBuf, qos: QoS, start: u32) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "persist_kill_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PERSIST_URL", url)
        .env("PERSIST_FILE", file)
        .env("PERSIST_QOS", (qos as u8).to_string())
        .env("PERSIST_START", start.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

fn flood_with_kills(qos: QoS, seed: u64) {
    let started = Instant::now();
    // Persistence on, saved every minute rather than after every change (the harness's default for tests that
    // kill the broker): the broker is not killed here, and saving thousands of queued messages after each change
    // would make it the bottleneck.
    let broker = Mosquitto::start(
        MosquittoConfig::default()
            .with_persistence()
            .with_line("autosave_on_changes false")
            .with_line("autosave_interval 60"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let url = broker.url(Listener::Plain);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("publisher.store");

    // The subscriber: a persistent session too, never killed.
    let counts: Arc<Mutex<BTreeMap<u32, u32>>> = Arc::default();
    let subscriber = mqtt_blocking::connect(
        &Options::new(&url)
            .unwrap()
            .client_id(format!("kill-subscriber-{}", qos as u8))
            .clean_start(false)
            .session_expiry(3600),
    )
    .unwrap();
    let seen = counts.clone();
    subscriber
        .subscribe(TOPIC, QoS::ExactlyOnce, move |_, message| {
            *seen
                .lock()
                .unwrap()
                .entry(number(&message.payload))
                .or_default() += 1;
        })
        .unwrap()
        .wait_timeout(Duration::from_secs(10))
        .unwrap();

    let mut rng = Rng(seed);
    let mut progress = Progress::default();
    let mut kills = 0;
    let mut finished = false;
    while !finished {
        let start = progress.attempted.map_or(0, |n| n + 1);
        let (mut child, lines) = spawn(&url, &file, qos, start);
        // Kill after this many more returned publishes (0: as soon as it is ready; none: the last child).
        let kill_after = (kills < KILLS).then(|| {
            let left = u64::from(MESSAGES.saturating_sub(start));
            match rng.below(8) {
                0 => 0,
                _ => 1 + rng.below(left / u64::from(KILLS - kills + 1)),
            }
        });
        let mut returned_here = 0u64;
        let mut last_lines: Vec<String> = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let line = match lines.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => line,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    panic!(
                        "the publisher got stuck (start {start}); its last words: {last_lines:?}"
                    );
                }
            };
            last_lines.push(line.clone());
            if last_lines.len() > 6 {
                last_lines.remove(0);
            }
            let mut words = line.split_whitespace();
            let (word, n) = (
                words.next(),
                words.next().and_then(|n| n.parse::<u32>().ok()),
            );
            match (word, n) {
                (Some("attempt"), Some(n)) => progress.attempted = Some(n),
                (Some("returned"), Some(n)) => {
                    progress.returned.push(n);
                    returned_here += 1;
                }
                (Some("recovered"), Some(_)) => progress.recovered += 1,
                (Some("done"), None) => finished = true,
                _ => {}
            }
            let due = match kill_after {
                Some(0) => word == Some("ready"),
                Some(after) => returned_here >= after,
                None => false,
            };
            if due {
                // SIGKILL: no destructor, no flush, no DISCONNECT.
                child.kill().unwrap();
                kills += 1;
                break;
            }
        }
        let status = child.wait().unwrap();
        // Whatever the child wrote before the kill still counts, including what is still in the pipe: read to its
        // end (the reader thread ends at EOF), or the next child would start below numbers already attempted and
        // publish them again as new messages.
        let drained = Instant::now() + Duration::from_secs(10);
        let rest = std::iter::from_fn(|| {
            lines
                .recv_timeout(drained.saturating_duration_since(Instant::now()))
                .ok()
        });
        for line in rest {
            let mut words = line.split_whitespace();
            match (
                words.next(),
                words.next().and_then(|n| n.parse::<u32>().ok()),
            ) {
                (Some("attempt"), Some(n)) => progress.attempted = Some(n),
                (Some("returned"), Some(n)) => progress.returned.push(n),
                (Some("done"), None) => finished = true,
                _ => {}
            }
        }
        assert!(
            finished || !status.success() || kill_after.is_some(),
            "the last publisher ended without finishing: {status}"
        );
    }

    // Every returned message reaches the subscriber.
    let wait_until = Instant::now() + Duration::from_secs(20);
    loop {
        let missing = {
            let counts = counts.lock().unwrap();
            progress
                .returned
                .iter()
                .filter(|n| !counts.contains_key(n))
                .count()
        };
        if missing == 0 {
            break;
        }
        assert!(
            Instant::now() < wait_until,
            "{missing} messages whose publish returned never reached the subscriber"
        );
        thread::sleep(Duration::from_millis(50));
    }
    // A little longer, for duplicates still on their way.
    thread::sleep(Duration::from_millis(300));
    let counts = counts.lock().unwrap();
    let duplicated: Vec<_> = counts
        .iter()
        .filter(|(_, c)| **c > 1)
        .map(|(n, _)| *n)
        .collect();
    if qos == QoS::ExactlyOnce {
        assert!(
            duplicated.is_empty(),
            "QoS 2 messages delivered twice: {duplicated:?}"
        );
    }
    assert_eq!(kills, KILLS);
    // Each number is published by one child at most: a publish that did not return before the kill is not tried
    // again (the next child starts after it; the store may still hold it).
    let returned: std::collections::BTreeSet<u32> = progress.returned.iter().copied().collect();
    assert_eq!(
        returned.len(),
        progress.returned.len(),
        "a number returned twice"
    );
    assert!(
        returned.len() + KILLS as usize >= MESSAGES as usize,
        "{} returned",
        returned.len()
    );
    println!(
        "QoS {}: {MESSAGES} messages, {kills} kills (SIGKILL), {} messages recovered from the store by the restarted \
         publishers, {} received ({} duplicates), in {:.1?}",
        qos as u8,
        progress.recovered,
        counts.len(),
        duplicated.len(),
        started.elapsed()
    );
    subscriber.disconnect(Duration::from_secs(5)).unwrap();
}

#[test]
fn a_publisher_killed_20_times_during_a_qos1_flood_loses_no_returned_message() {
    flood_with_kills(QoS::AtLeastOnce, 0x5eed_0001);
}

#[test]
fn a_publisher_killed_20_times_during_a_qos2_flood_loses_nothing_and_duplicates_nothing() {
    flood_with_kills(QoS::ExactlyOnce, 0x5eed_0002);
}
