//! # backend-kit: the shared auth/db crate
//!
//! Every capstone in `projects/` is built from the same parts. They live here, one module per
//! capability and each behind a cargo feature, so a project compiles only what it uses.
//!
//! | module | feature | what it gives a project |
//! |---|---|---|
//! | [`config`] | always | settings from environment variables (and `.env`), with defaults |
//! | [`secret`] | always | a wrapper that keeps secrets out of logs and `Debug` output |
//! | [`time`] | always | UTC timestamps stored identically on SQLite and PostgreSQL |
//! | [`validation`] | always | `FieldErrors`: every problem with the input, per field |
//! | [`db`] | `db` | one connection pool for PostgreSQL *or* SQLite, chosen from `DATABASE_URL`; migrations |
//! | [`auth`] | `auth` | users, bcrypt passwords, JWT access tokens, rotating refresh tokens (with `http`: extractors and account routes) |
//! | [`http`] | `http` | the pieces of a server: middleware, the one error type, tracing with request ids, `/health` and `/ready`, graceful shutdown |
//! | [`cli`] | `cli` | pieces of a capstone's clap command line: `serve` flags, `migrate`, exit codes |
//! | [`rate_limit`] | `rate-limit` | per-client request budgets, in-process or shared through Redis |
//! | [`redis`] | `redis` | one Redis client (prefix, circuit breaker) for limits, queues and pub/sub |
//! | [`jobs`] | `jobs` | background jobs (apalis): a durable queue in SQLite, PostgreSQL or Redis, retries with backoff, cron schedules |
//! | [`mail`] | `mail` | e-mail (lettre) through an outbox table and the job queue: SMTP or `.eml` files, retries, never lost |
//!
//! The seam: a capstone calls the kit; the kit never calls a capstone back. `README.md` beside
//! this crate's `Cargo.toml` says what a capstone writes, what it gets, and when code belongs
//! here. Start reading at [`db`]: it shows how one diesel codebase runs on two databases.

pub mod config;
pub mod secret;
pub mod time;
pub mod validation;

#[cfg(feature = "auth")]
pub mod auth;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "db")]
pub mod db;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "jobs")]
pub mod jobs;
#[cfg(feature = "mail")]
pub mod mail;
#[cfg(feature = "rate-limit")]
pub mod rate_limit;
#[cfg(feature = "redis")]
pub mod redis;
