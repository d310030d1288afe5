//! Every error the API can return, mapped to a status code and `{"message": …}` in one place.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use backend_kit::db::DbError;
use serde_json::json;

use crate::domain::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Validation failed")]
    Validation(FieldErrors),
    #[error("Not Found")]
    NotFound,
    /// The link existed but has expired or used up its visits.
    #[error("Gone")]
    Gone,
    #[error("{0}")]
    Conflict(String),
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

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Gone => StatusCode::GONE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Database(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            ApiError::Validation(errors) => HttpResponse::build(status).json(json!({
                "message": "Validation failed",
                "errors": errors.0,
            })),
            ApiError::Database(_) | ApiError::Internal(_) => {
                tracing::error!(error = %self, "request failed");
                backend_kit::http::error_response(status, "Internal Server Error")
            }
            other => backend_kit::http::error_response(status, other.to_string()),
        }
    }
}
