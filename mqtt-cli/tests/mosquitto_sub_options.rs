//! The `mosquitto_sub` options its users reach for: `-F`. Against a real mosquitto started by mqtt-test's harness; every
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
