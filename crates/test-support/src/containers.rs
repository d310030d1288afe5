//! PostgreSQL and Redis from Docker via testcontainers, for `TEST_BACKEND=docker` (GitHub
//! Actions, a laptop with Docker). One container of each per test binary, started on first
//! use; testcontainers' reaper removes them when the binary exits. Each test still gets its
//! own database or key prefix inside them.

use std::sync::OnceLock;

use testcontainers::ImageExt;
use testcontainers::runners::SyncRunner;
use testcontainers_modules::{postgres::Postgres, redis::Redis};

/// Starts containers on a plain thread: the blocking runner makes its own Tokio runtime,
/// which may not be created inside the test's runtime.
fn on_own_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(f)
        .join()
        .expect("container start-up thread panicked")
}

pub fn postgres_url() -> String {
    static CONTAINER: OnceLock<(testcontainers::Container<Postgres>, String)> = OnceLock::new();
    CONTAINER
        .get_or_init(|| {
            on_own_thread(|| {
                let container = Postgres::default()
                    .with_tag("17-alpine")
                    .start()
                    .expect("TEST_BACKEND=docker: start postgres:17-alpine (is Docker running?)");
                let host = container.get_host().expect("container host");
                let port = container.get_host_port_ipv4(5432).expect("container port");
                let url = format!("postgres://postgres:postgres@{host}:{port}/postgres");
                (container, url)
            })
        })
        .1
        .clone()
}

pub fn redis_url() -> String {
    static CONTAINER: OnceLock<(testcontainers::Container<Redis>, String)> = OnceLock::new();
    CONTAINER
        .get_or_init(|| {
            on_own_thread(|| {
                let container = Redis::default()
                    .with_tag("7-alpine")
                    .start()
                    .expect("TEST_BACKEND=docker: start redis:7-alpine (is Docker running?)");
                let host = container.get_host().expect("container host");
                let port = container.get_host_port_ipv4(6379).expect("container port");
                (container, format!("redis://{host}:{port}"))
            })
        })
        .1
        .clone()
}
