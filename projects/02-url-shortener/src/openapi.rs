//! The OpenAPI 3.1 document, generated from the handlers; served at `/openapi.json`, with
//! Swagger UI at `/docs`.

use std::collections::BTreeMap;

use utoipa::{OpenApi, ToSchema};

use crate::routes::{links, qr};

/// Body of every error response.
#[derive(ToSchema)]
pub struct ErrorBody {
    #[schema(example = "Not Found")]
    pub message: String,
}

/// Body of a 400: the message plus, per field, what is wrong with it.
#[derive(ToSchema)]
pub struct ValidationErrorBody {
    #[schema(example = "Validation failed")]
    pub message: String,
    #[schema(example = json!({"url": ["must use http or https"]}))]
    pub errors: Option<BTreeMap<String, Vec<String>>>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "url-shortener",
        description = "Capstone 2 of Backend Roadmap Capstones: a URL shortener. `GET /{code}` redirects (not listed: it is not JSON).",
        version = "0.1.0"
    ),
    paths(links::create, links::get, links::update, links::delete, links::stats, qr::qr),
    tags((name = "links", description = "Short links"))
)]
pub struct ApiDoc;
