//! `/graphql` over HTTP: `POST` runs a query (or a batch of them), `GET` serves GraphiQL.
//! This is all the glue between actix and the engine — read the token, bound the request,
//! give each operation its caller and loaders, run it, answer JSON.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use std::sync::Arc;

use async_graphql::BatchRequest;
use async_graphql::dataloader::DataLoader;
use async_graphql::parser::types::ExecutableDocument;
use backend_kit::auth::Auth;
use backend_kit::db::Database;
use serde_json::json;

use super::documents::Refused;
use super::loaders::{BodyLoader, CommentsLoader};
use super::{Caller, Endpoint};

/// The longest query document (the text of one operation) read: the largest useful query is
/// a few KiB (GraphiQL's introspection query is 2).
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024;
/// Operations in one request (a JSON array of requests): each is checked and run on its own,
/// so a batch multiplies the work a request may ask for.
pub const MAX_BATCH: usize = 10;

/// A request-level refusal in GraphQL's error format (`{"errors": [...]}`), with a status:
/// nothing ran.
fn refused(status: actix_web::http::StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "errors": [{ "message": message, "extensions": { "code": code } }]
    }))
}

/// `POST /graphql`: `{"query": …, "variables": …, "operationName": …}`, or an array of them.
/// A bad token is `401` before anything runs; what goes wrong inside an operation is in its
/// `errors`, with `200` (the GraphQL over HTTP convention).
pub async fn execute(
    endpoint: web::Data<Endpoint>,
    auth: web::Data<Auth>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return refused(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_REQUEST",
            "send the query as JSON (Content-Type: application/json)",
        );
    }
    // A header that is not text is a bad token (no scheme matches it), not a missing one.
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("(not text)"));
    let user = match auth.caller(authorization).await {
        Ok(user) => user.map(|u| u.id),
        // The token could not be checked: not the client's fault, and no reason to log out.
        Err(backend_kit::auth::AuthError::Db(e)) => {
            tracing::error!(error = %e, "GraphQL request: the token could not be checked");
            return refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                "the service is unavailable; retry later",
            );
        }
        Err(_) => {
            return refused(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                "the token is invalid or expired: log in again, or send none",
            );
        }
    };
    let Ok(batch) = serde_json::from_slice::<BatchRequest>(&body) else {
        return refused(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "not a GraphQL request: send {\"query\": \"…\", \"variables\": {…}} or an array of them",
        );
    };
    // A batch is answered with an array, even a batch of one.
    let batched = matches!(batch, BatchRequest::Batch(_));
    let requests = match batch {
        BatchRequest::Single(request) => vec![request],
        BatchRequest::Batch(requests) if requests.len() > MAX_BATCH => {
            return refused(
                StatusCode::BAD_REQUEST,
                "BATCH_TOO_LARGE",
                &format!("at most {MAX_BATCH} operations per request"),
            );
        }
        BatchRequest::Batch(requests) => requests,
    };
    if requests.iter().any(|r| r.query.len() > MAX_DOCUMENT_BYTES) {
        return refused(
            StatusCode::BAD_REQUEST,
            "DOCUMENT_TOO_LARGE",
            &format!("a query may be at most {} KiB", MAX_DOCUMENT_BYTES / 1024),
        );
    }
    // Each operation's document — sent, or persisted earlier under its hash — parsed once
    // per distinct document (a client sends the same few again and again). A document that
    // does not parse, or a persisted query refused, is that operation's answer.
    let operations: Vec<Result<_, Refused>> = requests
        .into_iter()
        .map(|mut request| {
            let to_keep = endpoint.documents.persisted(&mut request)?;
            let document = endpoint.documents.parsed(&request.query)?;
            Ok((request, document, to_keep))
        })
        .collect();
    let introspects = |operation: &Result<(_, Arc<ExecutableDocument>, _), _>| matches!(operation, Ok((_, document, _)) if asks_schema(document));
    if !endpoint.introspection && operations.iter().any(introspects) {
        return refused(
            StatusCode::BAD_REQUEST,
            "GRAPHQL_VALIDATION_FAILED",
            "introspection is switched off on this server (GRAPHQL_INTROSPECTION): see schema.graphql",
        );
    }
    let token = authorization
        .and_then(|v| auth.scheme().token(v))
        .unwrap_or_default()
        .to_string();
    let client = endpoint.auth_limiter.client_of(&req);
    // The operations of a batch run one after the other.
    let mut responses = Vec::with_capacity(operations.len());
    for operation in operations {
        let mut response = match operation {
            Err(refused) => refused.into_response(),
            Ok((mut request, document, to_keep)) => {
                let to_keep = to_keep.map(|hash| (hash, request.query.clone()));
                request.set_parsed_query((*document).clone());
                let request = request
                    .data(Caller {
                        user,
                        token: token.clone(),
                        client: client.clone(),
                    })
                    .data(comments_loader(&endpoint.db, user))
                    .data(body_loader(&endpoint.db));
                let response = endpoint.schema.execute(request).await;
                // A persisted query is kept once it has validated and run (`data` is null
                // only when it did not).
                if let Some((hash, query)) = to_keep
                    && !matches!(response.data, async_graphql::Value::Null)
                {
                    endpoint.documents.keep(hash, &query);
                }
                response
            }
        };
        super::errors::classify(&mut response);
        responses.push(response);
    }
    if batched {
        return HttpResponse::Ok().json(responses);
    }
    HttpResponse::Ok().json(responses.pop())
}

/// Whether a document asks for the schema (`__schema` or `__type`; `__typename` is fine),
/// anywhere in its operations or fragments. The engine answers such fields with `null` when
/// introspection is off; this says why instead.
fn asks_schema(document: &ExecutableDocument) -> bool {
    use async_graphql::parser::types::{DocumentOperations, Selection, SelectionSet};
    fn asks(set: &SelectionSet) -> bool {
        set.items.iter().any(|item| match &item.node {
            Selection::Field(field) => {
                matches!(field.node.name.node.as_str(), "__schema" | "__type")
                    || asks(&field.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => asks(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => false,
        })
    }
    let operations: Vec<&SelectionSet> = match &document.operations {
        DocumentOperations::Single(operation) => vec![&operation.node.selection_set.node],
        DocumentOperations::Multiple(operations) => operations
            .values()
            .map(|operation| &operation.node.selection_set.node)
            .collect(),
    };
    operations.into_iter().any(asks)
        || document
            .fragments
            .values()
            .any(|fragment| asks(&fragment.node.selection_set.node))
}

/// An operation's comment loader, reading as `viewer` (whom they follow).
fn comments_loader(db: &Database, viewer: Option<i64>) -> DataLoader<CommentsLoader> {
    let loader = CommentsLoader {
        db: db.clone(),
        viewer,
    };
    DataLoader::new(loader, actix_web::rt::spawn)
}

/// An operation's body loader.
fn body_loader(db: &Database) -> DataLoader<BodyLoader> {
    DataLoader::new(BodyLoader { db: db.clone() }, actix_web::rt::spawn)
}

/// `GET /graphql`: GraphiQL, an in-browser editor with completion and the schema's docs.
/// Queries go by `POST`.
pub async fn graphiql() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            // React sets style attributes; GraphiQL's stylesheet inlines its fonts and icons.
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ))
        .body(GRAPHIQL_PAGE)
}

const GRAPHIQL_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Conduit GraphQL — GraphiQL</title>
<link rel="stylesheet" href="/graphql/assets/graphiql.min.css">
<style>body { margin: 0; } #graphiql { height: 100vh; }</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="/graphql/assets/react.production.min.js"></script>
<script src="/graphql/assets/react-dom.production.min.js"></script>
<script src="/graphql/assets/graphiql.min.js"></script>
<script src="/graphql/assets/graphiql-init.js"></script>
</body>
</html>
"#;

/// GraphiQL's files, vendored (`scripts/vendor-graphiql.sh`) and compiled in: name, type,
/// whether gzipped, bytes.
const ASSETS: [(&str, &str, bool, &[u8]); 5] = [
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        true,
        include_bytes!("../../static/graphiql/graphiql.min.js.gz"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        true,
        include_bytes!("../../static/graphiql/graphiql.min.css.gz"),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        true,
        include_bytes!("../../static/graphiql/react.production.min.js.gz"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        true,
        include_bytes!("../../static/graphiql/react-dom.production.min.js.gz"),
    ),
    (
        "graphiql-init.js",
        "text/javascript; charset=utf-8",
        false,
        include_bytes!("../../static/graphiql/graphiql-init.js"),
    ),
];

/// `GET /graphql/assets/{file}`: sent as stored (gzipped: every browser takes it), cached
/// for a day.
pub async fn asset(file: web::Path<String>) -> HttpResponse {
    let Some((_, content_type, gzipped, bytes)) =
        ASSETS.iter().find(|(name, ..)| *name == file.as_str())
    else {
        return refused(
            actix_web::http::StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "no such file",
        );
    };
    let mut response = HttpResponse::Ok();
    response
        .content_type(*content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .insert_header((header::VARY, header::ACCEPT_ENCODING.as_str()));
    if *gzipped {
        response.insert_header((header::CONTENT_ENCODING, "gzip"));
    }
    response.body(*bytes)
}
