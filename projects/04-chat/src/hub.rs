//! The hub: this instance's connections and the rooms they joined, and the one place frames
//! fan out to members.
//!
//! - **Serialize once.** A frame is encoded to a `ByteString` once per room; each member's
//!   queue gets a reference-counted clone of the same bytes.
//! - **Order.** Messages carry their room's `seq` (assigned by the database). They can reach
//!   this instance out of order (two senders commit 5 then 6, but 6 is published first), so
//!   each room has a *sequencer*: it hands members message `delivered + 1` only, holds later
//!   ones, and when a gap lasts [`GAP_WAIT`] (a sender died between commit and publish, or
//!   Redis dropped a message) reads the missing ones from the database.
//! - **Backpressure.** Each connection has a bounded queue (256 frames, 1 MiB). A member whose
//!   queue is full is not waited for: it is marked slow and its connection closes with
//!   `4008`. One slow reader never slows the room, and memory stays bounded.

use backend_kit::http::metrics::{Refresh, Registry, TotalCounter};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytestring::ByteString;
use tokio::sync::Notify;

use crate::domain::UserKey;

/// How long a room waits for a missing `seq` before reading it from the database.
pub const GAP_WAIT: Duration = Duration::from_millis(250);
/// A connection's outbound queue: past either bound, it is closed with `4008`.
pub const QUEUE_FRAMES: usize = 256;
pub const QUEUE_BYTES: usize = 1024 * 1024;

pub type ConnId = u64;

/// The most messages one gap fill reads; a bigger gap is read in several.
pub const FETCH_LIMIT: usize = 1_000;

/// Edits and deletions held for messages not delivered yet, per room; past it the oldest go
/// (the message, when it comes from the database, shows its edits already).
const AFTER_LIMIT: usize = 1_000;

/// A connection's outbound queue, as the hub sees it: frames are pushed, never waited for.
///
/// A plain `VecDeque` behind a mutex rather than a channel: a new connection's queue
/// allocates nothing until its first frame, and gives back what a burst made it grow (a
/// bounded channel allocates its first block of slots up front, and 5 000 idle connections
/// would pay for 5 000 of them).
#[derive(Clone)]
pub struct Outbound {
    state: Arc<QueueState>,
}

/// What the connection's task shares with everyone who pushes to it.
pub struct QueueState {
    frames: Mutex<VecDeque<ByteString>>,
    /// Bytes pushed and not yet taken by the WebSocket session (queued, or in the batch
    /// the task is writing).
    bytes: AtomicUsize,
    overflowed: AtomicBool,
    /// The connection is closing: nothing more is queued.
    closed: AtomicBool,
    /// Wakes the connection's task: a frame was queued.
    ready: Notify,
    /// Wakes the connection's task to close (overflow, or shutdown).
    pub wake: Notify,
}

impl QueueState {
    pub fn overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Acquire)
    }

    /// The WebSocket session took a frame of `len` bytes.
    pub fn sent(&self, len: usize) {
        self.bytes.fetch_sub(len, Ordering::AcqRel);
    }

    /// The connection is closing: what is queued is dropped and nothing more is taken, while
    /// it leaves its rooms.
    pub fn shut(&self) {
        let mut frames = self.frames();
        self.closed.store(true, Ordering::Release);
        *frames = VecDeque::new();
    }

    fn frames(&self) -> std::sync::MutexGuard<'_, VecDeque<ByteString>> {
        self.frames.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for queued frames and takes up to `max` of them.
    pub async fn next_batch(&self, max: usize) -> Vec<ByteString> {
        loop {
            {
                let mut frames = self.frames();
                if !frames.is_empty() {
                    let n = frames.len().min(max);
                    let batch = frames.drain(..n).collect();
                    // A burst grew the queue: give the memory back rather than keep it for
                    // the connection's life (up to 256 slots).
                    if frames.is_empty() && frames.capacity() > 32 {
                        *frames = VecDeque::new();
                    }
                    return batch;
                }
            }
            // A push between the check and here left a permit: this returns at once.
            self.ready.notified().await;
        }
    }
}

/// A new connection's queue: the hub pushes into the [`Outbound`], the connection's task
/// takes batches from the state.
pub fn queue() -> Outbound {
    Outbound {
        state: Arc::new(QueueState {
            frames: Mutex::new(VecDeque::new()),
            bytes: AtomicUsize::new(0),
            overflowed: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            ready: Notify::new(),
            wake: Notify::new(),
        }),
    }
}

impl Outbound {
    /// Queues `frame` without waiting; a full queue marks the connection slow (it will be
    /// closed with 4008) and drops the frame.
    pub fn push(&self, frame: &ByteString) {
        let state = &*self.state;
        if state.overflowed() {
            return;
        }
        let queued = state.bytes.fetch_add(frame.len(), Ordering::AcqRel) + frame.len();
        let pushed = {
            let mut frames = state.frames();
            // Under the lock `shut` takes: nothing is queued after the queue was emptied.
            if state.closed.load(Ordering::Acquire) {
                return;
            }
            let room = frames.len() < QUEUE_FRAMES && queued <= QUEUE_BYTES;
            if room {
                frames.push_back(frame.clone());
            }
            room
        };
        if pushed {
            state.ready.notify_one();
        } else {
            state.overflowed.store(true, Ordering::Release);
            state.wake.notify_one();
        }
    }

    pub fn state(&self) -> &Arc<QueueState> {
        &self.state
    }
}

/// A frame on its way to a room's members.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Event {
    pub room: String,
    pub order: Order,
    pub frame: String,
    /// Not to this user's connections (their own typing notice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub except: Option<String>,
    /// The instance that already handed this event to its own members: set when an event
    /// Redis did not take is published again later (see `Fanout::publish`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatched_by: Option<String>,
    /// The publishing instance and its number for this event: an event published again
    /// after a failed attempt may reach Redis twice (the first attempt only timed out), and
    /// subscribers drop the second copy.
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub id: u64,
    /// A typing notice or read receipt: worth nothing late, so never published again.
    #[serde(skip)]
    pub ephemeral: bool,
}

impl Event {
    /// `frame` for `room`, serialized once (straight to the text that is published).
    pub fn new(
        room: &str,
        order: Order,
        frame: &crate::protocol::ServerFrame<'_>,
        except: Option<&UserKey>,
    ) -> Self {
        Self {
            room: room.to_string(),
            order,
            frame: serde_json::to_string(frame).expect("frames always serialize"),
            except: except.map(|user| user.as_str().to_string()),
            dispatched_by: None,
            from: String::new(),
            id: 0,
            ephemeral: false,
        }
    }

    /// Marks a typing notice or read receipt (see [`Event::ephemeral`]).
    pub fn ephemeral(mut self) -> Self {
        self.ephemeral = true;
        self
    }
}

#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub enum Order {
    /// A message: delivered in `seq` order, exactly once per member.
    Seq(i64),
    /// An edit or deletion of message `seq`: delivered once that message has been.
    After(i64),
    /// Presence, typing, read: delivered as it comes.
    Now,
}

struct Member {
    out: Outbound,
    user: UserKey,
    /// The highest `seq` this member has been given (replayed or live).
    cursor: i64,
}

#[derive(Default)]
struct Room {
    members: HashMap<ConnId, Member>,
    /// The highest `seq` handed to members in order.
    delivered: i64,
    /// Messages that came early, by `seq`.
    early: BTreeMap<i64, ByteString>,
    /// Edits of messages not delivered yet (at most [`AFTER_LIMIT`]).
    after: Vec<(i64, ByteString)>,
    /// A gap fill is scheduled.
    filling: bool,
    /// The room's last `seq` in the database at the previous tail check (see
    /// [`Hub::catch_up`]).
    tail_seen: i64,
    /// Local connections per user in this room, and the user's name.
    users: HashMap<UserKey, (String, usize)>,
    last_typing: HashMap<UserKey, Instant>,
    last_read: HashMap<UserKey, Instant>,
}

struct Connection {
    out: Outbound,
    user: UserKey,
}

#[derive(Default)]
struct State {
    rooms: HashMap<String, Room>,
    connections: HashMap<ConnId, Connection>,
    /// Open connections per user (for "is this user connected?": mentions).
    users: HashMap<UserKey, usize>,
}

/// What changed when a connection joined a room.
#[derive(Debug, Default)]
pub struct Joined {
    /// The user's first connection in this room on this instance.
    pub first_here: bool,
    /// This instance had no member in the room before: its sequencer starts now.
    pub new_room: bool,
    /// Messages the room delivered before this member was added that its replay did not
    /// cover: `(after, up_to)`. The connection sends them itself, before its queue.
    pub missed: Option<(i64, i64)>,
}

/// Reads messages `after < seq < before` of a room from the database (at most
/// [`FETCH_LIMIT`]), encoded as frames; `None` when the database could not be read.
pub type Fetch = Arc<
    dyn Fn(
            String,
            i64,
            i64,
        )
            -> std::pin::Pin<Box<dyn Future<Output = Option<Vec<(i64, ByteString)>>> + Send>>
        + Send
        + Sync,
>;

pub struct Hub {
    state: Mutex<State>,
    next_id: AtomicU64,
    /// Frames written to this instance's WebSockets (for `/metrics`).
    frames_sent: AtomicU64,
    fetch: Fetch,
    closing: AtomicBool,
}

impl Hub {
    pub fn new(fetch: Fetch) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State::default()),
            next_id: AtomicU64::new(1),
            frames_sent: AtomicU64::new(0),
            fetch,
            closing: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain maps behind, still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a connection; `None` once the server is shutting down.
    pub fn connect(&self, out: Outbound, user: UserKey) -> Option<ConnId> {
        if self.closing.load(Ordering::Acquire) {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut state = self.lock();
        *state.users.entry(user.clone()).or_default() += 1;
        state.connections.insert(id, Connection { out, user });
        Some(id)
    }

    /// Forgets a connection. Its task leaves its rooms first (telling presence); any
    /// membership left over is dropped here, so the hub never keeps a closed connection.
    pub fn disconnect(&self, id: ConnId) {
        let mut state = self.lock();
        let Some(conn) = state.connections.remove(&id) else {
            return;
        };
        if let Some(n) = state.users.get_mut(&conn.user) {
            *n -= 1;
            if *n == 0 {
                state.users.remove(&conn.user);
            }
        }
        let rooms: Vec<String> = state
            .rooms
            .iter()
            .filter(|(_, room)| room.members.contains_key(&id))
            .map(|(name, _)| name.clone())
            .collect();
        for room in rooms {
            leave_locked(&mut state, &room, id);
        }
    }

    /// Adds connection `id` to `room`, having been given every message up to `cursor`.
    pub fn join(&self, room: &str, id: ConnId, name: &str, cursor: i64) -> Joined {
        let mut state = self.lock();
        let Some(conn) = state.connections.get(&id) else {
            return Joined::default();
        };
        let (out, user) = (conn.out.clone(), conn.user.clone());
        let new_room = !state.rooms.contains_key(room);
        let entry = state.rooms.entry(room.to_string()).or_default();
        if new_room {
            entry.delivered = cursor;
        }
        let missed = (entry.delivered > cursor).then_some((cursor, entry.delivered));
        let cursor = cursor.max(entry.delivered);
        if entry.members.contains_key(&id) {
            return Joined::default();
        }
        entry.members.insert(
            id,
            Member {
                out,
                user: user.clone(),
                cursor,
            },
        );
        let count = &mut entry.users.entry(user).or_insert((name.to_string(), 0)).1;
        *count += 1;
        Joined {
            first_here: *count == 1,
            new_room,
            missed,
        }
    }

    /// Removes connection `id` from `room`; `true` when it was its user's last connection
    /// in the room here. `None`: it was not a member.
    pub fn leave(&self, room: &str, id: ConnId) -> Option<bool> {
        let mut state = self.lock();
        let member = state.rooms.get(room)?.members.contains_key(&id);
        member.then(|| leave_locked(&mut state, room, id))
    }

    pub fn is_member(&self, room: &str, id: ConnId) -> bool {
        self.lock()
            .rooms
            .get(room)
            .is_some_and(|r| r.members.contains_key(&id))
    }

    /// Whether `user` has an open connection on this instance.
    pub fn is_connected(&self, user: &UserKey) -> bool {
        self.lock().users.contains_key(user)
    }

    /// The users with a connection in `room` on this instance: `(key, name)`.
    pub fn users_in(&self, room: &str) -> Vec<(UserKey, String)> {
        self.lock().rooms.get(room).map_or_else(Vec::new, |r| {
            r.users
                .iter()
                .map(|(key, (name, _))| (key.clone(), name.clone()))
                .collect()
        })
    }

    /// Every `(room, user, name)` present here, and every connected user: what the presence
    /// heartbeat refreshes.
    pub fn snapshot(&self) -> (Vec<(String, UserKey, String)>, Vec<UserKey>) {
        let state = self.lock();
        let present = state
            .rooms
            .iter()
            .flat_map(|(room, r)| {
                r.users
                    .iter()
                    .map(|(key, (name, _))| (room.clone(), key.clone(), name.clone()))
            })
            .collect();
        (present, state.users.keys().cloned().collect())
    }

    /// Typing notices are dropped past one a second per user and room.
    pub fn may_type(&self, room: &str, user: &UserKey) -> bool {
        self.once_a_second(room, user, |r| &mut r.last_typing)
    }

    /// Read receipts are told to the room at most once a second per user.
    pub fn may_announce_read(&self, room: &str, user: &UserKey) -> bool {
        self.once_a_second(room, user, |r| &mut r.last_read)
    }

    fn once_a_second(
        &self,
        room: &str,
        user: &UserKey,
        last: impl FnOnce(&mut Room) -> &mut HashMap<UserKey, Instant>,
    ) -> bool {
        let mut state = self.lock();
        let Some(r) = state.rooms.get_mut(room) else {
            return false;
        };
        let last = last(r);
        let now = Instant::now();
        match last.get(user) {
            Some(at) if now.duration_since(*at) < Duration::from_secs(1) => false,
            _ => {
                last.insert(user.clone(), now);
                true
            }
        }
    }

    /// Hands an event to the room's members on this instance.
    pub fn broadcast(self: &Arc<Self>, event: Event) {
        let frame = ByteString::from(event.frame);
        let mut state = self.lock();
        let Some(room) = state.rooms.get_mut(&event.room) else {
            return; // nobody here is in that room
        };
        match event.order {
            Order::Now => {
                let except = event.except.as_deref();
                for member in room.members.values() {
                    if except != Some(member.user.as_str()) {
                        member.out.push(&frame);
                    }
                }
            }
            Order::After(seq) if seq <= room.delivered => {
                for member in room.members.values() {
                    member.out.push(&frame);
                }
            }
            Order::After(seq) => {
                if room.after.len() >= AFTER_LIMIT {
                    room.after.remove(0);
                }
                room.after.push((seq, frame));
                // An edit of a message not delivered yet proves the message exists: fetch it
                // rather than wait for the next message to reveal the gap.
                if !room.filling {
                    room.filling = true;
                    self.fill_later(event.room);
                }
            }
            Order::Seq(seq) => {
                if seq > room.delivered {
                    room.early.insert(seq, frame);
                    room.advance();
                }
                if !room.early.is_empty() && !room.filling {
                    room.filling = true;
                    self.fill_later(event.room);
                }
            }
        }
    }

    /// After [`GAP_WAIT`], reads whatever is still missing in `room` from the database.
    fn fill_later(self: &Arc<Self>, room: String) {
        let hub = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep(GAP_WAIT).await;
            hub.fill(room).await;
        });
    }

    /// Reads messages the room has not delivered (a gap, or everything after `delivered`
    /// when `to_end`), and delivers them in order.
    pub async fn fill(self: &Arc<Self>, room: String) {
        let range = {
            let mut state = self.lock();
            let Some(r) = state.rooms.get_mut(&room) else {
                return;
            };
            r.filling = false;
            let before = r.early.keys().next().copied().unwrap_or(i64::MAX);
            (r.delivered, before)
        };
        if range.1 == range.0 + 1 {
            return;
        }
        let found = (self.fetch)(room.clone(), range.0, range.1).await;
        let mut state = self.lock();
        let Some(r) = state.rooms.get_mut(&room) else {
            return;
        };
        // A failed or partial read proves nothing missing: try again, skip nothing.
        let complete = found.as_ref().is_some_and(|f| f.len() < FETCH_LIMIT);
        for (seq, frame) in found.unwrap_or_default() {
            if seq > r.delivered {
                r.early.entry(seq).or_insert(frame);
            }
        }
        r.advance();
        if complete && range.1 != i64::MAX && r.early.keys().next() == Some(&range.1) {
            // The database has every message below `range.1` that exists: numbers are given
            // back on rollback, so this only happens when rows were removed by hand.
            tracing::warn!(
                room,
                from = r.delivered + 1,
                to = range.1 - 1,
                "messages missing"
            );
            r.delivered = range.1 - 1;
            r.advance();
        }
        let more = !complete && range.1 == i64::MAX;
        if (!r.early.is_empty() || more) && !r.filling {
            r.filling = true;
            drop(state);
            self.fill_later(room);
        }
    }

    /// The tail check, with every room's last `seq` in the database: a room that has still
    /// not delivered what the *previous* check saw committed (a publish Redis never carried,
    /// and no later message to reveal the gap) reads it from the database now. Returns
    /// nothing; the fills run on their own tasks.
    pub fn catch_up(self: &Arc<Self>, latest: &[(String, i64)]) {
        let mut behind = Vec::new();
        {
            let mut state = self.lock();
            for (name, last_seq) in latest {
                let Some(room) = state.rooms.get_mut(name) else {
                    continue;
                };
                if room.delivered < room.tail_seen && !room.filling {
                    room.filling = true;
                    behind.push(name.clone());
                }
                room.tail_seen = room.tail_seen.max(*last_seq);
            }
        }
        for room in behind {
            let hub = Arc::clone(self);
            tokio::spawn(async move { hub.fill(room).await });
        }
    }

    /// Every open connection is told to close (server shutdown); no new ones are taken.
    pub fn close_all(&self) {
        self.closing.store(true, Ordering::Release);
        for conn in self.lock().connections.values() {
            conn.out.state.wake.notify_one();
        }
    }

    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    /// A connection wrote a frame to its socket.
    pub fn frame_sent(&self) {
        self.frames_sent.fetch_add(1, Ordering::Relaxed);
    }

    /// For `/metrics`: open connections on this instance, and frames written to them so far.
    pub fn counts(&self) -> (usize, u64) {
        let connections = self.lock().connections.len();
        (connections, self.frames_sent.load(Ordering::Relaxed))
    }
}

/// `chat_connections` and `chat_frames_sent_total`: this instance's WebSockets and what the
/// hub delivered through them, read from the hub before each scrape of `/metrics`.
pub struct HubMetrics {
    hub: Arc<Hub>,
    connections: prometheus_client::metrics::gauge::Gauge,
    frames: TotalCounter,
}

impl HubMetrics {
    pub fn register(hub: &Arc<Hub>, registry: &mut Registry) -> Self {
        let metrics = Self {
            hub: hub.clone(),
            connections: Default::default(),
            frames: TotalCounter::register(
                registry,
                "chat_frames_sent",
                "Frames (messages, presence, typing, …) written to WebSockets",
            ),
        };
        registry.register(
            "chat_connections",
            "Open WebSocket connections on this instance",
            metrics.connections.clone(),
        );
        metrics
    }
}

impl Refresh for HubMetrics {
    fn refresh(&self) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let (connections, frames) = self.hub.counts();
        self.connections.set(connections as i64);
        self.frames.follow(frames);
        Box::pin(std::future::ready(()))
    }
}

impl Room {
    /// Delivers held messages while the next one in order is there.
    fn advance(&mut self) {
        while let Some(frame) = self.early.remove(&(self.delivered + 1)) {
            self.delivered += 1;
            let seq = self.delivered;
            for member in self.members.values_mut() {
                if seq > member.cursor {
                    member.out.push(&frame);
                    member.cursor = seq;
                }
            }
        }
        // Skip anything at or below `delivered` that arrived twice.
        while let Some((&seq, _)) = self.early.first_key_value() {
            if seq > self.delivered {
                break;
            }
            self.early.pop_first();
        }
        if !self.after.is_empty() {
            let delivered = self.delivered;
            let (ready, waiting): (Vec<_>, Vec<_>) =
                self.after.drain(..).partition(|(seq, _)| *seq <= delivered);
            self.after = waiting;
            for (_, frame) in ready {
                for member in self.members.values() {
                    member.out.push(&frame);
                }
            }
        }
    }
}

/// Removes `id` from `room` (the lock is held); `true` when its user has no other
/// connection in the room here. An empty room is dropped.
fn leave_locked(state: &mut State, room: &str, id: ConnId) -> bool {
    let Some(r) = state.rooms.get_mut(room) else {
        return false;
    };
    let Some(member) = r.members.remove(&id) else {
        return false;
    };
    let mut last = false;
    if let Some((_, n)) = r.users.get_mut(&member.user) {
        *n -= 1;
        if *n == 0 {
            r.users.remove(&member.user);
            r.last_typing.remove(&member.user);
            r.last_read.remove(&member.user);
            last = true;
        }
    }
    if r.members.is_empty() {
        state.rooms.remove(room);
    }
    last
}

impl Hub {
    /// The rooms with members here.
    pub fn rooms(&self) -> Vec<String> {
        self.lock().rooms.keys().cloned().collect()
    }
}
