//! Short codes. Generated ones are random base62 (not derived from the row id, so codes do
//! not reveal how many links exist or let anyone walk through them); custom ones are chosen
//! by the user within rules.

use rand::Rng;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Paths of the service itself: a custom code may not shadow them.
pub const RESERVED: &[&str] = &[
    "shorten",
    "docs",
    "health",
    "ready",
    "api",
    "openapi.json",
    "metrics",
    "jobs",
    "import",
    "register",
    "login",
    "refresh",
    "logout",
    "static",
    "assets",
    "admin",
    "favicon.ico",
    "robots.txt",
];

/// A code in a link's URL, as found in a request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortCode(String);

impl ShortCode {
    /// `length` random base62 characters: 62^7 ≈ 3.5 × 10¹² codes at the default length.
    pub fn generate(length: usize) -> Self {
        let mut rng = rand::rng();
        Self(
            (0..length)
                .map(|_| char::from(BASE62[rng.random_range(0..BASE62.len())]))
                .collect(),
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl From<CustomCode> for ShortCode {
    fn from(code: CustomCode) -> Self {
        Self(code.0)
    }
}

/// A user-chosen code: 3–64 of `[A-Za-z0-9_-]`, not a reserved word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomCode(String);

impl CustomCode {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if !(3..=64).contains(&raw.len()) {
            return Err("must be 3 to 64 characters");
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err("may contain only letters, digits, '_' and '-'");
        }
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(raw)) {
            return Err("is reserved");
        }
        Ok(Self(raw.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn generated_codes_are_base62_of_the_asked_length() {
        for _ in 0..100 {
            let code = ShortCode::generate(7);
            assert_eq!(code.as_str().len(), 7);
            assert!(code.as_str().bytes().all(|b| b.is_ascii_alphanumeric()));
        }
        assert_ne!(ShortCode::generate(7), ShortCode::generate(7));
    }

    #[test]
    fn custom_code_rules() {
        assert!(CustomCode::parse("my-link_1").is_ok());
        assert!(CustomCode::parse("ab").is_err());
        assert!(CustomCode::parse(&"a".repeat(65)).is_err());
        assert!(CustomCode::parse("has space").is_err());
        assert!(CustomCode::parse("slash/x").is_err());
        assert!(CustomCode::parse("ümlaut").is_err());
        for reserved in ["shorten", "DOCS", "Health", "api"] {
            assert_eq!(
                CustomCode::parse(reserved),
                Err("is reserved"),
                "{reserved}"
            );
        }
    }

    proptest! {
        #[test]
        fn custom_code_parse_never_panics(raw in any::<String>()) {
            let _ = CustomCode::parse(&raw);
        }
    }
}
