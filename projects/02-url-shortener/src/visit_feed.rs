//! Where `WatchVisits` streams (gRPC) hear of visits as they are written. Every batch this
//! instance's visit writer wrote reaches this instance's streams at once. With Redis, it is
//! also published on one channel, tagged with this instance's id, and every instance listens
//! and hands the other instances' batches to its own streams: behind a load balancer, a
//! stream on one instance sees the visits all of them recorded (the chat's fan-out works the
//! same way). Redis being slow or away costs the streams the other instances' visits, never
//! the writer's time: publishing runs on a task of its own, behind a small queue.

use std::sync::Arc;
use std::time::Duration;

use backend_kit::redis::Redis;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

use crate::db::links::NewVisit;

/// The visits of one write, as they were written.
pub type WrittenBatch = Arc<[NewVisit]>;

/// Written batches kept for the slowest watcher (about a minute of one instance's batches):
/// one behind by more skips ahead.
const BACKLOG: usize = 256;
/// Rows per message on Redis: a batch of many distinct visits goes as several messages of at
/// most about 40 KB, so no single PUBLISH holds the connection the cache shares.
const ROWS_PER_MESSAGE: usize = 500;
/// Messages waiting to be published; past it a batch is not published (the other instances'
/// streams miss it, the statistics do not).
const PUBLISH_QUEUE: usize = 16;
/// How often the subscription is checked with a PING, and how long an answer may take: a
/// connection that died without a word is noticed and replaced.
const HEARTBEAT: Duration = Duration::from_secs(5);
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(2);

/// What goes on the channel: who wrote the rows, and the rows.
#[derive(Serialize, Deserialize)]
struct Message {
    from: u64,
    rows: Vec<NewVisit>,
}

pub struct VisitFeed {
    written: broadcast::Sender<WrittenBatch>,
    /// To the publishing task (with Redis).
    outbox: Option<mpsc::Sender<String>>,
    /// This instance's tag on the channel (random), so it skips its own messages.
    id: u64,
}

impl VisitFeed {
    /// A feed for this process alone, or (with `redis`) for every instance sharing it. The
    /// tasks it starts end when the feed is dropped.
    pub fn start(redis: Option<Redis>) -> Arc<Self> {
        let (written, _) = broadcast::channel(BACKLOG);
        let id = rand::random();
        let outbox = redis.map(|redis| {
            let (outbox, queue) = mpsc::channel(PUBLISH_QUEUE);
            tokio::spawn(publish(redis.clone(), queue));
            tokio::spawn(listen(redis, id, written.downgrade()));
            outbox
        });
        Arc::new(Self {
            written,
            outbox,
            id,
        })
    }

    /// Every batch written from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<WrittenBatch> {
        self.written.subscribe()
    }

    /// Tells the watchers of a batch this instance wrote: here at once, and (with Redis) the
    /// other instances through the publishing task. Never waits.
    pub fn announce(&self, rows: Vec<NewVisit>) {
        if let Some(outbox) = &self.outbox {
            for chunk in rows.chunks(ROWS_PER_MESSAGE) {
                let message = Message {
                    from: self.id,
                    rows: chunk.to_vec(),
                };
                if let Ok(payload) = serde_json::to_string(&message)
                    && outbox.try_send(payload).is_err()
                {
                    tracing::debug!("visit feed queue full: a batch is not published");
                }
            }
        }
        // Nobody watching is not an error.
        let _ = self.written.send(rows.into());
    }
}

fn channel(redis: &Redis) -> String {
    redis.key("visits-written")
}

/// Publishes what the writer announced, one message at a time, on a connection of its own
/// (a slow PUBLISH holds neither the writer nor the cache's connection, and cannot trip the
/// kit's Redis breaker). Ends when the feed is dropped.
async fn publish(redis: Redis, mut queue: mpsc::Receiver<String>) {
    let channel = channel(&redis);
    let mut connection = None;
    while let Some(payload) = queue.recv().await {
        if connection.is_none() {
            connection = tokio::time::timeout(HEARTBEAT_TIMEOUT, redis.dedicated_connection())
                .await
                .ok()
                .and_then(Result::ok);
        }
        let Some(conn) = connection.as_mut() else {
            continue;
        };
        let mut command = redis::cmd("PUBLISH");
        command.arg(&channel).arg(payload);
        let sent = command.query_async::<i64>(conn);
        if !matches!(
            tokio::time::timeout(HEARTBEAT_TIMEOUT, sent).await,
            Ok(Ok(_))
        ) {
            // Connect again for the next one.
            connection = None;
        }
    }
}

/// Subscribes to the instances' batches and hands the others' to this instance's watchers,
/// checking the subscription with a PING every [`HEARTBEAT`]; on any failure it subscribes
/// again (batches published meanwhile are missed by these streams, not by the statistics).
/// Ends when the feed is dropped.
async fn listen(redis: Redis, me: u64, written: broadcast::WeakSender<WrittenBatch>) {
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
                delay = Duration::from_millis(100);
                let (mut sink, mut messages) = pubsub.split();
                let mut heartbeat = tokio::time::interval(HEARTBEAT);
                heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let ended = loop {
                    tokio::select! {
                        message = messages.next() => {
                            let Some(message) = message else {
                                break "the visit feed's channel closed";
                            };
                            let Some(written) = written.upgrade() else {
                                return;
                            };
                            // Decoded only when someone here is watching.
                            if written.receiver_count() == 0 {
                                continue;
                            }
                            let Ok(payload) = message.get_payload::<String>() else {
                                continue;
                            };
                            match serde_json::from_str::<Message>(&payload) {
                                Ok(message) if message.from != me => {
                                    let _ = written.send(message.rows.into());
                                }
                                Ok(_) => {}
                                Err(e) => tracing::warn!(error = %e, "an unreadable visit feed message"),
                            }
                        }
                        _ = heartbeat.tick() => {
                            if written.upgrade().is_none() {
                                return;
                            }
                            let pong = tokio::time::timeout(HEARTBEAT_TIMEOUT, sink.ping::<redis::Value>());
                            if !matches!(pong.await, Ok(Ok(_))) {
                                break "the visit feed's channel stopped answering";
                            }
                        }
                    }
                };
                tracing::warn!("{ended}; subscribing again");
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot subscribe to the visit feed"),
            Err(_) => tracing::warn!("subscribing to the visit feed timed out"),
        }
        if written.upgrade().is_none() {
            return;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}
