//! Articles, their tags and favorites.
//!
//! A list costs two queries whatever its length (see the README for the SQL):
//! 1. the page, everything in one statement: the article columns, with two copies the writes
//!    keep exact so a read needs no aggregation — `favorites_count` and `tag_list` (the tags
//!    joined by `,`); `favorited`, an `EXISTS` on the viewer's favorites; the author (a join)
//!    with `following`, another `EXISTS` — `ORDER BY created_at DESC, id DESC LIMIT $n
//!    OFFSET $m`, served by an index;
//! 2. `articlesCount`, the total: without filters, one row of `counters` that the writes
//!    keep; with filters, `SELECT count(*) … WHERE <the same filters>`. Skipped when the
//!    first page is not full (then the page *is* the total).
//!
//! The per-row subqueries run inside the database, next to the data: one round trip, not
//! one per article (the N+1 this design avoids).

use backend_kit::db::{
    AnyConnection, Backend, is_foreign_key_violation, unless_taken, violates_unique,
    write_transaction,
};
use chrono::NaiveDateTime;
use diesel::dsl::{exists, sql};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use super::profiles::{Profile, viewer_id};
use super::schema::{article_tags, articles, counters, favorites, follows, profiles, tags, users};
use crate::domain::{SearchTerms, search, slug};

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
    /// The body rendered and sanitized; with `body` only.
    pub body_html: Option<String>,
    /// Sorted by name.
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

impl Filter {
    fn is_empty(&self) -> bool {
        self.tag.is_none()
            && self.author.is_none()
            && self.favorited_by.is_none()
            && self.search.is_none()
            && self.followed_by.is_none()
    }
}

/// The row of `counters` that holds how many articles there are.
const ARTICLES: &str = "articles";

/// Adds `step` to the number of articles (in the transaction that inserts or deletes one).
fn count_articles(conn: &mut AnyConnection, step: i64) -> QueryResult<()> {
    diesel::update(counters::table.find(ARTICLES))
        .set(counters::value.eq(counters::value + step))
        .execute(conn)
        .map(|_| ())
}

/// The `SELECT` list of a complete article for the viewer: the row with `favorited`, the
/// author with `following`, the tags joined by `,`.
macro_rules! article_columns {
    ($viewer:expr) => {
        (
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
            ),
            (
                users::id,
                users::username,
                profiles::bio.nullable(),
                profiles::image.nullable(),
                exists(
                    follows::table
                        .filter(follows::follower_id.eq($viewer))
                        .filter(follows::followee_id.eq(articles::author_id)),
                ),
            ),
            articles::tag_list,
        )
    };
}

/// `articles` joined to their authors (and their optional profile rows), boxed.
macro_rules! articles_with_authors {
    () => {
        articles::table
            .inner_join(users::table)
            .left_join(profiles::table.on(profiles::user_id.eq(articles::author_id)))
            .into_boxed()
    };
}

/// Narrows a boxed query over `articles` (alone or joined) by the filter. A macro, not a
/// function: the count and the page are boxed queries of different types, and the filters
/// only name `articles` columns and subqueries, which fit both.
macro_rules! filtered {
    ($query:expr, $backend:expr, $filter:expr) => {{
        let filter: &Filter = $filter;
        let mut query = $query;
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
        // `users` under another name: the page query joins `users` already (the authors).
        let named = diesel::alias!(users as named);
        if let Some(author) = &filter.author {
            query = query.filter(
                articles::author_id.eq_any(
                    named
                        .filter(named.field(users::username).eq(author))
                        .select(named.field(users::id)),
                ),
            );
        }
        if let Some(fan) = &filter.favorited_by {
            query = query.filter(
                articles::id.eq_any(
                    favorites::table
                        .inner_join(named.on(named.field(users::id).eq(favorites::user_id)))
                        .filter(named.field(users::username).eq(fan))
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
            query = match $backend {
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
    }};
}

type Loaded = (ArticleRow, Profile, String);

fn assemble((row, author, tags): Loaded, body: Option<(String, String)>) -> Article {
    // Stored sorted; "" is no tags.
    let tags: Vec<String> = tags
        .split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let (body, body_html) = body.unzip();
    Article {
        row,
        body,
        body_html,
        tags,
        author,
    }
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
    let page: Vec<Loaded> = filtered!(articles_with_authors!(), backend, filter)
        .select(article_columns!(viewer_id(viewer)))
        // `id` breaks ties between equal timestamps, so consecutive pages never overlap.
        .order((articles::created_at.desc(), articles::id.desc()))
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    // A first page that is not full holds every match: no need to count them.
    let total = if offset == 0 && (page.len() as i64) < limit {
        page.len() as i64
    } else if filter.is_empty() {
        counters::table
            .find(ARTICLES)
            .select(counters::value)
            .first(conn)?
    } else {
        filtered!(articles::table.into_boxed(), backend, filter)
            .count()
            .get_result(conn)?
    };
    let articles = page
        .into_iter()
        .map(|loaded| assemble(loaded, None))
        .collect();
    Ok((articles, total))
}

/// One article with its body: one query.
pub fn by_slug(
    conn: &mut AnyConnection,
    slug: &str,
    viewer: Option<i64>,
) -> QueryResult<Option<Article>> {
    let found: Option<(Loaded, (String, String))> = articles_with_authors!()
        .filter(articles::slug.eq(slug))
        .select((
            article_columns!(viewer_id(viewer)),
            (articles::body, articles::body_html),
        ))
        .first(conn)
        .optional()?;
    Ok(found.map(|(loaded, body)| assemble(loaded, Some(body))))
}

/// The id and author of the article at `slug`.
pub fn owner_of(conn: &mut AnyConnection, slug: &str) -> QueryResult<Option<(i64, i64)>> {
    articles::table
        .filter(articles::slug.eq(slug))
        .select((articles::id, articles::author_id))
        .first(conn)
        .optional()
}

/// What a write to an existing article came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome<T> {
    Done(T),
    NotFound,
    /// Someone else's article.
    NotYours,
}

/// The article at `slug` as it is now, locked until the transaction ends: on PostgreSQL with
/// `FOR UPDATE` (a concurrent update or delete waits for this one), on SQLite by the write
/// lock `write_transaction` took at `BEGIN IMMEDIATE`.
fn lock(conn: &mut AnyConnection, slug: &str) -> QueryResult<Option<Current>> {
    let query = articles::table.filter(articles::slug.eq(slug)).select((
        articles::id,
        articles::author_id,
        articles::title,
        articles::description,
        articles::body,
    ));
    match conn {
        AnyConnection::Postgresql(pg) => query.for_update().first(pg).optional(),
        AnyConnection::Sqlite(sqlite) => query.first(sqlite).optional(),
    }
}

#[derive(Debug, Queryable)]
struct Current {
    id: i64,
    author_id: i64,
    title: String,
    description: String,
    body: String,
}

/// Runs `write` in a write transaction with a slug for `title` (`None`: no title), and when
/// the unique index refuses that slug (an equal title, maybe posted at the same instant),
/// again with a random suffix. The index decides, never a check before the insert.
fn with_unique_slug<T>(
    conn: &mut AnyConnection,
    title: Option<&str>,
    mut write: impl FnMut(&mut AnyConnection, Option<&str>) -> QueryResult<T>,
) -> QueryResult<T> {
    const ATTEMPTS: usize = 5;
    let base = title.map(slug::base);
    let mut candidate = base.clone();
    for _ in 1..ATTEMPTS {
        match write_transaction(conn, |conn| write(conn, candidate.as_deref())) {
            Err(e) if violates_unique(&e, "articles", "slug") => {
                candidate = base.as_deref().map(slug::with_suffix);
            }
            other => return other,
        }
    }
    write_transaction(conn, |conn| write(conn, candidate.as_deref()))
}

pub struct NewArticle<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub body: &'a str,
    /// `body` rendered and sanitized (domain::markdown).
    pub body_html: &'a str,
    pub tags: &'a [String],
}

/// Inserts the article and its tags; its slug.
pub fn create(conn: &mut AnyConnection, author: i64, new: &NewArticle<'_>) -> QueryResult<String> {
    let search_text = search::index_text(new.title, new.description, new.body);
    with_unique_slug(conn, Some(new.title), |conn, slug| {
        let slug = slug.unwrap_or_default();
        let now = backend_kit::time::now();
        let id: i64 = diesel::insert_into(articles::table)
            .values((
                articles::slug.eq(slug),
                articles::title.eq(new.title),
                articles::description.eq(new.description),
                articles::body.eq(new.body),
                articles::body_html.eq(new.body_html),
                articles::search_text.eq(&search_text),
                articles::search_version.eq(search::INDEX_VERSION),
                articles::tag_list.eq(new.tags.join(",")),
                articles::author_id.eq(author),
                articles::created_at.eq(now),
                articles::updated_at.eq(now),
            ))
            .returning(articles::id)
            .get_result(conn)?;
        let added = link_tags(conn, id, new.tags)?;
        count_in_tags(conn, &[], &added)?;
        // Last: the counter row is one for all writers, so it is held only until the commit.
        count_articles(conn, 1)?;
        Ok(slug.to_string())
    })
}

#[derive(Debug, Default)]
pub struct Changes {
    pub title: Option<String>,
    pub description: Option<String>,
    /// The new body and its HTML.
    pub body: Option<(String, String)>,
    pub tags: Option<Vec<String>>,
}

/// Applies the changes if `caller` wrote the article; its (possibly new) slug. A changed
/// title means a new slug (the spec); the same title sent again keeps the slug.
pub fn update(
    conn: &mut AnyConnection,
    slug: &str,
    caller: i64,
    changes: &Changes,
) -> QueryResult<Outcome<String>> {
    with_unique_slug(conn, changes.title.as_deref(), |conn, candidate| {
        let Some(current) = lock(conn, slug)? else {
            return Ok(Outcome::NotFound);
        };
        if current.author_id != caller {
            return Ok(Outcome::NotYours);
        }
        let title = changes.title.as_deref().unwrap_or(&current.title);
        let new_slug = candidate.filter(|_| title != current.title);
        let description = changes
            .description
            .as_deref()
            .unwrap_or(&current.description);
        let body = changes
            .body
            .as_ref()
            .map_or(current.body.as_str(), |(b, _)| b);
        let search_text = search::index_text(title, description, body);
        let slug: String = diesel::update(articles::table.find(current.id))
            .set((
                new_slug.map(|s| articles::slug.eq(s)),
                articles::title.eq(title),
                articles::description.eq(description),
                changes
                    .body
                    .as_ref()
                    .map(|(body, html)| (articles::body.eq(body), articles::body_html.eq(html))),
                articles::search_text.eq(&search_text),
                articles::search_version.eq(search::INDEX_VERSION),
                changes
                    .tags
                    .as_ref()
                    .map(|tags| articles::tag_list.eq(tags.join(","))),
                articles::updated_at.eq(backend_kit::time::now()),
            ))
            .returning(articles::slug)
            .get_result(conn)?;
        if let Some(tags) = &changes.tags {
            let removed = unlink_tags(conn, current.id)?;
            let added = link_tags(conn, current.id, tags)?;
            count_in_tags(conn, &removed, &added)?;
        }
        Ok(Outcome::Done(slug))
    })
}

/// Deletes the article (its comments and favorites go with it) if `caller` wrote it.
pub fn delete(conn: &mut AnyConnection, slug: &str, caller: i64) -> QueryResult<Outcome<()>> {
    write_transaction(conn, |conn| {
        let Some(current) = lock(conn, slug)? else {
            return Ok(Outcome::NotFound);
        };
        if current.author_id != caller {
            return Ok(Outcome::NotYours);
        }
        let removed = unlink_tags(conn, current.id)?;
        count_in_tags(conn, &removed, &[])?;
        diesel::delete(articles::table.find(current.id)).execute(conn)?;
        count_articles(conn, -1)?;
        Ok(Outcome::Done(()))
    })
}

/// Links the article to its tags, creating the tags that are new; the ids of the tags.
fn link_tags(conn: &mut AnyConnection, article: i64, names: &[String]) -> QueryResult<Vec<i64>> {
    if names.is_empty() {
        return Ok(Vec::new());
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
    Ok(ids)
}

/// Counts the article out of the `removed` tags and into the `added` ones: one row at a time,
/// in the order of their ids, each changed once. One `UPDATE … WHERE id IN (…)` locks the
/// rows in whatever order it finds them, and two articles sharing two tags then deadlocked
/// on PostgreSQL (once in the benchmark's 16 000 concurrent posts: a 500 after the
/// one-second deadlock timeout). Every writer locks tags in id order, then `counters`.
fn count_in_tags(conn: &mut AnyConnection, removed: &[i64], added: &[i64]) -> QueryResult<()> {
    let mut steps: std::collections::BTreeMap<i64, i32> = std::collections::BTreeMap::new();
    for &id in removed {
        *steps.entry(id).or_default() -= 1;
    }
    for &id in added {
        *steps.entry(id).or_default() += 1;
    }
    for (id, step) in steps.into_iter().filter(|(_, step)| *step != 0) {
        diesel::update(tags::table.find(id))
            .set(tags::articles_count.eq(tags::articles_count + step))
            .execute(conn)?;
    }
    Ok(())
}

/// The id of a new tag. Two articles may bring the same new tag at once: the unique index
/// refuses the second insert (inside a savepoint), which then reads the winner's id.
fn tag_id(conn: &mut AnyConnection, name: &str) -> QueryResult<i64> {
    let inserted = unless_taken(conn, |conn| {
        diesel::insert_into(tags::table)
            .values(tags::name.eq(name))
            .returning(tags::id)
            .get_result(conn)
    })?;
    match inserted {
        Some(id) => Ok(id),
        None => tags::table
            .filter(tags::name.eq(name))
            .select(tags::id)
            .first(conn),
    }
}

/// Unlinks every tag of the article; the tags of exactly the links this statement deleted,
/// so two transactions never uncount one link twice.
fn unlink_tags(conn: &mut AnyConnection, article: i64) -> QueryResult<Vec<i64>> {
    diesel::delete(article_tags::table.filter(article_tags::article_id.eq(article)))
        .returning(article_tags::tag_id)
        .get_results(conn)
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

/// Favorites (`true`) or unfavorites the article at `slug` for `user`. Idempotent, and
/// exact under concurrency: the favorite row and the count change in one transaction, and
/// the count only when the row was new (the composite key refuses a second favorite, inside
/// a savepoint) or was there to delete.
pub fn set_favorite(
    conn: &mut AnyConnection,
    slug: &str,
    user: i64,
    favorite: bool,
) -> QueryResult<Outcome<()>> {
    let outcome = write_transaction(conn, |conn| {
        let Some((article, _)) = owner_of(conn, slug)? else {
            return Ok(Outcome::NotFound);
        };
        let changed = if favorite {
            unless_taken(conn, |conn| {
                diesel::insert_into(favorites::table)
                    .values((
                        favorites::user_id.eq(user),
                        favorites::article_id.eq(article),
                        favorites::created_at.eq(backend_kit::time::now()),
                    ))
                    .execute(conn)
            })?
            .unwrap_or(0)
        } else {
            diesel::delete(favorites::table.find((user, article))).execute(conn)?
        };
        if changed > 0 {
            let step = if favorite { 1 } else { -1 };
            diesel::update(articles::table.find(article))
                .set(articles::favorites_count.eq(articles::favorites_count + step))
                .execute(conn)?;
        }
        Ok(Outcome::Done(()))
    });
    match outcome {
        // PostgreSQL: the article was deleted between finding it and favoriting it.
        Err(e) if is_foreign_key_violation(&e) => Ok(Outcome::NotFound),
        other => other,
    }
}

/// Up to `batch` articles indexed with an older word definition than
/// [`search::INDEX_VERSION`]: `(id, title, description, body)`.
pub fn stale_search(
    conn: &mut AnyConnection,
    batch: i64,
) -> QueryResult<Vec<(i64, String, String, String)>> {
    articles::table
        .filter(articles::search_version.lt(search::INDEX_VERSION))
        .select((
            articles::id,
            articles::title,
            articles::description,
            articles::body,
        ))
        .order(articles::id)
        .limit(batch)
        .load(conn)
}

/// Stores search texts made by [`stale_search`]'s caller, in one short write — each only if
/// the article is still on the older definition (an edit since wrote its own, newer text).
pub fn store_search(conn: &mut AnyConnection, texts: &[(i64, String)]) -> QueryResult<()> {
    write_transaction(conn, |conn| {
        for (id, text) in texts {
            diesel::update(
                articles::table
                    .find(id)
                    .filter(articles::search_version.lt(search::INDEX_VERSION)),
            )
            .set((
                articles::search_text.eq(text),
                articles::search_version.eq(search::INDEX_VERSION),
            ))
            .execute(conn)?;
        }
        Ok(())
    })
}
