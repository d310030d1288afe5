//! The one error type ([`ApiError`]) as GraphQL errors: the REST answer's status becomes
//! `extensions.code`, the names GraphQL clients (Apollo's among them) know:
//!
//! | error | REST | `extensions` |
//! |---|---|---|
//! | invalid input, a taken username or e-mail | 422 | `code: BAD_USER_INPUT`, `field`, `errors: {field: [why]}` |
//! | no or a bad token | 401 | `code: UNAUTHENTICATED` |
//! | someone else's article or comment | 403 | `code: FORBIDDEN` |
//! | no such article, comment or user | 404 | `code: NOT_FOUND` |
//! | a write budget spent | 429 | `code: RATE_LIMITED`, `retryAfter` (seconds) |
//! | anything else | 500 | `code: INTERNAL_SERVER_ERROR` (the cause is logged, not shown) |
//!
//! Errors of the document itself (it does not parse, names an unknown field, is too deep or
//! too complex) are the engine's; [`classify`] gives them a code too.

use std::collections::BTreeMap;

use async_graphql::{ErrorExtensions, Value};

use crate::error::ApiError;

/// `error` as a GraphQL error.
pub fn to_graphql(error: ApiError) -> async_graphql::Error {
    let message = error.public_message().into_owned();
    match error {
        ApiError::Validation { errors, .. } => {
            let first = errors
                .0
                .keys()
                .next()
                .map(|f| f.to_string())
                .unwrap_or_default();
            let listed: BTreeMap<String, Vec<String>> = errors
                .0
                .into_iter()
                .map(|(field, problems)| (field.into_owned(), problems))
                .collect();
            let summary = listed
                .iter()
                .flat_map(|(field, problems)| problems.iter().map(move |p| format!("{field} {p}")))
                .collect::<Vec<_>>()
                .join("; ");
            async_graphql::Error::new(format!("Invalid input: {summary}")).extend_with(|_, e| {
                e.set("code", "BAD_USER_INPUT");
                e.set("field", first.clone());
                e.set(
                    "errors",
                    Value::from_json(serde_json::json!(listed)).unwrap_or_default(),
                );
            })
        }
        ApiError::Conflict { field, message } => {
            async_graphql::Error::new(format!("{field} {message}")).extend_with(|_, e| {
                e.set("code", "BAD_USER_INPUT");
                e.set("field", field);
                e.set(
                    "errors",
                    Value::from_json(serde_json::json!({ field: [message] })).unwrap_or_default(),
                );
            })
        }
        ApiError::BadRequest(_) | ApiError::PayloadTooLarge(_) => coded(message, "BAD_USER_INPUT"),
        // A missing or bad token, or a wrong e-mail or password: REST's one 401.
        ApiError::Unauthorized => coded(message, "UNAUTHENTICATED"),
        ApiError::Forbidden => coded(message, "FORBIDDEN"),
        ApiError::NotFound => coded(message, "NOT_FOUND"),
        ApiError::TooManyRequests { retry_after_secs } => async_graphql::Error::new(message)
            .extend_with(|_, e| {
                e.set("code", "RATE_LIMITED");
                e.set("retryAfter", retry_after_secs);
            }),
        ApiError::Unavailable(_) => coded(message, "SERVICE_UNAVAILABLE"),
        other => {
            // The one place a GraphQL field's internal failure is logged.
            tracing::error!(error = %other, "GraphQL resolver failed");
            coded("Internal Server Error".into(), "INTERNAL_SERVER_ERROR")
        }
    }
}

fn coded(message: String, code: &'static str) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code))
}

/// Lets resolvers write `?` on the REST operations they share.
pub trait GraphqlResult<T> {
    fn graphql(self) -> async_graphql::Result<T>;
}

impl<T> GraphqlResult<T> for Result<T, ApiError> {
    fn graphql(self) -> async_graphql::Result<T> {
        self.map_err(to_graphql)
    }
}

/// Gives the engine's own errors a code: a document that does not parse
/// (`GRAPHQL_PARSE_FAILED`), one that breaks the schema's rules or the limits
/// (`GRAPHQL_VALIDATION_FAILED`), an argument of the wrong type (`BAD_USER_INPUT`).
pub fn classify(response: &mut async_graphql::Response) {
    let executed = !matches!(response.data, async_graphql::Value::Null);
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_some() {
            continue;
        }
        let code = if error.message.starts_with("Failed to parse")
            || error.message.starts_with("Invalid value for argument")
            || error.message.starts_with("Expected input type")
        {
            "BAD_USER_INPUT"
        } else if !executed && error.message.trim_start().starts_with("-->") {
            "GRAPHQL_PARSE_FAILED"
        } else if executed {
            "INTERNAL_SERVER_ERROR"
        } else {
            "GRAPHQL_VALIDATION_FAILED"
        };
        extensions.set("code", code);
    }
}
