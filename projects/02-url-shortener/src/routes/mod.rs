//! URL → handler. The catch-all `GET /{code}` is registered last, after every fixed path.

pub mod jobs;
pub mod links;
pub mod qr;
pub mod redirect;

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use backend_kit::db::Database;
use backend_kit::http::metrics;
use backend_kit::http::{LandingPage, method_not_allowed};
use backend_kit::jobs::JobQueue;
use backend_kit::rate_limit::RateLimiter;

use crate::domain::TargetPolicy;
use crate::link_cache::LinkCache;
use crate::visits::VisitRecorder;

/// What the handlers share.
pub struct AppState {
    pub db: Database,
    /// The redirect cache: every write to a link ends with `links.invalidate(code)`.
    pub links: LinkCache,
    /// bcrypt for link passwords (same cost as account passwords).
    pub hasher: backend_kit::auth::PasswordHasher,
    pub visits: VisitRecorder,
    pub jobs: JobQueue,
    pub policy: TargetPolicy,
    pub public_url: String,
    pub code_length: usize,
    /// Who may change an anonymous link.
    pub anonymous_edits: crate::config::AnonymousEdits,
    /// QR codes being drawn at once: each holds a blocking thread and up to 2048² pixels,
    /// so a flood of them waits here instead of exhausting threads and memory.
    pub qr_renders: tokio::sync::Semaphore,
    /// Imports one user may have unfinished at once.
    pub import_max_unfinished: i64,
}

pub fn configure(cfg: &mut web::ServiceConfig, shorten_limiter: &Arc<RateLimiter>) {
    // Scopes match their static prefix with a string comparison, so a redirect (`/{code}`,
    // tried after everything here) does not pay for these routes' patterns.
    cfg.service(
        web::scope("/shorten")
            .service(
                web::resource("")
                    .route(
                        web::post()
                            .to(links::create)
                            .wrap(shorten_limiter.middleware()),
                    )
                    .default_service(web::to(method_not_allowed)),
            )
            // Before `/{code}`, which would otherwise take "import" for a code.
            .service(
                web::resource("/import")
                    .route(
                        web::post()
                            .to(jobs::import_csv)
                            .wrap(shorten_limiter.middleware()),
                    )
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/{code}")
                    .route(web::get().to(links::get))
                    // Writes share the creation budget: a PUT may hash a password.
                    .route(
                        web::put()
                            .to(links::update)
                            .wrap(shorten_limiter.middleware()),
                    )
                    .route(
                        web::delete()
                            .to(links::delete)
                            .wrap(shorten_limiter.middleware()),
                    )
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/{code}/qr")
                    .route(web::get().to(qr::qr))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/{code}/stats")
                    .route(web::get().to(links::stats))
                    .default_service(web::to(method_not_allowed)),
            ),
    )
    .service(
        web::scope("/jobs").service(
            web::resource("/{id}")
                .route(web::get().to(jobs::get_job))
                .default_service(web::to(method_not_allowed)),
        ),
    )
    .route("/metrics", web::get().to(metrics::serve))
    .service(
        web::resource("/")
            .route(web::get().to(LandingPage::serve))
            .default_service(web::to(method_not_allowed)),
    )
    .route("/app.js", web::get().to(home_script));
}

/// The catch-all redirect; call after everything else is registered.
/// `password_limiter` bounds guesses at link passwords per client.
pub fn configure_redirect(cfg: &mut web::ServiceConfig, password_limiter: &Arc<RateLimiter>) {
    cfg.service(
        web::resource("/{code}")
            .route(web::get().to(redirect::follow))
            .route(
                web::post()
                    .to(redirect::unlock)
                    .wrap(password_limiter.middleware()),
            ),
    );
}

/// The home page's script: a file of its own, since the pages' Content-Security-Policy
/// allows no inline script.
async fn home_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(include_str!("../../static/app.js"))
}
