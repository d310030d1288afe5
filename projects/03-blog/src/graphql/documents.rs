//! The query documents clients send: each distinct one parsed once, and kept by its hash for
//! clients that send only the hash ([automatic persisted queries], Apollo's protocol).
//!
//! **Persisted queries.** A client sends `"extensions": {"persistedQuery": {"version": 1,
//! "sha256Hash": "…"}}` without a `query`, and is answered from the document kept under that
//! hash — or, the first time, with `PERSISTED_QUERY_NOT_FOUND`: it then sends the document
//! with its hash once, the server checks the hash and keeps the document. A screen's query
//! then costs its client 64 bytes instead of a few KiB, and the server a lookup instead of a
//! parse. Apollo Client's `createPersistedQueryLink` does this on its own.
//!
//! [automatic persisted queries]: https://www.apollographql.com/docs/apollo-server/performance/apq

use std::fmt::Write as _;
use std::sync::Arc;

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ErrorExtensionValues, Request, Response, ServerError, Value};
use sha2::{Digest, Sha256};

/// The documents kept, parsed and persisted each: at most this much text (the parsed form
/// takes a few times its text), least recently used out first. Documents are at most
/// [`super::http::MAX_DOCUMENT_BYTES`] each.
pub const TEXT_BYTES: u64 = 1024 * 1024;

/// The parsed documents by their text, and the persisted ones by their hash.
pub struct Documents {
    parsed: moka::sync::Cache<String, Arc<ExecutableDocument>>,
    persisted: moka::sync::Cache<String, Arc<str>>,
}

impl Default for Documents {
    fn default() -> Self {
        Self {
            parsed: moka::sync::Cache::builder()
                .max_capacity(TEXT_BYTES)
                .weigher(|text: &String, _: &Arc<ExecutableDocument>| weight(text))
                .build(),
            persisted: moka::sync::Cache::builder()
                .max_capacity(TEXT_BYTES)
                .weigher(|_hash: &String, text: &Arc<str>| weight(text))
                .build(),
        }
    }
}

/// A document's weight in a cache: its text's bytes.
fn weight(text: &str) -> u32 {
    u32::try_from(text.len()).unwrap_or(u32::MAX)
}

impl Documents {
    /// `query` parsed, from the cache or now; `None` if it does not parse (the engine then
    /// says where).
    pub fn parsed(&self, query: &str) -> Option<Arc<ExecutableDocument>> {
        if let Some(document) = self.parsed.get(query) {
            return Some(document);
        }
        let document = Arc::new(async_graphql::parser::parse_query(query).ok()?);
        self.parsed.insert(query.to_owned(), document.clone());
        Some(document)
    }

    /// A persisted query: fills in the document kept under its hash, or keeps the one sent
    /// (after checking its hash). An `Err` is the operation's answer: it does not run.
    pub fn persisted(&self, request: &mut Request) -> Result<(), Refused> {
        let Some(extension) = request.extensions.get("persistedQuery") else {
            return Ok(());
        };
        let Value::Object(fields) = extension else {
            return Err(refusal("BAD_REQUEST", BAD_EXTENSION));
        };
        if !matches!(fields.get("version"), Some(Value::Number(n)) if n.as_u64() == Some(1)) {
            return Err(refusal(
                "PERSISTED_QUERY_NOT_SUPPORTED",
                "only version 1 of persisted queries is supported",
            ));
        }
        let hash = match fields.get("sha256Hash") {
            Some(Value::String(hash))
                if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                hash.to_ascii_lowercase()
            }
            _ => return Err(refusal("BAD_REQUEST", BAD_EXTENSION)),
        };
        if request.query.is_empty() {
            let text = self
                .persisted
                .get(&hash)
                .ok_or_else(|| refusal("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound"))?;
            request.query = text.to_string();
            return Ok(());
        }
        if sha256_hex(&request.query) != hash {
            return Err(refusal("BAD_REQUEST", "provided sha does not match query"));
        }
        self.persisted.insert(hash, request.query.as_str().into());
        Ok(())
    }
}

const BAD_EXTENSION: &str = "persistedQuery must be {\"version\": 1, \"sha256Hash\": <the document's SHA-256, 64 hex digits>}";

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Why a persisted query was not run: a code and a message.
#[derive(Debug)]
pub struct Refused {
    code: &'static str,
    message: &'static str,
}

fn refusal(code: &'static str, message: &'static str) -> Refused {
    Refused { code, message }
}

impl Refused {
    /// The operation's answer: `errors` with the code.
    pub fn into_response(self) -> Response {
        let mut error = ServerError::new(self.message, None);
        let mut extensions = ErrorExtensionValues::default();
        extensions.set("code", self.code);
        error.extensions = Some(extensions);
        Response::from_errors(vec![error])
    }
}
