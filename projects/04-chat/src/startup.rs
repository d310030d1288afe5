//! Building and running the server (the *Zero To Production* shape, through the kit's
//! `Capstone` trait). Everything every capstone's server has comes from
//! `backend_kit::http::AppBuilder`; this file adds the chat's: the hub and its fan-out, the
//! WebSocket route, mention mails, and the commands `start`, `connect`, `load` and `jobs`.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use backend_kit::auth::{Auth, AuthScheme};
use backend_kit::cli::{BoxError, Capstone};
use backend_kit::db::{Database, DbError, Migrations};
use backend_kit::http::{AppBuilder, Server, health::Readiness, server::StartupError};
use backend_kit::jobs::JobQueue;
use backend_kit::mail::{Mailer, Outbox};
use backend_kit::rate_limit::RateLimiter;
use backend_kit::redis::Redis;

use crate::config::Config;
use crate::fanout::Fanout;
use crate::hub::{Fetch, Hub};
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
async fn outbox(config: &Config, db: &Database) -> Result<(Outbox, JobQueue), StartupError> {
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

impl Capstone for Application {
    type Config = Config;
    const NAME: &'static str = "chat";
    const MIGRATIONS: Migrations = crate::db::migrations;
    const USAGE: &'static str = "[start [--port N]|migrate|connect [--url U] [--room R] [--name N] [--email E --password P]|load [options]|jobs|jobs retry ID]";

    async fn build(config: Config) -> Result<Self, StartupError> {
        let settings = &config.settings;
        let db = Database::open(settings, Self::MIGRATIONS).await?;
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

        // Accounts from before `users.name_key` existed get their key, in the background:
        // until then a guest name is also compared by plain name.
        actix_web::rt::spawn(db.clone().backfill("name keys", |conn| {
            Ok(backend_kit::auth::name::fill_name_keys(conn, 500)?)
        }));
        let hub = Hub::new(fetch(db.clone()));
        let fanout = Fanout::new(hub.clone(), redis.clone(), db.clone(), config.presence_ttl);
        fanout.start();
        let (outbox, queue) = outbox(&config, &db).await?;
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
        let readiness = Readiness::new(db.clone())
            .with_redis(redis)
            .with_jobs(queue);
        let data = web::Data::new(db.clone());

        // actix waits for open connections before it stops, and a WebSocket stays open until
        // someone closes it: on SIGINT/SIGTERM every socket is told 1001 first.
        let closing = hub.clone();
        let server = AppBuilder::new(settings, readiness, crate::openapi::document())
            .on_stop_signal(move || closing.close_all())
            .on_shutdown(async move { jobs.shutdown(JOBS_GRACE).await })
            .start(move |cfg| {
                cfg.app_data(data.clone())
                    .app_data(auth.clone())
                    .app_data(realtime.clone())
                    .app_data(room_limiter.clone());
                crate::routes::configure(cfg, &auth_limiter);
            })?;
        Ok(Self { server, hub, db })
    }

    fn server(&self) -> &Server {
        &self.server
    }

    fn into_server(self) -> Server {
        self.server
    }

    async fn command(
        mut config: Config,
        name: &str,
        args: &[String],
    ) -> Option<Result<(), BoxError>> {
        Some(match name {
            "start" => {
                async {
                    if let Some(port) = crate::client::args::value(args, "--port") {
                        config.settings.port = port
                            .parse()
                            .map_err(|_| format!("--port: not a port number: {port}"))?;
                    }
                    Self::build(config).await?.run_until_stopped().await?;
                    Ok(())
                }
                .await
            }
            "connect" => crate::client::connect::run(args).await,
            "load" => crate::client::load::run(args).await,
            "jobs" => {
                async {
                    let db = Database::open(&config.settings, Self::MIGRATIONS).await?;
                    let (outbox, _) = outbox(&config, &db).await?;
                    print!("{}", backend_kit::mail::cli::run(&outbox, args).await?);
                    Ok(())
                }
                .await
            }
            _ => return None,
        })
    }
}
