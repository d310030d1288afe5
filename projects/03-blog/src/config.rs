//! The shared settings (see `backend_kit::config` for every variable) plus this project's own.

use backend_kit::cli::AppConfig;
use backend_kit::config::{ConfigError, Env, Settings};

pub const DEFAULT_PORT: u16 = 8083;

#[derive(Debug, Clone)]
pub struct Config {
    pub settings: Settings,
    /// `AUTH_RATE_LIMIT_PER_MINUTE` (default 10): requests per client IP per minute to
    /// registration, login and refresh together.
    pub auth_rate_limit_per_minute: u32,
    /// `CORS_ORIGINS`: which browser origins may call the API.
    pub cors_origins: CorsOrigins,
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
    fn read(raw: Option<String>, production: bool) -> Result<Self, ConfigError> {
        let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
            return Ok(if production {
                Self::List(Vec::new())
            } else {
                Self::Any
            });
        };
        if raw.trim() == "*" {
            return Ok(Self::Any);
        }
        let mut origins = Vec::new();
        for origin in raw.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let valid = url::Url::parse(origin).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https") && u.path() == "/" && !origin.ends_with('/')
            });
            if !valid {
                return Err(ConfigError::Invalid {
                    name: "CORS_ORIGINS",
                    value: origin.to_string(),
                    reason: "each origin is a scheme and host, like https://app.example.com",
                });
            }
            origins.push(origin.to_string());
        }
        Ok(Self::List(origins))
    }
}

impl Config {
    /// Test settings: auth limits high enough for tests that register many users.
    pub fn for_tests(settings: Settings) -> Self {
        Self {
            settings,
            auth_rate_limit_per_minute: 10_000,
            cors_origins: CorsOrigins::Any,
        }
    }
}

impl AppConfig for Config {
    fn from_env() -> Result<Self, ConfigError> {
        let env = Env::from_process();
        let settings = Settings::from_env("blog", DEFAULT_PORT)?;
        let cors_origins = CorsOrigins::read(env.get("CORS_ORIGINS"), settings.is_production())?;
        Ok(Self {
            settings,
            auth_rate_limit_per_minute: env.number("AUTH_RATE_LIMIT_PER_MINUTE", 10)?,
            cors_origins,
        })
    }

    fn settings(&self) -> &Settings {
        &self.settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_origins_default_by_environment() {
        assert_eq!(CorsOrigins::read(None, false).unwrap(), CorsOrigins::Any);
        assert_eq!(
            CorsOrigins::read(None, true).unwrap(),
            CorsOrigins::List(vec![])
        );
        assert_eq!(
            CorsOrigins::read(Some("*".into()), true).unwrap(),
            CorsOrigins::Any
        );
    }

    #[test]
    fn cors_origins_are_checked() {
        assert_eq!(
            CorsOrigins::read(
                Some("https://a.example, http://localhost:3000".into()),
                true
            )
            .unwrap(),
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
            assert!(CorsOrigins::read(Some(bad.into()), false).is_err(), "{bad}");
        }
    }
}
