//! The blog's GraphQL API (`POST /graphql`; `GET /graphql` is GraphiQL, served from the
//! binary). The same articles, users and rules as the REST API: each resolver calls the
//! operation its REST handler calls ([`crate::routes`]). A tour:
//!
//! - [`query`] and [`mutation`] — the schema's entry points (`schema.graphql` is the whole
//!   schema as a file; a test keeps it current).
//! - [`types`] — `Article`, `Profile`, `Comment`, `User`, and a page of articles.
//! - [`loaders`] — what keeps a query from costing a statement per article: the fields that
//!   need more rows batch them.
//! - [`errors`] — REST's errors as GraphQL errors with `extensions.code`.
//! - [`http`] — the endpoint: the token, the size and batch limits, GraphiQL.
//! - [`documents`] — each distinct query parsed once; persisted queries (a hash for a
//!   document).
//!
//! **Limits.** A client writes the query, so a client chooses the work. Every query is
//! checked before it runs: at most [`MAX_DEPTH`] levels deep, [`MAX_COMPLEXITY`] points
//! (each field 1; a list field multiplies what it holds by the items asked for, so 100
//! articles with 100 comments each is 10 000), a document of at most
//! [`http::MAX_DOCUMENT_BYTES`], at most [`http::MAX_BATCH`] operations per request.
//! Introspection can be switched off (`GRAPHQL_INTROSPECTION=false`).

pub mod documents;
pub mod errors;
pub mod http;
pub mod loaders;
pub mod mutation;
pub mod query;
pub mod types;

use std::sync::Arc;

use actix_web::web;
use async_graphql::{EmptySubscription, Schema};
use backend_kit::auth::Auth;
use backend_kit::db::Database;
use backend_kit::rate_limit::RateLimiter;

use self::errors::GraphqlResult;
use crate::db::articles::PageRequest;
use crate::error::ApiError;
use crate::mail::Mail;
use crate::routes::{MailLimits, WriteLimits};

pub type BlogSchema = Schema<query::Query, mutation::Mutation, EmptySubscription>;

/// How deep a query may nest (GraphiQL's own introspection query needs 13).
pub const MAX_DEPTH: usize = 16;
/// How much work a query may ask for, in the engine's points (see the module docs). A page
/// of 20 articles with their authors, tags and three comments each is about 400.
pub const MAX_COMPLEXITY: usize = 1_000;
/// What a root field costs besides its fields: each is at least one SQL statement, so a
/// query of a thousand aliased `tags` is refused rather than run.
pub const ROOT_COST: usize = 20;
/// What a mutation costs: a write transaction, often a bcrypt hash. About ten per operation
/// (nine with the fields they answer; a request of ten operations: under a hundred), where
/// REST takes one per request.
pub const MUTATION_COST: usize = 100;

/// What the resolvers share: the same pieces the REST handlers take.
pub struct Deps {
    pub db: Database,
    pub auth: web::Data<Auth>,
    pub mail: web::Data<Mail>,
    pub writes: web::Data<WriteLimits>,
    pub mail_limits: web::Data<MailLimits>,
    /// `register` and `login`, per client: REST's auth budget.
    pub auth_limiter: Arc<RateLimiter>,
}

impl Deps {
    /// Spends one of the client's register/login attempts (`RATE_LIMITED` past them).
    async fn spend_auth_budget(&self, caller: &Caller) -> async_graphql::Result<()> {
        self.auth_limiter
            .check(&caller.client)
            .await
            .into_result()
            .graphql()
    }
}

/// Who sent the request.
pub struct Caller {
    /// The account of the token sent, if any.
    pub user: Option<i64>,
    /// The token as sent (answers about the caller hand it back).
    pub token: String,
    /// The client's address, as the rate limits key it.
    pub client: String,
}

impl Caller {
    /// The caller's account; `UNAUTHENTICATED` without a token.
    fn required(&self) -> async_graphql::Result<i64> {
        self.user.ok_or(ApiError::Unauthorized).graphql()
    }
}

/// The schema, and what the endpoint needs besides it to start each operation.
pub struct Endpoint {
    pub schema: BlogSchema,
    db: Database,
    auth_limiter: Arc<RateLimiter>,
    introspection: bool,
    documents: documents::Documents,
}

/// The endpoint: the schema with its limits; `introspection` from `GRAPHQL_INTROSPECTION`.
pub fn endpoint(deps: Deps, introspection: bool) -> Endpoint {
    let (db, auth_limiter) = (deps.db.clone(), deps.auth_limiter.clone());
    Endpoint {
        schema: schema(deps, introspection),
        db,
        auth_limiter,
        introspection,
        documents: documents::Documents::default(),
    }
}

fn schema(deps: Deps, introspection: bool) -> BlogSchema {
    let builder = Schema::build(query::Query, mutation::Mutation, EmptySubscription)
        .data(deps)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        // The parser's own nesting (lists in lists in arguments…), before any rule runs.
        .limit_recursive_depth(32)
        .limit_directives(8);
    if introspection {
        builder.finish()
    } else {
        builder.disable_introspection().finish()
    }
}

/// The schema's SDL, as `schema.graphql` holds it (`blog schema` prints it).
pub fn sdl() -> String {
    Schema::build(query::Query, mutation::Mutation, EmptySubscription)
        .finish()
        .sdl()
}

/// A page's size for the complexity estimate: what `first` or `limit` asks (default 20).
fn page_size(first: Option<i32>, limit: Option<i32>) -> usize {
    first.or(limit).unwrap_or(20).clamp(1, 100) as usize
}

/// `first`/`after` or `limit`/`offset`, checked as REST checks `limit`, `offset` and
/// `before` (errors name the argument sent).
fn page_request(
    first: Option<i32>,
    after: Option<String>,
    limit: Option<i32>,
    offset: Option<i32>,
) -> async_graphql::Result<PageRequest> {
    if first.is_some() && limit.is_some() {
        return Err(ApiError::invalid("first", "give first or limit, not both")).graphql();
    }
    let size = first.or(limit).map(|n| n.to_string());
    let offset = offset.map(|n| n.to_string());
    crate::routes::articles::page_request(size.as_deref(), offset.as_deref(), after.as_deref())
        .map_err(|e| match first {
            Some(_) => renamed(e, "limit", "first"),
            None => e,
        })
        .map_err(|e| renamed(e, "before", "after"))
        .graphql()
}

/// `first` of a list field, checked (1 to `max`).
fn bounded(name: &'static str, value: i32, max: i32) -> async_graphql::Result<i64> {
    if (1..=max).contains(&value) {
        Ok(value.into())
    } else {
        Err(ApiError::invalid(
            name,
            format!("must be an integer from 1 to {max}"),
        ))
        .graphql()
    }
}

/// A validation error about REST's `from` reported under GraphQL's name `to`.
fn renamed(error: ApiError, from: &str, to: &'static str) -> ApiError {
    match error {
        ApiError::Validation { message, errors } => {
            let mut renamed = backend_kit::validation::FieldErrors::default();
            for (field, problems) in errors.0 {
                let field = if field == from { to.into() } else { field };
                for problem in problems {
                    renamed.add(field.clone(), problem);
                }
            }
            ApiError::Validation {
                message,
                errors: renamed,
            }
        }
        other => other,
    }
}
