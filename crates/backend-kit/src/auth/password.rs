//! Passwords: parsed once, hashed with bcrypt on a blocking thread.

use std::sync::{Arc, OnceLock};

use super::AuthError;

pub const MIN_BYTES: usize = 8;
/// bcrypt only reads the first 72 bytes; longer passwords are refused rather than truncated,
/// or two passwords sharing a 72-byte prefix would both unlock the account.
pub const MAX_BYTES: usize = 72;

/// A password that meets the length rules. Its `Debug` hides the value.
pub struct Password(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("must be at least 8 bytes")]
    TooShort,
    #[error("must be at most 72 bytes")]
    TooLong,
}

impl Password {
    pub fn parse(raw: String) -> Result<Self, PasswordError> {
        match raw.len() {
            n if n < MIN_BYTES => Err(PasswordError::TooShort),
            n if n > MAX_BYTES => Err(PasswordError::TooLong),
            _ => Ok(Self(raw)),
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

/// bcrypt at a fixed cost (12 in production, 4 in tests). Cheap to clone.
#[derive(Clone)]
pub struct PasswordHasher {
    cost: u32,
    /// A real hash at the same cost, verified when the e-mail is unknown.
    dummy_hash: Arc<OnceLock<String>>,
}

impl PasswordHasher {
    pub fn new(cost: u32) -> Self {
        Self {
            cost,
            dummy_hash: Arc::new(OnceLock::new()),
        }
    }

    pub fn hash_blocking(&self, password: &Password) -> Result<String, AuthError> {
        bcrypt::hash(password.expose(), self.cost).map_err(|e| AuthError::Hashing(e.to_string()))
    }

    /// Verifies `candidate` against `hash`, or against a dummy hash when there is none, so the
    /// work done is the same either way. Returns false for a missing hash.
    pub fn verify_blocking(&self, candidate: &str, hash: Option<&str>) -> Result<bool, AuthError> {
        if candidate.len() > MAX_BYTES {
            return Err(AuthError::PasswordTooLong);
        }
        match hash {
            Some(hash) => Ok(bcrypt::verify(candidate, hash).unwrap_or(false)),
            None => {
                let dummy = self.dummy_hash.get_or_init(|| {
                    bcrypt::hash("not-a-real-password", self.cost).unwrap_or_default()
                });
                let _ = bcrypt::verify(candidate, dummy);
                Ok(false)
            }
        }
    }

    /// [`Self::hash_blocking`] on a blocking thread.
    pub async fn hash(&self, password: Password) -> Result<String, AuthError> {
        let hasher = self.clone();
        blocking(move || hasher.hash_blocking(&password)).await
    }

    /// [`Self::verify_blocking`] on a blocking thread.
    pub async fn verify(&self, candidate: String, hash: Option<String>) -> Result<bool, AuthError> {
        let hasher = self.clone();
        blocking(move || hasher.verify_blocking(&candidate, hash.as_deref())).await
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AuthError> + Send + 'static,
) -> Result<T, AuthError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AuthError::Hashing(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(raw: &str) -> Password {
        Password::parse(raw.to_string()).expect("valid password")
    }

    #[test]
    fn length_rules_are_in_bytes() {
        assert_eq!(
            Password::parse("short".into()).err(),
            Some(PasswordError::TooShort)
        );
        assert!(Password::parse("a".repeat(72)).is_ok());
        assert_eq!(
            Password::parse("a".repeat(73)).err(),
            Some(PasswordError::TooLong)
        );
        // 24 three-byte characters are 72 bytes; 25 are 75.
        assert!(Password::parse("€".repeat(24)).is_ok());
        assert_eq!(
            Password::parse("€".repeat(25)).err(),
            Some(PasswordError::TooLong)
        );
    }

    #[test]
    fn hash_verifies_the_right_password_only() {
        let hasher = PasswordHasher::new(4);
        let hash = hasher
            .hash_blocking(&password("correct horse"))
            .expect("hashes");
        assert!(hash.starts_with("$2b$04$"), "{hash}");
        assert!(
            hasher
                .verify_blocking("correct horse", Some(&hash))
                .expect("verifies")
        );
        assert!(
            !hasher
                .verify_blocking("correct hors", Some(&hash))
                .expect("verifies")
        );
        assert!(!hasher.verify_blocking("", Some(&hash)).expect("verifies"));
    }

    #[test]
    fn passwords_sharing_72_bytes_are_not_confused() {
        let hasher = PasswordHasher::new(4);
        let hash = hasher
            .hash_blocking(&password(&"a".repeat(72)))
            .expect("hashes");
        let longer = format!("{}b", "a".repeat(72));
        assert!(matches!(
            hasher.verify_blocking(&longer, Some(&hash)),
            Err(AuthError::PasswordTooLong)
        ));
    }

    #[test]
    fn unknown_user_path_runs_bcrypt_and_fails() {
        let hasher = PasswordHasher::new(4);
        assert!(
            !hasher
                .verify_blocking("whatever-password", None)
                .expect("runs")
        );
        let dummy = hasher.dummy_hash.get().expect("dummy hash was computed");
        assert!(
            dummy.starts_with("$2b$04$"),
            "dummy hash uses the same cost: {dummy}"
        );
    }

    #[test]
    fn debug_hides_the_password() {
        assert!(!format!("{:?}", password("hunter2hunter2")).contains("hunter2"));
    }
}
