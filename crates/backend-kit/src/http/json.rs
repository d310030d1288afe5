//! [`Json`]: actix's JSON extractor, plus one rule every capstone needs — no string (or key)
//! may hold U+0000. PostgreSQL cannot store it in `TEXT` (the query fails: a 500), SQLite
//! can; refusing it here, once, makes both databases answer the same `400` naming the field.

use std::future::Future;
use std::pin::Pin;

use actix_web::HttpMessage;
use actix_web::dev::Payload;
use actix_web::error::{JsonPayloadError, PayloadError};
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
        // What actix's `web::Json` does, in its order and with its messages: the content type
        // first (before reading anything), then the body up to the limit, then serde on the
        // bytes (its errors name line and column). Reading the bytes ourselves is what lets
        // us look for NUL.
        let is_json = req.mime_type().ok().flatten().is_some_and(|mime| {
            mime.subtype() == actix_web::mime::JSON || mime.suffix() == Some(actix_web::mime::JSON)
        });
        if !is_json {
            let refusal = super::json_error(&JsonPayloadError::ContentType);
            return Box::pin(std::future::ready(Err(refusal.into())));
        }
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = body.await.map_err(|e| -> actix_web::Error {
                match e.as_error::<PayloadError>() {
                    Some(PayloadError::Overflow) => {
                        super::json_error(&JsonPayloadError::Payload(PayloadError::Overflow))
                    }
                    Some(PayloadError::Io(io)) if io.kind() == std::io::ErrorKind::TimedOut => {
                        Error::RequestTimeout
                    }
                    _ => super::invalid_body("Invalid request body", e.to_string()),
                }
                .into()
            })?;
            let value: T = serde_json::from_slice(&bytes)
                .map_err(|e| super::json_error(&JsonPayloadError::Deserialize(e)))?;
            // Valid JSON holds U+0000 only as the escape `\u0000`: look closer only then.
            if bytes.windows(6).any(|w| w == b"\\u0000") {
                let tree: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                if let Some(field) = field_with_nul(&tree, "body") {
                    return Err(Error::invalid(field.to_string(), NUL_PROBLEM).into());
                }
            }
            Ok(Json(value))
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

#[cfg(test)]
mod extractor_tests {
    use actix_web::{App, HttpResponse, test, web};
    use serde::Deserialize;

    use super::Json;

    #[derive(Deserialize)]
    struct Body {
        #[allow(dead_code)]
        title: String,
    }

    async fn call(content_type: &str, body: &'static str) -> (u16, serde_json::Value) {
        let app = test::init_service(
            App::new()
                .configure(crate::http::configure_extractors)
                .route(
                    "/",
                    web::post().to(|_: Json<Body>| async { HttpResponse::Ok().finish() }),
                ),
        )
        .await;
        let req = test::TestRequest::post()
            .uri("/")
            .insert_header(("content-type", content_type))
            .set_payload(body)
            .to_request();
        let res = test::call_service(&app, req).await;
        let status = res.status().as_u16();
        let bytes = test::read_body(res).await;
        (status, serde_json::from_slice(&bytes).unwrap_or_default())
    }

    /// The answers `web::Json` gave, word for word (serde's position included), plus NUL.
    #[actix_web::test]
    async fn answers_as_actix_json_did_and_refuses_nul() {
        let (status, body) = call("application/json", r#"{"title": 5}"#).await;
        assert_eq!(status, 400);
        let problem = body["errors"]["body"][0].as_str().unwrap();
        assert!(problem.ends_with("at line 1 column 11"), "{problem}");
        assert_eq!(body["message"], format!("Invalid request body: {problem}"));
        let (status, body) = call("application/json", "{bad").await;
        assert_eq!(status, 400);
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("Malformed JSON: ")
        );
        let (status, body) = call("text/plain", r#"{"title": "x"}"#).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (415, Some("Content-Type must be application/json"))
        );
        let (status, body) = call("application/json", r#"{"title": "a\u0000b"}"#).await;
        assert_eq!(status, 400);
        assert_eq!(body["errors"]["title"][0], crate::validation::NUL_PROBLEM);
        let (status, _) = call("application/json", r#"{"title": "a\\u0000b"}"#).await;
        assert_eq!(status, 200, "an escaped backslash is not NUL");
        let (status, _) = call("application/problem+json", r#"{"title": "x"}"#).await;
        assert_eq!(status, 200);
    }
}
