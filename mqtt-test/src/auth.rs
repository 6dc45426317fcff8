//! A challenge-response method of enhanced authentication (MQTT 5.0 AUTH) for tests: both sides prove they hold
//! the same key with HMAC-SHA-256 (ring) over fresh nonces, the server first. Not a standard method: a small,
//! complete exchange with every step of section 4.12 (initial data, a challenge, an answer, the server's proof
//! checked by the client, re-authentication), which the [`FakeBroker`](crate::FakeBroker) runs on its side
//! ([`BrokerAuth`](crate::BrokerAuth)).
//!
//! | step | packet | Authentication Data |
//! |---|---|---|
//! | client starts | CONNECT (or AUTH `0x19` to re-authenticate) | the client nonce |
//! | server challenges and proves itself | AUTH `0x18` | `server nonce` `:` hex(HMAC(key, "server" + client nonce + server nonce)) |
//! | client checks the proof and answers | AUTH `0x18` | hex(HMAC(key, "client" + client nonce + server nonce)) |
//! | server accepts | CONNACK Success (or AUTH Success `0x00`) | none |

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use mqtt_core::session::{AuthError, Authenticator};
use ring::hmac;

/// The method's name.
pub const METHOD: &str = "HMAC-SHA256-CHALLENGE";

/// HMAC-SHA-256 of `parts` under `key`, in lower-case hex.
pub fn proof(key: &[u8], parts: &[&[u8]]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut context = hmac::Context::with_key(&key);
    for part in parts {
        context.update(part);
    }
    context
        .sign()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The client's side: an [`Authenticator`] holding the shared key. Clones share their counters.
#[derive(Debug, Clone)]
pub struct HmacAuthenticator {
    key: Vec<u8>,
    nonce: Vec<u8>,
    /// Nonces handed out (by every clone), to make each one fresh.
    counter: Arc<AtomicU32>,
    /// Exchanges the client saw succeed (CONNACK or AUTH Success).
    succeeded: Arc<AtomicU32>,
    /// Challenges answered.
    answered: Arc<AtomicU32>,
}

impl HmacAuthenticator {
    /// The client side with `key`.
    pub fn new(key: impl Into<Vec<u8>>) -> Self {
        Self {
            key: key.into(),
            nonce: Vec::new(),
            counter: Arc::default(),
            succeeded: Arc::default(),
            answered: Arc::default(),
        }
    }

    /// Exchanges that succeeded (connections and re-authentications).
    pub fn succeeded(&self) -> u32 {
        self.succeeded.load(Ordering::Acquire)
    }

    /// Challenges answered.
    pub fn answered(&self) -> u32 {
        self.answered.load(Ordering::Acquire)
    }
}

fn write(out: &mut [u8], data: &[u8]) -> Result<usize, AuthError> {
    out.get_mut(..data.len())
        .ok_or(AuthError::TooLarge)?
        .copy_from_slice(data);
    Ok(data.len())
}

impl Authenticator for HmacAuthenticator {
    fn method(&self) -> &str {
        METHOD
    }

    fn max_data_len(&self) -> usize {
        128
    }

    fn start(&mut self, reauthenticate: bool, out: &mut [u8]) -> Result<usize, AuthError> {
        let n = self.counter.fetch_add(1, Ordering::AcqRel);
        let kind = if reauthenticate { "re" } else { "c" };
        self.nonce = format!("{kind}-nonce-{n}").into_bytes();
        write(out, &self.nonce)
    }

    fn challenge(&mut self, data: &[u8], out: &mut [u8]) -> Result<usize, AuthError> {
        let text = std::str::from_utf8(data).map_err(|_| AuthError::Rejected)?;
        let (server_nonce, server_proof) = text.split_once(':').ok_or(AuthError::Rejected)?;
        let expected = proof(
            &self.key,
            &[b"server", &self.nonce, server_nonce.as_bytes()],
        );
        if expected != server_proof {
            return Err(AuthError::Rejected);
        }
        self.answered.fetch_add(1, Ordering::AcqRel);
        let answer = proof(
            &self.key,
            &[b"client", &self.nonce, server_nonce.as_bytes()],
        );
        write(out, answer.as_bytes())
    }

    fn finish(&mut self, _data: &[u8]) -> Result<(), AuthError> {
        // The server proved itself in its challenge; a success without one (no AUTH at all) is refused.
        if self.answered.load(Ordering::Acquire) <= self.succeeded.load(Ordering::Acquire) {
            return Err(AuthError::Rejected);
        }
        self.succeeded.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }
}
