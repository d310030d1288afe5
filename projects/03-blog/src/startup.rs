//! Building the server (the shape of capstone 1's `startup.rs`): [`Application::build`] sets
//! up the database, auth in RealWorld's `Token` scheme, the write budgets, mail and its job
//! workers, binds the port and starts serving; [`Application::run_until_stopped`] serves until
//! SIGINT/SIGTERM. [`mail`] is shared with the `blog jobs` command.

use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use backend_kit::auth::Auth;
use backend_kit::db::Database;
use backend_kit::http::metrics::{
    HttpMetrics, MetricsAccess, MetricsEndpoint, PoolMetrics, Registry,
};
use backend_kit::http::{self, Server, StartupError, hardening, health::Readiness, render_errors};
use backend_kit::jobs::{JobQueue, QueueMetrics};
use backend_kit::mail::{Mailer, Outbox, OutboxMetrics};
use backend_kit::rate_limit::RateLimiter;
use backend_kit::redis::Redis;

use crate::config::Config;
use crate::mail::Mail;
use crate::routes::{MailLimits, WriteLimits};

pub struct Application {
    server: Server,
    db: Database,
}

/// How long jobs in flight (a mail being sent) may finish at shutdown; after that they are
/// dropped and resume from the queue after a restart.
const JOBS_GRACE: Duration = Duration::from_secs(10);

impl Application {
    /// The database the server uses: tests read [`Database::statements_run`] around a
    /// request to count its queries.
    pub fn database(&self) -> &Database {
        &self.db
    }
}

/// The mail side, shared by the server and `blog jobs`.
pub async fn mail(config: &Config, db: &Database) -> Result<Mail, StartupError> {
    let settings = &config.settings;
    let queue = JobQueue::connect(settings, &config.jobs).await?;
    let mailer = Mailer::new(&config.mail)?;
    let outbox = Outbox::new(db.clone(), queue.clone(), mailer, config.mail.clone());
    Ok(Mail::new(
        db.clone(),
        outbox,
        queue,
        &config.public_url,
        settings.jwt_secret.clone(),
        config.notify_digest,
    ))
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let settings = &config.settings;
        let db = Database::open(settings, crate::db::migrations).await?;
        let redis = Redis::from_settings(settings)?;
        let auth = web::Data::new(Auth::new(db.clone(), settings, crate::error::TOKEN_SCHEME));
        let limiter =
            |name, per_minute| RateLimiter::per_minute(name, per_minute, redis.as_ref(), settings);
        let per_hour = |name, limit| {
            std::sync::Arc::new(RateLimiter::new(
                name,
                limit,
                Duration::from_secs(3600),
                redis.clone(),
                settings.trusted_proxy_hops,
            ))
        };
        let auth_limiter = limiter("auth", config.auth_rate_limit_per_minute);
        let limits = web::Data::new(MailLimits {
            verify_resend: per_hour("verify-resend", config.verify_resend_per_hour),
            reset_per_address: per_hour(
                "reset-address",
                config.password_reset_per_address_per_hour,
            ),
            reset_per_client: per_hour("reset-client", config.password_reset_per_client_per_hour),
        });

        let writes = web::Data::new(WriteLimits {
            articles: per_hour("articles", config.articles_per_hour),
            comments: limiter("comments", config.comments_per_minute),
            reactions: limiter("reactions", config.reactions_per_minute),
        });

        let mail = mail(&config, &db).await?;
        tracing::info!(
            queue = mail.queue.backend_name(),
            "mail goes to {}",
            mail.outbox.mailer().destination()
        );
        let jobs =
            crate::jobs::register(&mail, mail.queue.workers(), &config.digest_schedule)?.start();
        let readiness = web::Data::new(
            Readiness::new(db.clone())
                .with_redis(redis)
                .with_jobs(mail.queue.clone()),
        );
        // `/metrics`: requests by route (recorded by the access log), the pool, the job queue
        // and the mail outbox.
        let mut registry = Registry::default();
        let requests = web::Data::new(HttpMetrics::register(&mut registry));
        let pool = PoolMetrics::register(&db, &mut registry);
        let queue = QueueMetrics::register(&mail.queue, &mut registry);
        let outbox = OutboxMetrics::register(&mail.outbox, &mut registry);
        let metrics = web::Data::new(
            MetricsEndpoint::new(registry)
                .refreshing(pool)
                .refreshing(queue)
                .refreshing(outbox),
        );
        let data = web::Data::new(db.clone());
        let mail = web::Data::new(mail);
        // GraphQL: the same operations as the REST routes, on the same pieces.
        let graphql = web::Data::new(crate::graphql::endpoint(
            crate::graphql::Deps {
                db: db.clone(),
                auth: auth.clone(),
                mail: mail.clone(),
                writes: writes.clone(),
                mail_limits: limits.clone(),
                auth_limiter: auth_limiter.clone(),
            },
            config.graphql_introspection,
        ));
        let cors = config.cors_origins.clone();

        let metrics_access = web::Data::new(MetricsAccess::from_settings(settings));
        let openapi = crate::openapi::document();
        let body_timeout = settings.body_read_timeout;

        let listener = http::bind(settings)?;
        let port = listener.local_addr()?.port();
        http::announce(settings, &listener);
        // The front page's links to the docs and the source.
        let landing = web::Data::new(crate::routes::pages::LandingLinks(http::landing_links(
            settings,
            "projects/03-blog",
        )));
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(move |req, next| {
                    hardening::edge(body_timeout, req, next)
                }))
                // Every error, whoever raised it, in RealWorld's `{"errors": {…}}` shape.
                .wrap(from_fn(|req, next| {
                    render_errors(crate::error::render, req, next)
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
                .app_data(mail.clone())
                .app_data(limits.clone())
                .app_data(writes.clone())
                .app_data(graphql.clone())
                .configure(|cfg| crate::routes::configure_graphql(cfg, &cors))
                .configure(|cfg| {
                    crate::routes::configure(cfg, &auth_limiter, &limits.reset_per_client, &cors)
                })
                .default_service(web::to(http::not_found))
        })
        .tcp_nodelay(true)
        .listen(listener)?
        .shutdown_timeout(http::SHUTDOWN_TIMEOUT_SECS)
        .disable_signals()
        .run();
        let server = Server::new(server, port)
            // Stopped taking requests: let a mail being sent finish.
            .on_shutdown(async move { jobs.shutdown(JOBS_GRACE).await });
        Ok(Self { server, db })
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// Serves until SIGINT/SIGTERM, then lets requests in flight and mail being sent finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.run_until_stopped().await
    }
}
