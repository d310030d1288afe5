//! The shared settings (see `backend_kit::config` for every variable) plus this project's own.

use backend_kit::config::{ConfigError, Env, Settings};

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
    /// Reads the environment (and `.env`): the kit's settings, then this capstone's own.
    /// `port`: `serve --port`, which wins over `PORT`.
    pub fn from_env(port: Option<u16>) -> Result<Self, ConfigError> {
        let env = Env::from_process();
        Ok(Self {
            settings: Settings::from_env("todo-api", DEFAULT_PORT, port)?,
            auth_rate_limit_per_minute: env.number("AUTH_RATE_LIMIT_PER_MINUTE", 10)?,
        })
    }
}
