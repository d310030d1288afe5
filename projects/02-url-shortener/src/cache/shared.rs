//! The shared store: values as JSON in Redis, seen by every instance, with this process's near
//! copies ([`Near`]) in front and the invalidations that could not reach Redis ([`Pending`])
//! retried behind.
//!
//! Each key has a *version* in Redis (`cache-version:<key>`), a fresh random value at every
//! invalidation.
//! A miss reads it together with the value (one round trip); the fill is a small Lua script
//! that writes only if the version is still the one read, so a reader on any instance that
//! read the database before a change cannot put the old value back after the change was
//! invalidated.

use std::sync::LazyLock;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::near::{self, Near};
use super::{CacheError, Lookup, Ticket, TicketKind};
use backend_kit::redis::Redis;

/// How long a key's version outlives its last invalidation. Long against any fill (which
/// follows its read by milliseconds); when it has expired, a fill that read a version is
/// refused (random versions never come back).
const VERSION_TTL: Duration = Duration::from_secs(24 * 3600);

/// `SET` only if the version is still the one the reader saw (`''` for none).
static FILL: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
        local current = redis.call('GET', KEYS[2])
        if (current or '') ~= ARGV[3] then return 0 end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return 1
        ",
    )
});

pub(super) struct Shared<V> {
    redis: Redis,
    near: Near<V>,
    pending: Pending,
}

impl<V> Clone for Shared<V> {
    fn clone(&self) -> Self {
        Self {
            redis: self.redis.clone(),
            near: self.near.clone(),
            pending: self.pending.clone(),
        }
    }
}

fn version_key(redis: &Redis, key: &str) -> String {
    redis.key(&format!("cache-version:{key}"))
}

impl<V> Shared<V>
where
    V: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// Starts the invalidation listener, so it must be called inside a Tokio runtime.
    pub fn new(redis: Redis, near_capacity: u64) -> Self {
        Self {
            near: Near::listen(&redis, near_capacity),
            redis,
            pending: Pending::default(),
        }
    }

    pub async fn lookup(&self, key: &str) -> Result<Lookup<V>, CacheError> {
        if let Some(value) = self.near.get(key) {
            return Ok(Lookup::Hit(value));
        }
        // Redis may still hold what a failed invalidation should have removed.
        if self.pending.contains(key) {
            return Ok(Lookup::Miss(Ticket::skip(key)));
        }
        let epoch = self.near.epoch();
        let (redis_key, version_key) = (self.redis.key(key), version_key(&self.redis, key));
        let read = self.redis.run(|mut conn| async move {
            redis::pipe()
                .cmd("GET")
                .arg(&redis_key)
                .cmd("PTTL")
                .arg(&redis_key)
                .cmd("GET")
                .arg(&version_key)
                .query_async::<(Option<String>, i64, Option<String>)>(&mut conn)
                .await
        });
        // Redis is being skipped (it failed a moment ago): a miss, and no fill.
        let Some(read) = read.await else {
            return Ok(Lookup::Miss(Ticket::skip(key)));
        };
        let (text, ttl_millis, version) = read?;
        let Some(text) = text else {
            return Ok(Lookup::Miss(Ticket {
                key: key.to_string(),
                kind: TicketKind::Shared(version.unwrap_or_default()),
            }));
        };
        // An entry this version of the code cannot read (an older format): a miss, so the
        // fill replaces it, rather than an error on every read until it expires.
        let Ok(value) = serde_json::from_str::<V>(&text) else {
            return Ok(Lookup::Miss(Ticket {
                key: key.to_string(),
                kind: TicketKind::Shared(version.unwrap_or_default()),
            }));
        };
        // PTTL is -1 for a key without expiry (the near copy's own bound applies) and -2 when
        // the key expired between GET and PTTL: then no copy is kept at all.
        let ttl = match ttl_millis {
            -1 => None,
            millis if millis >= 0 => Some(Duration::from_millis(millis as u64)),
            _ => return Ok(Lookup::Hit(value)),
        };
        self.near.keep(key, &value, epoch, ttl);
        Ok(Lookup::Hit(value))
    }

    pub async fn fill(
        &self,
        key: &str,
        version: &str,
        value: &V,
        ttl: Duration,
    ) -> Result<(), CacheError> {
        if self.pending.contains(key) {
            return Ok(());
        }
        let mut fill = FILL.prepare_invoke();
        fill.key(self.redis.key(key))
            .key(version_key(&self.redis, key))
            .arg(serde_json::to_string(value)?)
            .arg(ttl.as_millis().max(1) as u64)
            .arg(version);
        let written = self
            .redis
            .run(|mut conn| async move { fill.invoke_async::<i64>(&mut conn).await })
            .await;
        // `None`: skipped while Redis is down; the next miss fills it.
        if let Some(result) = written {
            result?;
        }
        Ok(())
    }

    pub async fn invalidate(&self, key: &str) -> Result<(), CacheError> {
        // Our own copy goes at once; the other instances drop theirs on the message.
        self.near.forget(key);
        let result = invalidate_in_redis(&self.redis, key).await;
        // Pending before forgetting again, so no read in between keeps Redis' old value.
        if result.is_err() {
            self.pending.add(&self.redis, &self.near, key);
        }
        // Again: a read racing the DEL may have copied the old value meanwhile.
        self.near.forget(key);
        result
    }
}

/// Gives `key` a new version, removes it from Redis and tells every instance to drop its near
/// copy.
async fn invalidate_in_redis(redis: &Redis, key: &str) -> Result<(), CacheError> {
    let version = version_key(redis, key);
    // A random version, not a counter: a counter whose key expired would start again at a
    // value a slow reader may have seen.
    let mut commands = redis::pipe();
    commands
        .cmd("SET")
        .arg(&version)
        .arg(format!("{:032x}", rand::random::<u128>()))
        .arg("PX")
        .arg(VERSION_TTL.as_millis() as u64)
        .ignore()
        .cmd("DEL")
        .arg(redis.key(key))
        .ignore()
        .cmd("PUBLISH")
        .arg(near::channel(redis))
        .arg(key)
        .ignore();
    let done = redis
        .run(|mut conn| async move { commands.query_async::<()>(&mut conn).await })
        .await;
    match done {
        Some(result) => Ok(result?),
        None => Err(CacheError::Skipped),
    }
}

/// Invalidations that could not reach Redis, retried until they do. Meanwhile this process
/// reads those keys from the database, since Redis may still hold the old value (when it was
/// unreachable from here but not gone); other instances see the change once a retry lands.
#[derive(Clone, Default)]
pub(super) struct Pending {
    /// Key → how many times its invalidation failed, so a retry that lands does not forget a
    /// newer failure of the same key.
    keys: std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, u64>>>,
    /// `keys` is not empty: lets the hot path skip the lock.
    any: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Pending {
    /// How often failed invalidations are tried again.
    const RETRY_EVERY: Duration = Duration::from_millis(500);

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<String, u64>> {
        self.keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn contains(&self, key: &str) -> bool {
        self.any.load(std::sync::atomic::Ordering::Acquire) && self.lock().contains_key(key)
    }

    /// Remembers `key`; the first pending key starts the task that retries them all.
    pub fn add<V: Clone + Send + Sync + 'static>(
        &self,
        redis: &backend_kit::redis::Redis,
        near: &Near<V>,
        key: &str,
    ) {
        let mut keys = self.lock();
        let start = keys.is_empty();
        *keys.entry(key.to_string()).or_default() += 1;
        self.any.store(true, std::sync::atomic::Ordering::Release);
        drop(keys);
        if start {
            tokio::spawn(self.clone().retry(redis.clone(), near.clone()));
        }
    }

    async fn retry<V: Clone + Send + Sync + 'static>(
        self,
        redis: backend_kit::redis::Redis,
        near: Near<V>,
    ) {
        loop {
            tokio::time::sleep(Self::RETRY_EVERY).await;
            let snapshot: Vec<(String, u64)> =
                self.lock().iter().map(|(k, n)| (k.clone(), *n)).collect();
            for (key, failures) in snapshot {
                if invalidate_in_redis(&redis, &key).await.is_err() {
                    break;
                }
                near.forget(&key);
                let mut keys = self.lock();
                if keys.get(&key) == Some(&failures) {
                    keys.remove(&key);
                }
                if keys.is_empty() {
                    self.any.store(false, std::sync::atomic::Ordering::Release);
                    tracing::info!("pending cache invalidations delivered");
                    return;
                }
            }
        }
    }
}
