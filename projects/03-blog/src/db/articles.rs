//! Articles, their tags and favorites.
//!
//! A list costs three queries whatever its length and however many articles exist (see the
//! "The cost of a page" in docs/performance.md for the SQL and the plans):
//! 1. the ids of the page: `ORDER BY created_at DESC, id DESC LIMIT $n OFFSET $m` (or after a
//!    [`Cursor`]) read from an index already in that order — `articles_recent_idx` for the
//!    whole list, `articles_author_idx` for an author, `article_tags_recent_idx` for a tag,
//!    `favorites_recent_idx` for a user's favorites, and for the feed each followed author's
//!    newest from `articles_author_idx`, merged (`feed_ids`). So a page reads about
//!    `limit + offset` index entries, never the whole table;
//! 2. those articles with everything an answer shows, in one statement: the article columns,
//!    with two copies the writes keep exact so a read needs no aggregation — `favorites_count`
//!    and `tag_list` (the tags joined by `,`); `favorited`, an `EXISTS` on the viewer's
//!    favorites; the author (a join) with `following`, another `EXISTS`;
//! 3. `articlesCount`, the total, from a count the writes keep: one row of `counters` (every
//!    article), of `tags` (a tag), of `user_counters` (an author's articles or a user's
//!    favorites), the sum of the followed authors' rows (the feed). Only combined filters and
//!    search count rows, search at most [`SEARCH_COUNT_MAX`]. Skipped when the first page is
//!    not full (then the page *is* the total).
//!
//! The per-row subqueries run inside the database, next to the data: one round trip, not
//! one per article (the N+1 this design avoids).

use backend_kit::db::{AnyConnection, Backend, unless_taken, violates_unique, write_transaction};
use chrono::NaiveDateTime;
use diesel::dsl::{exists, sql, sum};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text, Timestamp};

use super::profiles::{Profile, viewer_id};
use super::schema::{
    article_tags, articles, counters, favorites, follows, profiles, tags, user_counters, users,
};
use crate::domain::{Cursor, SearchTerms, search, slug};

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

/// Where a page's ids come from: a filter on its own has an index in the list's order and a
/// count the writes keep; anything else is a filtered walk of all articles.
enum Source<'a> {
    All,
    Tag(&'a str),
    Author(&'a str),
    FavoritedBy(&'a str),
    Feed(i64),
    Search(&'a SearchTerms),
    Combined,
}

impl Filter {
    fn source(&self) -> Source<'_> {
        let Filter {
            tag,
            author,
            favorited_by,
            search,
            followed_by,
        } = self;
        match (tag, author, favorited_by, search, followed_by) {
            (None, None, None, None, None) => Source::All,
            (Some(tag), None, None, None, None) => Source::Tag(tag),
            (None, Some(author), None, None, None) => Source::Author(author),
            (None, None, Some(fan), None, None) => Source::FavoritedBy(fan),
            (None, None, None, None, Some(reader)) => Source::Feed(*reader),
            (None, None, None, Some(terms), None) => Source::Search(terms),
            _ => Source::Combined,
        }
    }
}

/// Which page of a list: `limit` articles, `offset` in — counted from the start, or from
/// right after the article `before` names.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: i64,
    pub offset: i64,
    pub before: Option<Cursor>,
}

/// A search counts its matches up to this many, then says this many: counting every article
/// that holds a common word would cost the whole table on every page (see `db/search.rs`;
/// 10 000 cost 8 ms a page on PostgreSQL, 1 000 under 1 ms).
pub const SEARCH_COUNT_MAX: i64 = 1_000;

/// Where a page starts in the list's order: right after the cursor's article, or (without
/// one) after a point later than every article — so one statement serves both.
pub(super) fn start_of(before: Option<Cursor>) -> (NaiveDateTime, i64) {
    match before {
        Some(cursor) => (cursor.created_at, cursor.id),
        None => (
            chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
                .and_then(|d| d.and_hms_opt(23, 59, 59))
                .expect("a valid date"),
            i64::MAX,
        ),
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

/// What one write changes in a user's row of `user_counters`: articles written, favorites.
#[derive(Debug, Default, Clone, Copy)]
struct UserSteps {
    articles: i32,
    favorites: i32,
}

/// Applies the steps to each user's counters, in the order of their ids (every writer locks
/// these rows in id order, after the article and its tags and before `counters`, so two
/// writers never wait for each other in a circle). A user's first step creates their row.
fn count_for_users(
    conn: &mut AnyConnection,
    steps: &std::collections::BTreeMap<i64, UserSteps>,
) -> QueryResult<()> {
    for (&user, step) in steps {
        let change = |conn: &mut AnyConnection| {
            diesel::update(user_counters::table.find(user))
                .set((
                    user_counters::articles_count.eq(user_counters::articles_count + step.articles),
                    user_counters::favorites_count
                        .eq(user_counters::favorites_count + step.favorites),
                ))
                .execute(conn)
        };
        if change(conn)? == 0 {
            // No row yet. Another writer may create it first: the key refuses the second
            // insert (inside a savepoint), which then counts on the winner's row.
            let inserted = unless_taken(conn, |conn| {
                diesel::insert_into(user_counters::table)
                    .values((
                        user_counters::user_id.eq(user),
                        user_counters::articles_count.eq(step.articles),
                        user_counters::favorites_count.eq(step.favorites),
                    ))
                    .execute(conn)
            })?;
            if inserted.is_none() {
                change(conn)?;
            }
        }
    }
    Ok(())
}

/// [`count_for_users`] for one user.
fn count_for_user(conn: &mut AnyConnection, user: i64, step: UserSteps) -> QueryResult<()> {
    count_for_users(conn, &[(user, step)].into_iter().collect())
}

/// The `SELECT` list of a complete article for the viewer: the row with `favorited`, the
/// author with `following`, the tags joined by `,`. Expands to that tuple of column
/// expressions (a macro because the tuple's type is too long to write out).
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

/// Expands to `articles INNER JOIN users LEFT JOIN profiles`, boxed: articles with their
/// authors (and the authors' optional profile rows).
macro_rules! articles_with_authors {
    () => {
        articles::table
            .inner_join(users::table)
            .left_join(profiles::table.on(profiles::user_id.eq(articles::author_id)))
            .into_boxed()
    };
}

/// Narrows a boxed query over `articles` (alone or joined) by the filter: expands to the
/// query with one `.filter(articles.… IN (subquery))` per filter that is set. A macro, not a
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

/// A boxed query over rows in the list's order, narrowed to the page: after the cursor if
/// there is one — `(created_at, id) < (cursor)`, spelled so that both databases start the index
/// walk there — then `ORDER BY created_at DESC, id DESC LIMIT … OFFSET …` (it expands to the
/// query with those clauses added). `$created_at` and
/// `$id` are the columns that carry the article's sort key in the table walked.
macro_rules! page_of {
    ($query:expr, $page:expr, $created_at:expr, $id:expr) => {{
        let page: PageRequest = $page;
        let mut query = $query;
        if let Some(cursor) = page.before {
            query = query.filter(
                $created_at
                    .le(cursor.created_at)
                    .and($created_at.lt(cursor.created_at).or($id.lt(cursor.id))),
            );
        }
        query
            .order(($created_at.desc(), $id.desc()))
            .limit(page.limit)
            .offset(page.offset)
    }};
}

/// Expands to `(SELECT id FROM users WHERE username = $username)`, a scalar subquery: the
/// user's id, or NULL when there is none (and `= NULL` matches nothing).
macro_rules! user_named {
    ($username:expr) => {
        users::table
            .filter(users::username.eq($username))
            .select(users::id)
            .single_value()
    };
}

/// One page of articles, most recent first, and the total matching.
pub fn list(
    conn: &mut AnyConnection,
    filter: &Filter,
    page: PageRequest,
    viewer: Option<i64>,
) -> QueryResult<(Vec<Article>, i64)> {
    // Two statements, two moments: an article deleted in between leaves an id without a row,
    // and a page that shrank would look like the last one (no `Link`, the count its length).
    // Then the page is read again.
    let mut attempts = 0;
    let rows = loop {
        let ids = page_ids(conn, filter, page)?;
        let rows: Vec<Loaded> = if ids.is_empty() {
            Vec::new()
        } else {
            articles_with_authors!()
                .filter(articles::id.eq_any(&ids))
                .select(article_columns!(viewer_id(viewer)))
                .order((articles::created_at.desc(), articles::id.desc()))
                .load(conn)?
        };
        attempts += 1;
        if rows.len() == ids.len() || attempts == 3 {
            break rows;
        }
    };
    // A first page that is not full holds every match: no need to count them.
    let total = if page.offset == 0 && page.before.is_none() && (rows.len() as i64) < page.limit {
        rows.len() as i64
    } else {
        total(conn, filter)?
    };
    let articles = rows
        .into_iter()
        .map(|loaded| assemble(loaded, None))
        .collect();
    Ok((articles, total))
}

/// Step 1 of a list: the ids of the page, in the list's order, read from the index that
/// matches the filter.
fn page_ids(conn: &mut AnyConnection, filter: &Filter, page: PageRequest) -> QueryResult<Vec<i64>> {
    match filter.source() {
        Source::All => page_of!(
            articles::table.select(articles::id).into_boxed(),
            page,
            articles::created_at,
            articles::id
        )
        .load(conn),
        Source::Tag(name) => page_of!(
            article_tags::table
                .filter(
                    article_tags::tag_id.nullable().eq(tags::table
                        .filter(tags::name.eq(name))
                        .select(tags::id)
                        .single_value()),
                )
                .select(article_tags::article_id)
                .into_boxed(),
            page,
            article_tags::created_at,
            article_tags::article_id
        )
        .load(conn),
        Source::Author(name) => page_of!(
            articles::table
                .filter(articles::author_id.nullable().eq(user_named!(name)))
                .select(articles::id)
                .into_boxed(),
            page,
            articles::created_at,
            articles::id
        )
        .load(conn),
        Source::FavoritedBy(name) => page_of!(
            favorites::table
                .filter(favorites::user_id.nullable().eq(user_named!(name)))
                .select(favorites::article_id)
                .into_boxed(),
            page,
            favorites::article_created_at,
            favorites::article_id
        )
        .load(conn),
        Source::Feed(reader) if conn.backend() == Backend::Postgres => feed_ids(conn, reader, page),
        Source::Search(terms) => {
            let found = match conn {
                AnyConnection::Postgresql(pg) => {
                    Some(super::search::page_ids(pg, &terms.tsquery(), page)?)
                }
                AnyConnection::Sqlite(sqlite) => {
                    super::search::page_ids_sqlite(sqlite, &terms.fts5_query(), page)?
                }
            };
            match found {
                Some(ids) => Ok(ids),
                None => portable_ids(conn, filter, page),
            }
        }
        Source::Feed(_) | Source::Combined => portable_ids(conn, filter, page),
    }
}

/// The ids of a page by the portable query: the filters as subqueries, walked in
/// `articles_recent_idx` order (or the matches sorted, as the database sees fit).
fn portable_ids(
    conn: &mut AnyConnection,
    filter: &Filter,
    page: PageRequest,
) -> QueryResult<Vec<i64>> {
    let backend = conn.backend();
    page_of!(
        filtered!(articles::table.into_boxed(), backend, filter).select(articles::id),
        page,
        articles::created_at,
        articles::id
    )
    .load(conn)
}

/// The feed's page on PostgreSQL: each followed author's newest `limit + offset` articles
/// (an index range each, `LATERAL`), merged — the page costs the followed authors times the
/// page, not all their articles. SQLite has no `LATERAL`; it walks `articles_recent_idx` and
/// keeps the followed authors' articles, which costs the page divided by the share of
/// articles the reader follows (measured in the README).
fn feed_ids(conn: &mut AnyConnection, reader: i64, page: PageRequest) -> QueryResult<Vec<i64>> {
    let (created_at, id) = start_of(page.before);
    let query = FeedIds {
        reader,
        created_at,
        id,
        per_author: page.limit + page.offset,
        limit: page.limit,
        offset: page.offset,
    };
    match conn {
        AnyConnection::Postgresql(pg) => query.load(pg),
        AnyConnection::Sqlite(_) => unreachable!("the feed's LATERAL query is PostgreSQL's"),
    }
}

/// The feed's `LATERAL` statement, which diesel's query builder cannot write, as a query type
/// of its own: diesel then prepares it once per connection, like every builder query. Written
/// with `sql_query` it was parsed and planned on every request — a fifth of the feed's time.
#[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
struct FeedIds {
    reader: i64,
    created_at: NaiveDateTime,
    id: i64,
    per_author: i64,
    limit: i64,
    offset: i64,
}

impl diesel::query_builder::Query for FeedIds {
    type SqlType = BigInt;
}

impl<Conn> RunQueryDsl<Conn> for FeedIds {}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for FeedIds {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        out.push_sql(
            "SELECT newest.id FROM follows CROSS JOIN LATERAL (\
             SELECT a.id, a.created_at FROM articles AS a \
             WHERE a.author_id = follows.followee_id AND (a.created_at, a.id) < (",
        );
        out.push_bind_param::<Timestamp, _>(&self.created_at)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&self.id)?;
        out.push_sql(") ORDER BY a.created_at DESC, a.id DESC LIMIT ");
        out.push_bind_param::<BigInt, _>(&self.per_author)?;
        out.push_sql(") AS newest WHERE follows.follower_id = ");
        out.push_bind_param::<BigInt, _>(&self.reader)?;
        out.push_sql(" ORDER BY newest.created_at DESC, newest.id DESC LIMIT ");
        out.push_bind_param::<BigInt, _>(&self.limit)?;
        out.push_sql(" OFFSET ");
        out.push_bind_param::<BigInt, _>(&self.offset)?;
        Ok(())
    }
}

/// Step 3 of a list: how many articles match in all, from the counts the writes keep.
fn total(conn: &mut AnyConnection, filter: &Filter) -> QueryResult<i64> {
    match filter.source() {
        Source::All => counters::table
            .find(ARTICLES)
            .select(counters::value)
            .first(conn),
        Source::Tag(name) => Ok(tags::table
            .filter(tags::name.eq(name))
            .select(tags::articles_count)
            .first::<i32>(conn)
            .optional()?
            .map_or(0, i64::from)),
        Source::Author(name) => Ok(user_counters::table
            .filter(user_counters::user_id.nullable().eq(user_named!(name)))
            .select(user_counters::articles_count)
            .first::<i32>(conn)
            .optional()?
            .map_or(0, i64::from)),
        Source::FavoritedBy(name) => Ok(user_counters::table
            .filter(user_counters::user_id.nullable().eq(user_named!(name)))
            .select(user_counters::favorites_count)
            .first::<i32>(conn)
            .optional()?
            .map_or(0, i64::from)),
        // Exact: every article has one author, so the feed holds exactly the sum of its
        // followed authors' articles.
        Source::Feed(reader) => Ok(follows::table
            .inner_join(user_counters::table.on(user_counters::user_id.eq(follows::followee_id)))
            .filter(follows::follower_id.eq(reader))
            .select(sum(user_counters::articles_count))
            .first::<Option<i64>>(conn)?
            .unwrap_or(0)),
        Source::Search(terms) => match conn {
            AnyConnection::Postgresql(pg) => super::search::count(pg, &terms.tsquery()),
            AnyConnection::Sqlite(sqlite) => {
                super::search::count_sqlite(sqlite, &terms.fts5_query())
            }
        },
        Source::Combined => {
            let backend = conn.backend();
            if filter.search.is_some() {
                // Is there a match past the cap? Then say the cap, without counting on.
                let beyond: Option<i64> = filtered!(articles::table.into_boxed(), backend, filter)
                    .select(articles::id)
                    .limit(1)
                    .offset(SEARCH_COUNT_MAX)
                    .get_result(conn)
                    .optional()?;
                if beyond.is_some() {
                    return Ok(SEARCH_COUNT_MAX);
                }
            }
            filtered!(articles::table.into_boxed(), backend, filter)
                .count()
                .get_result(conn)
        }
    }
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

/// The bodies (Markdown, and rendered HTML) of many articles in one statement: GraphQL's
/// `body` on a page of articles, which the list itself leaves out.
pub fn bodies(conn: &mut AnyConnection, ids: &[i64]) -> QueryResult<Vec<(i64, String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    articles::table
        .filter(articles::id.eq_any(ids))
        .select((articles::id, articles::body, articles::body_html))
        .load(conn)
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
        articles::created_at,
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
    created_at: NaiveDateTime,
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
        let added = link_tags(conn, id, now, new.tags)?;
        count_in_tags(conn, &[], &added)?;
        count_for_user(
            conn,
            author,
            UserSteps {
                articles: 1,
                favorites: 0,
            },
        )?;
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
            let added = link_tags(conn, current.id, current.created_at, tags)?;
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
        // The favorites would go with the article (ON DELETE CASCADE), but each one is in a
        // user's count: delete them here, where they can be counted out.
        let fans: Vec<i64> =
            diesel::delete(favorites::table.filter(favorites::article_id.eq(current.id)))
                .returning(favorites::user_id)
                .get_results(conn)?;
        let mut steps = std::collections::BTreeMap::<i64, UserSteps>::new();
        steps.entry(current.author_id).or_default().articles -= 1;
        for fan in fans {
            steps.entry(fan).or_default().favorites -= 1;
        }
        count_for_users(conn, &steps)?;
        diesel::delete(articles::table.find(current.id)).execute(conn)?;
        count_articles(conn, -1)?;
        Ok(Outcome::Done(()))
    })
}

/// Links the article (written at `created_at`) to its tags, creating the tags that are new;
/// the ids of the tags.
fn link_tags(
    conn: &mut AnyConnection,
    article: i64,
    created_at: NaiveDateTime,
    names: &[String],
) -> QueryResult<Vec<i64>> {
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
                // A copy, so a tag's page is read in the articles' order from one index.
                article_tags::created_at.eq(created_at),
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
    write_transaction(conn, |conn| {
        // The article first, locked (as a delete locks it), then its favorites: a delete and
        // an unfavorite of one article once locked them in opposite orders, and PostgreSQL
        // broke the deadlock with a 500 for one of them. `NO KEY UPDATE`: favorites of one
        // article still only queue on its count, as they did.
        let query = articles::table
            .filter(articles::slug.eq(slug))
            .select((articles::id, articles::created_at));
        let found: Option<(i64, NaiveDateTime)> = match conn {
            AnyConnection::Postgresql(pg) => query.for_no_key_update().first(pg).optional()?,
            AnyConnection::Sqlite(sqlite) => query.first(sqlite).optional()?,
        };
        let Some((article, written_at)) = found else {
            return Ok(Outcome::NotFound);
        };
        let changed = if favorite {
            unless_taken(conn, |conn| {
                diesel::insert_into(favorites::table)
                    .values((
                        favorites::user_id.eq(user),
                        favorites::article_id.eq(article),
                        favorites::created_at.eq(backend_kit::time::now()),
                        // A copy, so a user's favorites are read in the articles' order.
                        favorites::article_created_at.eq(written_at),
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
            count_for_user(
                conn,
                user,
                UserSteps {
                    articles: 0,
                    favorites: step,
                },
            )?;
        }
        Ok(Outcome::Done(()))
    })
}
