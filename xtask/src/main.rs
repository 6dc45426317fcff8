//! The project's tasks, run as `cargo xtask <task>` (the alias is in `.cargo/config.toml`):
//!
//! - `cargo xtask test [cargo test arguments] [-- test binary arguments]`: installs what the test suite needs when
//!   it is missing (see [`setup`]), then runs the whole suite (see [`suite`]) and prints a summary. This is the
//!   README's test command, and `.ci/run` runs it.
//!   With `--clusters`, it also installs RabbitMQ and ejabberd and then runs the tests against real broker
//!   clusters (minutes: `.ci/run` runs them, the README's plain command does not).
//! - `cargo xtask setup [--clusters]`: the installs alone.
//!
//! The standard library only, so that it builds in seconds on a fresh machine.

use std::process::ExitCode;
use std::time::{Duration, Instant};

mod setup;
mod suite;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  test [ARGS] [-- TEST ARGS]  install what the test suite needs when missing (mosquitto, mosquitto-clients,
                              openssl, qemu-system-arm, python3, procps with apt-get; the Cortex-M targets with
                              rustup), then run `cargo test --workspace --no-fail-fast`. ARGS go to cargo test
                              (`-p CRATE` replaces --workspace), TEST ARGS to the test binaries (a name filter).
  test --clusters [ARGS]      the same, and also install rabbitmq-server and ejabberd, then run the tests against
                              real RabbitMQ and ejabberd clusters (mqtt-tokio's tests/cluster, several minutes)
  setup [--clusters]          only install what the test suite (and the cluster tests) need
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.split_first() {
        Some((task, rest)) if task == "test" => test(rest),
        Some((task, rest)) if task == "setup" && rest.iter().all(|arg| arg == "--clusters") => {
            let started = Instant::now();
            match setup::run(!rest.is_empty()) {
                Ok(report) => {
                    println!("xtask setup: {report} ({})", human(started.elapsed()));
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("\nxtask setup: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Some((task, _)) if ["help", "-h", "--help"].contains(&task.as_str()) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// `cargo xtask test`: setup, then the suite, then the summary. Fails when setup cannot get what the suite needs
/// (after saying what to run) or when a test fails.
fn test(args: &[String]) -> ExitCode {
    let started = Instant::now();
    // `--clusters` is this task's own flag, before any `--`.
    let own_end = args
        .iter()
        .position(|arg| arg == "--")
        .unwrap_or(args.len());
    let clusters = args.iter().take(own_end).any(|arg| arg == "--clusters");
    let args: Vec<String> = args
        .iter()
        .enumerate()
        .filter(|&(i, arg)| i >= own_end || arg != "--clusters")
        .map(|(_, arg)| arg.clone())
        .collect();
    let setup = setup::run(clusters);
    let setup_took = started.elapsed();
    let report = match setup {
        Ok(report) => report,
        Err(error) => {
            eprintln!("\nxtask test: {error}");
            eprintln!("xtask test: the tests were not run ({})", human(setup_took));
            return ExitCode::FAILURE;
        }
    };

    let mut command = suite::cargo_test_args(&args);
    println!("xtask test: cargo {}", command.join(" "));
    let tests_started = Instant::now();
    let mut outcome = suite::run(&command);
    if clusters {
        let cluster_command: Vec<String> = suite::CLUSTER_TESTS.map(str::to_owned).to_vec();
        println!(
            "\nxtask test: the cluster tests: cargo {}",
            cluster_command.join(" ")
        );
        let cluster_started = Instant::now();
        outcome = match (outcome, suite::run(&cluster_command)) {
            (Ok(suite), Ok(cluster)) => Ok(suite.then(cluster)),
            (Err(error), _) | (_, Err(error)) => Err(error),
        };
        println!(
            "xtask test: the cluster tests took {}",
            human(cluster_started.elapsed())
        );
        command.push("(and the cluster tests)".to_owned());
    }
    let tests_took = tests_started.elapsed();

    println!("\nxtask test: summary");
    println!("  setup: {report} ({})", human(setup_took));
    let passed = match &outcome {
        Ok(outcome) => {
            println!(
                "  tests: cargo {} ({}, {} test run{}{})",
                command.join(" "),
                human(tests_took),
                outcome.counts.runs,
                if outcome.counts.runs == 1 { "" } else { "s" },
                match outcome.status.code() {
                    Some(0) => String::new(),
                    Some(code) => format!(", exit status {code}"),
                    None => ", killed by a signal".to_owned(),
                }
            );
            for (target, names) in &outcome.failed {
                if names.is_empty() {
                    println!("  failed: {target} (no test reported failing: see its output above)");
                } else {
                    println!("  failed: {target}: {}", names.join(", "));
                }
            }
            if let Some((target, names)) = outcome.failed.first() {
                let filter = names
                    .first()
                    .map(|name| {
                        if name
                            .chars()
                            .all(|c| c.is_alphanumeric() || c == '_' || c == ':')
                        {
                            format!(" -- {name} --exact")
                        } else {
                            format!(" -- '{name}' --exact")
                        }
                    })
                    .unwrap_or_default();
                println!("  rerun one: cargo xtask test {target}{filter}");
            }
            outcome.status.success()
        }
        Err(error) => {
            println!("  tests: {error}");
            false
        }
    };
    println!("  total: {}", human(started.elapsed()));
    if let Ok(outcome) = &outcome {
        // The plain closing line that CI and people read: totals over every test binary and doctest run.
        let counts = outcome.counts;
        println!(
            "tests: {} passed, {} failed, {} skipped",
            counts.passed, counts.failed, counts.ignored
        );
    }
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A duration as people read it: `4.2 s`, `6 min 12 s`.
fn human(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds < 90 {
        format!("{:.1} s", duration.as_secs_f64())
    } else {
        format!("{} min {} s", seconds / 60, seconds % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_seconds_then_minutes() {
        assert_eq!(human(Duration::from_millis(4_240)), "4.2 s");
        assert_eq!(human(Duration::from_secs(89)), "89.0 s");
        assert_eq!(human(Duration::from_secs(372)), "6 min 12 s");
    }
}
