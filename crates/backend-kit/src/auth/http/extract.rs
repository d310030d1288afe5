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

/// The token's user id, if a token was sent, and the [`Auth`] that checks it further.
fn verify_token(req: &HttpRequest) -> Result<Option<(i64, web::Data<Auth>)>, AuthError> {
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
    Ok(Some((id, auth.clone())))
}

/// The caller, if a token was sent: its signature checked here, its account in the database.
async fn authenticate(
    token: Result<Option<(i64, web::Data<Auth>)>, AuthError>,
) -> Result<Option<AuthUser>, AuthError> {
    let Some((id, auth)) = token? else {
        return Ok(None);
    };
    if !auth.user_exists(id).await? {
        return Err(AuthError::InvalidToken);
    }
    Ok(Some(AuthUser { id }))
}

type Extracted<T> = Pin<Box<dyn Future<Output = Result<T, Error>>>>;

impl FromRequest for AuthUser {
    type Error = Error;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = verify_token(req);
        Box::pin(async move {
            authenticate(token)
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
        let token = verify_token(req);
        Box::pin(async move {
            authenticate(token)
                .await
                .map(MaybeAuthUser)
                .map_err(Error::from)
        })
    }
}
