//! The in-process store: a bounded map (moka, least recently used go first) of values with the
//! instant each stops being valid.
//!
//! Every key belongs to one of a few *stripes*, each with a generation counter that an
//! invalidation bumps. A miss notes its stripe's generation before the caller reads the
//! database; the fill is refused if the generation moved meanwhile (a change was written
//! and invalidated while the old value was being read), so a slow reader can never put back
//! what an invalidation just removed. Counter and entry change under the stripe's lock.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Values as they are (no encoding on a hit) and the instant they stop being valid.
pub(super) type Entries<V> = moka::sync::Cache<String, (V, Instant)>;

/// The entry for `key` if it has not expired; an expired one is dropped on the way (moka
/// bounds the size, the instants bound the age).
pub(super) fn fresh<V: Clone + Send + Sync + 'static>(
    entries: &Entries<V>,
    key: &str,
) -> Option<V> {
    match entries.get(key) {
        Some((value, valid_until)) if Instant::now() < valid_until => Some(value),
        Some(_) => {
            entries.invalidate(key);
            None
        }
        None => None,
    }
}

/// Few enough to be small, enough that unrelated keys rarely share one (a shared stripe only
/// costs a skipped fill).
const STRIPES: usize = 64;

pub(super) struct Local<V> {
    entries: Entries<V>,
    generations: Arc<[Mutex<u64>]>,
}

impl<V> Clone for Local<V> {
    fn clone(&self) -> Self {
        Self {
            entries: self.entries.clone(),
            generations: self.generations.clone(),
        }
    }
}

impl<V: Clone + Send + Sync + 'static> Local<V> {
    pub fn new(capacity: u64) -> Self {
        Self {
            entries: moka::sync::Cache::new(capacity),
            generations: (0..STRIPES).map(|_| Mutex::new(0)).collect(),
        }
    }

    pub fn get(&self, key: &str) -> Option<V> {
        fresh(&self.entries, key)
    }

    /// The generation a fill of `key` must still see.
    pub fn generation(&self, key: &str) -> u64 {
        *self.stripe(key)
    }

    /// Stores `value` unless `key` was invalidated since `generation` was read.
    pub fn fill(&self, key: &str, value: &V, ttl: Duration, generation: u64) {
        let stripe = self.stripe(key);
        if *stripe == generation {
            self.entries
                .insert(key.to_string(), (value.clone(), Instant::now() + ttl));
        }
    }

    pub fn invalidate(&self, key: &str) {
        let mut stripe = self.stripe(key);
        *stripe += 1;
        self.entries.invalidate(key);
    }

    fn stripe(&self, key: &str) -> std::sync::MutexGuard<'_, u64> {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        self.generations[hasher.finish() as usize % STRIPES]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
