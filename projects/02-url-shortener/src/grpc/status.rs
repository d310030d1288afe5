//! The one error type ([`ApiError`]) as gRPC status codes, with the google.rpc details a
//! client can act on — the gRPC twin of the HTTP error bodies:
//!
//! | error | HTTP | gRPC | details |
//! |---|---|---|---|
//! | invalid input | 400 | `INVALID_ARGUMENT` | `BadRequest`: one violation per field |
//! | no or a bad token | 401 | `UNAUTHENTICATED` | |
//! | someone else's link | 403 | `PERMISSION_DENIED` | |
//! | no such link | 404 | `NOT_FOUND` | |
//! | a taken custom code | 409 | `ALREADY_EXISTS` | `BadRequest` naming `custom_code` |
//! | expired or used up | 410 | `FAILED_PRECONDITION` | `PreconditionFailure` |
//! | a rate limit | 429 | `RESOURCE_EXHAUSTED` | `RetryInfo`: when to try again |
//! | a service down, no database connection | 503, 500 | `UNAVAILABLE` | |
//! | anything else | 500 | `INTERNAL` | nothing of the cause (it is logged) |

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use backend_kit::db::DbError;

use crate::error::ApiError;

/// `error` as a gRPC status. Field names are given as the proto spells them (`expires_at`,
/// not HTTP's `expiresAt`), under `prefix` (`changes.` for an update's fields).
pub fn to_status(error: ApiError, prefix: &str) -> Status {
    let field = |name: &str| format!("{prefix}{}", snake_case(name));
    match error {
        ApiError::Validation { message, errors } => {
            let mut details = ErrorDetails::new();
            for (name, problems) in &errors.0 {
                for problem in problems {
                    details.add_bad_request_violation(field(name), problem.clone());
                }
            }
            Status::with_error_details(Code::InvalidArgument, message, details)
        }
        ApiError::Conflict {
            field: name,
            message,
        } => Status::with_error_details(
            Code::AlreadyExists,
            message.clone(),
            ErrorDetails::with_bad_request_violation(field(name), message),
        ),
        ApiError::Gone => Status::with_error_details(
            Code::FailedPrecondition,
            "the link has expired or used up its visits",
            ErrorDetails::with_precondition_failure_violation(
                "LINK_GONE",
                "link",
                "the link has expired or used up its visits",
            ),
        ),
        ApiError::TooManyRequests { retry_after_secs } => Status::with_error_details(
            Code::ResourceExhausted,
            format!("too many requests: retry in {retry_after_secs} seconds"),
            ErrorDetails::with_retry_info(Some(Duration::from_secs(retry_after_secs))),
        ),
        ApiError::BadRequest(message) => Status::invalid_argument(message),
        ApiError::Unauthorized => Status::unauthenticated("a valid access token is needed"),
        ApiError::Forbidden => Status::permission_denied("this link is not yours"),
        ApiError::NotFound => Status::not_found("no such link"),
        ApiError::Unavailable(message) => Status::unavailable(message),
        ApiError::RequestTimeout => Status::deadline_exceeded("the request took too long"),
        ApiError::PayloadTooLarge(message) => Status::resource_exhausted(message),
        ApiError::MethodNotAllowed | ApiError::UnsupportedMediaType(_) => {
            Status::unimplemented(error.to_string())
        }
        // No connection to be had: worth retrying, as gRPC clients do on UNAVAILABLE.
        ApiError::Database(DbError::Pool(_) | DbError::Connect(_) | DbError::Closed(_)) => {
            tracing::error!(error = %error, "gRPC call found no database connection");
            Status::unavailable("the database is unavailable; retry later")
        }
        ApiError::Database(_) | ApiError::Internal(_) => {
            // The one place a gRPC call's internal failure is logged; the client learns
            // nothing of it.
            tracing::error!(error = %error, "gRPC call failed");
            Status::internal("internal error")
        }
    }
}

/// `expiresAt` → `expires_at`.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_name_the_proto_fields() {
        let status = to_status(
            ApiError::invalid("maxVisits", "must be at least 1"),
            "changes.",
        );
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let violations = &details
            .bad_request()
            .expect("a BadRequest")
            .field_violations;
        assert_eq!(violations[0].field, "changes.max_visits");
        assert_eq!(violations[0].description, "must be at least 1");
    }

    #[test]
    fn limits_say_when_to_retry_and_internals_stay_hidden() {
        let status = to_status(
            ApiError::TooManyRequests {
                retry_after_secs: 7,
            },
            "",
        );
        assert_eq!(status.code(), Code::ResourceExhausted);
        let retry = status.get_error_details().retry_info().cloned();
        assert_eq!(
            retry.and_then(|r| r.retry_delay),
            Some(Duration::from_secs(7))
        );
        let status = to_status(ApiError::Internal("password=hunter2".into()), "");
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("hunter2"));
    }
}
