//! JWT access tokens: HS256 only, claims `sub` (the user id), `iat` and `exp`.
//! Pinning the algorithm is what stops `alg: none` and algorithm-confusion attacks.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::AuthError;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl TokenKeys {
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        hs256::install();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        // One service issues and checks its own tokens: little clock skew to forgive.
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }
    }

    pub fn issue(&self, user_id: i64) -> Result<String, AuthError> {
        let now = chrono::Utc::now().timestamp();
        self.encode(&Claims {
            sub: user_id.to_string(),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
        })
    }

    pub fn encode(&self, claims: &Claims) -> Result<String, AuthError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| AuthError::Hashing(e.to_string()))
    }

    /// The user id inside a valid, unexpired token signed with our key.
    pub fn verify(&self, token: &str) -> Result<i64, AuthError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| AuthError::InvalidToken)?;
        data.claims.sub.parse().map_err(|_| AuthError::InvalidToken)
    }
}

/// HS256 for jsonwebtoken, on the `hmac` and `sha2` crates the kit has anyway. Its own
/// `rust_crypto` backend would compile RSA, ECDSA and EdDSA too — for algorithms this service
/// never accepts, and with `rsa`'s unfixed timing advisory (RUSTSEC-2023-0071) in the build.
mod hs256 {
    use hmac::{Hmac, KeyInit, Mac};
    use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
    use jsonwebtoken::errors::{ErrorKind, Result};
    use jsonwebtoken::signature::{Error, Signer, Verifier};
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
    use sha2::Sha256;

    struct Hs256(Hmac<Sha256>);

    impl Signer<Vec<u8>> for Hs256 {
        fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, Error> {
            let mut mac = self.0.clone();
            mac.update(message);
            Ok(mac.finalize().into_bytes().to_vec())
        }
    }

    impl Verifier<Vec<u8>> for Hs256 {
        fn verify(&self, message: &[u8], signature: &Vec<u8>) -> std::result::Result<(), Error> {
            let mut mac = self.0.clone();
            mac.update(message);
            // In constant time: how much of a forged signature matched must not show.
            mac.verify_slice(signature).map_err(Error::from_source)
        }
    }

    impl JwtSigner for Hs256 {
        fn algorithm(&self) -> Algorithm {
            Algorithm::HS256
        }
    }

    impl JwtVerifier for Hs256 {
        fn algorithm(&self) -> Algorithm {
            Algorithm::HS256
        }
    }

    fn hs256(algorithm: &Algorithm, secret: &[u8]) -> Result<Hs256> {
        if *algorithm != Algorithm::HS256 {
            return Err(ErrorKind::InvalidAlgorithm.into());
        }
        Hmac::new_from_slice(secret)
            .map(Hs256)
            .map_err(|_| ErrorKind::InvalidKeyFormat.into())
    }

    fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
        Ok(Box::new(hs256(algorithm, key.as_bytes())?))
    }

    fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
        Ok(Box::new(hs256(algorithm, key.try_get_as_bytes()?)?))
    }

    static PROVIDER: CryptoProvider = CryptoProvider {
        signer_factory: signer,
        verifier_factory: verifier,
        key_utils: KeyUtils::new_unimplemented(),
    };

    /// Makes it jsonwebtoken's provider for this process, before its first token; later calls
    /// (every `TokenKeys`, many test servers in one process) find it there already.
    pub fn install() {
        let _ = PROVIDER.install_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    const SECRET: &[u8] = b"a-test-secret-of-at-least-32-bytes!!";

    fn keys() -> TokenKeys {
        TokenKeys::new(SECRET, Duration::from_secs(900))
    }

    #[test]
    fn a_fresh_token_verifies_to_its_user() {
        let keys = keys();
        let token = keys.issue(42).expect("issues");
        assert_eq!(keys.verify(&token).expect("valid"), 42);
    }

    #[test]
    fn an_expired_token_is_refused() {
        let keys = keys();
        let now = chrono::Utc::now().timestamp();
        let token = keys
            .encode(&Claims {
                sub: "42".into(),
                iat: now - 1000,
                exp: now - 60,
            })
            .expect("encodes");
        assert!(matches!(keys.verify(&token), Err(AuthError::InvalidToken)));
    }

    #[test]
    fn a_tampered_token_is_refused() {
        let keys = keys();
        let token = keys.issue(42).expect("issues");
        let mut parts: Vec<String> = token.split('.').map(String::from).collect();
        let now = chrono::Utc::now().timestamp();
        let forged = format!(r#"{{"sub":"1","iat":{now},"exp":{}}}"#, now + 900);
        parts[1] = URL_SAFE_NO_PAD.encode(forged);
        assert!(matches!(
            keys.verify(&parts.join(".")),
            Err(AuthError::InvalidToken)
        ));
    }

    #[test]
    fn alg_none_is_refused() {
        let keys = keys();
        let now = chrono::Utc::now().timestamp();
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let claims =
            URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"42","iat":{now},"exp":{}}}"#, now + 900));
        for token in [format!("{header}.{claims}."), format!("{header}.{claims}")] {
            assert!(
                matches!(keys.verify(&token), Err(AuthError::InvalidToken)),
                "{token}"
            );
        }
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let other = TokenKeys::new(
            b"another-secret-that-is-32-bytes-long",
            Duration::from_secs(900),
        );
        let token = other.issue(42).expect("issues");
        assert!(matches!(
            keys().verify(&token),
            Err(AuthError::InvalidToken)
        ));
    }

    #[test]
    fn garbage_is_refused() {
        for token in ["", "abc", "a.b.c", "Bearer x"] {
            assert!(matches!(keys().verify(token), Err(AuthError::InvalidToken)));
        }
    }

    /// The signature is standard HS256: a token signed elsewhere verifies. This one was signed
    /// with `openssl dgst -sha256 -hmac your-256-bit-secret` (exp in 2100).
    #[test]
    fn a_token_signed_by_another_implementation_verifies() {
        let keys = TokenKeys::new(b"your-256-bit-secret", Duration::from_secs(900));
        let token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.\
            eyJzdWIiOiI0MiIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwfQ.\
            3gux4KjvPVUV_ZvCF-hPnyqUlpL-Dvv5fVOwnRMVeSM";
        assert_eq!(keys.verify(token).expect("valid"), 42);
        let issued = keys.issue(42).expect("issues");
        assert_eq!(
            issued.split('.').next(),
            token.split('.').next(),
            "same header"
        );
    }

    #[test]
    fn another_hmac_algorithm_is_refused() {
        let keys = keys();
        let header = URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"HS512"}"#);
        let claims = URL_SAFE_NO_PAD.encode(r#"{"sub":"42","iat":1700000000,"exp":4102444800}"#);
        let message = format!("{header}.{claims}");
        let signature = URL_SAFE_NO_PAD.encode(hmac_sha256(SECRET, &message));
        assert!(matches!(
            keys.verify(&format!("{message}.{signature}")),
            Err(AuthError::InvalidToken)
        ));
    }

    fn hmac_sha256(key: &[u8], message: &str) -> Vec<u8> {
        use hmac::{KeyInit, Mac};
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        mac.update(message.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}
