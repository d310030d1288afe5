//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations and
//! the request/response types, so it cannot drift from the code. Served at `/openapi.json`;
//! Swagger UI at `/docs` (its assets are compiled into the binary: works offline). The
//! account endpoints' contract is the same in every capstone, so their description is the
//! kit's: `backend_kit::auth::routes::documented` adds it.

use utoipa::OpenApi;

use crate::routes::todos;

pub use backend_kit::http::{ErrorBody, JsonBodyErrors, OwnerOnlyErrors, ValidationErrorBody};

/// Title, version and description come from `Cargo.toml`.
#[derive(OpenApi)]
#[openapi(
    paths(todos::create, todos::list, todos::get, todos::replace, todos::update, todos::delete),
    tags((name = "todos", description = "The caller's todos"))
)]
pub struct ApiDoc;

/// The whole document: this project's paths and the kit's account endpoints.
pub fn document() -> utoipa::openapi::OpenApi {
    backend_kit::auth::routes::documented(ApiDoc::openapi())
}
