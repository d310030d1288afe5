//! Building the server (the *Zero To Production* shape): [`Application::build`] does all the
//! fallible set-up — database and migrations, Redis, auth, rate limits — and binds the port;
//! [`Application::port`] says which one (tests bind port 0); [`Application::run_until_stopped`]
//! serves until SIGINT/SIGTERM. The pieces every capstone shares (middleware, health checks,
//! docs, shutdown) come from `backend_kit::http`; how they fit together is on this page.

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use backend_kit::auth::{Auth, AuthScheme};
use backend_kit::db::Database;
use backend_kit::http::metrics::{
    HttpMetrics, MetricsAccess, MetricsEndpoint, PoolMetrics, Registry,
};
use backend_kit::http::{self, LandingPage, Server, StartupError, hardening, health::Readiness};
use backend_kit::rate_limit::RateLimiter;
use backend_kit::redis::Redis;

use crate::config::Config;

pub struct Application {
    server: Server,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let settings = &config.settings;
        // Connecting and migrating block: `open` does it on a blocking thread.
        let db = Database::open(settings, crate::db::migrations).await?;
        let redis = Redis::from_settings(settings)?;
        let auth = web::Data::new(Auth::new(db.clone(), settings, AuthScheme::BEARER));
        let auth_limiter = RateLimiter::per_minute(
            "auth",
            config.auth_rate_limit_per_minute,
            redis.as_ref(),
            settings,
        );
        let readiness = web::Data::new(Readiness::new(db.clone()).with_redis(redis));
        // `/metrics`: requests by route (recorded by the access log) and the pool's state.
        let mut registry = Registry::default();
        let requests = web::Data::new(HttpMetrics::register(&mut registry));
        let pool = PoolMetrics::register(&db, &mut registry);
        let metrics = web::Data::new(MetricsEndpoint::new(registry).refreshing(pool));
        let db = web::Data::new(db);
        let metrics_access = web::Data::new(MetricsAccess::from_settings(settings));
        let openapi = crate::openapi::document();
        // What a visitor sees at `/`: what this is, and links to the docs and the source.
        let landing = web::Data::new(LandingPage::new(
            include_str!("../static/index.html"),
            settings,
            "projects/01-todo-api",
        ));
        let body_timeout = settings.body_read_timeout;

        let listener = http::bind(settings)?;
        let port = listener.local_addr()?.port();
        http::announce(settings, &listener);
        // The closure runs once per worker thread (one per core): each gets its own `App`.
        let server = HttpServer::new(move || {
            // The last `wrap` is the outermost: a request meets the logger first.
            App::new()
                .wrap(from_fn(move |req, next| {
                    hardening::edge(body_timeout, req, next)
                }))
                .wrap(http::request_log())
                .configure(http::configure_extractors)
                .app_data(readiness.clone())
                .configure(http::health::routes)
                // Requests counted by route for Prometheus (recorded by `request_log`).
                .app_data(requests.clone())
                .app_data(metrics.clone())
                .app_data(metrics_access.clone())
                .route("/metrics", web::get().to(http::metrics::serve))
                .configure(|cfg| http::configure_docs(cfg, openapi.clone()))
                .app_data(landing.clone())
                .service(
                    web::resource("/")
                        .route(web::get().to(LandingPage::serve))
                        .default_service(web::to(http::method_not_allowed)),
                )
                .app_data(db.clone())
                .app_data(auth.clone())
                .configure(|cfg| crate::routes::configure(cfg, &auth_limiter))
                .default_service(web::to(http::not_found))
        })
        // Small responses go out at once, not held back by Nagle's algorithm.
        .tcp_nodelay(true)
        .listen(listener)?
        .shutdown_timeout(http::SHUTDOWN_TIMEOUT_SECS)
        // `Server::run_until_stopped` handles SIGINT/SIGTERM (actix would drop requests in flight).
        .disable_signals()
        .run();
        Ok(Self {
            server: Server::new(server, port),
        })
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// Serves until SIGINT/SIGTERM, then lets requests in flight finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.run_until_stopped().await
    }
}
