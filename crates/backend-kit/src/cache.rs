//! A key-value cache with per-entry TTLs, for cache-aside reads: look in the cache, fall back
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

enum Store {
    /// Value and the instant it stops being valid.
    Local(moka::sync::Cache<String, (String, Instant)>),
    #[cfg(feature = "redis")]
    Redis(crate::redis::Redis),
}

pub struct Cache {
    store: Store,
}

impl Cache {
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

    pub fn is_shared(&self) -> bool {
        !matches!(self.store, Store::Local(_))
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
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
                let value: Option<String> = redis::cmd("GET")
                    .arg(redis.key(key))
                    .query_async(&mut redis.connection())
                    .await?;
                Ok(value)
            }
        }
    }

    /// Stores `value` for `ttl`; a zero TTL stores nothing (caching switched off).
    pub async fn set(&self, key: &str, value: String, ttl: Duration) -> Result<(), CacheError> {
        if ttl.is_zero() {
            return Ok(());
        }
        match &self.store {
            Store::Local(cache) => {
                cache.insert(key.to_string(), (value, Instant::now() + ttl));
                Ok(())
            }
            #[cfg(feature = "redis")]
            Store::Redis(redis) => {
                let millis = ttl.as_millis().max(1) as u64;
                redis::cmd("SET")
                    .arg(redis.key(key))
                    .arg(value)
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

    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, CacheError> {
        match self.get(key).await? {
            Some(text) => Ok(Some(serde_json::from_str(&text)?)),
            None => Ok(None),
        }
    }

    pub async fn set_json<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<(), CacheError> {
        self.set(key, serde_json::to_string(value)?, ttl).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn local_entries_expire_after_their_ttl() {
        let cache = Cache::local(100);
        cache
            .set("a", "1".into(), Duration::from_millis(50))
            .await
            .expect("set");
        assert_eq!(cache.get("a").await.expect("get").as_deref(), Some("1"));
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(cache.get("a").await.expect("get"), None);
    }

    #[actix_web::test]
    async fn delete_invalidates() {
        let cache = Cache::local(100);
        cache
            .set_json("k", &vec![1, 2], Duration::from_secs(60))
            .await
            .expect("set");
        assert_eq!(
            cache.get_json::<Vec<i32>>("k").await.expect("get"),
            Some(vec![1, 2])
        );
        cache.delete("k").await.expect("delete");
        assert_eq!(cache.get_json::<Vec<i32>>("k").await.expect("get"), None);
    }
}
