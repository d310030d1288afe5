//! # todo-api — capstone 1: REST, SQL and authentication
//!
//! A tour, in the order a request meets the code:
//!
//! - `main.rs` — the program's start: the command line (`serve`, `migrate`, `seed`), configuration,
//!   logging.
//! - [`startup`] — builds the server: database pool and migrations, auth, rate limiter, and
//!   `HttpServer::new(move || App::new()…)` with its middleware and routes.
//! - [`routes`] — one file per resource: [`routes::accounts`] (`/register`, `/login`,
//!   `/refresh`, `/logout`: validate, hash, insert, tokens, calling `backend_kit::auth`) and
//!   [`routes::todos`] (`/todos` CRUD and listing). Handlers are thin: parse, call the
//!   database, shape the JSON.
//! - [`domain`] — types that can only hold valid data (`Title`, `ListQuery`, …). Handlers parse
//!   raw input into them once; everything after that can trust them.
//! - [`db`] — the diesel schema and every SQL query, run off the async executor.
//! - [`error`] — the kit's one error type, which maps everything that can go wrong to a status
//!   code and this API's JSON in one place.
//! - [`openapi`] — the OpenAPI 3.1 document served at `/openapi.json`, with docs at `/docs`.
//!
//! Shared parts (users, tokens, config, health checks, rate limiting) come from `backend-kit`.

pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod openapi;
pub mod routes;
pub mod seed;
pub mod startup;

pub use config::Config;
pub use startup::Application;
