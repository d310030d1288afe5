//! HTTP pieces every capstone's `startup.rs` puts together (`HttpServer::new(move || App::new()…)`
//! is in each capstone, where a learner reads it):
//!
//! - [`bind`] and [`announce`]: the listening socket on `HOST:PORT`, and the start-up line.
//! - [`hardening::edge`]: the middleware every request meets first (HEAD, `%00`, body
//!   deadlines, security and cache headers).
//! - [`server::Server`]: serving until SIGINT/SIGTERM, then draining and the shutdown hooks.
//! - [`error`]: the one error type handlers return, and [`render_errors`] for another format.
//! - [`telemetry`]: `tracing` logs, human-readable in development and JSON in production.
//! - [`request_log`](request_log::request_log): every request's span (with a request id) and
//!   its access-log line.
//! - [`metrics`]: `/metrics` for Prometheus, requests and durations by route.
//! - [`configure_extractors`]: JSON, path and query errors become the kit's `400`s (actix
//!   answers in plain text by default), oversized bodies `413`, wrong content type `415`.
//! - [`health`]: `/health` (the process is up) and `/ready` (its database, Redis and job queue answer).
//! - [`docs`]: `/openapi.json` and Swagger UI at `/docs`, served from the binary, and the
//!   links a landing page ends with ([`LandingPage`]).
//! - [`not_found`]: the JSON `404` for the app's `default_service`.

pub mod docs;
pub mod error;
pub mod hardening;
pub mod health;
pub mod json;
pub mod metrics;
pub mod request_log;
pub mod server;
pub mod telemetry;

pub use crate::validation::{FieldErrors, reject_nul};
pub use docs::{
    BearerAuth, ErrorBody, JsonBodyErrors, LandingPage, OwnerOnlyErrors, ValidationErrorBody,
    configure_docs, landing_links,
};
pub use error::{Error, render_errors};
pub use hardening::is_head;
pub use json::Json;
pub use request_log::request_log;
pub use server::{SHUTDOWN_TIMEOUT_SECS, Server, StartupError};

use std::borrow::Cow;
use std::net::TcpListener;

use actix_web::error::{JsonPayloadError, PayloadError};
use actix_web::{HttpRequest, web};

use crate::config::Settings;

/// Largest JSON body accepted (64 KiB); larger ones get a 413.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Registers extractor settings whose errors are the kit's [`Error`], not actix's plain text.
pub fn configure_extractors(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(BODY_LIMIT)
            .error_handler(|err, _req| json_error(&err).into()),
    )
    .app_data(web::PayloadConfig::new(BODY_LIMIT))
    .app_data(
        web::FormConfig::default()
            .limit(BODY_LIMIT)
            .error_handler(|err, _req| form_error(err).into()),
    )
    .app_data(web::PathConfig::default().error_handler(|err, _req| {
        Error::BadRequest(format!("Invalid path parameter: {err}")).into()
    }))
    .app_data(web::QueryConfig::default().error_handler(|err, _req| {
        Error::BadRequest(format!("Invalid query string: {err}")).into()
    }));
}

pub(crate) fn json_error(err: &JsonPayloadError) -> Error {
    let too_large = || {
        Error::PayloadTooLarge(format!(
            "Request body is too large: the limit is {BODY_LIMIT} bytes"
        ))
    };
    match err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            too_large()
        }
        JsonPayloadError::Payload(PayloadError::Overflow) => too_large(),
        JsonPayloadError::Payload(PayloadError::Io(e))
            if e.kind() == std::io::ErrorKind::TimedOut =>
        {
            Error::RequestTimeout
        }
        JsonPayloadError::ContentType => {
            Error::UnsupportedMediaType("Content-Type must be application/json".into())
        }
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            invalid_body("Invalid request body", e.to_string())
        }
        JsonPayloadError::Deserialize(e) => invalid_body("Malformed JSON", e.to_string()),
        other => invalid_body("Invalid request body", other.to_string()),
    }
}

/// A form body (`application/x-www-form-urlencoded`) that could not be read.
fn form_error(err: actix_web::error::UrlencodedError) -> Error {
    use actix_web::error::UrlencodedError;
    match err {
        UrlencodedError::Overflow { .. } | UrlencodedError::UnknownLength => {
            Error::PayloadTooLarge(format!(
                "Request body is too large: the limit is {BODY_LIMIT} bytes"
            ))
        }
        UrlencodedError::ContentType => Error::UnsupportedMediaType(
            "Content-Type must be application/x-www-form-urlencoded".into(),
        ),
        UrlencodedError::Payload(e) => e.into(),
        other => invalid_body("Invalid form body", other.to_string()),
    }
}

/// A body that could not be read as the expected JSON: a validation failure whose problem is
/// listed under `body` (serde names no field).
pub(crate) fn invalid_body(message: &str, problem: String) -> Error {
    Error::Validation {
        message: Cow::Owned(format!("{message}: {problem}")),
        errors: FieldErrors::single("body", problem),
    }
}

/// The default service: unknown routes answer `404`.
pub async fn not_found(_req: HttpRequest) -> Result<actix_web::HttpResponse, Error> {
    Err(Error::NotFound)
}

/// For a resource's `default_service`: a known path with an unsupported method.
pub async fn method_not_allowed(_req: HttpRequest) -> Result<actix_web::HttpResponse, Error> {
    Err(Error::MethodNotAllowed)
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
