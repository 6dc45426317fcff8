//! Enhanced authentication (MQTT 5.0 AUTH, section 4.12), sans-IO: an [`Authenticator`] gives the method, the
//! initial data and an answer to each challenge; the session carries them in CONNECT and AUTH packets, checks what
//! the server sends back, and re-authenticates on request.
//!
//! # The exchange
//!
//! - At each connection attempt the session asks [`Authenticator::start`] for the initial data and sends CONNECT
//!   with the Authentication Method and that data.
//! - Each AUTH from the server with Continue authentication (`0x18`) goes to [`Authenticator::challenge`]; its
//!   answer goes back in an AUTH with Continue authentication. `[MQTT-4.12.0-3]`
//! - A successful CONNACK ends the exchange: its Authentication Data (the server's final word, such as a SCRAM
//!   server signature) goes to [`Authenticator::finish`].
//! - [`Session::reauthenticate`] starts the same exchange on an established connection with an AUTH
//!   Re-authenticate (`0x19`) `[MQTT-4.12.1-1]`; messages keep flowing meanwhile. The server's AUTH Success ends
//!   it ([`Event::Reauthenticated`](super::Event::Reauthenticated)).
//!
//! # When it goes wrong
//!
//! | what | the session's answer |
//! |---|---|
//! | the authenticator refuses the server's data ([`AuthError::Rejected`]: a wrong challenge, a server signature that does not verify) | DISCONNECT `0x87` Not authorized, then close |
//! | the authenticator fails otherwise ([`AuthError::TooLarge`], [`AuthError::Failed`]) | DISCONNECT `0x83` Implementation specific error or `0x80` Unspecified error |
//! | AUTH or a successful CONNACK with another Authentication Method `[MQTT-4.12.0-5]` | DISCONNECT `0x82` Protocol Error |
//! | AUTH without an authenticator `[MQTT-4.12.0-6]`, AUTH Re-authenticate from the server, AUTH Success while no re-authentication runs or before CONNACK | DISCONNECT `0x82` Protocol Error |
//!
//! Before CONNACK the attempt fails ([`Event::ConnectFailed`](super::Event::ConnectFailed)); after it the
//! connection is lost ([`Event::ConnectionLost`](super::Event::ConnectionLost)), with
//! [`ProtocolError::AuthenticationFailed`] or [`ProtocolError::AuthenticationMethodMismatch`] as the cause. The
//! reconnect policy applies as for any protocol error (the next broker of a failover list is tried: this one did
//! not prove itself). A server that refuses the client answers with a CONNACK refusal (`0x87`, `0x8C` Bad
//! authentication method) or, during a re-authentication, a DISCONNECT.

#[cfg(feature = "alloc")]
use alloc::boxed::Box;

use super::event::OwnedEvent;
use super::receive::Step;
use super::{Session, SessionState};
use crate::codec::{Auth, AuthProperties, ConnAckProperties, Packet, PacketType, ReasonCode};
use crate::error::ProtocolError;
use crate::time::Instant;

/// One side of an enhanced authentication method (SCRAM, Kerberos, a challenge-response of your own...), driven by
/// the session. Sans-IO: it is given the server's data and writes its own into the buffer it is handed.
///
/// ```
/// use mqtt_core::session::{AuthError, Authenticator};
///
/// /// Sends a token, and checks that the server answers with the word it expects.
/// struct Token(&'static [u8]);
///
/// impl Authenticator for Token {
///     fn method(&self) -> &str {
///         "TOKEN"
///     }
///     fn start(&mut self, _reauthenticate: bool, out: &mut [u8]) -> Result<usize, AuthError> {
///         let out = out.get_mut(..self.0.len()).ok_or(AuthError::TooLarge)?;
///         out.copy_from_slice(self.0);
///         Ok(self.0.len())
///     }
///     fn challenge(&mut self, _data: &[u8], _out: &mut [u8]) -> Result<usize, AuthError> {
///         Err(AuthError::Rejected) // this method has no challenge
///     }
///     fn finish(&mut self, data: &[u8]) -> Result<(), AuthError> {
///         if data == b"welcome" { Ok(()) } else { Err(AuthError::Rejected) }
///     }
/// }
/// ```
pub trait Authenticator {
    /// The Authentication Method, sent in CONNECT and every AUTH, and expected back from the server.
    fn method(&self) -> &str;

    /// The largest Authentication Data this method sends in one packet: the session reserves that much room (in
    /// its store) and hands `out` buffers of this length. Default 256 bytes.
    fn max_data_len(&self) -> usize {
        256
    }

    /// Starts an exchange, for a connection attempt (`reauthenticate` false) or a re-authentication: writes the
    /// initial Authentication Data into `out` and returns its length (0: none is sent).
    ///
    /// # Errors
    ///
    /// [`AuthError::TooLarge`] or [`AuthError::Failed`]: the attempt (or the connection) ends.
    fn start(&mut self, reauthenticate: bool, out: &mut [u8]) -> Result<usize, AuthError>;

    /// Answers the server's challenge (AUTH with Continue authentication and `data`, empty if it had none):
    /// writes the answer into `out` and returns its length (0: none).
    ///
    /// # Errors
    ///
    /// [`AuthError::Rejected`] when the challenge is not what the method expects: the session disconnects with
    /// `0x87` Not authorized.
    fn challenge(&mut self, data: &[u8], out: &mut [u8]) -> Result<usize, AuthError>;

    /// The server declared the exchange a success (CONNACK, or AUTH Success after a re-authentication) with this
    /// final data (empty if none): check it, for methods where the server proves itself too. Default: accept.
    ///
    /// # Errors
    ///
    /// [`AuthError::Rejected`] when the server's proof does not verify: the session disconnects with `0x87`.
    fn finish(&mut self, data: &[u8]) -> Result<(), AuthError> {
        let _ = data;
        Ok(())
    }
}

/// Why an [`Authenticator`] could not go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The server's data does not prove what the method requires (a wrong challenge, a signature that does not
    /// verify). The server is at fault, or is not the server it claims to be.
    #[error("the server's authentication data was not accepted")]
    Rejected,
    /// The data to send does not fit the room of [`Authenticator::max_data_len`].
    #[error("the authentication data does not fit the room reserved for it")]
    TooLarge,
    /// The authenticator cannot go on (no credentials, a step out of order...).
    #[error("the authenticator failed")]
    Failed,
}

impl AuthError {
    /// The reason code of the DISCONNECT the session sends for it: `0x87` Not authorized for
    /// [`Rejected`](Self::Rejected) (as the HiveMQ client does), `0x83` Implementation specific error for
    /// [`TooLarge`](Self::TooLarge), `0x80` Unspecified error for [`Failed`](Self::Failed).
    pub fn reason_code(self) -> ReasonCode {
        match self {
            Self::Rejected => ReasonCode::NOT_AUTHORIZED,
            Self::TooLarge => ReasonCode::IMPLEMENTATION_SPECIFIC_ERROR,
            Self::Failed => ReasonCode::UNSPECIFIED_ERROR,
        }
    }
}

/// Why [`Session::reauthenticate`] cannot start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReauthError {
    /// The session has no [`Authenticator`] (see [`Session::with_authenticator`]).
    #[error("no authenticator is configured")]
    NoAuthenticator,
    /// No connection is established.
    #[error("not connected")]
    NotConnected,
    /// A re-authentication is already running.
    #[error("a re-authentication is already in progress")]
    InProgress,
    /// The authenticator failed to start (the connection is closed with the matching reason code).
    #[error("the authenticator failed: {0}")]
    Authenticator(#[source] AuthError),
}

/// The authenticator a session drives: borrowed (no allocator needed) or, with `alloc`, owned.
pub enum AuthenticatorRef<'b> {
    /// Borrowed for the session's life.
    Borrowed(&'b mut (dyn Authenticator + Send)),
    /// Owned by the session.
    #[cfg(feature = "alloc")]
    Owned(Box<dyn Authenticator + Send + 'static>),
}

impl AuthenticatorRef<'_> {
    fn get(&self) -> &(dyn Authenticator + Send) {
        match self {
            Self::Borrowed(a) => &**a,
            #[cfg(feature = "alloc")]
            Self::Owned(a) => &**a,
        }
    }

    fn get_mut(&mut self) -> &mut (dyn Authenticator + Send) {
        match self {
            Self::Borrowed(a) => &mut **a,
            #[cfg(feature = "alloc")]
            Self::Owned(a) => &mut **a,
        }
    }
}

impl<'b, A: Authenticator + Send> From<&'b mut A> for AuthenticatorRef<'b> {
    fn from(authenticator: &'b mut A) -> Self {
        Self::Borrowed(authenticator)
    }
}

// `'static`: a session owning its authenticator keeps no borrow in it, so that memory borrowed for the session's
// life (a device's `Resources`) can hold a session without a destructor that might still use that memory.
#[cfg(feature = "alloc")]
impl<A: Authenticator + Send + 'static> From<Box<A>> for AuthenticatorRef<'_> {
    fn from(authenticator: Box<A>) -> Self {
        Self::Owned(authenticator)
    }
}

impl core::fmt::Debug for AuthenticatorRef<'_> {
    /// The method only: never data.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Authenticator")
            .field("method", &self.get().method())
            .finish_non_exhaustive()
    }
}

/// Where an exchange is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Phase {
    /// None runs.
    #[default]
    Idle,
    /// The exchange of a connection attempt: until CONNACK.
    Connecting,
    /// A re-authentication: until AUTH Success.
    Reauthenticating,
}

/// The session's side of enhanced authentication.
#[derive(Debug, Default)]
pub(super) struct AuthState<'b> {
    authenticator: Option<AuthenticatorRef<'b>>,
    phase: Phase,
    /// An AUTH to send, with this reason code and the data in the store's scratch room.
    send: Option<ReasonCode>,
    data_len: usize,
}

impl<'b> AuthState<'b> {
    pub(super) fn new(authenticator: Option<AuthenticatorRef<'b>>) -> Self {
        Self {
            authenticator,
            ..Self::default()
        }
    }

    /// The method and the largest data, for the store's layout.
    pub(super) fn room(&self) -> Option<(usize, usize)> {
        let a = self.authenticator.as_ref()?.get();
        Some((a.method().len(), a.max_data_len()))
    }

    pub(super) fn wants_write(&self) -> bool {
        self.send.is_some()
    }
}

impl Session<'_> {
    /// Before CONNECT is written: with an authenticator, the exchange starts and the CONNECT carrying its method
    /// and initial data is built. `false` if the authenticator failed (the attempt is over).
    pub(super) fn prepare_connect(&mut self) -> bool {
        self.auth.send = None;
        self.auth.phase = Phase::Idle;
        let Some(authenticator) = self.auth.authenticator.as_mut() else {
            return true;
        };
        let a = authenticator.get_mut();
        let started = a.start(false, self.store.auth_data_mut());
        let built = started.and_then(|len| {
            match self.store.build_auth_connect(a.method(), len, self.version) {
                true => Ok(()),
                false => Err(AuthError::TooLarge),
            }
        });
        match built {
            Ok(()) => {
                self.auth.phase = Phase::Connecting;
                true
            }
            Err(error) => {
                let now = self.now;
                let error = ProtocolError::AuthenticationFailed(error);
                self.error = Some(error);
                self.transport.close();
                self.fail_attempt(super::Disconnection::Protocol(error), now);
                false
            }
        }
    }

    /// A successful CONNACK: the method must be the one sent, and the authenticator checks the server's final
    /// data. `Err` with the failure, the CONNACK being refused then.
    pub(super) fn connack_auth(&mut self, p: &ConnAckProperties<'_>) -> Result<(), ProtocolError> {
        let phase = core::mem::take(&mut self.auth.phase);
        let Some(authenticator) = self.auth.authenticator.as_mut() else {
            return Ok(());
        };
        let a = authenticator.get_mut();
        if p.authentication_method.is_some_and(|m| m != a.method()) {
            // `[MQTT-4.12.0-5]`
            return Err(ProtocolError::AuthenticationMethodMismatch);
        }
        if phase != Phase::Connecting {
            return Ok(());
        }
        a.finish(p.authentication_data.unwrap_or_default())
            .map_err(ProtocolError::AuthenticationFailed)
    }

    /// An AUTH from the server.
    pub(super) fn incoming_auth(&mut self, auth: &Auth<'_>) -> Step {
        let result = self.answer_auth(auth);
        match result {
            Ok(()) => Step::Continue,
            // Before CONNACK too, the server hears why (DISCONNECT is allowed then, `[MQTT-3.1.2-30]`).
            Err(error) if self.state == SessionState::Connecting => {
                self.reject_connack(error);
                Step::Continue
            }
            Err(error) => Step::Error(error),
        }
    }

    fn answer_auth(&mut self, auth: &Auth<'_>) -> Result<(), ProtocolError> {
        let unexpected = ProtocolError::UnexpectedPacket(PacketType::Auth);
        // Without a method in CONNECT the server must not send AUTH. `[MQTT-4.12.0-6]`
        let Some(authenticator) = self.auth.authenticator.as_mut() else {
            return Err(unexpected);
        };
        let a = authenticator.get_mut();
        if auth.properties.authentication_method != Some(a.method()) {
            // `[MQTT-4.12.0-5]`
            return Err(ProtocolError::AuthenticationMethodMismatch);
        }
        let data = auth.properties.authentication_data.unwrap_or_default();
        match (auth.reason, self.auth.phase) {
            (ReasonCode::CONTINUE_AUTHENTICATION, Phase::Connecting | Phase::Reauthenticating) => {
                let len = a
                    .challenge(data, self.store.auth_data_mut())
                    .map_err(ProtocolError::AuthenticationFailed)?;
                // `[MQTT-4.12.0-3]`
                self.auth.send = Some(ReasonCode::CONTINUE_AUTHENTICATION);
                self.auth.data_len = len;
                Ok(())
            }
            (ReasonCode::SUCCESS, Phase::Reauthenticating) => {
                a.finish(data)
                    .map_err(ProtocolError::AuthenticationFailed)?;
                self.auth.phase = Phase::Idle;
                self.events.push(OwnedEvent::Reauthenticated);
                Ok(())
            }
            // Success before CONNACK (CONNACK ends that exchange), success out of the blue, Re-authenticate from
            // the server (only a client starts one, `[MQTT-4.12.1-1]`).
            _ => Err(unexpected),
        }
    }

    /// Writes the AUTH the exchange owes the server, whole; 0 if there is none or it does not fit `buf`.
    pub(super) fn transmit_auth(&mut self, buf: &mut [u8]) -> usize {
        let (Some(reason), Some(authenticator)) =
            (self.auth.send, self.auth.authenticator.as_ref())
        else {
            return 0;
        };
        let data = self.store.auth_data(self.auth.data_len);
        let packet = Packet::Auth(Auth {
            reason,
            properties: AuthProperties {
                authentication_method: Some(authenticator.get().method()),
                authentication_data: (!data.is_empty()).then_some(data),
                ..AuthProperties::default()
            },
        });
        let n = packet.encode(self.version, buf).unwrap_or(0);
        if n > 0 {
            self.auth.send = None;
        }
        n
    }

    /// Starts a re-authentication on the established connection: an AUTH Re-authenticate with the method and the
    /// authenticator's initial data goes out, and the exchange runs alongside the messages until the server's
    /// AUTH Success ([`Event::Reauthenticated`](super::Event::Reauthenticated)). A failure ends the connection
    /// (see the [module docs](self)); a server that refuses sends DISCONNECT.
    ///
    /// # Errors
    ///
    /// [`ReauthError`] when there is no authenticator, no connection, an exchange running, or the authenticator
    /// cannot start (the connection then closes with the matching reason code).
    ///
    /// # Spec
    ///
    /// `[MQTT-4.12.1-1]`: AUTH with reason code `0x19` and the method of the connection's authentication.
    pub fn reauthenticate(&mut self, now: Instant) -> Result<(), ReauthError> {
        self.now = now;
        let Some(authenticator) = self.auth.authenticator.as_mut() else {
            return Err(ReauthError::NoAuthenticator);
        };
        if self.state != SessionState::Connected {
            return Err(ReauthError::NotConnected);
        }
        if self.auth.phase != Phase::Idle || self.auth.send.is_some() {
            return Err(ReauthError::InProgress);
        }
        match authenticator
            .get_mut()
            .start(true, self.store.auth_data_mut())
        {
            Ok(len) => {
                self.auth.phase = Phase::Reauthenticating;
                self.auth.send = Some(ReasonCode::RE_AUTHENTICATE);
                self.auth.data_len = len;
                Ok(())
            }
            Err(error) => {
                self.protocol_error(ProtocolError::AuthenticationFailed(error));
                Err(ReauthError::Authenticator(error))
            }
        }
    }

    /// Whether a re-authentication started by [`reauthenticate`](Self::reauthenticate) is still running.
    pub fn is_reauthenticating(&self) -> bool {
        self.auth.phase == Phase::Reauthenticating && self.is_connected()
    }

    /// The Authentication Method of the session's authenticator, if it has one.
    pub fn authentication_method(&self) -> Option<&str> {
        self.auth.authenticator.as_ref().map(|a| a.get().method())
    }
}
