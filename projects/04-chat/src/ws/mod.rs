//! `GET /ws`: the WebSocket upgrade, and what happens before it.
//!
//! Everything that can refuse a client is checked on the HTTP request, so the refusal is a
//! plain JSON error a client can read (after the upgrade there is only a close code):
//! 1. **Origin** (`403`): a page on another site could otherwise open a socket with the
//!    visitor's ticket or cookies — cross-site WebSocket hijacking. Browsers always send
//!    `Origin`; clients that send none (the CLI) are not browsers and are let through.
//! 2. **Who**: `?ticket=` (an account, `401` unless the ticket is known, unused and younger
//!    than 30 s) or `?guest=NAME` (when guests are allowed; `409` if an account has that
//!    name — see `identify`).
//! 3. The upgrade itself; then [`connection::run`] owns the socket.

pub mod connection;
mod frame_guard;
mod limits;

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use backend_kit::auth::Auth;
use backend_kit::db::{Database, DbError};
use backend_kit::http::Error;
use diesel::prelude::*;
use serde::Deserialize;

use crate::domain::{GuestName, UserKey};
use crate::fanout::Fanout;
use crate::mentions::Mentions;

/// Largest frame a client may send (after reassembling continuations); over it: close 1009.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// What every connection shares.
pub struct Realtime {
    pub db: Database,
    pub fanout: Arc<Fanout>,
    pub mentions: Arc<Mentions>,
    pub settings: connection::Settings,
    pub allow_guests: bool,
    pub allowed_origins: Vec<String>,
}

/// Who is on the other end of a connection.
#[derive(Debug, Clone)]
pub struct Who {
    pub key: UserKey,
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct WsQuery {
    ticket: Option<String>,
    guest: Option<String>,
}

/// Opens the WebSocket (frames: `/protocol.json`). Give `ticket` (from `POST
/// /api/ws-ticket`) or `guest`.
#[utoipa::path(get, path = "/ws", tag = "chat",
    params(
        ("ticket" = Option<String>, Query, description = "A ticket from POST /api/ws-ticket"),
        ("guest" = Option<String>, Query, description = "A guest name (when guests are allowed)"),
    ),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "Not a WebSocket upgrade, or an invalid guest name", body = backend_kit::http::ErrorBody),
        (status = 401, description = "Missing, unknown, used or expired ticket", body = backend_kit::http::ErrorBody),
        (status = 403, description = "Origin not allowed", body = backend_kit::http::ErrorBody),
        (status = 409, description = "The guest name belongs to an account", body = backend_kit::http::ErrorBody),
    ))]
pub async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    query: web::Query<WsQuery>,
    realtime: web::Data<Realtime>,
    auth: web::Data<Auth>,
) -> Result<HttpResponse, Error> {
    if !origin_allowed(&req, &realtime.allowed_origins) {
        return Err(Error::Forbidden);
    }
    if query.ticket.is_none() && query.guest.is_none() {
        return Err(Error::Unauthorized);
    }
    // Checked before the ticket is spent: a request that is no upgrade must not use it up.
    let is_upgrade = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !is_upgrade {
        return Err(Error::BadRequest(
            "Expected a WebSocket upgrade (Upgrade: websocket)".into(),
        ));
    }
    let who = identify(&query, &realtime, &auth).await?;
    if realtime.fanout.hub().is_closing() {
        return Err(Error::Unavailable("The server is shutting down".into()));
    }
    // Frames are refused by the length their header announces, before they are buffered.
    let guarded = frame_guard::FrameGuard::new(body.into_inner(), MAX_FRAME_BYTES);
    let mut payload = actix_web::dev::Payload::from(Box::pin(guarded)
        as std::pin::Pin<
            Box<
                dyn futures_util::Stream<Item = Result<web::Bytes, actix_web::error::PayloadError>>,
            >,
        >);
    // Taking a request's payload cannot fail (the extractor is infallible in practice).
    let body = <web::Payload as actix_web::FromRequest>::from_request(&req, &mut payload)
        .await
        .map_err(|e| Error::Internal(format!("could not take the request body: {e}")))?;
    let (response, session, stream) = actix_ws::handle(&req, body)
        .map_err(|e| Error::BadRequest(format!("Invalid WebSocket handshake: {e}")))?;
    let realtime = realtime.into_inner();
    actix_web::rt::spawn(connection::run(realtime, who, session, stream));
    Ok(response)
}

/// An account from a ticket, or a guest. A guest may not use a name an account has, nor one
/// that reads as it (`B0b` beside `Bob`, `ann.` beside `Ann`: the kit's `name_key`, a Unicode
/// skeleton): frames show names, and "ann" the guest must not pass for Ann the account holder. Guests' ids (`guest:NAME`) can never equal an account's (a
/// number), so presence and edit rights cannot be confused either.
async fn identify(query: &WsQuery, realtime: &Realtime, auth: &Auth) -> Result<Who, Error> {
    if let Some(ticket) = query.ticket.clone() {
        let user_id = realtime
            .db
            .run(move |conn| crate::db::tickets::redeem(conn, &ticket).map_err(DbError::from))
            .await?
            .ok_or(Error::Unauthorized)?;
        let user = auth
            .find_user(user_id)
            .await
            .map_err(Error::from)?
            .ok_or(Error::Unauthorized)?;
        return Ok(Who {
            key: UserKey::account(user.id),
            name: user.name,
        });
    }
    if !realtime.allow_guests {
        return Err(Error::Unauthorized);
    }
    let raw = query.guest.as_deref().unwrap_or_default();
    let name = GuestName::parse(raw)
        .map_err(|rule| Error::BadRequest(format!("Invalid guest name: {rule}")))?;
    let lowered = name.as_str().to_lowercase();
    let key = backend_kit::auth::name::name_key(name.as_str());
    let taken: bool = realtime
        .db
        .run(move |conn| {
            use crate::db::schema::users;
            // By key (what looks alike compares equal); and by plain name, for an account
            // whose key is empty (a name of no letters or digits).
            diesel::select(diesel::dsl::exists(
                users::table.filter(
                    users::name_key
                        .eq(key)
                        .or(crate::db::lower(users::name).eq(lowered)),
                ),
            ))
            .get_result(conn)
            .map_err(DbError::from)
        })
        .await?;
    if taken {
        return Err(Error::Conflict {
            field: "guest",
            message: format!(
                "The name {} belongs to an account: sign in, or pick another",
                name.as_str()
            ),
        });
    }
    Ok(Who {
        key: UserKey::guest(&name),
        name: name.as_str().to_string(),
    })
}

/// No `Origin` (not a browser), the server's own origin (scheme-less compare with `Host`),
/// or one of `ALLOWED_ORIGINS`.
fn origin_allowed(req: &HttpRequest, allowed: &[String]) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.to_ascii_lowercase();
    if allowed.contains(&origin) {
        return true;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_ascii_lowercase);
    let own = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    matches!((own, host), (Some(own), Some(host)) if own == host)
}
