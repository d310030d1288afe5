//! Request extractors: a handler that takes an [`AuthUser`] argument only runs for requests
//! with a valid access token; one that takes [`MaybeAuthUser`] runs for everyone. A missing
//! or bad token is the kit's `401`, in the project's error format.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};

use crate::auth::{Auth, AuthError};
use crate::http::Error;

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
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            authenticate(req)
                .and_then(|user| user.ok_or(AuthError::InvalidToken))
                .map_err(Error::from),
        )
    }
}

impl FromRequest for MaybeAuthUser {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).map(MaybeAuthUser).map_err(Error::from))
    }
}
