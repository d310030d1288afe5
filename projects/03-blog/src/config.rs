//! The shared settings (see `backend_kit::config` for every variable) plus this project's own.

use std::time::Duration;

use backend_kit::config::{ConfigError, Env, Settings};
use backend_kit::jobs::JobSettings;
use backend_kit::mail::MailSettings;

pub const DEFAULT_PORT: u16 = 8083;

#[derive(Debug, Clone)]
pub struct Config {
    pub settings: Settings,
    /// `AUTH_RATE_LIMIT_PER_MINUTE` (default 10): requests per client IP per minute to
    /// registration, login and refresh together.
    pub auth_rate_limit_per_minute: u32,
    /// `CORS_ORIGINS`: which browser origins may call the API.
    pub cors_origins: CorsOrigins,
    /// `PUBLIC_URL` (`http://127.0.0.1:<PORT>`, so `http://127.0.0.1:8083`): where the blog is
    /// reached from outside; every link in a mail starts with it.
    pub public_url: String,
    /// `NOTIFY_DIGEST_SECS` (600): comments on an author's articles are gathered into one
    /// mail per this many seconds.
    pub notify_digest: Duration,
    /// How often the digest job looks for due digests (cron, seconds first): every second
    /// for windows up to a minute, every 10 s above.
    pub digest_schedule: String,
    /// `VERIFY_RESEND_PER_HOUR` (5): verification mails a user may ask for again.
    pub verify_resend_per_hour: u32,
    /// `PASSWORD_RESET_PER_HOUR` (5): reset mails asked for one address, from anyone.
    pub password_reset_per_address_per_hour: u32,
    /// `PASSWORD_RESET_PER_CLIENT_PER_HOUR` (20): reset requests from one client IP.
    pub password_reset_per_client_per_hour: u32,
    /// `ARTICLES_PER_HOUR` (30): articles one user may create or change.
    pub articles_per_hour: u32,
    /// `COMMENTS_PER_MINUTE` (10): comments one user may post.
    pub comments_per_minute: u32,
    /// `REACTIONS_PER_MINUTE` (60): favorites, follows and their undoing, per user.
    pub reactions_per_minute: u32,
    /// `SMTP_URL`, `MAIL_FROM`, `MAIL_RETRY_BASE_SECS`, `MAIL_MAX_ATTEMPTS`… (see the kit).
    pub mail: MailSettings,
    /// `JOBS_URL`, `JOB_CONCURRENCY`… (see the kit): where mail jobs queue.
    pub jobs: JobSettings,
    /// `GRAPHQL_INTROSPECTION` (true): whether `/graphql` answers introspection queries
    /// (what GraphiQL and code generators read). Switch it off in production to keep the
    /// schema to yourself — `schema.graphql` in the repository still documents it.
    pub graphql_introspection: bool,
}

/// `CORS_ORIGINS`: a comma-separated list of origins (`https://app.example.com`), or `*`.
/// Unset: any origin in development (a front end on `localhost:3000` just works), none in
/// production (say which front end you serve).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    Any,
    List(Vec<String>),
}

impl CorsOrigins {
    fn read<L: Fn(&str) -> Option<String>>(
        env: &Env<L>,
        production: bool,
    ) -> Result<Self, ConfigError> {
        if env.get("CORS_ORIGINS").is_some_and(|raw| raw.trim() == "*") {
            return Ok(Self::Any);
        }
        let origins = env.origins("CORS_ORIGINS")?;
        Ok(if origins.is_empty() && !production {
            Self::Any
        } else {
            Self::List(origins)
        })
    }
}

impl Config {
    /// Test settings: auth limits high enough for tests that register many users; mail
    /// to `smtp_url` (a test's SMTP server) or, without one, into `mail_dir`; fast jobs;
    /// digests after a second.
    pub fn for_tests(
        settings: Settings,
        smtp_url: Option<String>,
        mail_dir: std::path::PathBuf,
    ) -> Self {
        Self {
            settings,
            auth_rate_limit_per_minute: 10_000,
            cors_origins: CorsOrigins::Any,
            public_url: format!("http://127.0.0.1:{DEFAULT_PORT}"),
            notify_digest: Duration::from_secs(1),
            digest_schedule: digest_schedule(Duration::from_secs(1)),
            verify_resend_per_hour: 3,
            password_reset_per_address_per_hour: 3,
            password_reset_per_client_per_hour: 10_000,
            // High enough for every test but the budgets' own.
            articles_per_hour: 10_000,
            comments_per_minute: 10_000,
            reactions_per_minute: 10_000,
            mail: MailSettings::for_tests(smtp_url, mail_dir),
            jobs: JobSettings::for_tests(),
            graphql_introspection: true,
        }
    }
}

/// A digest is due at most a tick late: a second for short windows (tests, demos), ten
/// seconds for the default ten minutes.
fn digest_schedule(window: Duration) -> String {
    match window.as_secs() {
        0..=60 => "* * * * * *".into(),
        _ => "*/10 * * * * *".into(),
    }
}

impl Config {
    /// Reads the environment (and `.env`): the kit's settings, then this capstone's own.
    /// `port`: `serve --port`, which wins over `PORT`.
    pub fn from_env(port: Option<u16>) -> Result<Self, ConfigError> {
        let env = Env::from_process();
        let settings = Settings::from_env("blog", DEFAULT_PORT, port)?;
        let cors_origins = CorsOrigins::read(&env, settings.is_production())?;
        let public_url = env.public_url(settings.port)?;
        let notify_digest = Duration::from_secs(env.number("NOTIFY_DIGEST_SECS", 600u64)?.max(1));
        Ok(Self {
            auth_rate_limit_per_minute: env.number("AUTH_RATE_LIMIT_PER_MINUTE", 10)?,
            cors_origins,
            public_url,
            notify_digest,
            digest_schedule: digest_schedule(notify_digest),
            verify_resend_per_hour: env.number("VERIFY_RESEND_PER_HOUR", 5)?,
            password_reset_per_address_per_hour: env.number("PASSWORD_RESET_PER_HOUR", 5)?,
            password_reset_per_client_per_hour: env
                .number("PASSWORD_RESET_PER_CLIENT_PER_HOUR", 20)?,
            articles_per_hour: env.number("ARTICLES_PER_HOUR", 30)?,
            comments_per_minute: env.number("COMMENTS_PER_MINUTE", 10)?,
            reactions_per_minute: env.number("REACTIONS_PER_MINUTE", 60)?,
            mail: MailSettings::read(&env, "conduit")?,
            jobs: JobSettings::read(&env)?,
            graphql_introspection: env.flag("GRAPHQL_INTROSPECTION", true)?,
            settings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(raw: Option<&str>, production: bool) -> Result<CorsOrigins, ConfigError> {
        let raw = raw.map(String::from);
        CorsOrigins::read(&Env::new(move |_: &str| raw.clone()), production)
    }

    #[test]
    fn cors_origins_default_by_environment() {
        assert_eq!(read(None, false).unwrap(), CorsOrigins::Any);
        assert_eq!(read(None, true).unwrap(), CorsOrigins::List(vec![]));
        assert_eq!(read(Some("*"), true).unwrap(), CorsOrigins::Any);
    }

    #[test]
    fn cors_origins_are_checked() {
        assert_eq!(
            read(Some("https://a.example, http://localhost:3000"), true).unwrap(),
            CorsOrigins::List(vec![
                "https://a.example".into(),
                "http://localhost:3000".into()
            ])
        );
        for bad in [
            "a.example",
            "https://a.example/",
            "https://a.example/path",
            "ftp://a",
        ] {
            assert!(read(Some(bad), false).is_err(), "{bad}");
        }
    }
}
