//! `GET /api/tags`: read from the `tags` table and its maintained counts, most used first.

use actix_web::{HttpResponse, web};
use backend_kit::db::Database;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::articles;
use crate::error::ApiError;

/// The front ends show "popular tags": the most used ones are enough.
pub const TAGS_SHOWN: i64 = 200;

#[derive(Debug, Serialize, ToSchema)]
pub struct TagsResponse {
    /// Distinct, most used first (ties by name); at most 200.
    pub tags: Vec<String>,
}

#[utoipa::path(
    get, path = "/api/tags", tag = "tags",
    responses((status = 200, description = "The most used tags", body = TagsResponse))
)]
pub async fn list(db: web::Data<Database>) -> Result<HttpResponse, ApiError> {
    let tags = db
        .run(|conn| articles::popular_tags(conn, TAGS_SHOWN).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::Ok().json(TagsResponse { tags }))
}
