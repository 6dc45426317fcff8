//! The end-to-end performance harness (issue 7): every client backend against rumqttc 0.25 in the same run,
//! through a mosquitto it starts on loopback and against an acking sink of its own, with a markdown report and SVG
//! charts.
//!
//! ```sh
//! cargo bench -p benches --bench perf -- --all --out benches/report     # about 16 minutes
//! cargo bench -p benches --bench perf -- --quick --out /tmp/perf        # about 4 minutes
//! ```
//!
//! It is a `harness = false` bench target so that rumqttc stays a dev-dependency of this crate. Without `--all` or
//! `--quick` it prints its usage and exits (so `cargo bench -p benches` and `cargo test --benches` do not start a
//! long run).
//!
//! - [`orchestrate`]: the parent: mosquitto, the sink, the plan, the rounds of child processes, the results.
//! - [`child`]: a child process: one role of one backend, with the meters that take times, CPU and RSS.
//! - [`backends`]: one module per client library behind the [`backends::Backend`] trait.
//! - [`sink`]: the acking sink on mqtt-core's codec.
//! - [`scale`]: the scale-out sections (failover between two brokers, consumer group throughput).
//! - [`report`] and [`svg`]: `report.md` and the charts.

mod backends;
mod child;
mod cli;
mod orchestrate;
mod proc;
mod report;
mod scale;
mod sink;
mod stats;
mod svg;
mod sys;
mod workload;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(child::FLAG) {
        return child::main(&args[1..]);
    }
    if let [flag, seconds] = args.as_slice()
        && flag == "--sink"
    {
        return serve_sink(seconds);
    }
    match cli::parse(&args) {
        Ok(Some(settings)) => orchestrate::run(&settings),
        Ok(None) => {
            print!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("perf: {error}\n\n{}", cli::USAGE);
            ExitCode::FAILURE
        }
    }
}

/// `--sink SECONDS`: the acking sink alone, for profiling a client child by hand.
fn serve_sink(seconds: &str) -> ExitCode {
    let Ok(seconds) = seconds.parse::<u64>() else {
        eprintln!("perf: --sink needs a number of seconds");
        return ExitCode::FAILURE;
    };
    match sink::Sink::start() {
        Ok(sink) => {
            println!("{}", sink.url());
            std::thread::sleep(std::time::Duration::from_secs(seconds));
            let count = sink.count();
            eprintln!(
                "perf: the sink counted {} PUBLISH packets, {} connection errors",
                count.publishes, count.errors
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("perf: cannot start the sink: {e}");
            ExitCode::FAILURE
        }
    }
}
