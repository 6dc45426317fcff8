//! The certificates of the TLS listeners, generated with rcgen at start: a CA, a server certificate it signs for
//! `localhost` and `127.0.0.1`, and a client certificate it signs for mutual TLS. Besides, [`X509V1Client`]: an
//! X.509 v1 client certificate as `openssl x509 -req` makes it (rcgen makes only v3).

use std::path::Path;
use std::process::Command;

use super::HarnessError;
use super::config::ServerCertificate;
use super::error::io_error;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// PEM text of everything the broker and its clients need.
#[derive(Debug, Clone)]
pub(super) struct Certs {
    pub(super) ca: String,
    pub(super) server: String,
    pub(super) server_key: String,
    pub(super) client: String,
    pub(super) client_key: String,
}

impl Certs {
    /// A fresh CA and the two certificates it signs, each with its own ECDSA P-256 key; the server's as `server`
    /// asks.
    pub(super) fn generate(server: ServerCertificate) -> Result<Self, rcgen::Error> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "mqtt-test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

        let leaf = |common_name: &str,
                    names: Vec<String>,
                    purpose: ExtendedKeyUsagePurpose,
                    expired: bool| {
            let mut params = CertificateParams::new(names)?;
            if expired {
                params.not_before = rcgen::date_time_ymd(2020, 1, 1);
                params.not_after = rcgen::date_time_ymd(2021, 1, 1);
            }
            params
                .distinguished_name
                .push(DnType::CommonName, common_name);
            params.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ];
            params.extended_key_usages = vec![purpose];
            params.use_authority_key_identifier_extension = true;
            let key = KeyPair::generate()?;
            let cert = params.signed_by(&key, &ca)?;
            Ok::<_, rcgen::Error>((cert.pem(), key.serialize_pem()))
        };
        let server_names = match server {
            ServerCertificate::Valid | ServerCertificate::Expired => {
                vec!["localhost".to_owned(), "127.0.0.1".to_owned()]
            }
            ServerCertificate::OtherName => vec!["broker.invalid".to_owned()],
        };
        let (server, server_key) = leaf(
            "localhost",
            server_names,
            ExtendedKeyUsagePurpose::ServerAuth,
            server == ServerCertificate::Expired,
        )?;
        let (client, client_key) = leaf(
            "mqtt-test client",
            Vec::new(),
            ExtendedKeyUsagePurpose::ClientAuth,
            false,
        )?;
        Ok(Self {
            ca: ca.pem(),
            server,
            server_key,
            client,
            client_key,
        })
    }
}

/// A client certificate in X.509 v1 (no extensions), signed by a CA of its own, as `openssl x509 -req` makes it
/// without an extension file: what many device fleets carry, and what mosquitto (OpenSSL) accepts. Made by the
/// `openssl` program at each call (P-256 keys, valid for a day); give [`ca`](Self::ca) to
/// [`MosquittoConfig::with_client_ca`](super::MosquittoConfig::with_client_ca).
#[derive(Debug, Clone)]
pub struct X509V1Client {
    /// The CA's certificate (PEM).
    pub ca: String,
    /// The client's certificate (PEM), X.509 v1.
    pub cert: String,
    /// The client's private key (PKCS#8 PEM).
    pub key: String,
}

impl X509V1Client {
    /// Runs `openssl` in a temp dir: a CA, a key, a request, and the request signed without extensions.
    ///
    /// # Errors
    ///
    /// [`HarnessError::Config`] when `openssl` is missing or fails (with its output), [`HarnessError::Io`] when the
    /// temp dir cannot be used.
    pub fn generate() -> Result<Self, HarnessError> {
        let dir = tempfile::Builder::new()
            .prefix("mqtt-test-x509-v1-")
            .tempdir()
            .map_err(io_error("creating the certificates' temp dir"))?;
        let run = |args: &[&str]| -> Result<(), HarnessError> {
            let output = Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .output()
                .map_err(|e| {
                    HarnessError::Config(format!(
                        "running openssl: {e} (install it with `cargo xtask setup` or `apt-get install openssl`)"
                    ))
                })?;
            if output.status.success() {
                Ok(())
            } else {
                Err(HarnessError::Config(format!(
                    "openssl {}: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&output.stderr)
                )))
            }
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        let mut ca = vec!["req", "-x509", "-keyout", "ca.key", "-out", "ca.pem"];
        ca.extend(ec);
        ca.extend(["-subj", "/CN=mqtt-test v1 CA", "-days", "1"]);
        run(&ca)?;
        let mut request = vec!["req", "-new", "-keyout", "client.key", "-out", "client.csr"];
        request.extend(ec);
        request.extend(["-subj", "/CN=mqtt-test v1 client"]);
        run(&request)?;
        // No -extfile: a version 1 certificate.
        run(&[
            "x509",
            "-req",
            "-in",
            "client.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "client.pem",
            "-days",
            "1",
        ])?;
        let read = |name: &str| {
            let path = dir.path().join(name);
            std::fs::read_to_string(&path)
                .map_err(io_error(format!("reading {}", Path::new(name).display())))
        };
        Ok(Self {
            ca: read("ca.pem")?,
            cert: read("client.pem")?,
            key: read("client.key")?,
        })
    }
}
