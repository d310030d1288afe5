//! `GET /{code}`: the hot path, served from the link cache ([`crate::link_cache`]): a hit
//! answers without touching the database.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::AppState;
use crate::error::ApiError;
use crate::links::{self, Followed, Visitor};

pub async fn follow(
    state: web::Data<AppState>,
    code: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let code = code.into_inner();
    match links::follow(&state, &code, &visitor(&req)).await? {
        Followed::To { status, url } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FOUND);
            Ok(redirect_to(status, url))
        }
        Followed::NeedsPassword => Ok(password_form(&code, StatusCode::OK, None)),
    }
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
    let password = form.into_inner().password;
    match links::unlock(&state, &code, password, &visitor(&req)).await? {
        Some((_, url)) => Ok(redirect_to(StatusCode::SEE_OTHER, url)),
        None => Ok(password_form(
            &code,
            StatusCode::UNAUTHORIZED,
            Some("Wrong password."),
        )),
    }
}

/// The visitor as the request shows them: `User-Agent`, `Referer`, and whether it is a
/// visit at all (`HEAD` — link checkers, previews — is not).
fn visitor(req: &HttpRequest) -> Visitor<'_> {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    Visitor {
        user_agent: header(header::USER_AGENT).unwrap_or(""),
        referrer: header(header::REFERER),
        record: !backend_kit::http::is_head(req),
    }
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
