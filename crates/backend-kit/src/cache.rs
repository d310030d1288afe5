//! A typed key-value cache with per-entry TTLs, for cache-aside reads: look in the cache, fall back
//! to the database on a miss, store what you found.
//!
//! In process (moka) by default; Redis when `REDIS_URL` is set, so every instance sees the
//! same entries. Redis errors come back as [`CacheError`]: callers treat them as a miss and
//! keep serving from the database.
//!
//! With Redis, each process also keeps a *near cache*: an in-process copy of what it read from
//! Redis, so a hot key costs no network round trip. [`Cache::delete`] publishes the key on a
//! Redis pub/sub channel that every instance listens to, and each drops its copy. A process
//! that is not listening (starting up, Redis gone) does not use its copies at all, and forgets
//! them all when it listens again: an invalidation it may have missed can never be served.
//!
//! While Redis is down (its circuit breaker open), `get` misses and `set` does nothing without
//! waiting on it; an invalidation that cannot reach Redis is retried until it does.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[cfg(feature = "redis")]
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("cached value is not valid JSON: {0}")]
    Decode(#[from] serde_json::Error),
    /// Redis failed a moment ago and is skipped for now (see `redis::Redis::run`).
    #[error("redis is unreachable; skipped for now")]
    Skipped,
}

/// Values as they are (no encoding on a hit) and the instant they stop being valid.
type Entries<V> = moka::sync::Cache<String, (V, Instant)>;

// One per cache, and a cache per process: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Store<V> {
    Local(Entries<V>),
    /// Values as JSON, shared by every instance, with this process's near copies in front.
    #[cfg(feature = "redis")]
    Redis {
        redis: crate::redis::Redis,
        near: near::Near<V>,
        pending: Pending,
    },
}

/// A cache of `V` values by string key. Clones share the same entries.
pub struct Cache<V> {
    store: Store<V>,
}

impl<V> Clone for Cache<V> {
    fn clone(&self) -> Self {
        let store = match &self.store {
            Store::Local(cache) => Store::Local(cache.clone()),
            #[cfg(feature = "redis")]
            Store::Redis {
                redis,
                near,
                pending,
            } => Store::Redis {
                redis: redis.clone(),
                near: near.clone(),
                pending: pending.clone(),
            },
        };
        Self { store }
    }
}

impl<V> Cache<V>
where
    V: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// An in-process cache holding at most `capacity` entries (least recently used go first).
    pub fn local(capacity: u64) -> Self {
        Self {
            store: Store::Local(moka::sync::Cache::new(capacity)),
        }
    }

    /// A cache in Redis, with near copies of at most `near_capacity` entries in this process.
    /// Starts the invalidation listener, so it must be called inside a Tokio runtime.
    #[cfg(feature = "redis")]
    pub fn redis(redis: crate::redis::Redis, near_capacity: u64) -> Self {
        Self {
            store: Store::Redis {
                near: near::Near::listen(&redis, near_capacity),
                redis,
                pending: Pending::default(),
            },
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<V>, CacheError> {
        match &self.store {
            Store::Local(cache) => Ok(match cache.get(key) {
                Some((value, valid_until)) if Instant::now() < valid_until => Some(value),
                Some(_) => {
                    cache.invalidate(key);
                    None
                }
                None => None,
            }),
            #[cfg(feature = "redis")]
            Store::Redis {
                redis,
                near,
                pending,
            } => {
                if let Some(value) = near.get(key) {
                    return Ok(Some(value));
                }
                // Redis may still hold what a failed invalidation should have removed.
                if pending.contains(key) {
                    return Ok(None);
                }
                let epoch = near.epoch();
                let redis_key = redis.key(key);
                let read = redis.run(|mut conn| async move {
                    redis::pipe()
                        .cmd("GET")
                        .arg(&redis_key)
                        .cmd("PTTL")
                        .arg(&redis_key)
                        .query_async::<(Option<String>, i64)>(&mut conn)
                        .await
                });
                // Redis is being skipped (it failed a moment ago): a miss.
                let Some(read) = read.await else {
                    return Ok(None);
                };
                let (text, ttl_millis) = read?;
                let Some(text) = text else { return Ok(None) };
                let value: V = serde_json::from_str(&text)?;
                // PTTL is -1 for a key without expiry (the near copy's own bound applies) and
                // -2 when the key expired between GET and PTTL: then no copy is kept at all.
                let ttl = match ttl_millis {
                    -1 => None,
                    millis if millis >= 0 => Some(Duration::from_millis(millis as u64)),
                    _ => return Ok(Some(value)),
                };
                near.keep(key, &value, epoch, ttl);
                Ok(Some(value))
            }
        }
    }

    /// Stores `value` for `ttl`; a zero TTL stores nothing (caching switched off).
    pub async fn set(&self, key: &str, value: &V, ttl: Duration) -> Result<(), CacheError> {
        if ttl.is_zero() {
            return Ok(());
        }
        match &self.store {
            Store::Local(cache) => {
                cache.insert(key.to_string(), (value.clone(), Instant::now() + ttl));
                Ok(())
            }
            #[cfg(feature = "redis")]
            Store::Redis { redis, pending, .. } => {
                if pending.contains(key) {
                    return Ok(());
                }
                let mut command = redis::cmd("SET");
                command
                    .arg(redis.key(key))
                    .arg(serde_json::to_string(value)?)
                    .arg("PX")
                    .arg(ttl.as_millis().max(1) as u64);
                let written = redis
                    .run(|mut conn| async move { command.query_async::<()>(&mut conn).await })
                    .await;
                // `None`: skipped while Redis is down; the next miss fills it.
                if let Some(result) = written {
                    result?;
                }
                Ok(())
            }
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), CacheError> {
        match &self.store {
            Store::Local(cache) => {
                cache.invalidate(key);
                Ok(())
            }
            #[cfg(feature = "redis")]
            Store::Redis {
                redis,
                near,
                pending,
            } => {
                // Our own copy goes at once; the other instances drop theirs on the message.
                near.forget(key);
                let result = invalidate_in_redis(redis, key).await;
                // Again: a read racing the DEL may have copied the old value meanwhile.
                near.forget(key);
                if result.is_err() {
                    pending.add(redis, near, key);
                }
                result
            }
        }
    }
}

/// Removes `key` from Redis and tells every instance to drop its near copy.
#[cfg(feature = "redis")]
async fn invalidate_in_redis(redis: &crate::redis::Redis, key: &str) -> Result<(), CacheError> {
    let mut commands = redis::pipe();
    commands
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
#[cfg(feature = "redis")]
#[derive(Clone, Default)]
struct Pending {
    /// Key → how many times its invalidation failed, so a retry that lands does not forget a
    /// newer failure of the same key.
    keys: std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, u64>>>,
    /// `keys` is not empty: lets the hot path skip the lock.
    any: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

#[cfg(feature = "redis")]
impl Pending {
    /// How often failed invalidations are tried again.
    const RETRY_EVERY: Duration = Duration::from_millis(500);

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<String, u64>> {
        self.keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn contains(&self, key: &str) -> bool {
        self.any.load(std::sync::atomic::Ordering::Acquire) && self.lock().contains_key(key)
    }

    /// Remembers `key`; the first pending key starts the task that retries them all.
    fn add<V: Clone + Send + Sync + 'static>(
        &self,
        redis: &crate::redis::Redis,
        near: &near::Near<V>,
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
        redis: crate::redis::Redis,
        near: near::Near<V>,
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

/// The near cache in front of Redis and the listener that keeps it honest.
#[cfg(feature = "redis")]
mod near {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use futures_util::StreamExt;

    use super::Entries;
    use crate::redis::Redis;

    /// However long Redis keeps an entry, a near copy is re-read after this. It bounds the
    /// harm of an invalidation lost on a connection that failed without either side noticing.
    const MAX_AGE: Duration = Duration::from_secs(60);

    pub fn channel(redis: &Redis) -> String {
        redis.key("cache-invalidations")
    }

    pub struct Near<V> {
        entries: Entries<V>,
        shared: Arc<Shared>,
    }

    impl<V> Clone for Near<V> {
        fn clone(&self) -> Self {
            Self {
                entries: self.entries.clone(),
                shared: self.shared.clone(),
            }
        }
    }

    struct Shared {
        /// True while subscribed: only then are the near copies trusted.
        listening: AtomicBool,
        /// Counts invalidations heard; a Redis read that saw it change keeps no copy, since
        /// the value it read may be the one just invalidated.
        epoch: AtomicU64,
        /// The listener task; it stops when the last clone of the cache is dropped.
        listener: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    }

    impl Drop for Shared {
        fn drop(&mut self) {
            if let Ok(Some(task)) = self.listener.get_mut().map(Option::take) {
                task.abort();
            }
        }
    }

    impl<V: Clone + Send + Sync + 'static> Near<V> {
        pub fn listen(redis: &Redis, capacity: u64) -> Self {
            let near = Self {
                entries: moka::sync::Cache::new(capacity),
                shared: Arc::new(Shared {
                    listening: AtomicBool::new(false),
                    epoch: AtomicU64::new(0),
                    listener: std::sync::Mutex::new(None),
                }),
            };
            // The task holds no strong reference to `shared`, or it would keep itself alive.
            let task = tokio::spawn(listener(
                redis.clone(),
                near.entries.clone(),
                Arc::downgrade(&near.shared),
            ));
            *near.shared.listener.lock().expect("listener lock") = Some(task);
            near
        }

        pub fn get(&self, key: &str) -> Option<V> {
            if !self.shared.listening.load(Ordering::Acquire) {
                return None;
            }
            match self.entries.get(key) {
                Some((value, valid_until)) if Instant::now() < valid_until => Some(value),
                Some(_) => {
                    self.entries.invalidate(key);
                    None
                }
                None => None,
            }
        }

        pub fn epoch(&self) -> u64 {
            self.shared.epoch.load(Ordering::Acquire)
        }

        /// Keeps a copy of what Redis returned, unless an invalidation arrived since `epoch`.
        pub fn keep(&self, key: &str, value: &V, epoch: u64, ttl: Option<Duration>) {
            let ttl = ttl.unwrap_or(MAX_AGE).min(MAX_AGE);
            if self.shared.listening.load(Ordering::Acquire) && self.epoch() == epoch {
                self.entries
                    .insert(key.to_string(), (value.clone(), Instant::now() + ttl));
            }
        }

        pub fn forget(&self, key: &str) {
            self.shared.epoch.fetch_add(1, Ordering::AcqRel);
            self.entries.invalidate(key);
        }
    }

    /// Subscribes, forgets everything (it may have missed messages), then drops each key it
    /// hears about. On any failure it stops trusting the copies and subscribes again.
    async fn listener<V: Clone + Send + Sync + 'static>(
        redis: Redis,
        entries: Entries<V>,
        shared: std::sync::Weak<Shared>,
    ) {
        let channel = channel(&redis);
        let mut delay = Duration::from_millis(100);
        loop {
            let subscribed = async {
                let mut pubsub = redis.pubsub().await?;
                pubsub.subscribe(&channel).await?;
                Ok::<_, redis::RedisError>(pubsub)
            };
            match subscribed.await {
                Ok(mut pubsub) => {
                    let Some(state) = shared.upgrade() else {
                        return;
                    };
                    entries.invalidate_all();
                    state.epoch.fetch_add(1, Ordering::AcqRel);
                    state.listening.store(true, Ordering::Release);
                    drop(state);
                    delay = Duration::from_millis(100);
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let Some(state) = shared.upgrade() else {
                            return;
                        };
                        state.epoch.fetch_add(1, Ordering::AcqRel);
                        if let Ok(key) = message.get_payload::<String>() {
                            entries.invalidate(&key);
                        }
                    }
                    tracing::warn!(
                        "cache invalidation channel closed; near cache off until it is back"
                    );
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot subscribe to cache invalidations; near cache off")
                }
            }
            let Some(state) = shared.upgrade() else {
                return;
            };
            state.listening.store(false, Ordering::Release);
            drop(state);
            entries.invalidate_all();
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn local_entries_expire_after_their_ttl() {
        let cache = Cache::<String>::local(100);
        let one = "1".to_string();
        cache
            .set("a", &one, Duration::from_millis(50))
            .await
            .expect("set");
        assert_eq!(cache.get("a").await.expect("get"), Some(one));
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(cache.get("a").await.expect("get"), None);
    }

    #[actix_web::test]
    async fn delete_invalidates_and_zero_ttl_stores_nothing() {
        let cache = Cache::<Vec<i32>>::local(100);
        cache
            .set("k", &vec![1, 2], Duration::from_secs(60))
            .await
            .expect("set");
        assert_eq!(cache.get("k").await.expect("get"), Some(vec![1, 2]));
        cache.delete("k").await.expect("delete");
        assert_eq!(cache.get("k").await.expect("get"), None);
        cache.set("z", &vec![3], Duration::ZERO).await.expect("set");
        assert_eq!(cache.get("z").await.expect("get"), None);
    }
}
