//! The consumer group example against mosquitto: three member processes share 3,000 QoS 1 jobs through a shared
//! subscription (`$share/workers/...`, which mosquitto accepts from 5.0 and 3.1.1 clients), none lost, none handled
//! twice, and each member gets a share.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mqtt_test::mosquitto::{Listener, Mosquitto, MosquittoConfig};

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn three_member_processes_share_3000_jobs_each_handled_once() {
    let mosquitto = Mosquitto::start(MosquittoConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_consumer_group"))
        .args(["3", "3000"])
        .env("MQTT_BROKER", mosquitto.url(Listener::Plain))
        .env_remove("MQTT_PORT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("consumer_group did not end within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");
    assert!(
        stdout
            .contains("3000 of 3000 jobs handled by exactly one member (0 lost, 0 more than once)"),
        "{stdout}"
    );
    for member in 0..3 {
        let line = stdout
            .lines()
            .find(|line| line.starts_with(&format!("member {member} handled ")))
            .unwrap_or_else(|| panic!("no count for member {member}: {stdout}"));
        let count: u32 = line.split_whitespace().nth(3).unwrap().parse().unwrap();
        assert!(count > 0, "member {member} got no job: {stdout}");
    }
}
