//! `/api/rooms`: the list (with who is online), creating one, and a room's history.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use backend_kit::auth::AuthUser;
use backend_kit::db::{Database, DbError};
use backend_kit::http::{Error, ErrorBody, FieldErrors, Json, JsonBodyErrors, ValidationErrorBody};
use backend_kit::rate_limit::RateLimiter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::{messages, rooms};
use crate::domain::RoomName;
use crate::protocol::MessageView;
use crate::ws::Realtime;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomSummary {
    pub name: String,
    /// Users online in the room (on every instance).
    pub online: usize,
    /// The room's newest message's `seq` (0: none yet).
    pub last_seq: i64,
}

/// Every room.
#[utoipa::path(get, path = "/api/rooms", tag = "chat",
    responses((status = 200, description = "Rooms by name", body = [RoomSummary])))]
pub async fn list(
    db: web::Data<Database>,
    realtime: web::Data<Realtime>,
) -> Result<HttpResponse, Error> {
    let found = db
        .run(|conn| rooms::list(conn).map_err(DbError::from))
        .await?;
    let names: Vec<String> = found.iter().map(|(name, _)| name.clone()).collect();
    let online = realtime.fanout.online_counts(&names).await;
    let body: Vec<RoomSummary> = found
        .into_iter()
        .zip(online)
        .map(|((name, last_seq), online)| RoomSummary {
            name,
            online,
            last_seq,
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateRoom {
    /// 1–32 of `a-z`, `0-9`, `-`.
    #[schema(value_type = String, required = true, example = "rust")]
    pub name: Option<String>,
}

/// The per-account budget for creating rooms.
pub struct RoomLimiter(pub Arc<RateLimiter>);

/// Create a room.
#[utoipa::path(post, path = "/api/rooms", tag = "chat", security(("bearer" = [])), request_body = CreateRoom,
    responses(
        (status = 201, description = "Created", body = RoomSummary),
        (status = 400, description = "Invalid name", body = ValidationErrorBody),
        (status = 401, description = "Missing or invalid access token", body = ErrorBody),
        (status = 409, description = "Taken", body = ErrorBody),
        JsonBodyErrors,
        (status = 429, description = "Too many rooms created this hour", body = ErrorBody),
    ))]
pub async fn create(
    user: AuthUser,
    db: web::Data<Database>,
    limiter: web::Data<RoomLimiter>,
    body: Json<CreateRoom>,
) -> Result<HttpResponse, Error> {
    let raw = body.into_inner().name.unwrap_or_default();
    let name = RoomName::parse(&raw)
        .map_err(|rule| Error::validation(FieldErrors::single("name", rule)))?;
    limiter
        .0
        .check(&format!("user:{}", user.id))
        .await
        .into_result()?;
    let room = name.clone();
    let created = db
        .run(move |conn| rooms::create(conn, &room, user.id).map_err(DbError::from))
        .await?;
    if !created {
        return Err(Error::Conflict {
            field: "name",
            message: format!("A room called {name} exists already"),
        });
    }
    Ok(HttpResponse::Created().json(RoomSummary {
        name: name.to_string(),
        online: 0,
        last_seq: 0,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Only messages with a smaller `seq` (exclusive).
    pub before: Option<i64>,
    /// 1–100 (default 50).
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct History<'a> {
    /// Oldest first.
    #[schema(value_type = Vec<Object>)]
    pub messages: Vec<MessageView<'a>>,
}

/// A page of a room's messages: the newest `limit`, or the `limit` just below `before`.
#[utoipa::path(get, path = "/api/rooms/{name}/messages", tag = "chat", security(("bearer" = [])),
    params(("name" = String, Path, description = "The room"), HistoryQuery),
    responses(
        (status = 200, description = "Oldest first"),
        (status = 400, description = "Invalid before or limit", body = ErrorBody),
        (status = 401, description = "Missing or invalid access token", body = ErrorBody),
        (status = 404, description = "No such room", body = ErrorBody),
    ))]
pub async fn history(
    _user: AuthUser,
    db: web::Data<Database>,
    path: web::Path<String>,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, Error> {
    let room = RoomName::parse(&path.into_inner()).map_err(|_| Error::NotFound)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(Error::BadRequest("limit must be between 1 and 100".into()));
    }
    if query.before.is_some_and(|b| b < 1) {
        return Err(Error::BadRequest("before must be 1 or more".into()));
    }
    let (before, name) = (query.before, room.clone());
    let page = db
        .run(move |conn| messages::page(conn, &name, before, limit).map_err(DbError::from))
        .await?
        .ok_or(Error::NotFound)?;
    let body = History {
        messages: page
            .iter()
            .map(|m| MessageView::new(room.as_str(), m))
            .collect(),
    };
    Ok(HttpResponse::Ok().json(body))
}
