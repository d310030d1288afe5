//! Black-box tests: each starts the real server on a random port with its own database
//! (SQLite by default, PostgreSQL under `TEST_DATABASE_URL`, Redis under `TEST_REDIS_URL`)
//! and talks HTTP to it, as a RealWorld front end would.

mod articles;
#[cfg(feature = "browser-tests")]
mod browser;
mod comments;
mod concurrency;
mod graphql;
mod helpers;
mod mail;
mod pages;
mod paging;
mod process;
mod profiles;
mod queries;
mod search;
mod seed;
mod users;
