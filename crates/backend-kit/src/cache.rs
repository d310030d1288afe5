//! A typed key-value cache with per-entry TTLs, for cache-aside reads: look in the cache, fall back
//! to the database on a miss, store what you found.
//!
//! In process (moka) by default; Redis when `REDIS_URL` is set, so every instance sees the
//! same entries and an invalidation reaches all of them at once. Redis errors come back as
//! [`CacheError`]: callers treat them as a miss and keep serving from the database.

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
}

enum Store<V> {
    /// Values as they are (no encoding on a hit) and the instant they stop being valid.
    Local(moka::sync::Cache<String, (V, Instant)>),
    /// Values as JSON, shared by every instance.
    #[cfg(feature = "redis")]
    Redis(crate::redis::Redis),
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
            Store::Redis(redis) => Store::Redis(redis.clone()),
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

    #[cfg(feature = "redis")]
    pub fn redis(redis: crate::redis::Redis) -> Self {
        Self {
            store: Store::Redis(redis),
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
            Store::Redis(redis) => {
                let text: Option<String> = redis::cmd("GET")
                    .arg(redis.key(key))
                    .query_async(&mut redis.connection())
                    .await?;
                Ok(text.map(|t| serde_json::from_str(&t)).transpose()?)
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
            Store::Redis(redis) => {
                let millis = ttl.as_millis().max(1) as u64;
                redis::cmd("SET")
                    .arg(redis.key(key))
                    .arg(serde_json::to_string(value)?)
                    .arg("PX")
                    .arg(millis)
                    .query_async::<()>(&mut redis.connection())
                    .await?;
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
            Store::Redis(redis) => {
                redis::cmd("DEL")
                    .arg(redis.key(key))
                    .query_async::<()>(&mut redis.connection())
                    .await?;
                Ok(())
            }
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
