//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations and
//! the request/response types, so it cannot drift from the code. Served at `/openapi.json`;
//! Swagger UI at `/docs` (its assets are compiled into the binary: works offline).

use utoipa::OpenApi;

use backend_kit::auth::routes as auth;
use backend_kit::http::BearerAuth;

use crate::routes::todos;

pub use backend_kit::http::{ErrorBody, ValidationErrorBody};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "todo-api",
        description = "Capstone 1 of Backend Roadmap Capstones: a todo-list REST API with JWT authentication.",
        version = "0.1.0"
    ),
    paths(
        auth::register, auth::login, auth::refresh, auth::logout,
        todos::create, todos::list, todos::get, todos::replace, todos::update, todos::delete,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and tokens"),
        (name = "todos", description = "The caller's todos"),
    )
)]
pub struct ApiDoc;
