//! Comment digests: comments waiting to be told to their article's author, and who opted out.
//! The digest job ([`crate::jobs`]) asks [`due`], then [`take`]s an author's rows.

use backend_kit::db::{AnyConnection, unless_taken};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{articles, comment_notifications as cn, comments, digest_unsubscribes, users};

/// Notes comment `comment_id` for `recipient`'s next digest, unless they unsubscribed.
pub fn record(
    conn: &mut AnyConnection,
    comment_id: i64,
    recipient: i64,
    now: NaiveDateTime,
) -> QueryResult<()> {
    if unsubscribed(conn, recipient)? {
        return Ok(());
    }
    diesel::insert_into(cn::table)
        .values((
            cn::comment_id.eq(comment_id),
            cn::recipient_id.eq(recipient),
            cn::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Authors whose oldest waiting comment was made at or before `cutoff`: their digest is due.
pub fn due(conn: &mut AnyConnection, cutoff: NaiveDateTime, limit: i64) -> QueryResult<Vec<i64>> {
    cn::table
        .group_by(cn::recipient_id)
        .having(diesel::dsl::min(cn::created_at).le(cutoff))
        .select(cn::recipient_id)
        .order(cn::recipient_id)
        .limit(limit)
        .load(conn)
}

/// One comment in a digest.
#[derive(Debug, Clone, Queryable)]
pub struct DigestItem {
    pub comment_id: i64,
    pub body: String,
    pub created_at: NaiveDateTime,
    pub commenter_id: i64,
    pub article_slug: String,
    pub article_title: String,
}

/// Takes every comment waiting for `recipient`, oldest first, with who wrote it. The DELETE
/// comes first and decides: of two instances' digest jobs racing for one author, only one
/// gets the rows (the other's DELETE waits for the first to commit, then finds none).
pub fn take(conn: &mut AnyConnection, recipient: i64) -> QueryResult<Vec<(DigestItem, String)>> {
    let ids: Vec<i64> = diesel::delete(cn::table.filter(cn::recipient_id.eq(recipient)))
        .returning(cn::comment_id)
        .get_results(conn)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let items: Vec<DigestItem> = comments::table
        .inner_join(articles::table)
        .filter(comments::id.eq_any(&ids))
        .select((
            comments::id,
            comments::body,
            comments::created_at,
            comments::author_id,
            articles::slug,
            articles::title,
        ))
        .order((comments::created_at, comments::id))
        .load(conn)?;
    let mut commenters: Vec<i64> = items.iter().map(|i| i.commenter_id).collect();
    commenters.sort_unstable();
    commenters.dedup();
    let names: Vec<(i64, Option<String>)> = users::table
        .filter(users::id.eq_any(&commenters))
        .select((users::id, users::username))
        .load(conn)?;
    Ok(items
        .into_iter()
        .map(|item| {
            let name = names
                .iter()
                .find(|(id, _)| *id == item.commenter_id)
                .and_then(|(_, name)| name.clone())
                .unwrap_or_else(|| "someone".into());
            (item, name)
        })
        .collect())
}

pub fn unsubscribed(conn: &mut AnyConnection, user: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        digest_unsubscribes::table.filter(digest_unsubscribes::user_id.eq(user)),
    ))
    .get_result(conn)
}

/// Stops `user`'s digests and drops what was waiting for them. Doing it twice is doing it once.
pub fn unsubscribe(conn: &mut AnyConnection, user: i64) -> QueryResult<()> {
    unless_taken(conn, |conn| {
        diesel::insert_into(digest_unsubscribes::table)
            .values((
                digest_unsubscribes::user_id.eq(user),
                digest_unsubscribes::created_at.eq(backend_kit::time::now()),
            ))
            .execute(conn)
    })?;
    diesel::delete(cn::table.filter(cn::recipient_id.eq(user)))
        .execute(conn)
        .map(|_| ())
}
