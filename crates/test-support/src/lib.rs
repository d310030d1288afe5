//! # test-support: what every capstone's integration tests share
//!
//! - [`TestDatabase`]: a fresh, empty database per test, dropped when the test ends.
//! - [`TestRedis`]: a Redis URL plus a unique key prefix per test, or `None`.
//! - [`TestClient`]: a `reqwest` client bound to a spawned server, with JSON helpers.
//! - `browser::Browser` (feature `browser`): a headless Chromium over WebDriver, for served pages.
//! - `smtp::SmtpServer` (feature `smtp`): a real SMTP server per test, to wait for a mail and
//!   follow its link; it can be stopped and restarted for outage tests.
//! - [`routes`]: every route a capstone serves is in its OpenAPI document.
//! - [`TcpProxy`]: a forwarder a test can cut, to cut the service off from Redis alone.
//! - `process` (feature `process`): the project's binary as a child process (clean
//!   environment, free port, killed when the test ends, wait for `/health`).
//!
//! Where the services come from, in order:
//!
//! | environment | database | Redis |
//! |---|---|---|
//! | `TEST_DATABASE_URL=postgres://…/postgres` | a new `test_<random>` database on that server | — |
//! | `TEST_REDIS_URL=redis://…` | — | that server, keys under a random prefix |
//! | `TEST_BACKEND=docker` (and the above unset; feature `docker`) | PostgreSQL 17 from testcontainers | Redis 7 from testcontainers |
//! | nothing | a SQLite file in a temp directory | none (in-process) |
//!
//! The project's own `tests/api/helpers.rs` builds its server from these in a few lines.

#[cfg(feature = "browser")]
pub mod browser;
mod client;
#[cfg(feature = "docker")]
mod containers;
#[cfg(feature = "process")]
pub mod process;
mod proxy;
pub mod routes;
#[cfg(feature = "smtp")]
pub mod smtp;

use std::sync::OnceLock;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

pub use client::{TestClient, TestResponse};
pub use proxy::TcpProxy;

/// Random lower-case letters and digits, for database names and key prefixes.
pub fn unique_suffix() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..12)
        .map(|_| {
            let n = rng.random_range(0..36u8);
            char::from(if n < 10 { b'0' + n } else { b'a' + n - 10 })
        })
        .collect()
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The containers, when this crate was built with them.
#[cfg(feature = "docker")]
use containers as docker;

#[cfg(not(feature = "docker"))]
mod docker {
    const HINT: &str = "TEST_BACKEND=docker needs the containers compiled in: \
        cargo test --workspace --features test-support/docker";

    pub fn postgres_url() -> String {
        panic!("{HINT}")
    }

    pub fn redis_url() -> String {
        panic!("{HINT}")
    }
}

fn docker_requested() -> bool {
    env("TEST_BACKEND").is_some_and(|v| v.eq_ignore_ascii_case("docker"))
}

/// The PostgreSQL maintenance URL tests create their databases on, if any.
fn postgres_admin_url() -> Option<String> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        env("TEST_DATABASE_URL").or_else(|| docker_requested().then(docker::postgres_url))
    })
    .clone()
}

/// Which backend this test run uses: `"postgres"` or `"sqlite"`.
pub fn database_backend() -> &'static str {
    if postgres_admin_url().is_some() {
        "postgres"
    } else {
        "sqlite"
    }
}

/// A database that exists for one test. Dropping it removes it (file or PostgreSQL database),
/// so test runs leave nothing behind.
pub struct TestDatabase {
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    pub fn new() -> Self {
        match postgres_admin_url() {
            Some(admin_url) => Self::postgres(admin_url),
            None => Self::sqlite(),
        }
    }

    fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("create a temp dir for the test database");
        let url = dir.path().join("test.db").to_string_lossy().into_owned();
        Self {
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    fn postgres(admin_url: String) -> Self {
        let name = format!("test_{}", unique_suffix());
        let mut admin = PgConnection::establish(&admin_url).unwrap_or_else(|e| {
            panic!("TEST_DATABASE_URL is set but PostgreSQL is not reachable: {e}")
        });
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create the test database");
        let url = replace_database(&admin_url, &name);
        Self {
            url,
            cleanup: Cleanup::Postgres { admin_url, name },
        }
    }

    /// What to put in `DATABASE_URL` for the server under test.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Default for TestDatabase {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            // FORCE closes the server's pooled connections (PostgreSQL 13+).
            let dropped = PgConnection::establish(admin_url).and_then(|mut admin| {
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))
            });
            if let Err(e) = dropped {
                eprintln!("warning: could not drop test database {name}: {e}");
            }
        }
    }
}

/// `postgres://u@h:5432/postgres?x=y` with `postgres` replaced by `name`.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let without_db = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{without_db}/{name}?{query}"),
        None => format!("{without_db}/{name}"),
    }
}

/// A Redis server for one test: keys under `prefix` belong to it alone.
#[derive(Debug, Clone)]
pub struct TestRedis {
    pub url: String,
    pub prefix: String,
}

impl TestRedis {
    /// `None` when no Redis is configured: the test then runs against the in-process fallback.
    pub fn new() -> Option<Self> {
        static URL: OnceLock<Option<String>> = OnceLock::new();
        let url = URL
            .get_or_init(|| {
                env("TEST_REDIS_URL").or_else(|| docker_requested().then(docker::redis_url))
            })
            .clone()?;
        Some(Self {
            url,
            prefix: format!("test-{}", unique_suffix()),
        })
    }

    /// Points a server's settings at this Redis, under this test's key prefix.
    pub fn configure(&self, settings: &mut backend_kit::config::Settings) {
        settings.redis_url = Some(backend_kit::secret::Secret::new(self.url.clone()));
        settings.redis_prefix = self.prefix.clone();
    }

    /// A [`TcpProxy`] in front of this Redis, and the URL that reaches Redis through it: give
    /// that URL to the server a test will cut off (`cut`) or freeze (`stall`).
    pub fn proxy(&self) -> (TcpProxy, String) {
        // `redis://[user:pass@]host[:port][/db]` → `host:port`.
        let rest = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |(_, r)| r);
        let authority = rest.split('/').next().unwrap_or(rest);
        let host_port = authority.rsplit('@').next().unwrap_or(authority);
        let target = if host_port.contains(':') {
            host_port.to_string()
        } else {
            format!("{host_port}:6379")
        };
        let proxy = TcpProxy::start(&target).expect("a proxy in front of Redis");
        let url = format!("redis://{}", proxy.address());
        (proxy, url)
    }

    /// For a test marked `#[ignore = "needs TEST_REDIS_URL"]`: run without Redis it fails
    /// loudly instead of passing without testing anything.
    pub fn required() -> Self {
        Self::new().expect(
            "this test needs Redis: set TEST_REDIS_URL (or TEST_BACKEND=docker); \
             `.ci/run` does, and runs it with --include-ignored",
        )
    }
}

/// A port nothing listens on right now (for a server or driver a test starts itself).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_name_and_keeps_the_query() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            replace_database("postgres://u:p@h/db?sslmode=disable", "t2"),
            "postgres://u:p@h/t2?sslmode=disable"
        );
        assert_eq!(
            replace_database("postgres://u@h:5432", "t3"),
            "postgres://u@h:5432/t3"
        );
    }

    #[test]
    fn suffixes_are_valid_identifiers_and_differ() {
        let (a, b) = (unique_suffix(), unique_suffix());
        assert_ne!(a, b);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }

    #[test]
    fn a_test_database_is_removed_when_dropped() {
        let db = TestDatabase::new();
        let url = db.url().to_string();
        match &db.cleanup {
            Cleanup::Sqlite(_) => {
                let dir = std::path::Path::new(&url)
                    .parent()
                    .expect("has a dir")
                    .to_path_buf();
                drop(db);
                assert!(!dir.exists());
            }
            Cleanup::Postgres { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                drop(db);
                let mut admin = PgConnection::establish(&admin_url).expect("admin connection");
                use diesel::prelude::*;
                #[derive(QueryableByName)]
                struct Count {
                    #[diesel(sql_type = diesel::sql_types::BigInt)]
                    n: i64,
                }
                let left: Count =
                    diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
                        .bind::<diesel::sql_types::Text, _>(&name)
                        .get_result(&mut admin)
                        .expect("query");
                assert_eq!(left.n, 0, "test database {name} was left behind");
            }
        }
    }
}
