//! `/register`, `/login`, `/refresh`, `/logout`: accounts and tokens, for the capstones that
//! register them as they are (the url-shortener and the chat; capstone 1 writes its own
//! handlers from the same pieces, to show them). Register them with [`configure`] and add them to the project's
//! OpenAPI document with [`documented`].

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Auth, AuthError, EmailAddress, Name, Password, TokenPair};
use crate::http::{
    BearerAuth, Error, ErrorBody, Json, JsonBodyErrors, ValidationErrorBody, method_not_allowed,
};
use crate::rate_limit::RateLimiter;
use crate::validation::FieldErrors;

/// Registers the four endpoints; `limiter` guards `/register`, `/login` and `/refresh` (the
/// doors of password guessing and account spam) with one budget per client.
pub fn configure(cfg: &mut web::ServiceConfig, limiter: &Arc<RateLimiter>) {
    for (path, limited, handler) in [
        ("/register", true, web::post().to(register)),
        ("/login", true, web::post().to(login)),
        ("/refresh", true, web::post().to(refresh)),
        ("/logout", false, web::post().to(logout)),
    ] {
        let handler = if limited {
            handler.wrap(limiter.middleware())
        } else {
            handler
        };
        cfg.service(
            web::resource(path)
                .route(handler)
                .default_service(web::to(method_not_allowed)),
        );
    }
}

/// The four endpoints in OpenAPI, with the `bearer` security scheme.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(register, login, refresh, logout),
    modifiers(&BearerAuth),
    tags((name = "auth", description = "Accounts and tokens"))
)]
struct AccountsDoc;

/// A project's OpenAPI document with the account endpoints (and the `bearer` scheme) added.
pub fn documented(mut project: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    project.merge(AccountsDoc::openapi());
    project
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// 1 to 100 characters.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 100, example = "Ann Lee")]
    pub name: Option<String>,
    #[schema(value_type = String, required = true, format = Email, example = "ann@example.com")]
    pub email: Option<String>,
    /// 8 to 72 bytes (bcrypt's limit; longer passwords are refused, not truncated).
    #[schema(value_type = String, required = true, min_length = 8, max_length = 72, example = "correct horse")]
    pub password: Option<String>,
}

/// A [`RegisterRequest`] whose every field parsed.
pub struct NewAccount {
    pub name: Name,
    pub email: EmailAddress,
    pub password: Password,
}

impl RegisterRequest {
    /// Parses every field; a `400` listing each one that is missing or invalid.
    pub fn parse(self) -> Result<NewAccount, Error> {
        let mut errors = FieldErrors::default();
        let name = errors
            .required("name", self.name)
            .and_then(|n| errors.check("name", Name::parse(&n)));
        let email = errors
            .required("email", self.email)
            .and_then(|e| errors.check("email", EmailAddress::parse(&e)));
        let password = errors
            .required("password", self.password)
            .and_then(|p| errors.check("password", Password::parse(p)));
        match (name, email, password) {
            (Some(name), Some(email), Some(password)) => Ok(NewAccount {
                name,
                email,
                password,
            }),
            _ => Err(Error::validation(errors)),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    #[schema(value_type = String, required = true, example = "ann@example.com")]
    pub email: Option<String>,
    #[schema(value_type = String, required = true, example = "correct horse")]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshRequest {
    #[schema(value_type = String, required = true)]
    pub refresh_token: Option<String>,
}

impl LoginRequest {
    /// The e-mail and password, both required (checked against the account, not parsed:
    /// a login says nothing about the rules an address or password must meet).
    pub fn parse(self) -> Result<(String, String), Error> {
        let mut errors = FieldErrors::default();
        let email = errors.required("email", self.email);
        let password = errors.required("password", self.password);
        match (email, password) {
            (Some(email), Some(password)) => Ok((email, password)),
            _ => Err(Error::validation(errors)),
        }
    }
}

impl RefreshRequest {
    /// The token, required.
    pub fn token(self) -> Result<String, AuthError> {
        self.refresh_token
            .ok_or_else(|| AuthError::invalid("refreshToken", "is required"))
    }
}

/// A short-lived access token (JWT, 15 minutes) and a single-use refresh token.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    pub token: String,
    pub refresh_token: String,
}

impl From<TokenPair> for TokenResponse {
    fn from(pair: TokenPair) -> Self {
        Self {
            token: pair.access_token,
            refresh_token: pair.refresh_token,
        }
    }
}

/// Create an account; answers with tokens, already logged in.
#[utoipa::path(post, path = "/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created", body = TokenResponse),
        (status = 400, description = "Invalid input", body = ValidationErrorBody),
        (status = 409, description = "E-mail already registered", body = ErrorBody),
        JsonBodyErrors,
        (status = 429, description = "Too many requests from this IP", body = ErrorBody),
    ))]
pub async fn register(
    auth: web::Data<Auth>,
    body: Json<RegisterRequest>,
) -> Result<HttpResponse, Error> {
    let NewAccount {
        name,
        email,
        password,
    } = body.into_inner().parse()?;
    let (_, tokens) = auth.register(name.into_inner(), email, password).await?;
    Ok(HttpResponse::Created().json(TokenResponse::from(tokens)))
}

/// Exchange e-mail and password for tokens. Wrong e-mail and wrong password look the same.
#[utoipa::path(post, path = "/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 400, description = "Missing fields", body = ValidationErrorBody),
        (status = 401, description = "Wrong e-mail or password", body = ErrorBody),
        JsonBodyErrors,
        (status = 429, description = "Too many requests from this IP", body = ErrorBody),
    ))]
pub async fn login(auth: web::Data<Auth>, body: Json<LoginRequest>) -> Result<HttpResponse, Error> {
    let (email, password) = body.into_inner().parse()?;
    let (_, tokens) = auth.login(&email, &password).await?;
    Ok(HttpResponse::Ok().json(TokenResponse::from(tokens)))
}

/// Exchange a refresh token for a new pair. Each refresh token works once; showing a used
/// one again revokes its whole session.
#[utoipa::path(post, path = "/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 400, description = "Missing refreshToken", body = ValidationErrorBody),
        (status = 401, description = "Unknown, used, revoked or expired token", body = ErrorBody),
        JsonBodyErrors,
        (status = 429, description = "Too many requests from this IP", body = ErrorBody),
    ))]
pub async fn refresh(
    auth: web::Data<Auth>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, Error> {
    let token = body.into_inner().token()?;
    let (_, tokens) = auth.refresh(&token).await?;
    Ok(HttpResponse::Ok().json(TokenResponse::from(tokens)))
}

/// End the session the refresh token belongs to. Idempotent.
#[utoipa::path(post, path = "/logout", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 204, description = "Logged out"),
        (status = 400, description = "Missing refreshToken", body = ValidationErrorBody),
        JsonBodyErrors,
    ))]
pub async fn logout(
    auth: web::Data<Auth>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, Error> {
    let token = body.into_inner().token()?;
    auth.logout(&token).await?;
    Ok(HttpResponse::NoContent().finish())
}
