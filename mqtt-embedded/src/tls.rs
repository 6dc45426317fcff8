//! TLS 1.3 on the device (`mqtts://`), feature `tls`: [`TlsConnector`] opens a stream with any [`Connect`] (an
//! embassy-net TCP socket, a UART...) and runs an [embedded-tls](embedded_tls) handshake on it; the runner uses
//! the resulting [`TlsStream`] like any other stream. No allocator: every buffer is in [`TlsResources`].
//!
//! # What embedded-tls 0.19 does here
//!
//! - **TLS 1.3 only**, cipher suite `TLS_AES_128_GCM_SHA256` ([`Aes128GcmSha256`], the default) or
//!   `TLS_AES_256_GCM_SHA384` ([`Aes256GcmSha384`]): one, chosen by the connector's type. Key exchange on P-256
//!   (secp256r1) only. No session resumption, no 0-RTT, no ChaCha20-Poly1305.
//! - **The broker is verified against one CA** (DER): the chain the broker sends must lead to it, each link an
//!   ECDSA P-256 / SHA-256 signature (embedded-tls's `rustpki` verifier; RSA chains need an allocator in
//!   embedded-tls and are not supported; P-384 and Ed25519 need its `p384`/`ed25519` features, not enabled here).
//!   The server name must match a DNS name of the broker's certificate (subject alternative names, or its common
//!   name when it has none); IP address names are not matched. The broker's CertificateVerify signature is
//!   checked, and this connector refuses a handshake without a verified certificate and signature (embedded-tls
//!   alone would complete one in which the broker sent none). Not checked: basic constraints, key usage and path
//!   length (any certificate the CA signed can act as an intermediate: use a CA that signs only your brokers'
//!   certificates), and revocation. Certificates with more than 12 extensions or 7 name attributes do not parse;
//!   the chain may take [`CHAIN_CAPACITY`] bytes.
//! - **Dates** are checked only with a [`TlsClock`] that knows the time (the connector's `T` parameter); with
//!   [`NoClock`], the default, expired and not-yet-valid certificates are accepted.
//! - **Client certificate** (mutual TLS): presented when the broker asks for one and an [`Identity`] is given; the
//!   key must be ECDSA P-256 (SEC1 DER, `openssl ec -outform DER`), the signature `ecdsa_secp256r1_sha256`.
//! - **Randomness**: the connector takes a [`CryptoRngCore`] (rand_core 0.6) for the key exchange. On a device,
//!   use its hardware random number generator, or a CSPRNG (e.g. `rand_chacha`) seeded from it; a seed that
//!   repeats makes the key exchange predictable.
//!
//! # Memory
//!
//! [`TlsResources<RECORD, WRITE>`](TlsResources) holds two record buffers of `RECORD` bytes (embedded-tls's and
//! the [cancel-safe](TlsStream#cancel-safety) stream's) and two of `WRITE`. A broker may send records of up to
//! 16 KiB ([`record_size(None)`](record_size), 16,645 B) unless the client asks for a smaller
//! [`MaxFragmentLength`] and the broker agrees (mosquitto and anything on OpenSSL do): with
//! [`MaxFragmentLength::Bits10`], `RECORD` = [`record_size`]`(Some(Bits10))` = 1,285 B, enough for a handshake
//! with one or two P-256 certificates. A record larger than `RECORD` fails the connection with an error, it is
//! never cut. `WRITE` must hold the largest record the client writes: the ClientHello (about 250 B) and its
//! certificate (its DER length and 40 B); 768 is enough for one P-256 certificate. Each record carries at most
//! `WRITE` - 128 bytes of MQTT (the fragment length, if smaller).
//!
//! The connector keeps a copy of the broker's chain ([`CHAIN_CAPACITY`]) while it verifies it. The handshake
//! needs about **31 KiB of stack** on a Cortex-M3 (measured in QEMU: embedded-tls's X.509 parsing alone has
//! frames of 8 and 9 KiB): leave that much RAM above the statics.
//! On thumbv7m at opt-level "z", TLS adds about 89 KiB of flash and 13 KiB of static RAM to a minimal client
//! speaking both protocol versions (`qemu/sizes/sizes.sh`).
//!
//! # One connection per resources
//!
//! embedded-tls borrows its record buffers for the whole life of a connection, and the [`Connect`] trait hands the
//! stream to the runner by value: the buffers go with the first stream and cannot be lent again without `unsafe`.
//! So a [`TlsConnector`] makes **one** TLS connection: once it ends, or if its handshake fails or is dropped,
//! later attempts fail with [`TlsConnectError::Spent`] (a failure of the underlying [`Connect`] does not use the
//! buffers up). Restart the device (or the client, with fresh resources) to connect again.
//!
//! A [`Client`](crate::Client) command never interrupts a connection attempt, but the session's connect timeout
//! and [`Client::reconnect`](crate::Client::reconnect) drop it: for TLS that cuts the handshake and spends the
//! connector, so give the handshake a connect timeout long enough for it.
//!
//! embedded-tls's read future is not `Send` (it keeps a pointer across an await): run the runner on an executor
//! that does not ask for `Send` futures (embassy's `Spawner`, tokio's `LocalSet`).
//!
//! ```no_run
//! # async fn device<N: mqtt_embedded::Connect, R: mqtt_embedded::tls::CryptoRngCore>(
//! #     tcp: N, rng: R, ca_der: &'static [u8], cert_der: &'static [u8], key_der: &'static [u8],
//! #     tls: &'static mut mqtt_embedded::tls::TlsResources<'static, mqtt_embedded::NoopRawMutex, N::Io, 1285, 768>,
//! # ) -> Result<(), mqtt_embedded::tls::TlsError> {
//! use mqtt_embedded::NoopRawMutex;
//! use mqtt_embedded::tls::{Identity, MaxFragmentLength, TlsConnector, TlsOptions};
//!
//! let options = TlsOptions::new("broker.example", ca_der)
//!     .with_identity(Identity::new(cert_der, key_der)?)
//!     .with_max_fragment_length(MaxFragmentLength::Bits10);
//! let connector: TlsConnector<'_, NoopRawMutex, N, R> = TlsConnector::new(tcp, tls, options, rng);
//! // mqtt_embedded::new(&config, resources, connector, clock)...
//! # let _ = connector;
//! # Ok(())
//! # }
//! ```

mod link;
mod verify;

use core::fmt;
use core::future::{Future, poll_fn};
use core::pin::{Pin, pin};
use core::task::{Context, Poll};

use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::mutex::Mutex;
use embedded_io_async::{ErrorType, Read, Write};
use embedded_tls::pki::CertVerifier;
use embedded_tls::{
    Certificate, CryptoProvider, FlushPolicy, SignatureScheme, TlsConfig, TlsConnection,
    TlsContext, TlsVerifier,
};
use p256::SecretKey;
use p256::ecdsa::signature::SignerMut;
use p256::ecdsa::{DerSignature, SigningKey};
use proto::io::Connect;

pub use embedded_tls::{
    Aes128GcmSha256, Aes256GcmSha384, CryptoRngCore, MaxFragmentLength, NoClock, TlsCipherSuite,
    TlsClock, TlsError,
};

use link::{Link, Wire};
use verify::Strict;

/// The most the broker's certificate chain may take, as sent (all its certificates, about 450 to 600 bytes each
/// for P-256 certificates); a copy is kept during the handshake, in the connector.
pub const CHAIN_CAPACITY: usize = 1536;

/// What embedded-tls adds to a record's payload in its write buffer.
const WRITE_OVERHEAD: usize = 128;

/// The size of a record buffer for records of up to `fragment` bytes of plaintext (16 KiB with `None`): the
/// 5-byte header, the fragment, and 256 bytes for the content type, padding and authentication tag.
pub const fn record_size(fragment: Option<MaxFragmentLength>) -> usize {
    5 + fragment_len(fragment) + 256
}

const fn fragment_len(fragment: Option<MaxFragmentLength>) -> usize {
    match fragment {
        None => 1 << 14,
        Some(MaxFragmentLength::Bits9) => 1 << 9,
        Some(MaxFragmentLength::Bits10) => 1 << 10,
        Some(MaxFragmentLength::Bits11) => 1 << 11,
        Some(MaxFragmentLength::Bits12) => 1 << 12,
    }
}

/// The client's certificate and key for mutual TLS.
#[derive(Clone, Copy)]
pub struct Identity<'a> {
    certificate: &'a [u8],
    key: &'a [u8],
}

impl<'a> Identity<'a> {
    /// A certificate (X.509, DER) and its ECDSA P-256 private key (SEC1 DER).
    ///
    /// # Errors
    ///
    /// [`TlsError::InvalidPrivateKey`] when the key is not a P-256 key in SEC1 DER.
    pub fn new(certificate: &'a [u8], key: &'a [u8]) -> Result<Self, TlsError> {
        SecretKey::from_sec1_der(key).map_err(|_| TlsError::InvalidPrivateKey)?;
        Ok(Self { certificate, key })
    }
}

impl fmt::Debug for Identity<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key.
        f.debug_struct("Identity")
            .field("certificate_len", &self.certificate.len())
            .finish_non_exhaustive()
    }
}

/// How to connect: the broker's name, the CA that signed its certificate, and optionally a client certificate
/// and a maximum fragment length.
#[derive(Clone, Copy)]
pub struct TlsOptions<'a> {
    server_name: &'a str,
    ca: &'a [u8],
    identity: Option<Identity<'a>>,
    max_fragment_length: Option<MaxFragmentLength>,
}

impl fmt::Debug for TlsOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsOptions")
            .field("server_name", &self.server_name)
            .field("ca_len", &self.ca.len())
            .field("identity", &self.identity)
            .field("max_fragment_length", &self.max_fragment_length)
            .finish()
    }
}

impl<'a> TlsOptions<'a> {
    /// Connects to `server_name` (sent as SNI, and matched against the broker's certificate), whose chain must
    /// lead to the CA certificate `ca` (X.509, DER).
    pub fn new(server_name: &'a str, ca: &'a [u8]) -> Self {
        Self {
            server_name,
            ca,
            identity: None,
            max_fragment_length: None,
        }
    }

    /// Presents `identity` when the broker asks for a client certificate.
    pub fn with_identity(self, identity: Identity<'a>) -> Self {
        Self {
            identity: Some(identity),
            ..self
        }
    }

    /// Asks the broker for records of at most `fragment` bytes, so that [`record_size`]`(Some(fragment))`-byte
    /// buffers are enough. A broker that ignores it may send larger records, which then fail the connection.
    pub fn with_max_fragment_length(self, fragment: MaxFragmentLength) -> Self {
        Self {
            max_fragment_length: Some(fragment),
            ..self
        }
    }
}

/// The memory of one TLS connection: keep it in a `static` (e.g. with `static_cell`), next to the client's
/// [`Resources`](crate::Resources). `S` is the stream of the inner connector; `RECORD` and `WRITE` are described in
/// the [module docs](self#memory).
pub struct TlsResources<'d, M: RawMutex, S, const RECORD: usize, const WRITE: usize> {
    read_record: [u8; RECORD],
    incoming: [u8; RECORD],
    write_record: [u8; WRITE],
    outgoing: [u8; WRITE],
    link: Option<Mutex<M, Link<'d, S>>>,
}

impl<M: RawMutex, S, const RECORD: usize, const WRITE: usize>
    TlsResources<'_, M, S, RECORD, WRITE>
{
    /// Zeroed buffers; usable in a `const` or `static` initializer.
    pub const fn new() -> Self {
        Self {
            read_record: [0; RECORD],
            incoming: [0; RECORD],
            write_record: [0; WRITE],
            outgoing: [0; WRITE],
            link: None,
        }
    }
}

impl<M: RawMutex, S, const RECORD: usize, const WRITE: usize> Default
    for TlsResources<'_, M, S, RECORD, WRITE>
{
    fn default() -> Self {
        Self::new()
    }
}

/// The resources, borrowed until the connection takes them.
struct Memory<'d, M: RawMutex, S> {
    read_record: &'d mut [u8],
    incoming: &'d mut [u8],
    write_record: &'d mut [u8],
    outgoing: &'d mut [u8],
    link: &'d mut Option<Mutex<M, Link<'d, S>>>,
}

/// A [`Connect`] that opens a stream with `N` and runs a TLS 1.3 handshake on it: one connection (see the
/// [module docs](self#one-connection-per-resources)).
///
/// `R` is the random number generator, `CS` the cipher suite, `T` the clock that checks the certificates' dates
/// ([`NoClock`]: not checked).
pub struct TlsConnector<'d, M, N, R, CS = Aes128GcmSha256, T = NoClock>
where
    M: RawMutex,
    N: Connect,
    CS: TlsCipherSuite,
    T: TlsClock,
{
    inner: N,
    rng: R,
    options: TlsOptions<'d>,
    memory: Option<Memory<'d, M, N::Io>>,
    /// Here rather than in the handshake's future: it holds a copy of the broker's chain, which would make the
    /// runner's future (and the stack frames that move it) that much larger.
    verifier: Strict<CertVerifier<'d, CS, T, CHAIN_CAPACITY>>,
}

impl<'d, M: RawMutex, N: Connect, R, CS: TlsCipherSuite, T: TlsClock>
    TlsConnector<'d, M, N, R, CS, T>
{
    /// A connector that opens streams with `inner` and secures them as `options` says, in `resources`.
    pub fn new<const RECORD: usize, const WRITE: usize>(
        inner: N,
        resources: &'d mut TlsResources<'d, M, N::Io, RECORD, WRITE>,
        options: TlsOptions<'d>,
        rng: R,
    ) -> Self {
        let TlsResources {
            read_record,
            incoming,
            write_record,
            outgoing,
            link,
        } = resources;
        // embedded-tls does not split its records to the negotiated fragment length: a shorter write buffer does.
        let most = options.max_fragment_length.map_or(WRITE, |fragment| {
            fragment_len(Some(fragment)) + WRITE_OVERHEAD
        });
        let (write_record, _) = write_record.split_at_mut(most.min(WRITE));
        Self {
            inner,
            rng,
            options,
            memory: Some(Memory {
                read_record,
                incoming,
                write_record,
                outgoing,
                link,
            }),
            verifier: Strict::new(CertVerifier::new(Certificate::X509(options.ca))),
        }
    }

    /// Whether the resources are still free for a connection.
    pub fn is_spent(&self) -> bool {
        self.memory.is_none()
    }
}

impl<M: RawMutex, N: Connect, R, CS: TlsCipherSuite, T: TlsClock> fmt::Debug
    for TlsConnector<'_, M, N, R, CS, T>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnector")
            .field("options", &self.options)
            .field("spent", &self.is_spent())
            .finish_non_exhaustive()
    }
}

/// Why a [`TlsConnector`] could not connect.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConnectError<E> {
    /// The inner connector failed; the resources are still free for the next attempt.
    #[error("opening the stream failed: {0:?}")]
    Connect(E),
    /// The handshake failed, e.g. [`TlsError::InvalidCertificate`] when the broker's chain does not lead to the
    /// CA or does not name the server, [`TlsError::HandshakeAborted`] when the broker refused (e.g. the client
    /// certificate). The resources went with the connection.
    #[error("the TLS handshake failed: {0:?}")]
    Handshake(TlsError),
    /// The resources were used by an earlier connection ([one connection per resources](self#one-connection-per-resources)).
    #[error("the TLS resources were used by an earlier connection")]
    Spent,
}

impl<'d, M, N, R, CS, T> Connect for TlsConnector<'d, M, N, R, CS, T>
where
    M: RawMutex,
    N: Connect,
    R: CryptoRngCore,
    CS: TlsCipherSuite + 'static,
    T: TlsClock,
{
    type Io = TlsStream<'d, M, N::Io, CS>;
    type Error = TlsConnectError<N::Error>;

    /// Opens a stream with the inner connector, then runs the handshake.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future during the handshake drops the stream and uses the resources up.
    async fn connect(&mut self) -> Result<Self::Io, Self::Error> {
        if self.memory.is_none() {
            return Err(TlsConnectError::Spent);
        }
        let io = self
            .inner
            .connect()
            .await
            .map_err(TlsConnectError::Connect)?;
        let memory = self.memory.take().ok_or(TlsConnectError::Spent)?;
        let link =
            &*memory
                .link
                .insert(Mutex::new(Link::new(io, memory.incoming, memory.outgoing)));
        let mut tls = TlsConnection::new(Wire(link), memory.read_record, memory.write_record);
        let mut config = TlsConfig::new().with_server_name(self.options.server_name);
        if let Some(fragment) = self.options.max_fragment_length {
            config = config.with_max_fragment_length(fragment);
        }
        let provider = Provider {
            rng: &mut self.rng,
            verifier: &mut self.verifier,
            identity: self.options.identity,
        };
        {
            let mut handshake = pin!(tls.open(TlsContext::new(&config, provider)));
            poll_fn(|cx| poll_apart(handshake.as_mut(), cx))
                .await
                .map_err(TlsConnectError::Handshake)?;
        }
        // embedded-tls completes a handshake in which the broker sent no certificate: not this connector.
        if !self.verifier.is_complete() {
            return Err(TlsConnectError::Handshake(TlsError::InvalidCertificate));
        }
        // From now on embedded-tls never flushes the link itself: the stream does, outside embedded-tls's calls.
        tls.set_flush_policy(FlushPolicy::Relaxed);
        Ok(TlsStream { tls, link })
    }
}

/// Polls `future` in a stack frame of its own. The handshake's locals (several KiB) would otherwise be inlined
/// into the runner's task, whose frame is on the stack for everything it does; with this they are there only
/// while the handshake runs.
#[inline(never)]
fn poll_apart<F: Future>(future: Pin<&mut F>, cx: &mut Context<'_>) -> Poll<F::Output> {
    future.poll(cx)
}

/// The keys, the verifier and the randomness of one handshake.
struct Provider<'a, 'r, R, CS: TlsCipherSuite, T: TlsClock> {
    rng: &'r mut R,
    verifier: &'r mut Strict<CertVerifier<'a, CS, T, CHAIN_CAPACITY>>,
    identity: Option<Identity<'a>>,
}

impl<R: CryptoRngCore, CS: TlsCipherSuite, T: TlsClock> CryptoProvider
    for Provider<'_, '_, R, CS, T>
{
    type CipherSuite = CS;
    type Signature = DerSignature;

    fn rng(&mut self) -> impl CryptoRngCore {
        &mut *self.rng
    }

    fn verifier(&mut self) -> Result<&mut impl TlsVerifier<CS>, TlsError> {
        Ok(&mut *self.verifier)
    }

    fn signer(&mut self) -> Result<(impl SignerMut<DerSignature>, SignatureScheme), TlsError> {
        let identity = self.identity.ok_or(TlsError::InvalidPrivateKey)?;
        let key =
            SecretKey::from_sec1_der(identity.key).map_err(|_| TlsError::InvalidPrivateKey)?;
        Ok((
            SigningKey::from(&key),
            SignatureScheme::EcdsaSecp256r1Sha256,
        ))
    }

    fn client_cert(&mut self) -> Option<Certificate<impl AsRef<[u8]>>> {
        self.identity
            .map(|identity| Certificate::X509(identity.certificate))
    }
}

/// A TLS connection to the broker, as [`TlsConnector`] opens it: an `embedded_io_async::{Read, Write}` stream.
///
/// # Cancel safety
///
/// `read`, `write` and `flush` are cancel-safe when the inner stream's are, as the runner needs: a dropped read
/// loses no received byte, a dropped write sends nothing twice and loses nothing (the runner drops them whenever a
/// command or a deadline comes first). Dropping the stream closes nothing itself: it drops the inner stream,
/// without a TLS `close_notify`.
pub struct TlsStream<'d, M: RawMutex, S: Read + Write, CS: TlsCipherSuite + 'static> {
    tls: TlsConnection<'d, Wire<'d, M, S>, CS>,
    link: &'d Mutex<M, Link<'d, S>>,
}

impl<M: RawMutex, S: Read + Write, CS: TlsCipherSuite> TlsStream<'_, M, S, CS> {
    /// Sends what embedded-tls wrote earlier, so that the next record it writes fits the link at once.
    async fn drain(&mut self) -> Result<(), TlsError> {
        Link::lock(self.link)
            .map_err(TlsError::Io)?
            .drain()
            .await
            .map_err(TlsError::Io)
    }
}

impl<M: RawMutex, S: Read + Write, CS: TlsCipherSuite> fmt::Debug for TlsStream<'_, M, S, CS> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsStream").finish_non_exhaustive()
    }
}

impl<M: RawMutex, S: Read + Write, CS: TlsCipherSuite> ErrorType for TlsStream<'_, M, S, CS> {
    type Error = TlsError;
}

impl<M: RawMutex, S: Read + Write, CS: TlsCipherSuite> Read for TlsStream<'_, M, S, CS> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TlsError> {
        // Decrypted bytes left from a record come at once; otherwise the link waits for a whole record, the only
        // place this can wait.
        self.tls.read(buf).await
    }
}

impl<M: RawMutex, S: Read + Write, CS: TlsCipherSuite> Write for TlsStream<'_, M, S, CS> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, TlsError> {
        self.drain().await?;
        // Ready at once: at most one record goes to the link, which is empty.
        self.tls.write(buf).await
    }

    async fn flush(&mut self) -> Result<(), TlsError> {
        self.drain().await?;
        self.tls.flush().await?;
        Link::lock(self.link)
            .map_err(TlsError::Io)?
            .flush()
            .await
            .map_err(TlsError::Io)
    }
}
