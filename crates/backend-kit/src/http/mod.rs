//! HTTP plumbing every capstone shares, so each project's `startup.rs` stays short:
//!
//! - [`telemetry`]: `tracing` logs, human-readable in development and JSON in production;
//!   `TracingLogger` gives every request a span with a request id.
//! - [`configure_extractors`]: JSON, path and query errors become `400 {"message": …}`
//!   (a JSON body's also lists the problem under `errors.body`; actix answers in plain text
//!   by default), oversized bodies `413`, wrong content type `415`.
//! - [`health`]: `/health` (the process is up) and `/ready` (its database, Redis and job queue answer).
//! - [`validation`]: `FieldErrors`, the 400 that lists every invalid field.
//! - [`configure_docs`]: `/openapi.json` and Swagger UI at `/docs`, served from the binary.
//! - [`bind`] and [`announce`]: listen on `HOST:PORT` (port 0 in tests) and say where.
//!
//! Graceful shutdown comes with actix-web: on SIGINT or SIGTERM the server stops accepting,
//! lets requests in flight finish (up to the shutdown timeout), then returns.

pub mod health;
pub mod telemetry;
pub mod validation;

pub use validation::{BearerAuth, ErrorBody, FieldErrors, ValidationErrorBody, reject_nul};

use std::net::TcpListener;

use actix_web::error::{InternalError, JsonPayloadError, PayloadError};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::config::Settings;

/// Largest JSON body accepted (64 KiB); larger ones get a 413.
pub const BODY_LIMIT: usize = 64 * 1024;

/// `{"message": …}` with the given status: the body of every error in every capstone.
pub fn error_response(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "message": message.into() }))
}

/// Registers extractor settings whose errors are JSON, not actix's plain-text defaults.
pub fn configure_extractors(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(BODY_LIMIT)
            .error_handler(|err, _req| {
                let response = json_error_response(&err);
                InternalError::from_response(err, response).into()
            }),
    )
    .app_data(web::PayloadConfig::new(BODY_LIMIT))
    .app_data(web::PathConfig::default().error_handler(|err, _req| {
        let response = error_response(
            StatusCode::BAD_REQUEST,
            format!("Invalid path parameter: {err}"),
        );
        InternalError::from_response(err, response).into()
    }))
    .app_data(web::QueryConfig::default().error_handler(|err, _req| {
        let response = error_response(
            StatusCode::BAD_REQUEST,
            format!("Invalid query string: {err}"),
        );
        InternalError::from_response(err, response).into()
    }));
}

fn json_error_response(err: &JsonPayloadError) -> HttpResponse {
    let too_large = || {
        error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Request body is too large: the limit is {BODY_LIMIT} bytes"),
        )
    };
    match err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            too_large()
        }
        JsonPayloadError::Payload(PayloadError::Overflow) => too_large(),
        JsonPayloadError::ContentType => error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            invalid_body("Invalid request body", e.to_string())
        }
        JsonPayloadError::Deserialize(e) => invalid_body("Malformed JSON", e.to_string()),
        other => invalid_body("Invalid request body", other.to_string()),
    }
}

/// A body that could not be read as the expected JSON: the same `{"message", "errors"}`
/// shape as a validation failure, the problem listed under `body` (serde names no field).
fn invalid_body(message: &str, problem: String) -> HttpResponse {
    HttpResponse::build(StatusCode::BAD_REQUEST).json(json!({
        "message": format!("{message}: {problem}"),
        "errors": { "body": [problem] },
    }))
}

/// The default service: unknown routes answer `404 {"message": "Not Found"}`.
pub async fn not_found(_req: HttpRequest) -> HttpResponse {
    error_response(StatusCode::NOT_FOUND, "Not Found")
}

/// Binds `HOST:PORT`; with port 0 the OS picks a free port (what tests do).
pub fn bind(settings: &Settings) -> std::io::Result<TcpListener> {
    TcpListener::bind((settings.host.as_str(), settings.port))
}

/// The start-up line: where the server listens and where its docs are.
pub fn announce(settings: &Settings, listener: &TcpListener) {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(
            "{} listening on http://{addr} (API docs: http://{addr}/docs, health: http://{addr}/health)",
            settings.app_name
        );
    }
}

/// For a resource's `default_service`: a known path with an unsupported method.
pub async fn method_not_allowed(_req: HttpRequest) -> HttpResponse {
    error_response(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
}

/// The API documentation: the OpenAPI document at `/openapi.json` and Swagger UI at `/docs`
/// (its assets are compiled into the binary, so it works offline; `/docs` redirects to `/docs/`).
pub fn configure_docs(cfg: &mut web::ServiceConfig, openapi: utoipa::openapi::OpenApi) {
    cfg.route(
        "/docs",
        web::get().to(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header((actix_web::http::header::LOCATION, "/docs/"))
                .finish()
        }),
    )
    .service(utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", openapi));
}
