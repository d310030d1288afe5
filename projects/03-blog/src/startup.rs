//! Building and running the server (the pattern from *Zero To Production*, through the kit's
//! `Capstone` trait): `Application::build(config)` does all the fallible set-up and binds the
//! port, `port()` says which port (tests bind port 0), `run_until_stopped()` serves until
//! SIGINT/SIGTERM. Everything every capstone's server has comes from
//! `backend_kit::http::AppBuilder`; this file adds the blog's state, routes and error format.

use actix_web::web;
use backend_kit::auth::{Auth, AuthScheme};
use backend_kit::cli::Capstone;
use backend_kit::db::{Database, Migrations};
use backend_kit::http::{AppBuilder, ErrorFormat, Server, health::Readiness, server::StartupError};
use backend_kit::rate_limit::RateLimiter;
use backend_kit::redis::Redis;

use crate::config::Config;

pub struct Application {
    server: Server,
    db: Database,
}

impl Application {
    /// The database the server uses: tests read [`Database::statements_run`] around a
    /// request to count its queries.
    pub fn database(&self) -> &Database {
        &self.db
    }
}

impl Capstone for Application {
    type Config = Config;
    const NAME: &'static str = "blog";
    const MIGRATIONS: Migrations = crate::db::migrations;

    async fn build(config: Config) -> Result<Self, StartupError> {
        let settings = &config.settings;
        let db = Database::open(settings, Self::MIGRATIONS).await?;
        let redis = Redis::from_settings(settings)?;
        // RealWorld sends `Authorization: Token <jwt>`.
        let auth = web::Data::new(Auth::new(db.clone(), settings, AuthScheme::TOKEN));
        let auth_limiter = RateLimiter::per_minute(
            "auth",
            config.auth_rate_limit_per_minute,
            redis.as_ref(),
            settings,
        );
        let readiness = Readiness::new(db.clone()).with_redis(redis);
        let data = web::Data::new(db.clone());
        let cors = config.cors_origins.clone();

        let server = AppBuilder::new(settings, readiness, crate::openapi::document())
            .error_format(ErrorFormat::RealWorld)
            .start(move |cfg| {
                cfg.app_data(data.clone()).app_data(auth.clone());
                crate::routes::configure(cfg, &auth_limiter, &cors);
            })?;
        Ok(Self { server, db })
    }

    fn server(&self) -> &Server {
        &self.server
    }

    fn into_server(self) -> Server {
        self.server
    }
}
