//! Black-box tests: each starts the real server on a random port with its own database
//! (SQLite by default, PostgreSQL under `TEST_DATABASE_URL`, Redis under `TEST_REDIS_URL`)
//! and talks HTTP and WebSocket to it, as a client would.

mod helpers;
mod http;
mod limits;
mod mail;
#[cfg(feature = "browser-tests")]
mod browser;
mod process;
mod protocol;
mod scale;
