//! URL → handler, grouped by resource. The account endpoints (`/register`, `/login`,
//! `/refresh`, `/logout`) are shared by every capstone: `backend_kit::auth::routes`.

pub mod todos;

use std::sync::Arc;

use actix_web::web;
use backend_kit::http::method_not_allowed;
use backend_kit::rate_limit::RateLimiter;

pub fn configure(cfg: &mut web::ServiceConfig, auth_limiter: &Arc<RateLimiter>) {
    backend_kit::auth::routes::configure(cfg, auth_limiter);
    cfg.service(
        web::resource("/todos")
            .route(web::get().to(todos::list))
            .route(web::post().to(todos::create))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/todos/{id}")
            .route(web::get().to(todos::get))
            .route(web::put().to(todos::replace))
            .route(web::patch().to(todos::update))
            .route(web::delete().to(todos::delete))
            .default_service(web::to(method_not_allowed)),
    );
}
