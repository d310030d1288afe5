//! URL → handler, grouped by resource. Rate limits wrap the auth endpoints only.

pub mod auth;
pub mod todos;

use std::sync::Arc;

use actix_web::web;
use backend_kit::http::method_not_allowed;
use backend_kit::rate_limit::RateLimiter;

pub fn configure(cfg: &mut web::ServiceConfig, auth_limiter: &Arc<RateLimiter>) {
    cfg.service(
        web::resource("/register")
            .wrap(auth_limiter.middleware())
            .route(web::post().to(auth::register))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/login")
            .wrap(auth_limiter.middleware())
            .route(web::post().to(auth::login))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/refresh")
            .wrap(auth_limiter.middleware())
            .route(web::post().to(auth::refresh))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/logout")
            .route(web::post().to(auth::logout))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
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
