//! Black-box tests: each starts the real server on a random port with its own database
//! (SQLite by default, PostgreSQL under `TEST_DATABASE_URL`, Redis under `TEST_REDIS_URL`)
//! and talks HTTP and WebSocket to it, as a client would.

#[cfg(feature = "browser-tests")]
mod browser;
mod helpers;
mod http;
mod limits;
mod mail;
mod process;
mod protocol;
mod scale;
mod seed;
