//! The shared settings (see `backend_kit::config` for every variable) plus this project's own.

use backend_kit::config::{ConfigError, Settings};

pub const DEFAULT_PORT: u16 = 8081;

#[derive(Debug, Clone)]
pub struct Config {
    pub settings: Settings,
    /// `AUTH_RATE_LIMIT_PER_MINUTE` (default 10): requests per client IP per minute to
    /// `/register`, `/login` and `/refresh` together — the endpoints password guessing and
    /// account spamming go through.
    pub auth_rate_limit_per_minute: u32,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let settings = Settings::from_env("todo-api", DEFAULT_PORT)?;
        let auth_rate_limit_per_minute = match std::env::var("AUTH_RATE_LIMIT_PER_MINUTE") {
            Ok(value) if !value.is_empty() => {
                value.trim().parse().map_err(|_| ConfigError::Invalid {
                    name: "AUTH_RATE_LIMIT_PER_MINUTE",
                    value,
                    reason: "expected a whole number",
                })?
            }
            _ => 10,
        };
        Ok(Self {
            settings,
            auth_rate_limit_per_minute,
        })
    }
}
