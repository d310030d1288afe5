//! One diesel codebase, two databases.
//!
//! [`AnyConnection`] is an enum of a PostgreSQL and a SQLite connection; diesel's
//! `MultiConnection` derive makes it a `Connection` itself, so queries are written once.
//! Which variant you get is decided by [`DatabaseUrl::parse`] from the URL's scheme:
//!
//! | `DATABASE_URL` | backend |
//! |---|---|
//! | `postgres://…`, `postgresql://…` | PostgreSQL |
//! | `sqlite://PATH`, `sqlite:PATH`, a plain path | SQLite file (created on first use) |
//! | `sqlite::memory:`, `:memory:` | SQLite in memory (one connection, gone at exit) |
//!
//! What the derive cannot do (so the schemas avoid it): `Uuid` and `Timestamptz` SQL types
//! (UUIDs are TEXT, times are UTC `TIMESTAMP`), `ON CONFLICT`, multi-row `INSERT`. Where a
//! backend-specific query pays off, match on the variant — see [`AnyConnection::backend`] and
//! the `match conn { … }` in [`run_migrations`].
//!
//! Diesel is synchronous: every query runs on a blocking thread through [`Database::run`],
//! never on the async executor.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use std::sync::atomic::{AtomicU64, Ordering};

use diesel::connection::{InstrumentationEvent, SimpleConnection};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// The query-builder backend of [`AnyConnection`]: what boxed queries are generic over.
pub type AnyBackend = <AnyConnection as Connection>::Backend;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl AnyConnection {
    pub fn backend(&self) -> Backend {
        match self {
            AnyConnection::Postgresql(_) => Backend::Postgres,
            AnyConnection::Sqlite(_) => Backend::Sqlite,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid DATABASE_URL: {0}")]
    InvalidUrl(String),
    #[error(
        "PostgreSQL over TLS was asked for (sslmode, in DATABASE_URL or PGSSLMODE), but this \
         build leaves TLS out: build with `--features postgres-tls` (it needs libssl-dev and \
         pkg-config; the release images have it)"
    )]
    NoTls,
    #[error("could not connect to the database: {0}")]
    Connect(#[from] ConnectionError),
    #[error("could not prepare the SQLite file: {0}")]
    Io(#[from] std::io::Error),
    #[error("no database connection available: {0}")]
    Pool(#[from] r2d2::PoolError),
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database migration failed: {0}")]
    Migration(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("blocking task failed: {0}")]
    Blocking(#[from] tokio::task::JoinError),
    #[error("the connection pool is shut down")]
    Closed(#[from] tokio::sync::AcquireError),
}

/// A `DATABASE_URL` after deciding which backend it names.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    backend: Backend,
    /// What the driver gets: the URL for PostgreSQL, a path or `:memory:` for SQLite.
    target: String,
}

// Hand-written so a password inside the URL never reaches a log.
impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({:?}, {})", self.backend, self.redacted())
    }
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, DbError> {
        let raw = raw.trim();
        let sqlite = |target: &str| Self {
            backend: Backend::Sqlite,
            target: target.to_string(),
        };
        if raw.is_empty() {
            return Err(DbError::InvalidUrl("it is empty".into()));
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            if !cfg!(feature = "postgres-tls") && requires_tls(raw) {
                // libpq's own message ("invalid when SSL support is not compiled in") does not
                // say what to do about it. (`connect` maps it too, for PGSSLMODE.)
                return Err(DbError::NoTls);
            }
            return Ok(Self {
                backend: Backend::Postgres,
                target: raw.to_string(),
            });
        }
        // Diesel would create a file literally named `sqlite::memory:`; it wants `:memory:`.
        if raw == "sqlite::memory:" || raw == ":memory:" || raw == "sqlite://:memory:" {
            return Ok(sqlite(":memory:"));
        }
        if let Some(path) = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
        {
            return match path {
                "" => Err(DbError::InvalidUrl(
                    "`sqlite://` needs a file path after it".into(),
                )),
                path => Ok(sqlite(path)),
            };
        }
        if let Some((scheme, _)) = raw.split_once("://") {
            return Err(DbError::InvalidUrl(format!(
                "unsupported scheme `{scheme}`; use postgres://…, sqlite://PATH or a file path"
            )));
        }
        Ok(sqlite(raw))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }
    /// The SQLite file path (for PostgreSQL, the URL itself).
    pub fn path(&self) -> &str {
        &self.target
    }

    pub fn is_in_memory(&self) -> bool {
        self.target == ":memory:"
    }

    /// The URL with any password replaced, for log lines.
    pub fn redacted(&self) -> String {
        match (self.backend, self.target.split_once("://")) {
            (Backend::Postgres, Some((scheme, rest))) => match rest.split_once('@') {
                Some((userinfo, host)) => {
                    let user = userinfo.split(':').next().unwrap_or_default();
                    format!("{scheme}://{user}:***@{host}")
                }
                None => self.target.clone(),
            },
            _ => self.target.clone(),
        }
    }

    /// Opens one connection of the right kind. The enum's own `establish` would try each backend
    /// in turn and report only the last failure, hiding the real cause.
    pub fn connect(&self) -> Result<AnyConnection, DbError> {
        match self.backend {
            Backend::Postgres => {
                let mut conn = PgConnection::establish(&self.target).map_err(|e| {
                    if e.to_string().contains("SSL support is not compiled in") {
                        DbError::NoTls
                    } else {
                        DbError::Connect(e)
                    }
                })?;
                // Diesel prepares each statement once per connection. In its default `auto`
                // mode PostgreSQL still plans a statement anew for every execution whenever
                // the shared ("generic") plan looks costlier on paper — and a `LIMIT $1` it
                // cannot see looks like 10 % of the table, so a page query was re-planned on
                // every request: a third of the blog's front page throughput. Our statements
                // are index lookups whose best plan does not depend on the values: plan once.
                // And no JIT: a generic plan is costed for the whole table (it cannot see the
                // `LIMIT`), which crosses `jit_above_cost` once a table is large, and PostgreSQL
                // then JIT-compiled the page query on *every* execution (12.5 ms of a 39 ms
                // list at 100 000 articles, 0.12 ms without). JIT pays off for long analytic
                // queries, never for these.
                conn.batch_execute("SET plan_cache_mode = force_generic_plan; SET jit = off")
                    .map_err(DbError::Query)?;
                Ok(AnyConnection::Postgresql(conn))
            }
            Backend::Sqlite => {
                let parent = Path::new(&self.target)
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty());
                if let (false, Some(dir)) = (self.is_in_memory(), parent) {
                    std::fs::create_dir_all(dir)?;
                }
                let mut conn = SqliteConnection::establish(&self.target)?;
                // busy_timeout makes a second writer wait instead of failing with "database is
                // locked"; it comes first because switching to WAL may itself wait for a lock.
                // WAL lets readers run while one writer writes.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                )
                .map_err(DbError::Query)?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }
}

/// Whether a PostgreSQL URL insists on TLS (`sslmode=require`, `verify-ca`, `verify-full`), as
/// managed databases do. `prefer`, libpq's default, falls back to plain TCP.
fn requires_tls(url: &str) -> bool {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    // libpq takes the last `sslmode` given.
    let mode = query
        .rsplit('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "sslmode")
        .map(|(_, value)| value);
    matches!(mode, Some("require" | "verify-ca" | "verify-full"))
}

/// The r2d2 manager: opens connections through [`DatabaseUrl::connect`].
pub struct AnyConnectionManager {
    url: DatabaseUrl,
    /// Counts every statement sent on the pool's connections ([`Database::statements_run`]).
    statements: Arc<AtomicU64>,
    /// Only for `:memory:`, where every new connection is a new, empty database.
    migrate_each_connection: Option<Migrations>,
}

impl ManageConnection for AnyConnectionManager {
    type Connection = AnyConnection;
    type Error = DbError;

    fn connect(&self) -> Result<AnyConnection, DbError> {
        let mut conn = self.url.connect()?;
        let statements = Arc::clone(&self.statements);
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::StartQuery { .. } = event {
                statements.fetch_add(1, Ordering::Relaxed);
            }
        });
        if let Some(migrations) = self.migrate_each_connection {
            run_migrations(&mut conn, migrations())?;
        }
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), DbError> {
        conn.ping().map_err(DbError::Query)
    }

    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// Migrations for both backends, embedded in the binary with `embed_migrations!`.
pub struct MigrationSet {
    pub postgres: EmbeddedMigrations,
    pub sqlite: EmbeddedMigrations,
}

/// A project's migration sets in order: the kit's accounts set, the kit sets it names, then
/// its own (see [`project_migrations!`](crate::project_migrations)).
/// A function because embedded migrations are consumed when run.
pub type Migrations = fn() -> Vec<MigrationSet>;

/// Expands to a project's `pub fn migrations() -> Vec<MigrationSet>`: the kit's accounts and
/// sessions first ([`auth::migrations`](crate::auth::migrations)), then the kit sets named in
/// the call, then the project's own from `migrations/postgres/` and `migrations/sqlite/` beside
/// its `Cargo.toml`, embedded in the binary. The project depends on `diesel_migrations`, which
/// `embed_migrations!` names.
///
/// The kit sets: `profiles` ([`auth::profile_migrations`](crate::auth::profile_migrations):
/// handles, verified addresses, mailed links) and `mail` (the outbox table, feature `mail`).
/// So `project_migrations!(profiles, mail)` expands to
///
/// ```text
/// pub fn migrations() -> Vec<MigrationSet> {
///     vec![
///         backend_kit::auth::migrations(),
///         backend_kit::auth::profile_migrations(),
///         backend_kit::mail::migrations(),
///         MigrationSet { postgres: embed_migrations!("migrations/postgres"), sqlite: … },
///     ]
/// }
/// ```
///
/// Diesel knows a migration by the date-time at the start of its folder name, in one table
/// per database — and capstones may share a database — so a version must be unique across the
/// whole workspace, kit included, or the second migration is taken as applied and silently
/// skipped. `scripts/check-migrations.sh` (run by `.ci/run`) checks it.
#[macro_export]
macro_rules! project_migrations {
    ($($set:ident),* $(,)?) => {
        /// The kit's sets, then this project's.
        pub fn migrations() -> ::std::vec::Vec<$crate::db::MigrationSet> {
            const POSTGRES: ::diesel_migrations::EmbeddedMigrations =
                ::diesel_migrations::embed_migrations!("migrations/postgres");
            const SQLITE: ::diesel_migrations::EmbeddedMigrations =
                ::diesel_migrations::embed_migrations!("migrations/sqlite");
            ::std::vec![
                $crate::auth::migrations(),
                $($crate::project_migrations!(@set $set),)*
                $crate::db::MigrationSet {
                    postgres: POSTGRES,
                    sqlite: SQLITE,
                },
            ]
        }
    };
    (@set profiles) => {
        $crate::auth::profile_migrations()
    };
    (@set mail) => {
        $crate::mail::migrations()
    };
}

/// A migration every database made before the squash of 2026-12-05 has applied: its presence
/// means the tables were built by migrations this build no longer has.
const BEFORE_THE_SQUASH: &str = "20260101000000";

/// Refuses a database made by a checkout from before the migrations were squashed, with what
/// to do instead of a confusing "table users already exists".
fn refuse_old_layout<DB: diesel::backend::Backend>(
    conn: &mut impl MigrationHarness<DB>,
) -> Result<(), DbError> {
    let applied = conn.applied_migrations().map_err(DbError::Migration)?;
    if applied.iter().any(|v| v.to_string() == BEFORE_THE_SQUASH) {
        return Err(DbError::Migration(
            "this database was made by an older checkout, before the migrations were squashed \
             into one set per capstone (2026-12-05): delete the SQLite file, or drop and \
             re-create the PostgreSQL database, then start again"
                .into(),
        ));
    }
    Ok(())
}

/// The PostgreSQL advisory lock held while migrating (any fixed number; this one spells
/// "capstone" in ASCII).
const MIGRATION_LOCK: i64 = 0x6361_7073_746f_6e65;

/// Runs each set in order on the right backend.
///
/// On PostgreSQL the whole run holds an advisory lock: instances of a scaled-out service
/// start together, and two of them creating diesel's bookkeeping table or the same table at
/// once fail with a unique violation in `pg_type`. The second one waits, then finds nothing
/// pending. (A SQLite file serialises writers by itself.)
pub fn run_migrations(
    conn: &mut AnyConnection,
    sets: impl IntoIterator<Item = MigrationSet>,
) -> Result<(), DbError> {
    match conn {
        AnyConnection::Postgresql(pg) => {
            let lock = |pg: &mut PgConnection, sql: &str| {
                diesel::sql_query(sql)
                    .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
                    .execute(pg)
                    .map(|_| ())
                    .map_err(|e| DbError::Migration(e.into()))
            };
            lock(pg, "SELECT pg_advisory_lock($1)")?;
            let result = refuse_old_layout(pg).and_then(|()| {
                sets.into_iter().try_for_each(|set| {
                    pg.run_pending_migrations(set.postgres)
                        .map(|_| ())
                        .map_err(DbError::Migration)
                })
            });
            // Unlocked even after a failure: the lock belongs to this session, which the
            // pool may keep open.
            let unlocked = lock(pg, "SELECT pg_advisory_unlock($1)");
            result.and(unlocked)
        }
        AnyConnection::Sqlite(sqlite) => {
            refuse_old_layout(sqlite)?;
            sets.into_iter().try_for_each(|set| {
                sqlite
                    .run_pending_migrations(set.sqlite)
                    .map(|_| ())
                    .map_err(DbError::Migration)
            })
        }
    }
}

/// Whether `e` is a unique violation (a taken key of any unique index or primary key).
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Whether `e` is a foreign-key violation: the row refers to one that does not exist (any
/// more — a concurrent delete).
pub fn is_foreign_key_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ForeignKeyViolation,
            _
        )
    )
}

/// Runs `write` (an insert) in a savepoint: `Some` of its result, or `None` when a unique
/// index or primary key refused it — the row is there already, which makes "do it twice" the
/// same as "do it once". The savepoint keeps an enclosing PostgreSQL transaction usable after
/// the refusal (a failed statement would otherwise abort it).
pub fn unless_taken<T>(
    conn: &mut AnyConnection,
    write: impl FnOnce(&mut AnyConnection) -> QueryResult<T>,
) -> QueryResult<Option<T>> {
    match conn.transaction(write) {
        Ok(value) => Ok(Some(value)),
        Err(e) if is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether `e` is a unique violation of the index on `table.column`. PostgreSQL names the
/// constraint or index (`users_username_key`), SQLite the column (`UNIQUE constraint failed:
/// users.username`) or, for an index on an expression, the index.
pub fn violates_unique(e: &diesel::result::Error, table: &str, column: &str) -> bool {
    let diesel::result::Error::DatabaseError(
        diesel::result::DatabaseErrorKind::UniqueViolation,
        info,
    ) = e
    else {
        return false;
    };
    let (index, qualified) = (format!("{table}_{column}_"), format!("{table}.{column}"));
    info.constraint_name()
        .is_some_and(|c| c.starts_with(&index))
        || info.message().contains(&qualified)
        || info.message().contains(&index)
}

/// A transaction that writes: on SQLite it starts with `BEGIN IMMEDIATE`, taking the write
/// lock first. A plain (deferred) `BEGIN` takes it at the first write, and when another
/// writer committed in between, SQLite answers "database is locked" at once instead of
/// waiting out `busy_timeout` — concurrent writers then fail instead of queueing. PostgreSQL
/// needs nothing special. Transactions nested inside it are savepoints, as usual, and so is
/// this one when it is itself nested.
pub fn write_transaction<T, E>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let AnyConnection::Sqlite(sqlite) = conn else {
        return conn.transaction(f);
    };
    // Already inside one (a command that writes many things at once, such as `seed`): a
    // savepoint, as for any nested transaction; SQLite has no nested BEGIN.
    let depth =
        AnsiTransactionManager::transaction_manager_status_mut(sqlite).transaction_depth()?;
    if depth.is_some() {
        return conn.transaction(f);
    }
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    let outcome = f(conn);
    // `f` had the connection; the transaction state lives in the SQLite connection inside.
    let AnyConnection::Sqlite(sqlite) = conn else {
        unreachable!("a connection does not change its backend")
    };
    match outcome {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(sqlite)?;
            Ok(value)
        }
        Err(e) => {
            AnsiTransactionManager::rollback_transaction(sqlite)?;
            Err(e)
        }
    }
}

pub type Pool = r2d2::Pool<AnyConnectionManager>;

/// [`Database::pool_status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    pub connections: u32,
    pub idle: u32,
    pub max: u32,
    pub busy: usize,
}

/// A connection pool plus the knowledge of which backend it talks to. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    backend: Backend,
    /// One permit per pooled connection: requests beyond that wait here, asynchronously,
    /// instead of each parking a blocking thread on the pool's lock (which under load made
    /// the slowest requests much slower).
    permits: Arc<tokio::sync::Semaphore>,
    statements: Arc<AtomicU64>,
}

impl Database {
    /// Connects once first, so a bad URL or a stopped server fails fast with the real error,
    /// runs the migrations, then builds the pool.
    pub fn connect(
        url: &DatabaseUrl,
        pool_size: u32,
        migrations: Migrations,
    ) -> Result<Self, DbError> {
        let builder = r2d2::Pool::builder()
            // r2d2 would run `SELECT 1` before handing out every connection: one extra round
            // trip per request. A connection that died fails its next query instead, and
            // `has_broken` then keeps it out of the pool.
            .test_on_check_out(false)
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(5));
        let statements = Arc::new(AtomicU64::new(0));
        let pool = if url.is_in_memory() {
            // One connection that lives as long as the pool: it *is* the database.
            builder
                .max_size(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .build_unchecked(AnyConnectionManager {
                    url: url.clone(),
                    statements: Arc::clone(&statements),
                    migrate_each_connection: Some(migrations),
                })
        } else {
            let mut first = url.connect()?;
            run_migrations(&mut first, migrations())?;
            builder
                .max_size(pool_size)
                .build_unchecked(AnyConnectionManager {
                    url: url.clone(),
                    statements: Arc::clone(&statements),
                    migrate_each_connection: None,
                })
        };
        let permits = Arc::new(tokio::sync::Semaphore::new(pool.max_size() as usize));
        let db = Self {
            pool,
            backend: url.backend(),
            permits,
            statements,
        };
        db.pool.get()?;
        Ok(db)
    }

    /// Opens the database named in the settings, with the given migrations.
    pub fn from_settings(
        settings: &crate::config::Settings,
        migrations: Migrations,
    ) -> Result<Self, DbError> {
        let url = DatabaseUrl::parse(settings.database_url.expose())?;
        Self::connect(&url, settings.database_pool_size, migrations)
    }

    /// [`Database::from_settings`] on a blocking thread: for async start-up code.
    pub async fn open(
        settings: &crate::config::Settings,
        migrations: Migrations,
    ) -> Result<Self, DbError> {
        let settings = settings.clone();
        tokio::task::spawn_blocking(move || Self::from_settings(&settings, migrations)).await?
    }

    /// Runs `f` with a pooled connection on the calling thread. Only for code that is already
    /// off the async executor (start-up, CLI commands, blocking tasks).
    pub fn with_conn<T, E: From<DbError>>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.pool.get().map_err(DbError::from)?;
        f(&mut conn)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// How many SQL statements the pool's connections have sent since start-up (diesel's
    /// instrumentation counts them; transaction `BEGIN`/`COMMIT` included). The difference
    /// across one request is its query count: the blog's tests prove a list page costs a
    /// constant number, whatever its length (no N+1).
    pub fn statements_run(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// How the pool is doing, for `/metrics`: open and idle connections, its size, and the
    /// queries holding a permit (one per connection: at the pool's size, the next ones wait).
    pub fn pool_status(&self) -> PoolStatus {
        let state = self.pool.state();
        let max = self.pool.max_size();
        PoolStatus {
            connections: state.connections,
            idle: state.idle_connections,
            max,
            busy: (max as usize).saturating_sub(self.permits.available_permits()),
        }
    }

    /// Runs `f` with a pooled connection on a blocking thread, off the async executor.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(DbError::from)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut conn = pool.get().map_err(DbError::from)?;
            f(&mut conn)
        })
        .await
        .map_err(DbError::from)?
    }

    /// For `/ready`: can we get a connection and run a query?
    pub async fn ping(&self) -> Result<(), DbError> {
        self.run(|conn| conn.ping().map_err(DbError::Query)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> DatabaseUrl {
        DatabaseUrl::parse(raw).expect("valid url")
    }

    #[test]
    fn postgres_schemes_pick_postgres() {
        assert_eq!(
            parse("postgres://u@localhost/db").backend(),
            Backend::Postgres
        );
        assert_eq!(
            parse("postgresql://u@localhost/db").backend(),
            Backend::Postgres
        );
    }

    #[test]
    fn sqlite_forms_pick_sqlite() {
        assert_eq!(parse("sqlite://var/app.db").target, "var/app.db");
        assert_eq!(parse("sqlite:var/app.db").target, "var/app.db");
        assert_eq!(parse("./var/app.db").target, "./var/app.db");
        assert_eq!(parse("/tmp/app.db").backend(), Backend::Sqlite);
    }

    #[test]
    fn memory_urls_map_to_diesels_memory_name() {
        for raw in ["sqlite::memory:", ":memory:", "sqlite://:memory:"] {
            let url = parse(raw);
            assert!(url.is_in_memory(), "{raw}");
            assert_eq!(url.target, ":memory:");
        }
    }

    #[test]
    fn unknown_schemes_and_empty_urls_are_clear_errors() {
        let err = DatabaseUrl::parse("mysql://root@localhost/db").expect_err("unsupported");
        assert!(
            err.to_string().contains("unsupported scheme `mysql`"),
            "{err}"
        );
        let err = DatabaseUrl::parse("  ").expect_err("empty");
        assert!(err.to_string().contains("empty"), "{err}");
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn only_modes_that_insist_on_tls_count_as_requiring_it() {
        for url in [
            "postgres://u@h/db?sslmode=require",
            "postgres://u@h/db?connect_timeout=5&sslmode=verify-full&sslrootcert=/ca.pem",
            "postgresql://u@h/db?sslmode=verify-ca",
        ] {
            assert!(requires_tls(url), "{url}");
        }
        for url in [
            "postgres://u@h/db",
            "postgres://u@h/db?sslmode=prefer",
            "postgres://u@h/db?sslmode=disable",
            "postgres://u@h/db?application_name=sslmode=require",
            "postgres://u@h/db?sslmode=require&sslmode=disable",
        ] {
            assert!(!requires_tls(url), "{url}");
        }
    }

    #[cfg(not(feature = "postgres-tls"))]
    #[test]
    fn tls_without_the_feature_says_how_to_get_it() {
        let err = DatabaseUrl::parse("postgres://u@h/db?sslmode=require").expect_err("no TLS");
        assert!(err.to_string().contains("--features postgres-tls"), "{err}");
    }

    #[test]
    fn debug_and_redacted_hide_the_password() {
        let url = parse("postgres://app:s3cret@db.internal:5432/app");
        assert_eq!(url.redacted(), "postgres://app:***@db.internal:5432/app");
        assert!(!format!("{url:?}").contains("s3cret"));
    }

    #[test]
    fn unreachable_postgres_reports_the_real_cause() {
        // Port 1 is never a PostgreSQL server: the error must say so, not "no backend matched".
        let url = parse("postgres://postgres@127.0.0.1:1/none?connect_timeout=2");
        let err = url.connect().err().expect("connection must fail");
        let text = err.to_string();
        assert!(
            text.starts_with("could not connect to the database"),
            "{text}"
        );
        assert!(
            text.to_lowercase().contains("connection refused") || text.contains("127.0.0.1"),
            "{text}"
        );
    }

    #[test]
    fn sqlite_file_and_parent_directory_are_created() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested/dir/app.db");
        let url = parse(path.to_str().expect("utf-8 path"));
        let db = Database::connect(&url, 2, Vec::new).expect("opens");
        assert_eq!(db.backend(), Backend::Sqlite);
        assert!(path.exists());
    }

    #[test]
    fn in_memory_database_keeps_its_data_between_uses() {
        let db = Database::connect(&parse("sqlite::memory:"), 8, Vec::new).expect("opens");
        db.with_conn(|c| {
            c.batch_execute("CREATE TABLE t (x INTEGER)")
                .map_err(DbError::Query)
        })
        .expect("create");
        db.with_conn(|c| {
            c.batch_execute("INSERT INTO t VALUES (1)")
                .map_err(DbError::Query)
        })
        .expect("the table is still there on the next checkout");
    }
}
