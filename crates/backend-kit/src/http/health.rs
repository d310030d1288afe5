//! Health checks for load balancers and orchestrators.
//!
//! - `GET /health` — liveness: the process answers. Never touches a dependency, so a slow
//!   database does not get healthy instances restarted.
//! - `GET /ready` — readiness: the database answers (`503` if not). Redis and the job queue
//!   are reported too when a project has them; without them the capstones keep serving
//!   (rate limits fail open, cached reads fall back to the database, imports answer `503`),
//!   so their outage is `"degraded"`, still `200`.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::db::Database;

/// What `/ready` checks. Register it with `.app_data(web::Data::new(readiness))`.
#[derive(Clone)]
pub struct Readiness {
    db: Database,
    #[cfg(feature = "redis")]
    redis: Option<crate::redis::Redis>,
    #[cfg(feature = "jobs")]
    jobs: Option<crate::jobs::JobQueue>,
}

impl Readiness {
    pub fn new(db: Database) -> Self {
        Self {
            db,
            #[cfg(feature = "redis")]
            redis: None,
            #[cfg(feature = "jobs")]
            jobs: None,
        }
    }

    /// Reports Redis, when the project is configured with one.
    #[cfg(feature = "redis")]
    pub fn with_redis(mut self, redis: Option<crate::redis::Redis>) -> Self {
        self.redis = redis;
        self
    }

    /// Reports the job queue's storage (SQLite, PostgreSQL or Redis).
    #[cfg(feature = "jobs")]
    pub fn with_jobs(mut self, queue: crate::jobs::JobQueue) -> Self {
        self.jobs = Some(queue);
        self
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health))
        .route("/ready", web::get().to(ready));
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

async fn ready(checks: web::Data<Readiness>) -> HttpResponse {
    let database = match checks.db.ping().await {
        Ok(()) => "ok",
        Err(e) => {
            tracing::error!(error = %e, "readiness: database unavailable");
            "unavailable"
        }
    };
    #[cfg(feature = "redis")]
    let redis = match &checks.redis {
        None => "not configured",
        Some(redis) => optional("redis", redis.ping().await),
    };
    #[cfg(not(feature = "redis"))]
    let redis = "not configured";
    #[cfg(feature = "jobs")]
    let jobs = match &checks.jobs {
        None => "not configured",
        Some(queue) => optional("job queue", queue.ping().await),
    };
    #[cfg(not(feature = "jobs"))]
    let jobs = "not configured";

    let (status, mut response) = match (database, redis, jobs) {
        ("ok", "unavailable", _) | ("ok", _, "unavailable") => ("degraded", HttpResponse::Ok()),
        ("ok", _, _) => ("ok", HttpResponse::Ok()),
        _ => ("unavailable", HttpResponse::ServiceUnavailable()),
    };
    let mut body = json!({ "status": status, "database": database, "redis": redis });
    if jobs != "not configured" {
        body["jobs"] = jobs.into();
    }
    response.json(body)
}

/// A dependency the service can run without: its outage is logged as a warning.
#[cfg(feature = "redis")] // `jobs` implies `redis`
fn optional<E: std::fmt::Display>(name: &str, ping: Result<(), E>) -> &'static str {
    match ping {
        Ok(()) => "ok",
        Err(e) => {
            tracing::warn!(error = %e, "readiness: {name} unavailable");
            "unavailable"
        }
    }
}
