#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Nothing reachable from peer bytes or caller arguments may panic.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]

pub mod codec;
pub mod error;
pub mod topic;

pub use error::{DecodeError, EncodeError, TopicError};
