//! Runnable examples of the mqtt-* crates: the binaries in `src/bin/`. This library holds what they share, the
//! in-process broker that lets them run with nothing installed, and the TLS front that puts TLS before it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod broker;
pub mod tls_front;

/// A connection state in words, for `mqtt_tokio::ConnectionState` and `mqtt_smol::ConnectionState` alike (they
/// have the same variants). `connected` tells a lost connection from a failed attempt.
#[macro_export]
macro_rules! describe_state {
    ($client:ident, $state:expr, $connected:expr) => {{
        use $client::ConnectionState as State;
        match $state {
            State::Connected {
                session_present: true,
            } => "connected, session resumed".to_owned(),
            State::Connected { .. } => "connected, new session".to_owned(),
            State::Lost(reason) if $connected => format!("connection lost: {reason}"),
            State::Lost(reason) => format!("attempt failed: {reason}"),
            State::Refused(refusal) => format!("refused: {refusal}"),
            State::Reconnecting { attempt, delay } => {
                format!(
                    "reconnecting: attempt {attempt} in {} ms",
                    delay.as_millis()
                )
            }
            State::GaveUp(reason) => format!("gave up: {reason}"),
            State::Disconnected => "disconnected by the application".to_owned(),
        }
    }};
}
