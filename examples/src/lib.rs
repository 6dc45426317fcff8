//! Runnable examples of the mqtt-* crates: the binaries in `src/bin/`. This library holds what they share, the
//! in-process broker that lets them run with nothing installed.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod broker;
