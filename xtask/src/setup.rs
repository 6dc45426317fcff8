//! What the test suite needs besides Rust, and installing what is missing: Debian packages with apt-get (as root,
//! or through sudo when it asks for no password), Rust targets with rustup. When it cannot install, it says
//! exactly what to run.
//!
//! The programs are those the tests start: the mosquitto harness (`mqtt-test/src/mosquitto*`), the tests that
//! talk to it with mosquitto's own clients and openssl (`mqtt-test/tests/mosquitto.rs`), and the QEMU end to end
//! (`mqtt-embedded/qemu/run.sh`). The harness starts its own brokers on free loopback ports and never uses a
//! system mosquitto service; a broker that this setup's install started on port 1883 is stopped and its service
//! disabled again.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// A program the test suite runs and the Debian package that has it.
struct Tool {
    program: &'static str,
    package: &'static str,
    /// Also found where Debian puts it (`/usr/sbin`, `/usr/bin`) when not on PATH, as the harness and `run.sh`
    /// look for it.
    fallback: bool,
    used_by: &'static str,
}

const TOOLS: [Tool; 8] = [
    Tool {
        program: "mosquitto",
        package: "mosquitto",
        fallback: true,
        used_by: "the broker of the interop, example and QEMU tests",
    },
    Tool {
        program: "mosquitto_passwd",
        package: "mosquitto",
        fallback: true,
        used_by: "the harness's listener with passwords",
    },
    Tool {
        program: "mosquitto_sub",
        package: "mosquitto-clients",
        fallback: false,
        used_by: "the harness's own tests and the QEMU end to end",
    },
    Tool {
        program: "mosquitto_pub",
        package: "mosquitto-clients",
        fallback: false,
        used_by: "the harness's own tests",
    },
    Tool {
        program: "openssl",
        package: "openssl",
        fallback: false,
        used_by: "the check of the secure WebSocket listener (openssl s_client)",
    },
    Tool {
        program: "qemu-system-arm",
        package: "qemu-system-arm",
        fallback: false,
        used_by: "the embedded firmware's end to end on an emulated Cortex-M3",
    },
    Tool {
        program: "python3",
        package: "python3",
        fallback: false,
        used_by: "mqtt-embedded/qemu/run.sh (a free port, the expected payload)",
    },
    Tool {
        program: "kill",
        package: "procps",
        fallback: false,
        used_by: "the harness, to stop a broker with SIGTERM",
    },
];

/// The brokers of the tests against real clusters (`cargo xtask test --clusters`, mqtt-test's `cluster`
/// harness), which run them as the current user on their own ports and never use the services.
const CLUSTER_TOOLS: [Tool; 2] = [
    Tool {
        program: "rabbitmq-server",
        package: "rabbitmq-server",
        fallback: true,
        used_by: "the RabbitMQ 3.10 cluster tests",
    },
    Tool {
        program: "ejabberdctl",
        package: "ejabberd",
        fallback: true,
        used_by: "the ejabberd 23.01 cluster tests",
    },
];

/// The services those packages start where an init system runs (and the Erlang port mapper they bring): the
/// harness starts its own nodes and port mapper.
const CLUSTER_SERVICES: [&str; 2] = ["rabbitmq-server", "ejabberd"];

/// The Rust targets: the QEMU end to end builds its firmware for thumbv7m-none-eabi; CI's Cortex-M builds also
/// use thumbv7em-none-eabihf.
const TARGETS: [&str; 2] = ["thumbv7m-none-eabi", "thumbv7em-none-eabihf"];

/// Installs what is missing (with `clusters`, the cluster tests' brokers too). Returns what it did, in a few
/// words.
///
/// # Errors
/// What could not be installed, and the commands that would install it.
pub(crate) fn run(clusters: bool) -> Result<String, String> {
    let mut done = Vec::new();
    let mut problems = String::new();

    let absent = missing_targets();
    if absent.is_empty() {
        done.push("Cortex-M targets present".to_owned());
    } else {
        println!(
            "xtask: adding the Rust targets {} (rustup target add)",
            absent.join(" ")
        );
        let mut rustup = Command::new("rustup");
        rustup.args(["target", "add"]).args(&absent);
        match quietly(&mut rustup) {
            Ok(()) if missing_targets().is_empty() => {
                done.push(format!("added {}", absent.join(", ")));
            }
            outcome => {
                let why = outcome
                    .err()
                    .unwrap_or_else(|| "rustup added nothing".to_owned());
                let _ = writeln!(
                    problems,
                    "- the Rust targets {} are missing and rustup could not add them: {why}\n  run: rustup target add {}",
                    absent.join(", "),
                    absent.join(" ")
                );
            }
        }
    }

    let missing = missing_tools(clusters);
    if missing.is_empty() {
        done.push("system packages present".to_owned());
    } else {
        let packages = packages_of(&missing);
        println!(
            "xtask: the test suite needs programs that are not installed:\n{}",
            describe(&missing)
        );
        // Debian's mosquitto package starts a broker on port 1883 as a service where an init system runs.
        let nothing_on_1883 = packages.contains(&"mosquitto") && !system_broker_listens();
        match install(&packages) {
            Ok(()) => {
                let still = missing_tools(clusters);
                if still.is_empty() {
                    done.push(format!("installed {}", packages.join(", ")));
                    if nothing_on_1883 && system_broker_listens() {
                        done.push(stop_system_broker());
                    }
                    let services: Vec<&str> = CLUSTER_SERVICES
                        .into_iter()
                        .filter(|service| packages.contains(service))
                        .collect();
                    if !services.is_empty() {
                        done.push(stop_services(&services));
                    }
                } else {
                    let _ = writeln!(
                        problems,
                        "- apt-get installed {} but these are still missing:\n{}",
                        packages.join(" "),
                        describe(&still)
                    );
                }
            }
            Err(why) => {
                let _ = writeln!(problems, "- {why}");
            }
        }
    }

    if problems.is_empty() {
        Ok(done.join("; "))
    } else {
        Err(format!(
            "cannot get what the test suite needs:\n{problems}then run `cargo xtask test` again."
        ))
    }
}

/// The tools not found, in [`TOOLS`] order (then [`CLUSTER_TOOLS`] with `clusters`).
fn missing_tools(clusters: bool) -> Vec<&'static Tool> {
    let cluster_tools: &'static [Tool] = if clusters { &CLUSTER_TOOLS } else { &[] };
    TOOLS
        .iter()
        .chain(cluster_tools)
        .filter(|tool| find(tool).is_none())
        .collect()
}

/// Where `tool` is: on PATH, or where Debian puts it for those the tests look for there too.
fn find(tool: &Tool) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let fallback: &[&str] = if tool.fallback {
        &["/usr/sbin", "/usr/bin"]
    } else {
        &[]
    };
    std::env::split_paths(&path)
        .chain(fallback.iter().map(PathBuf::from))
        .map(|dir| dir.join(tool.program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// The packages that hold `tools`, each once, in order.
fn packages_of(tools: &[&Tool]) -> Vec<&'static str> {
    let mut packages: Vec<&'static str> = Vec::new();
    for tool in tools {
        if !packages.contains(&tool.package) {
            packages.push(tool.package);
        }
    }
    packages
}

/// One line per tool: the program, its package, what needs it.
fn describe(tools: &[&Tool]) -> String {
    tools
        .iter()
        .map(|tool| {
            format!(
                "  {} (package {}): {}",
                tool.program, tool.package, tool.used_by
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The targets of [`TARGETS`] that the toolchain cargo uses lacks.
fn missing_targets() -> Vec<&'static str> {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .stdin(Stdio::null())
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default();
    TARGETS
        .into_iter()
        .filter(|target| {
            !Path::new(&sysroot)
                .join("lib/rustlib")
                .join(target)
                .join("lib")
                .is_dir()
        })
        .collect()
}

/// How this process may run apt-get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Privilege {
    Root,
    /// Through `sudo -n`: sudo without a password.
    Sudo,
}

fn privilege() -> Option<Privilege> {
    let uid = Command::new("id")
        .arg("-u")
        .stdin(Stdio::null())
        .output()
        .ok()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned());
    if uid.as_deref() == Some("0") {
        return Some(Privilege::Root);
    }
    let sudo = Command::new("sudo")
        .args(["-n", "true"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    sudo.is_ok_and(|status| status.success())
        .then_some(Privilege::Sudo)
}

/// `program ARGS` as root: as is for root, through `sudo -n` otherwise, with apt's questions turned off.
fn privileged(privilege: Privilege, program: &str) -> Command {
    let mut command = match privilege {
        Privilege::Root => Command::new(program),
        Privilege::Sudo => {
            let mut sudo = Command::new("sudo");
            sudo.args(["-n", "env", "DEBIAN_FRONTEND=noninteractive", program]);
            sudo
        }
    };
    command.env("DEBIAN_FRONTEND", "noninteractive");
    command
}

/// `apt-get update` and `apt-get install` of `packages`, without recommended packages (qemu-system-arm's would
/// bring a desktop's worth of libraries) and with its output shown only if it fails.
///
/// # Errors
/// Why it could not, with the commands to run by hand.
fn install(packages: &[&str]) -> Result<(), String> {
    let by_hand = format!(
        "  run: sudo apt-get update && sudo apt-get install -y --no-install-recommends {}",
        packages.join(" ")
    );
    let has_apt = find(&Tool {
        program: "apt-get",
        package: "apt",
        fallback: false,
        used_by: "",
    })
    .is_some();
    if !has_apt {
        return Err(format!(
            "no apt-get here: install {} with the system's package manager (Debian's names; mosquitto's programs \
             may be in /usr/sbin)",
            packages.join(", ")
        ));
    }
    let Some(privilege) = privilege() else {
        return Err(format!(
            "installing {} needs root: this user is not root and cannot use sudo without a password\n{by_hand}",
            packages.join(", ")
        ));
    };
    println!(
        "xtask: installing {} with apt-get{}",
        packages.join(" "),
        if privilege == Privilege::Sudo {
            " (through sudo)"
        } else {
            ""
        }
    );
    let mut update = privileged(privilege, "apt-get");
    update.args(["update", "-qq"]);
    let mut install = privileged(privilege, "apt-get");
    install
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages);
    quietly(&mut update)
        .and_then(|()| quietly(&mut install))
        .map_err(|why| format!("{why}\n{by_hand}"))
}

/// The port of Debian's mosquitto service, which the tests never use.
const SYSTEM_BROKER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1883);

/// Whether something accepts connections on [`SYSTEM_BROKER`].
fn system_broker_listens() -> bool {
    TcpStream::connect_timeout(&SYSTEM_BROKER, Duration::from_millis(500)).is_ok()
}

/// Stops and disables the mosquitto service that the package just installed started: the tests start their
/// own brokers, and a broker on port 1883 that the user did not ask for is better off. Returns what happened.
fn stop_system_broker() -> String {
    let Some(privilege) = privilege() else {
        return "the mosquitto package started its service on port 1883 (the tests do not use it)"
            .to_owned();
    };
    let (mut stop, mut disable, undo) = if Path::new("/run/systemd/system").is_dir() {
        let mut stop = privileged(privilege, "systemctl");
        stop.args(["stop", "mosquitto.service"]);
        let mut disable = privileged(privilege, "systemctl");
        disable.args(["disable", "--quiet", "mosquitto.service"]);
        (stop, disable, "systemctl enable --now mosquitto")
    } else {
        let mut stop = privileged(privilege, "/etc/init.d/mosquitto");
        stop.arg("stop");
        let mut disable = privileged(privilege, "update-rc.d");
        disable.args(["mosquitto", "disable"]);
        (
            stop,
            disable,
            "update-rc.d mosquitto enable; service mosquitto start",
        )
    };
    let _ = quietly(&mut stop);
    let disabled = quietly(&mut disable).is_ok();
    // A stopped broker saves its state before it closes its port (the init script does not wait for it).
    let closed = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        !system_broker_listens()
    });
    if !closed {
        "the mosquitto package started its service on port 1883 and it could not be stopped (the tests do not \
         use it; `service mosquitto stop` stops it)"
            .to_owned()
    } else if disabled {
        format!(
            "stopped and disabled the mosquitto service its package started on port 1883 (`{undo}` brings it back)"
        )
    } else {
        "stopped the mosquitto service its package started on port 1883".to_owned()
    }
}

/// Stops and disables the services that the packages just installed started (RabbitMQ and ejabberd start one
/// each where an init system runs; where none runs, as in a container, nothing started). The tests start their own
/// nodes. Returns what happened.
fn stop_services(services: &[&str]) -> String {
    let Some(privilege) = privilege() else {
        return format!(
            "{} may run as services (the tests do not use them)",
            services.join(", ")
        );
    };
    let systemd = Path::new("/run/systemd/system").is_dir();
    for service in services {
        if systemd {
            let mut disable = privileged(privilege, "systemctl");
            disable.args(["disable", "--now", "--quiet", &format!("{service}.service")]);
            let _ = quietly(&mut disable);
        } else if Path::new("/etc/init.d").join(service).is_file() {
            let mut stop = privileged(privilege, &format!("/etc/init.d/{service}"));
            stop.arg("stop");
            let _ = quietly(&mut stop);
            let mut disable = privileged(privilege, "update-rc.d");
            disable.args([service, "disable"]);
            let _ = quietly(&mut disable);
        }
    }
    format!(
        "stopped and disabled the {} services, if their packages started any (the tests start their own nodes)",
        services.join(" and ")
    )
}

/// Runs `command` with its output kept, and shown only if it fails.
///
/// # Errors
/// The command, its exit status and its output, when it cannot start or fails.
fn quietly(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    match command.stdin(Stdio::null()).output() {
        Ok(Output { status, .. }) if status.success() => Ok(()),
        Ok(Output {
            status,
            stdout,
            stderr,
        }) => Err(format!(
            "{shown} failed ({status}):\n{}{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        )),
        Err(error) => Err(format!("cannot run {shown}: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_package_is_installed_once_for_all_its_programs() {
        let all: Vec<&Tool> = TOOLS.iter().collect();
        assert_eq!(
            packages_of(&all),
            [
                "mosquitto",
                "mosquitto-clients",
                "openssl",
                "qemu-system-arm",
                "python3",
                "procps"
            ]
        );
    }

    #[test]
    fn a_program_is_found_on_path_or_where_the_harness_looks() {
        let shell = Tool {
            program: "sh",
            package: "dash",
            fallback: false,
            used_by: "",
        };
        assert!(find(&shell).is_some());
        let nowhere = Tool {
            program: "no-such-program-xtask",
            package: "none",
            fallback: true,
            used_by: "",
        };
        assert_eq!(find(&nowhere), None);
    }

    #[test]
    fn a_failing_command_shows_its_output() {
        let mut failing = Command::new("sh");
        failing.args(["-c", "echo what went wrong >&2; exit 3"]);
        let error = quietly(&mut failing).unwrap_err();
        assert!(error.contains("what went wrong"), "{error}");
        assert!(error.contains("exit status: 3"), "{error}");
    }
}
