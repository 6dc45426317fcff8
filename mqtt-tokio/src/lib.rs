//! MQTT 3.1.1 and 5.0 client for tokio.
//!
//! **Status: not implemented yet.** The client, its connection loop and its transports arrive with the tokio/smol issue;
//! until then this crate only re-exports the protocol core it will be built on ([`mqtt_core`]), so that nothing
//! here pretends to work.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use mqtt_core::{codec, error, topic};
