//! `mqtt`: publish, subscribe, request and benchmark MQTT 3.1.1 and 5.0 brokers from the command line.
//!
//! A thin tool on [`mqtt_tokio`]: it turns arguments into [`mqtt_tokio::Options`] and calls the client's public
//! API; the protocol is the client's. See the README for the commands, the options and the exit codes.
#![forbid(unsafe_code)]
// Nothing reachable from arguments or broker bytes may panic (tests may).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod args;
mod bench;
mod connection;
mod failure;
mod output;
mod property;
mod publish;
mod request;
mod signal;
mod subscribe;
mod template;

use std::process::ExitCode;

use args::{Cli, Command};
use failure::{Class, Failure};

fn main() -> ExitCode {
    // Usage errors exit with 2 (clap's code, the usage class); --help and --version with 0.
    let cli = Cli::parse_from(std::env::args_os()).unwrap_or_else(|error| error.exit());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("mqtt: cannot start the async runtime: {error}");
            return ExitCode::from(Class::Other.code());
        }
    };
    {
        let _runtime = runtime.enter();
        signal::install();
    }
    let outcome: Result<(), Failure> = runtime.block_on(async move {
        match cli.command {
            Command::Pub(args) => publish::run(args).await,
            Command::Sub(args) => subscribe::run(args).await,
            Command::Req(args) => request::run(args).await,
            Command::Bench(args) => bench::run(args).await,
        }
    });
    // A read of stdin may still block a runtime thread: do not wait for it.
    runtime.shutdown_background();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{failure}");
            ExitCode::from(failure.class.code())
        }
    }
}
