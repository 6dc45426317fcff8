//! The mosquitto the harness starts: its configuration, with `TCP_NODELAY` on where mosquitto has the option.

use mqtt_test::mosquitto::MosquittoConfig;

#[cfg(doc)]
use super::MOSQUITTO_INFLIGHT;

/// mosquitto with nothing that drops messages: no cap on queued messages or bytes, `inflight` QoS 1/2 messages in
/// flight towards each client (see [`MOSQUITTO_INFLIGHT`]), `TCP_NODELAY` on its client sockets where it has the
/// option (see [`mosquitto_nodelay`]), and its per-message debug log off (the harness logs everything, which would
/// make mosquitto write a line per PUBLISH). `log_type none` resets the set; the types after it are the ones the
/// harness needs (it waits for the "running" line, logged as information).
pub(super) fn broker_config(inflight: u16) -> MosquittoConfig {
    let inflight = format!("max_inflight_messages {inflight}");
    let nodelay = mosquitto_nodelay().then_some("set_tcp_nodelay true");
    nodelay
        .into_iter()
        .chain([
            "max_queued_bytes 0",
            "max_queued_messages 0",
            inflight.as_str(),
            "max_inflight_bytes 0",
            "log_type none",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
        ])
        .fold(MosquittoConfig::default(), MosquittoConfig::with_line)
}

/// mosquitto's default configuration of mqtt-test's harness, plus `set_tcp_nodelay true` where it has the option
/// (the scale-out sections' brokers).
pub(crate) fn nodelay_config() -> MosquittoConfig {
    let config = MosquittoConfig::default();
    if mosquitto_nodelay() {
        config.with_line("set_tcp_nodelay true")
    } else {
        config
    }
}

/// Whether the installed mosquitto has `set_tcp_nodelay` (2.0 and later). Without it, mosquitto lets Nagle's
/// algorithm hold back the last small packets of a burst (the acknowledgements of a QoS 1/2 burst) until the
/// client's delayed ACK, about 40 ms, which distorts QoS 1/2 figures for every client alike.
pub(crate) fn mosquitto_nodelay() -> bool {
    let Ok(output) = std::process::Command::new("mosquitto").arg("-h").output() else {
        return false;
    };
    // `mosquitto -h` prints "mosquitto version 2.0.11" first (on stdout or stderr, by version).
    let text = [output.stdout, output.stderr].concat();
    String::from_utf8_lossy(&text)
        .split_whitespace()
        .skip_while(|word| *word != "version")
        .nth(1)
        .and_then(|version| version.split('.').next()?.parse::<u32>().ok())
        .is_some_and(|major| major >= 2)
}
