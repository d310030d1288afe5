//! `/api/articles/{slug}/comments`: read by anyone, written by users, deleted by their author.

use actix_web::{HttpResponse, web};
use backend_kit::auth::{AuthUser, MaybeAuthUser};
use backend_kit::db::Database;
use backend_kit::http::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::articles as article_queries;
use crate::db::comments::{self as queries, Comment, Page};
use crate::domain::CommentBody;
use crate::error::ApiError;
use crate::openapi::{BodyErrors, BudgetErrors, Errors, OwnedErrors};
use crate::routes::WriteLimits;
use crate::routes::profiles::ProfileBody;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CommentEnvelope {
    pub comment: NewComment,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewComment {
    /// 1–5 000 characters, kept verbatim.
    #[schema(value_type = String, required = true, max_length = 5000, example = "Thank you so much!")]
    pub body: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommentBodyJson {
    pub id: i64,
    #[serde(serialize_with = "backend_kit::time::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-01-02T03:04:05.678901Z")]
    pub created_at: chrono::NaiveDateTime,
    #[serde(serialize_with = "backend_kit::time::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-01-02T03:04:05.678901Z")]
    pub updated_at: chrono::NaiveDateTime,
    pub body: String,
    pub author: ProfileBody,
}

impl CommentBodyJson {
    /// `createdAt` as the API writes it (the pages' `<time datetime>`).
    pub fn created_iso(&self) -> String {
        backend_kit::time::format(&self.created_at)
    }
}

impl From<Comment> for CommentBodyJson {
    fn from(c: Comment) -> Self {
        Self {
            id: c.row.id,
            created_at: c.row.created_at,
            updated_at: c.row.updated_at,
            body: c.row.body,
            author: c.author.into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentResponse {
    pub comment: CommentBodyJson,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentsResponse {
    /// Most recent first.
    pub comments: Vec<CommentBodyJson>,
}

/// A page of an article's comments: three queries (the article, its comments, their authors),
/// whatever their number; `404` if no such slug.
pub(crate) async fn load(
    db: &Database,
    slug: String,
    viewer: Option<i64>,
    page: Page,
) -> Result<Vec<CommentBodyJson>, ApiError> {
    let comments = list_comments(db, slug, viewer, page).await?;
    Ok(comments.into_iter().map(Into::into).collect())
}

/// A page of the comments on the article at `slug` (`404` if there is none).
pub(crate) async fn list_comments(
    db: &Database,
    slug: String,
    viewer: Option<i64>,
    page: Page,
) -> Result<Vec<Comment>, ApiError> {
    db.run(move |conn| {
        let (article, _) = article_queries::owner_of(conn, &slug)?.ok_or(ApiError::NotFound)?;
        queries::list(conn, article, viewer, page).map_err(ApiError::from)
    })
    .await
}

/// `?limit=&offset=` of the comment list. RealWorld clients send neither and get the newest
/// 100 — every comment of any ordinary article; a thread of thousands is read page by page.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommentsQuery {
    /// 1–100 (100).
    pub limit: Option<String>,
    /// 0–1 000 000 (0).
    pub offset: Option<String>,
}

#[utoipa::path(
    get, path = "/api/articles/{slug}/comments", tag = "comments",
    params(("slug" = String, Path), CommentsQuery),
    security((), ("Token" = [])),
    responses(
        (status = 200, description = "A page of the article's comments, most recent first", body = CommentsResponse),
        (status = 401, description = "A token was sent and is invalid", body = Errors),
        (status = 404, description = "No such article", body = Errors),
        (status = 422, description = "Invalid limit or offset", body = Errors),
    )
)]
pub async fn list(
    db: web::Data<Database>,
    slug: web::Path<String>,
    viewer: MaybeAuthUser,
    query: web::Query<CommentsQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    // The list's own checks, with its own default: every comment of an ordinary article.
    let (limit, offset) = super::page(query.limit.as_deref(), query.offset.as_deref(), Page::MAX)?;
    let slug = slug.into_inner();
    let comments = load(
        &db,
        slug.clone(),
        viewer.0.map(|u| u.id),
        Page { limit, offset },
    )
    .await?;
    let mut response = HttpResponse::Ok();
    // A full page may have more after it: say where (the RealWorld answer has no count).
    if comments.len() as i64 == limit {
        let next = format!(
            "</api/articles/{slug}/comments?limit={limit}&offset={}>; rel=\"next\"",
            offset + limit
        );
        response.insert_header((actix_web::http::header::LINK, next));
    }
    Ok(response.json(CommentsResponse { comments }))
}

#[utoipa::path(
    post, path = "/api/articles/{slug}/comments", tag = "comments",
    params(("slug" = String, Path)),
    security(("Token" = [])),
    request_body = CommentEnvelope,
    responses(
        (status = 200, description = "Added (the spec answers 200, not 201)", body = CommentResponse),
        (status = 401, description = "No valid token", body = Errors),
        (status = 404, description = "No such article", body = Errors),
        (status = 422, description = "Empty or too long", body = Errors),
        BodyErrors,
        BudgetErrors,
    )
)]
pub async fn create(
    db: web::Data<Database>,
    writes: web::Data<WriteLimits>,
    slug: web::Path<String>,
    caller: AuthUser,
    body: Json<CommentEnvelope>,
) -> Result<HttpResponse, ApiError> {
    let comment = add_comment(
        &db,
        &writes,
        slug.into_inner(),
        caller.id,
        body.into_inner().comment.body,
    )
    .await?;
    Ok(HttpResponse::Ok().json(CommentResponse {
        comment: comment.into(),
    }))
}

/// Adds `author`'s comment to the article at `slug`: the text checked, the budget spent.
pub(crate) async fn add_comment(
    db: &Database,
    writes: &WriteLimits,
    slug: String,
    author: i64,
    body: Option<String>,
) -> Result<Comment, ApiError> {
    let text = body
        .ok_or_else(|| ApiError::invalid("body", "is required"))
        .and_then(|b| CommentBody::parse(&b).map_err(|e| ApiError::invalid("body", e)))?;
    WriteLimits::spend(&writes.comments, author).await?;
    db.run(move |conn| {
        // A commenter from another capstone gets a handle readers can find.
        crate::db::profiles::ensure_username(conn, author)?;
        queries::create(conn, &slug, author, &text.into_inner()).map_err(ApiError::from)
    })
    .await?
    .ok_or(ApiError::NotFound)
}

#[utoipa::path(
    delete, path = "/api/articles/{slug}/comments/{id}", tag = "comments",
    params(("slug" = String, Path), ("id" = i64, Path)),
    security(("Token" = [])),
    responses(
        (status = 204, description = "Deleted"),
        OwnedErrors,
    )
)]
pub async fn delete(
    db: web::Data<Database>,
    path: web::Path<(String, String)>,
    caller: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let (slug, id) = path.into_inner();
    // A comment id that is not a number names no comment: 404, like an unknown one.
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound)?;
    delete_comment(&db, slug, id, caller.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Deletes comment `id` on the article at `slug`, if `me` wrote it.
pub(crate) async fn delete_comment(
    db: &Database,
    slug: String,
    id: i64,
    me: i64,
) -> Result<(), ApiError> {
    db.run(move |conn| {
        let (article, _) = article_queries::owner_of(conn, &slug)?.ok_or(ApiError::NotFound)?;
        match queries::author_of(conn, article, id)? {
            None => Err(ApiError::NotFound),
            Some(author) if author != me => Err(ApiError::Forbidden),
            Some(_) => queries::delete(conn, id).map_err(ApiError::from),
        }
    })
    .await
}
