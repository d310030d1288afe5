//! Building the server (the shape of capstone 1's `startup.rs`): [`Application::build`] sets
//! up the database, the hub and its fan-out through Redis, mention mails and their job
//! workers, binds the port and starts serving; [`Application::run_until_stopped`] serves until
//! SIGINT/SIGTERM, telling every WebSocket `1001` first. [`outbox`] is shared with the
//! `chat jobs` command.

use std::sync::Arc;
use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use backend_kit::auth::{Auth, AuthScheme};
use backend_kit::db::{Database, DbError};
use backend_kit::http::metrics::{
    HttpMetrics, MetricsAccess, MetricsEndpoint, PoolMetrics, Registry,
};
use backend_kit::http::{self, LandingPage, Server, StartupError, hardening, health::Readiness};
use backend_kit::jobs::{JobQueue, QueueMetrics};
use backend_kit::mail::{Mailer, Outbox, OutboxMetrics};
use backend_kit::rate_limit::RateLimiter;
use backend_kit::redis::Redis;

use crate::config::Config;
use crate::fanout::Fanout;
use crate::hub::{Fetch, Hub, HubMetrics};
use crate::mentions::Mentions;
use crate::protocol::{MessageView, ServerFrame};
use crate::routes::rooms::RoomLimiter;
use crate::ws::{Realtime, connection};

pub struct Application {
    server: Server,
    hub: Arc<Hub>,
    db: Database,
}

/// Mail jobs in flight get this long at shutdown; the rest resume after a restart.
const JOBS_GRACE: Duration = Duration::from_secs(10);

impl Application {
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Closes every WebSocket with `1001` and refuses new ones (what SIGTERM does); the
    /// server itself stops through its handle.
    pub fn hub(&self) -> Arc<Hub> {
        self.hub.clone()
    }
}

/// The mail side, shared by the server and `chat jobs`.
pub async fn outbox(config: &Config, db: &Database) -> Result<(Outbox, JobQueue), StartupError> {
    let queue = JobQueue::connect(&config.settings, &config.jobs).await?;
    let mailer = Mailer::new(&config.mail)?;
    Ok((
        Outbox::new(db.clone(), queue.clone(), mailer, config.mail.clone()),
        queue,
    ))
}

/// How the hub reads messages it missed: from the database, encoded as frames.
fn fetch(db: Database) -> Fetch {
    Arc::new(move |room: String, after: i64, before: i64| {
        let db = db.clone();
        Box::pin(async move {
            let name = room.clone();
            let found = db
                .run(move |conn| {
                    crate::db::messages::between(conn, &name, after, before).map_err(DbError::from)
                })
                .await;
            match found {
                Ok(messages) => Some(
                    messages
                        .iter()
                        .map(|m| {
                            (
                                m.seq,
                                ServerFrame::Message(MessageView::new(&room, m)).encode(),
                            )
                        })
                        .collect(),
                ),
                Err(e) => {
                    tracing::error!(room, "could not read missed messages: {e}");
                    None
                }
            }
        })
    })
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let settings = &config.settings;
        let db = Database::open(settings, crate::db::migrations).await?;
        let redis = Redis::from_settings(settings)?;
        let auth = web::Data::new(Auth::new(db.clone(), settings, AuthScheme::BEARER));
        let auth_limiter = RateLimiter::per_minute(
            "auth",
            config.auth_rate_limit_per_minute,
            redis.as_ref(),
            settings,
        );
        let room_limiter = web::Data::new(RoomLimiter(Arc::new(RateLimiter::new(
            "rooms",
            config.rooms_per_hour,
            Duration::from_secs(3600),
            redis.clone(),
            settings.trusted_proxy_hops,
        ))));

        let hub = Hub::new(fetch(db.clone()));
        let fanout = Fanout::new(hub.clone(), redis.clone(), db.clone(), config.presence_ttl);
        fanout.start();
        let (outbox, queue) = outbox(&config, &db).await?;
        // `/metrics`: requests by route (recorded by the access log), the pool, the job queue,
        // the mail outbox and the hub's connections and deliveries.
        let mut registry = Registry::default();
        let requests = web::Data::new(HttpMetrics::register(&mut registry));
        let pool = PoolMetrics::register(&db, &mut registry);
        let queue_metrics = QueueMetrics::register(&queue, &mut registry);
        let outbox_metrics = OutboxMetrics::register(&outbox, &mut registry);
        let hub_metrics = HubMetrics::register(&hub, &mut registry);
        let metrics = web::Data::new(
            MetricsEndpoint::new(registry)
                .refreshing(pool)
                .refreshing(queue_metrics)
                .refreshing(outbox_metrics)
                .refreshing(hub_metrics),
        );
        let mentions = Arc::new(Mentions::new(
            db.clone(),
            fanout.clone(),
            outbox,
            &config.public_url,
            config.mention_digest,
            settings.jwt_secret.clone(),
        ));
        let jobs = mentions
            .register(queue.workers(), &config.digest_schedule)?
            .start();
        let realtime = web::Data::new(Realtime {
            db: db.clone(),
            fanout,
            mentions,
            settings: connection::Settings {
                ping_interval: config.ping_interval,
                pong_timeout: config.pong_timeout,
                sends_per_window: config.sends_per_window,
            },
            allow_guests: config.allow_guests,
            allowed_origins: config.allowed_origins.clone(),
        });
        let readiness = web::Data::new(
            Readiness::new(db.clone())
                .with_redis(redis)
                .with_jobs(queue),
        );
        let data = web::Data::new(db.clone());

        let metrics_access = web::Data::new(MetricsAccess::from_settings(settings));
        let openapi = crate::openapi::document();
        let body_timeout = settings.body_read_timeout;

        let listener = http::bind(settings)?;
        let port = listener.local_addr()?.port();
        http::announce(settings, &listener);
        // What a visitor sees at `/`: the page, with links to the docs and the source.
        let landing = web::Data::new(LandingPage::new(
            include_str!("../static/index.html"),
            settings,
            "projects/04-chat",
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
                // Requests counted by route for Prometheus (recorded by `request_log`).
                .app_data(requests.clone())
                .app_data(metrics.clone())
                .app_data(metrics_access.clone())
                .app_data(landing.clone())
                .route("/metrics", web::get().to(http::metrics::serve))
                .configure(|cfg| http::configure_docs(cfg, openapi.clone()))
                .app_data(data.clone())
                .app_data(auth.clone())
                .app_data(realtime.clone())
                .app_data(room_limiter.clone())
                .configure(|cfg| crate::routes::configure(cfg, &auth_limiter))
                .default_service(web::to(http::not_found))
        })
        .tcp_nodelay(true)
        .listen(listener)?
        .shutdown_timeout(http::SHUTDOWN_TIMEOUT_SECS)
        .disable_signals()
        .run();
        // actix waits for open connections before it stops, and a WebSocket stays open until
        // someone closes it: on SIGINT/SIGTERM every socket is told 1001 first.
        let closing = hub.clone();
        let server = Server::new(server, port)
            .on_stop_signal(move || closing.close_all())
            .on_shutdown(async move { jobs.shutdown(JOBS_GRACE).await });
        Ok(Self { server, hub, db })
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// Stops the server from elsewhere (tests).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM: closes every WebSocket with `1001`, lets requests in
    /// flight finish, then mail being sent.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.run_until_stopped().await
    }
}
