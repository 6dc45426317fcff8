//! [`Redirecting`]: the async clients' connector, which opens the brokers of the failover list and, when the
//! session follows a broker's redirection ([`Session::broker`](crate::Session::broker) one past the list), the
//! server of its Server Reference.

use std::boxed::Box;
use std::sync::Weak;
use std::vec::Vec;

use super::{Error, Shared};
use crate::io::{Connect, Failover, FailoverError};

/// Makes a connector for a URL (the runtime's, with the options' TLS settings and credentials).
pub(crate) type MakeConnector<C> = Box<dyn Fn(&str) -> Result<C, Error> + Send>;

/// The failover list, plus the server a redirection names.
pub struct Redirecting<C> {
    list: Failover<Vec<C>, C>,
    make: MakeConnector<C>,
    shared: Weak<Shared>,
    /// Attempts go to the redirection's server: its connector, or why there is none.
    redirect: Option<Result<C, Error>>,
}

impl<C> core::fmt::Debug for Redirecting<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Redirecting")
            .field("redirected", &self.redirect.is_some())
            .finish_non_exhaustive()
    }
}

impl<C: Connect<Error = Error>> Redirecting<C> {
    /// Over `list` (at least one connector), reading redirections from `shared`; `make` opens their servers.
    pub(crate) fn new(list: Vec<C>, make: MakeConnector<C>, shared: Weak<Shared>) -> Option<Self> {
        Some(Self {
            list: Failover::new(list)?,
            make,
            shared,
            redirect: None,
        })
    }
}

impl<C: Connect<Error = Error>> Connect for Redirecting<C> {
    type Io = C::Io;
    type Error = FailoverError<Error>;

    async fn connect(&mut self) -> Result<C::Io, Self::Error> {
        let index = self.list.brokers();
        match &mut self.redirect {
            None => self.list.connect().await,
            Some(Ok(connector)) => connector
                .connect()
                .await
                .map_err(|error| FailoverError::Connect { index, error }),
            Some(Err(error)) => Err(FailoverError::Connect {
                index,
                error: error.clone(),
            }),
        }
    }

    fn brokers(&self) -> usize {
        self.list.brokers()
    }

    fn select(&mut self, index: usize) {
        if index < self.list.brokers() {
            self.redirect = None;
            self.list.select(index);
            return;
        }
        let url = self
            .shared
            .upgrade()
            .and_then(|shared| shared.core().dispatch.v5.redirect_url.clone())
            .unwrap_or(Err(Error::Environment("no server to redirect to")));
        self.redirect = Some(url.and_then(|url| (self.make)(&url)));
    }

    fn set_read_low_water(&mut self, io: &mut C::Io, bytes: usize) -> bool {
        match &mut self.redirect {
            Some(Ok(connector)) => connector.set_read_low_water(io, bytes),
            _ => self.list.set_read_low_water(io, bytes),
        }
    }
}
