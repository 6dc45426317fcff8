//! [`HarnessError`]: why the harness could not give a running broker.

use std::io;
use std::process::ExitStatus;
use std::time::Duration;

/// How to install what the harness needs, quoted by [`HarnessError::NotInstalled`].
pub const INSTALL_HINT: &str = "apt-get install -y mosquitto mosquitto-clients";

/// Why the harness could not give a running broker.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// A program of the mosquitto packages is missing.
    #[error(
        "`{program}` is not installed (looked in PATH and {looked}); the interop tests need a real mosquitto: \
         install it with `cargo xtask setup` or `{INSTALL_HINT}` (`cargo xtask test` installs it, then runs \
         every test)"
    )]
    NotInstalled {
        /// The program looked for.
        program: &'static str,
        /// The directories searched besides PATH.
        looked: String,
    },
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What the harness was doing.
        what: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The certificates could not be generated.
    #[error("generating the test certificates: {0}")]
    Certificates(#[from] rcgen::Error),
    /// The configuration cannot be written (for example a user name with a `:`), or `mosquitto_passwd` failed.
    #[error("{0}")]
    Config(String),
    /// mosquitto exited before every listener accepted.
    #[error("mosquitto exited ({status}) before accepting connections; its log:\n{log}")]
    Exited {
        /// How it exited.
        status: ExitStatus,
        /// Its log so far.
        log: String,
    },
    /// Not every listener accepted in time; the process has been killed.
    #[error(
        "mosquitto did not accept connections on every listener within {waited:?}; its log:\n{log}"
    )]
    Timeout {
        /// How long the harness waited.
        waited: Duration,
        /// Its log so far.
        log: String,
    },
}

pub(super) fn io_error(what: impl Into<String>) -> impl FnOnce(io::Error) -> HarnessError {
    let what = what.into();
    move |source| HarnessError::Io { what, source }
}
