//! `mqtt` end to end: the built binary against a real mosquitto started by mqtt-test's harness (a free loopback
//! port, a generated configuration), checked with mosquitto's own clients where they see the other side. Every
//! process runs with a time limit; synchronisation is on what the processes print (a SUBACK seen), never on sleeps.

mod process;

use std::io::Write as _;
use std::net::TcpListener;
use std::process::{Command, Stdio};

use base64::Engine as _;
use mqtt_test::{Listener, MosquittoConfig};
use process::*;
use serde_json::Value;

#[test]
fn mqtt_pub_reaches_mosquitto_sub() {
    let broker = broker(MosquittoConfig::default());
    // mosquitto_sub buffers its output in a pipe: stdbuf makes it line by line, so that its SUBACK is seen.
    let template = broker.client_command("mosquitto_sub", Listener::Plain);
    let mut sub = Command::new("stdbuf");
    sub.arg("-oL")
        .arg(template.get_program())
        .args(template.get_args());
    sub.args([
        "-d", "-v", "-q", "1", "-C", "1", "-W", "15", "-t", "cli/pub",
    ]);
    let mut sub = sub
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Lines::of(sub.stdout.take().unwrap());
    lines.wait_for("received SUBACK");

    let url = broker.url(Listener::Plain);
    let output = run(mqtt(&[
        "pub",
        "-L",
        &url,
        "-t",
        "cli/pub",
        "-q",
        "1",
        "-m",
        "hello from mqtt",
    ]));
    assert_exit(&output, 0);
    lines.wait_for("cli/pub hello from mqtt");
    assert!(finish(sub).status.success());
}

#[test]
fn mosquitto_pub_reaches_mqtt_sub() {
    let broker = broker(MosquittoConfig::default());
    let url = broker.url(Listener::Plain);
    let sub = subscribed(mqtt(&[
        "sub",
        "-L",
        &url,
        "-t",
        "cli/sub/+",
        "-q",
        "1",
        "-C",
        "1",
        "-v",
    ]));
    let mut publish = broker.client_command("mosquitto_pub", Listener::Plain);
    publish.args(["-q", "1", "-t", "cli/sub/one", "-m", "hello from mosquitto"]);
    assert!(run(publish).status.success());

    assert_eq!(printed(sub), "cli/sub/one hello from mosquitto\n");
}

#[test]
fn json_lines_carry_topic_qos_retain_properties_and_the_payload_as_text_or_base64() {
    let broker = broker(MosquittoConfig::default());
    let url = broker.url(Listener::Plain);
    // A retained binary message first: the subscription gets it at once.
    let binary: Vec<u8> = vec![0xff, 0x00, 0xfe, 0x80, b'\n'];
    let file = broker.dir().join("binary.bin");
    std::fs::write(&file, &binary).unwrap();
    let mut retained = broker.client_command("mosquitto_pub", Listener::Plain);
    retained
        .args(["-q", "1", "-r", "-t", "cli/json/bin", "-f"])
        .arg(&file);
    assert!(run(retained).status.success());

    let sub = subscribed(mqtt(&[
        "sub",
        "-L",
        &url,
        "-t",
        "cli/json/#",
        "-q",
        "2",
        "-C",
        "2",
        "--json",
    ]));
    let mut text = broker.client_command("mosquitto_pub", Listener::Plain);
    text.args([
        "-V",
        "mqttv5",
        "-q",
        "2",
        "-t",
        "cli/json/text",
        "-m",
        "héllo \"json\"",
    ]);
    text.args([
        "-D",
        "publish",
        "user-property",
        "unit",
        "°C",
        "-D",
        "publish",
        "user-property",
        "unit",
        "K",
    ]);
    assert!(run(text).status.success());

    let stdout = printed(sub);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let [bin, text] = lines.as_slice() else {
        panic!("two lines expected: {stdout}")
    };
    assert_eq!(bin["topic"], "cli/json/bin");
    assert_eq!(bin["qos"], 1);
    assert_eq!(bin["retain"], true);
    assert_eq!(bin["encoding"], "base64");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(bin["payload"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, binary);

    assert_eq!(text["topic"], "cli/json/text");
    assert_eq!(text["qos"], 2);
    assert_eq!(text["retain"], false);
    assert_eq!(text["encoding"], "utf-8");
    assert_eq!(text["payload"], "héllo \"json\"");
    assert_eq!(
        text["properties"]["user_properties"],
        serde_json::json!([{"key": "unit", "value": "°C"}, {"key": "unit", "value": "K"}])
    );
}

#[test]
fn each_line_of_stdin_is_a_message_and_the_environment_names_the_broker() {
    let broker = broker(MosquittoConfig::default());
    let url = broker.url(Listener::Plain);
    let sub = subscribed(mqtt(&[
        "sub",
        "-L",
        &url,
        "-t",
        "cli/lines",
        "-q",
        "1",
        "-C",
        "3",
    ]));

    let mut publish = mqtt(&["pub", "-t", "cli/lines", "-q", "1", "-l"]);
    publish
        .env("MQTT_BROKER", "127.0.0.1")
        .env("MQTT_PORT", broker.plain_port().to_string());
    let mut publish = publish
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    publish
        .stdin
        .take()
        .unwrap()
        .write_all(b"one\ntwo\r\n\nthree")
        .unwrap();
    assert_exit(&finish(publish), 0);

    // The empty line is a message too (an empty payload): the third.
    assert_eq!(printed(sub), "one\ntwo\n\n");
}

#[test]
fn a_persistent_session_keeps_messages_published_while_away() {
    let broker = broker(MosquittoConfig::default());
    let url = broker.url(Listener::Plain);
    let publish = |args: &[&str]| {
        let mut command = broker.client_command("mosquitto_pub", Listener::Plain);
        command.args(["-q", "1", "-t", "cli/persist"]).args(args);
        assert!(run(command).status.success());
    };
    let sub = |extra: &[&str]| {
        let mut args = vec![
            "sub",
            "-L",
            &url,
            "-c",
            "-i",
            "cli-persist",
            "-q",
            "1",
            "-t",
            "cli/persist",
            "-C",
            "1",
        ];
        args.extend_from_slice(extra);
        run(mqtt(&args))
    };
    // A retained message lets the first run end as soon as it has subscribed.
    publish(&["-r", "-m", "retained"]);
    let first = sub(&[]);
    assert_exit(&first, 0);
    assert_eq!(String::from_utf8_lossy(&first.stdout), "retained\n");

    publish(&["-m", "queued while away"]);
    // -R skips the retained message the broker sends again at the new subscription.
    let second = sub(&["-R"]);
    assert_exit(&second, 0);
    assert_eq!(
        String::from_utf8_lossy(&second.stdout),
        "queued while away\n"
    );
}

#[test]
fn bench_counts_every_message_once() {
    let broker = broker(MosquittoConfig::default());
    let url = broker.url(Listener::Plain);
    let output = run(mqtt(&[
        "bench",
        "-L",
        &url,
        "--pubs",
        "2",
        "--subs",
        "1",
        "-C",
        "200",
        "-q",
        "1",
        "--json",
        "--no-progress",
    ]));
    assert_exit(&output, 0);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["sent"], 400, "{report}");
    assert_eq!(report["expected"], 400, "{report}");
    assert_eq!(report["received"], 400, "{report}");
    assert_eq!(report["lost"], 0, "{report}");
    assert_eq!(report["duplicated"], 0, "{report}");
    assert_eq!(report["out_of_order"], 0, "{report}");
    assert_eq!(report["timed_out"], false, "{report}");
    assert!(
        report["latency_ms"]["p50"].as_f64().unwrap() > 0.0,
        "{report}"
    );
    assert!(report["latency_ms"]["max"].as_f64() >= report["latency_ms"]["p99"].as_f64());

    // The table, for people.
    let output = run(mqtt(&[
        "bench", "-L", &url, "--pubs", "1", "--subs", "2", "-C", "50", "-q", "2",
    ]));
    assert_exit(&output, 0);
    let table = String::from_utf8_lossy(&output.stdout);
    for row in [
        "sent",
        "received",
        "lost",
        "duplicated",
        "out of order",
        "latency",
        "p99",
    ] {
        assert!(table.contains(row), "{row} missing: {table}");
    }
}

#[test]
fn argument_errors_exit_with_the_usage_code_and_say_what_to_do() {
    // No broker needed: each fails before connecting.
    let cases: &[(&[&str], &str)] = &[
        (&["pub", "-t", "a"], "--message"),
        (&["sub"], "--topic"),
        (&["pub", "-t", "a", "-m", "x", "-q", "3"], "use 0, 1 or 2"),
        (&["sub", "-t", "a", "-c"], "--id"),
        (&["pub", "-t", "a", "-m", "x", "-V", "4"], "311"),
        (
            &["pub", "-t", "a", "-m", "x", "-L", "mqtt://h", "-p", "1"],
            "cannot be used with",
        ),
        (
            &["pub", "-t", "a", "-m", "x", "-W", "soon"],
            "number of seconds",
        ),
        (&["bench", "--size", "10"], "at least 28"),
        (
            &["pub", "-t", "a", "-f", "/nonexistent/payload"],
            "-f /nonexistent/payload",
        ),
        (
            &[
                "pub",
                "-t",
                "a",
                "-m",
                "x",
                "-L",
                "mqtts://localhost:1",
                "--cafile",
                "/nonexistent/ca.pem",
            ],
            "--cafile",
        ),
        (
            &[
                "pub",
                "-t",
                "a",
                "-m",
                "x",
                "-L",
                "mqtt://localhost:1",
                "--cafile",
                "/nonexistent/ca.pem",
            ],
            "not TLS",
        ),
        (
            &[
                "pub",
                "-t",
                "a",
                "-m",
                "x",
                "-V",
                "311",
                "-D",
                "connect",
                "receive-maximum",
                "5",
            ],
            "3.1.1",
        ),
        (
            &[
                "pub",
                "-t",
                "a",
                "-m",
                "x",
                "-D",
                "subscribe",
                "user-property",
                "k",
                "v",
            ],
            "SUBSCRIBE",
        ),
        (&["pub", "-t", "a", "-m", "x", "-L", "nonsense://h"], "URL"),
    ];
    for (args, needle) in cases {
        let output = run(mqtt(args));
        assert_exit(&output, USAGE);
        let text = stderr(&output);
        assert!(text.contains(needle), "{args:?}: {needle:?} not in {text}");
    }
    let output = run(mqtt(&["pub", "--help"]));
    assert_exit(&output, 0);
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.contains("5  TLS") && help.contains("MQTT_BROKER"),
        "{help}"
    );
}

#[test]
fn a_certificate_signed_by_another_ca_gives_the_tls_exit_code() {
    let broker = broker(MosquittoConfig::default().with_tls());
    let other = self::broker(MosquittoConfig::default().with_tls());
    let url = broker.url(Listener::Tls);
    let publish = |ca: &std::path::Path| {
        let ca = ca.to_str().unwrap();
        run(mqtt(&[
            "pub", "-L", &url, "--cafile", ca, "-t", "cli/tls", "-q", "1", "-m", "x",
        ]))
    };
    let refused = publish(&other.ca_path().unwrap());
    assert_exit(&refused, TLS);
    let text = stderr(&refused);
    assert!(
        text.contains("certificate") && text.contains("--cafile"),
        "{text}"
    );

    assert_exit(&publish(&broker.ca_path().unwrap()), 0);
}

#[test]
fn connection_failures_exit_with_their_class() {
    let broker = broker(MosquittoConfig::default().with_users([("alice", "right")]));
    let port = broker.password_port().unwrap().to_string();
    let publish = |extra: &[&str]| {
        let mut args = vec![
            "pub",
            "-h",
            "127.0.0.1",
            "-t",
            "cli/auth",
            "-m",
            "x",
            "-q",
            "1",
        ];
        args.extend_from_slice(extra);
        run(mqtt(&args))
    };
    let refused = publish(&["-p", &port, "-u", "alice", "-P", "wrong"]);
    assert_exit(&refused, REFUSED);
    assert!(stderr(&refused).contains("-u/-P"), "{}", stderr(&refused));
    assert_exit(&publish(&["-p", &port, "-u", "alice", "-P", "right"]), 0);

    // A port nothing listens on (just released).
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let unreachable = publish(&["-p", &closed]);
    assert_exit(&unreachable, NETWORK);
    assert!(
        stderr(&unreachable).contains("broker runs"),
        "{}",
        stderr(&unreachable)
    );

    // -W runs out: nobody publishes what the subscriber waits for.
    let url = broker.url(Listener::Plain);
    let waited = run(mqtt(&[
        "sub",
        "-L",
        &url,
        "-t",
        "cli/nothing",
        "-C",
        "1",
        "-W",
        "1",
    ]));
    assert_exit(&waited, TIMEOUT);
    assert!(stderr(&waited).contains("(-W)"), "{}", stderr(&waited));
}

#[test]
fn websocket_urls_carry_messages_both_ways() {
    let broker = broker(MosquittoConfig::default().with_websocket());
    let url = broker.url(Listener::Ws);
    assert!(url.starts_with("ws://"), "{url}");
    let sub = subscribed(mqtt(&[
        "sub", "-L", &url, "-t", "cli/ws", "-q", "1", "-C", "1", "--json",
    ]));
    let output = run(mqtt(&[
        "pub",
        "-L",
        &url,
        "-t",
        "cli/ws",
        "-q",
        "1",
        "-m",
        "over websocket",
    ]));
    assert_exit(&output, 0);

    let line: Value = serde_json::from_str(&printed(sub)).unwrap();
    assert_eq!(line["payload"], "over websocket");
}

#[cfg(unix)]
#[test]
fn pub_m_sends_the_bytes_given_even_when_they_are_not_utf8() {
    use std::os::unix::ffi::OsStrExt as _;
    let broker = broker(MosquittoConfig::default());
    let url = broker.url(Listener::Plain);
    let sub = subscribed(mqtt(&["sub", "-L", &url, "-t", "cli/bytes", "-C", "1"]));
    let bytes = b"\xff\xfe raw \x80";
    let mut publish = mqtt(&["pub", "-L", &url, "-t", "cli/bytes", "-m"]);
    publish.arg(std::ffi::OsStr::from_bytes(bytes));
    assert_exit(&run(publish), 0);
    let output = finish(sub);
    assert_exit(&output, 0);
    assert_eq!(
        output.stdout,
        [bytes.as_slice(), b"\n"].concat(),
        "as mosquitto_pub does"
    );
}

#[cfg(unix)]
#[test]
fn an_mqtt_broker_variable_that_is_not_utf8_is_reported_as_such() {
    use std::os::unix::ffi::OsStrExt as _;
    let mut publish = mqtt(&["pub", "-t", "t", "-m", "x"]);
    publish.env("MQTT_BROKER", std::ffi::OsStr::from_bytes(b"host\xff"));
    let output = run(publish);
    assert_exit(&output, USAGE);
    let text = stderr(&output);
    assert!(text.contains("MQTT_BROKER is not valid UTF-8"), "{text}");
}

/// `mqtt pub -l -W 1` with stdin still open runs out of time once connected: the timeout code, and a hint about
/// what took the time (the broker's acknowledgements or stdin), not the broker's address, which was right.
#[test]
fn w_running_out_while_stdin_stays_open_says_so_not_check_the_address() {
    let broker = broker(MosquittoConfig::default());
    let url = broker.url(Listener::Plain);
    let mut child = mqtt(&["pub", "-L", &url, "-t", "cli/open", "-l", "-W", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kept open (and empty) until the process ended.
    let stdin = child.stdin.take();
    let output = finish(child);
    drop(stdin);
    assert_exit(&output, TIMEOUT);
    let text = stderr(&output);
    assert!(text.contains("timed out publishing (-W)"), "{text}");
    assert!(text.contains("stdin"), "{text}");
    assert!(!text.contains("address"), "{text}");
}

/// `--will-payload` takes the bytes given, as `-m` does (and as mosquitto's tools do): it was a usage error
/// ("invalid UTF-8 was detected") before anything else was looked at. A will marked as UTF-8 text
/// (`-D WILL payload-format-indicator 1`) must be UTF-8, though (MQTT 5.0 section 3.1.3.2): a usage error that
/// says so.
#[cfg(unix)]
#[test]
fn will_payload_takes_the_bytes_given_unless_marked_as_text() {
    use std::os::unix::ffi::OsStrExt as _;
    let broker = broker(MosquittoConfig::default());
    let url = broker.url(Listener::Plain);
    let will = |marked: bool| {
        let mut publish = mqtt(&[
            "pub",
            "-L",
            &url,
            "-t",
            "cli/with-will",
            "-m",
            "x",
            "--will-topic",
            "cli/will",
        ]);
        publish
            .arg("--will-payload")
            .arg(std::ffi::OsStr::from_bytes(b"\xff gone"));
        if marked {
            publish.args(["-D", "WILL", "payload-format-indicator", "1"]);
        }
        run(publish)
    };
    assert_exit(&will(false), 0);
    let output = will(true);
    assert_exit(&output, USAGE);
    let text = stderr(&output);
    assert!(text.contains("not valid UTF-8"), "{text}");
}
