//! [`Json`]: actix's JSON extractor, plus one rule every capstone needs — no string (or key)
//! may hold U+0000. PostgreSQL cannot store it in `TEXT` (the query fails: a 500), SQLite
//! can; refusing it here, once, makes both databases answer the same `400` naming the field.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Error;
use crate::validation::NUL_PROBLEM;

/// A JSON body of type `T`; use it as `web::Json` (same limits and error answers).
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // Read as a JSON value first (actix's limits and errors), look for NUL, then type it.
        let value = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let value = value.await?.into_inner();
            if let Some(field) = field_with_nul(&value, "body") {
                return Err(Error::invalid(field.to_string(), NUL_PROBLEM).into());
            }
            serde_json::from_value(value)
                .map(Json)
                .map_err(|e| super::invalid_body("Invalid request body", e.to_string()).into())
        })
    }
}

/// The name of the innermost field whose key or string value holds U+0000 (`parent` for a
/// bare value), if any.
fn field_with_nul<'a>(value: &'a Value, parent: &'a str) -> Option<&'a str> {
    match value {
        Value::String(s) => s.contains('\0').then_some(parent),
        Value::Array(items) => items.iter().find_map(|item| field_with_nul(item, parent)),
        Value::Object(fields) => fields.iter().find_map(|(key, value)| {
            if key.contains('\0') {
                Some(parent)
            } else {
                field_with_nul(value, key)
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_the_innermost_field_holding_nul() {
        assert_eq!(
            field_with_nul(&json!({"title": "a\u{0}b"}), "body"),
            Some("title")
        );
        assert_eq!(
            field_with_nul(&json!({"user": {"email": "a\u{0}@x.io"}}), "body"),
            Some("email")
        );
        assert_eq!(
            field_with_nul(&json!({"tags": ["ok", "\u{0}"]}), "body"),
            Some("tags")
        );
        assert_eq!(field_with_nul(&json!({"a\u{0}": 1}), "body"), Some("body"));
        assert_eq!(field_with_nul(&json!("\u{0}"), "body"), Some("body"));
        assert_eq!(
            field_with_nul(&json!({"title": "fine", "n": 0}), "body"),
            None
        );
    }
}
