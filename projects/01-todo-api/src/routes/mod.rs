//! URL → handler, grouped by resource: [`accounts`] (`/register`, `/login`, `/refresh`,
//! `/logout`) and [`todos`]. A path with a method it does not take answers `405`.

pub mod accounts;
pub mod todos;

use std::sync::Arc;

use actix_web::web;
use backend_kit::http::method_not_allowed;
use backend_kit::rate_limit::RateLimiter;

/// `auth_limiter` guards `/register`, `/login` and `/refresh` (the doors of password
/// guessing and account spam) with one budget per client.
pub fn configure(cfg: &mut web::ServiceConfig, auth_limiter: &Arc<RateLimiter>) {
    let limited = |route: actix_web::Route| route.wrap(auth_limiter.middleware());
    for (path, route) in [
        ("/register", limited(web::post().to(accounts::register))),
        ("/login", limited(web::post().to(accounts::login))),
        ("/refresh", limited(web::post().to(accounts::refresh))),
        ("/logout", web::post().to(accounts::logout)),
    ] {
        cfg.service(
            web::resource(path)
                .route(route)
                .default_service(web::to(method_not_allowed)),
        );
    }
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
