//! Fan-out and presence, on one instance or many.
//!
//! - **Without `REDIS_URL`**: events go straight to this process's [`Hub`]; presence is the
//!   hub's own count of connections.
//! - **With `REDIS_URL`**: every event is `PUBLISH`ed on one channel that every instance
//!   subscribes to, and each instance hands what arrives to its own hub — so a member on
//!   instance B sees a message sent on instance A. Presence lives in Redis: per room, a
//!   sorted set of `user\ninstance\nname` scored by when that entry expires. Each instance
//!   refreshes its entries three times per [`PRESENCE_TTL`] (every 20 s); an instance that
//!   dies stops refreshing, its entries expire, and the next sweep (any instance) removes them
//!   and announces those users offline. The Lua scripts make "first connection anywhere" and
//!   "last one gone" atomic, so exactly one instance announces each change.
//! - **Nothing is lost when Redis drops a connection.** An event Redis did not take is handed to
//!   this instance's members at once and published again, in order, once Redis answers
//!   ([`Fanout::publish`]; typing notices and read receipts are not: late, they mean nothing).
//!   Events are numbered per instance, and a copy that reached Redis twice (the first attempt
//!   only timed out) is dropped by the subscribers. Every instance checks twice a second that
//!   each of its rooms has delivered what the database had committed half a second earlier,
//!   reading the rest itself ([`Hub::catch_up`]) — so a message reaches every member within
//!   about a second even if its publish never does (the sender died, the queue overflowed).
//!   An instance whose own subscription was down re-reads, once subscribed again, the
//!   messages and the edits and deletions of that time (`Fanout::resend_changes`): pub/sub
//!   keeps nothing for a subscriber that is away.
//! - **On one instance**, a user's connections in a room change presence one at a time
//!   ([`Fanout::presence_lock`]): the hub's count and the announcement (and Redis) move
//!   together, so a leave and a rejoin cannot cross and leave the user shown offline.

use std::sync::Arc;
use std::time::Duration;

use backend_kit::db::{Database, DbError};
use backend_kit::redis::Redis;
use futures_util::StreamExt;

use crate::domain::UserKey;
use crate::hub::{Event, Hub, Order};
use crate::protocol::{ServerFrame, Status};

/// How long a presence entry lives without a heartbeat (`PRESENCE_TTL_SECS`, 60); the
/// heartbeat runs three times in that time.
pub const PRESENCE_TTL: Duration = Duration::from_secs(60);

pub struct Fanout {
    hub: Arc<Hub>,
    shared: Option<Shared>,
    ttl: Duration,
    /// Striped by (room, user): see [`Fanout::presence_lock`].
    presence_locks: Box<[tokio::sync::Mutex<()>]>,
}

/// How many presence locks: enough that unrelated users rarely wait for each other (a lock
/// is held for two Redis round trips), few enough to cost nothing (~40 KiB).
const PRESENCE_LOCKS: usize = 1024;

struct Shared {
    redis: Redis,
    channel: String,
    instance: String,
    /// Events Redis did not take, oldest first, to publish again (see [`Retry`]).
    retry: std::sync::Mutex<Retry>,
    /// Numbers this instance's events (see `Event::id`).
    next_id: std::sync::atomic::AtomicU64,
    /// Where the tail check reads each room's last `seq`.
    db: Database,
}

/// Events kept for publishing again: at most [`RETRY_EVENTS`] and [`RETRY_BYTES`]; past
/// either the oldest go (their messages still arrive through the tail check). Each has a
/// number of its own in the queue, so what was sent is taken off exactly.
#[derive(Default)]
struct Retry {
    events: std::collections::VecDeque<(u64, Event)>,
    bytes: usize,
    pushed: u64,
}

const RETRY_EVENTS: usize = 10_000;
const RETRY_BYTES: usize = 8 * 1024 * 1024;

impl Retry {
    fn push(&mut self, event: Event) {
        self.pushed += 1;
        self.bytes += event.frame.len();
        self.events.push_back((self.pushed, event));
        while self.events.len() > RETRY_EVENTS || self.bytes > RETRY_BYTES {
            self.pop();
        }
    }

    fn pop(&mut self) {
        if let Some((_, event)) = self.events.pop_front() {
            self.bytes -= event.frame.len();
        }
    }
}

/// How often events Redis did not take are tried again, and how often each room's tail is
/// checked against the database.
const RETRY_EVERY: Duration = Duration::from_millis(250);
const TAIL_CHECK_EVERY: Duration = Duration::from_millis(500);

const JOIN: &str = r"
redis.call('SADD', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
local n = 0
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')) do
  if string.sub(m, 1, #ARGV[4]) == ARGV[4] then n = n + 1 end
end
return n";

const LEAVE: &str = r"
if redis.call('ZREM', KEYS[1], ARGV[2]) == 0 then return -1 end
local n = 0
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')) do
  if string.sub(m, 1, #ARGV[3]) == ARGV[3] then n = n + 1 end
end
return n";

const SWEEP: &str = r"
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
if #gone == 0 then return {} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
local live = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')
local result = {}
for _, m in ipairs(gone) do
  local prefix = string.match(m, '^[^\n]*\n')
  local still = false
  for _, l in ipairs(live) do
    if string.sub(l, 1, #prefix) == prefix then still = true break end
  end
  if not still then table.insert(result, m) end
end
return result";

impl Shared {
    fn retry_queue(&self) -> std::sync::MutexGuard<'_, Retry> {
        self.retry.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The event numbers lately received from each instance: a copy published twice is dropped.
/// Numbers are checked one by one, not as "at most the last": two tasks of one instance may
/// publish out of their numbers' order.
#[derive(Default)]
struct Received(std::collections::HashMap<String, RecentIds>);

#[derive(Default)]
struct RecentIds {
    order: std::collections::VecDeque<u64>,
    seen: std::collections::HashSet<u64>,
}

impl Received {
    /// How many numbers are remembered per instance, and how many instances.
    const PER_INSTANCE: usize = 65_536;
    const INSTANCES: usize = 256;

    /// `true` the first time `(from, id)` is seen.
    fn first(&mut self, from: &str, id: u64) -> bool {
        if from.is_empty() {
            return true; // an event from before events were numbered
        }
        if !self.0.contains_key(from) && self.0.len() >= Self::INSTANCES {
            self.0.clear(); // instances come and go; the ones still here start over
        }
        let recent = self.0.entry(from.to_string()).or_default();
        if !recent.seen.insert(id) {
            return false;
        }
        recent.order.push_back(id);
        if recent.order.len() > Self::PER_INSTANCE
            && let Some(old) = recent.order.pop_front()
        {
            recent.seen.remove(&old);
        }
        true
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Fanout {
    pub fn new(hub: Arc<Hub>, redis: Option<Redis>, db: Database, ttl: Duration) -> Arc<Self> {
        let shared = redis.map(|redis| Shared {
            channel: redis.key("chat:events"),
            instance: backend_kit::auth::opaque::new_token()[..12].to_string(),
            redis,
            retry: Default::default(),
            next_id: Default::default(),
            db,
        });
        let presence_locks = (0..PRESENCE_LOCKS)
            .map(|_| tokio::sync::Mutex::new(()))
            .collect();
        Arc::new(Self {
            hub,
            shared,
            ttl,
            presence_locks,
        })
    }

    fn expiry_ms(&self) -> i64 {
        now_ms() + self.ttl.as_millis() as i64
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Held while a connection joins or leaves `room`: from the hub's change through the
    /// Redis script and the announcement. Without it, the user's last connection leaving and
    /// another one joining could reach Redis in the opposite order, and the user would stay
    /// shown offline while connected.
    pub async fn presence_lock(
        &self,
        room: &str,
        user: &UserKey,
    ) -> tokio::sync::MutexGuard<'_, ()> {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one((room, user.as_str()));
        self.presence_locks[hash as usize % PRESENCE_LOCKS]
            .lock()
            .await
    }

    /// Sends `event` to the room's members on every instance. If Redis cannot take it (down,
    /// or the first command after a dropped connection), this instance's members get it at
    /// once and — unless it is a typing notice or read receipt — it is queued to be published
    /// again for the others, in order.
    pub async fn publish(&self, mut event: Event) {
        let Some(shared) = &self.shared else {
            return self.hub.broadcast(event);
        };
        event.from = shared.instance.clone();
        event.id = shared
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Behind events still waiting: sent now, this one would overtake them.
        let backlog = !shared.retry_queue().events.is_empty();
        if backlog || !Self::send(shared, &[&event]).await {
            let mut waiting = (!event.ephemeral).then(|| event.clone());
            self.hub.broadcast(event);
            if let Some(mut waiting) = waiting.take() {
                waiting.dispatched_by = Some(shared.instance.clone());
                let mut queue = shared.retry_queue();
                if queue.events.is_empty() {
                    tracing::warn!(
                        "Redis did not take an event: delivered here, queued for the other instances"
                    );
                }
                queue.push(waiting);
            }
        }
    }

    /// Publishes `events` in one round trip; `false` if Redis did not take them (or might not
    /// have: a time-out; subscribers drop a copy that arrives twice).
    async fn send(shared: &Shared, events: &[&Event]) -> bool {
        let mut pipe = redis::pipe();
        for event in events {
            let payload = serde_json::to_string(event).expect("events serialize");
            pipe.cmd("PUBLISH")
                .arg(&shared.channel)
                .arg(payload)
                .ignore();
        }
        let sent = shared
            .redis
            .run(|mut conn| async move { pipe.query_async::<()>(&mut conn).await })
            .await;
        matches!(sent, Some(Ok(())))
    }

    /// Publishes the events Redis did not take, in order, until the queue is empty or Redis
    /// fails again.
    async fn retry_publishing(&self) {
        let Some(shared) = &self.shared else {
            return;
        };
        let mut published = 0;
        loop {
            let waiting: Vec<(u64, Event)> = shared
                .retry_queue()
                .events
                .iter()
                .take(500)
                .cloned()
                .collect();
            let Some(&(last, _)) = waiting.last() else {
                break;
            };
            let events: Vec<&Event> = waiting.iter().map(|(_, e)| e).collect();
            if !Self::send(shared, &events).await {
                break;
            }
            published += waiting.len();
            // By number: the oldest may have been dropped meanwhile (a full queue).
            let mut queue = shared.retry_queue();
            while queue.events.front().is_some_and(|(n, _)| *n <= last) {
                queue.pop();
            }
        }
        if published > 0 {
            tracing::info!(events = published, "events Redis missed are published");
        }
    }

    /// After this instance's subscription was down since `since`: the edits and deletions it
    /// may have missed, read from the database and told to its members again (an edit told
    /// twice shows the same text).
    async fn resend_changes(&self, since: chrono::NaiveDateTime) {
        let Some(shared) = &self.shared else {
            return;
        };
        for room in self.hub.rooms() {
            let name = room.clone();
            let changed = shared
                .db
                .run(move |conn| {
                    crate::db::messages::changed_since(conn, &name, since).map_err(DbError::from)
                })
                .await;
            let changed = match changed {
                Ok(changed) => changed,
                Err(e) => {
                    tracing::warn!(room, "cannot read the changes missed: {e}");
                    continue;
                }
            };
            for message in &changed {
                let frame = match message.deleted_at {
                    Some(_) => ServerFrame::Deleted {
                        room: &room,
                        seq: message.seq,
                    },
                    None => ServerFrame::Edited(crate::protocol::MessageView::new(&room, message)),
                };
                self.hub
                    .broadcast(Event::new(&room, Order::After(message.seq), &frame, None));
            }
        }
    }

    /// The tail check: each room with members here against its last `seq` in the database.
    async fn check_tails(&self) {
        let Some(shared) = &self.shared else {
            return;
        };
        let rooms = self.hub.rooms();
        if rooms.is_empty() {
            return;
        }
        let latest = shared
            .db
            .run(move |conn| crate::db::rooms::last_seqs(conn, &rooms).map_err(DbError::from))
            .await;
        match latest {
            Ok(latest) => self.hub.catch_up(&latest),
            Err(e) => tracing::warn!("tail check: cannot read the rooms: {e}"),
        }
    }

    /// Announces `status` of a user in a room to its members (everywhere) — but not to the
    /// user: they know they joined (from `joined`).
    pub async fn announce(&self, room: &str, user: &UserKey, name: &str, status: Status) {
        let frame = ServerFrame::Presence {
            room,
            name,
            user_id: user.as_str(),
            status,
        };
        self.publish(Event::new(room, Order::Now, &frame, Some(user)))
            .await;
    }

    fn member(shared: &Shared, user: &UserKey, name: &str) -> String {
        format!("{}\n{}\n{name}", user.as_str(), shared.instance)
    }

    /// The user's first connection in the room here joined: `true` when it is their first
    /// anywhere (announce them online).
    pub async fn joined(&self, room: &str, user: &UserKey, name: &str) -> bool {
        let Some(shared) = &self.shared else {
            return true;
        };
        let script = redis::Script::new(JOIN);
        let mut invocation = script.prepare_invoke();
        invocation
            .key(shared.redis.key(&format!("chat:presence:{room}")))
            .key(shared.redis.key("chat:presence-rooms"))
            .arg(now_ms())
            .arg(self.expiry_ms())
            .arg(Self::member(shared, user, name))
            .arg(format!("{}\n", user.as_str()))
            .arg(room);
        let count = shared
            .redis
            .run(|mut conn| async move { invocation.invoke_async::<i64>(&mut conn).await })
            .await;
        match count {
            Some(Ok(n)) => n == 1,
            _ => true,
        }
    }

    /// The user's last connection in the room here left: `true` when they have none left
    /// anywhere (announce them offline).
    pub async fn left(&self, room: &str, user: &UserKey, name: &str) -> bool {
        let Some(shared) = &self.shared else {
            return true;
        };
        let script = redis::Script::new(LEAVE);
        let mut invocation = script.prepare_invoke();
        invocation
            .key(shared.redis.key(&format!("chat:presence:{room}")))
            .arg(now_ms())
            .arg(Self::member(shared, user, name))
            .arg(format!("{}\n", user.as_str()));
        let count = shared
            .redis
            .run(|mut conn| async move { invocation.invoke_async::<i64>(&mut conn).await })
            .await;
        match count {
            Some(Ok(n)) => n == 0,
            _ => true,
        }
    }

    /// The names of the users online in `room` (one per user, however many connections).
    pub async fn online(&self, room: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .online_in(&[room.to_string()])
            .await
            .pop()
            .unwrap_or_default()
            .into_iter()
            .map(|(_, name)| name)
            .collect();
        names.sort();
        names
    }

    /// How many users are online in each of `rooms`.
    pub async fn online_counts(&self, rooms: &[String]) -> Vec<usize> {
        self.online_in(rooms).await.iter().map(Vec::len).collect()
    }

    /// The users online in each of `rooms`, one entry per user: from Redis in one round trip
    /// (a pipeline), or this hub's own count without Redis (or while it is down).
    async fn online_in(&self, rooms: &[String]) -> Vec<Vec<(UserKey, String)>> {
        let from_redis = match &self.shared {
            None => None,
            Some(shared) => {
                let mut pipe = redis::pipe();
                let now = now_ms();
                for room in rooms {
                    pipe.cmd("ZRANGEBYSCORE")
                        .arg(shared.redis.key(&format!("chat:presence:{room}")))
                        .arg(now)
                        .arg("+inf");
                }
                let members =
                    shared
                        .redis
                        .run(|mut conn| async move {
                            pipe.query_async::<Vec<Vec<String>>>(&mut conn).await
                        })
                        .await;
                match members {
                    Some(Ok(members)) if members.len() == rooms.len() => Some(
                        members
                            .iter()
                            .map(|m| m.iter().filter_map(|m| parse_member(m)).collect())
                            .collect::<Vec<Vec<_>>>(),
                    ),
                    _ => None,
                }
            }
        };
        let mut found =
            from_redis.unwrap_or_else(|| rooms.iter().map(|r| self.hub.users_in(r)).collect());
        for users in &mut found {
            users.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
            users.dedup_by(|a, b| a.0 == b.0);
        }
        found
    }

    /// Typing notices: at most one a second per user and room, across every instance.
    pub async fn may_type(&self, room: &str, user: &UserKey) -> bool {
        self.hub.may_type(room, user) && self.claim_second("typing", room, user).await
    }

    /// Read receipts are told at most once a second per user and room, across every instance.
    pub async fn may_announce_read(&self, room: &str, user: &UserKey) -> bool {
        self.hub.may_announce_read(room, user) && self.claim_second("read", room, user).await
    }

    /// With Redis, the one-second slot for `what` of `user` in `room` is claimed with
    /// `SET … NX PX 1000`: a user connected to two instances gets one slot, not two. This
    /// instance's own clock has already turned a flood from one socket away without asking
    /// Redis. Redis down: the local limit is all there is.
    async fn claim_second(&self, what: &str, room: &str, user: &UserKey) -> bool {
        let Some(shared) = &self.shared else {
            return true;
        };
        let key = shared
            .redis
            .key(&format!("chat:{what}:{room}:{}", user.as_str()));
        let claimed = shared
            .redis
            .run(|mut conn| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(1)
                    .arg("NX")
                    .arg("PX")
                    .arg(1000)
                    .query_async::<Option<String>>(&mut conn)
                    .await
            })
            .await;
        !matches!(claimed, Some(Ok(None)))
    }

    /// Whether `user` has an open connection on any instance.
    pub async fn is_connected(&self, user: &UserKey) -> bool {
        if self.hub.is_connected(user) {
            return true;
        }
        let Some(shared) = &self.shared else {
            return false;
        };
        let key = shared.redis.key(&format!("chat:user:{}", user.as_str()));
        let live = shared
            .redis
            .run(|mut conn| async move {
                redis::cmd("ZCOUNT")
                    .arg(key)
                    .arg(now_ms())
                    .arg("+inf")
                    .query_async::<i64>(&mut conn)
                    .await
            })
            .await;
        // Redis down: assume connected (no mail) rather than mail someone who is reading.
        !matches!(live, Some(Ok(0)))
    }

    /// Marks `user` connected here (first local connection) or not (last one closed).
    pub async fn connection_changed(&self, user: &UserKey, connected: bool) {
        let Some(shared) = &self.shared else {
            return;
        };
        let key = shared.redis.key(&format!("chat:user:{}", user.as_str()));
        let instance = shared.instance.clone();
        let _ = shared
            .redis
            .run(|mut conn| async move {
                let mut pipe = redis::pipe();
                if connected {
                    pipe.cmd("ZADD")
                        .arg(&key)
                        .arg(self.expiry_ms())
                        .arg(instance);
                    pipe.cmd("PEXPIRE")
                        .arg(&key)
                        .arg(self.ttl.as_millis() as i64);
                } else {
                    pipe.cmd("ZREM").arg(&key).arg(instance);
                }
                pipe.query_async::<()>(&mut conn).await
            })
            .await;
    }

    /// With Redis: the subscriber (events from every instance into this hub) and the
    /// presence heartbeat. Without: nothing to run.
    pub fn start(self: &Arc<Self>) {
        if self.shared.is_none() {
            return;
        }
        let fanout = Arc::clone(self);
        actix_web::rt::spawn(async move { fanout.subscribe().await });
        let fanout = Arc::clone(self);
        actix_web::rt::spawn(async move {
            let mut tick = tokio::time::interval(fanout.ttl / 3);
            loop {
                tick.tick().await;
                fanout.heartbeat().await;
            }
        });
        let fanout = Arc::clone(self);
        actix_web::rt::spawn(async move {
            let mut tick = tokio::time::interval(RETRY_EVERY);
            loop {
                tick.tick().await;
                fanout.retry_publishing().await;
            }
        });
        let fanout = Arc::clone(self);
        actix_web::rt::spawn(async move {
            let mut tick = tokio::time::interval(TAIL_CHECK_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                fanout.check_tails().await;
            }
        });
    }

    async fn subscribe(&self) {
        let shared = self.shared.as_ref().expect("only started with Redis");
        let mut backoff = Duration::from_millis(100);
        let mut received = Received::default();
        // When the subscription was lost (with a margin for commits under way then).
        let mut lost_at: Option<chrono::NaiveDateTime> = None;
        loop {
            match shared.redis.pubsub().await {
                Ok(mut pubsub) => {
                    if let Err(e) = pubsub.subscribe(&shared.channel).await {
                        tracing::warn!("could not subscribe to chat events: {e}");
                    } else {
                        if let Some(since) = lost_at.take() {
                            // Events published while we were away are gone (pub/sub keeps
                            // nothing): each room re-reads the messages it has not delivered,
                            // and the edits and deletions made since.
                            tracing::info!("chat events: subscribed again");
                            for room in self.hub.rooms() {
                                self.hub.fill(room).await;
                            }
                            self.resend_changes(since).await;
                        }
                        backoff = Duration::from_millis(100);
                        let mut messages = pubsub.on_message();
                        while let Some(msg) = messages.next().await {
                            let Ok(payload) = msg.get_payload::<String>() else {
                                continue;
                            };
                            match serde_json::from_str::<Event>(&payload) {
                                // A copy that reached Redis twice.
                                Ok(event) if !received.first(&event.from, event.id) => {}
                                // Published again after a failure: its sender's members have it.
                                Ok(event)
                                    if event.dispatched_by.as_deref()
                                        == Some(shared.instance.as_str()) => {}
                                Ok(event) => self.hub.broadcast(event),
                                Err(e) => tracing::warn!("unreadable chat event: {e}"),
                            }
                        }
                        tracing::warn!("chat events: the Redis subscription ended");
                    }
                }
                Err(e) => tracing::warn!("chat events: cannot reach Redis: {e}"),
            }
            let margin = chrono::Duration::seconds(2);
            lost_at.get_or_insert(backend_kit::time::now() - margin);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    /// Refreshes this instance's presence entries, then sweeps expired ones (a dead
    /// instance's) and announces the users that left with them.
    pub async fn heartbeat(&self) {
        let Some(shared) = &self.shared else {
            return;
        };
        let (present, connected) = self.hub.snapshot();
        let mut pipe = redis::pipe();
        let expiry = self.expiry_ms();
        for (room, user, name) in &present {
            // XX: only refresh. A user who left since the snapshot stays removed.
            pipe.cmd("ZADD")
                .arg(shared.redis.key(&format!("chat:presence:{room}")))
                .arg("XX")
                .arg(expiry)
                .arg(Self::member(shared, user, name))
                .ignore();
        }
        for user in &connected {
            let key = shared.redis.key(&format!("chat:user:{}", user.as_str()));
            pipe.cmd("ZADD")
                .arg(&key)
                .arg(expiry)
                .arg(&shared.instance)
                .ignore();
            pipe.cmd("PEXPIRE")
                .arg(&key)
                .arg(self.ttl.as_millis() as i64)
                .ignore();
        }
        let rooms_key = shared.redis.key("chat:presence-rooms");
        pipe.cmd("SMEMBERS").arg(&rooms_key);
        let rooms = shared
            .redis
            .run(|mut conn| async move { pipe.query_async::<(Vec<String>,)>(&mut conn).await })
            .await;
        let Some(Ok((rooms,))) = rooms else {
            return;
        };
        for room in rooms {
            let script = redis::Script::new(SWEEP);
            let mut invocation = script.prepare_invoke();
            invocation
                .key(shared.redis.key(&format!("chat:presence:{room}")))
                .arg(now_ms());
            let gone =
                shared
                    .redis
                    .run(|mut conn| async move {
                        invocation.invoke_async::<Vec<String>>(&mut conn).await
                    })
                    .await;
            let Some(Ok(gone)) = gone else { continue };
            let mut seen = Vec::new();
            for (user, name) in gone.iter().filter_map(|m| parse_member(m)) {
                if !seen.contains(&user) {
                    self.announce(&room, &user, &name, Status::Offline).await;
                    seen.push(user);
                }
            }
        }
    }
}

/// `user\ninstance\nname` → `(user, name)`.
fn parse_member(member: &str) -> Option<(UserKey, String)> {
    let mut parts = member.splitn(3, '\n');
    let user = parts.next()?;
    let _instance = parts.next()?;
    let name = parts.next()?;
    Some((UserKey::from_stored(user.to_string()), name.to_string()))
}
