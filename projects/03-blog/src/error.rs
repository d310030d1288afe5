//! Errors: handlers return the kit's one HTTP error type (`ApiError`) and use `?`. The
//! RealWorld spec wants its own body shape, so the app re-renders every error response —
//! a handler's, an extractor's, the rate limiter's, an unknown route's — with [`render`]
//! (`render_errors` in `startup.rs`):
//!
//! | error | status | body |
//! |---|---|---|
//! | invalid input (`Validation`, `BadRequest`) | 422 | `{"errors": {"field": ["why"]}}` |
//! | a taken username or e-mail (`Conflict`) | 422 | `{"errors": {"username": ["has already been taken"]}}` |
//! | anything else | the kit's status | `{"errors": {"body": ["Forbidden"]}}` |

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use backend_kit::auth::AuthScheme;
use serde_json::json;

pub use backend_kit::http::Error as ApiError;

/// RealWorld sends `Authorization: Token <jwt>`, and nothing else.
pub const TOKEN_SCHEME: AuthScheme = AuthScheme {
    prefix: "Token",
    accept_bare_token: false,
};

/// `error` as the RealWorld spec renders it.
pub fn render(error: &ApiError) -> HttpResponse {
    let (status, body) = match error {
        ApiError::Validation { errors, .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "errors": errors.0 }),
        ),
        ApiError::Conflict { field, message } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "errors": { *field: [message] } }),
        ),
        ApiError::BadRequest(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "errors": { "body": [error.public_message()] } }),
        ),
        _ => (
            error.status_code(),
            json!({ "errors": { "body": [error.public_message()] } }),
        ),
    };
    error.response_builder(status).json(body)
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
    fn realworld_format_lists_fields_with_422() {
        let r = render(&ApiError::invalid("title", "can't be blank"));
        assert_eq!(r.status(), 422);
        assert_eq!(body(r), json!({"errors": {"title": ["can't be blank"]}}));
        let taken = ApiError::Conflict {
            field: "username",
            message: "has already been taken".into(),
        };
        let r = render(&taken);
        assert_eq!(r.status(), 422);
        assert_eq!(
            body(r),
            json!({"errors": {"username": ["has already been taken"]}})
        );
        let r = render(&ApiError::Forbidden);
        assert_eq!(r.status(), 403);
        assert_eq!(body(r), json!({"errors": {"body": ["Forbidden"]}}));
        let r = render(&ApiError::Internal("secret detail".into()));
        assert_eq!(r.status(), 500);
        assert_eq!(
            body(r),
            json!({"errors": {"body": ["Internal Server Error"]}})
        );
        let r = render(&ApiError::TooManyRequests {
            retry_after_secs: 7,
        });
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers().get("retry-after").unwrap(), "7");
    }

    #[test]
    fn the_token_scheme_requires_its_prefix() {
        assert_eq!(TOKEN_SCHEME.token("Token abc"), Some("abc"));
        assert_eq!(TOKEN_SCHEME.token("abc"), None);
        assert_eq!(TOKEN_SCHEME.token("Bearer abc"), None);
    }
}
