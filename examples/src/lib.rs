//! Runnable examples of the mqtt-* crates: the binaries in `src/bin/`. This library holds what they share, the
//! in-process broker that lets them run with nothing installed, and the TLS front that puts TLS before it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod broker;
pub mod tls_front;

use mqtt_core::client::ConnectionState;

/// A connection state in words. `mqtt_tokio`, `mqtt_smol` and `mqtt_blocking` share the one `ConnectionState` of
/// `mqtt-core`. `connected` tells a lost connection from a failed attempt.
pub fn describe_state(state: &ConnectionState, connected: bool) -> String {
    match state {
        ConnectionState::Connected {
            session_present: true,
            ..
        } => "connected, session resumed".to_owned(),
        ConnectionState::Connected { .. } => "connected, new session".to_owned(),
        ConnectionState::Unreachable(error) => format!("attempt failed: {error}"),
        ConnectionState::Lost(reason) if connected => format!("connection lost: {reason}"),
        ConnectionState::Lost(reason) => format!("attempt failed: {reason}"),
        ConnectionState::Refused(refusal) => format!("refused: {refusal}"),
        ConnectionState::Reconnecting { attempt: 0, .. } => {
            "reconnecting now, as the application asked".to_owned()
        }
        ConnectionState::Reconnecting { attempt, delay } => {
            format!(
                "reconnecting: attempt {attempt} in {} ms",
                delay.as_millis()
            )
        }
        ConnectionState::GaveUp(reason) => format!("gave up: {reason}"),
        ConnectionState::Disconnected => "disconnected by the application".to_owned(),
        other => other.to_string(),
    }
}
