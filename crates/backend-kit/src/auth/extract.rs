//! Request extractors: a handler that takes an [`AuthUser`] argument only runs for requests
//! with a valid access token; one that takes [`MaybeAuthUser`] runs for everyone.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};

use super::{Auth, AuthError};

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
    pub const TOKEN: AuthScheme = AuthScheme {
        prefix: "Token",
        accept_bare_token: false,
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

/// The authenticated caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthUser {
    pub id: i64,
}

/// The caller if a token was sent; a token that is sent but invalid is still a 401.
#[derive(Debug, Clone, Copy)]
pub struct MaybeAuthUser(pub Option<AuthUser>);

fn authenticate(req: &HttpRequest) -> Result<Option<AuthUser>, AuthError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let auth = req.app_data::<web::Data<Auth>>().ok_or_else(|| {
        tracing::error!("Auth is missing from app data");
        AuthError::InvalidToken
    })?;
    let value = value.to_str().map_err(|_| AuthError::InvalidToken)?;
    let token = auth.scheme().token(value).ok_or(AuthError::InvalidToken)?;
    let id = auth.verify_access_token(token)?;
    Ok(Some(AuthUser { id }))
}

impl FromRequest for AuthUser {
    type Error = AuthError;
    type Future = Ready<Result<Self, AuthError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).and_then(|user| user.ok_or(AuthError::InvalidToken)))
    }
}

impl FromRequest for MaybeAuthUser {
    type Error = AuthError;
    type Future = Ready<Result<Self, AuthError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).map(MaybeAuthUser))
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
    fn token_scheme_requires_its_prefix() {
        let s = AuthScheme::TOKEN;
        assert_eq!(s.token("Token abc"), Some("abc"));
        assert_eq!(s.token("abc"), None);
        assert_eq!(s.token("Bearer abc"), None);
    }
}
