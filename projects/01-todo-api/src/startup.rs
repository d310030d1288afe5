//! Building and running the server (the pattern from *Zero To Production*):
//! `Application::build(config)` does all the fallible set-up and binds the port, `port()`
//! says which port (tests bind port 0), `run_until_stopped()` serves until SIGINT/SIGTERM.

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use backend_kit::auth::{Auth, AuthScheme};
use backend_kit::db::{Database, DbError};
use backend_kit::http::{self, health::Readiness};
use backend_kit::rate_limit::RateLimiter;
use backend_kit::redis::Redis;
use tracing_actix_web::TracingLogger;
use utoipa::OpenApi;

use crate::config::Config;
use crate::openapi::ApiDoc;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("invalid REDIS_URL: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("could not bind the port: {0}")]
    Io(#[from] std::io::Error),
}

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let settings = config.settings.clone();
        // Connecting and migrating block: `open` does it on a blocking thread.
        let db = Database::open(&settings, crate::db::migrations).await?;
        let redis = Redis::from_settings(&settings)?;

        let auth = web::Data::new(Auth::new(db.clone(), &settings, AuthScheme::BEARER));
        let auth_limiter = RateLimiter::per_minute(
            "auth",
            config.auth_rate_limit_per_minute,
            redis.as_ref(),
            &settings,
        );
        let readiness = web::Data::new(Readiness::new(db.clone()).with_redis(redis));
        let db = web::Data::new(db);
        let openapi = ApiDoc::openapi();

        let listener = http::bind(&settings)?;
        let port = listener.local_addr()?.port();
        http::announce(&settings, &listener);

        let server = HttpServer::new(move || {
            App::new()
                .wrap(TracingLogger::default())
                .configure(http::configure_extractors)
                .app_data(db.clone())
                .app_data(auth.clone())
                .app_data(readiness.clone())
                .configure(http::health::routes)
                .configure(|cfg| crate::routes::configure(cfg, &auth_limiter))
                .configure(|cfg| http::configure_docs(cfg, openapi.clone()))
                .default_service(web::to(http::not_found))
        })
        .listen(listener)?
        .shutdown_timeout(10)
        .run();
        Ok(Self { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the process gets SIGINT or SIGTERM, then drains requests in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// `todo-api migrate`: applies pending migrations and exits (for deploy pipelines that
/// migrate before starting new instances).
pub async fn migrate(config: &Config) -> Result<(), StartupError> {
    Database::open(&config.settings, crate::db::migrations).await?;
    tracing::info!("migrations are up to date");
    Ok(())
}
