//! Settings come from environment variables, with a default for each so `cargo run` works on a
//! fresh machine. A `.env` file in the working directory is read first, if present.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `HOST` | `127.0.0.1` | address to bind (`0.0.0.0` in containers) |
//! | `PORT` | per project | port to bind |
//! | `DATABASE_URL` | `./var/<project>.db` (SQLite) | `postgres://…`, `sqlite://PATH`, a path, or `sqlite::memory:` |
//! | `DATABASE_POOL_SIZE` | 10 | connections in the pool |
//! | `REDIS_URL` | unset (in-process) | `redis://…` to share caches and rate limits between instances |
//! | `JWT_SECRET` | generated once into `./var/jwt-secret` (development only) | HS256 key, at least 32 bytes |
//! | `APP_ENV` | `development` | `production` refuses to start without `JWT_SECRET`, logs JSON |
//! | `BCRYPT_COST` | 12 | bcrypt work factor (4–31) |
//! | `ACCESS_TOKEN_TTL_SECS` | 900 | access-token lifetime |
//! | `REFRESH_TOKEN_TTL_SECS` | 2 592 000 (30 days) | refresh-token lifetime |
//! | `TRUST_PROXY_HEADERS` | `false` | take the client IP from `X-Forwarded-For` (only behind a proxy you run) |
//! | `TRUSTED_PROXY_HOPS` | 1 with `TRUST_PROXY_HEADERS=true`, else 0 | how many proxies you run in front of the service: the client IP is that many entries from the right of `X-Forwarded-For` |
//! | `BODY_READ_TIMEOUT_SECS` | 10 | a request body must arrive within this, or `408` |
//! | `METRICS_TOKEN` | unset | `/metrics` needs `Authorization: Bearer <token>`; unset, it is open in development and off in production |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | unset | with the `otel` feature: send request spans to this OpenTelemetry collector (OTLP over HTTP) |
//! | `SOURCE_URL` | unset (the release images: their repository) | the source code's address, linked from the landing page |
//! | `RUST_LOG` | `info` | log filter |

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::secret::Secret;

/// Shortest JWT secret accepted: HS256 keys should carry at least 256 bits.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{name} has an invalid value `{value}`: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error(
        "APP_ENV=production needs JWT_SECRET set to at least {MIN_JWT_SECRET_BYTES} bytes (e.g. `openssl rand -base64 48`)"
    )]
    MissingProductionSecret,
    #[error("could not keep the development JWT secret in {path}: {reason}")]
    SecretFile { path: String, reason: String },
}

/// `http(s)://host[:port]`, nothing after.
fn is_origin(origin: &str) -> bool {
    let Some(host) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

/// Reads variables by name, each with a default, and says which variable is wrong and why
/// when one does not parse. The one parser every `Config` in the workspace uses.
pub struct Env<L = fn(&str) -> Option<String>> {
    lookup: L,
}

impl Env {
    /// The process environment, after loading `.env` if there is one. Empty values count as
    /// unset.
    pub fn from_process() -> Self {
        let _ = dotenvy::dotenv();
        Env {
            lookup: |name| std::env::var(name).ok().filter(|v| !v.is_empty()),
        }
    }
}

impl<L: Fn(&str) -> Option<String>> Env<L> {
    /// Any lookup function: tests need not touch the real environment.
    pub fn new(lookup: L) -> Self {
        Env { lookup }
    }

    pub fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
    }

    /// `name` parsed as a `T`, or `default` when unset; `reason` says what was expected.
    pub fn parse_or<T: std::str::FromStr>(
        &self,
        name: &'static str,
        default: T,
        reason: &'static str,
    ) -> Result<T, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(value) => value.trim().parse().map_err(|_| ConfigError::Invalid {
                name,
                value,
                reason,
            }),
        }
    }

    /// A whole number, or `default` when unset.
    pub fn number<T: std::str::FromStr>(
        &self,
        name: &'static str,
        default: T,
    ) -> Result<T, ConfigError> {
        self.parse_or(name, default, "expected a whole number")
    }

    /// `PUBLIC_URL`: where the service is reached from outside (links in e-mails start with
    /// it); `http://127.0.0.1:<port>` when unset. Must be an `http(s)://` URL.
    pub fn public_url(&self, port: u16) -> Result<String, ConfigError> {
        let url = self
            .get("PUBLIC_URL")
            .unwrap_or_else(|| format!("http://127.0.0.1:{port}"));
        let host = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"));
        if host
            .is_none_or(|h| h.is_empty() || h.starts_with('/') || h.contains(char::is_whitespace))
        {
            return Err(ConfigError::Invalid {
                name: "PUBLIC_URL",
                value: url,
                reason: "expected an http(s) URL, like https://app.example.com",
            });
        }
        Ok(url.trim_end_matches('/').to_string())
    }

    /// A comma-separated list of web origins (`https://app.example.com,http://localhost:3000`),
    /// lower-cased; empty when unset. An origin is a scheme and a host (and port) only: a
    /// path or a trailing `/` would never match what a browser sends in `Origin`.
    pub fn origins(&self, name: &'static str) -> Result<Vec<String>, ConfigError> {
        let mut origins = Vec::new();
        for origin in self
            .get(name)
            .iter()
            .flat_map(|r| r.split(','))
            .map(str::trim)
        {
            if origin.is_empty() {
                continue;
            }
            if !is_origin(origin) {
                return Err(ConfigError::Invalid {
                    name,
                    value: origin.to_string(),
                    reason: "each origin is a scheme and host, like https://app.example.com",
                });
            }
            origins.push(origin.to_ascii_lowercase());
        }
        Ok(origins)
    }

    /// `true`/`false` (any case, or `1`/`0`), or `default` when unset; anything else is an
    /// error, not a silent `false`.
    pub fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self
            .get(name)
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None => Ok(default),
            Some("true" | "1") => Ok(true),
            Some("false" | "0") => Ok(false),
            Some(other) => Err(ConfigError::Invalid {
                name,
                value: other.to_string(),
                reason: "expected true or false",
            }),
        }
    }
}

/// What every capstone needs to start. Projects wrap it in their own config with their extras.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The project's name: names the default SQLite file and prefixes Redis keys.
    pub app_name: String,
    pub host: String,
    pub port: u16,
    pub database_url: Secret<String>,
    pub database_pool_size: u32,
    pub redis_url: Option<Secret<String>>,
    /// Every Redis key starts with this, so projects (and parallel tests) never collide.
    pub redis_prefix: String,
    pub jwt_secret: Secret<String>,
    pub app_env: AppEnv,
    pub bcrypt_cost: u32,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// `REFRESH_REUSE_GRACE_SECS` (10): a refresh token used this recently may be used again
    /// and gets a successor of its own — two tabs refreshing at once — rather than count as
    /// stolen (which logs the session out everywhere). 0 turns the grace off.
    pub refresh_reuse_grace: Duration,
    /// Proxies of ours in front of the service (0: none, trust no header). Each appends the
    /// address it received from to `X-Forwarded-For`, so the client is this many entries from
    /// the right; everything further left was written by the client and proves nothing.
    pub trusted_proxy_hops: u32,
    /// `BODY_READ_TIMEOUT_SECS` (10): a request body must have arrived this long after its
    /// headers, or the request is answered `408` (a client sending a byte a second would
    /// otherwise hold its connection for as long as it likes).
    pub body_read_timeout: Duration,
    pub log_filter: String,
    /// `METRICS_TOKEN` (unset): `/metrics` then needs `Authorization: Bearer <token>`. Unset,
    /// `/metrics` is open in development and off (`404`) with `APP_ENV=production`.
    pub metrics_token: Option<Secret<String>>,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` (unset): an OpenTelemetry collector (`http://host:4318`)
    /// to send request spans to, in a build with the `otel` feature.
    pub otlp_endpoint: Option<String>,
    /// `SOURCE_URL` (unset): the repository a portfolio visitor can read, linked from the
    /// landing page; the release images are built with their own.
    pub source_url: Option<String>,
}

fn is_web_address(url: &str) -> bool {
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    host.is_some_and(|rest| !rest.trim_end_matches('/').is_empty())
        && !url.contains(|c: char| {
            c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | '?' | '#')
        })
}

impl Settings {
    /// Reads the process environment (after loading `.env` if there is one).
    pub fn from_env(
        app_name: &str,
        default_port: u16,
        port_flag: Option<u16>,
    ) -> Result<Self, ConfigError> {
        let mut settings = Self::read(
            &Env::from_process(),
            app_name,
            default_port,
            Path::new("var"),
        )?;
        // `serve --port` wins over `PORT`, before anything is derived from the port (the
        // default `PUBLIC_URL`).
        if let Some(port) = port_flag {
            settings.port = port;
        }
        Ok(settings)
    }

    /// The parsing itself, from any [`Env`]; `var_dir` is where the development secret lives.
    pub fn read<L: Fn(&str) -> Option<String>>(
        env: &Env<L>,
        app_name: &str,
        default_port: u16,
        var_dir: &Path,
    ) -> Result<Self, ConfigError> {
        let lookup = |name: &str| env.get(name);
        let app_env = match lookup("APP_ENV").as_deref() {
            None | Some("development") | Some("dev") | Some("local") => AppEnv::Development,
            Some("production") | Some("prod") => AppEnv::Production,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "APP_ENV",
                    value: other.to_string(),
                    reason: "expected `development` or `production`",
                });
            }
        };
        let jwt_secret = match (lookup("JWT_SECRET"), app_env) {
            (Some(secret), _) if secret.len() >= MIN_JWT_SECRET_BYTES => secret,
            (Some(_), AppEnv::Development) => {
                return Err(ConfigError::Invalid {
                    name: "JWT_SECRET",
                    value: "[REDACTED]".into(),
                    reason: "must be at least 32 bytes",
                });
            }
            (_, AppEnv::Production) => return Err(ConfigError::MissingProductionSecret),
            (None, AppEnv::Development) => development_secret(var_dir)?,
        };
        let database_url = lookup("DATABASE_URL").unwrap_or_else(|| {
            var_dir
                .join(format!("{app_name}.db"))
                .to_string_lossy()
                .into_owned()
        });

        Ok(Self {
            app_name: app_name.to_string(),
            host: lookup("HOST").unwrap_or_else(|| "127.0.0.1".into()),
            port: env.parse_or("PORT", default_port, "expected a port number")?,
            database_url: Secret::new(database_url),
            database_pool_size: env
                .parse_or("DATABASE_POOL_SIZE", 10, "expected a positive number")?
                .max(1),
            redis_url: lookup("REDIS_URL").map(Secret::new),
            redis_prefix: lookup("REDIS_PREFIX").unwrap_or_else(|| app_name.to_string()),
            jwt_secret: Secret::new(jwt_secret),
            app_env,
            bcrypt_cost: env.parse_or("BCRYPT_COST", 12, "expected a number from 4 to 31")?,
            access_token_ttl: Duration::from_secs(env.parse_or(
                "ACCESS_TOKEN_TTL_SECS",
                15 * 60,
                "expected seconds",
            )?),
            refresh_token_ttl: Duration::from_secs(env.parse_or(
                "REFRESH_TOKEN_TTL_SECS",
                30 * 24 * 3600,
                "expected seconds",
            )?),
            refresh_reuse_grace: Duration::from_secs(env.parse_or(
                "REFRESH_REUSE_GRACE_SECS",
                10,
                "expected seconds",
            )?),
            trusted_proxy_hops: {
                let trust = env.flag("TRUST_PROXY_HEADERS", false)?;
                env.parse_or(
                    "TRUSTED_PROXY_HOPS",
                    u32::from(trust),
                    "expected a whole number of proxies",
                )?
            },
            body_read_timeout: Duration::from_secs(
                env.number("BODY_READ_TIMEOUT_SECS", 10u64)?.max(1),
            ),
            // sqlx (under apalis) reports PostgreSQL's notices, such as "schema already exists,
            // skipping" at every start, at info.
            log_filter: lookup("RUST_LOG").unwrap_or_else(|| "info,sqlx=warn".into()),
            metrics_token: lookup("METRICS_TOKEN").map(Secret::new),
            otlp_endpoint: lookup("OTEL_EXPORTER_OTLP_ENDPOINT")
                .filter(|url| !url.trim().is_empty()),
            source_url: match lookup("SOURCE_URL").filter(|url| !url.trim().is_empty()) {
                None => None,
                // Linked from HTML: only a web address, whatever else the variable holds.
                Some(url) if is_web_address(&url) => Some(
                    url.trim_end_matches('/')
                        .trim_end_matches(".git")
                        .to_string(),
                ),
                Some(value) => {
                    return Err(ConfigError::Invalid {
                        name: "SOURCE_URL",
                        value,
                        reason: "expected a repository's https:// address, without spaces, \
                                 quotes or angle brackets",
                    });
                }
            },
        })
    }

    /// Settings for a test server: port 0, the given database, a fixed secret, cheap bcrypt.
    pub fn for_tests(app_name: &str, database_url: String) -> Self {
        Self {
            app_name: app_name.to_string(),
            host: "127.0.0.1".into(),
            port: 0,
            database_url: Secret::new(database_url),
            database_pool_size: 4,
            redis_url: None,
            redis_prefix: app_name.to_string(),
            jwt_secret: Secret::new("test-secret-that-is-at-least-32-bytes-long".into()),
            app_env: AppEnv::Development,
            bcrypt_cost: 4,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(3600),
            // Off, so that a reuse test needs no wait; the grace's own test sets it.
            refresh_reuse_grace: Duration::ZERO,
            trusted_proxy_hops: 0,
            body_read_timeout: Duration::from_secs(10),
            log_filter: "warn".into(),
            metrics_token: None,
            otlp_endpoint: None,
            source_url: None,
        }
    }

    pub fn is_production(&self) -> bool {
        self.app_env == AppEnv::Production
    }
}

/// In development a random secret is made once and kept, so tokens survive restarts.
fn development_secret(var_dir: &Path) -> Result<String, ConfigError> {
    let path: PathBuf = var_dir.join("jwt-secret");
    let fail = |reason: std::io::Error| ConfigError::SecretFile {
        path: path.display().to_string(),
        reason: reason.to_string(),
    };
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_string();
        if existing.len() >= MIN_JWT_SECRET_BYTES {
            return Ok(existing);
        }
    }
    let bytes: [u8; 48] = rand::random();
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::create_dir_all(var_dir).map_err(fail)?;
    std::fs::write(&path, &secret).map_err(fail)?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    #[test]
    fn origins_and_the_public_url_are_checked() {
        let env = Env::new(|name: &str| match name {
            "GOOD" => Some("https://A.example, http://localhost:3000,".into()),
            "PATH" => Some("https://a.example/".into()),
            "BARE" => Some("a.example".into()),
            "PUBLIC_URL" => Some("https://chat.example/".into()),
            _ => None,
        });
        assert_eq!(
            env.origins("GOOD").unwrap(),
            vec!["https://a.example", "http://localhost:3000"]
        );
        assert!(env.origins("UNSET").unwrap().is_empty());
        assert!(env.origins("PATH").is_err());
        assert!(env.origins("BARE").is_err());
        assert_eq!(env.public_url(1).unwrap(), "https://chat.example");
        let unset = Env::new(|_: &str| None);
        assert_eq!(unset.public_url(8084).unwrap(), "http://127.0.0.1:8084");
        let bad = Env::new(|_: &str| Some("ftp://x".into()));
        assert!(bad.public_url(1).is_err());
    }

    use super::*;
    use std::collections::HashMap;

    #[test]
    fn source_url_is_a_plain_repository_address_or_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let read = |url: &str| settings(&[("SOURCE_URL", url)], dir.path()).map(|s| s.source_url);
        assert_eq!(
            read("https://github.com/you/capstones.git/")
                .unwrap()
                .as_deref(),
            Some("https://github.com/you/capstones")
        );
        assert_eq!(read("  ").unwrap(), None, "blank is unset");
        for bad in [
            "javascript:alert(1)",
            "https://x\" onmouseover=\"a",
            "https://x/<script>",
            "https://x y",
            "https://",
            "https://a/b?x=1&y=2",
            "ftp://a/b",
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }

    fn settings(vars: &[(&str, &str)], dir: &Path) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::read(&Env::new(|name| map.get(name).cloned()), "demo", 8080, dir)
    }

    #[test]
    fn defaults_need_no_environment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = settings(&[], dir.path()).expect("defaults work");
        assert_eq!(s.port, 8080);
        assert_eq!(s.host, "127.0.0.1");
        assert!(s.database_url.expose().ends_with("demo.db"));
        assert_eq!(s.bcrypt_cost, 12);
        assert_eq!(s.access_token_ttl, Duration::from_secs(900));
        assert!(s.redis_url.is_none());
    }

    #[test]
    fn development_secret_is_generated_once_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = settings(&[], dir.path()).expect("first start");
        let second = settings(&[], dir.path()).expect("second start");
        assert!(first.jwt_secret.expose().len() >= MIN_JWT_SECRET_BYTES);
        assert_eq!(first.jwt_secret, second.jwt_secret);
    }

    #[test]
    fn production_refuses_to_start_without_a_secret() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = settings(&[("APP_ENV", "production")], dir.path()).expect_err("must refuse");
        assert_eq!(err, ConfigError::MissingProductionSecret);
        assert!(
            !dir.path().join("jwt-secret").exists(),
            "no secret may be invented in production"
        );
    }

    #[test]
    fn production_refuses_a_short_secret() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = settings(
            &[("APP_ENV", "production"), ("JWT_SECRET", "short")],
            dir.path(),
        )
        .expect_err("must refuse");
        assert_eq!(err, ConfigError::MissingProductionSecret);
    }

    #[test]
    fn production_accepts_a_long_secret() {
        let dir = tempfile::tempdir().expect("tempdir");
        let secret = "x".repeat(MIN_JWT_SECRET_BYTES);
        let s = settings(
            &[("APP_ENV", "production"), ("JWT_SECRET", &secret)],
            dir.path(),
        )
        .expect("starts");
        assert!(s.is_production());
    }

    #[test]
    fn bad_numbers_name_the_variable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = settings(&[("PORT", "eighty")], dir.path()).expect_err("must refuse");
        assert!(
            err.to_string()
                .starts_with("PORT has an invalid value `eighty`"),
            "{err}"
        );
    }

    #[test]
    fn proxy_hops_default_to_one_when_headers_are_trusted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let hops = |vars: &[(&str, &str)]| settings(vars, dir.path()).unwrap().trusted_proxy_hops;
        assert_eq!(hops(&[]), 0);
        assert_eq!(hops(&[("TRUST_PROXY_HEADERS", "true")]), 1);
        assert_eq!(
            hops(&[("TRUST_PROXY_HEADERS", "true"), ("TRUSTED_PROXY_HOPS", "2")]),
            2
        );
        assert_eq!(hops(&[("TRUSTED_PROXY_HOPS", "2")]), 2);
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let dir = tempfile::tempdir().expect("tempdir");
        let secret = "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t";
        let s = settings(
            &[
                ("JWT_SECRET", secret),
                ("DATABASE_URL", "postgres://u:pw-in-url@db/x"),
            ],
            dir.path(),
        )
        .expect("starts");
        let debug = format!("{s:?}");
        assert!(!debug.contains(secret));
        assert!(!debug.contains("pw-in-url"));
    }
}
