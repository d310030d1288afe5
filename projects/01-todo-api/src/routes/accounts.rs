//! `/register`, `/login`, `/refresh`, `/logout`: accounts and tokens. Each handler is the
//! lesson's steps in order, calling the kit (`backend_kit::auth`) for the parts every capstone
//! with users shares: bcrypt, the `users` table, JWTs and refresh-token rotation.
//!
//! The request and response types (and the OpenAPI description of these four endpoints) are
//! the kit's too: the contract is the same in every capstone.

use actix_web::{HttpResponse, web};
use backend_kit::auth::routes::{
    LoginRequest, NewAccount, RefreshRequest, RegisterRequest, TokenResponse,
};
use backend_kit::auth::{Auth, insert_user};
use backend_kit::db::Database;
use backend_kit::http::Json;

use crate::error::ApiError;

/// `POST /register` → `201 {"token", "refreshToken"}`: the account, already logged in.
pub async fn register(
    auth: web::Data<Auth>,
    db: web::Data<Database>,
    body: Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    // 1. Validate: each field parsed into a type that only holds a valid value (`Name`,
    //    `EmailAddress`, `Password`); a 400 lists every field that is missing or wrong.
    let NewAccount {
        name,
        email,
        password,
    } = body.into_inner().parse()?;
    // 2. Hash: bcrypt, slow on purpose (a stolen table is expensive to crack), so it runs on
    //    a blocking thread, never on the async executor. Only the hash is ever stored.
    let password_hash = auth.hasher().hash(password).await?;
    // 3. Insert: the UNIQUE index on `users.email` decides a taken address (409), even when
    //    two registrations race. `Database::run` takes a pooled connection on a blocking thread.
    let user = db
        .run(move |conn| insert_user(conn, name.as_str(), &email, &password_hash))
        .await?;
    // 4. Tokens: a signed JWT for requests (15 minutes) and a refresh token (stored hashed).
    let tokens = auth.start_session(user.id).await?;
    Ok(HttpResponse::Created().json(TokenResponse::from(tokens)))
}

/// `POST /login` → `200 {"token", "refreshToken"}`. A wrong e-mail and a wrong password get
/// the same `401`, after the same bcrypt work.
pub async fn login(
    auth: web::Data<Auth>,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let (email, password) = body.into_inner().parse()?;
    let user = auth.check_password(&email, &password).await?;
    let tokens = auth.start_session(user.id).await?;
    Ok(HttpResponse::Ok().json(TokenResponse::from(tokens)))
}

/// `POST /refresh` → a new pair. Each refresh token works once; a used one shown again
/// revokes its whole session (it was stolen, or the client is confused).
pub async fn refresh(
    auth: web::Data<Auth>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let (_, tokens) = auth.refresh(&body.into_inner().token()?).await?;
    Ok(HttpResponse::Ok().json(TokenResponse::from(tokens)))
}

/// `POST /logout` → `204`: ends the session the refresh token belongs to. Access tokens
/// already issued stay valid until they expire (they are not stored).
pub async fn logout(
    auth: web::Data<Auth>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    auth.logout(&body.into_inner().token()?).await?;
    Ok(HttpResponse::NoContent().finish())
}
