//! Black-box tests: each starts the real server on a random port with its own fresh database
//! (SQLite by default, PostgreSQL under `TEST_DATABASE_URL`) and talks HTTP to it.
//! One binary for all files, so the crate links once.

mod auth;
mod docs;
mod errors;
mod helpers;
mod hostile;
mod listing;
mod rate_limit;
mod seed;
mod todos;
