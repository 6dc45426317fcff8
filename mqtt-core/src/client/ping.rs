//! A ping the application asks for: [`Shared::ping`] sends a PINGREQ now ([`Session::ping`]) and
//! [`Client::ping`] waits for the PINGRESP, for the round trip.
//!
//! [`Session::ping`]: crate::session::Session::ping

use core::time::Duration;
use std::vec::Vec;

use futures_channel::oneshot;

use super::handle::within;
use super::{Client, Error, Shared};

/// Resolves with the round trip of the PINGREQ that answers a ping (from its write to its PINGRESP).
pub type Pong = oneshot::Receiver<Result<Duration, Error>>;

/// The callers waiting for a PINGRESP: every one is answered by the next (one ping is in flight at a time).
#[derive(Debug, Default)]
pub(crate) struct Pings(Vec<oneshot::Sender<Result<Duration, Error>>>);

impl Pings {
    /// Answers every caller waiting.
    pub(crate) fn answer(&mut self, answer: &Result<Duration, Error>) {
        for done in self.0.drain(..) {
            let _ = done.send(answer.clone());
        }
    }
}

impl Shared {
    /// Sends a PINGREQ now (or joins the one waiting for its PINGRESP) and wakes the runner; the [`Pong`] resolves
    /// with its round trip, or fails when the connection ends first.
    ///
    /// # Errors
    ///
    /// [`Error::Ping`] with [`PingError::NotConnected`](crate::session::PingError) unless the broker has accepted
    /// the current connection; [`Error::Closed`] once the client is finished.
    pub fn ping(&self) -> Result<Pong, Error> {
        let now = self.now();
        let mut core = self.core();
        core.open()?;
        core.session.ping(now).map_err(Error::Ping)?;
        let (done, pong) = oneshot::channel();
        core.dispatch.pings.0.push(done);
        drop(core);
        self.wake();
        Ok(pong)
    }
}

impl Client {
    /// Pings the broker now and waits at most `timeout` for its answer: the round trip, from the write of the
    /// PINGREQ to the arrival of the PINGRESP. A check that the broker still answers (paho's `ping()`), beside the
    /// keep alive, which pings only a quiet connection.
    ///
    /// One ping is in flight at a time: while one waits for its PINGRESP (a keep-alive ping, or another call),
    /// no second PINGREQ goes out and that PINGRESP answers this call too. The session's PINGRESP deadline
    /// ([`Options::ping_timeout`](super::Options::ping_timeout)) applies as to any ping: a broker that does not
    /// answer within it loses the connection (then this fails with [`Error::ConnectionLost`]), whatever
    /// `timeout` is.
    ///
    /// # Errors
    ///
    /// [`Error::Ping`] unless connected; [`Error::Timeout`] after `timeout` (the ping stays in flight
    /// under the session's deadline); [`Error::ConnectionLost`] if the connection ended first; [`Error::Closed`]
    /// once the client is finished.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the PINGREQ is sent anyway, only its answer is lost.
    pub async fn ping(&self, timeout: Duration) -> Result<Duration, Error> {
        let pong = self.shared.ping()?;
        within(self.sleep, timeout, pong)
            .await?
            .map_err(|_| Error::Closed)?
    }
}
