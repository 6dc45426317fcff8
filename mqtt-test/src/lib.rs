//! Test support shared by the `mqtt-*` crates (not published).
//!
//! - [`strategy`]: proptest strategies that generate every MQTT control packet of both protocol versions, valid by
//!   construction, for round-trip and chunking properties.
//!
//! The fake broker, fake clock and simulated link arrive with the session.

pub mod strategy;

/// The root README's code examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
