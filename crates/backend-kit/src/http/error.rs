//! The one HTTP error type every capstone answers with, and the one place statuses are mapped.
//!
//! Handlers return `Result<_, backend_kit::http::Error>` (projects alias it as `ApiError`) and
//! use `?`: a project's domain errors, [`AuthError`](crate::auth::AuthError) and
//! [`DbError`] convert into it. Each variant has one status and renders as
//! `{"message": …}` (capstones 1, 2 and 4):
//!
//! | variant | status | body |
//! |---|---|---|
//! | `Validation` | 400 | `{"message": "Validation failed", "errors": {"field": ["why"]}}` |
//! | `BadRequest` | 400 | `{"message": …}` |
//! | `Unauthorized` | 401 | `{"message": "Unauthorized"}` |
//! | `Forbidden`, `NotFound`, `MethodNotAllowed`, `Gone` | 403, 404, 405, 410 | `{"message": …}` |
//! | `Conflict` | 409 | `{"message": …}` (a taken e-mail) |
//! | `RequestTimeout`, `PayloadTooLarge`, `UnsupportedMediaType` | 408, 413, 415 | `{"message": …}` |
//! | `TooManyRequests` | 429 + `Retry-After` | `{"message": "Too many requests: retry in N seconds"}` |
//! | `Unavailable` | 503 | `{"message": …}` |
//! | `Database`, `Internal` | 500 | `{"message": "Internal Server Error"}`; the cause goes to the log only |
//!
//! A project whose contract is another shape (the blog's RealWorld `{"errors": {…}}`) writes
//! its own render function and wraps its app in [`render_errors`] with it: every error
//! response is re-rendered on its way out — including those of extractors, the rate limiter
//! and unknown routes — so no handler formats one.

use std::borrow::Cow;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::db::DbError;
use crate::validation::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that does not parse, listed per field.
    #[error("{message}")]
    Validation {
        message: Cow<'static, str>,
        errors: FieldErrors,
    },
    /// A request the server cannot read at all (a bad path or query parameter).
    #[error("{0}")]
    BadRequest(String),
    #[error("Unauthorized")]
    Unauthorized,
    #[error("Forbidden")]
    Forbidden,
    #[error("Not Found")]
    NotFound,
    #[error("Method Not Allowed")]
    MethodNotAllowed,
    /// A unique value that is taken: `field` names it for formats that list fields.
    #[error("{message}")]
    Conflict {
        field: &'static str,
        message: String,
    },
    /// The resource existed but has expired or been used up.
    #[error("Gone")]
    Gone,
    #[error("The request body did not arrive in time")]
    RequestTimeout,
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("Too many requests: retry in {retry_after_secs} seconds")]
    TooManyRequests { retry_after_secs: u64 },
    /// A service we depend on is down; worth retrying later.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// A validation error listing `errors`.
    pub fn validation(errors: FieldErrors) -> Self {
        Error::Validation {
            message: Cow::Borrowed("Validation failed"),
            errors,
        }
    }

    /// A single-field validation error.
    pub fn invalid(
        field: impl Into<std::borrow::Cow<'static, str>>,
        problem: impl Into<String>,
    ) -> Self {
        Self::validation(FieldErrors::single(field, problem))
    }

    /// An unexpected failure: the client sees a bare 500, the cause is logged.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Error::Internal(cause.to_string())
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            // A row that vanished between two statements (a concurrent delete).
            diesel::result::Error::NotFound => Error::NotFound,
            other => Error::Database(DbError::Query(other)),
        }
    }
}

#[cfg(feature = "auth")]
impl From<crate::auth::AuthError> for Error {
    fn from(e: crate::auth::AuthError) -> Self {
        use crate::auth::AuthError;
        match e {
            AuthError::Validation(errors) => Error::validation(errors),
            AuthError::EmailTaken => Error::Conflict {
                field: "email",
                message: e.to_string(),
            },
            AuthError::UsernameTaken => Error::Conflict {
                field: "username",
                message: e.to_string(),
            },
            AuthError::InvalidCredentials | AuthError::InvalidToken => Error::Unauthorized,
            AuthError::PasswordTooLong => Error::invalid("password", "must be at most 72 bytes"),
            AuthError::Db(e) => Error::Database(e),
            AuthError::Hashing(e) => Error::Internal(e),
        }
    }
}

impl Error {
    /// For an INSERT of a row owned by the caller (its user id taken from the token): a
    /// foreign-key failure means the token is validly signed but its user has been deleted
    /// since — a `401`, as for any token that no longer names an account, not a `500`.
    pub fn from_caller_insert(e: diesel::result::Error) -> Self {
        if crate::db::is_foreign_key_violation(&e) {
            Error::Unauthorized
        } else {
            e.into()
        }
    }
}

/// Reading a request body failed: it timed out (see `BODY_READ_TIMEOUT_SECS`), or it was
/// broken on the wire.
impl From<actix_web::error::PayloadError> for Error {
    fn from(e: actix_web::error::PayloadError) -> Self {
        use actix_web::error::PayloadError;
        match e {
            PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                Error::RequestTimeout
            }
            PayloadError::Overflow => Error::PayloadTooLarge("Request body is too large".into()),
            other => Error::invalid("body", other.to_string()),
        }
    }
}

/// Lets `web::block(..).await?` propagate: a blocking task that panicked or was cancelled.
impl From<actix_web::error::BlockingError> for Error {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Error::internal(e)
    }
}

impl Error {
    /// What the client may read of this error: everything but the internals of a 500.
    pub fn public_message(&self) -> Cow<'_, str> {
        match self {
            Error::Database(_) | Error::Internal(_) => Cow::Borrowed("Internal Server Error"),
            other => Cow::Owned(other.to_string()),
        }
    }

    /// Adds what the status needs besides the body (`Retry-After` on a `429`).
    pub fn response_builder(&self, status: StatusCode) -> actix_web::HttpResponseBuilder {
        let mut response = HttpResponse::build(status);
        if let Error::TooManyRequests { retry_after_secs } = self {
            response.insert_header((header::RETRY_AFTER, *retry_after_secs));
        }
        response
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Error::Validation { .. } | Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::Forbidden => StatusCode::FORBIDDEN,
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::Conflict { .. } => StatusCode::CONFLICT,
            Error::Gone => StatusCode::GONE,
            Error::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Database(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Called once per error that becomes a response: the one place a 500's cause is logged
    /// (the client learns nothing about internals).
    fn error_response(&self) -> HttpResponse {
        if self.status_code() == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "request failed");
        }
        let body = match self {
            Error::Validation { message, errors } => {
                json!({ "message": message, "errors": errors.0 })
            }
            _ => json!({ "message": self.public_message() }),
        };
        self.response_builder(self.status_code()).json(body)
    }
}

/// Middleware that re-renders the kit's errors (whoever raised them: a handler, an extractor,
/// the rate limiter, the 404 service) with the project's `render`:
/// `.wrap(from_fn(|req, next| render_errors(crate::error::render, req, next)))`, outside
/// [`edge`](super::hardening::edge) so that its refusals are re-rendered too.
pub async fn render_errors(
    render: fn(&Error) -> HttpResponse,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let res = next.call(req).await?;
    let rendered = res
        .response()
        .error()
        .and_then(|e| e.as_error::<Error>())
        .map(render);
    Ok(match rendered {
        Some(mut response) => {
            // Headers set on the way out (CORS by a scope's middleware, `Vary`) belong to the
            // new body as much as to the old one; only the body's own headers are replaced.
            let own: Vec<header::HeaderName> = response.headers().keys().cloned().collect();
            for (name, value) in res.headers() {
                let describes_body = name == header::CONTENT_TYPE || name == header::CONTENT_LENGTH;
                if !describes_body && !own.contains(name) {
                    response.headers_mut().append(name.clone(), value.clone());
                }
            }
            res.into_response(response).map_into_right_body()
        }
        None => res.map_into_left_body(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn body(response: HttpResponse) -> serde_json::Value {
        let bytes = response.into_body().try_into_bytes().expect("a full body");
        serde_json::from_slice(&bytes).expect("JSON")
    }

    #[test]
    fn message_format_is_the_capstones_contract() {
        let r = Error::invalid("title", "must not be empty").error_response();
        assert_eq!(r.status(), 400);
        assert_eq!(
            body(r),
            json!({"message": "Validation failed", "errors": {"title": ["must not be empty"]}})
        );
        let r = Error::Internal("secret detail".into()).error_response();
        assert_eq!(r.status(), 500);
        assert_eq!(body(r), json!({"message": "Internal Server Error"}));
        let r = Error::TooManyRequests {
            retry_after_secs: 7,
        }
        .error_response();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers().get("retry-after").unwrap(), "7");
        assert_eq!(
            body(r),
            json!({"message": "Too many requests: retry in 7 seconds"})
        );
    }
}
