//! `mqtt pub` and `mqtt sub` typed as `mosquitto_pub` and `mosquitto_sub` users type them, where the two tools
//! must behave alike: payloads of several megabytes both ways. Against a real mosquitto started by mqtt-test's
//! harness; every process runs with a time limit, synchronised on what the processes print.

mod process;

use std::process::{Command, Stdio};

use mqtt_test::{Listener, MosquittoConfig};
use process::*;

/// A payload of `len` bytes, not all alike.
fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i % 26) as u8).collect()
}

/// Sends SIGTERM to `child`, as a service manager stops a process, and waits for its end.
fn terminate(child: std::process::Child) -> std::process::Output {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    finish(child)
}

/// `mqtt sub` on `cli/will/#` for one message, printed with its topic, once subscribed: what is published there
/// first, a will or [`assert_no_will`]'s marker.
fn will_watcher(url: &str) -> std::process::Child {
    subscribed(mqtt(&[
        "sub",
        "-L",
        url,
        "-t",
        "cli/will/#",
        "-q",
        "1",
        "-C",
        "1",
        "-v",
    ]))
}

/// No will was published: what `watcher` ([`will_watcher`]) gets first is a marker published after the end
/// [MQTT-3.1.2-10].
fn assert_no_will(url: &str, watcher: std::process::Child) {
    let output = run(mqtt(&[
        "pub",
        "-L",
        url,
        "-t",
        "cli/will/marker",
        "-q",
        "1",
        "-m",
        "m",
    ]));
    assert_exit(&output, 0);
    let output = finish(watcher);
    assert_exit(&output, 0);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "cli/will/marker m\n"
    );
}

#[test]
fn mqtt_sub_receives_a_message_of_several_megabytes_as_mosquitto_sub_does() {
    let broker = broker(MosquittoConfig::default());
    let url = broker.url(Listener::Plain);
    let sub = subscribed(mqtt(&[
        "sub", "-L", &url, "-t", "cli/big", "-q", "1", "-C", "1", "-W", "15",
    ]));
    let file = broker.dir().join("two-megabytes.bin");
    let sent = payload(2_000_000);
    std::fs::write(&file, &sent).unwrap();
    let mut publish = broker.client_command("mosquitto_pub", Listener::Plain);
    publish.args(["-q", "1", "-t", "cli/big", "-f"]).arg(&file);
    assert!(run(publish).status.success());

    // Announcing the library's default limit (1 MiB) would have mosquitto drop it silently [MQTT-3.1.2-25].
    let output = finish(sub);
    assert_exit(&output, 0);
    assert_eq!(
        output.stdout.len(),
        sent.len() + 1,
        "the payload and its newline"
    );
    assert!(output.stdout.starts_with(&sent));
}

#[test]
fn mqtt_pub_sends_a_file_of_several_megabytes_as_mosquitto_pub_does() {
    let broker = broker(MosquittoConfig::default());
    // mosquitto_sub buffers its output in a pipe: stdbuf makes it line by line, so that its SUBACK is seen.
    let template = broker.client_command("mosquitto_sub", Listener::Plain);
    let mut sub = Command::new("stdbuf");
    sub.arg("-oL")
        .arg(template.get_program())
        .args(template.get_args())
        .args(["-d", "-q", "1", "-C", "1", "-W", "15", "-t", "cli/big"]);
    let mut sub = sub
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // With -d, mosquitto_sub's debug lines share stdout with the payloads.
    let mut lines = Lines::of(sub.stdout.take().unwrap());
    lines.wait_for("received SUBACK");

    let file = broker.dir().join("five-megabytes.bin");
    let sent = payload(5_000_000);
    std::fs::write(&file, &sent).unwrap();
    let url = broker.url(Listener::Plain);
    let file = file.to_string_lossy().into_owned();
    let output = run(mqtt(&[
        "pub", "-L", &url, "-t", "cli/big", "-q", "1", "-f", &file,
    ]));
    // The client's outgoing queue (4 MiB by default) is sized for the payload.
    assert_exit(&output, 0);
    lines.wait_for(std::str::from_utf8(&sent).unwrap());
    assert!(finish(sub).status.success());
}

/// `timeout 60 mosquitto_sub ...`, `kill`, systemd and `docker stop` end a subscriber with SIGTERM: mosquitto_sub
/// then disconnects cleanly (exit 0, no will), and so must `mqtt sub`.
#[test]
fn sigterm_ends_mqtt_sub_with_a_disconnect_so_the_will_is_not_published() {
    let broker = broker(MosquittoConfig::default());
    let url = broker.url(Listener::Plain);
    let watcher = will_watcher(&url);
    let sub = subscribed(mqtt(&[
        "sub",
        "-L",
        &url,
        "-t",
        "cli/quiet",
        "--will-topic",
        "cli/will/sub",
        "--will-payload",
        "gone",
    ]));
    let output = terminate(sub);
    assert_exit(&output, 0);
    assert_no_will(&url, watcher);
}

/// `mqtt pub --repeat N --repeat-delay S` runs as long as `mqtt sub` does, and is ended the same way: SIGTERM (or
/// Ctrl-C) stops it with a DISCONNECT, so the will is not published. It ended the process at once, without
/// DISCONNECT (exit code 143), and mosquitto published the will.
#[test]
fn sigterm_ends_a_repeating_mqtt_pub_with_a_disconnect_so_the_will_is_not_published() {
    let broker = broker(MosquittoConfig::default());
    let url = broker.url(Listener::Plain);
    let watcher = will_watcher(&url);
    let mut publisher = mqtt(&[
        "pub",
        "-L",
        &url,
        "-t",
        "cli/repeated",
        "-m",
        "x",
        "-q",
        "1",
        "--repeat",
        "100000",
        "--repeat-delay",
        "0.01",
        "--will-topic",
        "cli/will/pub",
        "--will-payload",
        "gone",
        "-d",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut lines = Lines::of(publisher.stderr.take().unwrap());
    lines.wait_for("mqtt: publishing");
    let output = terminate(publisher);
    assert_exit(&output, 0);
    assert_no_will(&url, watcher);
}

/// `mqtt req` waiting for a response is ended by Ctrl-C or SIGTERM like `mqtt sub`: a DISCONNECT (no will), and
/// exit code 1 (no response was printed). It ended the process at once, without DISCONNECT (exit code 130 or
/// 143), and mosquitto published the will.
#[test]
fn sigterm_ends_a_waiting_mqtt_req_with_a_disconnect_so_the_will_is_not_published() {
    let broker = broker(MosquittoConfig::default());
    let url = broker.url(Listener::Plain);
    let wills = will_watcher(&url);
    // Sees the request once it went out: the requester is connected and listening for signals.
    let service = subscribed(mqtt(&["sub", "-L", &url, "-t", "cli/service", "-C", "1"]));
    let requester = mqtt(&[
        "req",
        "-L",
        &url,
        "-t",
        "cli/service",
        "-m",
        "anyone?",
        "-W",
        "15",
        "--will-topic",
        "cli/will/req",
        "--will-payload",
        "gone",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    assert_eq!(printed(service), "anyone?\n");
    let output = terminate(requester);
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("interrupted"),
        "{}",
        stderr(&output)
    );
    assert_no_will(&url, wills);
}
