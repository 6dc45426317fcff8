//! The rustls configuration of the std clients (`client::tls`): client certificates of every X.509 version that
//! brokers accept, and clear errors for what cannot work. Certificates in `tests/data` (see its README).
//!
//! Needs the `tls` feature, which `cargo test --workspace` turns on (the std bindings enable it).
#![cfg(feature = "tls")]

use mqtt_core::client::{Error, Options, TlsError};

const V1_CERT: &str = include_str!("data/client-x509-v1.pem");
const V3_CERT: &str = include_str!("data/client-x509-v3.pem");
const KEY: &str = include_str!("data/client.key");
const OTHER_KEY: &str = include_str!("data/other.key");
/// Any CA will do: these tests only build the configuration.
const CA: &str = V3_CERT;

fn client_config(cert: &str, key: &str) -> Result<(), Error> {
    let options = Options::new("mqtts://broker.local")?
        .ca_pem(CA)
        .client_auth_pem(cert, key);
    options.tls().client_config().map(drop)
}

#[test]
fn an_x509_v1_client_certificate_is_accepted_like_mosquitto_does() {
    // webpki (through rustls's key check) reads only v3 certificates; the client matches the key itself.
    client_config(V1_CERT, KEY).expect("v1 client certificate with its key");
    client_config(V3_CERT, KEY).expect("v3 client certificate with its key");
}

#[test]
fn a_client_key_that_does_not_match_its_certificate_is_refused_for_both_versions() {
    for cert in [V1_CERT, V3_CERT] {
        match client_config(cert, OTHER_KEY) {
            Err(Error::Tls(TlsError::Config(message))) => {
                assert!(message.contains("does not match"), "{message}");
            }
            other => panic!("expected a key mismatch, got {other:?}"),
        }
    }
}

#[test]
fn an_unreadable_client_certificate_says_what_to_do() {
    // A certificate whose DER is cut short: neither webpki nor the v1 reader can read it.
    let der = pem_cert_der(V1_CERT);
    let options = Options::new("mqtts://broker.local")
        .unwrap()
        .ca_pem(CA)
        .client_auth_der(der[..der.len() / 2].to_vec(), pem_key_der(KEY));
    match options.tls().client_config() {
        Err(Error::Tls(TlsError::Config(message))) => {
            assert!(message.contains("client certificate"), "{message}");
        }
        other => panic!("expected a configuration error, got {:?}", other.map(drop)),
    }
}

/// The DER bytes of the first PEM section of `pem`.
fn pem_cert_der(pem: &str) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject as _;
    rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .to_vec()
}

fn pem_key_der(pem: &str) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject as _;
    rustls::pki_types::PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .secret_pkcs8_der()
        .to_vec()
}
