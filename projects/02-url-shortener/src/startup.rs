//! Building and running the server: `Application::build(config)`, `port()`,
//! `run_until_stopped()` (see capstone 1 for the pattern).

use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use backend_kit::auth::{Auth, AuthScheme};
use backend_kit::cache::Cache;
use backend_kit::db::{Database, DbError};
use backend_kit::http::{self, health::Readiness};
use backend_kit::jobs::{JobError, JobQueue, JobRunner};
use backend_kit::rate_limit::RateLimiter;
use backend_kit::redis::Redis;
use tokio::task::JoinHandle;
use tracing_actix_web::TracingLogger;
use utoipa::OpenApi;

use crate::config::Config;
use crate::domain::TargetPolicy;
use crate::jobs::import::{self, ImportCsv, Importer};
use crate::jobs::maintenance;
use crate::openapi::ApiDoc;
use crate::routes::AppState;
use crate::routes::redirect::CachedLink;
use crate::visits::VisitRecorder;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("invalid REDIS_URL: {0}")]
    Redis(#[from] redis::RedisError),
    #[error(transparent)]
    Jobs(#[from] JobError),
    #[error("could not bind the port: {0}")]
    Io(#[from] std::io::Error),
}

pub struct Application {
    port: u16,
    server: Server,
    visit_writer: JoinHandle<()>,
    jobs: JobRunner,
}

/// How long in-flight jobs may finish at shutdown before they are left to resume after restart.
const JOBS_GRACE: Duration = Duration::from_secs(5);

/// Local cache size: entries, not bytes (an entry is a code and a URL).
const LOCAL_CACHE_ENTRIES: u64 = 100_000;

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let settings = config.settings.clone();
        // Connecting and migrating block: `open` does it on a blocking thread.
        let db = Database::open(&settings, crate::db::migrations).await?;
        let redis = Redis::from_settings(&settings)?;
        let cache = match &redis {
            Some(redis) => Cache::redis(redis.clone(), LOCAL_CACHE_ENTRIES),
            None => {
                if db.backend() == backend_kit::db::Backend::Postgres {
                    // A shared database suggests several instances; their caches would not be.
                    tracing::info!(
                        "no REDIS_URL: the cache and rate limits are this process's own; \
                         to run several instances, set REDIS_URL so a change reaches them all at once"
                    );
                }
                Cache::local(LOCAL_CACHE_ENTRIES)
            }
        };
        let (visits, visit_writer) = VisitRecorder::start(db.clone(), config.visit_queue_capacity);
        let policy = TargetPolicy::new(&config.public_url, config.allow_private_targets);
        let queue = JobQueue::connect(&settings, &config.jobs).await?;
        let jobs = start_jobs(&config, &queue, &db, &cache, &policy)?;
        let shorten_limiter = RateLimiter::per_minute(
            "shorten",
            config.shorten_rate_limit_per_minute,
            redis.as_ref(),
            &settings,
        );
        let auth_limiter = RateLimiter::per_minute(
            "auth",
            config.auth_rate_limit_per_minute,
            redis.as_ref(),
            &settings,
        );
        let auth = web::Data::new(Auth::new(db.clone(), &settings, AuthScheme::BEARER));
        let password_limiter = RateLimiter::per_minute(
            "link-password",
            config.link_password_attempts_per_minute,
            redis.as_ref(),
            &settings,
        );
        let readiness = web::Data::new(
            Readiness::new(db.clone())
                .with_redis(redis)
                .with_jobs(queue.clone()),
        );
        let state = web::Data::new(AppState {
            hasher: backend_kit::auth::PasswordHasher::new(settings.bcrypt_cost),
            db,
            cache,
            visits,
            jobs: queue,
            policy,
            public_url: config.public_url.clone(),
            code_length: config.code_length,
            cache_ttl: config.cache_ttl,
            negative_cache_ttl: config.negative_cache_ttl,
        });
        let openapi = ApiDoc::openapi();

        let listener = http::bind(&settings)?;
        let port = listener.local_addr()?.port();
        http::announce(&settings, &listener);

        let server = HttpServer::new(move || {
            App::new()
                .wrap(TracingLogger::default())
                .configure(http::configure_extractors)
                .app_data(state.clone())
                .app_data(readiness.clone())
                .app_data(auth.clone())
                .configure(http::health::routes)
                .configure(|cfg| backend_kit::auth::routes::configure(cfg, &auth_limiter))
                .configure(|cfg| crate::routes::configure(cfg, &shorten_limiter))
                .configure(|cfg| http::configure_docs(cfg, openapi.clone()))
                .configure(|cfg| crate::routes::configure_redirect(cfg, &password_limiter))
                .default_service(web::to(http::not_found))
        })
        .listen(listener)?
        .shutdown_timeout(10)
        .run();
        Ok(Self {
            port,
            server,
            visit_writer,
            jobs,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle that stops this instance abruptly, as a crash would: tests use it to show
    /// that a job in flight is not lost.
    pub fn crash_handle(&self) -> CrashHandle {
        CrashHandle {
            server: self.server.handle(),
            jobs: self.jobs.killer(),
        }
    }

    /// Serves until SIGINT/SIGTERM, then lets running jobs finish (briefly) and writes the
    /// visits still queued.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.jobs.shutdown(JOBS_GRACE).await;
        if tokio::time::timeout(Duration::from_secs(5), self.visit_writer)
            .await
            .is_err()
        {
            tracing::warn!("visit writer did not finish in 5 s; queued visits may be lost");
        }
        result
    }
}

/// Stops an [`Application`] without any graceful step.
pub struct CrashHandle {
    server: actix_web::dev::ServerHandle,
    jobs: backend_kit::jobs::JobKiller,
}

impl CrashHandle {
    pub async fn crash(self) {
        self.jobs.kill();
        self.server.stop(false).await;
    }
}

/// The import worker and the maintenance schedule.
fn start_jobs(
    config: &Config,
    queue: &JobQueue,
    db: &Database,
    cache: &Cache<CachedLink>,
    policy: &TargetPolicy,
) -> Result<JobRunner, JobError> {
    let importer = Arc::new(Importer {
        db: db.clone(),
        cache: cache.clone(),
        policy: policy.clone(),
        code_length: config.code_length,
        batch_size: config.import_batch_size,
    });
    let (db, cache) = (db.clone(), cache.clone());
    Ok(queue
        .workers()
        .handle(move |job: ImportCsv, run| import::run(importer.clone(), job, run))
        .every("maintenance", &config.rollup_schedule, move || {
            maintenance::run(db.clone(), cache.clone())
        })?
        .start())
}

/// `url-shortener migrate`: applies pending migrations and exits.
pub async fn migrate(config: &Config) -> Result<(), StartupError> {
    Database::open(&config.settings, crate::db::migrations).await?;
    tracing::info!("migrations are up to date");
    Ok(())
}
