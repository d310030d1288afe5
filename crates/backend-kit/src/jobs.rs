//! Background jobs on [apalis](https://docs.rs/apalis) 1.0: a durable queue, retries with
//! exponential backoff, and cron schedules.
//!
//! Where the queue lives is decided like the database, from `JOBS_URL` or else `DATABASE_URL`:
//!
//! | configuration | queue |
//! |---|---|
//! | nothing (SQLite app database) | a SQLite file next to it: `var/<app>.jobs.db` |
//! | `DATABASE_URL=postgres://…` | the same PostgreSQL database (apalis keeps to its `apalis` schema) |
//! | `JOBS_URL=redis://…` | Redis, under the app's key prefix |
//! | `JOBS_URL=sqlite://…` or `postgres://…` | that database |
//!
//! Tasks are durable in every mode: one pushed and not finished when the process dies (a crash,
//! a deploy) is locked by a worker that stops sending heartbeats; after `heartbeat × missed`
//! another worker (this process after a restart, or another instance) takes it over. Handlers
//! must therefore be safe to run again: the shortener's CSV import commits its progress with
//! each batch and resumes from there.
//!
//! Every job kind goes through one queue per app as an [`Envelope`] (kind + JSON payload), so
//! the apalis types stay in this module and a project registers plain async functions:
//!
//! ```ignore
//! let queue = JobQueue::connect(&settings, &job_settings).await?;
//! let runner = queue
//!     .workers()
//!     .handle::<ImportCsv, _, _>(move |job, run| import(ctx.clone(), job, run))
//!     .every("rollup", "0 */10 * * * *", move || rollup(db.clone()))?
//!     .start();
//! queue.push(&ImportCsv { id }).await?;
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use apalis::layers::retry::backoff::{ExponentialBackoffMaker, MakeBackoff};
use apalis::layers::retry::{HasherRng, RetryPolicy};
use apalis::prelude::*;
use apalis_cron::{CronScheduler, Tick};
use apalis_postgres::PostgresStorage;
use apalis_redis::RedisStorage;
use apalis_sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteStorage};
use futures_util::future::BoxFuture;
use redis::aio::ConnectionManager;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Settings;
use crate::db::{Backend, DatabaseUrl};

pub use apalis::prelude::BoxDynError;

/// A kind of job: its payload is the struct itself, stored as JSON.
pub trait Job: Serialize + DeserializeOwned + Send + 'static {
    /// Names the handler; stored with every task, so never rename it while tasks are queued.
    const KIND: &'static str;
}

/// What actually sits in the queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    kind: String,
    payload: Value,
}

/// One try at a job: handlers use it to tell a retry from the final failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// 1 for the first try.
    pub attempt: usize,
    pub max_attempts: usize,
}

impl Run {
    pub fn is_last(&self) -> bool {
        self.attempt >= self.max_attempts
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("invalid JOBS_URL: {0}")]
    InvalidUrl(String),
    #[error("job queue: {0}")]
    Storage(#[source] BoxDynError),
    #[error("invalid cron schedule `{0}`: {1}")]
    Schedule(String, String),
}

fn storage(e: impl Into<BoxDynError>) -> JobError {
    JobError::Storage(e.into())
}

/// `JOBS_*` settings, with defaults.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// `JOBS_URL`: where the queue lives; `None` follows `DATABASE_URL` (see the module docs).
    pub url: Option<String>,
    /// `JOB_MAX_ATTEMPTS` (5): tries before a job is left failed.
    pub max_attempts: usize,
    /// `JOB_CONCURRENCY` (2): jobs one process runs at once.
    pub concurrency: usize,
    /// First retry delay; each next one doubles (with jitter) up to `backoff_max`.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// How often an idle worker looks for new tasks (tasks pushed by another instance are
    /// only seen by polling).
    pub poll_interval: Duration,
    /// `JOBS_HEARTBEAT_SECS` (10): how often a worker says it is alive. A worker silent for
    /// `missed_heartbeats` of these is dead and its tasks go back to the queue.
    pub heartbeat: Duration,
    pub missed_heartbeats: usize,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            url: None,
            max_attempts: 5,
            concurrency: 2,
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            heartbeat: Duration::from_secs(10),
            missed_heartbeats: 3,
        }
    }
}

impl JobSettings {
    /// Reads `JOBS_URL`, `JOB_MAX_ATTEMPTS`, `JOB_CONCURRENCY` and `JOBS_HEARTBEAT_SECS`.
    pub fn read<L: Fn(&str) -> Option<String>>(
        env: &crate::config::Env<L>,
    ) -> Result<Self, crate::config::ConfigError> {
        Ok(Self {
            url: env.get("JOBS_URL"),
            max_attempts: env.number("JOB_MAX_ATTEMPTS", 5usize)?.max(1),
            concurrency: env.number("JOB_CONCURRENCY", 2usize)?.max(1),
            heartbeat: Duration::from_secs(env.number("JOBS_HEARTBEAT_SECS", 10u64)?.max(1)),
            ..Self::default()
        })
    }

    /// Fast retries and heartbeats, so tests of failure and recovery take seconds.
    pub fn for_tests() -> Self {
        Self {
            max_attempts: 3,
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_millis(200),
            poll_interval: Duration::from_millis(100),
            heartbeat: Duration::from_secs(1),
            missed_heartbeats: 2,
            ..Self::default()
        }
    }
}

#[derive(Clone)]
enum Store {
    Sqlite(SqlitePool),
    Postgres(apalis_postgres::PgPool),
    Redis(ConnectionManager),
}

/// The queue: push jobs from request handlers, start workers with [`JobQueue::workers`].
#[derive(Clone)]
pub struct JobQueue {
    store: Store,
    /// Queue name: the app name (in Redis, under the app's key prefix).
    queue: String,
    app_name: String,
    settings: JobSettings,
}

impl std::fmt::Debug for JobQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JobQueue({}, {})", self.backend_name(), self.queue)
    }
}

impl JobQueue {
    /// Connects to the queue's storage and creates its tables (idempotent).
    pub async fn connect(app: &Settings, settings: &JobSettings) -> Result<Self, JobError> {
        let url = match &settings.url {
            Some(url) => url.clone(),
            None => default_url(app)?,
        };
        let (store, queue) = if url.starts_with("redis://") || url.starts_with("rediss://") {
            let redis = crate::redis::Redis::connect(&url, &app.redis_prefix)
                .map_err(|e| JobError::InvalidUrl(e.to_string()))?;
            (Store::Redis(redis.connection()), redis.key("jobs"))
        } else {
            let parsed =
                DatabaseUrl::parse(&url).map_err(|e| JobError::InvalidUrl(e.to_string()))?;
            match parsed.backend() {
                Backend::Postgres => {
                    let pool = sqlx::postgres::PgPoolOptions::new()
                        .max_connections(4)
                        .connect(&url)
                        .await
                        .map_err(storage)?;
                    PostgresStorage::setup(&pool).await.map_err(storage)?;
                    (Store::Postgres(pool), app.app_name.clone())
                }
                Backend::Sqlite => {
                    let pool = sqlite_pool(&parsed).await?;
                    SqliteStorage::setup(&pool).await.map_err(storage)?;
                    (Store::Sqlite(pool), app.app_name.clone())
                }
            }
        };
        Ok(Self {
            store,
            queue,
            app_name: app.app_name.clone(),
            settings: settings.clone(),
        })
    }

    pub fn backend_name(&self) -> &'static str {
        match self.store {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
            Store::Redis(_) => "redis",
        }
    }

    /// Queues a job; a worker (here or on another instance) runs it.
    pub async fn push<J: Job>(&self, job: &J) -> Result<(), JobError> {
        let envelope = Envelope {
            kind: J::KIND.to_string(),
            payload: serde_json::to_value(job).map_err(storage)?,
        };
        match &self.store {
            Store::Sqlite(pool) => self.sqlite(pool).push(envelope).await.map_err(storage),
            Store::Postgres(pool) => self.postgres(pool).push(envelope).await.map_err(storage),
            Store::Redis(conn) => self.redis(conn).push(envelope).await.map_err(storage),
        }
    }

    /// Queues a job to run at `at` or later (to the second: apalis stores UNIX seconds). Used
    /// for retries a handler schedules itself, like the mail outbox's backoff.
    pub async fn push_at<J: Job>(
        &self,
        job: &J,
        at: std::time::SystemTime,
    ) -> Result<(), JobError> {
        let envelope = Envelope {
            kind: J::KIND.to_string(),
            payload: serde_json::to_value(job).map_err(storage)?,
        };
        let task = apalis::prelude::TaskBuilder::new(envelope)
            .run_at_time(at)
            .build();
        match &self.store {
            Store::Sqlite(pool) => self.sqlite(pool).push_task(task).await.map_err(storage),
            Store::Postgres(pool) => self.postgres(pool).push_task(task).await.map_err(storage),
            Store::Redis(conn) => self.redis(conn).push_task(task).await.map_err(storage),
        }
    }

    /// Checks the queue's storage answers (for `/ready`).
    pub async fn ping(&self) -> Result<(), JobError> {
        match &self.store {
            Store::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()),
            Store::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()),
            Store::Redis(conn) => {
                let mut conn = conn.clone();
                return redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .map(|_| ())
                    .map_err(storage);
            }
        }
        .map_err(storage)
    }

    /// The queue's jobs by state ([`JOB_STATES`]; a state with none is 0), from apalis'
    /// table in one `GROUP BY` — not apalis' own statistics, two dozen scans of the whole
    /// table (8 s at a million finished jobs). `None` for a Redis queue: apalis-redis 1.0's
    /// statistics script fails, and its keys are apalis' business.
    pub async fn jobs_by_state(&self) -> Result<Option<Vec<(String, i64)>>, JobError> {
        let counted: Vec<(String, i64)> = match &self.store {
            Store::Sqlite(pool) => sqlx::query_as(
                "SELECT status, COUNT(*) FROM Jobs WHERE job_type = ?1 GROUP BY status",
            )
            .bind(&self.queue)
            .fetch_all(pool)
            .await
            .map_err(storage)?,
            Store::Postgres(pool) => sqlx::query_as(
                "SELECT status, COUNT(*) FROM apalis.jobs WHERE job_type = $1 GROUP BY status",
            )
            .bind(&self.queue)
            .fetch_all(pool)
            .await
            .map_err(storage)?,
            Store::Redis(_) => return Ok(None),
        };
        Ok(Some(
            JOB_STATES
                .iter()
                .map(|state| {
                    let count = counted
                        .iter()
                        .find(|(status, _)| status.eq_ignore_ascii_case(state))
                        .map_or(0, |(_, n)| *n);
                    (state.to_string(), count)
                })
                .collect(),
        ))
    }

    pub fn workers(&self) -> Workers {
        Workers {
            queue: self.clone(),
            handlers: HashMap::new(),
            crons: Vec::new(),
        }
    }

    fn sqlite(&self, pool: &SqlitePool) -> SqliteStorage<Envelope> {
        let config = apalis_sqlite::Config::default()
            .queue(&self.queue)
            .heartbeat_interval(self.settings.heartbeat)
            .missed_heartbeats(self.settings.missed_heartbeats);
        SqliteStorage::new(pool).with_config(config)
    }

    fn postgres(&self, pool: &apalis_postgres::PgPool) -> PostgresStorage<Envelope> {
        let config = apalis_postgres::Config::default()
            .queue(&self.queue)
            .heartbeat_interval(self.settings.heartbeat)
            .missed_heartbeats(self.settings.missed_heartbeats);
        PostgresStorage::new(pool).with_config(config)
    }

    fn redis(&self, conn: &ConnectionManager) -> RedisStorage<Envelope> {
        let config = apalis_redis::Config::default()
            .queue(&self.queue)
            .heartbeat_interval(self.settings.heartbeat)
            .missed_heartbeats(self.settings.missed_heartbeats);
        RedisStorage::new(conn.clone()).with_config(config)
    }
}

/// Without `JOBS_URL`: PostgreSQL apps queue in their own database; SQLite apps in a file
/// beside theirs (a second SQLite writer on the app's file would contend for its lock).
fn default_url(app: &Settings) -> Result<String, JobError> {
    let database = DatabaseUrl::parse(app.database_url.expose())
        .map_err(|e| JobError::InvalidUrl(e.to_string()))?;
    Ok(match database.backend() {
        Backend::Postgres => app.database_url.expose().clone(),
        Backend::Sqlite if database.is_in_memory() => ":memory:".into(),
        Backend::Sqlite => {
            let path = database.path();
            let stem = path.strip_suffix(".db").unwrap_or(path);
            format!("{stem}.jobs.db")
        }
    })
}

async fn sqlite_pool(url: &DatabaseUrl) -> Result<SqlitePool, JobError> {
    if url.is_in_memory() {
        // One connection that never closes: each new in-memory connection is a new database.
        return SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(SqliteConnectOptions::new().in_memory(true))
            .await
            .map_err(storage);
    }
    let path = std::path::Path::new(url.path());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(storage)?;
    }
    SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .busy_timeout(Duration::from_secs(5)),
        )
        .await
        .map_err(storage)
}

type Handler = Arc<dyn Fn(Value, Run) -> BoxFuture<'static, Result<(), BoxDynError>> + Send + Sync>;
type Scheduled = Arc<dyn Fn() -> BoxFuture<'static, Result<(), BoxDynError>> + Send + Sync>;

struct Registry {
    handlers: HashMap<&'static str, Handler>,
    max_attempts: usize,
}

/// The handlers and schedules one process runs; [`Workers::start`] spawns them.
pub struct Workers {
    queue: JobQueue,
    handlers: HashMap<&'static str, Handler>,
    crons: Vec<(String, cron::Schedule, Scheduled)>,
}

impl Workers {
    /// Runs `f` for every queued job of kind `J`. An `Err` is retried with backoff until
    /// `JOB_MAX_ATTEMPTS`; `run.is_last()` tells the handler when to record a final failure.
    pub fn handle<J, F, Fut>(mut self, f: F) -> Self
    where
        J: Job,
        F: Fn(J, Run) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxDynError>> + Send + 'static,
    {
        let f = Arc::new(f);
        let handler: Handler = Arc::new(move |payload, run| {
            let f = f.clone();
            Box::pin(async move {
                // A payload that does not parse will not parse on a retry either.
                let job: J = serde_json::from_value(payload).map_err(AbortError::new)?;
                f(job, run).await
            })
        });
        self.handlers.insert(J::KIND, handler);
        self
    }

    /// Runs `f` on a cron schedule (six fields, seconds first, UTC): `"0 */10 * * * *"` is
    /// every ten minutes. Every instance runs its own schedule, so `f` must be idempotent.
    pub fn every<F, Fut>(mut self, name: &str, schedule: &str, f: F) -> Result<Self, JobError>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxDynError>> + Send + 'static,
    {
        let parsed = cron::Schedule::from_str(schedule)
            .map_err(|e| JobError::Schedule(schedule.to_string(), e.to_string()))?;
        self.crons
            .push((name.to_string(), parsed, Arc::new(move || Box::pin(f()))));
        Ok(self)
    }

    /// Spawns the queue worker and one worker per schedule on the current Tokio runtime.
    pub fn start(self) -> JobRunner {
        let (stop, stopped) = watch::channel(false);
        let settings = &self.queue.settings;
        let registry = Arc::new(Registry {
            handlers: self.handlers,
            max_attempts: settings.max_attempts,
        });
        // Unique per process: a restarted process must not pass for the dead one, whose
        // tasks are handed back to the queue once its heartbeats stop.
        let name = format!("{}-{:08x}", self.queue.app_name, rand::random::<u32>());
        let backoff = ExponentialBackoffMaker::new(
            settings.backoff_min,
            settings.backoff_max.max(settings.backoff_min),
            0.5,
            HasherRng::default(),
        )
        .expect("backoff bounds are ordered and non-zero")
        .make_backoff();
        let retry =
            RetryPolicy::retries(settings.max_attempts.saturating_sub(1)).with_backoff(backoff);
        let signal = move || {
            let mut stopped = stopped.clone();
            async move {
                let _ = stopped.wait_for(|s| *s).await;
                Ok::<(), std::io::Error>(())
            }
        };

        let mut handles = Vec::new();
        if !registry.handlers.is_empty() {
            // Expands to: build a worker on `$backend` and start it (each storage is a
            // different type, so a function would need a generic bound apalis does not name).
            macro_rules! run_queue {
                ($backend:expr) => {{
                    let worker = WorkerBuilder::new(name.as_str())
                        .backend($backend.poll_with_interval(settings.poll_interval))
                        .data(registry.clone())
                        .concurrency(settings.concurrency)
                        .retry(retry)
                        .build(run_job);
                    tokio::spawn(log_exit(name.clone(), worker.run_until(signal())))
                }};
            }
            handles.push(match &self.queue.store {
                Store::Sqlite(pool) => run_queue!(self.queue.sqlite(pool)),
                Store::Postgres(pool) => run_queue!(self.queue.postgres(pool)),
                Store::Redis(conn) => run_queue!(self.queue.redis(conn)),
            });
        }
        for (cron_name, schedule, f) in self.crons {
            let worker_name = format!("{name}-{cron_name}");
            let worker = WorkerBuilder::new(worker_name.as_str())
                .backend(CronScheduler::new(schedule))
                .data(f)
                .build(on_tick);
            handles.push(tokio::spawn(log_exit(
                worker_name,
                worker.run_until(signal()),
            )));
        }
        JobRunner { stop, handles }
    }
}

async fn run_job(
    envelope: Envelope,
    registry: Data<Arc<Registry>>,
    attempt: Attempt,
) -> Result<(), BoxDynError> {
    let Some(handler) = registry.handlers.get(envelope.kind.as_str()) else {
        let message = format!("no handler for job kind `{}`", envelope.kind);
        return Err(AbortError::new(message).into());
    };
    let run = Run {
        attempt: attempt.current().max(1),
        max_attempts: registry.max_attempts,
    };
    let result = handler(envelope.payload, run).await;
    if let Err(e) = &result {
        tracing::warn!(kind = %envelope.kind, attempt = run.attempt, max_attempts = run.max_attempts, error = %e, "job failed");
    }
    result
}

async fn on_tick(_tick: Tick, f: Data<Scheduled>) -> Result<(), BoxDynError> {
    let result = f().await;
    if let Err(e) = &result {
        tracing::warn!(error = %e, "scheduled job failed; it runs again at its next tick");
    }
    result
}

async fn log_exit(name: String, run: impl Future<Output = Result<(), WorkerError>>) {
    if let Err(e) = run.await {
        tracing::error!(worker = %name, error = %e, "job worker stopped");
    }
}

/// The running workers.
pub struct JobRunner {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl JobRunner {
    /// Stops taking new tasks and waits up to `grace` for those in flight; whatever is still
    /// running then is dropped mid-way and resumes from the queue after a restart.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        for handle in self.handles {
            let abort = handle.abort_handle();
            if tokio::time::timeout(grace, handle).await.is_err() {
                tracing::warn!("a job was still running at shutdown; it resumes after a restart");
                abort.abort();
            }
        }
    }

    /// A handle that stops every worker at once, as a crash would (tests use it to show
    /// that tasks survive).
    pub fn killer(&self) -> JobKiller {
        JobKiller(self.handles.iter().map(JoinHandle::abort_handle).collect())
    }
}

#[derive(Clone)]
pub struct JobKiller(Vec<tokio::task::AbortHandle>);

impl JobKiller {
    pub fn kill(&self) {
        for handle in &self.0 {
            handle.abort();
        }
    }
}

/// The states [`JobQueue::jobs_by_state`] reports.
pub const JOB_STATES: [&str; 6] = ["pending", "queued", "running", "done", "failed", "killed"];

/// `job_queue_jobs{state}`: the queue's jobs by state, read before each scrape of `/metrics`.
#[cfg(feature = "http")]
pub struct QueueMetrics {
    queue: JobQueue,
    jobs: crate::http::metrics::StateGauges,
}

#[cfg(feature = "http")]
impl QueueMetrics {
    pub fn register(queue: &JobQueue, registry: &mut crate::http::metrics::Registry) -> Self {
        Self {
            queue: queue.clone(),
            jobs: crate::http::metrics::StateGauges::register(
                registry,
                "job_queue_jobs",
                "Background jobs in the queue, by state",
            ),
        }
    }
}

#[cfg(feature = "http")]
impl crate::http::metrics::Refresh for QueueMetrics {
    fn costly(&self) -> bool {
        true
    }

    fn refresh(&self) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            match self.queue.jobs_by_state().await {
                Ok(None) => {}
                Ok(Some(states)) => {
                    for (state, count) in states {
                        self.jobs.set(&state, count);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not read the job queue for /metrics"),
            }
        })
    }
}
