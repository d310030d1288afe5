//! An e-mail address, parsed once. Deliberately simple: one `@`, a non-empty local part, a
//! dotted domain, no spaces, none of the characters that only quoted or bracketed forms
//! allow (`"<>()[],;:\`: no mail library we send with accepts them unquoted); the only real
//! check of an address is sending it mail.

use crate::validation::{fold_case, is_invisible};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// The form an address is stored and looked up in: trimmed, Unicode NFC (`é` typed as
    /// one code point or as `e` + U+0301 is the same address), lower-cased — so
    /// `Ann@Example.com` and `ann@example.com` are one account.
    pub fn normalize(raw: &str) -> String {
        fold_case(raw.trim())
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let email = Self::normalize(raw);
        if email.chars().any(|c| c.is_control() || is_invisible(c)) {
            return Err("must not contain control or invisible characters");
        }
        if email.is_empty() {
            return Err("is required");
        }
        if email.len() > 254 {
            return Err("must be at most 254 characters");
        }
        let (local, domain) = email.split_once('@').ok_or("must contain @")?;
        let valid = !local.is_empty()
            && local.len() <= 64
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            // What lettre (RFC 5321's dot-atom and host names) refuses to send to: mail to
            // `.x@ex.com`, `x.@ex.com`, `x..y@ex.com` or `x@-ex.com` failed forever, so the
            // account could never be verified or reset.
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && domain
                .split('.')
                .all(|label| label.len() <= 63 && !label.starts_with('-') && !label.ends_with('-'))
            && !email
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "\"<>()[],;:\\".contains(c));
        if valid {
            Ok(Self(email))
        } else {
            Err("is not a valid e-mail address")
        }
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_only_quoted_or_bracketed_forms_allow() {
        for raw in [
            "a<b>@x.example",
            "q\"b@x.example",
            "a@x.example,y.example",
            "a@[127.0.0.1]x.com",
            "a(comment)@x.example",
            "a;b@x.example",
            "a:b@x.example",
            "a\\b@x.example",
        ] {
            assert!(EmailAddress::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn accepts_and_normalises_ordinary_addresses() {
        assert_eq!(
            EmailAddress::parse(" Ann.Lee+todo@Example.COM ")
                .expect("valid")
                .as_ref(),
            "ann.lee+todo@example.com"
        );
    }

    #[test]
    fn refuses_what_cannot_be_an_address() {
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "ann@@example.com",
            "a n@example.com",
            "ann@.example.com",
            "ann@example..com",
            "ann@example.com.",
            ".x@ex.com",
            "x.@ex.com",
            "x..y@ex.com",
            "x@-ex.com",
            "x@ex-.com",
            "x@ex.-com",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
        assert!(EmailAddress::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
        assert!(EmailAddress::parse(&format!("a@{}.com", "b".repeat(64))).is_err());
        assert!(EmailAddress::parse("a.b-c@sub-domain.ex-ample.com").is_ok());
    }

    #[test]
    fn one_address_whatever_its_unicode_spelling() {
        let composed = EmailAddress::parse("x\u{e9}@example.com").expect("NFC");
        let decomposed = EmailAddress::parse("xe\u{301}@example.com").expect("NFD");
        assert_eq!(composed, decomposed);
        assert_eq!(
            EmailAddress::normalize("XE\u{301}@Example.com"),
            composed.as_ref()
        );
        for hidden in [
            "a\u{200b}@example.com",
            "a@exa\u{202e}mple.com",
            "\u{feff}a@example.com",
        ] {
            assert!(EmailAddress::parse(hidden).is_err(), "{hidden:?}");
        }
    }
}
