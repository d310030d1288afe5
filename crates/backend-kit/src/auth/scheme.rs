//! How a token travels in the `Authorization` header: `Bearer <jwt>` for most APIs; a
//! project with another contract (the blog's RealWorld `Token <jwt>`) defines its own.

/// How the `Authorization` header carries the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthScheme {
    /// `Bearer` for most APIs; RealWorld uses `Token`.
    pub prefix: &'static str,
    /// Also accept the bare token as the whole header value.
    pub accept_bare_token: bool,
}

impl AuthScheme {
    pub const BEARER: AuthScheme = AuthScheme {
        prefix: "Bearer",
        accept_bare_token: true,
    };

    /// The token inside a header value, if the value has this scheme's shape.
    pub fn token<'a>(&self, value: &'a str) -> Option<&'a str> {
        let value = value.trim();
        if let Some((scheme, token)) = value.split_once(' ') {
            return scheme
                .eq_ignore_ascii_case(self.prefix)
                .then(|| token.trim());
        }
        self.accept_bare_token.then_some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_accepts_prefixed_and_bare_tokens() {
        let s = AuthScheme::BEARER;
        assert_eq!(s.token("Bearer abc"), Some("abc"));
        assert_eq!(s.token("bearer abc"), Some("abc"));
        assert_eq!(s.token("abc"), Some("abc"));
        assert_eq!(s.token("Token abc"), None);
    }

    #[test]
    fn a_scheme_without_bare_tokens_requires_its_prefix() {
        let s = AuthScheme {
            prefix: "Token",
            accept_bare_token: false,
        };
        assert_eq!(s.token("Token abc"), Some("abc"));
        assert_eq!(s.token("abc"), None);
        assert_eq!(s.token("Bearer abc"), None);
    }
}
