//! One WebSocket connection: a single task that reads the client's frames, writes what the
//! hub queued for it, pings, and closes with the right code.
//!
//! The loop ([`run`]) and the frame dispatcher (`Conn::dispatch`) are here; each command a
//! client sends has a file of its own: `join.rs`, `leave.rs`, `send.rs`, `change.rs` (edit and
//! delete), `typing.rs`, `read.rs`.
//!
//! Close codes: `1000` when the client closes, `1001` at server shutdown, `1003` for binary
//! frames, `1008` for sustained abuse of the rate limits, `1009` for frames over 64 KiB,
//! `4000` when no pong came within the timeout, `4008` when the client reads too slowly
//! and its queue filled.

mod change;
mod join;
mod leave;
mod read;
mod send;
mod typing;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_ws::{AggregatedMessage, CloseCode, CloseReason, ProtocolError, Session};
use backend_kit::db::DbError;

use super::limits::{Budget, ByteBudget, Verdict};
use super::{MAX_FRAME_BYTES, Realtime, Who};
use crate::db::messages::{self, Appended, Change, Sender};
use crate::domain::{ClientId, MessageText, RoomName, text::TextError};
use crate::hub::{self, ConnId, Event, Order};
use crate::protocol::{ClientFrame, ClientIdOnly, ErrorCode, MessageView, ServerFrame, Status};

/// Close code for a client that reads too slowly.
pub const SLOW_READER: u16 = 4008;
/// Close code for a client that stopped answering pings.
pub const NO_PONG: u16 = 4000;
/// Rooms one connection may be in at once.
pub const MAX_ROOMS: usize = 50;
/// Frames of any kind one connection may send per 10 s: ten per allowed send, at least 200.
fn frames_per_window(sends: u32) -> u32 {
    sends.saturating_mul(10).max(200)
}
/// Joins one connection may make per minute: enough to join its 50 rooms at once; a
/// join/leave loop (two presence frames to every member each time, and a replay) gets one a
/// second.
pub const JOINS_PER_MINUTE: u32 = 60;
/// Bytes of replayed messages one connection may be sent per minute; past it a join replays
/// the newest messages that fit and says `gap` for the rest (read them through history).
pub const REPLAY_BYTES_PER_MINUTE: usize = 2 * 1024 * 1024;
const MINUTE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct Settings {
    pub ping_interval: Duration,
    pub pong_timeout: Duration,
    pub sends_per_window: u32,
}

struct Conn {
    realtime: Arc<Realtime>,
    who: Who,
    id: ConnId,
    session: Session,
    /// Its queue's state: a write that waits on a client that reads nothing must still end
    /// when the queue overflows or the server shuts down.
    queue: Arc<hub::QueueState>,
    write_deadline: Duration,
    rooms: HashSet<String>,
    /// Messages, edits and deletions: everything that reaches every member and the database.
    sends: Budget,
    frames: Budget,
    joins: Budget,
    replayed: ByteBudget,
}

/// Why the loop ended: a close code to send, or none (the client is gone or closed first).
type Ending = Option<CloseReason>;

fn close(code: impl Into<CloseCode>, why: &str) -> Ending {
    Some(CloseReason {
        code: code.into(),
        description: Some(why.to_string()),
    })
}

pub async fn run(
    realtime: Arc<Realtime>,
    who: Who,
    session: Session,
    stream: actix_ws::MessageStream,
) {
    let out = hub::queue();
    let hub = realtime.fanout.hub().clone();
    let Some(id) = hub.connect(out.clone(), who.key.clone()) else {
        let _ = session
            .close(close(CloseCode::Away, "server shutting down"))
            .await;
        return;
    };
    // Boxed, like every one-off step here: a future holds the state of its largest await,
    // and only the loop's should stay in memory for the connection's life.
    Box::pin(realtime.fanout.connection_changed(&who.key, true)).await;
    let mut stream = stream
        .max_frame_size(MAX_FRAME_BYTES)
        .aggregate_continuations()
        .max_continuation_size(MAX_FRAME_BYTES);
    let settings = realtime.settings.clone();
    let mut conn = Conn {
        queue: out.state().clone(),
        write_deadline: settings.pong_timeout,
        sends: Budget::new(settings.sends_per_window),
        frames: Budget::new(frames_per_window(settings.sends_per_window)),
        joins: Budget::per(JOINS_PER_MINUTE, MINUTE),
        replayed: ByteBudget::per(REPLAY_BYTES_PER_MINUTE, MINUTE),
        realtime,
        who,
        id,
        session,
        rooms: HashSet::new(),
    };
    let state = out.state().clone();
    let mut ping = tokio::time::interval(settings.ping_interval);
    ping.tick().await; // the first tick is immediate
    let mut last_heard = Instant::now();

    let ending: Ending = loop {
        tokio::select! {
            biased;
            () = state.wake.notified() => {
                if state.overflowed() {
                    break close(SLOW_READER, "too slow: outbound queue full");
                }
                if hub.is_closing() {
                    break close(CloseCode::Away, "server shutting down");
                }
            }
            batch = state.next_batch(32) => {
                // Everything already queued goes out together: one wake-up of this task for
                // a burst, not one per frame. Boxed: the write's state takes memory only
                // while a write is under way, not in every idle connection.
                let sent = Box::pin(write_batch(&mut conn.session, &state, batch, &hub)).await;
                if let Err(ending) = sent {
                    break ending;
                }
            }
            message = stream.recv() => {
                match message {
                    None => break None,
                    Some(Ok(AggregatedMessage::Text(text))) => {
                        last_heard = Instant::now();
                        // Boxed: the handler's state (a join's replay…) only takes memory
                        // while a frame is being handled, not in every idle connection.
                        if let Some(ending) = Box::pin(conn.handle(&text)).await {
                            break ending;
                        }
                    }
                    Some(Ok(AggregatedMessage::Binary(_))) => {
                        break close(CloseCode::Unsupported, "binary frames are not supported: send JSON text");
                    }
                    Some(Ok(AggregatedMessage::Ping(bytes))) => {
                        last_heard = Instant::now();
                        // Pings are frames too: a flood of them is answered like any other.
                        if matches!(conn.frames.take(), Verdict::Abuse) {
                            break close(CloseCode::Policy, "rate limits ignored");
                        }
                        if Box::pin(conn.session.pong(&bytes)).await.is_err() { break None }
                    }
                    Some(Ok(AggregatedMessage::Pong(_))) => last_heard = Instant::now(),
                    Some(Ok(AggregatedMessage::Close(_))) => break close(CloseCode::Normal, "bye"),
                    Some(Err(ProtocolError::Overflow)) => break too_big(),
                    Some(Err(ProtocolError::Io(e))) if super::frame_guard::is_too_big(&e) => {
                        break too_big();
                    }
                    Some(Err(e)) => {
                        tracing::debug!("WebSocket protocol error: {e}");
                        break close(CloseCode::Protocol, "protocol error");
                    }
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > settings.pong_timeout {
                    break close(NO_PONG, "no pong");
                }
                if Box::pin(conn.session.ping(b"")).await.is_err() { break None }
            }
        }
    };

    // Nothing more is queued for this socket, and the close frame goes out now, not after
    // the presence updates of every room it was in (one Redis round trip each).
    state.shut();
    let session = conn.session.clone();
    let close = async {
        // The close frame waits behind what the client has not read; a client that reads
        // nothing more does not keep this task (or its memory) for longer than this.
        let _ = tokio::time::timeout(Duration::from_secs(10), session.close(ending)).await;
    };
    Box::pin(async { tokio::join!(close, conn.leave_all()) }).await;
}

/// Writes `batch` to the socket, emptying it. A client that stops reading blocks the write;
/// the queue then fills, and the wake-up (overflow or shutdown) must still end it.
async fn write_batch(
    session: &mut Session,
    state: &hub::QueueState,
    batch: Vec<bytestring::ByteString>,
    hub: &hub::Hub,
) -> Result<(), Ending> {
    let write_all = async {
        for frame in batch {
            let len = frame.len();
            session.text(frame).await?;
            state.sent(len);
            hub.frame_sent();
        }
        Ok::<(), actix_ws::Closed>(())
    };
    tokio::select! {
        sent = write_all => sent.map_err(|_| None),
        () = state.wake.notified() => Err(if hub.is_closing() {
            close(CloseCode::Away, "server shutting down")
        } else {
            close(SLOW_READER, "too slow: outbound queue full")
        }),
    }
}

fn too_big() -> Ending {
    close(CloseCode::Size, "frame over 64 KiB")
}

impl Conn {
    /// Writes straight to the socket (replies, replays). A client that reads nothing blocks
    /// the write; it ends on overflow or shutdown (the queue's wake-up) or after the write
    /// deadline, whichever comes first.
    async fn write(&mut self, frame: &ServerFrame<'_>) -> Result<(), Stop> {
        self.write_text(frame.encode()).await
    }

    /// [`Conn::write`] of a frame already encoded.
    async fn write_text(&mut self, text: bytestring::ByteString) -> Result<(), Stop> {
        let hub = self.realtime.fanout.hub().clone();
        tokio::select! {
            sent = self.session.text(text) => sent.map_err(|_| Stop::Closed),
            () = self.queue.wake.notified() => Err(Stop::Close(if hub.is_closing() {
                close(CloseCode::Away, "server shutting down")
            } else {
                close(SLOW_READER, "too slow: outbound queue full")
            })),
            () = tokio::time::sleep(self.write_deadline) => {
                Err(Stop::Close(close(SLOW_READER, "too slow: a write waited too long")))
            }
        }
    }

    /// Handles one text frame; `Some` ends the connection.
    async fn handle(&mut self, text: &str) -> Option<Ending> {
        match self.dispatch(text).await {
            Ok(()) => None,
            Err(Stop::Closed) => Some(None),
            Err(Stop::Close(ending)) => Some(ending),
            Err(Stop::Failed(e)) => {
                tracing::error!("chat frame failed: {e}");
                let message = "the server could not handle this frame; try again";
                match self.reply_error(ErrorCode::BadFrame, message, None).await {
                    Ok(()) => None,
                    Err(Stop::Close(ending)) => Some(ending),
                    Err(_) => Some(None),
                }
            }
        }
    }

    async fn dispatch(&mut self, text: &str) -> Result<(), Stop> {
        // Counted before parsing: unreadable frames cost an error reply too.
        match self.frames.take() {
            Verdict::Allowed => {}
            Verdict::Refused => {
                return self
                    .reply_error(ErrorCode::RateLimited, "too many frames: slow down", None)
                    .await;
            }
            Verdict::Abuse => {
                return Err(Stop::Close(close(CloseCode::Policy, "rate limits ignored")));
            }
        }
        let frame = match serde_json::from_str::<ClientFrame>(text) {
            Ok(frame) => frame,
            Err(e) => {
                let client_id = serde_json::from_str::<ClientIdOnly>(text)
                    .ok()
                    .and_then(|f| f.client_id);
                let message = format!("unreadable frame: {e}");
                return self
                    .reply_error(ErrorCode::BadFrame, &message, client_id.as_deref())
                    .await;
            }
        };
        match frame {
            ClientFrame::Join { room, last_seq } => self.join(&room, last_seq).await,
            ClientFrame::Leave { room } => self.leave(&room).await,
            ClientFrame::Send {
                room,
                text,
                client_id,
            } => self.send(&room, text, client_id).await,
            ClientFrame::Edit { room, seq, text } => self.change(&room, seq, Some(text)).await,
            ClientFrame::Delete { room, seq } => self.change(&room, seq, None).await,
            ClientFrame::Typing { room } => self.typing(&room).await,
            ClientFrame::Read { room, seq } => self.read(&room, seq).await,
        }
    }

    /// The room a frame names, if this connection is in it; else the error is sent.
    async fn joined_room(
        &mut self,
        raw: &str,
        client_id: Option<&str>,
    ) -> Result<Option<RoomName>, Stop> {
        if self.rooms.contains(raw) {
            return Ok(RoomName::parse(raw).ok());
        }
        let message = format!("join room {raw:?} first");
        self.reply_error(ErrorCode::NotJoined, &message, client_id)
            .await?;
        Ok(None)
    }

    async fn reply_error(
        &mut self,
        code: ErrorCode,
        message: &str,
        client_id: Option<&str>,
    ) -> Result<(), Stop> {
        let frame = ServerFrame::Error {
            code,
            message,
            client_id,
        };
        self.write(&frame).await
    }
}

/// Why handling a frame stopped short.
enum Stop {
    /// The client is gone.
    Closed,
    /// Close the connection with this.
    Close(Ending),
    /// The database failed; the client gets an error frame.
    Failed(DbError),
}

impl From<actix_ws::Closed> for Stop {
    fn from(_: actix_ws::Closed) -> Self {
        Stop::Closed
    }
}

impl From<DbError> for Stop {
    fn from(e: DbError) -> Self {
        Stop::Failed(e)
    }
}
