//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations.
//! Served at `/openapi.json`, Swagger UI at `/docs`. The WebSocket's frames are not HTTP and
//! OpenAPI cannot describe them: they are JSON Schema at `/protocol.json`.

use utoipa::OpenApi;

use crate::routes::{mentions, rooms, tickets};

#[derive(OpenApi)]
#[openapi(
    paths(
        tickets::create,
        rooms::list,
        rooms::create,
        rooms::history,
        mentions::confirm,
        mentions::unsubscribe,
        crate::ws::upgrade
    ),
    tags((name = "chat", description = "Rooms, history and the WebSocket (frames: /protocol.json)"))
)]
pub struct ApiDoc;

/// This project's paths and the kit's account endpoints, which the chat mounts under `/api`.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let mut accounts = backend_kit::auth::routes::documented(utoipa::openapi::OpenApi::new(
        utoipa::openapi::Info::new("", ""),
        utoipa::openapi::Paths::new(),
    ));
    let paths = std::mem::take(&mut accounts.paths.paths);
    accounts.paths.paths = paths
        .into_iter()
        .map(|(path, item)| (format!("/api{path}"), item))
        .collect();
    doc.merge(accounts);
    doc
}
