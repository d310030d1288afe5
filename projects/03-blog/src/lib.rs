//! # blog — capstone 3: the RealWorld "Conduit" API
//!
//! A tour, in the order a request meets the code:
//!
//! - [`startup`] — builds the server: database, accounts (`Authorization: Token`), the
//!   RealWorld error format, routes.
//! - [`routes`] — one file per resource: [`routes::users`], [`routes::profiles`],
//!   [`routes::articles`] (lists, feed, search, favorites), [`routes::comments`],
//!   [`routes::tags`], and [`routes::pages`] (server-rendered HTML for readers). CORS for
//!   browser front ends is set up in [`routes::configure`].
//! - [`domain`] — input parsed once: usernames, bios, image URLs, article text, tags, search
//!   terms; [`domain::slug`] (titles to unique slugs) and [`domain::markdown`] (Markdown to
//!   sanitized HTML).
//! - [`db`] — the schema and the queries: [`db::articles::list`] is where a page of articles
//!   costs three statements whatever its length and the table's size, and where the two databases' full-text search
//!   differ; favorites and follows are rows with composite keys.
//! - [`error`] — the kit's one error type, rendered as RealWorld's `{"errors": {…}}`.
//! - [`graphql`] — the same API as GraphQL (`/graphql`, with GraphiQL): resolvers that call
//!   the REST handlers' operations, loaders that batch, limits on what a query may ask.
//! - [`mail`] and [`jobs`] — mail that is never lost: e-mail verification, password reset
//!   and comment digests ([`routes::account`]) write their mail to the kit's outbox in the
//!   same transaction as the change; jobs deliver it with retries.
//! - [`seed`] — `blog seed`: demo authors, articles, comments, favorites and follows for a new
//!   database, written through the same parsers and queries as the API.

pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod jobs;
pub mod mail;
pub mod openapi;
pub mod routes;
pub mod seed;
pub mod startup;

pub use config::Config;
pub use startup::Application;
