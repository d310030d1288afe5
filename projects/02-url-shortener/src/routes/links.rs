//! `/shorten` and `/shorten/{code}`: the link resource of the URL Shortening Service spec.
//! Each handler reads the request, calls the operation in [`crate::links`] (shared with the
//! gRPC service) and writes its JSON.

use actix_web::{HttpRequest, HttpResponse, web};
use backend_kit::auth::{AuthUser, MaybeAuthUser};
use backend_kit::http::Json;
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use crate::db::links::Link;
use crate::domain::Breakdown;
use crate::error::ApiError;
use crate::links::{self as ops, Change};
pub use crate::links::{ShortenRequest, check_owner};
use crate::openapi::{ErrorBody, JsonBodyErrors, OwnerOnlyErrors, ValidationErrorBody};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkResponse {
    #[schema(example = "1")]
    pub id: String,
    /// The target. Absent when the link is password-protected and the caller is not its
    /// owner: only the redirect, after the password, reveals it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[schema(example = "abc123X")]
    pub short_code: String,
    #[serde(serialize_with = "backend_kit::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "backend_kit::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: NaiveDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_visits: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_type: Option<i32>,
    /// `true` when visitors must type a password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_protected: Option<bool>,
    /// When the background job found the link expired or out of visits.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expired_at: Option<String>,
    /// Only in the answer that creates an anonymous link, and never again: the secret that
    /// proves you made it (`X-Manage-Token` on `PUT`/`DELETE` when the server runs with
    /// `ANONYMOUS_EDITS=token`). Keep it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manage_token: Option<String>,
}

impl LinkResponse {
    /// The link as `caller` sees it: a password-protected link hides its `url` from anyone
    /// but its owner (see [`ops::shows_target`]).
    fn for_caller(link: &Link, caller: Option<AuthUser>) -> Self {
        let mut response = Self::from(link);
        if !ops::shows_target(link, caller) {
            response.url = None;
        }
        response
    }
}

impl From<&Link> for LinkResponse {
    fn from(link: &Link) -> Self {
        Self {
            id: link.id.to_string(),
            url: Some(link.url.clone()),
            short_code: link.code.clone(),
            created_at: link.created_at,
            updated_at: link.updated_at,
            expires_at: link.expires_at.as_ref().map(backend_kit::time::format),
            max_visits: link.max_visits,
            redirect_type: link.redirect_type,
            password_protected: link.password_hash.as_ref().map(|_| true),
            expired_at: link.expired_at.as_ref().map(backend_kit::time::format),
            manage_token: None,
        }
    }
}

/// One row of a stats breakdown.
#[derive(Debug, Serialize, ToSchema)]
pub struct Bucket {
    /// A day (`YYYY-MM-DD`), a referrer host (`(direct)` when none) or a browser family.
    pub key: String,
    pub visits: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsResponse {
    #[serde(flatten)]
    pub link: LinkResponse,
    /// Redirects given, bots excluded; exact within a second.
    pub access_count: i64,
    /// Present when `?by=` was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<Vec<Bucket>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// Break visits down by `day`, `referrer` or `browser`.
    #[param(pattern = "^(day|referrer|browser)$")]
    pub by: Option<String>,
}

/// The `X-Manage-Token` header, if sent.
fn manage_token(request: &HttpRequest) -> Option<String> {
    request
        .headers()
        .get("x-manage-token")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
}

/// Shorten a URL. With a token, the link belongs to its user.
#[utoipa::path(post, path = "/shorten", tag = "links", request_body = ShortenRequest, security((), ("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = LinkResponse),
        (status = 400, description = "Invalid input", body = ValidationErrorBody),
        (status = 401, description = "A token was sent but is invalid", body = ErrorBody),
        (status = 409, description = "customCode is taken", body = ErrorBody),
        JsonBodyErrors,
        (status = 429, description = "Too many requests from this IP", body = ErrorBody),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    user: MaybeAuthUser,
    body: Json<ShortenRequest>,
) -> Result<HttpResponse, ApiError> {
    let created = ops::create(&state, user.0, &body.into_inner()).await?;
    let mut response = LinkResponse::from(&created.link);
    response.manage_token = created.manage_token;
    Ok(HttpResponse::Created().json(response))
}

/// The link behind a code. A link made with a token is its owner's alone (as its stats
/// are); a password-protected link never shows its `url` to anyone else.
#[utoipa::path(get, path = "/shorten/{code}", tag = "links", security((), ("bearer" = [])), params(("code" = String, Path, example = "example")),
    responses(
        (status = 200, description = "The link", body = LinkResponse),
        OwnerOnlyErrors,
    ))]
pub async fn get(
    state: web::Data<AppState>,
    user: MaybeAuthUser,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let link = ops::get(&state, user.0, code.into_inner()).await?;
    Ok(HttpResponse::Ok().json(LinkResponse::for_caller(&link, user.0)))
}

/// Point a code at a new URL (and change its options, if sent).
#[utoipa::path(put, path = "/shorten/{code}", tag = "links", request_body = ShortenRequest, security((), ("bearer" = [])),
    params(("code" = String, Path, example = "example"),
        ("X-Manage-Token" = Option<String>, Header, description = "An anonymous link's manage token (needed with ANONYMOUS_EDITS=token)")),
    responses(
        (status = 200, description = "Updated", body = LinkResponse),
        (status = 400, description = "Invalid input", body = ValidationErrorBody),
        JsonBodyErrors,
        (status = 429, description = "Too many writes from this IP (shares the `POST /shorten` budget)", body = ErrorBody),
        OwnerOnlyErrors,
    ))]
pub async fn update(
    state: web::Data<AppState>,
    user: MaybeAuthUser,
    request: HttpRequest,
    code: web::Path<String>,
    body: Json<ShortenRequest>,
) -> Result<HttpResponse, ApiError> {
    // `PUT` replaces the link: its `url` is required.
    let change = Change::parse(&state, &body.into_inner(), true)?;
    let link = ops::update(
        &state,
        user.0,
        manage_token(&request),
        code.into_inner(),
        change,
    )
    .await?;
    Ok(HttpResponse::Ok().json(LinkResponse::from(&link)))
}

/// Delete a link; its code stops redirecting at once.
#[utoipa::path(delete, path = "/shorten/{code}", tag = "links", security((), ("bearer" = [])),
    params(("code" = String, Path, example = "example"),
        ("X-Manage-Token" = Option<String>, Header, description = "An anonymous link's manage token (needed with ANONYMOUS_EDITS=token)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 429, description = "Too many writes from this IP (shares the `POST /shorten` budget)", body = ErrorBody),
        OwnerOnlyErrors,
    ))]
pub async fn delete(
    state: web::Data<AppState>,
    user: MaybeAuthUser,
    request: HttpRequest,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    ops::delete(&state, user.0, manage_token(&request), code.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The link with its visit count, optionally broken down by day, referrer or browser.
#[utoipa::path(get, path = "/shorten/{code}/stats", tag = "links", security((), ("bearer" = [])), params(("code" = String, Path, example = "example"), StatsQuery),
    responses(
        (status = 200, description = "The link and its statistics", body = StatsResponse),
        (status = 400, description = "Unknown breakdown", body = ValidationErrorBody),
        OwnerOnlyErrors,
    ))]
pub async fn stats(
    state: web::Data<AppState>,
    user: MaybeAuthUser,
    code: web::Path<String>,
    query: web::Query<StatsQuery>,
) -> Result<HttpResponse, ApiError> {
    let by = query
        .into_inner()
        .by
        .as_deref()
        .map(Breakdown::parse)
        .transpose()
        .map_err(|problem| ApiError::invalid("by", problem))?;
    let (link, breakdown) = ops::stats(&state, user.0, code.into_inner(), by).await?;
    Ok(HttpResponse::Ok().json(StatsResponse {
        link: LinkResponse::for_caller(&link, user.0),
        access_count: link.access_count,
        breakdown: breakdown.map(|rows| {
            rows.into_iter()
                .map(|(key, visits)| Bucket { key, visits })
                .collect()
        }),
    }))
}
