//! What a user shows the others: a handle, a bio, an image.

use super::text;

pub const USERNAME_MAX: usize = 40;
pub const BIO_MAX: usize = 1_000;
pub const IMAGE_URL_MAX: usize = 2_048;

/// A public handle: 1–40 of `A–Z a–z 0–9 _ -`. It sits in URLs (`/api/profiles/{username}`,
/// `?author=`), so nothing needs escaping, and no invisible or look-alike character can make
/// two handles that read the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = text(raw, USERNAME_MAX)?;
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err("may only contain letters, digits, '_' and '-'".into());
        }
        Ok(Self(name))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Free text, possibly empty (clearing a bio is allowed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bio(String);

impl Bio {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bio = raw.trim();
        if bio.chars().count() > BIO_MAX {
            return Err(format!("is too long (maximum is {BIO_MAX} characters)"));
        }
        Ok(Self(bio.to_string()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// An avatar URL: `http` or `https` only (a `javascript:` URL in an `<img src>` of some front
/// end is an attack), or empty to clear it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUrl(String);

impl ImageUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(Self(String::new()));
        }
        if raw.len() > IMAGE_URL_MAX {
            return Err(format!(
                "is too long (maximum is {IMAGE_URL_MAX} characters)"
            ));
        }
        match url::Url::parse(raw) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                Ok(Self(url.to_string()))
            }
            _ => Err("must be an http or https URL".into()),
        }
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_url_safe_handles() {
        assert!(Username::parse("celeb_u123-x").is_ok());
        assert_eq!(Username::parse("  ann ").unwrap().into_inner(), "ann");
        for bad in [
            "",
            "   ",
            "a b",
            "ann/..",
            "ann?x",
            "аnn",
            "a\u{200b}b",
            &"a".repeat(41),
        ] {
            assert!(Username::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn images_are_http_urls_or_empty() {
        assert!(ImageUrl::parse("https://example.com/a.png").is_ok());
        assert_eq!(ImageUrl::parse("").unwrap().into_inner(), "");
        for bad in [
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "ftp://x/y",
            "/a.png",
            "https://",
        ] {
            assert!(ImageUrl::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn bios_may_be_empty_but_are_bounded() {
        assert!(Bio::parse("").is_ok());
        assert!(Bio::parse(&"x".repeat(BIO_MAX)).is_ok());
        assert!(Bio::parse(&"x".repeat(BIO_MAX + 1)).is_err());
    }
}
