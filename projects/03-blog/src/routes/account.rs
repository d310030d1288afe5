//! The account flows that go through mail: e-mail verification, password reset, and the
//! digest's unsubscribe link. Each handler only writes rows (the change, the token, the
//! outbox row) and answers; mail is sent by jobs (see `crate::mail` and `crate::jobs`).

use actix_web::{HttpRequest, HttpResponse, web};
use backend_kit::auth::{Auth, AuthError, AuthUser, EmailAddress, Password, find_user_verified};
use backend_kit::db::{Database, is_foreign_key_violation, write_transaction};
use backend_kit::http::{FieldErrors, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::MailLimits;
use super::users::{
    AccountResponse, UserEnvelope, UserResponse, profile_of, respond_without_token, with_session,
};
use crate::db::notifications;
use crate::error::ApiError;
use crate::jobs::RequestPasswordReset;
use crate::mail::Mail;
use crate::openapi::{BodyErrors, Errors};

/// Tokens are 43 characters; anything much longer is not one, and is not looked up.
const TOKEN_MAX: usize = 200;

#[derive(Debug, Deserialize, IntoParams)]
pub struct TokenQuery {
    /// The token from the mail's link.
    #[param(required = true)]
    pub token: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetRequest {
    #[schema(value_type = String, required = true, example = "jake@jake.jake")]
    pub email: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetConfirm {
    /// The token from the reset mail.
    #[schema(value_type = String, required = true)]
    pub token: Option<String>,
    /// The new password, 8 to 72 bytes.
    #[schema(value_type = String, required = true, format = Password)]
    pub password: Option<String>,
}

/// A `202`'s body: the request is taken; the rest happens in the background.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Unsubscribed {
    pub unsubscribed: bool,
}

fn token(raw: Option<String>) -> Result<String, ApiError> {
    let token = raw
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::invalid("token", "is required"))?;
    if token.len() > TOKEN_MAX {
        return Err(invalid_token());
    }
    Ok(token)
}

fn invalid_token() -> ApiError {
    ApiError::invalid("token", "is invalid or has expired")
}

/// The kit says "invalid token" with a `401` (a bad access token); a mailed link that does
/// not work is bad input instead.
fn link_error(e: AuthError) -> ApiError {
    match e {
        AuthError::InvalidToken => invalid_token(),
        other => other.into(),
    }
}

/// Links in mails change something on `GET`, because that is what a click sends. The kit
/// answers `HEAD` with the `GET` route (minus the body); here that would spend a token on a
/// link scanner's look, so `HEAD` is refused instead.
fn refuse_head(req: &HttpRequest) -> Result<(), ApiError> {
    match backend_kit::http::is_head(req) {
        true => Err(ApiError::MethodNotAllowed),
        false => Ok(()),
    }
}

#[utoipa::path(
    get, path = "/api/users/verify", tag = "users",
    params(TokenQuery),
    responses(
        (status = 200, description = "The address is verified: the user, `emailVerified: true` (no token: a link is not a login)", body = AccountResponse),
        (status = 422, description = "Missing, unknown, used or expired token", body = Errors),
    )
)]
pub async fn verify(
    req: HttpRequest,
    auth: web::Data<Auth>,
    db: web::Data<Database>,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, ApiError> {
    refuse_head(&req)?;
    let token = token(query.into_inner().token)?;
    let user = auth.verify_email(&token).await.map_err(link_error)?;
    let profile = profile_of(&db, user.id).await?;
    Ok(HttpResponse::Ok().json(respond_without_token(user, profile)))
}

#[utoipa::path(
    post, path = "/api/users/verify/resend", tag = "users",
    security(("Token" = [])),
    responses(
        (status = 202, description = "Another verification mail is queued", body = Accepted),
        (status = 401, description = "No valid token", body = Errors),
        (status = 422, description = "The address is verified already", body = Errors),
        (status = 429, description = "Asked too often: see Retry-After", body = Errors),
    )
)]
pub async fn resend_verification(
    caller: AuthUser,
    mail: web::Data<Mail>,
    limits: web::Data<MailLimits>,
) -> Result<HttpResponse, ApiError> {
    let id = caller.id;
    let found = mail
        .db
        .run(move |conn| find_user_verified(conn, id).map_err(ApiError::from))
        .await?;
    // A valid token of an account deleted since: as good as no token.
    let (user, verified) = found.ok_or(ApiError::Unauthorized)?;
    if verified {
        return Err(ApiError::invalid("email", "is already verified"));
    }
    limits
        .verification_mail(user.id, &user.email)
        .await
        .into_result()?;
    let composer = mail.get_ref().clone();
    let (id, to) = mail
        .db
        .run(move |conn| {
            // Read again in the transaction that queues the mail: the address may have
            // changed (or been verified) since, and the link goes to the address it is for.
            write_transaction(conn, |conn| {
                let (user, verified) =
                    find_user_verified(conn, id)?.ok_or(ApiError::Unauthorized)?;
                if verified {
                    return Err(ApiError::invalid("email", "is already verified"));
                }
                let queued = composer.write_verification(conn, &user)?;
                Ok((queued, user.email))
            })
        })
        .await?;
    mail.outbox.queue_send(id).await;
    Ok(HttpResponse::Accepted().json(Accepted {
        message: format!("A verification e-mail is on its way to {to}."),
    }))
}

#[utoipa::path(
    post, path = "/api/users/password-reset", tag = "users",
    request_body = inline(UserEnvelope<ResetRequest>),
    responses(
        (status = 202, description = "The same answer whether or not the address has an account", body = Accepted),
        (status = 422, description = "Missing or malformed e-mail", body = Errors),
        (status = 429, description = "Too many requests for this address or from this client: see Retry-After", body = Errors),
        BodyErrors,
    )
)]
pub async fn request_password_reset(
    mail: web::Data<Mail>,
    limits: web::Data<MailLimits>,
    body: Json<UserEnvelope<ResetRequest>>,
) -> Result<HttpResponse, ApiError> {
    let raw = body
        .into_inner()
        .user
        .email
        .ok_or_else(|| ApiError::invalid("email", "is required"))?;
    let email = EmailAddress::parse(&raw).map_err(|e| ApiError::invalid("email", e))?;
    // Counted per address whether or not it has an account, so the limit tells nothing.
    limits
        .reset_per_address
        .check(email.as_ref())
        .await
        .into_result()?;
    // Only a push, the same for every address: whether an account exists is found out in
    // the job, after the answer.
    let job = RequestPasswordReset {
        email: email.as_ref().to_string(),
        request_id: backend_kit::auth::opaque::new_token(),
    };
    mail.queue
        .push(&job)
        .await
        .map_err(|e| ApiError::Unavailable(format!("the job queue is unavailable: {e}")))?;
    Ok(HttpResponse::Accepted().json(Accepted {
        message: "If an account uses this address, a password reset e-mail is on its way.".into(),
    }))
}

#[utoipa::path(
    post, path = "/api/users/password-reset/confirm", tag = "users",
    request_body = inline(UserEnvelope<ResetConfirm>),
    responses(
        (status = 200, description = "The new password is set; every other session is over. The user with a fresh session", body = UserResponse),
        (status = 422, description = "Missing fields, a password too short or long, or a token unknown, used or expired", body = Errors),
        (status = 429, description = "Too many attempts from this client: see Retry-After", body = Errors),
        BodyErrors,
    )
)]
pub async fn confirm_password_reset(
    auth: web::Data<Auth>,
    db: web::Data<Database>,
    body: Json<UserEnvelope<ResetConfirm>>,
) -> Result<HttpResponse, ApiError> {
    let confirm = body.into_inner().user;
    let mut errors = FieldErrors::default();
    let token = errors
        .required("token", confirm.token)
        .filter(|t| !t.is_empty() && t.len() <= TOKEN_MAX);
    let password = errors
        .required("password", confirm.password)
        .and_then(|p| errors.check("password", Password::parse(p)));
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let (Some(token), Some(password)) = (token, password) else {
        return Err(invalid_token());
    };
    let session = auth
        .reset_password(&token, password)
        .await
        .map_err(link_error)?;
    Ok(HttpResponse::Ok().json(with_session(&db, session).await?))
}

#[utoipa::path(
    get, path = "/api/users/unsubscribe", tag = "users",
    params(TokenQuery),
    responses(
        (status = 200, description = "No more comment digests for this user (also with POST, for one-click unsubscribe, RFC 8058)", body = Unsubscribed),
        (status = 422, description = "Missing or forged token", body = Errors),
    )
)]
pub async fn unsubscribe(
    req: HttpRequest,
    mail: web::Data<Mail>,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, ApiError> {
    refuse_head(&req)?;
    let token = token(query.into_inner().token)?;
    let user = mail.unsubscriber(&token).ok_or_else(invalid_token)?;
    mail.db
        .run(move |conn| match notifications::unsubscribe(conn, user) {
            // The account is gone: there is nothing left to mail.
            Err(e) if is_foreign_key_violation(&e) => Ok(()),
            other => other.map_err(ApiError::from),
        })
        .await?;
    Ok(HttpResponse::Ok().json(Unsubscribed { unsubscribed: true }))
}
