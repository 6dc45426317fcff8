//! `mqtt`'s MQTT 5 side end to end, against a mosquitto of mqtt-test's harness: `mqtt req` against a responder
//! written with mqtt-tokio, `-D` properties as a subscriber sees them, and the usage errors of `-D` and of
//! `mqtt req` over 3.1.1. Synchronisation is on events (a responder's granted subscription, a SUBACK printed).

mod process;

use mqtt_test::{Listener, MosquittoConfig};
use mqtt_tokio::{Options, QoS};
use process::*;
use serde_json::Value;

/// A responder on `service` (connected and subscribed when this returns), answering `re: PAYLOAD` followed by the
/// request's user properties as `k=v` pairs, on a runtime of its own that the test keeps alive.
fn responder(url: &str, service: &str) -> tokio::runtime::Runtime {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let options = Options::new(url)
        .unwrap()
        .client_id(format!("responder-{}", std::process::id()))
        .connect_timeout(LIMIT);
    let requests = runtime.block_on(async {
        let client = mqtt_tokio::connect(options).await.unwrap();
        tokio::time::timeout(LIMIT, client.responder(service, QoS::AtLeastOnce))
            .await
            .unwrap()
            .unwrap()
    });
    runtime.spawn(requests.serve(|request| {
        let mut answer = format!("re: {}", String::from_utf8_lossy(&request.payload));
        for (key, value) in &request.user_properties {
            answer.push_str(&format!(" {key}={value}"));
        }
        Some(answer.into())
    }));
    runtime
}

#[test]
fn req_prints_the_response_of_a_responder() {
    let broker = broker(MosquittoConfig::default());
    let url = broker.url(Listener::Plain);
    let _responder = responder(&url, "cli/service/echo");

    // The client's own request/response: its reply inbox and Correlation Data.
    let output = run(mqtt(&[
        "req",
        "-L",
        &url,
        "-t",
        "cli/service/echo",
        "-m",
        "ping",
    ]));
    assert_exit(&output, 0);
    assert_eq!(String::from_utf8_lossy(&output.stdout), "re: ping\n");

    // A response topic of the caller's, QoS 0, request properties, verbose output.
    let output = run(mqtt(&[
        "req",
        "-L",
        &url,
        "-t",
        "cli/service/echo",
        "-m",
        "pong",
        "--response-topic",
        "cli/replies/mine",
        "-q",
        "0",
        "-D",
        "PUBLISH",
        "user-property",
        "lang",
        "en",
        "-v",
    ]));
    assert_exit(&output, 0);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("cli/replies/mine re: pong lang=en\n"),
        "{stdout}"
    );
    assert!(stdout.contains("  correlation-data: mqtt-req-"), "{stdout}");

    // JSON, with the Correlation Data chosen by -D.
    let output = run(mqtt(&[
        "req",
        "-L",
        &url,
        "-t",
        "cli/service/echo",
        "-m",
        "json?",
        "-D",
        "PUBLISH",
        "correlation-data",
        "req-1",
        "--json",
    ]));
    assert_exit(&output, 0);
    let line: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(line["payload"], "re: json?");
    assert_eq!(line["properties"]["correlation_data"], "cmVxLTE="); // base64 of "req-1"
}

#[test]
fn req_without_a_responder_times_out_with_the_timeout_code() {
    let broker = broker(MosquittoConfig::default());
    let url = broker.url(Listener::Plain);
    let output = run(mqtt(&[
        "req",
        "-L",
        &url,
        "-t",
        "cli/service/nobody",
        "-m",
        "anyone?",
        "-W",
        "0.5",
    ]));
    assert_exit(&output, TIMEOUT);
    let text = stderr(&output);
    assert!(
        text.contains("no response") && text.contains("responder"),
        "{text}"
    );
}

#[test]
fn req_over_mqtt_311_is_a_usage_error() {
    // Refused before connecting: no broker needed.
    let output = run(mqtt(&[
        "req",
        "-L",
        "mqtt://127.0.0.1:1",
        "-V",
        "311",
        "-t",
        "a",
        "-m",
        "x",
    ]));
    assert_exit(&output, USAGE);
    let text = stderr(&output);
    assert!(text.contains("MQTT 5") && text.contains("-V 311"), "{text}");
}

#[test]
fn publish_properties_reach_the_subscriber_as_json() {
    let broker = broker(MosquittoConfig::default());
    let url = broker.url(Listener::Plain);
    let sub = subscribed(mqtt(&[
        "sub",
        "-L",
        &url,
        "-t",
        "cli/props",
        "-q",
        "1",
        "-C",
        "1",
        "--json",
        "-D",
        "SUBSCRIBE",
        "subscription-identifier",
        "42",
    ]));
    let output = run(mqtt(&[
        "pub",
        "-L",
        &url,
        "-t",
        "cli/props",
        "-q",
        "1",
        "-m",
        "{\"t\":21.5}",
        "-D",
        "PUBLISH",
        "user-property",
        "unit",
        "°C",
        "-D",
        "PUBLISH",
        "user-property",
        "unit",
        "K",
        "-D",
        "PUBLISH",
        "content-type",
        "application/json",
        "-D",
        "PUBLISH",
        "message-expiry-interval",
        "300",
        "-D",
        "PUBLISH",
        "response-topic",
        "cli/props/reply",
        "-D",
        "PUBLISH",
        "correlation-data",
        "abc",
        "-D",
        "PUBLISH",
        "payload-format-indicator",
        "1",
        "-D",
        "CONNECT",
        "session-expiry-interval",
        "3600",
        "-D",
        "CONNECT",
        "user-property",
        "client",
        "cli-test",
        "-D",
        "DISCONNECT",
        "reason-string",
        "done",
    ]));
    assert_exit(&output, 0);

    let line: Value = serde_json::from_str(&printed(sub)).unwrap();
    assert_eq!(line["payload"], "{\"t\":21.5}");
    let properties = &line["properties"];
    assert_eq!(
        properties["user_properties"],
        serde_json::json!([{"key": "unit", "value": "°C"}, {"key": "unit", "value": "K"}])
    );
    assert_eq!(properties["content_type"], "application/json");
    assert_eq!(properties["response_topic"], "cli/props/reply");
    assert_eq!(properties["correlation_data"], "YWJj"); // base64 of "abc"
    assert_eq!(properties["payload_format_indicator"], 1);
    assert_eq!(
        properties["subscription_identifiers"],
        serde_json::json!([42])
    );
    // What is left of the expiry when the broker forwards it.
    let expiry = properties["message_expiry_interval"].as_u64().unwrap();
    assert!((1..=300).contains(&expiry), "{properties}");
}

#[test]
fn a_bad_property_is_a_usage_error_that_names_it() {
    // Nothing listens there: a property that got as far as connecting would exit with the network code.
    let url = "mqtt://127.0.0.1:1";
    let cases: &[(&[&str], &str)] = &[
        (&["-D", "PUBLISH", "content-typo", "x"], "content-typo"),
        (
            &["-D", "PUBLISH", "message-expiry-interval", "soon"],
            "message-expiry-interval",
        ),
        (
            &["-D", "CONNECT", "receive-maximum", "0"],
            "receive-maximum",
        ),
        (&["-D", "PUBLISH", "user-property", "k"], "user-property"),
        (
            &["-D", "SUBSCRIBE", "subscription-identifier", "1"],
            "SUBSCRIBE",
        ),
        (
            &["-D", "WILL", "content-type", "text/plain"],
            "--will-topic",
        ),
        (
            &["-D", "DISCONNECT", "session-expiry-interval", "60"],
            "session-expiry-interval",
        ),
        (&["-D", "AUTH", "reason-string", "x"], "auth"),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["pub", "-L", url, "-t", "cli/bad", "-m", "x"];
        args.extend_from_slice(extra);
        let output = run(mqtt(&args));
        assert_exit(&output, USAGE);
        let text = stderr(&output);
        assert!(text.contains(needle), "{extra:?}: {needle:?} not in {text}");
    }
}

#[test]
fn will_properties_reach_the_subscriber_when_the_connection_dies() {
    let broker = broker(MosquittoConfig::default());
    let url = broker.url(Listener::Plain);
    let watcher = subscribed(mqtt(&[
        "sub", "-L", &url, "-t", "cli/will", "-q", "1", "-C", "1", "--json",
    ]));
    // A subscriber with a will, killed once it has subscribed: no DISCONNECT, so the broker publishes the will.
    let mut doomed = subscribed(mqtt(&[
        "sub",
        "-L",
        &url,
        "-t",
        "cli/unused",
        "--will-topic",
        "cli/will",
        "--will-payload",
        "gone",
        "--will-qos",
        "1",
        "-D",
        "WILL",
        "user-property",
        "reason",
        "killed",
        "-D",
        "WILL",
        "content-type",
        "text/plain",
    ]));
    doomed.kill().unwrap();
    let _ = finish(doomed);

    let output = finish(watcher);
    assert_exit(&output, 0);
    let line: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(line["payload"], "gone");
    assert_eq!(line["properties"]["content_type"], "text/plain");
    assert_eq!(
        line["properties"]["user_properties"],
        serde_json::json!([{"key": "reason", "value": "killed"}])
    );
}

#[test]
fn req_w_bounds_the_connection_too() {
    // A broker that takes the TCP connection and never answers CONNECT: -W 1 gives up after a second, however
    // long the connect timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("mqtt://{}", silent.local_addr().unwrap());
    let started = std::time::Instant::now();
    let output = run(mqtt(&[
        "req",
        "-L",
        &url,
        "--connect-timeout",
        "60",
        "-t",
        "cli/service",
        "-m",
        "anyone?",
        "-W",
        "1",
    ]));
    assert_exit(&output, TIMEOUT);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "-W 1 waited {:?}: it did not bound the connection",
        started.elapsed()
    );
    let text = stderr(&output);
    assert!(text.contains("-W"), "{text}");
}

/// A payload marked as UTF-8 text (`-D PUBLISH payload-format-indicator 1`) that is not is a usage error that says
/// so, and reaches no subscriber: mosquitto passed it on, marked as text, and `mqtt pub` exited 0.
#[test]
fn a_payload_marked_utf8_that_is_not_is_a_usage_error() {
    let broker = broker(MosquittoConfig::default());
    let url = broker.url(Listener::Plain);
    let file = std::env::temp_dir().join(format!("mqtt-cli-not-utf8-{}", std::process::id()));
    std::fs::write(&file, b"caf\xe9").unwrap();
    let path = file.to_str().unwrap();
    let marked = ["-D", "PUBLISH", "payload-format-indicator", "1"];
    let mut args = vec!["pub", "-L", &url, "-t", "cli/pfi", "-q", "1", "-f", path];
    args.extend_from_slice(&marked);
    let output = run(mqtt(&args));
    assert_exit(&output, USAGE);
    let text = stderr(&output);
    assert!(text.contains("not valid UTF-8"), "{text}");
    assert!(
        text.contains("payload-format-indicator"),
        "the hint names the property: {text}"
    );
    std::fs::write(&file, "café").unwrap();
    let output = run(mqtt(&args));
    std::fs::remove_file(&file).unwrap();
    assert_exit(&output, 0);
}

/// A refusal shows the broker's Reason String beside its code: a SUBACK `0x87` Not authorized said why in its
/// Reason String, which `mqtt sub` left out (the client keeps it in `last_reason`).
#[test]
fn a_refused_subscription_shows_the_brokers_reason_string() {
    let server = mqtt_test::FakeBrokerServer::start(mqtt_test::BrokerConfig {
        refused_filters: vec!["secret/#".into()],
        subscribe_refusal: mqtt_tokio::ReasonCode::NOT_AUTHORIZED,
        reason_strings: true,
        ..mqtt_test::BrokerConfig::default()
    })
    .unwrap();
    let url = server.url();
    let output = run(mqtt(&["sub", "-L", &url, "-t", "secret/#", "-W", "5"]));
    assert_exit(&output, REFUSED);
    let text = stderr(&output);
    assert!(text.contains("Not authorized (0x87)"), "{text}");
    assert!(
        text.contains(r#"the broker said: "fake broker: SUBACK""#),
        "{text}"
    );
}
