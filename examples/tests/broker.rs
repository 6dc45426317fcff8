//! The in-process broker: it listens on loopback, stops with every connection it had, and comes back on the same
//! port.

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use examples::broker::InProcessBroker;

fn address_of(broker: &InProcessBroker) -> SocketAddr {
    let url = broker.url();
    let address = url.strip_prefix("mqtt://").expect("an mqtt:// URL");
    address.parse().expect("a socket address")
}

#[test]
fn stop_closes_the_port_and_every_connection_and_restart_listens_on_the_same_port() {
    let mut broker = InProcessBroker::start().expect("start the in-process broker");
    let address = address_of(&broker);
    assert!(address.ip().is_loopback(), "{address}");
    assert!(broker.is_listening());

    let mut open = TcpStream::connect(address).expect("the broker accepts connections");
    open.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    broker.stop();
    assert!(!broker.is_listening());
    // The accepted connection is closed: a read ends (EOF or reset) instead of timing out.
    let mut byte = [0u8; 1];
    match open.read(&mut byte) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("the connection should be closed, read gave {other:?}"),
    }
    assert!(
        TcpStream::connect(address).is_err(),
        "nothing listens after stop"
    );

    broker.restart().expect("restart");
    assert!(broker.is_listening());
    assert_eq!(address_of(&broker), address, "same port after restart");
    TcpStream::connect(address).expect("the broker accepts connections again");
}
