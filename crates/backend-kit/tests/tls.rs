//! TLS to managed services, as Neon, Supabase, RDS, Render, Fly, Upstash and Redis Cloud
//! require: PostgreSQL with `sslmode=require` / `verify-full` (the `postgres-tls` feature: libpq
//! through diesel, sqlx through the job queue) and Redis over `rediss://`.
//!
//! Run by `.ci/run` after `scripts/tls-test-services.sh` (a CA, a certificate for 127.0.0.1 and a
//! Redis with TLS on):
//! `cargo test -p backend-kit --all-features --test tls -- --include-ignored`.
#![cfg(all(feature = "postgres-tls", feature = "jobs"))]

use backend_kit::config::Settings;
use backend_kit::db::{AnyConnection, DatabaseUrl};
use backend_kit::jobs::{JobQueue, JobSettings};
use backend_kit::redis::Redis;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use test_support::TestDatabase;

#[derive(QueryableByName)]
struct SslInUse {
    #[diesel(sql_type = Bool)]
    ssl: bool,
}

fn with_query(url: &str, query: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{query}")
}

fn postgres_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .expect("needs TEST_DATABASE_URL: a PostgreSQL with ssl = on (see .ci/run)")
}

/// What PostgreSQL itself says about this connection.
fn ssl_in_use(url: &str) -> bool {
    let url = DatabaseUrl::parse(url).expect("url");
    let Ok(AnyConnection::Postgresql(mut conn)) = url.connect() else {
        panic!("sslmode=require must connect to a PostgreSQL with ssl = on")
    };
    diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .get_result::<SslInUse>(&mut conn)
        .expect("pg_stat_ssl")
        .ssl
}

#[test]
#[ignore = "needs TEST_DATABASE_URL with ssl = on"]
fn diesel_connects_with_sslmode_require_and_the_connection_is_encrypted() {
    let url = postgres_url();
    assert!(ssl_in_use(&with_query(&url, "sslmode=require")));
    // The control: the same server without TLS, so the check above can fail.
    assert!(!ssl_in_use(&with_query(&url, "sslmode=disable")));
}

#[test]
#[ignore = "needs TEST_DATABASE_URL with ssl = on"]
fn verify_full_refuses_a_certificate_no_trusted_authority_signed() {
    let ca =
        std::env::var("TEST_TLS_CA").expect("needs TEST_TLS_CA (scripts/tls-test-services.sh)");
    // The server's certificate was not signed by this CA: libpq must refuse, not connect.
    let url = with_query(
        &postgres_url(),
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    );
    let err = DatabaseUrl::parse(&url)
        .expect("url")
        .connect()
        .err()
        .expect("an untrusted certificate must not connect");
    assert!(err.to_string().contains("certificate"), "{err}");
}

#[tokio::test]
#[ignore = "needs TEST_DATABASE_URL with ssl = on"]
async fn the_job_queue_connects_with_sslmode_require() {
    let database = TestDatabase::new();
    let url = with_query(database.url(), "sslmode=require");
    let app = Settings::for_tests("kit-tls", url);
    let queue = JobQueue::connect(&app, &JobSettings::for_tests())
        .await
        .expect("sqlx must speak TLS to PostgreSQL");
    queue.ping().await.expect("ping over TLS");
}

#[tokio::test]
#[ignore = "needs TEST_REDISS_URL"]
async fn redis_over_tls_with_a_trusted_certificate() {
    let url = std::env::var("TEST_REDISS_URL")
        .expect("needs TEST_REDISS_URL and SSL_CERT_FILE (scripts/tls-test-services.sh)");
    assert!(url.starts_with("rediss://"), "{url}");
    assert!(
        std::env::var_os("SSL_CERT_FILE").is_some(),
        "SSL_CERT_FILE must name the test CA: it is how a deployment trusts a private CA too"
    );
    let redis = Redis::connect(&url, "kit-tls").expect("url");
    redis.ping().await.expect("PING over TLS");

    // The certificate names 127.0.0.1 only: under another name the handshake must fail, or
    // nothing was verified.
    let other_name = url.replace("127.0.0.1", "localhost");
    let redis = Redis::connect(&other_name, "kit-tls").expect("url");
    assert!(redis.ping().await.is_err(), "{other_name} must not verify");
}
