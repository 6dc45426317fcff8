//! [`Strict`]: the broker's certificate must be verified, and its signature too, for a handshake to count.
//!
//! embedded-tls 0.19 runs the verifier on the Certificate and CertificateVerify messages when the broker sends
//! them, but does not require them: a handshake that goes from EncryptedExtensions straight to Finished completes
//! without any verification (a man in the middle needs no certificate for that), and a CertificateVerify before
//! any Certificate makes its `CertVerifier` panic. This wrapper refuses the second and lets the connector refuse
//! the first.

use embedded_tls::{CertificateRef, CertificateVerifyRef, TlsCipherSuite, TlsError, TlsVerifier};

/// A verifier that records what it verified.
pub(crate) struct Strict<V> {
    inner: V,
    certificate: bool,
    signature: bool,
}

impl<V> Strict<V> {
    pub(crate) fn new(inner: V) -> Self {
        Self {
            inner,
            certificate: false,
            signature: false,
        }
    }

    /// Whether the broker's certificate chain and its signature of the handshake were both verified.
    pub(crate) fn is_complete(&self) -> bool {
        self.certificate && self.signature
    }
}

impl<CS: TlsCipherSuite, V: TlsVerifier<CS>> TlsVerifier<CS> for Strict<V> {
    fn set_hostname_verification(&mut self, hostname: &str) -> Result<(), TlsError> {
        self.inner.set_hostname_verification(hostname)
    }

    fn verify_certificate(
        &mut self,
        transcript: &CS::Hash,
        cert: CertificateRef<'_>,
    ) -> Result<(), TlsError> {
        // A second certificate would need a signature of its own.
        self.signature = false;
        self.certificate = false;
        self.inner.verify_certificate(transcript, cert)?;
        self.certificate = true;
        Ok(())
    }

    fn verify_signature(&mut self, verify: CertificateVerifyRef<'_>) -> Result<(), TlsError> {
        if !self.certificate || self.signature {
            return Err(TlsError::InvalidHandshake);
        }
        self.inner.verify_signature(verify)?;
        self.signature = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use embedded_tls::{Aes128GcmSha256, Sha256, SignatureScheme};

    use super::*;

    /// Accepts everything, and counts the calls that reach it.
    #[derive(Default)]
    struct Lenient {
        calls: usize,
    }

    impl TlsVerifier<Aes128GcmSha256> for Lenient {
        fn set_hostname_verification(&mut self, _: &str) -> Result<(), TlsError> {
            Ok(())
        }

        fn verify_certificate(
            &mut self,
            _: &Sha256,
            _: CertificateRef<'_>,
        ) -> Result<(), TlsError> {
            self.calls += 1;
            Ok(())
        }

        fn verify_signature(&mut self, _: CertificateVerifyRef<'_>) -> Result<(), TlsError> {
            self.calls += 1;
            Ok(())
        }
    }

    fn signature() -> CertificateVerifyRef<'static> {
        CertificateVerifyRef {
            signature_scheme: SignatureScheme::EcdsaSecp256r1Sha256,
            signature: &[],
        }
    }

    fn certify(verifier: &mut Strict<Lenient>) -> Result<(), TlsError> {
        TlsVerifier::<Aes128GcmSha256>::verify_certificate(
            verifier,
            &Sha256::default(),
            CertificateRef::with_context(&[]),
        )
    }

    fn sign(verifier: &mut Strict<Lenient>) -> Result<(), TlsError> {
        TlsVerifier::<Aes128GcmSha256>::verify_signature(verifier, signature())
    }

    #[test]
    fn a_handshake_without_certificate_or_signature_is_not_complete() {
        let verifier = Strict::new(Lenient::default());
        assert!(!verifier.is_complete());
        let mut verifier = Strict::new(Lenient::default());
        certify(&mut verifier).unwrap();
        assert!(!verifier.is_complete());
    }

    #[test]
    fn a_signature_before_any_certificate_is_refused_without_reaching_the_verifier() {
        let mut verifier = Strict::new(Lenient::default());
        assert!(matches!(
            sign(&mut verifier),
            Err(TlsError::InvalidHandshake)
        ));
        assert_eq!(verifier.inner.calls, 0);
        assert!(!verifier.is_complete());
    }

    #[test]
    fn a_certificate_then_its_signature_complete_the_verification() {
        let mut verifier = Strict::new(Lenient::default());
        certify(&mut verifier).unwrap();
        sign(&mut verifier).unwrap();
        assert!(verifier.is_complete());
        // A second certificate needs its own signature.
        certify(&mut verifier).unwrap();
        assert!(!verifier.is_complete());
    }
}
