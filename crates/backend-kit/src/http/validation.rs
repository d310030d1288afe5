//! Validation errors shared by every capstone: domain types report *what* is wrong per field,
//! [`FieldErrors`] collects all of it, and the client gets one `400` listing every problem:
//! `{"message": "Validation failed", "errors": {"field": ["why", …]}}`.

use std::collections::BTreeMap;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde_json::json;
use utoipa::ToSchema;

/// Field name → what is wrong with it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub BTreeMap<&'static str, Vec<String>>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, problem: impl Into<String>) {
        self.0.entry(field).or_default().push(problem.into());
    }

    /// Keeps the value if it parsed, records the problem under `field` if not.
    pub fn check<T, E: ToString>(
        &mut self,
        field: &'static str,
        parsed: Result<T, E>,
    ) -> Option<T> {
        parsed.map_err(|e| self.add(field, e.to_string())).ok()
    }

    /// Records "is required" when the field was not sent.
    pub fn required<T>(&mut self, field: &'static str, value: Option<T>) -> Option<T> {
        if value.is_none() {
            self.add(field, "is required");
        }
        value
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `400` response listing every problem.
    pub fn to_response(&self) -> HttpResponse {
        HttpResponse::build(StatusCode::BAD_REQUEST).json(json!({
            "message": "Validation failed",
            "errors": self.0,
        }))
    }
}

/// PostgreSQL cannot store U+0000 in TEXT; refuse it up front on both databases.
pub fn reject_nul(value: &str) -> Result<(), &'static str> {
    if value.contains('\0') {
        Err("must not contain the NUL character (U+0000)")
    } else {
        Ok(())
    }
}

/// Declares the `bearer` (JWT) security scheme in a project's OpenAPI document:
/// `#[openapi(modifiers(&backend_kit::http::BearerAuth))]`.
pub struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// OpenAPI schema of every error body.
#[derive(ToSchema)]
pub struct ErrorBody {
    #[schema(example = "Not Found")]
    pub message: String,
}

/// OpenAPI schema of a 400: the message plus, per field, what is wrong with it.
#[derive(ToSchema)]
pub struct ValidationErrorBody {
    #[schema(example = "Validation failed")]
    pub message: String,
    #[schema(example = json!({"title": ["must not be empty"]}))]
    pub errors: Option<BTreeMap<String, Vec<String>>>,
}
