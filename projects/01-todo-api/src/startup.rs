//! Building and running the server (the pattern from *Zero To Production*, through the kit's
//! `Capstone` trait): `Application::build(config)` does all the fallible set-up and binds the
//! port, `port()` says which port (tests bind port 0), `run_until_stopped()` serves until
//! SIGINT/SIGTERM.
//! What every capstone's server has (request spans, JSON errors, `/health`, `/ready`, docs,
//! graceful shutdown) comes from `backend_kit::http::AppBuilder`; this file adds what is
//! this project's own: its state and its routes.

use actix_web::web;
use backend_kit::auth::{Auth, AuthScheme};
use backend_kit::cli::Capstone;
use backend_kit::db::{Database, DbError, Migrations};
use backend_kit::http::{AppBuilder, Server, health::Readiness, server::StartupError};
use backend_kit::rate_limit::RateLimiter;
use backend_kit::redis::Redis;

use crate::config::Config;

pub struct Application {
    server: Server,
}

impl Capstone for Application {
    type Config = Config;
    const NAME: &'static str = "todo-api";
    const MIGRATIONS: Migrations = crate::db::migrations;

    async fn build(config: Config) -> Result<Self, StartupError> {
        let settings = &config.settings;
        // Connecting and migrating block: `open` does it on a blocking thread.
        let db = Database::open(settings, Self::MIGRATIONS).await?;
        // Rows from before `todos.search_text` existed get it now, before any search.
        let filled = db
            .run(|conn| crate::db::todos::fill_search_text(conn).map_err(DbError::Query))
            .await?;
        if filled > 0 {
            tracing::info!(todos = filled, "search text filled in for older todos");
        }
        let redis = Redis::from_settings(settings)?;
        let auth = web::Data::new(Auth::new(db.clone(), settings, AuthScheme::BEARER));
        let auth_limiter = RateLimiter::per_minute(
            "auth",
            config.auth_rate_limit_per_minute,
            redis.as_ref(),
            settings,
        );
        let readiness = Readiness::new(db.clone()).with_redis(redis);
        let db = web::Data::new(db);

        let server =
            AppBuilder::new(settings, readiness, crate::openapi::document()).start(move |cfg| {
                cfg.app_data(db.clone()).app_data(auth.clone());
                crate::routes::configure(cfg, &auth_limiter);
            })?;
        Ok(Self { server })
    }

    fn server(&self) -> &Server {
        &self.server
    }

    fn into_server(self) -> Server {
        self.server
    }
}
