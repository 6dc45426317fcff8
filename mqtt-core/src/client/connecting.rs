//! [`ConnectWatch`]: what waiting for a connection concludes from the connection states, shared by the async and
//! the blocking clients' `wait_connected` (and `connect`).

use super::{ConnectionState, Error};
use crate::session::Disconnection;

/// Folds connection states into the outcome of a wait for a connection: `Ok` at the first accepted connection,
/// the real cause as soon as a whole round over the broker list has failed (the session then schedules its next
/// attempt after a delay, or gives up), unless the wait keeps trying.
///
/// ```
/// use mqtt_core::client::{ConnectWatch, ConnectionState, Error};
/// use mqtt_core::session::ConnectRefusal;
///
/// let mut watch = ConnectWatch::new(false);
/// assert_eq!(watch.on_state(ConnectionState::Refused(ConnectRefusal::ServerUnavailable)), None);
/// let delay = std::time::Duration::from_secs(1);
/// assert_eq!(
///     watch.on_state(ConnectionState::Reconnecting { attempt: 1, delay }),
///     Some(Err(Error::Refused(ConnectRefusal::ServerUnavailable)))
/// );
/// ```
#[derive(Debug, Clone, Default)]
pub struct ConnectWatch {
    keep_trying: bool,
    /// Why the latest attempt failed.
    last: Option<Error>,
}

impl ConnectWatch {
    /// A watch that concludes after the first failed round, or (with `keep_trying`) only at a connection, a
    /// permanent failure or the caller's timeout.
    pub fn new(keep_trying: bool) -> Self {
        Self {
            keep_trying,
            last: None,
        }
    }

    /// Takes the next state; the outcome once there is one.
    pub fn on_state(&mut self, state: ConnectionState) -> Option<Result<(), Error>> {
        match state {
            ConnectionState::Connected { .. } => return Some(Ok(())),
            ConnectionState::Refused(refusal) => self.last = Some(Error::Refused(refusal)),
            ConnectionState::Unreachable(error) => self.last = Some(error),
            ConnectionState::Lost(Disconnection::ConnectTimeout) => {
                self.last = Some(Error::Timeout);
            }
            ConnectionState::Lost(reason) => self.last = Some(Error::ConnectionFailed(reason)),
            // A delay before the next attempt means the round over the brokers failed (attempts within a round,
            // and the fall back to 3.1.1, follow at once).
            ConnectionState::Reconnecting { delay, .. }
                if !delay.is_zero() && !self.keep_trying =>
            {
                return self.last.take().map(Err);
            }
            ConnectionState::Reconnecting { .. } => {}
            ConnectionState::GaveUp(Disconnection::Refused(refusal)) => {
                return Some(Err(Error::Refused(refusal)));
            }
            ConnectionState::GaveUp(reason) => {
                return Some(Err(self.last.take().unwrap_or(Error::GaveUp(reason))));
            }
            ConnectionState::Disconnected => return Some(Err(Error::Closed)),
        }
        None
    }

    /// The outcome when the caller's time is up: the latest failure, or else a timeout.
    pub fn timed_out(self) -> Error {
        self.last.unwrap_or(Error::Timeout)
    }
}
