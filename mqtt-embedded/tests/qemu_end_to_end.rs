//! The QEMU end to end (`qemu/run.sh`) as part of `cargo test`: the firmware on an emulated lm3s6965evb talks
//! to mosquitto through its UART, and a host subscriber checks what it published. It fails, never skips, when
//! a tool it needs is missing.

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

#[test]
fn firmware_on_qemu_publishes_and_receives_through_mosquitto() {
    let mut missing = Vec::new();
    for (program, package) in [
        ("qemu-system-arm", "qemu-system-arm"),
        ("mosquitto", "mosquitto"),
        ("mosquitto_sub", "mosquitto-clients"),
    ] {
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
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("qemu/run.sh");
    let out = Command::new("bash")
        .arg(&script)
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
    assert!(
        report.contains("mqtt-embedded on lm3s6965evb: Ok(())"),
        "{report}"
    );
}
