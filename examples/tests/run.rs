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
    /// The delays, in ms, of the "reconnecting: attempt N in D ms" lines, in order.
    fn reconnect_delays(&self) -> Vec<(u32, u64)> {
        self.stdout
            .lines()
            .filter_map(|line| line.split("state: reconnecting: attempt ").nth(1))
            .filter_map(|rest| {
                let (attempt, delay) = rest.split_once(" in ")?;
                Some((
                    attempt.parse().ok()?,
                    delay.strip_suffix(" ms")?.parse().ok()?,
                ))
            })
            .collect()
    }

    /// The first reconnect attempts wait the policy's schedule, each within the default jitter (±25 %).
    fn assert_schedule(&self, schedule_ms: &[u64]) {
        let delays = self.reconnect_delays();
        for (i, base) in schedule_ms.iter().enumerate() {
            let Some(&(attempt, delay)) = delays.get(i) else {
                panic!("only {} reconnect delays; {self:#?}", delays.len());
            };
            assert_eq!(attempt as usize, i + 1, "{self:#?}");
            assert!(
                (base * 3 / 4..=base * 5 / 4).contains(&delay),
                "attempt {attempt} waited {delay} ms, not {base} ms ± 25 %; {self:#?}"
            );
        }
    }

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
    run_with_env(binary, args, broker, &[], limit)
}

/// As [`run`], with the variables of `env` set too.
fn run_with_env(
    binary: &str,
    args: &[&str],
    broker: Option<&str>,
    env: &[(&str, &str)],
    limit: Duration,
) -> Run {
    let mut command = Command::new(binary);
    command
        .args(args)
        .env_remove("MQTT_CA")
        .env_remove("MQTT_PORT")
        .env_remove("MQTT_USERNAME")
        .env_remove("MQTT_PASSWORD")
        .env_remove("MQTT_CLIENT_ID")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .envs(env.iter().copied());
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

/// What each backend's section of the quickstart prints, after its `[tokio]` or `[smol]` prefix.
const QUICKSTART_SECTION_LINES: &[&str] = &[
    "subscriber connected",
    "publisher connected",
    "subscriber subscribed to",
    "subscriber received \"hello at QoS 0\" on",
    "  the broker acknowledged it (PUBACK)",
    "subscriber received \"hello at QoS 1\" on",
    "  the broker acknowledged it (PUBREC, PUBREL, PUBCOMP)",
    "subscriber received \"hello at QoS 2\" on",
    "publisher disconnected",
    "subscriber disconnected",
];

/// Asserts that the quickstart ran both sections, tokio then smol, and said it succeeded.
fn assert_quickstart_succeeded(run: &Run) {
    run.assert_succeeded_with(&[
        "asking for QoS 2: the broker granted QoS 2",
        "every message arrived at the QoS it was sent with",
    ]);
    for backend in ["tokio", "smol", "blocking"] {
        for line in QUICKSTART_SECTION_LINES {
            let line = format!("[{backend}] {line}");
            assert!(
                run.stdout.contains(&line),
                "stdout lacks {line:?}; {run:#?}"
            );
        }
        assert_eq!(
            run.stdout
                .matches(&format!("[{backend}] subscriber received"))
                .count(),
            3,
            "{run:#?}"
        );
    }
    let (tokio, smol) = (run.stdout.find("[tokio]"), run.stdout.find("[smol]"));
    assert!(tokio < smol, "the tokio section comes first; {run:#?}");
    assert!(
        smol < run.stdout.find("[blocking]"),
        "the blocking section comes last; {run:#?}"
    );
}

#[test]
fn quickstart_runs_with_its_in_process_broker() {
    let run = run(
        env!("CARGO_BIN_EXE_quickstart"),
        &[],
        None,
        Duration::from_secs(60),
    );
    assert_quickstart_succeeded(&run);
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
        Duration::from_secs(60),
    );
    assert_quickstart_succeeded(&run);
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
        Duration::from_secs(60),
    );
    assert!(!run.status.success(), "{run:#?}");
    assert!(
        run.stderr
            .contains("quickstart failed: the subscriber could not connect"),
        "{run:#?}"
    );
}

/// What a pubsub example (`tokio_pubsub`, `smol_pubsub`) prints with the in-process broker: each subscription got
/// only its own matches, 3 temperatures and 2 kitchen readings.
fn assert_pubsub_ran(binary: &str) {
    let run = run(binary, &[], None, Duration::from_secs(40));
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
    assert_eq!(run.stdout.matches("/+/temperature\" received").count(), 3);
    assert_eq!(run.stdout.matches("/kitchen/#\" received").count(), 2);
}

#[test]
fn tokio_pubsub_runs() {
    assert_pubsub_ran(env!("CARGO_BIN_EXE_tokio_pubsub"));
}

#[test]
fn smol_pubsub_runs() {
    assert_pubsub_ran(env!("CARGO_BIN_EXE_smol_pubsub"));
}

#[test]
fn smol_pubsub_uses_the_broker_in_mqtt_broker() {
    let mosquitto = Mosquitto::start(MosquittoConfig::default()).expect("start mosquitto");
    let url = mosquitto.url(Listener::Plain);
    let run = run(
        env!("CARGO_BIN_EXE_smol_pubsub"),
        &[],
        Some(&url),
        Duration::from_secs(40),
    );
    run.assert_succeeded_with(&[
        &format!("connecting to {url}"),
        "/kitchen/humidity\" = 48",
        "disconnected",
    ]);
}

/// What `tls_tokio` prints once connected, whichever broker it uses.
const TLS_LINES: &[&str] = &[
    "connected over TLS: the broker's certificate was verified",
    "acknowledged by the broker (PUBACK)",
    "received \"sent over TLS\" on",
    "at QoS 1",
    "disconnected",
];

/// A TLS example (`tls_tokio`, `tls_smol`, `tls_blocking`) with the in-process broker behind its TLS front.
fn assert_tls_ran_with_its_front(binary: &str) {
    let run = run(binary, &[], None, Duration::from_secs(40));
    run.assert_succeeded_with(TLS_LINES);
    run.assert_succeeded_with(&[
        "a TLS front at mqtts://localhost:",
        "connecting to mqtts://localhost:",
    ]);
}

#[test]
fn tls_tokio_runs_with_its_tls_front() {
    assert_tls_ran_with_its_front(env!("CARGO_BIN_EXE_tls_tokio"));
}

#[test]
fn tls_smol_runs_with_its_tls_front() {
    assert_tls_ran_with_its_front(env!("CARGO_BIN_EXE_tls_smol"));
}

#[test]
fn tls_tokio_uses_the_broker_in_mqtt_broker_and_the_ca_in_mqtt_ca() {
    let mosquitto = Mosquitto::start(MosquittoConfig {
        tls: true,
        ..MosquittoConfig::default()
    })
    .expect("start mosquitto");
    let url = mosquitto.url(Listener::Tls);
    let ca = mosquitto.ca_path().expect("the CA of the TLS listener");
    let ca = ca.to_str().expect("a UTF-8 path");
    let run = run_with_env(
        env!("CARGO_BIN_EXE_tls_tokio"),
        &[],
        Some(&url),
        &[("MQTT_CA", ca)],
        Duration::from_secs(40),
    );
    run.assert_succeeded_with(TLS_LINES);
    run.assert_succeeded_with(&[&format!("broker: {url} (from MQTT_BROKER)"), "(MQTT_CA)"]);
}

#[test]
fn tls_tokio_refuses_a_broker_it_does_not_trust() {
    // mosquitto's certificate is signed by a CA the client was not given: the system's roots do not know it.
    let mosquitto = Mosquitto::start(MosquittoConfig {
        tls: true,
        ..MosquittoConfig::default()
    })
    .expect("start mosquitto");
    let run = run(
        env!("CARGO_BIN_EXE_tls_tokio"),
        &[],
        Some(&mosquitto.url(Listener::Tls)),
        Duration::from_secs(40),
    );
    assert!(!run.status.success(), "{run:#?}");
    assert!(run.stderr.contains("tls_tokio failed:"), "{run:#?}");
    assert!(!run.stdout.contains("connected over TLS"), "{run:#?}");
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
        "state: attempt failed",
        "the broker is back on the same port",
        "state: connected, new session",
        "the broker acknowledged the message sent while offline",
        "received \"sent while offline\"",
        "state: disconnected by the application",
    ]);
    run.assert_schedule(&[250, 500]);
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
fn smol_reconnect_shows_the_schedule_across_a_broker_restart() {
    let run = run(
        env!("CARGO_BIN_EXE_smol_reconnect"),
        &[],
        None,
        Duration::from_secs(40),
    );
    run.assert_succeeded_with(&[
        "state: connection lost",
        "the broker stopped",
        "published a QoS 1 message while offline",
        "state: attempt failed",
        "the broker is back on the same port",
        "state: connected, new session",
        "the broker acknowledged the message sent while offline",
        "received \"sent while offline\"",
        "state: disconnected by the application",
    ]);
    run.assert_schedule(&[250, 500]);
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

#[test]
fn blocking_pubsub_runs_with_json_callbacks_and_a_reconnect() {
    let run = run(
        env!("CARGO_BIN_EXE_blocking_pubsub"),
        &[],
        None,
        Duration::from_secs(40),
    );
    run.assert_succeeded_with(&[
        "state: connected, new session",
        "/kitchen/temperature says {\"celsius\":21.5,\"room\":\"kitchen\"}",
        "/cellar/temperature says {\"celsius\":12.25,\"room\":\"cellar\"}",
        "thermostat: target 20.5 accepted",
        "state: reconnecting now, as the application asked",
        "/garage/temperature says",
        "2 disconnection(s)",
        "state: disconnected by the application",
    ]);
    // Seven messages, and the thermostat's answer once more if the reconnect caught it in flight (resent with DUP).
    let sent: u32 = run
        .stdout
        .split("statistics: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no statistics line; {run:#?}"));
    assert!((7..=8).contains(&sent), "{sent} messages sent; {run:#?}");
    assert_eq!(
        run.stdout.matches("state: connected").count(),
        2,
        "{run:#?}"
    );
}

#[test]
fn blocking_reconnect_delivers_what_was_published_during_the_outage() {
    let run = run(
        env!("CARGO_BIN_EXE_blocking_reconnect"),
        &[],
        None,
        Duration::from_secs(40),
    );
    run.assert_succeeded_with(&[
        "published a QoS 1 message while offline",
        "state: reconnecting: attempt",
        "the broker is back on the same port",
        "state: connected, new session",
        "the broker acknowledged the message sent while offline (PUBACK)",
        "received \"sent while offline\"",
        "connections lost along the way: 1",
    ]);
}

#[test]
fn tls_blocking_runs_with_its_tls_front() {
    assert_tls_ran_with_its_front(env!("CARGO_BIN_EXE_tls_blocking"));
}

#[test]
fn tracing_subscriber_prints_the_clients_log_without_password_or_payload() {
    let run = run(
        env!("CARGO_BIN_EXE_tracing_subscriber"),
        &[],
        None,
        Duration::from_secs(40),
    );
    run.assert_succeeded_with(&[
        // The span that names the client, around every event.
        "mqtt{client_id=\"tracing-",
        "connecting broker=\"mqtt://127.0.0.1:",
        "connected broker=\"mqtt://127.0.0.1:",
        "connection lost",
        "reconnecting attempt=1 delay=",
        "broker unreachable error=network error",
        "disconnected",
        "done: the client's log is above",
    ]);
    for secret in ["never-in-the-log", "a payload the log leaves out"] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "{secret:?} printed; {run:#?}"
        );
    }
}
