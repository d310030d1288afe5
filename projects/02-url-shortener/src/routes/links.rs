//! `/shorten` and `/shorten/{code}`: the link resource of the URL Shortening Service spec.

use actix_web::{HttpRequest, HttpResponse, web};
use backend_kit::auth::{AuthUser, MaybeAuthUser, Password, opaque};
use backend_kit::http::Json;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use crate::config::AnonymousEdits;
use crate::db::links::{self, CodeError, Link, LinkChanges, NewLink};
use crate::domain::{Breakdown, CustomCode, FieldErrors, RedirectType, TargetUrl};
use crate::error::ApiError;
use crate::openapi::{ErrorBody, JsonBodyErrors, OwnerOnlyErrors, ValidationErrorBody};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShortenRequest {
    /// The target: an absolute http(s) URL, at most 2048 characters, not a private address.
    #[schema(value_type = String, required = true, example = "https://www.example.com/some/long/url")]
    pub url: Option<String>,
    /// Your own code instead of a random one: 3–64 of `[A-Za-z0-9_-]` (create only).
    #[schema(example = "my-link")]
    pub custom_code: Option<String>,
    /// When the link stops working (RFC 3339, in the future, at most 100 years ahead);
    /// answers `410` after. On `PUT`, `null` removes it.
    #[serde(default, deserialize_with = "sent")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Option<String>>,
    /// How many redirects the link gives before answering `410`. On `PUT`, `null` removes the
    /// limit.
    #[serde(default, deserialize_with = "sent")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub max_visits: Option<Option<i64>>,
    /// 301, 302 (default), 307 or 308. On `PUT`, `null` goes back to the default.
    #[serde(default, deserialize_with = "sent")]
    #[schema(value_type = Option<i64>)]
    pub redirect_type: Option<Option<i64>>,
    /// Protects the link: visitors get a form and must type it (8–72 bytes; stored as bcrypt).
    /// On `PUT`, `null` removes the password.
    #[serde(default, deserialize_with = "sent")]
    #[schema(value_type = Option<String>, write_only, min_length = 8, max_length = 72)]
    pub password: Option<Option<String>>,
}

/// An option as sent: absent is `None` (with `#[serde(default)]`, leave it as it is), `null` is
/// `Some(None)` (clear it), a value is `Some(Some(value))`.
fn sent<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

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
    /// The link as a caller who may not know its target sees it: a password-protected link
    /// hides its `url` (anonymous links have no owner who could see it).
    fn public(link: &Link) -> Self {
        let mut response = Self::from(link);
        if link.password_hash.is_some() {
            response.url = None;
        }
        response
    }

    /// The link as its owner (who may see everything), or anyone else, sees it.
    fn for_caller(link: &Link, caller: Option<AuthUser>) -> Self {
        match (link.user_id, caller) {
            (Some(owner), Some(caller)) if owner == caller.id => Self::from(link),
            _ => Self::public(link),
        }
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

/// How far ahead `expiresAt` may be: 100 years.
const MAX_EXPIRY_MONTHS: u32 = 1_200;

/// The options shared by create and update, parsed: `None` = not sent, `Some(None)` = `null`
/// (on `PUT`: remove it), `Some(Some(value))` = set it.
struct Options {
    expires_at: Option<Option<NaiveDateTime>>,
    max_visits: Option<Option<i64>>,
    redirect_type: Option<Option<i32>>,
    password: Option<Option<Password>>,
}

/// Parses a sent value with `parse`, recording what is wrong under `field`; `null` stays `null`.
fn parse_sent<T, U, E: ToString>(
    value: &Option<Option<T>>,
    field: &'static str,
    errors: &mut FieldErrors,
    parse: impl FnOnce(&T) -> Result<U, E>,
) -> Option<Option<U>> {
    match value {
        None => None,
        Some(None) => Some(None),
        Some(Some(raw)) => errors.check(field, parse(raw)).map(Some),
    }
}

fn parse_options(body: &ShortenRequest, errors: &mut FieldErrors) -> Options {
    let expires_at = parse_sent(&body.expires_at, "expiresAt", errors, |raw| {
        let parsed = DateTime::parse_from_rfc3339(raw)
            .map_err(|_| "must be an RFC 3339 date-time, e.g. 2030-01-01T00:00:00Z")?;
        // At the precision the API shows (microseconds), and without a leap second (`:60`,
        // which SQLite would keep and PostgreSQL would not): then compared, then stored.
        let t = DateTime::from_timestamp_micros(parsed.timestamp_micros())
            .ok_or("must be at most 100 years ahead")?
            .naive_utc();
        let now = Utc::now().naive_utc();
        let bound = now.checked_add_months(chrono::Months::new(MAX_EXPIRY_MONTHS));
        if t <= now {
            Err("must be in the future")
        } else if bound.is_none_or(|bound| t > bound) {
            // Year 10000 is not RFC 3339, and SQLite compares these as text.
            Err("must be at most 100 years ahead")
        } else {
            Ok(t)
        }
    });
    let max_visits = parse_sent(&body.max_visits, "maxVisits", errors, |&n| {
        if n >= 1 {
            Ok(n)
        } else {
            Err("must be at least 1")
        }
    });
    let redirect_type = parse_sent(&body.redirect_type, "redirectType", errors, |&n| {
        RedirectType::parse(n).map(|r| i32::from(r.status()))
    });
    let password = parse_sent(&body.password, "password", errors, |raw| {
        Password::parse(raw.clone())
    });
    Options {
        expires_at,
        max_visits,
        redirect_type,
        password,
    }
}

/// bcrypt of a link password, on a blocking thread.
async fn hash(state: &AppState, password: Option<Password>) -> Result<Option<String>, ApiError> {
    match password {
        None => Ok(None),
        Some(password) => Ok(Some(state.hasher.hash(password).await?)),
    }
}

fn parse_url(state: &AppState, raw: Option<&str>, errors: &mut FieldErrors) -> Option<TargetUrl> {
    match raw {
        None => errors.check("url", Err::<TargetUrl, _>("is required")),
        Some(raw) => errors.check("url", TargetUrl::parse(raw, &state.policy)),
    }
}

/// Whether the caller may change or delete `link`: an owned link only its owner; an
/// anonymous one anyone (`ANONYMOUS_EDITS=open`, the spec's behaviour) or whoever shows its
/// manage token (`token`: `401` without it, `403` with a wrong one).
fn check_change(
    link: &Link,
    user: MaybeAuthUser,
    presented: Option<&str>,
    mode: AnonymousEdits,
) -> Result<(), ApiError> {
    match (link.user_id, mode) {
        (Some(_), _) | (None, AnonymousEdits::Open) => check_owner(link.user_id, user),
        (None, AnonymousEdits::Token) => {
            let presented = presented.ok_or(ApiError::Unauthorized)?;
            match &link.manage_token_hash {
                Some(hash) if *hash == opaque::hash_token(presented) => Ok(()),
                _ => Err(ApiError::Forbidden),
            }
        }
    }
}

/// The `X-Manage-Token` header, if sent.
fn manage_token(request: &HttpRequest) -> Option<String> {
    request
        .headers()
        .get("x-manage-token")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
}

/// Something with an owner (a link, an import job) is for that owner only: no token is `401`,
/// another user's token `403`. Anonymous ones stay open to anyone, as the spec has it.
pub fn check_owner(owner: Option<i64>, user: MaybeAuthUser) -> Result<(), ApiError> {
    match (owner, user.0) {
        (None, _) => Ok(()),
        (Some(owner), Some(caller)) if owner == caller.id => Ok(()),
        (Some(_), Some(_)) => Err(ApiError::Forbidden),
        (Some(_), None) => Err(ApiError::Unauthorized),
    }
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
    let body = body.into_inner();
    let mut errors = FieldErrors::default();
    let url = parse_url(&state, body.url.as_deref(), &mut errors);
    let custom = body
        .custom_code
        .as_deref()
        .map(|raw| errors.check("customCode", CustomCode::parse(raw)));
    let options = parse_options(&body, &mut errors);
    let Some(url) = url.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let custom = custom.flatten();
    // On create, `null` is the same as not sending the option.
    let password_hash = hash(&state, options.password.flatten()).await?;

    // An anonymous link gets a manage token: shown once, stored as its hash.
    let manage_token = user.0.is_none().then(opaque::new_token);
    let new = NewLink {
        url: url.as_str().to_string(),
        user_id: user.0.map(|u| u.id),
        redirect_type: options.redirect_type.flatten(),
        expires_at: options.expires_at.flatten(),
        max_visits: options.max_visits.flatten(),
        password_hash,
        manage_token_hash: manage_token.as_deref().map(opaque::hash_token),
    };
    let code_length = state.code_length;
    let link = state
        .db
        .run(move |conn| {
            links::insert_with_code(conn, &new, custom.as_ref(), code_length, false).map_err(|e| {
                match e {
                    CodeError::Taken => ApiError::Conflict {
                        field: "customCode",
                        message: e.to_string(),
                    },
                    CodeError::Exhausted => ApiError::internal(e),
                    CodeError::Db(e) => ApiError::from_caller_insert(e),
                }
            })
        })
        .await?;
    // A negative entry may be cached for this code from an earlier miss.
    state.links.invalidate(&link.code).await;
    let mut response = LinkResponse::from(&link);
    response.manage_token = manage_token;
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
    let code = code.into_inner();
    let caller = user.0;
    let link = state
        .db
        .run(move |conn| {
            let link = links::find(conn, &code)?.ok_or(ApiError::NotFound)?;
            check_owner(link.user_id, user)?;
            Ok::<_, ApiError>(link)
        })
        .await?;
    Ok(HttpResponse::Ok().json(LinkResponse::for_caller(&link, caller)))
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
    let code = code.into_inner();
    let body = body.into_inner();
    let mut errors = FieldErrors::default();
    let url = parse_url(&state, body.url.as_deref(), &mut errors);
    if body.custom_code.is_some() {
        errors.add("customCode", "cannot be changed; create a new link instead");
    }
    let options = parse_options(&body, &mut errors);
    let Some(url) = url.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    // Ownership first: hashing a new password costs ~250 ms of CPU, which nobody may spend
    // on someone else's link.
    let owned = code.clone();
    let (presented, mode) = (manage_token(&request), state.anonymous_edits);
    let id = state
        .db
        .run(move |conn| {
            let link = links::find(conn, &owned)?.ok_or(ApiError::NotFound)?;
            check_change(&link, user, presented.as_deref(), mode)?;
            Ok::<_, ApiError>(link.id)
        })
        .await?;
    let password_hash = match options.password {
        Some(password) => Some(hash(&state, password).await?),
        None => None,
    };
    let changes = LinkChanges {
        url: Some(url.into_inner()),
        redirect_type: options.redirect_type,
        expires_at: options.expires_at,
        max_visits: options.max_visits,
        password_hash,
        updated_at: None,
        expired_at: None,
    };
    // By id, the link that was checked: if its code was deleted and made again while the
    // password was hashed, the new link is not touched (404).
    let link = state
        .db
        .run(move |conn| links::update(conn, id, changes)?.ok_or(ApiError::NotFound))
        .await?;
    state.links.invalidate(&code).await;
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
    let code = code.into_inner();
    let owned = code.clone();
    let (presented, mode) = (manage_token(&request), state.anonymous_edits);
    let deleted = state
        .db
        .run(move |conn| {
            let link = links::find(conn, &owned)?.ok_or(ApiError::NotFound)?;
            check_change(&link, user, presented.as_deref(), mode)?;
            // By id: the link just checked, not whatever holds the code by now.
            Ok::<_, ApiError>(links::delete(conn, link.id)?)
        })
        .await?;
    state.links.invalidate(&code).await;
    if deleted == 0 {
        return Err(ApiError::NotFound);
    }
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
    let code = code.into_inner();
    let caller = user.0;
    let (link, breakdown) = state
        .db
        .run(move |conn| {
            let link = links::find(conn, &code)?.ok_or(ApiError::NotFound)?;
            check_owner(link.user_id, user)?;
            let breakdown = by
                .map(|by| links::visits_by(conn, link.id, by))
                .transpose()?;
            Ok::<_, ApiError>((link, breakdown))
        })
        .await?;
    Ok(HttpResponse::Ok().json(StatsResponse {
        link: LinkResponse::for_caller(&link, caller),
        access_count: link.access_count,
        breakdown: breakdown.map(|rows| {
            rows.into_iter()
                .map(|(key, visits)| Bucket { key, visits })
                .collect()
        }),
    }))
}
