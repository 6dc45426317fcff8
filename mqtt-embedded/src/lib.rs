//! MQTT 3.1.1 and 5.0 client for no_std microcontrollers (embedded-io-async, no allocator).
//!
//! **Status: not implemented yet.** The client, its connection loop and its transports arrive with the embedded issue;
//! until then this crate only re-exports the protocol core it will be built on ([`mqtt_core`]), so that nothing
//! here pretends to work.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use mqtt_core::{codec, error, topic};
