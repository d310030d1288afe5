//! The redirect cache: what `GET /{code}` needs to know of a link, by code. Cache-aside over
//! the kit's [`Cache`] (in process, or Redis when configured): a hit answers without the
//! database; a miss reads it and caches the answer — "no such code" too (negative caching),
//! so a flood of unknown codes does not become a flood of queries. Every write to a link
//! ends with [`LinkCache::invalidate`]; the kit's tickets make sure a read that raced the
//! write cannot put the old answer back.

use backend_kit::http::metrics::Registry;
use prometheus_client::metrics::counter::Counter;
use std::time::Duration;

use crate::cache::{Cache, Lookup};
use backend_kit::db::Database;
use chrono::{NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::links::{self, Link};
use crate::error::ApiError;

/// What the cache keeps per code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum CachedLink {
    Found {
        id: i64,
        url: String,
        status: u16,
        expires_at: Option<NaiveDateTime>,
        limited: bool,
        /// Needs a password: the redirect shows a form instead.
        protected: bool,
    },
    Missing,
}

impl From<&Link> for CachedLink {
    fn from(link: &Link) -> Self {
        CachedLink::Found {
            id: link.id,
            url: link.url.clone(),
            status: link.redirect_type.map(|s| s as u16).unwrap_or(302),
            expires_at: link.expires_at,
            limited: link.max_visits.is_some(),
            protected: link.password_hash.is_some(),
        }
    }
}

#[derive(Clone)]
pub struct LinkCache {
    cache: Cache<CachedLink>,
    /// How long a found link stays cached (never past its expiry); zero switches caching off.
    ttl: Duration,
    /// How long "no such code" stays cached.
    negative_ttl: Duration,
    /// Lookups answered by the cache, and those that went to the database (shared counters).
    hits: Counter,
    misses: Counter,
}

impl LinkCache {
    pub fn new(cache: Cache<CachedLink>, ttl: Duration, negative_ttl: Duration) -> Self {
        Self {
            cache,
            ttl,
            negative_ttl,
            hits: Counter::default(),
            misses: Counter::default(),
        }
    }

    /// `shortener_cache_hits_total` and `shortener_cache_misses_total`: the hit rate is what
    /// says whether `CACHE_TTL_SECS` and the cache's size suit the traffic.
    pub fn register_metrics(&self, registry: &mut Registry) {
        registry.register(
            "shortener_cache_hits",
            "Redirect lookups answered by the cache",
            self.hits.clone(),
        );
        registry.register(
            "shortener_cache_misses",
            "Redirect lookups that read the database (a miss, or the cache unavailable)",
            self.misses.clone(),
        );
    }

    /// The link behind `code`, from the cache or else from the database (then cached). A
    /// cache that fails is a miss: the database answers.
    pub async fn get(&self, db: &Database, code: &str) -> Result<CachedLink, ApiError> {
        let key = key(code);
        let ticket = match self.cache.lookup(&key).await {
            Ok(Lookup::Hit(hit)) => {
                self.hits.inc();
                return Ok(hit);
            }
            Ok(Lookup::Miss(ticket)) => Some(ticket),
            Err(e) => {
                tracing::warn!(error = %e, "cache unavailable, reading the database");
                None
            }
        };
        self.misses.inc();
        let owned = code.to_string();
        let link = db
            .run(move |conn| links::find(conn, &owned).map_err(ApiError::from))
            .await?;
        let (entry, ttl) = match &link {
            Some(link) => (CachedLink::from(link), self.ttl_of(link)),
            None => (CachedLink::Missing, self.negative_ttl),
        };
        if let Some(ticket) = ticket
            && let Err(e) = self.cache.fill(ticket, &entry, ttl).await
        {
            tracing::warn!(error = %e, "cache fill failed");
        }
        Ok(entry)
    }

    /// Drops `code` after its link changed (or was created: a miss may have cached "no such
    /// code"). When Redis cannot be reached the cache retries until it can, and reads the code
    /// from the database meanwhile; the failure is only logged.
    pub async fn invalidate(&self, code: &str) {
        if let Err(e) = self.cache.invalidate(&key(code)).await {
            tracing::warn!(error = %e, code, "cache invalidation failed; retrying in the background");
        }
    }

    /// [`LinkCache::invalidate`] for each code; one failure does not stop the others.
    pub async fn invalidate_all(&self, codes: impl IntoIterator<Item = impl AsRef<str>>) {
        for code in codes {
            self.invalidate(code.as_ref()).await;
        }
    }

    fn ttl_of(&self, link: &Link) -> Duration {
        // Never cache past the expiry time.
        match link.expires_at {
            Some(expires_at) => {
                let left = (expires_at - Utc::now().naive_utc())
                    .to_std()
                    .unwrap_or_default();
                self.ttl.min(left.max(Duration::from_millis(1)))
            }
            None => self.ttl,
        }
    }
}

fn key(code: &str) -> String {
    format!("link:{code}")
}
