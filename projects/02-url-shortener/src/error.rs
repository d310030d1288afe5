//! Every error the API can return, mapped to a status code and `{"message": …}` in one place.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use backend_kit::auth::AuthError;
use backend_kit::db::DbError;

use crate::domain::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Validation failed")]
    Validation(FieldErrors),
    #[error("Unauthorized")]
    Unauthorized,
    #[error("Forbidden")]
    Forbidden,
    #[error("Not Found")]
    NotFound,
    /// The link existed but has expired or used up its visits.
    #[error("Gone")]
    Gone,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A service we depend on (the job queue) is down; worth retrying later.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(field: &'static str, problem: impl Into<String>) -> Self {
        let mut errors = FieldErrors::default();
        errors.add(field, problem);
        ApiError::Validation(errors)
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => ApiError::NotFound,
            other => ApiError::Database(DbError::Query(other)),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Validation(errors) => ApiError::Validation(errors),
            AuthError::EmailTaken => ApiError::Conflict(e.to_string()),
            AuthError::InvalidCredentials | AuthError::InvalidToken => ApiError::Unauthorized,
            AuthError::PasswordTooLong => ApiError::invalid("password", "must be at most 72 bytes"),
            AuthError::Db(e) => ApiError::Database(e),
            AuthError::Hashing(e) => ApiError::Internal(e),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Gone => StatusCode::GONE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Database(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            ApiError::Validation(errors) => errors.to_response(),
            ApiError::Database(_) | ApiError::Internal(_) => {
                tracing::error!(error = %self, "request failed");
                backend_kit::http::error_response(status, "Internal Server Error")
            }
            other => backend_kit::http::error_response(status, other.to_string()),
        }
    }
}
