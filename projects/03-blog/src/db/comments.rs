//! Comments on an article: a list costs two queries (the comments, then their authors), after
//! the article is found by its slug.

use std::collections::HashMap;

use backend_kit::db::{AnyConnection, is_foreign_key_violation, write_transaction};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::articles;
use super::notifications;
use super::profiles::{self, Profile};
use super::schema::comments;

#[derive(Debug, Clone, Queryable)]
pub struct CommentRow {
    pub id: i64,
    pub author_id: i64,
    pub body: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct Comment {
    pub row: CommentRow,
    pub author: Profile,
}

const COLUMNS: (
    comments::id,
    comments::author_id,
    comments::body,
    comments::created_at,
    comments::updated_at,
) = (
    comments::id,
    comments::author_id,
    comments::body,
    comments::created_at,
    comments::updated_at,
);

/// Which comments: `limit` (1–100) from `offset`.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl Page {
    /// The most comments one answer holds; what a client that asks for no page gets.
    pub const MAX: i64 = 100;
}

/// A page of comments, most recent first, like articles.
pub fn list(
    conn: &mut AnyConnection,
    article: i64,
    viewer: Option<i64>,
    page: Page,
) -> QueryResult<Vec<Comment>> {
    let rows: Vec<CommentRow> = comments::table
        .filter(comments::article_id.eq(article))
        .select(COLUMNS)
        .order((comments::created_at.desc(), comments::id.desc()))
        .limit(page.limit)
        .offset(page.offset)
        .load(conn)?;
    let mut ids: Vec<i64> = rows.iter().map(|r| r.author_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let authors: HashMap<i64, Profile> = profiles::by_ids(conn, &ids, viewer)?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    rows.into_iter()
        .map(|row| {
            let author = authors
                .get(&row.author_id)
                .cloned()
                .ok_or(diesel::result::Error::NotFound)?;
            Ok(Comment { row, author })
        })
        .collect()
}

/// Adds a comment to the article at `slug`; `None` if there is no such article (also when
/// it is deleted while the comment is written).
pub fn create(
    conn: &mut AnyConnection,
    slug: &str,
    author: i64,
    body: &str,
) -> QueryResult<Option<Comment>> {
    let inserted = write_transaction(conn, |conn| {
        let Some((article, owner)) = articles::owner_of(conn, slug)? else {
            return Ok(None);
        };
        let now = backend_kit::time::now();
        let row = diesel::insert_into(comments::table)
            .values((
                comments::article_id.eq(article),
                comments::author_id.eq(author),
                comments::body.eq(body),
                comments::created_at.eq(now),
                comments::updated_at.eq(now),
            ))
            .returning(COLUMNS)
            .get_result::<CommentRow>(conn)?;
        // The article's author hears of it in the next digest (not of their own comments).
        if owner != author {
            notifications::record(conn, row.id, owner, now)?;
        }
        Ok(Some(row))
    });
    let row = match inserted {
        // PostgreSQL: the article was deleted between finding it and commenting.
        Err(e) if is_foreign_key_violation(&e) => None,
        other => other?,
    };
    let Some(row) = row else { return Ok(None) };
    let author =
        profiles::by_id(conn, author, Some(author))?.ok_or(diesel::result::Error::NotFound)?;
    Ok(Some(Comment { row, author }))
}

/// The author of comment `id` on `article`, if there is such a comment.
pub fn author_of(conn: &mut AnyConnection, article: i64, id: i64) -> QueryResult<Option<i64>> {
    comments::table
        .filter(comments::article_id.eq(article))
        .filter(comments::id.eq(id))
        .select(comments::author_id)
        .first(conn)
        .optional()
}

pub fn delete(conn: &mut AnyConnection, id: i64) -> QueryResult<()> {
    diesel::delete(comments::table.find(id))
        .execute(conn)
        .map(|_| ())
}
