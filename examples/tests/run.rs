//! The quickstart and the examples really run: each binary is started as a user would start it, must end by itself
//! within a time limit with exit status 0, and must print the lines that show it did its job. Nothing leaves
//! 127.0.0.1: without `MQTT_BROKER` each starts its in-process broker, and the `MQTT_BROKER` cases use a local
//! mosquitto.

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use mqtt_test::mosquitto::{Listener, Mosquitto, MosquittoConfig};

/// What a finished run left behind.
#[derive(Debug)]
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Asserts exit status 0 and that stdout contains every line fragment in `expected`.
    fn assert_succeeded_with(&self, expected: &[&str]) {
        assert!(
            self.status.success(),
            "exit status {}; {self:#?}",
            self.status
        );
        for fragment in expected {
            assert!(
                self.stdout.contains(fragment),
                "stdout lacks {fragment:?}; {self:#?}"
            );
        }
    }
}

/// Runs `binary` with `args`, `MQTT_BROKER` set to `broker` or removed, and kills it if it is still running after
/// `limit` (the test then fails).
fn run(binary: &str, args: &[&str], broker: Option<&str>, limit: Duration) -> Run {
    let mut command = Command::new(binary);
    command
        .args(args)
        .env_remove("MQTT_PORT")
        .env_remove("MQTT_USERNAME")
        .env_remove("MQTT_PASSWORD")
        .env_remove("MQTT_CLIENT_ID")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match broker {
        Some(url) => command.env("MQTT_BROKER", url),
        None => command.env_remove("MQTT_BROKER"),
    };
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
    // Read both pipes on threads, so that a chatty child never blocks on a full pipe.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let stdout = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let stdout = stdout.join().unwrap_or_default();
            let stderr = stderr.join().unwrap_or_default();
            panic!("{binary} still running after {limit:?}\nstdout:\n{stdout}\nstderr:\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

const QUICKSTART_LINES: &[&str] = &[
    "[tokio] subscriber connected",
    "[tokio] publisher connected",
    "asking for QoS 2: the broker granted QoS 2",
    "[tokio] subscriber received \"hello at QoS 0\"",
    "the broker acknowledged it (PUBACK)",
    "[tokio] subscriber received \"hello at QoS 1\"",
    "the broker acknowledged it (PUBREC, PUBREL, PUBCOMP)",
    "[tokio] subscriber received \"hello at QoS 2\"",
    "[tokio] publisher disconnected",
    "[tokio] subscriber disconnected",
    "every message arrived at the QoS it was sent with",
];

#[test]
fn quickstart_runs_with_its_in_process_broker() {
    let run = run(
        env!("CARGO_BIN_EXE_quickstart"),
        &[],
        None,
        Duration::from_secs(40),
    );
    run.assert_succeeded_with(QUICKSTART_LINES);
    assert!(run.stdout.contains("MQTT_BROKER is not set"), "{run:#?}");
}

#[test]
fn quickstart_uses_the_broker_in_mqtt_broker() {
    let mosquitto = Mosquitto::start(MosquittoConfig::default()).expect("start mosquitto");
    let url = mosquitto.url(Listener::Plain);
    let run = run(
        env!("CARGO_BIN_EXE_quickstart"),
        &[],
        Some(&url),
        Duration::from_secs(40),
    );
    run.assert_succeeded_with(QUICKSTART_LINES);
    assert!(
        run.stdout
            .contains(&format!("Broker: {url} (from MQTT_BROKER)")),
        "{run:#?}"
    );
}

#[test]
fn quickstart_fails_clearly_when_the_broker_is_unreachable() {
    // Nothing listens on port 1 of the loopback: every connection attempt is refused.
    let run = run(
        env!("CARGO_BIN_EXE_quickstart"),
        &[],
        Some("mqtt://127.0.0.1:1"),
        Duration::from_secs(40),
    );
    assert!(!run.status.success(), "{run:#?}");
    assert!(
        run.stderr
            .contains("quickstart failed: the subscriber could not connect"),
        "{run:#?}"
    );
}

#[test]
fn tokio_pubsub_runs() {
    let run = run(
        env!("CARGO_BIN_EXE_tokio_pubsub"),
        &[],
        None,
        Duration::from_secs(40),
    );
    run.assert_succeeded_with(&[
        "connected",
        "kitchen/temperature\", acknowledged by the broker",
        "/+/temperature\" received",
        "/garage/temperature\" = 12.5",
        "/kitchen/#\" received",
        "/kitchen/humidity\" = 48",
        "unsubscribed from",
        "disconnected",
    ]);
    // Each subscription got only its own matches: 3 temperatures, 2 kitchen readings.
    assert_eq!(run.stdout.matches("/+/temperature\" received").count(), 3);
    assert_eq!(run.stdout.matches("/kitchen/#\" received").count(), 2);
}

#[test]
fn reconnect_shows_the_schedule_across_a_broker_restart() {
    let run = run(
        env!("CARGO_BIN_EXE_reconnect"),
        &[],
        None,
        Duration::from_secs(40),
    );
    run.assert_succeeded_with(&[
        "state: connection lost",
        "the broker stopped",
        "published a QoS 1 message while offline",
        "state: reconnecting: attempt 1 in 250 ms",
        "state: attempt failed",
        "state: reconnecting: attempt 2 in 500 ms",
        "state: reconnecting: attempt 3 in 1000 ms",
        "the broker is back on the same port",
        "state: connected, new session",
        "the broker acknowledged the message sent while offline",
        "received \"sent while offline\"",
        "state: disconnected by the application",
    ]);
}

#[test]
fn reconnect_drops_the_connection_with_the_broker_in_mqtt_broker() {
    let mosquitto = Mosquitto::start(MosquittoConfig::default()).expect("start mosquitto");
    let run = run(
        env!("CARGO_BIN_EXE_reconnect"),
        &[],
        Some(&mosquitto.url(Listener::Plain)),
        Duration::from_secs(40),
    );
    run.assert_succeeded_with(&[
        "dropped the connection (Client::reconnect)",
        "state: connected, new session",
        "received \"sent while offline\"",
    ]);
}

#[test]
fn decode_runs_the_readme_command() {
    let run = run(
        env!("CARGO_BIN_EXE_decode"),
        &["5", "30 0e 00 03 61 2f 62 00 68 65 6c 6c 6f 21 21 21"],
        None,
        Duration::from_secs(20),
    );
    run.assert_succeeded_with(&["a/b"]);
}
