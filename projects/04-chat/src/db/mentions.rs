//! Mentions of users who were not connected, waiting for their e-mail digest.

use backend_kit::db::{AnyConnection, unless_taken};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{
    mention_digests, mention_unsubscribes, messages, pending_mentions, rooms, users,
};
use super::{lower, replace};

/// The accounts a message's `@names` name: an account's name, lower-cased with its spaces
/// taken out (`@annlee` is Ann Lee). At most 20. Accounts that unsubscribed are left out.
pub fn accounts_named(conn: &mut AnyConnection, names: &[String]) -> QueryResult<Vec<i64>> {
    let unsubscribed =
        mention_unsubscribes::table.filter(mention_unsubscribes::user_id.eq(users::id));
    users::table
        .filter(lower(replace(users::name, " ", "")).eq_any(names))
        .filter(diesel::dsl::not(diesel::dsl::exists(unsubscribed)))
        .select(users::id)
        .limit(20)
        .load(conn)
}

pub fn record(
    conn: &mut AnyConnection,
    room_id: i64,
    seq: i64,
    user_ids: &[i64],
) -> QueryResult<()> {
    let now = backend_kit::time::now();
    // One row per statement: diesel cannot write a multi-row INSERT through the two-backend
    // connection. A message mentions at most 10 names.
    for user_id in user_ids {
        diesel::insert_into(pending_mentions::table)
            .values((
                pending_mentions::user_id.eq(user_id),
                pending_mentions::room_id.eq(room_id),
                pending_mentions::seq.eq(seq),
                pending_mentions::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Users with waiting mentions who were not mailed since `cutoff` (at most 100 per call).
pub fn due(conn: &mut AnyConnection, cutoff: NaiveDateTime) -> QueryResult<Vec<i64>> {
    let mailed_since = mention_digests::table
        .filter(mention_digests::user_id.eq(pending_mentions::user_id))
        .filter(mention_digests::last_sent_at.gt(cutoff));
    pending_mentions::table
        .filter(diesel::dsl::not(diesel::dsl::exists(mailed_since)))
        .select(pending_mentions::user_id)
        .distinct()
        .limit(100)
        .load(conn)
}

/// A mention as the digest lists it.
#[derive(Debug, Queryable)]
pub struct Mention {
    pub room: String,
    pub seq: i64,
    pub from: String,
    pub text: String,
}

/// Claims `user_id`'s digest: `true` when no digest went out since `cutoff`, and records one
/// as sent at `now`. Run it in the transaction that queues the mail: the row it writes stays
/// locked until then, so when every instance runs the digest job at once, one of them claims
/// the user and the others get `false` (PostgreSQL re-checks the `WHERE` after the lock is
/// released; SQLite runs one write transaction at a time).
pub fn claim(
    conn: &mut AnyConnection,
    user_id: i64,
    cutoff: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        mention_digests::table
            .find(user_id)
            .filter(mention_digests::last_sent_at.le(cutoff)),
    )
    .set(mention_digests::last_sent_at.eq(now))
    .execute(conn)?;
    if updated == 1 {
        return Ok(true);
    }
    // No row yet: the first digest. A row that is there was mailed since `cutoff`.
    let first = unless_taken(conn, |conn| {
        diesel::insert_into(mention_digests::table)
            .values((
                mention_digests::user_id.eq(user_id),
                mention_digests::last_sent_at.eq(now),
            ))
            .execute(conn)
    })?;
    Ok(first.is_some())
}

/// The pending mentions of `user_id` whose message still exists (not deleted since).
#[diesel::dsl::auto_type]
fn live(user_id: i64) -> _ {
    let message = messages::room_id
        .eq(pending_mentions::room_id)
        .and(messages::seq.eq(pending_mentions::seq));
    pending_mentions::table
        .filter(pending_mentions::user_id.eq(user_id))
        .inner_join(messages::table.on(message))
        .filter(messages::deleted_at.is_null())
}

/// Whether a digest would have anything to say: a waiting mention whose message is still
/// there.
pub fn has_live(conn: &mut AnyConnection, user_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(live(user_id))).get_result(conn)
}

/// Takes the waiting mentions of `user_id`: the newest 50 listed, and how many there were
/// (deleted messages left out of both). Only rows up to the newest one seen here: a mention
/// recorded meanwhile waits for the next digest instead of being taken unlisted. Run it
/// after [`claim`], in the same transaction.
pub fn take(conn: &mut AnyConnection, user_id: i64) -> QueryResult<(Vec<Mention>, usize)> {
    let newest: Option<i64> = pending_mentions::table
        .filter(pending_mentions::user_id.eq(user_id))
        .select(diesel::dsl::max(pending_mentions::id))
        .first(conn)?;
    let Some(newest) = newest else {
        return Ok((Vec::new(), 0));
    };
    let seen = pending_mentions::id.le(newest);
    let listed: Vec<Mention> = live(user_id)
        .filter(seen)
        .inner_join(rooms::table.on(rooms::id.eq(pending_mentions::room_id)))
        .order(pending_mentions::id.desc())
        .limit(50)
        .select((rooms::name, messages::seq, messages::name, messages::text))
        .load(conn)?;
    let total: i64 = live(user_id).filter(seen).count().get_result(conn)?;
    diesel::delete(
        pending_mentions::table
            .filter(pending_mentions::user_id.eq(user_id))
            .filter(seen),
    )
    .execute(conn)?;
    Ok((listed, total as usize))
}

pub fn unsubscribed(conn: &mut AnyConnection, user_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        mention_unsubscribes::table.filter(mention_unsubscribes::user_id.eq(user_id)),
    ))
    .get_result(conn)
}

/// Forgets the mentions waiting for `user_id`.
pub fn drop_pending(conn: &mut AnyConnection, user_id: i64) -> QueryResult<()> {
    diesel::delete(pending_mentions::table.filter(pending_mentions::user_id.eq(user_id)))
        .execute(conn)
        .map(|_| ())
}

/// The account's e-mail address and name.
pub fn recipient(conn: &mut AnyConnection, user_id: i64) -> QueryResult<Option<(String, String)>> {
    users::table
        .find(user_id)
        .select((users::email, users::name))
        .first(conn)
        .optional()
}

/// Stops `user_id`'s mention digests and drops what was waiting for them. Doing it twice is
/// doing it once.
pub fn unsubscribe(conn: &mut AnyConnection, user_id: i64) -> QueryResult<()> {
    unless_taken(conn, |conn| {
        diesel::insert_into(mention_unsubscribes::table)
            .values((
                mention_unsubscribes::user_id.eq(user_id),
                mention_unsubscribes::created_at.eq(backend_kit::time::now()),
            ))
            .execute(conn)
    })?;
    drop_pending(conn, user_id)
}
