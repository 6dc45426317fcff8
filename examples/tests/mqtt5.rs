//! The MQTT 5.0 examples run (with their in-process broker, and with mosquitto in `MQTT_BROKER`), and
//! request/response across backends: a tokio requester and a blocking responder, 1,000 requests at once, each
//! answered once and with its own answer. Every wait is bounded.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mqtt_test::mosquitto::{Listener, Mosquitto, MosquittoConfig};

/// Runs `binary` with `MQTT_BROKER` set to `broker` (or removed); kills it after `limit`. Exit status and stdout.
fn run(binary: &str, broker: Option<&str>, limit: Duration) -> (bool, String, String) {
    let mut command = Command::new(binary);
    command
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
    let mut child = command.spawn().expect("start the example");
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let stdout = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        text
    });
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{binary} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status.success(),
        stdout.join().unwrap(),
        stderr.join().unwrap(),
    )
}

fn assert_ran(binary: &str, broker: Option<&str>, lines: &[&str]) {
    let (ok, stdout, stderr) = run(binary, broker, Duration::from_secs(60));
    assert!(ok, "{binary} failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    for line in lines {
        assert!(stdout.contains(line), "stdout lacks {line:?}:\n{stdout}");
    }
}

const REQUEST_RESPONSE: &[&str] = &[
    "request 7 -> 49",
    "request 101 -> 10201",
    "every request got its own response",
    "a request nobody answers times out",
    "disconnected",
];

const PROPERTIES: &[&str] = &[
    "the broker announced: maximum QoS",
    "  content type: Some(\"application/json\")",
    "  user properties: [(\"unit\", \"celsius\"), (\"sensor\", \"kitchen\")]",
    "  subscription identifiers: [42]",
    "  correlation data: Some(\"reading-1\")",
    "unsubscribed: [ReasonCode(0x00 Success)]",
    "disconnected with a reason string",
];

#[test]
fn request_response_runs_with_its_in_process_broker_and_with_mosquitto() {
    let binary = env!("CARGO_BIN_EXE_request_response");
    assert_ran(binary, None, REQUEST_RESPONSE);
    let mosquitto = Mosquitto::start(MosquittoConfig::default()).expect("start mosquitto");
    assert_ran(
        binary,
        Some(&mosquitto.url(Listener::Plain)),
        REQUEST_RESPONSE,
    );
}

#[test]
fn mqtt5_properties_runs_with_its_in_process_broker_and_with_mosquitto() {
    let binary = env!("CARGO_BIN_EXE_mqtt5_properties");
    assert_ran(binary, None, PROPERTIES);
    let mosquitto = Mosquitto::start(MosquittoConfig::default()).expect("start mosquitto");
    assert_ran(binary, Some(&mosquitto.url(Listener::Plain)), PROPERTIES);
}

#[test]
fn a_tokio_requester_and_a_blocking_responder_answer_1000_concurrent_requests() {
    const REQUESTS: usize = 1000;
    const WAIT: Duration = Duration::from_secs(30);
    let mosquitto = Mosquitto::start(MosquittoConfig::default()).expect("start mosquitto");
    let url = mosquitto.url(Listener::Plain);
    let responder = mqtt_blocking::connect(
        &mqtt_blocking::Options::new(&url)
            .unwrap()
            .client_id("cross-responder"),
    )
    .unwrap();
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = answered.clone();
    responder
        .respond(
            "cross/service",
            mqtt_blocking::QoS::AtLeastOnce,
            move |request| {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let mut answer = b"re: ".to_vec();
                answer.extend_from_slice(&request.payload);
                Some(answer.into())
            },
        )
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let options = mqtt_tokio::Options::new(&url)
            .unwrap()
            .client_id("cross-requester")
            .message_capacity(4096);
        let requester = mqtt_tokio::connect(options).await.unwrap();
        let requests = (0..REQUESTS).map(|i| {
            let requester = requester.clone();
            async move {
                let answer = requester
                    .request("cross/service", format!("question {i}"), WAIT)
                    .await
                    .unwrap_or_else(|e| panic!("request {i}: {e}"));
                assert_eq!(answer.payload, format!("re: question {i}").as_bytes());
            }
        });
        tokio::time::timeout(2 * WAIT, futures::future::join_all(requests))
            .await
            .expect("1,000 requests in time");
        requester.disconnect(WAIT).await.unwrap();
    });
    assert_eq!(
        answered.load(std::sync::atomic::Ordering::Relaxed),
        REQUESTS,
        "each request answered once"
    );
    responder.disconnect(WAIT).unwrap();
}
