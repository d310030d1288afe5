//! Black-box tests: each starts the real server on a random port with its own database
//! (SQLite by default, PostgreSQL under `TEST_DATABASE_URL`, Redis under `TEST_REDIS_URL`).

#[cfg(feature = "browser-tests")]
mod browser;
mod cache;
mod cache_store;
mod grpc;
mod helpers;
mod hostile;
mod jobs;
mod links;
mod owners;
mod redirect;
mod seed;
