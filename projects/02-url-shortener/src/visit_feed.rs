//! Where `WatchVisits` streams (gRPC) hear of visits as they are written. Without Redis, from
//! this process's visit writer. With Redis, every instance's writer publishes each batch it
//! wrote on one channel and every instance listens: behind a load balancer, a stream on one
//! instance sees the visits all of them recorded (the chat's fan-out works the same way).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use backend_kit::redis::Redis;
use futures_util::StreamExt;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::db::links::NewVisit;

/// The visits of one write, as they were written.
pub type WrittenBatch = Arc<[NewVisit]>;

/// Written batches kept for the slowest watcher (about a minute of batches): one behind by
/// more skips ahead.
const BACKLOG: usize = 256;

pub struct VisitFeed {
    written: broadcast::Sender<WrittenBatch>,
    redis: Option<Redis>,
    /// The task that hears other instances' batches (with Redis): stopped with the feed.
    listener: Mutex<Option<JoinHandle<()>>>,
}

impl VisitFeed {
    /// A feed for this process alone, or (with `redis`) for every instance sharing it.
    pub fn start(redis: Option<Redis>) -> Arc<Self> {
        let (written, _) = broadcast::channel(BACKLOG);
        let listener = redis
            .clone()
            .map(|redis| tokio::spawn(listen(redis, written.clone())));
        Arc::new(Self {
            written,
            redis,
            listener: Mutex::new(listener),
        })
    }

    /// Every batch written from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<WrittenBatch> {
        self.written.subscribe()
    }

    /// Tells the watchers of a batch this instance wrote: on Redis for every instance, or
    /// here only (also when Redis cannot be reached: the local ones still hear of it).
    pub async fn publish(&self, rows: Vec<NewVisit>) {
        if let Some(redis) = &self.redis
            && let Ok(payload) = serde_json::to_string(&rows)
        {
            let channel = channel(redis);
            let sent = redis
                .run(|mut conn| async move {
                    redis::cmd("PUBLISH")
                        .arg(channel)
                        .arg(payload)
                        .query_async::<i64>(&mut conn)
                        .await
                })
                .await;
            if matches!(sent, Some(Ok(_))) {
                return;
            }
        }
        // Nobody watching is not an error.
        let _ = self.written.send(rows.into());
    }
}

impl Drop for VisitFeed {
    fn drop(&mut self) {
        if let Some(listener) = self.listener.lock().ok().and_then(|mut l| l.take()) {
            listener.abort();
        }
    }
}

fn channel(redis: &Redis) -> String {
    redis.key("visits-written")
}

/// Subscribes to the instances' batches and hands them to this instance's watchers; on any
/// failure, subscribes again (a batch published meanwhile is missed by these streams, not
/// by the statistics).
async fn listen(redis: Redis, written: broadcast::Sender<WrittenBatch>) {
    let channel = channel(&redis);
    let mut delay = Duration::from_millis(100);
    loop {
        let subscribed = async {
            let mut pubsub = redis.pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match tokio::time::timeout(Duration::from_secs(5), subscribed).await {
            Ok(Ok(mut pubsub)) => {
                delay = Duration::from_millis(100);
                let mut messages = pubsub.on_message();
                while let Some(message) = messages.next().await {
                    // Decoded only when someone here is watching.
                    if written.receiver_count() == 0 {
                        continue;
                    }
                    let Ok(payload) = message.get_payload::<String>() else {
                        continue;
                    };
                    if let Ok(rows) = serde_json::from_str::<Vec<NewVisit>>(&payload) {
                        let _ = written.send(rows.into());
                    }
                }
                tracing::warn!("the visit feed's Redis channel closed; subscribing again");
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot subscribe to the visit feed"),
            Err(_) => tracing::warn!("subscribing to the visit feed timed out"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}
