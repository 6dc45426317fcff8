//! Running the test suite: `cargo test` over the whole workspace, every test binary run even after a failure (a
//! newcomer sees every failure at once; the exit status still says whether anything failed), its output passed
//! through as it comes and read for the totals, the failed tests and the targets they are in.
//!
//! `cargo test --workspace` is the whole suite: the interop tests start mosquitto themselves, the QEMU end to end
//! (`mqtt-embedded/tests/qemu_end_to_end.rs`) builds the firmware and runs `mqtt-embedded/qemu/run.sh`, and the
//! examples' tests run the example binaries. Nothing needs starting beforehand.

use std::io::{self, Read, Write};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

/// The `cargo` arguments for `cargo xtask test ARGS`: the whole workspace unless ARGS name packages (or the
/// workspace) themselves, and `--no-fail-fast` unless given; ARGS after `--` go to the test binaries unchanged.
pub(crate) fn cargo_test_args(args: &[String]) -> Vec<String> {
    let (cargo_args, binary_args) = match args.iter().position(|arg| arg == "--") {
        Some(split) => args.split_at(split),
        None => (args, &[][..]),
    };
    let names_packages = cargo_args.iter().any(|arg| {
        arg == "--workspace"
            || arg == "--all"
            || arg == "--package"
            || arg.starts_with("--package=")
            || arg.starts_with("-p")
    });
    let mut command = vec!["test".to_owned()];
    if !names_packages {
        command.push("--workspace".to_owned());
    }
    if !cargo_args.iter().any(|arg| arg == "--no-fail-fast") {
        command.push("--no-fail-fast".to_owned());
    }
    command.extend(cargo_args.iter().cloned());
    command.extend(binary_args.iter().cloned());
    command
}

/// The opt-in tests against real broker clusters (`cargo xtask test --clusters`): they are `#[ignore]`d in the
/// default suite and run here one at a time, with `--ignored`.
pub(crate) const CLUSTER_TESTS: [&str; 12] = [
    "test",
    "--no-fail-fast",
    "-p",
    "mqtt-test",
    "--test",
    "cluster_harness",
    "-p",
    "mqtt-tokio",
    "--test",
    "cluster",
    "--",
    "--ignored",
];

/// Totals over the `test result:` lines of every test binary and doctest run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) runs: u64,
    pub(crate) passed: u64,
    pub(crate) failed: u64,
    pub(crate) ignored: u64,
}

/// What a run of `cargo test` left.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) status: ExitStatus,
    pub(crate) counts: Counts,
    /// Each failed test target, as cargo names it for a rerun (`-p examples --test run`), with the tests that
    /// failed in it (none when the binary crashed), in order.
    pub(crate) failed: Vec<(String, Vec<String>)>,
}

impl Outcome {
    /// The outcome of two runs, one after the other: failed if either failed.
    pub(crate) fn then(self, next: Self) -> Self {
        let counts = Counts {
            runs: self.counts.runs + next.counts.runs,
            passed: self.counts.passed + next.counts.passed,
            failed: self.counts.failed + next.counts.failed,
            ignored: self.counts.ignored + next.counts.ignored,
        };
        let mut failed = self.failed;
        failed.extend(next.failed);
        Self {
            status: if self.status.success() {
                next.status
            } else {
                self.status
            },
            counts,
            failed,
        }
    }
}

/// Reads cargo's and libtest's output, both streams in the order they were written, line by line.
#[derive(Debug, Default)]
struct Reader {
    counts: Counts,
    /// Tests reported `FAILED` since the last failed target.
    pending: Vec<String>,
    failed: Vec<(String, Vec<String>)>,
}

impl Reader {
    fn line(&mut self, line: &str) {
        let line = line.trim_end();
        if let Some(result) = line.strip_prefix("test result: ") {
            // `test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s`
            self.counts.runs += 1;
            let count = |what: &str| {
                result
                    .split([';', '.'])
                    .filter_map(|part| part.trim().strip_suffix(what))
                    .find_map(|number| number.trim().parse::<u64>().ok())
                    .unwrap_or(0)
            };
            self.counts.passed += count(" passed");
            self.counts.failed += count(" failed");
            self.counts.ignored += count(" ignored");
        } else if let Some(name) = line
            .strip_prefix("test ")
            .and_then(|rest| rest.strip_suffix(" ... FAILED"))
        {
            self.pending.push(name.to_owned());
        } else if let Some(target) = line
            .split_once(", to rerun pass `")
            .and_then(|(_, rest)| rest.strip_suffix('`'))
        {
            // cargo, once a test binary has failed: `error: test failed, to rerun pass `-p examples --test run``.
            // The binary's own output came before it, on the same pipe.
            self.failed
                .push((target.to_owned(), std::mem::take(&mut self.pending)));
        }
    }

    fn finish(mut self) -> (Counts, Vec<(String, Vec<String>)>) {
        if !self.pending.is_empty() {
            self.failed.push((
                "(a test target)".to_owned(),
                std::mem::take(&mut self.pending),
            ));
        }
        (self.counts, self.failed)
    }
}

/// Runs `cargo ARGS` in the workspace root with its standard output and error passed through, in one stream
/// and as they come, and read.
///
/// # Errors
/// When cargo cannot be started or its output not read.
pub(crate) fn run(args: &[String]) -> io::Result<Outcome> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."));
    // One pipe for both streams keeps the order in which cargo and the test binaries wrote, so that a failed
    // test is followed by the line that names its target.
    let (mut output, writer) = io::pipe()?;
    let mut child = {
        let mut command = Command::new(cargo);
        command
            .args(args)
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(writer.try_clone()?)
            .stderr(writer);
        command.spawn()?
        // The command, and with it this process's copies of the pipe's writing end, is dropped here: the read
        // below ends when cargo and its children are done.
    };
    let mut reader = Reader::default();
    let mut stdout = io::stdout();
    let mut chunk = [0u8; 8192];
    let mut line = Vec::new();
    loop {
        let read = match output.read(&mut chunk) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        let bytes = chunk.get(..read).unwrap_or_default();
        // Passed on at once, so that a slow test's line shows while it runs; a closed stdout does not stop the
        // suite.
        let _ = stdout.write_all(bytes).and_then(|()| stdout.flush());
        for &byte in bytes {
            if byte == b'\n' {
                reader.line(&String::from_utf8_lossy(&line));
                line.clear();
            } else {
                line.push(byte);
            }
        }
    }
    reader.line(&String::from_utf8_lossy(&line));
    let (counts, failed) = reader.finish();
    Ok(Outcome {
        status: child.wait()?,
        counts,
        failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn the_cluster_run_adds_its_counts_and_failures_to_the_suite() {
        use std::os::unix::process::ExitStatusExt as _;
        let run = |passed, failed: &[&str], code| Outcome {
            status: ExitStatus::from_raw(code << 8),
            counts: Counts {
                runs: 1,
                passed,
                failed: failed.len() as u64,
                ignored: 0,
            },
            failed: failed
                .iter()
                .map(|name| {
                    (
                        "-p mqtt-tokio --test cluster".to_owned(),
                        vec![(*name).to_owned()],
                    )
                })
                .collect(),
        };
        let both = run(10, &[], 0).then(run(3, &["failover"], 101));
        assert!(!both.status.success());
        assert_eq!(
            (both.counts.runs, both.counts.passed, both.counts.failed),
            (2, 13, 1)
        );
        assert_eq!(both.failed.len(), 1);
        assert!(run(1, &[], 0).then(run(1, &[], 0)).status.success());
    }

    #[test]
    fn no_arguments_test_the_whole_workspace_without_stopping_at_a_failure() {
        assert_eq!(
            cargo_test_args(&[]),
            args("test --workspace --no-fail-fast")
        );
    }

    #[test]
    fn a_filter_after_the_separator_goes_to_the_test_binaries() {
        assert_eq!(
            cargo_test_args(&args("-- qos2 --nocapture")),
            args("test --workspace --no-fail-fast -- qos2 --nocapture")
        );
    }

    #[test]
    fn naming_a_package_replaces_the_workspace() {
        for named in [
            "-p mqtt-core",
            "-pmqtt-core",
            "--package mqtt-core",
            "--package=mqtt-core",
        ] {
            assert_eq!(
                cargo_test_args(&args(&format!("{named} --lib -- codec"))),
                args(&format!("test --no-fail-fast {named} --lib -- codec"))
            );
        }
    }

    #[test]
    fn flags_already_given_are_not_repeated() {
        assert_eq!(
            cargo_test_args(&args("--workspace --no-fail-fast --exclude benches")),
            args("test --workspace --no-fail-fast --exclude benches")
        );
    }

    #[test]
    fn a_package_named_after_the_separator_is_a_filter_not_a_package() {
        assert_eq!(
            cargo_test_args(&args("-- -p")),
            args("test --workspace --no-fail-fast -- -p")
        );
    }

    #[test]
    fn results_add_up_over_every_run_and_failed_tests_are_named() {
        let mut reader = Reader::default();
        for line in [
            "running 3 tests",
            "test codec::tests::decodes ... ok",
            "test session::qos2_survives_a_cut ... FAILED",
            "test slow ... ignored",
            "test result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s",
            "test README.md - (line 42) ... ok",
            "test result: ok. 12 passed; 0 failed; 0 ignored; 0 measured; 3 filtered out; finished in 2.50s\r",
            "test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s",
        ] {
            reader.line(line);
        }
        assert_eq!(
            reader.counts,
            Counts {
                runs: 3,
                passed: 13,
                failed: 1,
                ignored: 1,
            }
        );
        let (_, failed) = reader.finish();
        assert_eq!(
            failed,
            [(
                "(a test target)".to_owned(),
                vec!["session::qos2_survives_a_cut".to_owned()]
            )]
        );
    }

    #[test]
    fn failed_tests_are_grouped_under_the_target_cargo_names_after_them() {
        let mut reader = Reader::default();
        for line in [
            "     Running tests/run.rs (target/debug/deps/run-0123abcd)",
            "test tls_tokio_runs_with_its_tls_front ... FAILED",
            "test tls_smol_runs_with_its_tls_front ... FAILED",
            "test result: FAILED. 13 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 23.00s",
            "error: test failed, to rerun pass `-p examples --test run`",
            "     Running tests/crash.rs (target/debug/deps/crash-0123abcd)",
            "error: test failed, to rerun pass `-p mqtt-core --test crash`",
            "test README.md - (line 9) ... FAILED",
            "error: doctest failed, to rerun pass `-p mqtt-test --doc`",
        ] {
            reader.line(line);
        }
        let (counts, failed) = reader.finish();
        assert_eq!(counts.failed, 2);
        let owned = |names: &[&str]| {
            names
                .iter()
                .map(|&name| name.to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            failed,
            [
                (
                    "-p examples --test run".to_owned(),
                    owned(&[
                        "tls_tokio_runs_with_its_tls_front",
                        "tls_smol_runs_with_its_tls_front"
                    ])
                ),
                ("-p mqtt-core --test crash".to_owned(), owned(&[])),
                (
                    "-p mqtt-test --doc".to_owned(),
                    owned(&["README.md - (line 9)"])
                ),
            ]
        );
    }
}
