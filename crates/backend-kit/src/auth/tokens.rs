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
}
