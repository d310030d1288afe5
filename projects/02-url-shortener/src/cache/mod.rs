//! A typed key-value cache with per-entry TTLs, for *cache-aside* reads: look in the cache; on
//! a miss read the database and fill the cache with what you found; after a write, invalidate.
//!
//! ```ignore
//! let link = match cache.lookup(&key).await? {
//!     Lookup::Hit(link) => link,
//!     Lookup::Miss(ticket) => {
//!         let link = read_from_the_database().await?;
//!         cache.fill(ticket, &link, ttl).await?;
//!         link
//!     }
//! };
//! ```
//!
//! The [`Ticket`] a miss hands out is what makes this safe under concurrency: a reader that
//! read the database *before* a write, and fills *after* the write's invalidation, would put
//! the old value back for a whole TTL. The ticket remembers the key's generation at the miss;
//! [`Cache::invalidate`] moves it on, and a fill whose generation has moved is dropped.
//!
//! Where the entries live:
//! - `local.rs`: in process (moka), the default.
//! - `shared.rs` (with `REDIS_URL`): in Redis, so every instance sees the same entries — with
//!   the multi-instance machinery: near copies in each process (`near.rs`, dropped on a pub/sub
//!   message), invalidations that could not reach Redis retried until they do, versions
//!   checked on fill by a Lua script. While Redis is down (its circuit breaker open), lookups
//!   miss and fills do nothing, without waiting on it. Redis errors come back as
//!   [`CacheError`]: callers treat them as a miss and keep serving from the database.

mod local;
mod near;
mod shared;

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("cached value is not valid JSON: {0}")]
    Decode(#[from] serde_json::Error),
    /// Redis failed a moment ago and is skipped for now (see `redis::Redis::run`).
    #[error("redis is unreachable; skipped for now")]
    Skipped,
}

/// What [`Cache::lookup`] found.
#[derive(Debug)]
pub enum Lookup<V> {
    Hit(V),
    /// Not cached: read the source, then [`Cache::fill`] with this ticket.
    Miss(Ticket),
}

/// A miss's right to fill its key, valid while the key is not invalidated.
#[derive(Debug)]
pub struct Ticket {
    key: String,
    kind: TicketKind,
}

#[derive(Debug)]
enum TicketKind {
    /// The key's stripe generation in this process.
    Local(u64),
    /// The key's version in Redis as read (empty: none yet).
    Shared(String),
    /// Filling now could store a stale value (a failed invalidation is pending) or cost a
    /// wait on a Redis that is down: don't.
    Skip,
}

impl Ticket {
    fn skip(key: &str) -> Self {
        Self {
            key: key.to_string(),
            kind: TicketKind::Skip,
        }
    }
}

// One per cache, and a cache per process: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Store<V> {
    Local(local::Local<V>),
    Shared(shared::Shared<V>),
}

/// A cache of `V` values by string key. Clones share the same entries.
pub struct Cache<V> {
    store: Store<V>,
}

impl<V> Clone for Cache<V> {
    fn clone(&self) -> Self {
        let store = match &self.store {
            Store::Local(local) => Store::Local(local.clone()),
            Store::Shared(shared) => Store::Shared(shared.clone()),
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
            store: Store::Local(local::Local::new(capacity)),
        }
    }

    /// A cache in Redis, with near copies of at most `near_capacity` entries in this process.
    /// Starts the invalidation listener, so it must be called inside a Tokio runtime.
    pub fn redis(redis: backend_kit::redis::Redis, near_capacity: u64) -> Self {
        Self {
            store: Store::Shared(shared::Shared::new(redis, near_capacity)),
        }
    }

    /// The cached value, or a [`Ticket`] to fill it with once read from the source.
    pub async fn lookup(&self, key: &str) -> Result<Lookup<V>, CacheError> {
        match &self.store {
            Store::Local(local) => Ok(match local.get(key) {
                Some(value) => Lookup::Hit(value),
                None => Lookup::Miss(Ticket {
                    key: key.to_string(),
                    kind: TicketKind::Local(local.generation(key)),
                }),
            }),
            Store::Shared(shared) => shared.lookup(key).await,
        }
    }

    /// Stores `value` for `ttl` under the ticket's key — unless the key was invalidated
    /// since the miss (the value may be older than the change). A zero TTL stores nothing
    /// (caching switched off).
    pub async fn fill(&self, ticket: Ticket, value: &V, ttl: Duration) -> Result<(), CacheError> {
        if ttl.is_zero() {
            return Ok(());
        }
        match (&self.store, &ticket.kind) {
            (Store::Local(local), TicketKind::Local(generation)) => {
                local.fill(&ticket.key, value, ttl, *generation);
                Ok(())
            }
            (Store::Shared(shared), TicketKind::Shared(version)) => {
                shared.fill(&ticket.key, version, value, ttl).await
            }
            // A skip, or a ticket from another cache: nothing to do.
            _ => Ok(()),
        }
    }

    /// Drops `key` after its source changed; fills from misses before now are refused. With
    /// Redis, every instance drops its near copy too; if Redis cannot be reached, the
    /// invalidation is retried until it lands (and this process reads the key from the source
    /// meanwhile), and the error is returned for the log.
    pub async fn invalidate(&self, key: &str) -> Result<(), CacheError> {
        match &self.store {
            Store::Local(local) => {
                local.invalidate(key);
                Ok(())
            }
            Store::Shared(shared) => shared.invalidate(key).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_through(cache: &Cache<String>, key: &str, source: &str) -> String {
        match cache.lookup(key).await.expect("lookup") {
            Lookup::Hit(value) => value,
            Lookup::Miss(ticket) => {
                let value = source.to_string();
                cache
                    .fill(ticket, &value, Duration::from_secs(60))
                    .await
                    .expect("fill");
                value
            }
        }
    }

    #[actix_web::test]
    async fn local_entries_expire_after_their_ttl() {
        let cache = Cache::<String>::local(100);
        let Lookup::Miss(ticket) = cache.lookup("a").await.expect("lookup") else {
            panic!("empty cache")
        };
        cache
            .fill(ticket, &"1".to_string(), Duration::from_millis(50))
            .await
            .expect("fill");
        assert!(matches!(cache.lookup("a").await, Ok(Lookup::Hit(v)) if v == "1"));
        actix_web::rt::time::sleep(Duration::from_millis(80)).await;
        assert!(matches!(cache.lookup("a").await, Ok(Lookup::Miss(_))));
    }

    #[actix_web::test]
    async fn invalidate_drops_and_zero_ttl_stores_nothing() {
        let cache = Cache::<String>::local(100);
        assert_eq!(read_through(&cache, "k", "v1").await, "v1");
        assert_eq!(read_through(&cache, "k", "v2").await, "v1", "cached");
        cache.invalidate("k").await.expect("invalidate");
        assert_eq!(read_through(&cache, "k", "v2").await, "v2");

        let Lookup::Miss(ticket) = cache.lookup("z").await.expect("lookup") else {
            panic!("empty cache")
        };
        cache
            .fill(ticket, &"z".to_string(), Duration::ZERO)
            .await
            .expect("fill");
        assert!(matches!(cache.lookup("z").await, Ok(Lookup::Miss(_))));
    }

    /// The race the tickets exist for: a reader misses and reads the old value, a writer
    /// changes the source and invalidates, then the reader fills. The old value must not
    /// land.
    #[actix_web::test]
    async fn a_fill_that_lost_the_race_to_an_invalidation_is_dropped() {
        let cache = Cache::<String>::local(100);
        let Lookup::Miss(ticket) = cache.lookup("k").await.expect("lookup") else {
            panic!("empty cache")
        };
        cache.invalidate("k").await.expect("invalidate");
        cache
            .fill(ticket, &"old".to_string(), Duration::from_secs(60))
            .await
            .expect("fill");
        assert!(matches!(cache.lookup("k").await, Ok(Lookup::Miss(_))));
        assert_eq!(read_through(&cache, "k", "new").await, "new");
    }
}
