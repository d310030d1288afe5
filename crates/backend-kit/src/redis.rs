//! A Redis connection shared by the whole process, with every key under one prefix.
//!
//! `ConnectionManager` multiplexes all requests over one connection and reconnects by itself.
//! It is created lazily, so the service starts even while Redis is down; callers treat Redis
//! errors as "fall back", never as a reason to fail a request.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

#[derive(Clone)]
pub struct Redis {
    client: redis::Client,
    conn: ConnectionManager,
    prefix: String,
}

impl Redis {
    pub fn connect(url: &str, prefix: &str) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            // Fail fast: a request waiting on a dead Redis is worse than one without it.
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_millis(500)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(2));
        Ok(Self {
            conn: ConnectionManager::new_lazy_with_config(client.clone(), config)?,
            client,
            prefix: prefix.to_string(),
        })
    }

    /// The Redis named by `REDIS_URL`, if set, with the settings' key prefix.
    pub fn from_settings(settings: &crate::config::Settings) -> redis::RedisResult<Option<Self>> {
        settings
            .redis_url
            .as_ref()
            .map(|url| Self::connect(url.expose(), &settings.redis_prefix))
            .transpose()
    }

    /// `prefix:part`: every key this process writes starts with its prefix.
    pub fn key(&self, part: &str) -> String {
        format!("{}:{part}", self.prefix)
    }

    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// A connection of its own for SUBSCRIBE (a subscribed connection can do nothing else).
    pub async fn pubsub(&self) -> redis::RedisResult<redis::aio::PubSub> {
        self.client.get_async_pubsub().await
    }

    pub async fn ping(&self) -> redis::RedisResult<()> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.connection())
            .await
            .map(|_| ())
    }
}
