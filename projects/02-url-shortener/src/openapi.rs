//! The OpenAPI 3.1 document, generated from the handlers; served at `/openapi.json`, with
//! Swagger UI at `/docs`.

use utoipa::OpenApi;

use crate::routes::{jobs, links, qr};

pub use backend_kit::http::{ErrorBody, JsonBodyErrors, OwnerOnlyErrors, ValidationErrorBody};

/// Title, version and description come from `Cargo.toml`.
#[derive(OpenApi)]
#[openapi(
    paths(links::create, links::get, links::update, links::delete, links::stats, qr::qr, jobs::import_csv, jobs::get_job),
    tags((name = "links", description = "Short links"), (name = "jobs", description = "Background imports"))
)]
pub struct ApiDoc;

/// The whole document: this project's paths and the kit's account endpoints
/// (`/register`, `/login`, `/refresh`, `/logout`).
pub fn document() -> utoipa::openapi::OpenApi {
    backend_kit::auth::routes::documented(ApiDoc::openapi())
}
