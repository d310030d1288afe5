//! A user's display name.

use crate::validation::{is_bidi_control, is_blank, reject_nul};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

/// `name` as look-alike names compare: its Unicode "skeleton" (UTS #39: `0` reads as `O`,
/// Cyrillic `В` as Latin `B`, `rn` as `m`), then only its letters and digits, lower-cased
/// (after the skeleton: a lower-case Cyrillic `в` reads as a small capital, not as `b`). `B0b`, `bob` and `Bob` share one key, as do `ann.` and `Ann`: a
/// guest in the chat may not take a name that reads as an account's. Stored in
/// `users.name_key` with every name the kit writes.
pub fn name_key(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let normal: String = name.nfkc().collect();
    unicode_security::skeleton(&normal)
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

impl Name {
    /// Surrounding white space is dropped; 1 to 100 characters must remain, and not only
    /// invisible ones.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("is required");
        }
        if is_blank(name) {
            return Err("must contain visible characters");
        }
        if name.chars().count() > 100 {
            return Err("must be at most 100 characters");
        }
        if name.chars().any(is_bidi_control) {
            return Err("must not contain text-direction controls (U+200E, U+202E, …)");
        }
        reject_nul(name)?;
        Ok(Self(name.to_string()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            Name::parse("  Ann  ").map(Name::into_inner),
            Ok("Ann".to_string())
        );
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse("\u{200b}\u{feff}").is_err());
        assert!(Name::parse(&"ß".repeat(100)).is_ok());
        assert!(Name::parse(&"ß".repeat(101)).is_err());
    }

    #[test]
    fn look_alike_names_share_a_key() {
        assert_eq!(name_key("Bob"), "bob");
        for alike in ["B0b", "bob", "BOB", "Bob.", "b.o.b", "Воb"] {
            assert_eq!(name_key(alike), name_key("Bob"), "{alike}");
        }
        assert_eq!(name_key("ann."), name_key("Ann"));
        assert_eq!(name_key("Ann Lee"), "annlee");
        assert_ne!(name_key("Bill"), name_key("Bob"));
    }

    #[test]
    fn direction_controls_are_refused() {
        for name in [
            "Ann\u{202E}nimda",
            "\u{2067}Bob",
            "Eve\u{200F}",
            "x\u{061C}y",
        ] {
            assert_eq!(
                Name::parse(name),
                Err("must not contain text-direction controls (U+200E, U+202E, …)"),
                "{name:?}"
            );
        }
        assert!(
            Name::parse("עברית ו-English").is_ok(),
            "mixed scripts are fine"
        );
    }
}
