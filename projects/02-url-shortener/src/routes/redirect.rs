//! `GET /{code}`: the hot path, served from the link cache ([`crate::link_cache`]): a hit
//! answers without touching the database.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;

use super::AppState;
use crate::db::links::{self, NewVisit};
use crate::error::ApiError;
use crate::link_cache::CachedLink;
use crate::visits::{Visit, classify_user_agent, referrer_host};

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
        protected,
    } = state.links.get(&state.db, &code).await?
    else {
        return Err(ApiError::NotFound);
    };
    if expires_at.is_some_and(|t| t <= Utc::now().naive_utc()) {
        return Err(ApiError::Gone);
    }
    if protected {
        // A used-up link is gone before anyone types a password for it.
        let used_up = limited
            && !state
                .db
                .run(move |conn| links::has_visits_left(conn, id).map_err(ApiError::from))
                .await?;
        if used_up {
            return Err(ApiError::Gone);
        }
        return Ok(password_form(&code, StatusCode::OK, None));
    }
    count_visit(&state, &req, id, limited).await?;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FOUND);
    Ok(redirect_to(status, url))
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
}

/// `POST /{code}` from the password form: the right password redirects (303, so the browser
/// follows with a GET); a wrong one shows the form again with `401`. Guesses are rate
/// limited per client (`LINK_PASSWORD_ATTEMPTS_PER_MINUTE`). On a link without a password it
/// is a visit like `GET`: counted, and `410` once `maxVisits` is used up.
pub async fn unlock(
    state: web::Data<AppState>,
    code: web::Path<String>,
    form: web::Form<PasswordForm>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let code = code.into_inner();
    let owned = code.clone();
    // Read the hash from the database: it is never put in the cache.
    let link = state
        .db
        .run(move |conn| links::find(conn, &owned).map_err(ApiError::from))
        .await?
        .ok_or(ApiError::NotFound)?;
    if link.expires_at.is_some_and(|t| t <= Utc::now().naive_utc()) {
        return Err(ApiError::Gone);
    }
    let Some(hash) = link.password_hash.clone() else {
        // Not (or no longer) protected: a visit like any other, counted and limited as a GET.
        count_visit(&state, &req, link.id, link.max_visits.is_some()).await?;
        return Ok(redirect_to(StatusCode::SEE_OTHER, link.url));
    };
    let password = form.into_inner().password;
    let matches = password.len() <= backend_kit::auth::password::MAX_BYTES
        && state.hasher.verify(password, Some(hash)).await?;
    if !matches {
        return Ok(password_form(
            &code,
            StatusCode::UNAUTHORIZED,
            Some("Wrong password."),
        ));
    }
    count_visit(&state, &req, link.id, link.max_visits.is_some()).await?;
    Ok(redirect_to(StatusCode::SEE_OTHER, link.url))
}

/// Counts a visit: at once and atomically for links with a visit limit (`410` when used up),
/// through the batch writer otherwise. Bots and `HEAD` requests (link checkers, previews) are
/// not visitors and are never counted — but a used-up link is `410` for them too.
async fn count_visit(
    state: &AppState,
    req: &HttpRequest,
    id: i64,
    limited: bool,
) -> Result<(), ApiError> {
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (browser, is_bot) = classify_user_agent(user_agent);
    let head = backend_kit::http::is_head(req);
    let counted = !is_bot && !head;
    if limited {
        let allowed = state
            .db
            .run(move |conn| {
                if counted {
                    links::take_limited_visit(conn, id)
                } else {
                    links::has_visits_left(conn, id)
                }
                .map_err(ApiError::from)
            })
            .await?;
        if !allowed {
            return Err(ApiError::Gone);
        }
    }
    if head {
        return Ok(());
    }
    let referrer_host = req
        .headers()
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(referrer_host);
    state.visits.record(Visit {
        row: NewVisit {
            link_id: id,
            visited_at: backend_kit::time::now(),
            referrer_host,
            browser: browser.to_string(),
            is_bot,
            hits: 1,
        },
        counted: limited && counted,
    });
    Ok(())
}

fn redirect_to(status: StatusCode, url: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::LOCATION, url))
        // Browsers may cache 301/308 forever; say how long a redirect may be reused.
        .insert_header((header::CACHE_CONTROL, "private, max-age=0"))
        .finish()
}

/// The small page a protected link shows. The code is restricted to `[A-Za-z0-9_-]` when
/// links are made, and escaped here anyway.
fn password_form(code: &str, status: StatusCode, error: Option<&str>) -> HttpResponse {
    let code: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let error = error
        .map(|e| format!("<p role=\"alert\" style=\"color:#b00020\">{e}</p>"))
        .unwrap_or_default();
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Password required</title></head>\
         <body style=\"font:16px system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem\">\
         <h1 style=\"font-size:1.3rem\">This link is password-protected</h1>{error}\
         <form method=\"post\" action=\"/{code}\">\
         <label>Password <input type=\"password\" name=\"password\" required autofocus></label> \
         <button type=\"submit\">Continue</button></form></body></html>"
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(page)
}
