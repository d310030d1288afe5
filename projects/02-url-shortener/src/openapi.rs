//! The OpenAPI 3.1 document, generated from the handlers; served at `/openapi.json`, with
//! Swagger UI at `/docs`.

use backend_kit::auth::routes as auth;
use backend_kit::http::BearerAuth;
use utoipa::OpenApi;

use crate::routes::{jobs, links, qr};

pub use backend_kit::http::{ErrorBody, ValidationErrorBody};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "url-shortener",
        description = "Capstone 2 of Backend Roadmap Capstones: a URL shortener. `GET /{code}` redirects (not listed: it is not JSON).",
        version = "0.1.0"
    ),
    paths(auth::register, auth::login, auth::refresh, auth::logout, links::create, links::get, links::update, links::delete, links::stats, qr::qr, jobs::import_csv, jobs::get_job),
    modifiers(&BearerAuth),
    tags((name = "links", description = "Short links"), (name = "jobs", description = "Background imports"), (name = "auth", description = "Accounts and tokens"))
)]
pub struct ApiDoc;
