//! The mosquitto harness against the real broker: every listener kind comes up and answers, passwords and client
//! certificates are enforced, kill and restart keep the persisted state, and drop ends the process.
//!
//! The clients are the mosquitto command-line tools and a raw `TcpStream` speaking the core codec. Every wait is
//! bounded. A missing mosquitto fails these tests with the install command; it never skips them.

use std::io::{self, Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use mqtt_core::codec::{self, Connect, Packet, ProtocolVersion, ReasonCode};
use mqtt_test::mosquitto::{HarnessError, Listener, Mosquitto, MosquittoConfig};

const V311: ProtocolVersion = ProtocolVersion::V311;
const V5: ProtocolVersion = ProtocolVersion::V5;
const WAIT: Duration = Duration::from_secs(10);

fn start(config: MosquittoConfig) -> Mosquitto {
    Mosquitto::start(config).unwrap_or_else(|error| panic!("{error}"))
}

fn users() -> Vec<(String, String)> {
    vec![
        ("alice".to_owned(), "wonderland".to_owned()),
        ("bob".to_owned(), "builder".to_owned()),
    ]
}

/// Sends CONNECT on a fresh connection and returns the CONNACK's reason code and session-present flag.
fn connack(port: u16, version: ProtocolVersion, connect: Connect<'_>) -> (ReasonCode, bool) {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, WAIT).expect("connect");
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.set_write_timeout(Some(WAIT)).unwrap();
    let packet = Packet::Connect(connect);
    let mut out = vec![0; packet.encoded_len(version)];
    packet.encode(version, &mut out).unwrap();
    stream.write_all(&out).unwrap();
    let mut received = Vec::new();
    let mut chunk = [0; 256];
    loop {
        if let Some((packet, _)) = codec::decode(&received, version, u32::MAX).unwrap() {
            let Packet::ConnAck(connack) = packet else {
                panic!("expected CONNACK, got {packet:?}");
            };
            return (connack.reason, connack.session_present);
        }
        let read = stream.read(&mut chunk).expect("read CONNACK");
        assert!(read > 0, "connection closed before CONNACK ({received:?})");
        received.extend_from_slice(&chunk[..read]);
    }
}

fn connect<'a>(client_id: &'a str) -> Connect<'a> {
    Connect {
        clean_start: true,
        keep_alive: 30,
        client_id,
        ..Connect::default()
    }
}

fn with_password<'a>(client_id: &'a str, user: &'a str, password: &'a str) -> Connect<'a> {
    Connect {
        username: Some(user),
        password: Some(password.as_bytes()),
        ..connect(client_id)
    }
}

/// Runs a command to completion, killed if it takes longer than [`WAIT`].
fn run(command: &mut Command) -> Output {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("spawning {command:?}: {error}"));
    finish(child, WAIT, &format!("{command:?}"))
}

/// Waits for a spawned child (with piped stdout and stderr) at most `limit`, then kills it.
fn finish(mut child: Child, limit: Duration, what: &str) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "{what} did not finish within {limit:?}; stdout: {} stderr: {}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}; stdout: {:?}; stderr: {:?}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Publishes `message` on `topic` through `publish` every 100 ms until `subscriber` (a `mosquitto_sub -C 1`)
/// exits, and returns what it printed.
fn deliver(subscriber: Child, mut publish: impl FnMut() -> Command, broker: &Mosquitto) -> String {
    let mut subscriber = subscriber;
    let deadline = Instant::now() + WAIT;
    while subscriber.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "the subscriber got nothing within {WAIT:?}; broker log:\n{}",
            broker.log()
        );
        let output = run(&mut publish());
        assert!(output.status.success(), "publish failed: {}", text(&output));
        thread::sleep(Duration::from_millis(100));
    }
    let output = finish(subscriber, WAIT, "mosquitto_sub");
    assert!(output.status.success(), "subscriber: {}", text(&output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn accepts(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Duration::from_secs(1),
    )
    .is_ok()
}

/// The local addresses of the listening sockets on `port`, from `/proc/net/tcp` and `/proc/net/tcp6` (hex, as
/// the kernel writes them: `0100007F` is 127.0.0.1).
fn listening_addresses(port: u16) -> Vec<String> {
    let mut addresses = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state)) = (fields.get(1), fields.get(3)) else {
                continue;
            };
            let Some((address, hex_port)) = local.rsplit_once(':') else {
                continue;
            };
            if *state == "0A" && u16::from_str_radix(hex_port, 16) == Ok(port) {
                addresses.push(address.to_owned());
            }
        }
    }
    addresses
}

fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn every_listener_starts_and_the_plain_port_answers_connect_in_both_versions() {
    let broker = start(
        MosquittoConfig::all_listeners()
            .with_users(users())
            .with_persistence(),
    );
    let listeners = broker.listeners();
    assert_eq!(
        listeners.iter().map(|&(kind, _)| kind).collect::<Vec<_>>(),
        Listener::ALL
    );
    let mut ports: Vec<u16> = listeners.iter().map(|&(_, port)| port).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), Listener::ALL.len(), "distinct ports");
    for port in ports {
        assert!(accepts(port), "port {port} refuses; log:\n{}", broker.log());
        // Loopback only, WebSocket listeners included (mosquitto 2.0.11 binds those everywhere unless told
        // `socket_domain ipv4`).
        assert_eq!(listening_addresses(port), ["0100007F"], "port {port}");
    }
    let plain = broker.plain_port();
    assert_eq!(
        broker.url(Listener::Plain),
        format!("mqtt://127.0.0.1:{plain}")
    );
    assert_eq!(
        broker.url(Listener::Tls),
        format!("mqtts://localhost:{}", broker.tls_port().unwrap())
    );
    assert_eq!(
        broker.url(Listener::Mtls),
        format!("mqtts://localhost:{}", broker.mtls_port().unwrap())
    );
    assert_eq!(
        broker.url(Listener::Ws),
        format!("ws://127.0.0.1:{}/mqtt", broker.ws_port().unwrap())
    );
    assert_eq!(
        broker.url(Listener::Wss),
        format!("wss://localhost:{}/mqtt", broker.wss_port().unwrap())
    );
    assert_eq!(
        broker.url(Listener::Password),
        format!("mqtt://127.0.0.1:{}", broker.password_port().unwrap())
    );
    for pem in [
        broker.ca_pem(),
        broker.client_cert_pem(),
        broker.client_key_pem(),
    ] {
        assert!(pem.unwrap().starts_with("-----BEGIN "));
    }

    assert_eq!(
        connack(plain, V311, connect("every-311")),
        (ReasonCode::SUCCESS, false)
    );
    assert_eq!(
        connack(plain, V5, connect("every-5")),
        (ReasonCode::SUCCESS, false)
    );
    let log = broker.log();
    assert!(
        log.contains("every-311") && log.contains("every-5"),
        "{log}"
    );
}

#[test]
fn a_plain_broker_has_only_the_plain_listener() {
    let broker = start(MosquittoConfig::default());
    assert_eq!(broker.listeners().len(), 1);
    assert_eq!(
        (broker.tls_port(), broker.ws_port(), broker.password_port()),
        (None, None, None)
    );
    assert_eq!(broker.ca_pem(), None);
    assert_eq!(
        connack(broker.plain_port(), V5, connect("plain")).0,
        ReasonCode::SUCCESS
    );
}

#[test]
fn the_password_listener_refuses_a_wrong_password_and_accepts_the_right_one() {
    let broker = start(MosquittoConfig::default().with_users(users()));
    let port = broker.password_port().unwrap();

    // mosquitto 2.0 answers a wrong password with "not authorized" in both versions.
    assert_eq!(
        connack(port, V311, with_password("wrong-311", "alice", "nope")).0,
        ReasonCode(5)
    );
    assert_eq!(
        connack(port, V5, with_password("wrong-5", "alice", "nope")).0,
        ReasonCode::NOT_AUTHORIZED
    );
    assert_eq!(
        connack(port, V311, with_password("unknown-311", "mallory", "x")).0,
        ReasonCode(5)
    );
    // No credentials at all: anonymous clients are refused on this listener.
    assert_eq!(
        connack(port, V311, connect("anonymous-311")).0,
        ReasonCode(5)
    );
    assert_eq!(
        connack(port, V5, connect("anonymous-5")).0,
        ReasonCode::NOT_AUTHORIZED
    );

    for (client_id, user, password) in [
        ("alice-311", "alice", "wonderland"),
        ("bob-5", "bob", "builder"),
    ] {
        for version in [V311, V5] {
            assert_eq!(
                connack(port, version, with_password(client_id, user, password)).0,
                ReasonCode::SUCCESS,
                "{user} in {version}; log:\n{}",
                broker.log()
            );
        }
    }
    // The plain listener stays anonymous.
    assert_eq!(
        connack(broker.plain_port(), V311, connect("anonymous-plain")).0,
        ReasonCode::SUCCESS
    );
}

#[test]
fn tls_listener_carries_a_message_from_mosquitto_pub_to_mosquitto_sub() {
    let broker = start(MosquittoConfig::default().with_tls());
    let port = broker.tls_port().unwrap();
    let ca = broker.ca_path().unwrap();
    let subscriber = Command::new("mosquitto_sub")
        .args(["-h", "localhost", "-p", &port.to_string(), "-t", "tls/x"])
        .args(["-C", "1", "-W", "10", "--cafile"])
        .arg(&ca)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mosquitto_sub (apt-get install -y mosquitto-clients)");
    let received = deliver(
        subscriber,
        || {
            let mut publish = broker.client_command("mosquitto_pub", Listener::Tls);
            publish.args(["-t", "tls/x", "-m", "over tls", "-q", "1"]);
            publish
        },
        &broker,
    );
    assert_eq!(received, "over tls\n");
}

#[test]
fn mtls_listener_refuses_a_client_without_certificate_and_accepts_one_with() {
    let broker = start(MosquittoConfig::default().with_mtls());
    let port = broker.mtls_port().unwrap().to_string();
    let without = run(Command::new("mosquitto_pub")
        .args(["-h", "localhost", "-p", &port, "-t", "mtls/x", "-m", "no"])
        .args(["-q", "1", "--cafile"])
        .arg(broker.ca_path().unwrap()));
    assert!(
        !without.status.success(),
        "accepted without a certificate: {}",
        text(&without)
    );

    let with = run(Command::new("mosquitto_pub")
        .args(["-h", "localhost", "-p", &port, "-t", "mtls/x", "-m", "yes"])
        .args(["-q", "1", "--cafile"])
        .arg(broker.ca_path().unwrap())
        .arg("--cert")
        .arg(broker.client_cert_path().unwrap())
        .arg("--key")
        .arg(broker.client_key_path().unwrap()));
    assert!(
        with.status.success(),
        "refused with a certificate: {}; log:\n{}",
        text(&with),
        broker.log()
    );
    // The same through the harness's ready-made command, end to end.
    let subscriber = broker
        .client_command("mosquitto_sub", Listener::Mtls)
        .args(["-t", "mtls/y", "-C", "1", "-W", "10"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let received = deliver(
        subscriber,
        || {
            let mut publish = broker.client_command("mosquitto_pub", Listener::Mtls);
            publish.args(["-t", "mtls/y", "-m", "mutual", "-q", "1"]);
            publish
        },
        &broker,
    );
    assert_eq!(received, "mutual\n");
}

fn upgrade_request(port: u16) -> String {
    format!(
        "GET /mqtt HTTP/1.1\r\nHost: localhost:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: mqtt\r\n\r\n"
    )
}

/// Reads from `reader` until the text read contains the end of an HTTP response head.
fn read_head(reader: &mut impl io::Read) -> String {
    let mut head = Vec::new();
    let mut byte = [0; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match reader.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => head.push(byte[0]),
            Err(error) => panic!("reading the upgrade response: {error} (so far {head:?})"),
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

#[test]
fn websocket_listeners_answer_an_upgrade_with_101() {
    let broker = start(
        MosquittoConfig::default()
            .with_websocket()
            .with_secure_websocket(),
    );
    let ws = broker.ws_port().unwrap();
    let mut stream =
        TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, ws)), WAIT).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.write_all(upgrade_request(ws).as_bytes()).unwrap();
    let head = read_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-protocol: mqtt"),
        "{head}"
    );

    // Secure WebSocket: the same through TLS, verified against the generated CA with the name localhost.
    let wss = broker.wss_port().unwrap();
    let mut client = Command::new("openssl")
        .args([
            "s_client",
            "-quiet",
            "-verify_return_error",
            "-verify_hostname",
            "localhost",
        ])
        .args([
            "-servername",
            "localhost",
            "-connect",
            &format!("127.0.0.1:{wss}"),
            "-CAfile",
        ])
        .arg(broker.ca_path().unwrap())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl s_client (apt-get install -y openssl)");
    client
        .stdin
        .as_mut()
        .unwrap()
        .write_all(upgrade_request(wss).as_bytes())
        .unwrap();
    let mut stdout = client.stdout.take().unwrap();
    let reader = thread::spawn(move || read_head(&mut stdout));
    let deadline = Instant::now() + WAIT;
    while !reader.is_finished() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    // s_client waits for more after the response: end it, which also ends the reader.
    let _ = client.kill();
    let output = client.wait_with_output().unwrap();
    let head = reader.join().unwrap();
    assert!(
        head.starts_with("HTTP/1.1 101"),
        "{head}; openssl: {}; log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        broker.log()
    );
}

#[test]
fn kill_and_restart_on_the_same_port_keeps_a_retained_message_with_persistence() {
    let mut broker = start(MosquittoConfig::default().with_persistence());
    let port = broker.plain_port();
    let first_pid = broker.pid().unwrap();
    let published = run(broker
        .client_command("mosquitto_pub", Listener::Plain)
        .args(["-t", "kept/x", "-m", "survives", "-r", "-q", "1"]));
    assert!(published.status.success(), "{}", text(&published));
    // Saved after every change: wait for the first save, then kill before any orderly shutdown could save.
    let database = broker.persistence_path().unwrap();
    let deadline = Instant::now() + WAIT;
    while !database.exists() {
        assert!(
            Instant::now() < deadline,
            "never saved; log:\n{}",
            broker.log()
        );
        thread::sleep(Duration::from_millis(10));
    }

    broker.kill();
    assert_eq!(broker.pid(), None);
    assert!(!process_exists(first_pid));
    assert!(!broker.is_running());
    assert!(!accepts(port), "the port still accepts after kill");

    broker.restart().unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(broker.plain_port(), port);
    assert_ne!(broker.pid(), Some(first_pid));
    assert!(broker.is_running());
    let received = run(broker
        .client_command("mosquitto_sub", Listener::Plain)
        .args(["-t", "kept/x", "-C", "1", "-W", "10"]));
    assert!(
        received.status.success(),
        "{}; log:\n{}",
        text(&received),
        broker.log()
    );
    assert_eq!(String::from_utf8_lossy(&received.stdout), "survives\n");

    // Restarting a running broker kills it first.
    let second_pid = broker.pid().unwrap();
    broker.restart().unwrap_or_else(|error| panic!("{error}"));
    assert!(!process_exists(second_pid));
    assert_eq!(connack(port, V311, connect("after")).0, ReasonCode::SUCCESS);
    assert!(broker.log().contains("mqtt-test: restart"));
}

#[test]
fn restart_reopens_every_listener_on_the_same_ports() {
    let mut broker = start(
        MosquittoConfig::all_listeners()
            .with_users(users())
            .with_persistence(),
    );
    let before = broker.listeners().to_vec();
    // Connections open at the kill leave the ports with sockets in TIME_WAIT: the restart must bind anyway.
    let held: Vec<TcpStream> = before
        .iter()
        .map(|&(_, port)| {
            TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)), WAIT)
                .unwrap()
        })
        .collect();
    assert_eq!(
        connack(broker.plain_port(), V5, connect("before-restart")).0,
        ReasonCode::SUCCESS
    );
    for _ in 0..2 {
        broker.kill();
        broker.restart().unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(broker.listeners(), before);
        for &(kind, port) in &before {
            assert!(accepts(port), "{kind:?} on {port} refuses after restart");
            assert_eq!(
                listening_addresses(port),
                ["0100007F"],
                "{kind:?} on {port}"
            );
        }
        assert_eq!(
            connack(broker.plain_port(), V5, connect("after-restart")).0,
            ReasonCode::SUCCESS
        );
        let port = broker.password_port().unwrap();
        assert_eq!(
            connack(
                port,
                V311,
                with_password("after-restart-311", "bob", "builder")
            )
            .0,
            ReasonCode::SUCCESS
        );
    }
    drop(held);
}

#[test]
fn without_persistence_a_restart_forgets_retained_messages() {
    let mut broker = start(MosquittoConfig::default());
    assert_eq!(broker.persistence_path(), None);
    let published = run(broker
        .client_command("mosquitto_pub", Listener::Plain)
        .args(["-t", "lost/x", "-m", "gone", "-r", "-q", "1"]));
    assert!(published.status.success(), "{}", text(&published));
    broker.restart().unwrap_or_else(|error| panic!("{error}"));
    // -W 1: nothing retained, so the subscriber times out (exit code 27 in mosquitto 2.0) with no output.
    let received = run(broker
        .client_command("mosquitto_sub", Listener::Plain)
        .args(["-t", "lost/x", "-C", "1", "-W", "1"]));
    assert!(!received.status.success(), "{}", text(&received));
    assert!(received.stdout.is_empty(), "{}", text(&received));
}

#[test]
fn drop_kills_the_process_and_removes_the_temp_dir() {
    let broker = start(MosquittoConfig::all_listeners().with_persistence());
    let pid = broker.pid().unwrap();
    let dir = broker.dir().to_owned();
    let port = broker.plain_port();
    assert!(process_exists(pid));
    assert!(dir.join("mosquitto.conf").exists());
    drop(broker);
    assert!(!process_exists(pid), "PID {pid} still there after drop");
    assert!(!dir.exists(), "{} still there after drop", dir.display());
    assert!(!accepts(port));
}

#[test]
fn a_broken_configuration_fails_with_the_broker_log() {
    let error = Mosquitto::start(MosquittoConfig::default().with_line("no_such_option 1"))
        .expect_err("mosquitto refuses unknown options");
    let message = error.to_string();
    assert!(matches!(error, HarnessError::Exited { .. }), "{message}");
    assert!(message.contains("no_such_option"), "{message}");
}

#[test]
fn a_missing_mosquitto_names_the_install_command() {
    let error = HarnessError::NotInstalled {
        program: "mosquitto",
        looked: "/usr/sbin".to_owned(),
    };
    assert!(
        error
            .to_string()
            .contains("apt-get install -y mosquitto mosquitto-clients"),
        "{error}"
    );
}
