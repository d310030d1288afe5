//! # url-shortener — capstone 2: caching, batched writes, redirects, URL safety
//!
//! A tour, in the order a request meets the code:
//!
//! - [`startup`] — builds the server: database, cache (moka or Redis), visit recorder, routes.
//! - [`routes`] — [`routes::links`] (`/shorten` CRUD and stats) and [`routes::redirect`]
//!   (`GET /{code}`: the hot path, served from the cache).
//! - [`links`] — what each link operation does, whichever API it came through: the HTTP
//!   handlers and the gRPC service both call it.
//! - [`grpc`] — the same operations over gRPC (`shortener.v1.Links`, on `GRPC_PORT`): tonic,
//!   the proto compiled at build time, health, reflection, a stream of visits.
//! - [`link_cache`] — cache-aside for redirects (in process, or Redis), negative caching,
//!   invalidation after every write; on [`cache`], the typed cache with TTLs and versioned
//!   fills (moka in process, or Redis shared by every instance).
//! - [`domain`] — `TargetUrl` (what may be shortened: the SSRF rules), `ShortCode` and
//!   `CustomCode`, `RedirectType`.
//! - [`visits`] — visits go into a bounded channel and are written in batches, so counting
//!   never slows a redirect; [`visit_feed`] announces each written batch to gRPC's visit
//!   streams (through Redis, to every instance).
//! - [`jobs`] — background work on apalis: CSV imports ([`routes::jobs`] queues them and
//!   reports progress) and the cron job that rolls visits up per day and marks expired links.
//! - [`db`] — schema and queries; the atomic `max_visits` check lives in [`db::links`].
//! - [`error`] — the kit's one error type, and this project's errors converted into it.
//! - [`seed`] — `url-shortener seed`: a demo account, links and a month of visits.

pub mod cache;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod jobs;
pub mod link_cache;
pub mod links;
pub mod openapi;
pub mod routes;
pub mod seed;
pub mod startup;
pub mod visit_feed;
pub mod visits;

pub use config::Config;
pub use startup::{Application, CrashHandle};
