//! Preparing a start: finding the programs, writing the password file, picking free ports.

use std::collections::HashSet;
use std::fs::{self, File};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};

use super::error::{HarnessError, io_error};

/// Whether mosquitto's log says it could not bind a port, as mosquitto 2.0 words it for a TCP and a WebSocket
/// listener.
pub(super) fn port_taken(log: &str) -> bool {
    log.contains("Address already in use") || log.contains("Unable to create websockets listener")
}

pub(super) fn write(path: &Path, contents: &str) -> Result<(), HarnessError> {
    fs::write(path, contents).map_err(io_error(format!("writing {}", path.display())))
}

/// Where the Debian package puts programs that may not be on a user's PATH.
const FALLBACK_DIRS: [&str; 4] = ["/usr/sbin", "/usr/local/sbin", "/usr/bin", "/sbin"];

pub(super) fn find_program(program: &'static str) -> Result<PathBuf, HarnessError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(FALLBACK_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| HarnessError::NotInstalled {
            program,
            looked: FALLBACK_DIRS.join(", "),
        })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// Writes a password file in mosquitto's hashed format with `mosquitto_passwd -b`.
pub(super) fn write_password_file(
    path: &Path,
    users: &[(String, String)],
) -> Result<(), HarnessError> {
    if users.is_empty() {
        return Err(HarnessError::Config(
            "the password listener needs at least one user".to_owned(),
        ));
    }
    let tool = find_program("mosquitto_passwd")?;
    File::create(path).map_err(io_error(format!("creating {}", path.display())))?;
    for (user, password) in users {
        if user.is_empty() || user.contains(':') || user.contains('\n') || password.contains('\n') {
            return Err(HarnessError::Config(format!(
                "user {user:?}: mosquitto's password file takes no empty user name, `:` in a user name, \
                 or line break"
            )));
        }
        let output = Command::new(&tool)
            .arg("-b")
            .arg(path)
            .arg(user)
            .arg(password)
            .stdin(Stdio::null())
            .output()
            .map_err(io_error(format!("running {}", tool.display())))?;
        if !output.status.success() {
            return Err(HarnessError::Config(format!(
                "`mosquitto_passwd -b` for user {user:?} failed ({}): {}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
            )));
        }
    }
    Ok(())
}

/// Ports handed out by this process, never handed out twice, so brokers started in parallel tests do not pick
/// the same one.
static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// `count` distinct free ports on 127.0.0.1: each is bound to port 0 (the system picks), read and released.
pub(crate) fn free_ports(count: usize) -> Result<Vec<u16>, HarnessError> {
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
    let handed_out = handed_out.get_or_insert_with(HashSet::new);
    // Hold every probe until all are chosen, so the system gives distinct ports.
    let mut probes = Vec::with_capacity(count);
    let mut ports = Vec::with_capacity(count);
    while ports.len() < count {
        let probe = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(io_error("binding 127.0.0.1:0 to find a free port"))?;
        let port = probe
            .local_addr()
            .map_err(io_error("reading a probe's port"))?
            .port();
        if handed_out.insert(port) {
            ports.push(port);
        }
        probes.push(probe);
    }
    Ok(ports)
}
