//! `/todos` and `/todos/{id}`: a user's own todos. Every handler takes an `AuthUser`, so
//! none runs without a valid access token.

use actix_web::{HttpResponse, web};
use backend_kit::auth::AuthUser;
use backend_kit::db::Database;
use backend_kit::http::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::todos::{self as queries, NewTodo, Todo, TodoChanges};
use crate::domain::listing::RawListQuery;
use crate::domain::{Description, FieldErrors, ListQuery, Title};
use crate::error::ApiError;
use crate::openapi::{ErrorBody, JsonBodyErrors, OwnerOnlyErrors, ValidationErrorBody};

/// Body of `POST /todos` and `PUT /todos/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TodoRequest {
    /// 1 to 200 characters.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200, example = "Buy groceries")]
    pub title: Option<String>,
    /// Up to 10 000 characters; empty when left out.
    #[schema(max_length = 10000, example = "Milk, eggs, bread")]
    pub description: Option<String>,
    /// `PUT` only (ignored by `POST`); false when left out.
    pub completed: Option<bool>,
}

impl TodoRequest {
    /// Title (required), description (empty when left out), completed (false when left out).
    fn parse(self) -> Result<(Title, Description, bool), ApiError> {
        let mut errors = FieldErrors::default();
        let title = match self.title {
            None => errors.check("title", Err("is required")),
            Some(raw) => errors.check("title", Title::parse(raw)),
        };
        let description = self.description.unwrap_or_default();
        let description = errors.check("description", Description::parse(description));
        match (title, description) {
            (Some(title), Some(description)) => {
                Ok((title, description, self.completed.unwrap_or(false)))
            }
            _ => Err(ApiError::validation(errors)),
        }
    }
}

/// Body of `PATCH /todos/{id}`: any subset of the fields.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TodoPatch {
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    pub completed: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TodoResponse {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub completed: bool,
    #[serde(serialize_with = "backend_kit::time::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-01-02T03:04:05.678901Z")]
    pub created_at: chrono::NaiveDateTime,
    #[serde(serialize_with = "backend_kit::time::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-01-02T03:04:05.678901Z")]
    pub updated_at: chrono::NaiveDateTime,
}

impl From<Todo> for TodoResponse {
    fn from(t: Todo) -> Self {
        Self {
            id: t.id,
            title: t.title,
            description: t.description,
            completed: t.completed,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TodoPage {
    pub data: Vec<TodoResponse>,
    pub page: u32,
    pub limit: u32,
    /// Todos matching the filters, on all pages.
    pub total: i64,
}

/// Loads todo `id`, checks that `user` owns it, then runs `then` on it — all on one pooled
/// connection in one blocking task.
async fn with_owned_todo<T: Send + 'static>(
    db: &Database,
    user: AuthUser,
    id: i64,
    then: impl FnOnce(&mut backend_kit::db::AnyConnection, Todo) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    db.run(move |conn| {
        let todo = queries::find(conn, id)?.ok_or(ApiError::NotFound)?;
        if todo.user_id != user.id {
            return Err(ApiError::Forbidden);
        }
        then(conn, todo)
    })
    .await
}

/// Applies `changes` to the caller's todo `id` (PUT and PATCH) and answers with the result.
async fn save_changes(
    db: &Database,
    user: AuthUser,
    id: i64,
    changes: TodoChanges,
) -> Result<HttpResponse, ApiError> {
    let todo = with_owned_todo(db, user, id, move |conn, todo| {
        Ok(queries::update(conn, &todo, changes)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(TodoResponse::from(todo)))
}

/// Create a todo.
#[utoipa::path(post, path = "/todos", tag = "todos", request_body = TodoRequest, security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = TodoResponse),
        (status = 400, description = "Invalid input", body = ValidationErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        JsonBodyErrors,
    ))]
pub async fn create(
    db: web::Data<Database>,
    user: AuthUser,
    body: Json<TodoRequest>,
) -> Result<HttpResponse, ApiError> {
    let (title, description, _) = body.into_inner().parse()?;
    let new = NewTodo {
        user_id: user.id,
        title: title.into_inner(),
        description: description.into_inner(),
    };
    let todo = db
        .run(move |conn| queries::insert(conn, new).map_err(ApiError::from_caller_insert))
        .await?;
    Ok(HttpResponse::Created().json(TodoResponse::from(todo)))
}

/// One page of the caller's todos, filtered and sorted.
#[utoipa::path(get, path = "/todos", tag = "todos", params(RawListQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of todos", body = TodoPage),
        (status = 400, description = "Invalid query parameters", body = ValidationErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
    ))]
pub async fn list(
    db: web::Data<Database>,
    user: AuthUser,
    raw: web::Query<RawListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = ListQuery::parse(raw.into_inner()).map_err(ApiError::validation)?;
    let (page, limit) = (query.page, query.limit);
    let (rows, total) = db
        .run(move |conn| queries::list(conn, user.id, &query).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::Ok().json(TodoPage {
        data: rows.into_iter().map(TodoResponse::from).collect(),
        page,
        limit,
        total,
    }))
}

/// One todo.
#[utoipa::path(get, path = "/todos/{id}", tag = "todos", params(("id" = i64, Path, description = "Todo id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The todo", body = TodoResponse),
        (status = 400, description = "id is not a number", body = ErrorBody),
        OwnerOnlyErrors,
    ))]
pub async fn get(
    db: web::Data<Database>,
    user: AuthUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let todo = with_owned_todo(&db, user, id.into_inner(), |_, todo| Ok(todo)).await?;
    Ok(HttpResponse::Ok().json(TodoResponse::from(todo)))
}

/// Replace title, description and completed at once (left-out optional fields reset).
#[utoipa::path(put, path = "/todos/{id}", tag = "todos", request_body = TodoRequest, params(("id" = i64, Path, description = "Todo id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = TodoResponse),
        (status = 400, description = "Invalid input", body = ValidationErrorBody),
        JsonBodyErrors,
        OwnerOnlyErrors,
    ))]
pub async fn replace(
    db: web::Data<Database>,
    user: AuthUser,
    id: web::Path<i64>,
    body: Json<TodoRequest>,
) -> Result<HttpResponse, ApiError> {
    let (title, description, completed) = body.into_inner().parse()?;
    let changes = TodoChanges {
        title: Some(title.into_inner()),
        description: Some(description.into_inner()),
        completed: Some(completed),
        ..TodoChanges::default()
    };
    save_changes(&db, user, id.into_inner(), changes).await
}

/// Change any subset of title, description and completed.
#[utoipa::path(patch, path = "/todos/{id}", tag = "todos", request_body = TodoPatch, params(("id" = i64, Path, description = "Todo id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = TodoResponse),
        (status = 400, description = "Invalid input", body = ValidationErrorBody),
        JsonBodyErrors,
        OwnerOnlyErrors,
    ))]
pub async fn update(
    db: web::Data<Database>,
    user: AuthUser,
    id: web::Path<i64>,
    body: Json<TodoPatch>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut errors = FieldErrors::default();
    let title = body
        .title
        .map(|raw| errors.check("title", Title::parse(raw)));
    let description = body
        .description
        .map(|raw| errors.check("description", Description::parse(raw)));
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let changes = TodoChanges {
        title: title.flatten().map(Title::into_inner),
        description: description.flatten().map(Description::into_inner),
        completed: body.completed,
        ..TodoChanges::default()
    };
    save_changes(&db, user, id.into_inner(), changes).await
}

/// Delete a todo.
#[utoipa::path(delete, path = "/todos/{id}", tag = "todos", params(("id" = i64, Path, description = "Todo id")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "id is not a number", body = ErrorBody),
        OwnerOnlyErrors,
    ))]
pub async fn delete(
    db: web::Data<Database>,
    user: AuthUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    with_owned_todo(&db, user, id.into_inner(), |conn, todo| {
        Ok(queries::delete(conn, todo.id)?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
