//! Building the server (the shape of capstone 1's `startup.rs`): [`Application::build`] sets
//! up the database, the cache, the visit recorder, the job queue and its workers, binds the
//! port and starts serving; [`Application::run_until_stopped`] serves until SIGINT/SIGTERM.
//! With `GRPC_PORT`, the gRPC API ([`crate::grpc`]) is served beside it on the same state.
//! At shutdown gRPC calls in flight finish, the job workers get a grace period, then the
//! queued visits are written.

use std::sync::Arc;
use std::time::Duration;

use crate::cache::Cache;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use backend_kit::auth::{Auth, AuthScheme};
use backend_kit::db::Database;
use backend_kit::http::metrics::{
    HttpMetrics, MetricsAccess, MetricsEndpoint, PoolMetrics, Registry,
};
use backend_kit::http::{self, LandingPage, Server, StartupError, hardening, health::Readiness};
use backend_kit::jobs::{JobError, JobQueue, JobRunner, QueueMetrics};
use backend_kit::rate_limit::RateLimiter;
use backend_kit::redis::Redis;

use crate::config::Config;
use crate::domain::TargetPolicy;
use crate::grpc::GrpcServer;
use crate::grpc::links::{Budgets, LinksService};
use crate::grpc::metrics::GrpcMetrics;
use crate::jobs::import::{self, ImportCsv, Importer};
use crate::jobs::maintenance;
use crate::link_cache::LinkCache;
use crate::routes::AppState;
use crate::visit_feed::VisitFeed;
use crate::visits::VisitRecorder;

pub struct Application {
    server: Server,
    crash: CrashHandle,
    grpc_port: Option<u16>,
}

/// How long in-flight jobs may finish at shutdown before they are left to resume after restart.
const JOBS_GRACE: Duration = Duration::from_secs(5);

/// How long queued visits may take to be written at shutdown.
const VISITS_GRACE: Duration = Duration::from_secs(5);

/// QR codes drawn at once (see `AppState::qr_renders`).
const QR_RENDERS: usize = 4;

/// Local cache size: entries, not bytes (an entry is a code and a URL).
const LOCAL_CACHE_ENTRIES: u64 = 100_000;

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let settings = &config.settings;
        // Connecting and migrating block: `open` does it on a blocking thread.
        let db = Database::open(settings, crate::db::migrations).await?;
        let redis = Redis::from_settings(settings)?;
        let store = match &redis {
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
        let cache = LinkCache::new(store, config.cache_ttl, config.negative_cache_ttl);
        // Written visits are announced for gRPC's visit streams: on Redis, to every instance.
        let feed = VisitFeed::start(redis.clone());
        let (visits, visit_writer) =
            VisitRecorder::start(db.clone(), config.visit_queue_capacity, feed);
        let policy = TargetPolicy::new(&config.public_url, config.allow_private_targets);
        let queue = JobQueue::connect(settings, &config.jobs).await?;
        let jobs = start_jobs(&config, &queue, &db, &cache, &policy)?;
        let limiter =
            |name, per_minute| RateLimiter::per_minute(name, per_minute, redis.as_ref(), settings);
        let shorten_limiter = limiter("shorten", config.shorten_rate_limit_per_minute);
        let auth_limiter = limiter("auth", config.auth_rate_limit_per_minute);
        let password_limiter = limiter("link-password", config.link_password_attempts_per_minute);
        let readiness = web::Data::new(
            Readiness::new(db.clone())
                .with_redis(redis.clone())
                .with_jobs(queue.clone()),
        );
        // `/metrics`: requests by route (recorded by the access log), the pool, the job queue,
        // the redirect cache and the visit recorder.
        let mut registry = Registry::default();
        let requests = web::Data::new(HttpMetrics::register(&mut registry));
        let pool = PoolMetrics::register(&db, &mut registry);
        let queue_metrics = QueueMetrics::register(&queue, &mut registry);
        cache.register_metrics(&mut registry);
        visits.metrics.register(&mut registry);
        let grpc_metrics = GrpcMetrics::register(&mut registry);
        let metrics = web::Data::new(
            MetricsEndpoint::new(registry)
                .refreshing(pool)
                .refreshing(queue_metrics),
        );
        let state = web::Data::new(AppState {
            hasher: backend_kit::auth::PasswordHasher::new(settings.bcrypt_cost),
            db,
            links: cache,
            visits,
            jobs: queue,
            policy,
            public_url: config.public_url.clone(),
            code_length: config.code_length,
            import_max_unfinished: config.import_max_unfinished,
            anonymous_edits: config.anonymous_edits,
            qr_renders: tokio::sync::Semaphore::new(QR_RENDERS),
        });
        let metrics_access = web::Data::new(MetricsAccess::from_settings(settings));
        let auth = web::Data::new(Auth::new(state.db.clone(), settings, AuthScheme::BEARER));
        // The gRPC API on its own port and threads (see `grpc`), on the same state.
        let grpc = match config.grpc_port {
            None => None,
            Some(port) => {
                let listener = std::net::TcpListener::bind((settings.host.as_str(), port))
                    .map_err(|e| std::io::Error::new(e.kind(), format!("GRPC_PORT {port}: {e}")))?;
                let (stopping, stop) = tokio::sync::watch::channel(false);
                let service = LinksService::new(
                    state.clone().into_inner(),
                    auth.clone().into_inner(),
                    Budgets {
                        writes: shorten_limiter.clone(),
                        passwords: password_limiter.clone(),
                        trusted_proxy_hops: config.grpc_trusted_proxy_hops,
                    },
                    stop,
                    grpc_metrics,
                );
                let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
                let grpc = GrpcServer::start(listener, service, stopping, threads)?;
                tracing::info!(
                    "gRPC (shortener.v1.Links) listening on port {}",
                    grpc.port()
                );
                Some(grpc)
            }
        };
        let grpc_port = grpc.as_ref().map(GrpcServer::port);

        let openapi = crate::openapi::document();
        let body_timeout = settings.body_read_timeout;

        let listener = http::bind(settings)?;
        let port = listener.local_addr()?.port();
        http::announce(settings, &listener);
        // What a visitor sees at `/`: the page, with links to the docs and the source.
        let landing = web::Data::new(LandingPage::new(
            include_str!("../static/index.html"),
            settings,
            "projects/02-url-shortener",
        ));
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(move |req, next| {
                    hardening::edge(body_timeout, req, next)
                }))
                .wrap(http::request_log())
                .configure(http::configure_extractors)
                .app_data(readiness.clone())
                .configure(http::health::routes)
                .configure(|cfg| http::configure_docs(cfg, openapi.clone()))
                // Requests counted by route; `/metrics` adds the visit recorder's counters.
                .app_data(requests.clone())
                .app_data(metrics.clone())
                .app_data(metrics_access.clone())
                .app_data(landing.clone())
                .app_data(state.clone())
                .app_data(auth.clone())
                .configure(|cfg| {
                    backend_kit::auth::routes::configure(cfg, &auth_limiter);
                    crate::routes::configure(cfg, &shorten_limiter);
                    // Last: `/{code}` would otherwise take every one-segment path.
                    crate::routes::configure_redirect(cfg, &password_limiter);
                })
                .default_service(web::to(http::not_found))
        })
        .tcp_nodelay(true)
        .listen(listener)?
        .shutdown_timeout(http::SHUTDOWN_TIMEOUT_SECS)
        .disable_signals()
        .run();

        let crash = CrashHandle {
            server: server.handle(),
            jobs: jobs.killer(),
        };
        let mut server = Server::new(server, port);
        if let Some(grpc) = grpc {
            // gRPC stops taking calls with HTTP, and is waited for first: its calls may
            // still queue visits.
            server = server
                .on_stop_signal(grpc.stopper())
                .on_shutdown(grpc.stop());
        }
        let server = server
            // Stopped taking requests: let running jobs finish (briefly), then write the
            // visits still queued.
            .on_shutdown(async move { jobs.shutdown(JOBS_GRACE).await })
            .on_shutdown(async move {
                if tokio::time::timeout(VISITS_GRACE, visit_writer)
                    .await
                    .is_err()
                {
                    tracing::warn!("visit writer did not finish in 5 s; queued visits may be lost");
                }
            });
        Ok(Self {
            server,
            crash,
            grpc_port,
        })
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// The gRPC API's port, when it is served (`GRPC_PORT`).
    pub fn grpc_port(&self) -> Option<u16> {
        self.grpc_port
    }

    /// Serves until SIGINT/SIGTERM, then lets requests in flight finish, the job workers
    /// stop and the queued visits be written.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.run_until_stopped().await
    }

    /// A handle that stops this instance abruptly, as a crash would: tests use it to show
    /// that a job in flight is not lost.
    pub fn crash_handle(&self) -> CrashHandle {
        self.crash.clone()
    }
}

/// Stops an [`Application`] without any graceful step.
#[derive(Clone)]
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
    cache: &LinkCache,
    policy: &TargetPolicy,
) -> Result<JobRunner, JobError> {
    let importer = Arc::new(Importer {
        db: db.clone(),
        cache: cache.clone(),
        policy: policy.clone(),
        code_length: config.code_length,
        batch_size: config.import_batch_size,
    });
    let (db, cache, retention) = (db.clone(), cache.clone(), config.import_retention);
    Ok(queue
        .workers()
        .handle(move |job: ImportCsv, run| import::run(importer.clone(), job, run))
        .every("maintenance", &config.rollup_schedule, move || {
            maintenance::run(db.clone(), cache.clone(), retention)
        })?
        .start())
}
