//! URL → handler, grouped by resource. Accounts (`/api/register`, `/api/login`,
//! `/api/refresh`, `/api/logout`) are the kit's shared routes, mounted under `/api`.

pub mod mentions;
pub mod pages;
pub mod rooms;
pub mod tickets;

use std::sync::Arc;

use actix_web::web;
use backend_kit::http::{LandingPage, method_not_allowed};
use backend_kit::rate_limit::RateLimiter;

pub fn configure(cfg: &mut web::ServiceConfig, auth_limiter: &Arc<RateLimiter>) {
    let resource =
        |path: &str| web::resource(path.to_string()).default_service(web::to(method_not_allowed));
    cfg.service(
        web::scope("/api")
            .configure(|api| backend_kit::auth::routes::configure(api, auth_limiter))
            .service(resource("/ws-ticket").route(web::post().to(tickets::create)))
            .service(
                resource("/rooms")
                    .route(web::get().to(rooms::list))
                    .route(web::post().to(rooms::create)),
            )
            .service(resource("/rooms/{name}/messages").route(web::get().to(rooms::history)))
            .service(
                resource("/mentions/unsubscribe")
                    .route(web::get().to(mentions::confirm))
                    .route(web::post().to(mentions::unsubscribe)),
            ),
    )
    .service(resource("/ws").route(web::get().to(crate::ws::upgrade)))
    .service(resource("/protocol.json").route(web::get().to(pages::protocol)))
    .service(resource("/").route(web::get().to(LandingPage::serve)))
    .service(resource("/app.js").route(web::get().to(pages::script)))
    .service(resource("/style.css").route(web::get().to(pages::style)));
}
