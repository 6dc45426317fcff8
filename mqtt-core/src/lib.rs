#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Nothing reachable from peer bytes or caller arguments may panic.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod buffer;
#[cfg(feature = "std")]
pub mod client;
pub mod codec;
pub mod config;
#[cfg(feature = "driver")]
pub mod driver;
pub mod error;
#[cfg(feature = "driver")]
pub mod io;
pub mod reconnect;
pub mod session;
pub mod time;
pub mod topic;
pub mod url;

pub use buffer::{Buf, Buffers};
pub use config::{Config, ConfigError, SessionLostPolicy};
pub use error::{DecodeError, EncodeError, TopicError};
pub use error::{ProtocolError, PublishError, SubscribeError};
pub use session::{AckToken, Event, Session, SessionState, Stats, Ticket, TransportAction};
pub use time::Instant;
