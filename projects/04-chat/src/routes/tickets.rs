//! `POST /api/ws-ticket`: an access token in, a single-use WebSocket ticket out.

use actix_web::{HttpResponse, web};
use backend_kit::auth::AuthUser;
use backend_kit::db::{Database, DbError};
use backend_kit::http::{Error, ErrorBody};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::tickets::{self, TICKET_TTL};

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketResponse {
    /// Put it in `GET /ws?ticket=…` within `expiresIn` seconds; it works once.
    pub ticket: String,
    pub expires_in: u64,
}

/// A ticket to open a WebSocket as the token's user.
#[utoipa::path(post, path = "/api/ws-ticket", tag = "chat", security(("bearer" = [])),
    responses(
        (status = 201, description = "A ticket, valid once for 30 s", body = TicketResponse),
        (status = 401, description = "Missing or invalid access token", body = ErrorBody),
    ))]
pub async fn create(user: AuthUser, db: web::Data<Database>) -> Result<HttpResponse, Error> {
    let ticket = db
        .run(move |conn| tickets::issue(conn, user.id).map_err(DbError::from))
        .await?;
    Ok(HttpResponse::Created().json(TicketResponse {
        ticket,
        expires_in: TICKET_TTL.as_secs(),
    }))
}
