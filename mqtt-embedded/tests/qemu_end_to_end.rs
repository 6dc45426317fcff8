//! The QEMU end to ends (`qemu/run.sh`, `qemu/run-tls.sh`) as part of `cargo test`: the firmware on an emulated
//! lm3s6965evb talks to mosquitto through its UART, in the clear or over TLS 1.3, and a host subscriber checks
//! what it published. The plain firmware is built twice, speaking MQTT 5.0 only and MQTT 3.1.1 only (mqtt-core's
//! cargo features); the TLS firmware comes from the 5.0-only build. They fail, never skip, when a tool they need
//! is missing.

use std::path::Path;
use std::process::Command;

fn on_path(program: &str) -> bool {
    Command::new("sh")
        .args([
            "-c",
            &format!("command -v {program} || [ -x /usr/sbin/{program} ]"),
        ])
        .output()
        .is_ok_and(|out| out.status.success())
}

fn has_thumbv7m() -> bool {
    let sysroot = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .unwrap_or_default();
    Path::new(sysroot.trim())
        .join("lib/rustlib/thumbv7m-none-eabi")
        .is_dir()
}

/// Runs `qemu/SCRIPT ARGS` and returns its output; fails with what is missing, or with the output if it fails.
fn run(script: &str, args: &[&str], tools: &[(&str, &str)]) -> String {
    let mut missing = Vec::new();
    for (program, package) in tools {
        if !on_path(program) {
            missing.push(format!("{program} (apt-get install -y {package})"));
        }
    }
    if !has_thumbv7m() {
        missing.push("the thumbv7m-none-eabi target (rustup target add thumbv7m-none-eabi)".into());
    }
    assert!(
        missing.is_empty(),
        "the QEMU end to end needs: {}; `cargo xtask setup` installs them all (`cargo xtask test` too, \
         then runs every test)",
        missing.join(", ")
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("qemu")
        .join(script);
    let out = Command::new("bash")
        .arg(&script)
        .args(args)
        .output()
        .expect("bash runs the script");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{} failed:\n{report}",
        script.display()
    );
    report
}

/// The firmware's stack peak and the stack it had, from its report line ("stack peak P of S B"), and a check
/// that at least `margin` bytes were never touched: a firmware whose stack ran into its statics corrupts them
/// silently (or locks up), so the margin is checked while it still passes.
fn assert_stack_margin(report: &str, margin: usize) {
    let line = report
        .lines()
        .find(|line| line.contains("stack peak"))
        .unwrap_or_else(|| panic!("no stack report in:\n{report}"));
    let numbers: Vec<usize> = line
        .rsplit("stack peak ")
        .next()
        .unwrap_or_default()
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    let [peak, size] = numbers[..] else {
        panic!("unexpected stack report: {line}");
    };
    assert!(
        size.saturating_sub(peak) >= margin,
        "the firmware's stack peak {peak} B leaves less than {margin} B of its {size} B: give it more room\n{line}"
    );
}

const TOOLS: [(&str, &str); 3] = [
    ("qemu-system-arm", "qemu-system-arm"),
    ("mosquitto", "mosquitto"),
    ("mosquitto_sub", "mosquitto-clients"),
];

/// 5.0 only: the firmware connects with MQTT 5.0 (run.sh checks the broker's log), routes the messages of one
/// filter to an inbox (a small one copied into it, a large one received in place) and the others to the runner's
/// handler, each exactly once.
#[test]
fn a_5_0_only_firmware_on_qemu_publishes_and_routes_what_comes_back_through_mosquitto() {
    let report = run("run.sh", &["v5"], &TOOLS);
    assert!(
        report.contains("mqtt-embedded on lm3s6965evb (MQTT 5.0 only): Ok(())"),
        "{report}"
    );
    assert_stack_margin(&report, 512);
}

/// The same with a firmware built for MQTT 3.1.1 only.
#[test]
fn a_3_1_1_only_firmware_on_qemu_publishes_and_routes_what_comes_back_through_mosquitto() {
    let report = run("run.sh", &["v311"], &TOOLS);
    assert!(
        report.contains("mqtt-embedded on lm3s6965evb (MQTT 3.1.1 only): Ok(())"),
        "{report}"
    );
    assert_stack_margin(&report, 512);
}

/// The TLS firmware verifies mosquitto's certificate against the CA it was given, presents its own, and runs
/// the same scenario over TLS 1.3; given another CA, it fails the handshake with the typed error and exits with
/// failure (run-tls.sh checks the exit status, the host subscriber, and the broker's view of the certificate).
#[test]
fn tls_firmware_on_qemu_verifies_the_broker_and_publishes_through_mutual_tls() {
    let tools: Vec<_> = TOOLS.into_iter().chain([("openssl", "openssl")]).collect();
    let report = run("run-tls.sh", &[], &tools);
    assert!(
        report.contains("mqtt-embedded over TLS on lm3s6965evb (MQTT 5.0 only): Ok(())"),
        "{report}"
    );
    assert_stack_margin(&report, 512);
    assert!(
        report.contains("TLS connection refused: Some(Handshake(InvalidCertificate))"),
        "{report}"
    );
}
