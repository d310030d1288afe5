//! `/api/mentions/unsubscribe?token=…`: the link at the bottom of every mention digest.
//!
//! - `GET` (the link followed in a browser) only shows a page with a button: mail scanners
//!   and link previews fetch links by themselves, and must not unsubscribe anyone.
//! - `POST` unsubscribes: the page's button, and the one-click unsubscribe mail clients send
//!   for `List-Unsubscribe-Post` (RFC 8058). JSON, or a short page for a browser.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use backend_kit::http::{Error, ValidationErrorBody};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::ws::Realtime;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenQuery {
    /// The token from the digest's link.
    pub token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Unsubscribed {
    pub unsubscribed: bool,
}

/// The user a link's token was made for; a missing or forged token is a `400`.
fn unsubscriber(realtime: &Realtime, query: TokenQuery) -> Result<i64, Error> {
    realtime
        .mentions
        .unsubscriber(&query.token.unwrap_or_default())
        .ok_or_else(|| Error::invalid("token", "is missing or invalid"))
}

fn page(body: &str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width\">\
             <title>Mention e-mails</title></head><body>{body}</body></html>"
        ))
}

/// A page asking to confirm: its button `POST`s the same link.
#[utoipa::path(get, path = "/api/mentions/unsubscribe", tag = "chat", params(TokenQuery),
    responses(
        (status = 200, description = "A page whose button unsubscribes (POST); following the link changes nothing", content_type = "text/html"),
        (status = 400, description = "Missing or forged token", body = ValidationErrorBody),
    ))]
pub async fn confirm(
    realtime: web::Data<Realtime>,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, Error> {
    unsubscriber(&realtime, query.into_inner())?;
    // No `action`: the form posts to this page's own URL, token included, wherever the
    // server is mounted.
    Ok(page(
        "<h1>Stop mention e-mails?</h1>\
         <p>You will no longer get an e-mail when someone mentions you in the chat while you are away.</p>\
         <form method=\"post\">\
         <input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
         <button type=\"submit\">Unsubscribe</button></form>",
    ))
}

/// No more mention digests for the link's user; what was waiting is dropped.
#[utoipa::path(post, path = "/api/mentions/unsubscribe", tag = "chat", params(TokenQuery),
    responses(
        (status = 200, description = "No more mention digests for this user (one-click, RFC 8058); a short page instead of JSON when the client accepts HTML", body = Unsubscribed),
        (status = 400, description = "Missing or forged token", body = ValidationErrorBody),
    ))]
pub async fn unsubscribe(
    req: HttpRequest,
    realtime: web::Data<Realtime>,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, Error> {
    let user = unsubscriber(&realtime, query.into_inner())?;
    realtime.mentions.unsubscribe(user).await?;
    let browser = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    Ok(if browser {
        page("<h1>Unsubscribed</h1><p>You will get no more mention e-mails from the chat.</p>")
    } else {
        HttpResponse::Ok().json(Unsubscribed { unsubscribed: true })
    })
}
