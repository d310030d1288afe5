//! Health checks for load balancers and orchestrators.
//!
//! - `GET /health` — liveness: the process answers. Never touches a dependency, so a slow
//!   database does not get healthy instances restarted.
//! - `GET /ready` — readiness: the database answers (`503` if not). Redis is reported too
//!   when configured; without it the capstones keep working (rate limits fail open), so a
//!   Redis outage is `"degraded"`, still `200`.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::db::Database;

/// What `/ready` checks. Register it with `.app_data(web::Data::new(readiness))`.
#[derive(Clone)]
pub struct Readiness {
    pub db: Database,
    #[cfg(feature = "redis")]
    pub redis: Option<crate::redis::Redis>,
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
        Some(redis) => match redis.ping().await {
            Ok(()) => "ok",
            Err(e) => {
                tracing::warn!(error = %e, "readiness: redis unavailable");
                "unavailable"
            }
        },
    };
    #[cfg(not(feature = "redis"))]
    let redis = "not configured";

    let (status, mut response) = match (database, redis) {
        ("ok", "unavailable") => ("degraded", HttpResponse::Ok()),
        ("ok", _) => ("ok", HttpResponse::Ok()),
        _ => ("unavailable", HttpResponse::ServiceUnavailable()),
    };
    response.json(json!({ "status": status, "database": database, "redis": redis }))
}
