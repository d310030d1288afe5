//! Messages: appending with a room-wide sequence number, replay after a reconnect, history
//! pages, edits, deletions and read positions.

use backend_kit::db::{AnyConnection, is_unique_violation, unless_taken, write_transaction};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{messages, read_positions, rooms};
use crate::domain::{ClientId, MessageText, RoomName, UserKey};

/// A stored message, as history and frames show it.
#[derive(Debug, Clone, Queryable)]
pub struct StoredMessage {
    pub seq: i64,
    pub user_key: String,
    pub name: String,
    pub text: String,
    pub client_id: Option<String>,
    pub sent_at: NaiveDateTime,
    pub edited_at: Option<NaiveDateTime>,
    pub deleted_at: Option<NaiveDateTime>,
}

const COLUMNS: (
    messages::seq,
    messages::user_key,
    messages::name,
    messages::text,
    messages::client_id,
    messages::sent_at,
    messages::edited_at,
    messages::deleted_at,
) = (
    messages::seq,
    messages::user_key,
    messages::name,
    messages::text,
    messages::client_id,
    messages::sent_at,
    messages::edited_at,
    messages::deleted_at,
);

/// Who sends, as stored with the message.
pub struct Sender<'a> {
    pub key: &'a UserKey,
    pub name: &'a str,
}

#[derive(Debug)]
pub enum Appended {
    /// Stored now, with the next `seq`: deliver it.
    New {
        room_id: i64,
        message: StoredMessage,
    },
    /// This `clientId` was sent before (a resend after a reconnect): acknowledge its `seq`
    /// again, deliver nothing.
    Repeat(StoredMessage),
    UnknownRoom,
}

/// Stores a message under the room's next `seq`: the `UPDATE … RETURNING` takes the number
/// and locks the room's row (PostgreSQL) or the database (SQLite) until the INSERT commits,
/// so concurrent senders get consecutive numbers, and a failed insert gives its number back.
///
/// A repeated `clientId` is caught by the unique index, not looked up first: the common case
/// (a new message) pays nothing for the rare one (a resend after a reconnect).
pub fn append(
    conn: &mut AnyConnection,
    room: &RoomName,
    sender: &Sender<'_>,
    text: &MessageText,
    client_id: Option<&ClientId>,
) -> QueryResult<Appended> {
    let message = StoredMessage {
        seq: 0,
        user_key: sender.key.as_str().to_string(),
        name: sender.name.to_string(),
        text: text.as_str().to_string(),
        client_id: client_id.map(|c| c.as_str().to_string()),
        sent_at: backend_kit::time::now(),
        edited_at: None,
        deleted_at: None,
    };
    let attempt = match conn {
        AnyConnection::Postgresql(pg) => append_in_one_statement(pg, room, &message),
        AnyConnection::Sqlite(_) => append_in_a_transaction(conn, room, &message),
    };
    match (attempt, client_id) {
        (Ok(Some((room_id, seq))), _) => Ok(Appended::New {
            room_id,
            message: StoredMessage { seq, ..message },
        }),
        (Ok(None), _) => Ok(Appended::UnknownRoom),
        // This clientId was stored before: its first copy is the answer.
        (Err(e), Some(client_id)) if is_unique_violation(&e) => {
            by_client_id(conn, room, sender.key, client_id)?
                .map(Appended::Repeat)
                .ok_or(e)
        }
        (Err(e), _) => Err(e),
    }
}

/// PostgreSQL: the UPDATE and the INSERT as one statement (a data-modifying CTE), atomic
/// without BEGIN/COMMIT — one round trip instead of four. `None`: no such room.
fn append_in_one_statement(
    pg: &mut diesel::PgConnection,
    room: &RoomName,
    m: &StoredMessage,
) -> QueryResult<Option<(i64, i64)>> {
    use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
    #[derive(QueryableByName)]
    struct Numbered {
        #[diesel(sql_type = BigInt)]
        room_id: i64,
        #[diesel(sql_type = BigInt)]
        seq: i64,
    }
    let numbered: Option<Numbered> = diesel::sql_query(
        "WITH room AS (\
             UPDATE rooms SET last_seq = last_seq + 1 WHERE name = $1 RETURNING id, last_seq) \
         INSERT INTO messages (room_id, seq, user_key, name, text, client_id, sent_at) \
         SELECT id, last_seq, $2, $3, $4, $5, $6 FROM room \
         RETURNING room_id, seq",
    )
    .bind::<Text, _>(room.as_str())
    .bind::<Text, _>(&m.user_key)
    .bind::<Text, _>(&m.name)
    .bind::<Text, _>(&m.text)
    .bind::<Nullable<Text>, _>(&m.client_id)
    .bind::<Timestamp, _>(m.sent_at)
    .get_result(pg)
    .optional()?;
    Ok(numbered.map(|n| (n.room_id, n.seq)))
}

/// SQLite (no UPDATE inside WITH): the same two statements in one `BEGIN IMMEDIATE`
/// transaction.
fn append_in_a_transaction(
    conn: &mut AnyConnection,
    room: &RoomName,
    m: &StoredMessage,
) -> QueryResult<Option<(i64, i64)>> {
    write_transaction(conn, |conn| {
        let taken: Option<(i64, i64)> =
            diesel::update(rooms::table.filter(rooms::name.eq(room.as_str())))
                .set(rooms::last_seq.eq(rooms::last_seq + 1))
                .returning((rooms::id, rooms::last_seq))
                .get_result(conn)
                .optional()?;
        let Some((room_id, seq)) = taken else {
            return Ok(None);
        };
        diesel::insert_into(messages::table)
            .values((
                messages::room_id.eq(room_id),
                messages::seq.eq(seq),
                messages::user_key.eq(&m.user_key),
                messages::name.eq(&m.name),
                messages::text.eq(&m.text),
                messages::client_id.eq(&m.client_id),
                messages::sent_at.eq(m.sent_at),
            ))
            .execute(conn)?;
        Ok(Some((room_id, seq)))
    })
}

fn by_client_id(
    conn: &mut AnyConnection,
    room: &RoomName,
    key: &UserKey,
    client_id: &ClientId,
) -> QueryResult<Option<StoredMessage>> {
    messages::table
        .inner_join(rooms::table)
        .filter(rooms::name.eq(room.as_str()))
        .filter(messages::user_key.eq(key.as_str()))
        .filter(messages::client_id.eq(client_id.as_str()))
        .select(COLUMNS)
        .first(conn)
        .optional()
}

/// At most this many messages are replayed on `join`; older ones are paged through history.
pub const REPLAY_LIMIT: i64 = 300;

/// What `join` needs from the database.
pub struct Replay {
    /// The room's newest `seq` when the replay was read.
    pub last_seq: i64,
    /// Missed messages that are not replayed (`from..=to`), when more than [`REPLAY_LIMIT`].
    pub gap: Option<(i64, i64)>,
    pub messages: Vec<StoredMessage>,
}

/// The room's newest `seq` and, when `after` is given, the messages after it (at most
/// [`REPLAY_LIMIT`], the newest ones), oldest first. `None`: no such room.
pub fn replay(
    conn: &mut AnyConnection,
    room: &RoomName,
    after: Option<i64>,
) -> QueryResult<Option<Replay>> {
    let Some((room_id, last_seq)) = super::rooms::find(conn, room)? else {
        return Ok(None);
    };
    let Some(after) = after else {
        return Ok(Some(Replay {
            last_seq,
            gap: None,
            messages: Vec::new(),
        }));
    };
    let from = after.max(last_seq - REPLAY_LIMIT);
    let gap = (from > after).then_some((after + 1, from));
    let messages = messages::table
        .filter(messages::room_id.eq(room_id))
        .filter(messages::seq.gt(from))
        .filter(messages::seq.le(last_seq))
        .order(messages::seq)
        .select(COLUMNS)
        .load(conn)?;
    Ok(Some(Replay {
        last_seq,
        gap,
        messages,
    }))
}

/// Messages `after < seq < before` (at most 1 000), oldest first: what a room's sequencer
/// fetches when a published message went missing on its way here.
pub fn between(
    conn: &mut AnyConnection,
    room: &str,
    after: i64,
    before: i64,
) -> QueryResult<Vec<StoredMessage>> {
    messages::table
        .inner_join(rooms::table)
        .filter(rooms::name.eq(room))
        .filter(messages::seq.gt(after))
        .filter(messages::seq.lt(before))
        .order(messages::seq)
        .limit(crate::hub::FETCH_LIMIT as i64)
        .select(COLUMNS)
        .load(conn)
}

/// The messages of `room` edited or deleted since `since`, among its newest 1 000, oldest
/// first: what an instance that lost its subscription tells its members again.
pub fn changed_since(
    conn: &mut AnyConnection,
    room: &str,
    since: NaiveDateTime,
) -> QueryResult<Vec<StoredMessage>> {
    let Some(last_seq) = rooms::table
        .filter(rooms::name.eq(room))
        .select(rooms::last_seq)
        .first::<i64>(conn)
        .optional()?
    else {
        return Ok(Vec::new());
    };
    messages::table
        .inner_join(rooms::table)
        .filter(rooms::name.eq(room))
        .filter(messages::seq.gt(last_seq - crate::hub::FETCH_LIMIT as i64))
        .filter(
            messages::edited_at
                .ge(since)
                .or(messages::deleted_at.ge(since)),
        )
        .order(messages::seq)
        .select(COLUMNS)
        .load(conn)
}

/// A history page: the `limit` messages below `before` (or the newest), oldest first.
/// `None`: no such room.
pub fn page(
    conn: &mut AnyConnection,
    room: &RoomName,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Option<Vec<StoredMessage>>> {
    let Some((room_id, _)) = super::rooms::find(conn, room)? else {
        return Ok(None);
    };
    let mut query = messages::table
        .filter(messages::room_id.eq(room_id))
        .order(messages::seq.desc())
        .limit(limit)
        .select(COLUMNS)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(messages::seq.lt(before));
    }
    let mut page: Vec<StoredMessage> = query.load(conn)?;
    page.reverse();
    Ok(Some(page))
}

#[derive(Debug)]
pub enum Change {
    Done(StoredMessage),
    UnknownRoom,
    NoSuchMessage,
    NotYours,
}

/// Replaces the text of the author's own message (`text`), or deletes it (`None`: the text
/// is wiped, the row stays so `seq` stays gapless and history shows the deletion).
pub fn change(
    conn: &mut AnyConnection,
    room: &RoomName,
    seq: i64,
    author: &UserKey,
    text: Option<&MessageText>,
) -> QueryResult<Change> {
    let Some((room_id, _)) = super::rooms::find(conn, room)? else {
        return Ok(Change::UnknownRoom);
    };
    let now = backend_kit::time::now();
    let target = messages::table
        .filter(messages::room_id.eq(room_id))
        .filter(messages::seq.eq(seq))
        .filter(messages::user_key.eq(author.as_str()))
        .filter(messages::deleted_at.is_null());
    let changed = match text {
        Some(text) => diesel::update(target)
            .set((
                messages::text.eq(text.as_str()),
                messages::edited_at.eq(Some(now)),
            ))
            .returning(COLUMNS)
            .get_result(conn)
            .optional()?,
        None => diesel::update(target)
            .set((messages::text.eq(""), messages::deleted_at.eq(Some(now))))
            .returning(COLUMNS)
            .get_result(conn)
            .optional()?,
    };
    if let Some(message) = changed {
        return Ok(Change::Done(message));
    }
    let author_of: Option<(String, Option<NaiveDateTime>)> = messages::table
        .filter(messages::room_id.eq(room_id))
        .filter(messages::seq.eq(seq))
        .select((messages::user_key, messages::deleted_at))
        .first(conn)
        .optional()?;
    Ok(match author_of {
        Some((key, None)) if key != author.as_str() => Change::NotYours,
        _ => Change::NoSuchMessage,
    })
}

/// Moves the user's read position in a room forward to `seq` (never back). `false`: no such
/// room, or `seq` beyond its newest message.
pub fn mark_read(
    conn: &mut AnyConnection,
    room: &RoomName,
    user: &UserKey,
    seq: i64,
) -> QueryResult<bool> {
    let Some((room_id, last_seq)) = super::rooms::find(conn, room)? else {
        return Ok(false);
    };
    if !(0..=last_seq).contains(&seq) {
        return Ok(false);
    }
    let mine = read_positions::table
        .filter(read_positions::room_id.eq(room_id))
        .filter(read_positions::user_key.eq(user.as_str()));
    let moved = diesel::update(mine.filter(read_positions::seq.lt(seq)))
        .set(read_positions::seq.eq(seq))
        .execute(conn)?;
    if moved == 0 {
        // No row yet (or it is already further on: then the insert is refused, which is fine).
        unless_taken(conn, |conn| {
            diesel::insert_into(read_positions::table)
                .values((
                    read_positions::room_id.eq(room_id),
                    read_positions::user_key.eq(user.as_str()),
                    read_positions::seq.eq(seq),
                ))
                .execute(conn)
        })?;
    }
    Ok(true)
}
