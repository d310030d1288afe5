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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RoomsQuery {
    /// Rooms after this name (the last name of the previous page).
    pub after: Option<String>,
    /// Rooms per page, 1–100 (100).
    pub limit: Option<String>,
}

/// Rooms per page, at most.
const MAX_ROOMS_PAGE: i64 = 100;

/// Rooms by name, a page at a time (keyset: `after` the last name seen). A `Link` header with
/// `rel="next"` names the next page while there is one.
#[utoipa::path(get, path = "/api/rooms", tag = "chat", params(RoomsQuery),
    responses(
        (status = 200, description = "Rooms by name", body = [RoomSummary]),
        (status = 400, description = "Invalid limit", body = ValidationErrorBody),
    ))]
pub async fn list(
    db: web::Data<Database>,
    realtime: web::Data<Realtime>,
    query: web::Query<RoomsQuery>,
) -> Result<HttpResponse, Error> {
    let RoomsQuery { after, limit } = query.into_inner();
    let limit = match limit.as_deref().map(str::parse::<i64>) {
        None => MAX_ROOMS_PAGE,
        Some(Ok(n)) if (1..=MAX_ROOMS_PAGE).contains(&n) => n,
        Some(_) => {
            return Err(Error::validation(FieldErrors::single(
                "limit",
                "must be a whole number from 1 to 100",
            )));
        }
    };
    let from = after.clone();
    let found = db
        .run(move |conn| rooms::page(conn, from.as_deref(), limit + 1).map_err(DbError::from))
        .await?;
    let more = found.len() as i64 > limit;
    let found = &found[..found.len().min(limit as usize)];
    let names: Vec<String> = found.iter().map(|(name, _)| name.clone()).collect();
    let online = realtime.fanout.online_counts(&names).await;
    let body: Vec<RoomSummary> = found
        .iter()
        .zip(online)
        .map(|((name, last_seq), online)| RoomSummary {
            name: name.clone(),
            online,
            last_seq: *last_seq,
        })
        .collect();
    let mut response = HttpResponse::Ok();
    if let (true, Some(last)) = (more, names.last()) {
        // Room names are `[a-z0-9-]`: nothing to escape in the URL.
        let next = format!("</api/rooms?after={last}&limit={limit}>; rel=\"next\"");
        response.insert_header((actix_web::http::header::LINK, next));
    }
    Ok(response.json(body))
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
