//! `GET|POST /api/mentions/unsubscribe?token=…`: the link at the bottom of every mention
//! digest. `POST` is the one-click unsubscribe mail clients send for `List-Unsubscribe`
//! (RFC 8058); `GET` is the link followed in a browser.

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

/// No more mention digests for the link's user; what was waiting is dropped.
#[utoipa::path(get, path = "/api/mentions/unsubscribe", tag = "chat", params(TokenQuery),
    responses(
        (status = 200, description = "No more mention digests for this user (also with POST, for one-click unsubscribe, RFC 8058)", body = Unsubscribed),
        (status = 400, description = "Missing or forged token", body = ValidationErrorBody),
    ))]
pub async fn unsubscribe(
    req: HttpRequest,
    realtime: web::Data<Realtime>,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, Error> {
    // HEAD is answered by GET routes, but a link checker's HEAD must not unsubscribe anyone.
    if backend_kit::http::is_head(&req) {
        return Err(Error::MethodNotAllowed);
    }
    let user = query
        .into_inner()
        .token
        .and_then(|token| realtime.mentions.unsubscriber(&token))
        .ok_or_else(|| Error::invalid("token", "is missing or invalid"))?;
    realtime.mentions.unsubscribe(user).await?;
    Ok(HttpResponse::Ok().json(Unsubscribed { unsubscribed: true }))
}
