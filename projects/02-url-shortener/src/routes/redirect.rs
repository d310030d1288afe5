//! `GET /{code}`: the hot path. Cache-aside: a hit answers without touching the database; a
//! miss reads the database and fills the cache, also with "no such code" (negative caching),
//! so a flood of unknown codes does not become a flood of queries.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AppState;
use crate::db::links::{self, Link, NewVisit};
use crate::error::ApiError;
use crate::visits::{Visit, classify_user_agent};

/// What the cache keeps per code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum CachedLink {
    Found {
        id: i64,
        url: String,
        status: u16,
        expires_at: Option<NaiveDateTime>,
        limited: bool,
    },
    Missing,
}

impl From<&Link> for CachedLink {
    fn from(link: &Link) -> Self {
        CachedLink::Found {
            id: link.id,
            url: link.url.clone(),
            status: link.redirect_type.map(|s| s as u16).unwrap_or(302),
            expires_at: link.expires_at,
            limited: link.max_visits.is_some(),
        }
    }
}

pub fn cache_key(code: &str) -> String {
    format!("link:{code}")
}

/// Drops a code from the cache after its link changed. Failures are logged: the entry then
/// lives until its TTL.
pub async fn invalidate(state: &AppState, code: &str) {
    if let Err(e) = state.cache.delete(&cache_key(code)).await {
        tracing::warn!(error = %e, "cache invalidation failed");
    }
}

async fn lookup(state: &AppState, code: &str) -> Result<CachedLink, ApiError> {
    let key = cache_key(code);
    match state.cache.get(&key).await {
        Ok(Some(hit)) => return Ok(hit),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "cache unavailable, reading the database"),
    }
    let owned = code.to_string();
    let link = state
        .db
        .run(move |conn| links::find(conn, &owned).map_err(ApiError::from))
        .await?;
    let (entry, ttl) = match &link {
        Some(link) => {
            let mut ttl = state.cache_ttl;
            // Never cache past the expiry time.
            if let Some(expires_at) = link.expires_at {
                let left = (expires_at - Utc::now().naive_utc())
                    .to_std()
                    .unwrap_or_default();
                ttl = ttl.min(left.max(std::time::Duration::from_millis(1)));
            }
            (CachedLink::from(link), ttl)
        }
        None => (CachedLink::Missing, state.negative_cache_ttl),
    };
    if let Err(e) = state.cache.set(&key, &entry, ttl).await {
        tracing::warn!(error = %e, "cache fill failed");
    }
    Ok(entry)
}

pub async fn follow(
    state: web::Data<AppState>,
    code: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let code = code.into_inner();
    if code.len() > 64 {
        return Err(ApiError::NotFound);
    }
    let CachedLink::Found {
        id,
        url,
        status,
        expires_at,
        limited,
    } = lookup(&state, &code).await?
    else {
        return Err(ApiError::NotFound);
    };
    if expires_at.is_some_and(|t| t <= Utc::now().naive_utc()) {
        return Err(ApiError::Gone);
    }

    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (browser, is_bot) = classify_user_agent(user_agent);
    // Links with a visit limit count here, atomically; bots are redirected but never counted.
    if limited && !is_bot {
        let allowed = state
            .db
            .run(move |conn| links::take_limited_visit(conn, id).map_err(ApiError::from))
            .await?;
        if !allowed {
            return Err(ApiError::Gone);
        }
    }
    let referrer_host = req
        .headers()
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| url::Url::parse(r).ok())
        .and_then(|u| u.host_str().map(str::to_string));
    state.visits.record(Visit {
        row: NewVisit {
            link_id: id,
            visited_at: backend_kit::time::now(),
            referrer_host,
            browser: browser.to_string(),
            is_bot,
        },
        counted: limited,
    });

    let status =
        actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::FOUND);
    Ok(HttpResponse::build(status)
        .insert_header((header::LOCATION, url))
        // Browsers may cache 301/308 forever; say how long a redirect may be reused.
        .insert_header((header::CACHE_CONTROL, "private, max-age=0"))
        .finish())
}
