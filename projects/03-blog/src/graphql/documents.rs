//! The query documents clients send: each distinct one parsed once, and kept by its hash for
//! clients that send only the hash ([automatic persisted queries], Apollo's protocol).
//!
//! **Persisted queries.** A client sends `"extensions": {"persistedQuery": {"version": 1,
//! "sha256Hash": "…"}}` without a `query`, and is answered from the document kept under that
//! hash — or, the first time, with `PERSISTED_QUERY_NOT_FOUND`: it then sends the document
//! with its hash once, the server checks the hash, runs the document and keeps it if it
//! parsed and validated (never a document that was refused). A screen's query then costs its
//! client 64 bytes instead of a few KiB, and the server a lookup instead of a parse. Apollo
//! Client's `createPersistedQueryLink` does this on its own.
//!
//! **Bounded.** Both caches are weighed in bytes held, not in text: a parsed document takes
//! up to a couple of hundred times its text (measured: 3.5 MB for a 16 KiB document of many
//! small fields). moka admits and evicts by how often an entry is used (TinyLFU), so a flood of
//! documents seen once does not push out the ones clients keep sending.
//!
//! [automatic persisted queries]: https://www.apollographql.com/docs/apollo-server/performance/apq

use std::fmt::Write as _;
use std::sync::Arc;

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ErrorExtensionValues, Request, Response, ServerError, Value};
use sha2::{Digest, Sha256};

/// Memory the parsed documents may take, as estimated from their text (`parsed_weight`).
pub const PARSED_BYTES: u64 = 32 * 1024 * 1024;
/// Memory the persisted documents' text may take.
pub const PERSISTED_BYTES: u64 = 8 * 1024 * 1024;

/// The parsed documents by their text, and the persisted ones by their hash.
pub struct Documents {
    parsed: moka::sync::Cache<String, Arc<ExecutableDocument>>,
    persisted: moka::sync::Cache<String, Arc<str>>,
}

impl Default for Documents {
    fn default() -> Self {
        Self {
            parsed: moka::sync::Cache::builder()
                .max_capacity(PARSED_BYTES)
                .weigher(|text: &String, _: &Arc<ExecutableDocument>| parsed_weight(text))
                .build(),
            persisted: moka::sync::Cache::builder()
                .max_capacity(PERSISTED_BYTES)
                // The text, the hash, and the entry's own bookkeeping.
                .weigher(|_hash: &String, text: &Arc<str>| bytes(text.len() + 64 + 320))
                .build(),
        }
    }
}

/// What a parsed document holds, estimated from its text: each token of `{ a b c }` becomes a
/// node of a few hundred bytes (positions, names, empty argument and directive lists), so up
/// to 256 bytes per byte of text, plus the entry's bookkeeping.
fn parsed_weight(text: &str) -> u32 {
    bytes(text.len() * 256 + 1024)
}

fn bytes(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A persisted query's hash, to keep the document sent with it once it has run (see
/// [`Documents::keep`]).
pub struct ToKeep(String);

impl Documents {
    /// `query` parsed, from the cache or now; a document that does not parse is answered
    /// with the parser's error (where, and what it expected), as the engine would.
    pub fn parsed(&self, query: &str) -> Result<Arc<ExecutableDocument>, Refused> {
        if let Some(document) = self.parsed.get(query) {
            return Ok(document);
        }
        let document = async_graphql::parser::parse_query(query)
            .map_err(|e| Refused::Unparsable(Box::new(ServerError::from(e))))?;
        let document = Arc::new(document);
        self.parsed.insert(query.to_owned(), document.clone());
        Ok(document)
    }

    /// A persisted query: fills in the document kept under its hash; or, for a document sent
    /// with its hash, checks the hash and says to keep it once it has run.
    pub fn persisted(&self, request: &mut Request) -> Result<Option<ToKeep>, Refused> {
        let fields = match request.extensions.get("persistedQuery") {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Object(fields)) => fields,
            Some(_) => return Err(refusal("BAD_REQUEST", BAD_EXTENSION)),
        };
        match fields.get("version") {
            Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
            Some(_) => {
                return Err(refusal(
                    "PERSISTED_QUERY_NOT_SUPPORTED",
                    "only version 1 of persisted queries is supported",
                ));
            }
            None => return Err(refusal("BAD_REQUEST", BAD_EXTENSION)),
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
            return Ok(None);
        }
        if sha256_hex(&request.query) != hash {
            return Err(refusal("BAD_REQUEST", "provided sha does not match query"));
        }
        Ok(Some(ToKeep(hash)))
    }

    /// Keeps `query` under its hash: called once it has run, parsed and validated.
    pub fn keep(&self, hash: ToKeep, query: &str) {
        self.persisted.insert(hash.0, query.into());
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

/// Why an operation was answered without running.
#[derive(Debug)]
pub enum Refused {
    /// A persisted query the protocol refuses: a code and a message.
    Persisted {
        code: &'static str,
        message: &'static str,
    },
    /// A document that does not parse, in the parser's words.
    Unparsable(Box<ServerError>),
}

fn refusal(code: &'static str, message: &'static str) -> Refused {
    Refused::Persisted { code, message }
}

impl Refused {
    /// The operation's answer: `errors`, with a code (`GRAPHQL_PARSE_FAILED` is given to a
    /// parse error by [`super::errors::classify`], as to the engine's own).
    pub fn into_response(self) -> Response {
        let error = match self {
            Refused::Persisted { code, message } => {
                let mut error = ServerError::new(message, None);
                let mut extensions = ErrorExtensionValues::default();
                extensions.set("code", code);
                error.extensions = Some(extensions);
                error
            }
            Refused::Unparsable(error) => *error,
        };
        Response::from_errors(vec![error])
    }
}
