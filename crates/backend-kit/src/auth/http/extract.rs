//! Request extractors: a handler that takes an [`AuthUser`] argument only runs for requests
//! with a valid access token; one that takes [`MaybeAuthUser`] runs for everyone. A missing
//! or bad token is the kit's `401`, in the project's error format.
//!
//! A valid signature is not enough: the account it names must still exist. Without that check
//! a token of a deleted account read as an empty account (`GET /todos` → `200 {"data": []}`)
//! but failed on writes (`401`). One primary-key lookup buys one answer everywhere — after a
//! minute at most, since an account found is trusted that long (`Auth::user_exists`).

use std::future::Future;
use std::pin::Pin;

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

impl Auth {
    /// The caller an `Authorization` value names: `None` without one; an error for a value
    /// in another scheme, a bad or expired token, or the token of an account that is gone.
    /// The extractors below call it, and so can a transport other than actix (the
    /// shortener's gRPC service reads the value from its metadata).
    pub async fn caller(&self, authorization: Option<&str>) -> Result<Option<AuthUser>, AuthError> {
        let Some(value) = authorization else {
            return Ok(None);
        };
        let token = self.scheme().token(value).ok_or(AuthError::InvalidToken)?;
        let id = self.verify_access_token(token)?;
        if !self.user_exists(id).await? {
            return Err(AuthError::InvalidToken);
        }
        Ok(Some(AuthUser { id }))
    }
}

/// The caller of `req`, if a token was sent (the signature and the account checked by
/// [`Auth::caller`]).
fn authenticate(
    req: &HttpRequest,
) -> impl Future<Output = Result<Option<AuthUser>, AuthError>> + use<> {
    let auth = req.app_data::<web::Data<Auth>>().cloned();
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().map(str::to_string));
    async move {
        let Some(value) = value else {
            return Ok(None);
        };
        let value = value.map_err(|_| AuthError::InvalidToken)?;
        let auth = auth.ok_or_else(|| {
            tracing::error!("Auth is missing from app data");
            AuthError::InvalidToken
        })?;
        auth.caller(Some(&value)).await
    }
}

type Extracted<T> = Pin<Box<dyn Future<Output = Result<T, Error>>>>;

impl FromRequest for AuthUser {
    type Error = Error;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = authenticate(req);
        Box::pin(async move {
            caller
                .await
                .and_then(|user| user.ok_or(AuthError::InvalidToken))
                .map_err(Error::from)
        })
    }
}

impl FromRequest for MaybeAuthUser {
    type Error = Error;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = authenticate(req);
        Box::pin(async move { caller.await.map(MaybeAuthUser).map_err(Error::from) })
    }
}
