//! Articles, their tags and favorites.
//!
//! A list costs four queries whatever its length (see the README for the SQL):
//! 1. `SELECT count(*) FROM articles WHERE <filters>` — `articlesCount`, the total;
//! 2. the page: `SELECT … , EXISTS(SELECT 1 FROM favorites WHERE user_id = $me AND
//!    article_id = articles.id) … ORDER BY created_at DESC, id DESC LIMIT $n OFFSET $m` —
//!    `favoritesCount` is a column kept exact by the writes, `favorited` a subquery per row
//!    evaluated inside the database;
//! 3. the authors of the page with `following`, by id ([`profiles::by_ids`]);
//! 4. the tags of the page, by article id.

use std::collections::HashMap;

use backend_kit::db::{AnyBackend, AnyConnection, Backend, write_transaction};
use chrono::NaiveDateTime;
use diesel::dsl::{exists, sql};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use super::profiles::{self, Profile, viewer_id};
use super::schema::{article_tags, articles, favorites, follows, tags, users};
use super::{is_duplicate, violates_unique};
use crate::domain::{SearchTerms, slug};

/// An article row as lists show it (no body), with the viewer's `favorited`.
#[derive(Debug, Clone, Queryable)]
pub struct ArticleRow {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub author_id: i64,
    pub favorites_count: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub favorited: bool,
}

/// A row with everything an answer shows about it.
#[derive(Debug, Clone)]
pub struct Article {
    pub row: ArticleRow,
    /// Only for single-article answers: lists leave the body out (spec change of 2024).
    pub body: Option<String>,
    pub tags: Vec<String>,
    pub author: Profile,
}

/// What a list is filtered by; every field narrows it further.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub tag: Option<String>,
    /// A username.
    pub author: Option<String>,
    /// Articles favorited by this username.
    pub favorited_by: Option<String>,
    pub search: Option<SearchTerms>,
    /// The feed: articles by users this user follows.
    pub followed_by: Option<i64>,
}

/// `SELECT <ArticleRow columns>` for the viewer.
macro_rules! row_columns {
    ($viewer:expr) => {
        (
            articles::id,
            articles::slug,
            articles::title,
            articles::description,
            articles::author_id,
            articles::favorites_count,
            articles::created_at,
            articles::updated_at,
            exists(
                favorites::table
                    .filter(favorites::user_id.eq($viewer))
                    .filter(favorites::article_id.eq(articles::id)),
            ),
        )
    };
}

/// `articles` with the filters applied, as a boxed query (its type does not change with the
/// filters, so the count and the page are built by the same function).
fn filtered<'a>(backend: Backend, filter: &'a Filter) -> articles::BoxedQuery<'a, AnyBackend> {
    let mut query = articles::table.into_boxed();
    if let Some(tag) = &filter.tag {
        query = query.filter(
            articles::id.eq_any(
                article_tags::table
                    .inner_join(tags::table)
                    .filter(tags::name.eq(tag))
                    .select(article_tags::article_id),
            ),
        );
    }
    if let Some(author) = &filter.author {
        query = query.filter(
            articles::author_id.eq_any(
                users::table
                    .filter(users::username.eq(author))
                    .select(users::id),
            ),
        );
    }
    if let Some(fan) = &filter.favorited_by {
        query = query.filter(
            articles::id.eq_any(
                favorites::table
                    .inner_join(users::table.on(users::id.eq(favorites::user_id)))
                    .filter(users::username.eq(fan))
                    .select(favorites::article_id),
            ),
        );
    }
    if let Some(reader) = filter.followed_by {
        query = query.filter(
            articles::author_id.eq_any(
                follows::table
                    .filter(follows::follower_id.eq(reader))
                    .select(follows::followee_id),
            ),
        );
    }
    if let Some(terms) = &filter.search {
        // The one place the two databases need different SQL: each one's full-text index.
        query = match backend {
            Backend::Postgres => query.filter(
                sql::<Bool>("articles.search @@ to_tsquery('simple', ")
                    .bind::<Text, _>(terms.tsquery())
                    .sql(")"),
            ),
            Backend::Sqlite => query.filter(
                sql::<Bool>(
                    "articles.id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ",
                )
                .bind::<Text, _>(terms.fts5_query())
                .sql(")"),
            ),
        };
    }
    query
}

/// One page of articles, most recent first, and the total matching.
pub fn list(
    conn: &mut AnyConnection,
    filter: &Filter,
    limit: i64,
    offset: i64,
    viewer: Option<i64>,
) -> QueryResult<(Vec<Article>, i64)> {
    let backend = conn.backend();
    let total: i64 = filtered(backend, filter).count().get_result(conn)?;
    if total <= offset {
        return Ok((Vec::new(), total));
    }
    let rows: Vec<ArticleRow> = filtered(backend, filter)
        .select(row_columns!(viewer_id(viewer)))
        // `id` breaks ties between equal timestamps, so consecutive pages never overlap.
        .order((articles::created_at.desc(), articles::id.desc()))
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    let articles = complete(conn, rows, viewer)?;
    Ok((articles, total))
}

/// Adds authors and tags to a page of rows: two queries, whatever the page's length.
fn complete(
    conn: &mut AnyConnection,
    rows: Vec<ArticleRow>,
    viewer: Option<i64>,
) -> QueryResult<Vec<Article>> {
    let mut author_ids: Vec<i64> = rows.iter().map(|r| r.author_id).collect();
    author_ids.sort_unstable();
    author_ids.dedup();
    let authors: HashMap<i64, Profile> = profiles::by_ids(conn, &author_ids, viewer)?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut tags = tags_of(conn, &ids)?;
    rows.into_iter()
        .map(|row| {
            let author = authors
                .get(&row.author_id)
                .cloned()
                .ok_or(diesel::result::Error::NotFound)?;
            Ok(Article {
                tags: tags.remove(&row.id).unwrap_or_default(),
                body: None,
                author,
                row,
            })
        })
        .collect()
}

/// The tags of many articles in one query, each list sorted by name.
fn tags_of(conn: &mut AnyConnection, ids: &[i64]) -> QueryResult<HashMap<i64, Vec<String>>> {
    let mut by_article: HashMap<i64, Vec<String>> = HashMap::new();
    if ids.is_empty() {
        return Ok(by_article);
    }
    let pairs: Vec<(i64, String)> = article_tags::table
        .inner_join(tags::table)
        .filter(article_tags::article_id.eq_any(ids))
        .select((article_tags::article_id, tags::name))
        .order(tags::name)
        .load(conn)?;
    for (id, name) in pairs {
        by_article.entry(id).or_default().push(name);
    }
    Ok(by_article)
}

/// One article with its body.
pub fn by_slug(
    conn: &mut AnyConnection,
    slug: &str,
    viewer: Option<i64>,
) -> QueryResult<Option<Article>> {
    let found: Option<(ArticleRow, String)> = articles::table
        .filter(articles::slug.eq(slug))
        .select((row_columns!(viewer_id(viewer)), articles::body))
        .first(conn)
        .optional()?;
    let Some((row, body)) = found else {
        return Ok(None);
    };
    let mut article = complete(conn, vec![row], viewer)?.remove(0);
    article.body = Some(body);
    Ok(Some(article))
}

/// The id and author of the article at `slug`.
pub fn owner_of(conn: &mut AnyConnection, slug: &str) -> QueryResult<Option<(i64, i64)>> {
    articles::table
        .filter(articles::slug.eq(slug))
        .select((articles::id, articles::author_id))
        .first(conn)
        .optional()
}

/// Tries a slug, and on a unique violation of `articles.slug` tries again with a random
/// suffix. `write` runs in a transaction with the candidate slug.
fn with_unique_slug<T>(
    conn: &mut AnyConnection,
    title: &str,
    mut write: impl FnMut(&mut AnyConnection, &str) -> QueryResult<T>,
) -> QueryResult<T> {
    const ATTEMPTS: usize = 5;
    let base = slug::base(title);
    let mut candidate = base.clone();
    for _ in 1..ATTEMPTS {
        match write_transaction(conn, |conn| write(conn, &candidate)) {
            Err(e) if violates_unique(&e, "articles", "slug") => {
                candidate = slug::with_suffix(&base);
            }
            other => return other,
        }
    }
    write_transaction(conn, |conn| write(conn, &candidate))
}

pub struct NewArticle<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub body: &'a str,
    pub tags: &'a [String],
}

/// Inserts the article and its tags; its slug.
pub fn create(conn: &mut AnyConnection, author: i64, new: &NewArticle<'_>) -> QueryResult<String> {
    with_unique_slug(conn, new.title, |conn, slug| {
        let now = backend_kit::time::now();
        let id: i64 = diesel::insert_into(articles::table)
            .values((
                articles::slug.eq(slug),
                articles::title.eq(new.title),
                articles::description.eq(new.description),
                articles::body.eq(new.body),
                articles::author_id.eq(author),
                articles::created_at.eq(now),
                articles::updated_at.eq(now),
            ))
            .returning(articles::id)
            .get_result(conn)?;
        add_tags(conn, id, new.tags)?;
        Ok(slug.to_string())
    })
}

#[derive(Debug, Default)]
pub struct Changes {
    pub title: Option<String>,
    pub description: Option<String>,
    pub body: Option<String>,
    pub tags: Option<Vec<String>>,
}

/// Applies the changes; the (possibly new) slug. A new title means a new slug (the spec).
pub fn update(conn: &mut AnyConnection, id: i64, changes: &Changes) -> QueryResult<String> {
    let write = |conn: &mut AnyConnection, slug: Option<&str>| -> QueryResult<String> {
        let slug: String = diesel::update(articles::table.find(id))
            .set((
                slug.map(|s| articles::slug.eq(s)),
                changes.title.as_ref().map(|t| articles::title.eq(t)),
                changes
                    .description
                    .as_ref()
                    .map(|d| articles::description.eq(d)),
                changes.body.as_ref().map(|b| articles::body.eq(b)),
                articles::updated_at.eq(backend_kit::time::now()),
            ))
            .returning(articles::slug)
            .get_result(conn)?;
        if let Some(tags) = &changes.tags {
            remove_tags(conn, id)?;
            add_tags(conn, id, tags)?;
        }
        Ok(slug)
    };
    match &changes.title {
        Some(title) => with_unique_slug(conn, title, |conn, slug| write(conn, Some(slug))),
        None => write_transaction(conn, |conn| write(conn, None)),
    }
}

pub fn delete(conn: &mut AnyConnection, id: i64) -> QueryResult<()> {
    write_transaction(conn, |conn| {
        remove_tags(conn, id)?;
        diesel::delete(articles::table.find(id)).execute(conn)?;
        Ok(())
    })
}

/// Links the article to its tags, creating the tags that are new, and counts it in each.
fn add_tags(conn: &mut AnyConnection, article: i64, names: &[String]) -> QueryResult<()> {
    if names.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<i64> = tags::table
        .filter(tags::name.eq_any(names))
        .select(tags::id)
        .load(conn)?;
    if ids.len() < names.len() {
        let known: Vec<String> = tags::table
            .filter(tags::id.eq_any(&ids))
            .select(tags::name)
            .load(conn)?;
        for name in names.iter().filter(|n| !known.contains(n)) {
            ids.push(tag_id(conn, name)?);
        }
    }
    for &tag in &ids {
        diesel::insert_into(article_tags::table)
            .values((
                article_tags::article_id.eq(article),
                article_tags::tag_id.eq(tag),
            ))
            .execute(conn)?;
    }
    diesel::update(tags::table.filter(tags::id.eq_any(&ids)))
        .set(tags::articles_count.eq(tags::articles_count + 1))
        .execute(conn)?;
    Ok(())
}

/// The id of a new tag. Two articles may bring the same new tag at once: the unique index
/// refuses the second insert (inside a savepoint), which then reads the winner's id.
fn tag_id(conn: &mut AnyConnection, name: &str) -> QueryResult<i64> {
    let inserted = conn.transaction(|conn| {
        diesel::insert_into(tags::table)
            .values(tags::name.eq(name))
            .returning(tags::id)
            .get_result(conn)
    });
    match inserted {
        Err(e) if is_duplicate(&e) => tags::table
            .filter(tags::name.eq(name))
            .select(tags::id)
            .first(conn),
        other => other,
    }
}

fn remove_tags(conn: &mut AnyConnection, article: i64) -> QueryResult<()> {
    let ids: Vec<i64> = article_tags::table
        .filter(article_tags::article_id.eq(article))
        .select(article_tags::tag_id)
        .load(conn)?;
    diesel::update(tags::table.filter(tags::id.eq_any(&ids)))
        .set(tags::articles_count.eq(tags::articles_count - 1))
        .execute(conn)?;
    diesel::delete(article_tags::table.filter(article_tags::article_id.eq(article)))
        .execute(conn)?;
    Ok(())
}

/// The most used tags, most used first; tags no article uses any more are left out.
pub fn popular_tags(conn: &mut AnyConnection, limit: i64) -> QueryResult<Vec<String>> {
    tags::table
        .filter(tags::articles_count.gt(0))
        .order((tags::articles_count.desc(), tags::name))
        .select(tags::name)
        .limit(limit)
        .load(conn)
}

/// Idempotent, and exact under concurrency: the favorite row and the count change in one
/// transaction, and the count only when the row was new (the composite key refuses a
/// second favorite, inside a savepoint).
pub fn favorite(conn: &mut AnyConnection, user: i64, article: i64) -> QueryResult<()> {
    write_transaction(conn, |conn| {
        let inserted = conn.transaction(|conn| {
            diesel::insert_into(favorites::table)
                .values((
                    favorites::user_id.eq(user),
                    favorites::article_id.eq(article),
                    favorites::created_at.eq(backend_kit::time::now()),
                ))
                .execute(conn)
        });
        match inserted {
            Err(e) if is_duplicate(&e) => Ok(()),
            Err(e) => Err(e),
            Ok(_) => diesel::update(articles::table.find(article))
                .set(articles::favorites_count.eq(articles::favorites_count + 1))
                .execute(conn)
                .map(|_| ()),
        }
    })
}

/// Idempotent: the count only drops when a row was deleted.
pub fn unfavorite(conn: &mut AnyConnection, user: i64, article: i64) -> QueryResult<()> {
    write_transaction(conn, |conn| {
        let deleted = diesel::delete(favorites::table.find((user, article))).execute(conn)?;
        if deleted > 0 {
            diesel::update(articles::table.find(article))
                .set(articles::favorites_count.eq(articles::favorites_count - 1))
                .execute(conn)?;
        }
        Ok(())
    })
}
