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
    let authors = authors_of(conn, rows.iter().map(|r| r.author_id), viewer)?;
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

/// The profiles of comments' authors, by id, in one statement (the second of every comment
/// list).
fn authors_of(
    conn: &mut AnyConnection,
    author_ids: impl Iterator<Item = i64>,
    viewer: Option<i64>,
) -> QueryResult<HashMap<i64, Profile>> {
    let mut ids: Vec<i64> = author_ids.collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(profiles::by_ids(conn, &ids, viewer)?
        .into_iter()
        .map(|p| (p.id, p))
        .collect())
}

/// One row of [`newest_of_each`]: a comment and the article it is on.
#[derive(QueryableByName)]
struct NewestRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    article_id: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    author_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    body: String,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    updated_at: NaiveDateTime,
}

/// The newest `first` comments of each of `articles` (GraphQL's `Article.comments` on a
/// page of articles): two statements however many articles — the comments, then their
/// authors — and each article costs an index range of `first` rows, not all its comments.
/// PostgreSQL walks the ids with `LATERAL`; SQLite has no `LATERAL`, and runs the same
/// bounded subquery once per id of `json_each`.
pub fn newest_of_each(
    conn: &mut AnyConnection,
    articles: &[i64],
    first: i64,
    viewer: Option<i64>,
) -> QueryResult<HashMap<i64, Vec<Comment>>> {
    use diesel::sql_types::{Array, BigInt, Text};
    if articles.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<NewestRow> = match conn {
        AnyConnection::Postgresql(pg) => diesel::sql_query(
            "SELECT c.article_id, c.id, c.author_id, c.body, c.created_at, c.updated_at \
             FROM unnest($1::bigint[]) AS a(id) CROSS JOIN LATERAL (\
             SELECT article_id, id, author_id, body, created_at, updated_at FROM comments \
             WHERE article_id = a.id ORDER BY created_at DESC, id DESC LIMIT $2) AS c",
        )
        .bind::<Array<BigInt>, _>(articles)
        .bind::<BigInt, _>(first)
        .load(pg)?,
        AnyConnection::Sqlite(sqlite) => diesel::sql_query(
            "SELECT c.article_id, c.id, c.author_id, c.body, c.created_at, c.updated_at \
             FROM json_each(?) AS a JOIN comments AS c ON c.id IN (\
             SELECT id FROM comments WHERE article_id = a.value \
             ORDER BY created_at DESC, id DESC LIMIT ?)",
        )
        .bind::<Text, _>(serde_json::to_string(articles).unwrap_or_default())
        .bind::<BigInt, _>(first)
        .load(sqlite)?,
    };
    let authors = authors_of(conn, rows.iter().map(|r| r.author_id), viewer)?;
    let mut found: HashMap<i64, Vec<Comment>> = HashMap::new();
    for row in rows {
        let Some(author) = authors.get(&row.author_id).cloned() else {
            continue;
        };
        found.entry(row.article_id).or_default().push(Comment {
            row: CommentRow {
                id: row.id,
                author_id: row.author_id,
                body: row.body,
                created_at: row.created_at,
                updated_at: row.updated_at,
            },
            author,
        });
    }
    // Newest first within each article, as every comment list is.
    for comments in found.values_mut() {
        comments.sort_by_key(|c| std::cmp::Reverse((c.row.created_at, c.row.id)));
    }
    Ok(found)
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
