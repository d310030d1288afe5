//! A Redis connection shared by the whole process, with every key under one prefix.
//!
//! `ConnectionManager` multiplexes all requests over one connection and reconnects by itself.
//! It is created lazily, so the service starts even while Redis is down; callers treat Redis
//! errors as "fall back", never as a reason to fail a request.
//!
//! A circuit breaker keeps a dead Redis from slowing every request: after a connection error
//! or time-out, [`Redis::run`] skips Redis for [`RETRY_AFTER`], then lets one request try
//! again. Without it, each request paid a failed reconnect (~300 ms for a cache read and fill)
//! and redirects fell to ~50 req/s while Redis was down.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// How long Redis is skipped after it failed, before one request tries it again.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct Redis {
    /// Boxed: with TLS compiled in a client is ~250 bytes, and every enum that holds a
    /// `Redis` beside an in-process alternative would be that big.
    client: Box<redis::Client>,
    conn: ConnectionManager,
    prefix: String,
    breaker: Arc<Breaker>,
}

impl Redis {
    pub fn connect(url: &str, prefix: &str) -> redis::RedisResult<Self> {
        // `rediss://` takes rustls's process-wide crypto provider: name ring rather than let
        // rustls guess (it cannot once a second provider is compiled in). Set once; a
        // provider already set wins.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            // Fail fast: a request waiting on a dead Redis is worse than one without it. One
            // connection attempt, no retry loop: the breaker below decides when to try again
            // (with a retry, every request in flight when Redis went away waited ~150 ms).
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_millis(500)))
            .set_number_of_retries(0);
        Ok(Self {
            conn: ConnectionManager::new_lazy_with_config(client.clone(), config)?,
            client: Box::new(client),
            prefix: prefix.to_string(),
            breaker: Arc::new(Breaker::new()),
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

    /// Runs `op` on the shared connection, through the circuit breaker: `None` without
    /// trying when Redis failed less than [`RETRY_AFTER`] ago (the caller falls back at once).
    pub async fn run<T, Fut>(
        &self,
        op: impl FnOnce(ConnectionManager) -> Fut,
    ) -> Option<redis::RedisResult<T>>
    where
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if !self.breaker.permit() {
            return None;
        }
        let result = op(self.connection()).await;
        match &result {
            Err(e) if is_outage(e) => self.breaker.failed(e),
            _ => self.breaker.succeeded(),
        }
        Some(result)
    }

    /// Whether Redis is being skipped: it failed, and no call has succeeded since (one call is
    /// let through every [`RETRY_AFTER`] to find out). What depends on hearing from Redis (near
    /// copies) is not trusted meanwhile.
    pub fn is_skipped(&self) -> bool {
        self.breaker.open_until.load(Ordering::Acquire) != 0
    }

    /// A connection of its own, outside the breaker: for traffic that must not hold up the
    /// shared connection the cache and the limits use (the shortener's visit feed).
    pub async fn dedicated_connection(
        &self,
    ) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        self.client.get_multiplexed_async_connection().await
    }

    /// A connection of its own for SUBSCRIBE (a subscribed connection can do nothing else).
    pub async fn pubsub(&self) -> redis::RedisResult<redis::aio::PubSub> {
        self.client.get_async_pubsub().await
    }

    /// Asks Redis itself, past the breaker: what `/ready` reports.
    pub async fn ping(&self) -> redis::RedisResult<()> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.connection())
            .await
            .map(|_| ())
    }
}

/// Errors that mean "Redis cannot be reached", as opposed to a refused command.
fn is_outage(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal()
}

/// Closed (Redis is used), open (skipped until a deadline), half-open (one caller probes).
struct Breaker {
    started: Instant,
    /// Milliseconds since `started` until which Redis is skipped; 0 = closed.
    open_until: AtomicU64,
}

impl Breaker {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            open_until: AtomicU64::new(0),
        }
    }

    /// Never 0, which means "closed".
    fn now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64 + 1
    }

    fn permit(&self) -> bool {
        let until = self.open_until.load(Ordering::Acquire);
        if until == 0 {
            return true;
        }
        let now = self.now();
        // Past the deadline one caller wins the exchange and probes; the others keep
        // skipping for another interval (or until the probe succeeds).
        now >= until
            && self
                .open_until
                .compare_exchange(
                    until,
                    now + RETRY_AFTER.as_millis() as u64,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
    }

    fn failed(&self, e: &redis::RedisError) {
        let until = self.now() + RETRY_AFTER.as_millis() as u64;
        if self.open_until.swap(until, Ordering::AcqRel) == 0 {
            tracing::warn!(error = %e, "redis unreachable: skipped, and retried every {RETRY_AFTER:?}");
        }
    }

    fn succeeded(&self) {
        if self.open_until.swap(0, Ordering::AcqRel) != 0 {
            tracing::info!("redis reachable again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outage() -> redis::RedisError {
        std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into()
    }

    #[test]
    fn the_breaker_skips_redis_after_a_failure_then_lets_one_caller_probe() {
        let breaker = Breaker::new();
        assert!(
            breaker.permit() && breaker.permit(),
            "closed: everyone goes"
        );
        breaker.failed(&outage());
        assert!(!breaker.permit(), "open: skipped");
        // Pretend the deadline passed.
        breaker.open_until.store(1, Ordering::Release);
        assert!(breaker.permit(), "half-open: one probe");
        assert!(!breaker.permit(), "the others keep skipping meanwhile");
        breaker.succeeded();
        assert!(breaker.permit() && breaker.permit(), "closed again");
    }

    #[test]
    fn only_outages_open_the_breaker() {
        assert!(is_outage(&outage()));
        let refused: redis::RedisError =
            (redis::ErrorKind::Parse, "WRONGTYPE Operation against a key").into();
        assert!(!is_outage(&refused));
    }
}
