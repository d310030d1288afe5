//! URL → handler, grouped by resource. The RealWorld API lives under `/api` (with CORS, for
//! browser front ends on other origins); the reading pages at `/` and `/articles/{slug}`.

pub mod account;
pub mod articles;
pub mod comments;
pub mod pages;
pub mod profiles;
pub mod tags;
pub mod users;

use std::sync::Arc;

use actix_cors::Cors;
use actix_web::http::{Method, header};
use actix_web::{HttpRequest, web};
use backend_kit::auth::Auth;
use backend_kit::http::method_not_allowed;
use backend_kit::rate_limit::{Decision, RateLimiter};

use crate::config::CorsOrigins;
use crate::error::ApiError;

/// The budgets of the mail flows (per hour; see `Config`).
pub struct MailLimits {
    /// Verification mails after the first, per user and per address (a resend, or an address
    /// change: switching addresses back and forth must not mail someone without limit).
    pub verify_resend: Arc<RateLimiter>,
    /// Reset mails asked for one address, from anyone.
    pub reset_per_address: Arc<RateLimiter>,
    /// Reset requests per client IP (a middleware on the route).
    pub reset_per_client: Arc<RateLimiter>,
}

impl MailLimits {
    /// Counts one more verification mail for `user` to `address`; both budgets must allow it.
    pub async fn verification_mail(&self, user: i64, address: &str) -> Decision {
        let by_user = self.verify_resend.check(&format!("user:{user}")).await;
        let to_address = self.verify_resend.check(&format!("to:{address}")).await;
        by_user.and(to_address)
    }

    /// Counts one more change notice of `user` to `address` (its address before the change),
    /// under the same hourly budget as verification mails, counted apart: switching addresses
    /// back and forth must not mail the old ones without limit either.
    pub async fn change_notice(&self, user: i64, address: &str) -> Decision {
        let by_user = self
            .verify_resend
            .check(&format!("notice-user:{user}"))
            .await;
        let to_address = self
            .verify_resend
            .check(&format!("notice-to:{address}"))
            .await;
        by_user.and(to_address)
    }
}

/// Per-user budgets for writes (`Config`): one account posting 800 comments in 0.7 s made an
/// article page of 4 MB. Past a budget: `429` with `Retry-After`.
pub struct WriteLimits {
    pub articles: Arc<RateLimiter>,
    pub comments: Arc<RateLimiter>,
    /// Favorites and follows, and their undoing.
    pub reactions: Arc<RateLimiter>,
}

impl WriteLimits {
    /// Counts one write of `user` against `budget`; `429` past it.
    pub async fn spend(budget: &RateLimiter, user: i64) -> Result<(), ApiError> {
        budget.check(&format!("user:{user}")).await.into_result()
    }
}

pub fn configure(
    cfg: &mut web::ServiceConfig,
    auth_limiter: &Arc<RateLimiter>,
    reset_limiter: &Arc<RateLimiter>,
    cors: &CorsOrigins,
) {
    let limited = || auth_limiter.middleware();
    cfg.service(
        web::scope("/api")
            .wrap(cors_policy(cors))
            .service(resource("/users").route(web::post().to(users::register).wrap(limited())))
            .service(resource("/users/verify").route(web::get().to(account::verify)))
            .service(
                resource("/users/verify/resend")
                    .route(web::post().to(account::resend_verification)),
            )
            .service(
                resource("/users/password-reset").route(
                    web::post()
                        .to(account::request_password_reset)
                        .wrap(reset_limiter.middleware()),
                ),
            )
            .service(
                resource("/users/password-reset/confirm").route(
                    web::post()
                        .to(account::confirm_password_reset)
                        .wrap(limited()),
                ),
            )
            .service(
                resource("/users/unsubscribe")
                    .route(web::get().to(account::unsubscribe))
                    .route(web::post().to(account::unsubscribe)),
            )
            .service(resource("/users/login").route(web::post().to(users::login).wrap(limited())))
            .service(
                resource("/users/refresh").route(web::post().to(users::refresh).wrap(limited())),
            )
            .service(resource("/users/logout").route(web::post().to(users::logout)))
            .service(
                resource("/user")
                    .route(web::get().to(users::current))
                    .route(web::put().to(users::update)),
            )
            .service(resource("/profiles/{username}").route(web::get().to(profiles::get)))
            .service(
                resource("/profiles/{username}/follow")
                    .route(web::post().to(profiles::follow))
                    .route(web::delete().to(profiles::unfollow)),
            )
            .service(
                resource("/articles")
                    .route(web::get().to(articles::list))
                    .route(web::post().to(articles::create)),
            )
            // Before `/articles/{slug}`, which would take "feed" for a slug.
            .service(resource("/articles/feed").route(web::get().to(articles::feed)))
            .service(
                resource("/articles/{slug}")
                    .route(web::get().to(articles::get))
                    .route(web::put().to(articles::update))
                    .route(web::delete().to(articles::delete)),
            )
            .service(
                resource("/articles/{slug}/favorite")
                    .route(web::post().to(articles::favorite))
                    .route(web::delete().to(articles::unfavorite)),
            )
            .service(
                resource("/articles/{slug}/comments")
                    .route(web::get().to(comments::list))
                    .route(web::post().to(comments::create)),
            )
            .service(
                resource("/articles/{slug}/comments/{id}")
                    .route(web::delete().to(comments::delete)),
            )
            .service(resource("/tags").route(web::get().to(tags::list))),
    )
    .service(resource("/").route(web::get().to(pages::index)))
    .service(resource("/style.css").route(web::get().to(pages::stylesheet)))
    .service(
        resource("/reset-password")
            .route(web::get().to(pages::reset_password_form))
            .route(web::post().to(pages::reset_password).wrap(limited())),
    )
    .service(resource("/articles/{slug}").route(web::get().to(pages::article)));
}

/// `/graphql`: `POST` runs queries, `GET` is GraphiQL (its files under `/graphql/assets/`).
/// Like `/api`, open to browser front ends on other origins.
pub fn configure_graphql(cfg: &mut web::ServiceConfig, cors: &CorsOrigins) {
    use crate::graphql::http;
    cfg.service(
        web::scope("/graphql")
            .wrap(cors_policy(cors))
            .service(
                resource("")
                    .route(web::post().to(http::execute))
                    .route(web::get().to(http::graphiql)),
            )
            .service(resource("/assets/{file}").route(web::get().to(http::asset))),
    );
}

/// A resource whose other methods answer `405` in the project's format.
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

/// Browsers ask before a cross-origin request with `Authorization` or a JSON body (the
/// preflight `OPTIONS`); this answers it for the configured origins, and only for the methods
/// and headers the API uses. No cookies are involved (the token travels in a header), so
/// credentials stay off.
fn cors_policy(origins: &CorsOrigins) -> Cors {
    let cors = Cors::default()
        .allowed_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .max_age(3600);
    match origins {
        CorsOrigins::Any => cors.allow_any_origin().send_wildcard(),
        CorsOrigins::List(list) => list
            .iter()
            .fold(cors, |cors, origin| cors.allowed_origin(origin)),
    }
}

/// The access token the request came with, to hand back in `{"user": {"token"}}` (the
/// extractor has already checked it).
fn presented_token(req: &HttpRequest, auth: &Auth) -> String {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| auth.scheme().token(v))
        .unwrap_or_default()
        .to_string()
}

/// `limit` and `offset` of a list: `limit` 1–100 (default 20), `offset` 0–1 000 000 (default
/// 0). An offset makes the database walk past every article before the page: deeper than a
/// million, page with `before` (and `offset + limit` stays far from overflowing).
pub const LIMIT_DEFAULT: i64 = 20;
pub const LIMIT_MAX: i64 = 100;
pub const OFFSET_MAX: i64 = 1_000_000;

/// `limit` (default `default`) and `offset` of a list, checked.
pub(crate) fn page(
    limit: Option<&str>,
    offset: Option<&str>,
    default: i64,
) -> Result<(i64, i64), ApiError> {
    let limit = match limit {
        None | Some("") => default,
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=LIMIT_MAX).contains(n))
            .ok_or_else(|| {
                ApiError::invalid("limit", format!("must be an integer from 1 to {LIMIT_MAX}"))
            })?,
    };
    let offset = match offset {
        None | Some("") => 0,
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=OFFSET_MAX).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(
                    "offset",
                    format!("must be an integer from 0 to {OFFSET_MAX} (page deeper with before)"),
                )
            })?,
    };
    Ok((limit, offset))
}

/// A query parameter sent empty (`?tag=`) filters nothing.
fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// A `?tag=` as tags are stored: trimmed and NFC (`cafe%CC%81s` is the tag `cafés`).
fn tag_filter(value: Option<String>) -> Option<String> {
    use unicode_normalization::UnicodeNormalization;
    non_empty(value.map(|v| v.trim().nfc().collect()))
}
