//! The near cache in front of Redis and the listener that keeps it honest: each process keeps
//! an in-process copy of what it read from Redis, and drops it when any instance publishes an
//! invalidation. Copies are used only while the subscription is known to be alive — it answered
//! a heartbeat less than [`HEARTBEAT`] + [`HEARTBEAT_TIMEOUT`] ago — and Redis is not being
//! skipped by the breaker. A Redis that stalls (`kill -STOP`, a hung network) closes nothing:
//! without the heartbeat, an instance went on serving copies of deleted links for a minute.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::local::Entries;
use backend_kit::redis::Redis;

/// However long Redis keeps an entry, a near copy is re-read after this. It bounds the
/// harm of an invalidation lost on a connection that failed without either side noticing.
const MAX_AGE: Duration = Duration::from_secs(60);

/// How often the listener pings Redis on its subscription.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// A ping (or a subscription) not answered within this means the connection is gone, whether
/// or not it was closed.
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(1);

pub fn channel(redis: &Redis) -> String {
    redis.key("cache-invalidations")
}

pub struct Near<V> {
    entries: Entries<V>,
    shared: Arc<Shared>,
    /// Whose breaker says whether Redis is reachable at all.
    redis: Redis,
}

impl<V> Clone for Near<V> {
    fn clone(&self) -> Self {
        Self {
            entries: self.entries.clone(),
            shared: self.shared.clone(),
            redis: self.redis.clone(),
        }
    }
}

struct Shared {
    /// True while subscribed: only then are the near copies trusted.
    listening: AtomicBool,
    /// When Redis last answered on the subscription (milliseconds since `started`): copies
    /// are trusted for [`HEARTBEAT`] + [`HEARTBEAT_TIMEOUT`] after it, even if the listener
    /// itself is late to notice a stall.
    heard_at: AtomicU64,
    started: Instant,
    /// Counts invalidations heard; a Redis read that saw it change keeps no copy, since
    /// the value it read may be the one just invalidated.
    epoch: AtomicU64,
    /// The listener task; it stops when the last clone of the cache is dropped.
    listener: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Shared {
    fn since_start(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Redis answered on the subscription just now.
    fn heard(&self) {
        self.heard_at.store(self.since_start(), Ordering::Release);
    }
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
                heard_at: AtomicU64::new(0),
                started: Instant::now(),
                epoch: AtomicU64::new(0),
                listener: std::sync::Mutex::new(None),
            }),
            redis: redis.clone(),
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

    /// Whether copies may be used: subscribed, heard from within the heartbeat, and Redis not
    /// being skipped by this process's breaker (an instance that cannot reach Redis cannot
    /// hear invalidations either; the cost is that a Redis time-out anywhere in the process
    /// sends reads to the database until Redis answers again).
    fn trusted(&self) -> bool {
        let shared = &self.shared;
        let lease = (HEARTBEAT + HEARTBEAT_TIMEOUT).as_millis() as u64;
        shared.listening.load(Ordering::Acquire)
            && shared.since_start() < shared.heard_at.load(Ordering::Acquire) + lease
            && !self.redis.is_skipped()
    }

    pub fn get(&self, key: &str) -> Option<V> {
        if !self.trusted() {
            return None;
        }
        super::local::fresh(&self.entries, key)
    }

    pub fn epoch(&self) -> u64 {
        self.shared.epoch.load(Ordering::Acquire)
    }

    /// Keeps a copy of what Redis returned, unless an invalidation arrived since `epoch`.
    pub fn keep(&self, key: &str, value: &V, epoch: u64, ttl: Option<Duration>) {
        let ttl = ttl.unwrap_or(MAX_AGE).min(MAX_AGE);
        if self.trusted() && self.epoch() == epoch {
            self.entries
                .insert(key.to_string(), (value.clone(), Instant::now() + ttl));
            // An invalidation heard between the check and the insert: take the copy back.
            if self.epoch() != epoch {
                self.entries.invalidate(key);
            }
        }
    }

    pub fn forget(&self, key: &str) {
        self.shared.epoch.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate(key);
    }
}

/// Subscribes, forgets everything (it may have missed messages), then drops each key it
/// hears about, pinging Redis every [`HEARTBEAT`]. On any failure — an error, the stream's end,
/// a ping or a subscription not answered in [`HEARTBEAT_TIMEOUT`] — it stops trusting the
/// copies and subscribes again.
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
        match tokio::time::timeout(HEARTBEAT_TIMEOUT * 2, subscribed).await {
            Ok(Ok(pubsub)) => {
                let Some(state) = shared.upgrade() else {
                    return;
                };
                entries.invalidate_all();
                state.epoch.fetch_add(1, Ordering::AcqRel);
                state.heard();
                state.listening.store(true, Ordering::Release);
                drop(state);
                delay = Duration::from_millis(100);
                let (mut sink, mut messages) = pubsub.split();
                let mut heartbeat = tokio::time::interval(HEARTBEAT);
                heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let ended = loop {
                    tokio::select! {
                        message = messages.next() => {
                            let Some(message) = message else {
                                break "cache invalidation channel closed";
                            };
                            let Some(state) = shared.upgrade() else {
                                return;
                            };
                            state.epoch.fetch_add(1, Ordering::AcqRel);
                            state.heard();
                            if let Ok(key) = message.get_payload::<String>() {
                                entries.invalidate(&key);
                            }
                        }
                        _ = heartbeat.tick() => {
                            // In subscribed mode the answer is `["pong", ""]`: any answer will do.
                            let pong = tokio::time::timeout(
                                HEARTBEAT_TIMEOUT,
                                sink.ping::<redis::Value>(),
                            );
                            if !matches!(pong.await, Ok(Ok(_))) {
                                break "cache invalidation channel stopped answering";
                            }
                            let Some(state) = shared.upgrade() else {
                                return;
                            };
                            state.heard();
                        }
                    }
                };
                tracing::warn!("{ended}; near cache off until it is back");
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot subscribe to cache invalidations; near cache off")
            }
            Err(_) => {
                tracing::warn!("subscribing to cache invalidations timed out; near cache off")
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
