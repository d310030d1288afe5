//! The shared settings (see `backend_kit::config` for every variable) plus the chat's own.

use std::time::Duration;

use backend_kit::config::{ConfigError, Env, Settings};
use backend_kit::jobs::JobSettings;
use backend_kit::mail::MailSettings;

pub const DEFAULT_PORT: u16 = 8084;

#[derive(Debug, Clone)]
pub struct Config {
    pub settings: Settings,
    /// `AUTH_RATE_LIMIT_PER_MINUTE` (10): requests per client IP per minute to register,
    /// login and refresh together.
    pub auth_rate_limit_per_minute: u32,
    /// `ALLOW_GUESTS` (`true`, `false` with `APP_ENV=production`): `/ws?guest=NAME` works.
    pub allow_guests: bool,
    /// `ALLOWED_ORIGINS`: comma-separated origins (`https://chat.example.com`) whose pages
    /// may open a WebSocket here. The server's own origin is always allowed; unset, it is
    /// the only one.
    pub allowed_origins: Vec<String>,
    /// `PUBLIC_URL` (`http://127.0.0.1:<PORT>`): links in mention e-mails start with it.
    pub public_url: String,
    /// `WS_PING_SECS` (20): how often the server pings each connection.
    pub ping_interval: Duration,
    /// `WS_PONG_TIMEOUT_SECS` (60): a connection silent this long is closed.
    pub pong_timeout: Duration,
    /// `SENDS_PER_10S` (20): messages one connection may send per 10 seconds.
    pub sends_per_window: u32,
    /// `ROOMS_PER_HOUR` (10): rooms one account may create per hour.
    pub rooms_per_hour: u32,
    /// `PRESENCE_TTL_SECS` (60): with Redis, how long an instance that stopped sending
    /// heartbeats (it died) keeps its users online; heartbeats go three times as often.
    pub presence_ttl: Duration,
    /// `MENTION_DIGEST_SECS` (600): at most one mention e-mail per user per this long.
    pub mention_digest: Duration,
    /// How often due mention digests are looked for (cron, seconds first).
    pub digest_schedule: String,
    /// `SMTP_URL`, `MAIL_FROM`… (see the kit): where mention e-mails go.
    pub mail: MailSettings,
    /// `JOBS_URL`… (see the kit): where mail jobs queue.
    pub jobs: JobSettings,
}

impl Config {
    /// Test settings: generous limits, fast mention digests, mail to `smtp_url` or files.
    pub fn for_tests(
        settings: Settings,
        smtp_url: Option<String>,
        mail_dir: std::path::PathBuf,
    ) -> Self {
        Self {
            settings,
            auth_rate_limit_per_minute: 10_000,
            allow_guests: true,
            allowed_origins: Vec::new(),
            public_url: format!("http://127.0.0.1:{DEFAULT_PORT}"),
            ping_interval: Duration::from_secs(20),
            pong_timeout: Duration::from_secs(60),
            sends_per_window: 20,
            rooms_per_hour: 1_000,
            presence_ttl: crate::fanout::PRESENCE_TTL,
            mention_digest: Duration::from_secs(1),
            digest_schedule: "* * * * * *".into(),
            mail: MailSettings::for_tests(smtp_url, mail_dir),
            jobs: JobSettings::for_tests(),
        }
    }
}

impl Config {
    /// Reads the environment (and `.env`): the kit's settings, then this capstone's own.
    /// `port`: `serve --port`, which wins over `PORT`.
    pub fn from_env(port: Option<u16>) -> Result<Self, ConfigError> {
        let env = Env::from_process();
        let settings = Settings::from_env("chat", DEFAULT_PORT, port)?;
        let public_url = env.public_url(settings.port)?;
        let secs = |name, default: u64| -> Result<Duration, ConfigError> {
            Ok(Duration::from_secs(env.number(name, default)?.max(1)))
        };
        let mention_digest = secs("MENTION_DIGEST_SECS", 600)?;
        Ok(Self {
            auth_rate_limit_per_minute: env.number("AUTH_RATE_LIMIT_PER_MINUTE", 10)?,
            allow_guests: env.flag("ALLOW_GUESTS", !settings.is_production())?,
            allowed_origins: env.origins("ALLOWED_ORIGINS")?,
            public_url,
            ping_interval: secs("WS_PING_SECS", 20)?,
            pong_timeout: secs("WS_PONG_TIMEOUT_SECS", 60)?,
            sends_per_window: env.number("SENDS_PER_10S", 20)?,
            rooms_per_hour: env.number("ROOMS_PER_HOUR", 10)?,
            presence_ttl: secs("PRESENCE_TTL_SECS", crate::fanout::PRESENCE_TTL.as_secs())?,
            digest_schedule: if mention_digest.as_secs() <= 60 {
                "* * * * * *".into()
            } else {
                "*/10 * * * * *".into()
            },
            mention_digest,
            mail: MailSettings::read(&env, "chat")?,
            jobs: JobSettings::read(&env)?,
            settings,
        })
    }
}
