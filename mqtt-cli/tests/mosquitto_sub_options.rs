//! The `mosquitto_sub` options its users reach for: `-F`, `-T`, `--retained-only`, `--remove-retained`, `-U`,
//! `-E`, and the `-C 0` and `-P` without `-u` rules. Against a real mosquitto started by mqtt-test's harness; every
//! process runs with a time limit, synchronised on what the processes print.

mod process;

use mqtt_test::{Listener, Mosquitto, MosquittoConfig};
use process::*;

/// Publishes with mosquitto_pub at QoS 1 (`extra`: `-r` and the like).
fn publish(broker: &Mosquitto, topic: &str, payload: &str, extra: &[&str]) {
    let mut command = broker.client_command("mosquitto_pub", Listener::Plain);
    command
        .args(["-q", "1", "-t", topic, "-m", payload])
        .args(extra);
    let output = run(command);
    assert!(output.status.success(), "{}", stderr(&output));
}

/// What a `--retained-only` subscriber to `filter` prints: the retained messages, ended by a live one.
fn retained(broker: &Mosquitto, filter: &str, live_topic: &str) -> String {
    let url = broker.url(Listener::Plain);
    let sub = subscribed(mqtt(&[
        "sub",
        "-L",
        &url,
        "-t",
        filter,
        "-q",
        "1",
        "-v",
        "--retained-only",
    ]));
    // The broker sends the retained messages with the SUBACK, before anything published after it.
    publish(broker, live_topic, "live", &[]);
    printed(sub)
}

/// Lines in order, so that retained messages compare whatever order the broker sends them in.
fn sorted(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    lines
}

#[test]
fn f_prints_each_message_in_the_format_given() {
    let broker = broker(MosquittoConfig::default());
    let url = broker.url(Listener::Plain);
    publish(&broker, "cli/format", "hi", &["-r"]);
    let output = run(mqtt(&[
        "sub",
        "-L",
        &url,
        "-t",
        "cli/format",
        "-q",
        "1",
        "-C",
        "1",
        "-F",
        r"%t|%q|%r|%l|%m|%x|%X|%p\t100%%",
    ]));
    assert_exit(&output, 0);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "cli/format|1|1|2|0|6869|6869|hi\t100%\n"
    );
}

#[test]
fn an_unknown_format_directive_is_a_usage_error_naming_it() {
    let output = run(mqtt(&["sub", "-t", "a", "-F", "%t %Z %p"]));
    assert_exit(&output, USAGE);
    assert!(stderr(&output).contains("%Z"), "{}", stderr(&output));
}

#[test]
fn messages_on_topics_matching_t_are_not_printed_nor_counted() {
    let broker = broker(MosquittoConfig::default());
    let url = broker.url(Listener::Plain);
    for name in ["a", "b", "c"] {
        publish(&broker, &format!("cli/hide/{name}"), name, &["-r"]);
    }
    let output = run(mqtt(&[
        "sub",
        "-L",
        &url,
        "-t",
        "cli/hide/#",
        "-T",
        "cli/hide/b",
        "-C",
        "2",
        "-v",
    ]));
    assert_exit(&output, 0);
    assert_eq!(
        sorted(&String::from_utf8_lossy(&output.stdout)),
        ["cli/hide/a a", "cli/hide/c c"]
    );
}

#[test]
fn retained_only_prints_the_retained_messages_and_stops_at_the_first_live_one() {
    let broker = broker(MosquittoConfig::default());
    publish(&broker, "cli/ro/old", "old", &["-r"]);
    assert_eq!(
        retained(&broker, "cli/ro/#", "cli/ro/new"),
        "cli/ro/old old\n"
    );
}

#[test]
fn remove_retained_clears_the_retained_messages_received_but_not_those_hidden_by_t() {
    let broker = broker(MosquittoConfig::default());
    let url = broker.url(Listener::Plain);
    for name in ["a", "b", "keep"] {
        publish(&broker, &format!("cli/rr/{name}"), name, &["-r"]);
    }
    let output = run(mqtt(&[
        "sub",
        "-L",
        &url,
        "-t",
        "cli/rr/#",
        "-T",
        "cli/rr/keep",
        "--remove-retained",
        "-C",
        "2",
        "-v",
    ]));
    assert_exit(&output, 0);
    assert_eq!(
        sorted(&String::from_utf8_lossy(&output.stdout)),
        ["cli/rr/a a", "cli/rr/b b"]
    );
    // The clearing messages were acknowledged before the DISCONNECT: only the hidden one is left.
    assert_eq!(
        retained(&broker, "cli/rr/#", "cli/rr/live"),
        "cli/rr/keep keep\n"
    );
}

/// `-E` leaves a persistent session behind, `-U` (here without `-t`) removes one of its subscriptions: the
/// messages queued while away are those of the filter kept.
#[test]
fn e_creates_a_persistent_session_and_u_removes_a_subscription_from_it() {
    let broker = broker(MosquittoConfig::default());
    let url = broker.url(Listener::Plain);
    let session = ["-L", &url, "-c", "-i", "cli-unsubscribe", "-q", "1"];
    let sub = |args: &[&str]| {
        let mut all = vec!["sub"];
        all.extend_from_slice(&session);
        all.extend_from_slice(args);
        run(mqtt(&all))
    };
    let created = sub(&["-t", "cli/u/gone", "-t", "cli/u/kept", "-E"]);
    assert_exit(&created, 0);
    assert!(created.stdout.is_empty());
    let unsubscribed = sub(&["-U", "cli/u/gone"]);
    assert_exit(&unsubscribed, 0);

    publish(&broker, "cli/u/gone", "1", &[]);
    publish(&broker, "cli/u/kept", "2", &[]);
    // Both would be queued, the first one first, had the subscription to cli/u/gone stayed.
    let back = sub(&["-t", "cli/u/#", "-C", "1", "-v"]);
    assert_exit(&back, 0);
    assert_eq!(String::from_utf8_lossy(&back.stdout), "cli/u/kept 2\n");
}

#[test]
fn c_0_is_a_usage_error_that_says_why_as_with_mosquitto_sub() {
    let output = run(mqtt(&["sub", "-t", "a", "-C", "0"]));
    assert_exit(&output, USAGE);
    assert!(
        stderr(&output).contains("at least 1"),
        "{}",
        stderr(&output)
    );
}

/// [MQTT-3.1.2-22]: a 3.1.1 CONNECT cannot carry a password without a user name; 5.0 can (3.1.2.9).
#[test]
fn a_password_without_a_user_name_goes_on_5_and_is_a_usage_error_on_3_1_1() {
    let output = run(mqtt(&[
        "pub", "-t", "a", "-m", "x", "-P", "pw", "-V", "311",
    ]));
    assert_exit(&output, USAGE);
    assert!(stderr(&output).contains("3.1.1"), "{}", stderr(&output));

    let broker = broker(MosquittoConfig::default());
    let url = broker.url(Listener::Plain);
    let output = run(mqtt(&[
        "pub", "-L", &url, "-P", "pw", "-V", "5", "-t", "cli/pw", "-m", "x", "-q", "1",
    ]));
    assert_exit(&output, 0);
}
