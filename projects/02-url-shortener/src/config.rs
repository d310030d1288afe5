//! The shared settings (see `backend_kit::config`) plus this project's own.

use std::time::Duration;

use backend_kit::config::{ConfigError, Env, Settings};
use backend_kit::jobs::JobSettings;

pub const DEFAULT_PORT: u16 = 8082;

/// Where the gRPC API listens unless `GRPC_PORT` says otherwise.
pub const DEFAULT_GRPC_PORT: u16 = 9082;

/// Who may change or delete a link made without an account (`ANONYMOUS_EDITS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnonymousEdits {
    /// Anyone who knows the code (`open`, the default: what the public spec describes).
    Open,
    /// Whoever shows the link's manage token in `X-Manage-Token` (`token`).
    Token,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub settings: Settings,
    /// `PUBLIC_URL`: where users reach this service; short links point here, and targets on
    /// this host are refused (they would redirect in a loop). Default `http://HOST:PORT`.
    pub public_url: String,
    /// `SHORTEN_RATE_LIMIT_PER_MINUTE` (60): `POST /shorten` requests per client IP.
    pub shorten_rate_limit_per_minute: u32,
    /// `AUTH_RATE_LIMIT_PER_MINUTE` (10): `/register`, `/login`, `/refresh` per client IP.
    pub auth_rate_limit_per_minute: u32,
    /// `LINK_PASSWORD_ATTEMPTS_PER_MINUTE` (10): password guesses per client IP.
    pub link_password_attempts_per_minute: u32,
    /// `CODE_LENGTH` (7): characters in a generated code.
    pub code_length: usize,
    /// `ALLOW_PRIVATE_TARGETS` (false): allow localhost and private IP targets (for local demos).
    pub allow_private_targets: bool,
    /// `CACHE_TTL_SECS` (300): how long a redirect stays cached; 0 switches caching off.
    pub cache_ttl: Duration,
    /// How long "this code does not exist" stays cached.
    pub negative_cache_ttl: Duration,
    /// `VISIT_QUEUE_CAPACITY` (10000): visits waiting to be written; past it they are dropped
    /// (and counted in `/metrics`) rather than slow a redirect down.
    pub visit_queue_capacity: usize,
    /// `JOBS_URL`, `JOB_MAX_ATTEMPTS`, …: the background job queue (see `backend_kit::jobs`).
    pub jobs: JobSettings,
    /// `ROLLUP_SCHEDULE` ("0 */10 * * * *", every ten minutes): when the cron job rolls visits
    /// up into daily counts and marks expired links. Six fields, seconds first, UTC.
    pub rollup_schedule: String,
    /// `IMPORT_BATCH_SIZE` (100): CSV rows written per transaction; progress is saved after each.
    pub import_batch_size: usize,
    /// `ANONYMOUS_EDITS` (`open`): see [`AnonymousEdits`].
    pub anonymous_edits: AnonymousEdits,
    /// `IMPORT_RETENTION_DAYS` (7): how long a finished import's report is kept.
    pub import_retention: Duration,
    /// `IMPORT_MAX_UNFINISHED` (3): imports a user may have queued or running at once.
    pub import_max_unfinished: i64,
    /// `GRPC_PORT` (9082): the gRPC API's port, on the same host as HTTP; `off` serves no
    /// gRPC, `0` picks a free port.
    pub grpc_port: Option<u16>,
    /// `GRPC_TRUSTED_PROXY_HOPS` (0): proxies of yours in front of the gRPC port that append
    /// `X-Forwarded-For` (Caddy in the one-server setup: 1). At 0 the rate limits key gRPC
    /// callers by their TCP address and ignore the header, which a caller could fill with a
    /// fresh address per call.
    pub grpc_trusted_proxy_hops: u32,
}

impl Config {
    /// Reads the environment (and `.env`): the kit's settings, then this capstone's own.
    /// `port`: `serve --port`, which wins over `PORT`.
    pub fn from_env(port: Option<u16>) -> Result<Self, ConfigError> {
        let settings = Settings::from_env("url-shortener", DEFAULT_PORT, port)?;
        let env = Env::from_process();
        Ok(Self {
            public_url: env
                .get("PUBLIC_URL")
                .unwrap_or_else(|| format!("http://{}:{}", settings.host, settings.port)),
            shorten_rate_limit_per_minute: env.number("SHORTEN_RATE_LIMIT_PER_MINUTE", 60)?,
            auth_rate_limit_per_minute: env.number("AUTH_RATE_LIMIT_PER_MINUTE", 10)?,
            link_password_attempts_per_minute: env
                .number("LINK_PASSWORD_ATTEMPTS_PER_MINUTE", 10)?,
            code_length: env.number("CODE_LENGTH", 7usize)?.clamp(4, 32),
            allow_private_targets: env.flag("ALLOW_PRIVATE_TARGETS", false)?,
            cache_ttl: Duration::from_secs(env.number("CACHE_TTL_SECS", 300)?),
            negative_cache_ttl: Duration::from_secs(30),
            visit_queue_capacity: env.number("VISIT_QUEUE_CAPACITY", 10_000usize)?.max(1),
            jobs: JobSettings::read(&env)?,
            rollup_schedule: env
                .get("ROLLUP_SCHEDULE")
                .unwrap_or_else(|| "0 */10 * * * *".into()),
            import_batch_size: env.number("IMPORT_BATCH_SIZE", 100usize)?.max(1),
            import_retention: Duration::from_secs(
                env.number("IMPORT_RETENTION_DAYS", 7u64)?
                    .saturating_mul(24 * 3600),
            ),
            anonymous_edits: match env.get("ANONYMOUS_EDITS").as_deref() {
                None | Some("open") => AnonymousEdits::Open,
                Some("token") => AnonymousEdits::Token,
                Some(other) => {
                    return Err(ConfigError::Invalid {
                        name: "ANONYMOUS_EDITS",
                        value: other.to_string(),
                        reason: "expected `open` or `token`",
                    });
                }
            },
            import_max_unfinished: env.number("IMPORT_MAX_UNFINISHED", 3i64)?.max(1),
            grpc_port: match env.get("GRPC_PORT").as_deref() {
                Some("off") => None,
                _ => Some(env.number("GRPC_PORT", DEFAULT_GRPC_PORT)?),
            },
            grpc_trusted_proxy_hops: env.number("GRPC_TRUSTED_PROXY_HOPS", 0)?,
            settings,
        })
    }
}

impl Config {
    /// Defaults for a test server on port 0.
    pub fn for_tests(settings: Settings) -> Self {
        Self {
            public_url: "http://short.test".into(),
            shorten_rate_limit_per_minute: 1_000,
            auth_rate_limit_per_minute: 1_000,
            link_password_attempts_per_minute: 1_000,
            code_length: 7,
            allow_private_targets: false,
            cache_ttl: Duration::from_secs(300),
            negative_cache_ttl: Duration::from_secs(30),
            visit_queue_capacity: 10_000,
            jobs: JobSettings::for_tests(),
            // Once a year: tests run the maintenance step themselves (`run_maintenance` in
            // tests/api/helpers.rs) instead of waiting for a schedule.
            rollup_schedule: "0 0 0 1 1 *".into(),
            import_batch_size: 100,
            import_retention: Duration::from_secs(7 * 24 * 3600),
            anonymous_edits: AnonymousEdits::Open,
            import_max_unfinished: 3,
            // Only the gRPC tests serve it (on a free port): a listener and a runtime per
            // test server would be paid by every other test.
            grpc_port: None,
            grpc_trusted_proxy_hops: 0,
            settings,
        }
    }
}
