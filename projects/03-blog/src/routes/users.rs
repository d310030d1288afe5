//! `/api/users` (register), `/api/users/login`, `/api/user` (read and change the caller), and
//! the refresh-token extension (`/api/users/refresh`, `/api/users/logout`) that RealWorld
//! front ends ignore. Accounts are the kit's: bcrypt, the same JWT, the same refresh tokens.

use actix_web::{HttpRequest, HttpResponse, web};
use backend_kit::auth::{
    AccountChanges, Auth, AuthError, AuthUser, EmailAddress, Password, TokenPair, User,
    insert_user, set_username,
};
use backend_kit::db::{Database, write_transaction};
use backend_kit::http::{FieldErrors, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::profiles;
use crate::domain::{Bio, ImageUrl, Username};
use crate::error::ApiError;
use crate::mail::Mail;
use crate::openapi::{BodyErrors, Errors};

#[derive(Debug, Deserialize, ToSchema)]
pub struct UserEnvelope<T> {
    pub user: T,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewUser {
    /// 1–40 of `A–Z a–z 0–9 _ -`.
    #[schema(value_type = String, required = true, max_length = 40, example = "jake")]
    pub username: Option<String>,
    #[schema(value_type = String, required = true, example = "jake@jake.jake")]
    pub email: Option<String>,
    /// 8 to 72 bytes.
    #[schema(value_type = String, required = true, format = Password, example = "jakejake")]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginUser {
    #[schema(value_type = String, required = true, example = "jake@jake.jake")]
    pub email: Option<String>,
    #[schema(value_type = String, required = true, format = Password, example = "jakejake")]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateUser {
    pub email: Option<String>,
    #[schema(max_length = 40)]
    pub username: Option<String>,
    #[schema(format = Password)]
    pub password: Option<String>,
    /// Up to 1 000 characters; "" clears it.
    #[schema(max_length = 1000)]
    pub bio: Option<String>,
    /// An http(s) URL of up to 2 048 characters; "" clears it.
    #[schema(max_length = 2048)]
    pub image: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshRequest {
    #[schema(value_type = String, required = true)]
    pub refresh_token: Option<String>,
}

/// `{"user": …}` in every answer about the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    pub user: UserBody,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserBody {
    pub email: String,
    /// The access token (a JWT, 15 minutes): `Authorization: Token <token>`.
    pub token: String,
    pub username: String,
    pub bio: String,
    pub image: String,
    /// Extension: exchange it at `/api/users/refresh` for a new pair. Only in answers that
    /// start or renew a session.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub refresh_token: Option<String>,
    /// Extension: whether the address was proved by the link mailed to it.
    pub email_verified: bool,
}

/// `{"user": …}` without a token: the answer to a followed verification link (a link in a
/// mail is not a login).
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountResponse {
    pub user: AccountBody,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountBody {
    pub email: String,
    pub username: String,
    pub bio: String,
    pub image: String,
    pub email_verified: bool,
}

fn respond(
    user: User,
    own: Option<profiles::OwnProfile>,
    token: String,
    refresh: Option<String>,
) -> UserResponse {
    let (username, bio, image, email_verified) = own
        .map(|own| {
            (
                own.profile.username,
                own.profile.bio.unwrap_or_default(),
                own.profile.image.unwrap_or_default(),
                own.email_verified,
            )
        })
        .unwrap_or_default();
    UserResponse {
        user: UserBody {
            email_verified,
            email: user.email,
            token,
            username: username.unwrap_or(user.name),
            bio,
            image,
            refresh_token: refresh,
        },
    }
}

pub(super) fn respond_without_token(
    user: User,
    profile: Option<profiles::OwnProfile>,
) -> AccountResponse {
    let body = respond(user, profile, String::new(), None).user;
    AccountResponse {
        user: AccountBody {
            email: body.email,
            username: body.username,
            bio: body.bio,
            image: body.image,
            email_verified: body.email_verified,
        },
    }
}

/// The user's own profile — giving an account made by another capstone its username first
/// (see [`profiles::ensure_username`]).
pub(super) async fn profile_of(
    db: &Database,
    id: i64,
) -> Result<Option<profiles::OwnProfile>, ApiError> {
    db.run(move |conn| {
        profiles::ensure_username(conn, id)?;
        profiles::own(conn, id).map_err(ApiError::from)
    })
    .await
}

pub(super) async fn with_session(
    db: &Database,
    (user, pair): (User, TokenPair),
) -> Result<UserResponse, ApiError> {
    let profile = profile_of(db, user.id).await?;
    Ok(respond(
        user,
        profile,
        pair.access_token,
        Some(pair.refresh_token),
    ))
}

#[utoipa::path(
    post, path = "/api/users", tag = "users",
    request_body = inline(UserEnvelope<NewUser>),
    responses(
        (status = 201, description = "Registered and logged in; a verification mail is queued", body = UserResponse),
        (status = 422, description = "Invalid input, or username or e-mail taken", body = Errors),
        (status = 429, description = "Too many attempts from this client: see Retry-After", body = Errors),
        BodyErrors,
    )
)]
pub async fn register(
    auth: web::Data<Auth>,
    db: web::Data<Database>,
    mail: web::Data<Mail>,
    body: Json<UserEnvelope<NewUser>>,
) -> Result<HttpResponse, ApiError> {
    let user = register_user(&auth, &db, &mail, body.into_inner().user).await?;
    Ok(HttpResponse::Created().json(user))
}

/// Makes an account (and its verification mail) and logs it in.
pub(crate) async fn register_user(
    auth: &Auth,
    db: &Database,
    mail: &Mail,
    new: NewUser,
) -> Result<UserResponse, ApiError> {
    let mut errors = FieldErrors::default();
    let username = errors
        .required("username", new.username)
        .and_then(|u| errors.check("username", Username::parse(&u)));
    let email = errors
        .required("email", new.email)
        .and_then(|e| errors.check("email", EmailAddress::parse(&e)));
    let password = errors
        .required("password", new.password)
        .and_then(|p| errors.check("password", Password::parse(p)));
    let (Some(username), Some(email), Some(password)) = (username, email, password) else {
        return Err(ApiError::validation(errors));
    };
    let password_hash = auth.hasher().hash(password).await?;
    // The account and its verification mail are written together (the kit's outbox): an
    // account never exists without its mail on the way. The handle is also the display name.
    let composer = mail.clone();
    let (user, queued) = db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let username = username.into_inner();
                let user = insert_user(conn, &username, &email, &password_hash)?;
                set_username(conn, user.id, &username)?;
                let queued = composer.write_verification(conn, &user)?;
                Ok::<_, AuthError>((user, queued))
            })
        })
        .await?;
    mail.outbox.queue_send(queued).await;
    let pair = auth.start_session(user.id).await?;
    with_session(db, (user, pair)).await
}

#[utoipa::path(
    post, path = "/api/users/login", tag = "users",
    request_body = inline(UserEnvelope<LoginUser>),
    responses(
        (status = 200, description = "Logged in", body = UserResponse),
        (status = 401, description = "Wrong e-mail or password", body = Errors),
        (status = 422, description = "Missing fields", body = Errors),
        (status = 429, description = "Too many attempts from this client: see Retry-After", body = Errors),
        BodyErrors,
    )
)]
pub async fn login(
    auth: web::Data<Auth>,
    db: web::Data<Database>,
    body: Json<UserEnvelope<LoginUser>>,
) -> Result<HttpResponse, ApiError> {
    let user = log_in(&auth, &db, body.into_inner().user).await?;
    Ok(HttpResponse::Ok().json(user))
}

/// Checks an e-mail and password and starts a session.
pub(crate) async fn log_in(
    auth: &Auth,
    db: &Database,
    login: LoginUser,
) -> Result<UserResponse, ApiError> {
    let mut errors = FieldErrors::default();
    let email = errors.required("email", login.email);
    let password = errors.required("password", login.password);
    let (Some(email), Some(password)) = (email, password) else {
        return Err(ApiError::validation(errors));
    };
    let session = auth.login(&email, &password).await?;
    with_session(db, session).await
}

#[utoipa::path(
    get, path = "/api/user", tag = "users",
    security(("Token" = [])),
    responses(
        (status = 200, description = "The caller", body = UserResponse),
        (status = 401, description = "No valid token", body = Errors),
    )
)]
pub async fn current(
    req: HttpRequest,
    caller: AuthUser,
    auth: web::Data<Auth>,
    db: web::Data<Database>,
) -> Result<HttpResponse, ApiError> {
    let token = super::presented_token(&req, &auth);
    Ok(HttpResponse::Ok().json(current_user(&auth, &db, caller.id, token).await?))
}

/// The caller's account; `token` is the access token they came with (handed back).
pub(crate) async fn current_user(
    auth: &Auth,
    db: &Database,
    id: i64,
    token: String,
) -> Result<UserResponse, ApiError> {
    // A valid token of an account deleted since: as good as no token.
    let user = auth.find_user(id).await?.ok_or(ApiError::Unauthorized)?;
    let profile = profile_of(db, id).await?;
    Ok(respond(user, profile, token, None))
}

#[utoipa::path(
    put, path = "/api/user", tag = "users",
    security(("Token" = [])),
    request_body = inline(UserEnvelope<UpdateUser>),
    responses(
        (status = 200, description = "The caller, changed (a new e-mail is unverified, and a verification mail is queued for it)", body = UserResponse),
        (status = 401, description = "No valid token", body = Errors),
        (status = 422, description = "Invalid input, or username or e-mail taken", body = Errors),
        BodyErrors,
    )
)]
pub async fn update(
    req: HttpRequest,
    caller: AuthUser,
    auth: web::Data<Auth>,
    db: web::Data<Database>,
    mail: web::Data<Mail>,
    limits: web::Data<super::MailLimits>,
    body: Json<UserEnvelope<UpdateUser>>,
) -> Result<HttpResponse, ApiError> {
    let token = super::presented_token(&req, &auth);
    let user = update_user(
        &auth,
        &db,
        &mail,
        &limits,
        caller.id,
        token,
        body.into_inner().user,
    )
    .await?;
    Ok(HttpResponse::Ok().json(user))
}

/// Changes the caller's account and profile; `token` is the access token they came with
/// (handed back unless a new password starts a new session).
pub(crate) async fn update_user(
    auth: &Auth,
    db: &Database,
    mail: &Mail,
    limits: &super::MailLimits,
    id: i64,
    token: String,
    update: UpdateUser,
) -> Result<UserResponse, ApiError> {
    let mut errors = FieldErrors::default();
    let changes = AccountChanges {
        email: update
            .email
            .and_then(|e| errors.check("email", EmailAddress::parse(&e))),
        username: update
            .username
            .and_then(|u| errors.check("username", Username::parse(&u)))
            .map(Username::into_inner),
        password: update
            .password
            .and_then(|p| errors.check("password", Password::parse(p))),
    };
    let bio = update
        .bio
        .and_then(|b| errors.check("bio", Bio::parse(&b)))
        .map(Bio::into_inner);
    let image = update
        .image
        .and_then(|i| errors.check("image", ImageUrl::parse(&i)))
        .map(ImageUrl::into_inner);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    // What really changes: front ends send every field back, the unchanged address too.
    let current = auth.find_user(id).await?.ok_or(ApiError::Unauthorized)?;
    let new_email = changes
        .email
        .as_ref()
        .filter(|e| e.as_ref() != current.email);
    // A new address gets a verification mail within the same budget as a resend; past it
    // the address still changes, unverified, and the user can ask for the mail later.
    let may_mail = match new_email {
        Some(email) => matches!(
            limits.verification_mail(id, email.as_ref()).await,
            backend_kit::rate_limit::Decision::Allow
        ),
        None => false,
    };
    // The address the account has now hears of a new address or password. That notice is the
    // owner's one warning of a stolen session, so it is never skipped: past its budget the
    // change itself waits (429).
    if new_email.is_some() || changes.password.is_some() {
        limits
            .change_notice(id, &current.email)
            .await
            .into_result()?;
    }
    // The account (the kit's), the profile (the blog's) and, for a new address, its
    // verification mail change in one transaction.
    let composer = mail.clone();
    let (user, new_session, queued) = auth
        .update_account_with(id, changes, move |conn, updated| {
            profiles::update(conn, id, bio, image)?;
            let mut queued = Vec::new();
            if updated.email_changed && may_mail {
                queued.push(composer.write_verification(conn, updated.user)?);
            }
            // The address the account had hears of a new address or password (a leaked
            // token is enough to change both).
            if updated.email_changed || updated.password_changed {
                queued.push(composer.write_change_notice(
                    conn,
                    updated.user,
                    updated.previous_email,
                    updated.email_changed,
                    updated.password_changed,
                )?);
            }
            Ok(queued)
        })
        .await?;
    for queued in queued {
        mail.outbox.queue_send(queued).await;
    }
    let profile = profile_of(db, id).await?;
    // A new password ended every session, the caller's too: it gets a fresh one.
    let (token, refresh) = match new_session {
        Some(pair) => (pair.access_token, Some(pair.refresh_token)),
        None => (token, None),
    };
    Ok(respond(user, profile, token, refresh))
}

#[utoipa::path(
    post, path = "/api/users/refresh", tag = "users",
    request_body = inline(UserEnvelope<RefreshRequest>),
    responses(
        (status = 200, description = "A new token pair (the old refresh token is used up)", body = UserResponse),
        (status = 401, description = "Unknown, used, revoked or expired refresh token", body = Errors),
        (status = 422, description = "Missing refreshToken", body = Errors),
        (status = 429, description = "Too many attempts from this client: see Retry-After", body = Errors),
        BodyErrors,
    )
)]
pub async fn refresh(
    auth: web::Data<Auth>,
    db: web::Data<Database>,
    body: Json<UserEnvelope<RefreshRequest>>,
) -> Result<HttpResponse, ApiError> {
    let token = refresh_token(body.into_inner().user)?;
    let session = auth.refresh(&token).await?;
    Ok(HttpResponse::Ok().json(with_session(&db, session).await?))
}

#[utoipa::path(
    post, path = "/api/users/logout", tag = "users",
    request_body = inline(UserEnvelope<RefreshRequest>),
    responses(
        (status = 204, description = "The session of that refresh token is over"),
        (status = 422, description = "Missing refreshToken", body = Errors),
        BodyErrors,
    )
)]
pub async fn logout(
    auth: web::Data<Auth>,
    body: Json<UserEnvelope<RefreshRequest>>,
) -> Result<HttpResponse, ApiError> {
    let token = refresh_token(body.into_inner().user)?;
    auth.logout(&token).await?;
    Ok(HttpResponse::NoContent().finish())
}

fn refresh_token(request: RefreshRequest) -> Result<String, ApiError> {
    request
        .refresh_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::invalid("refreshToken", "is required"))
}
