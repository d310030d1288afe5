//! A search page whose cost does not grow with the table.
//!
//! Search matches words as prefixes (`drag` finds "dragons"), and PostgreSQL cannot estimate
//! how many rows a prefix matches: it assumes 2 % of the table whatever the word. On that
//! guess it chose, for the newest 20 matches, to walk `articles_recent_idx` and test every
//! article — quick for a word in every article, but a word in none read all 100 000 (360 ms)
//! — and, to count, the full-text index, whose cost is every match (30 ms for a word in
//! every article, on every page). So the code decides, not the planner's guess:
//!
//! - **The page** first tests only the newest articles, a window of at least
//!   [`WINDOW`] (from the cursor on, if any). A word that fills the page there is common, and
//!   that page is exact: the first `offset + limit` matches of the window are the first of
//!   the table. Otherwise the word is rare (fewer than `offset + limit` in the window), and
//!   the full-text index finds every match — few, by that very test — which are sorted.
//! - **`articlesCount`** is exact up to [`SEARCH_COUNT_MAX`], then says that many. The
//!   newest `2 × SEARCH_COUNT_MAX` articles are tested first, stopping at the cap: more
//!   matches than the cap there settle it; otherwise the full-text index counts (the word is
//!   in at most half of the newest articles), stopping at the cap.
//!
//! SQLite does the same with FTS5 (`*_sqlite`): the same window, found as a range of rowids,
//! and a count that stops at the cap. On both, what the window cannot settle runs the portable
//! query in [`super::articles`].

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use diesel::sqlite::SqliteConnection;

use super::articles::{PageRequest, SEARCH_COUNT_MAX, start_of};

/// The fewest newest articles a page tests before it takes the word for rare.
pub const WINDOW: i64 = 1_000;

/// How many of the newest articles a page tests: at least [`WINDOW`], and twice what the page
/// needs, so that a word in half the articles still fills it there.
fn window_for(page: PageRequest) -> i64 {
    WINDOW.max(2 * (page.offset + page.limit))
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// The ids of a search page, in the list's order (`tsquery` as `SearchTerms::tsquery`).
pub(super) fn page_ids(
    pg: &mut PgConnection,
    tsquery: &str,
    page: PageRequest,
) -> QueryResult<Vec<i64>> {
    let (created_at, id) = start_of(page.before);
    let window = window_for(page);
    // The window in index order (a subquery with its own LIMIT), tested row by row until the
    // page is found: a common word reads about `offset + limit` rows of it.
    let in_window: Vec<Id> = diesel::sql_query(
        "SELECT id FROM ( \
             SELECT id, created_at, search FROM articles \
             WHERE (created_at, id) < ($2, $3) \
             ORDER BY created_at DESC, id DESC LIMIT $4 \
         ) AS newest \
         WHERE search @@ to_tsquery('simple', $1) \
         ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6",
    )
    .bind::<Text, _>(tsquery)
    .bind::<Timestamp, _>(created_at)
    .bind::<BigInt, _>(id)
    .bind::<BigInt, _>(window)
    .bind::<BigInt, _>(page.limit)
    .bind::<BigInt, _>(page.offset)
    .load(pg)?;
    if in_window.len() as i64 == page.limit {
        // `offset + limit` matches in the window: the first of the whole table.
        return Ok(in_window.into_iter().map(|m| m.id).collect());
    }
    // Rare: every match from the full-text index (MATERIALIZED keeps the planner from
    // walking the recent index instead), then sorted.
    let ids: Vec<Id> = diesel::sql_query(
        "WITH matches AS MATERIALIZED ( \
             SELECT id, created_at FROM articles \
             WHERE search @@ to_tsquery('simple', $1) AND (created_at, id) < ($2, $3) \
         ) \
         SELECT id FROM matches ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5",
    )
    .bind::<Text, _>(tsquery)
    .bind::<Timestamp, _>(created_at)
    .bind::<BigInt, _>(id)
    .bind::<BigInt, _>(page.limit)
    .bind::<BigInt, _>(page.offset)
    .load(pg)?;
    Ok(ids.into_iter().map(|m| m.id).collect())
}

/// How many articles match, up to [`SEARCH_COUNT_MAX`].
pub(super) fn count(pg: &mut PgConnection, tsquery: &str) -> QueryResult<i64> {
    // Stops at the first `SEARCH_COUNT_MAX + 1` matches among the newest: a common word
    // reads about that many rows.
    let newest: Count = diesel::sql_query(
        "SELECT count(*) AS count FROM ( \
             SELECT 1 FROM ( \
                 SELECT search FROM articles ORDER BY created_at DESC, id DESC LIMIT $2 \
             ) AS newest \
             WHERE search @@ to_tsquery('simple', $1) LIMIT $3 \
         ) AS found",
    )
    .bind::<Text, _>(tsquery)
    .bind::<BigInt, _>(2 * SEARCH_COUNT_MAX)
    .bind::<BigInt, _>(SEARCH_COUNT_MAX + 1)
    .get_result(pg)?;
    if newest.count > SEARCH_COUNT_MAX {
        return Ok(SEARCH_COUNT_MAX);
    }
    let capped: Count = diesel::sql_query(
        "SELECT count(*) AS count FROM ( \
             SELECT 1 FROM articles WHERE search @@ to_tsquery('simple', $1) LIMIT $2 \
         ) AS capped",
    )
    .bind::<Text, _>(tsquery)
    .bind::<BigInt, _>(SEARCH_COUNT_MAX + 1)
    .get_result(pg)?;
    Ok(capped.count.min(SEARCH_COUNT_MAX))
}

#[derive(QueryableByName)]
struct Window {
    #[diesel(sql_type = Nullable<BigInt>)]
    lo: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    hi: Option<i64>,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = Nullable<Timestamp>)]
    oldest: Option<chrono::NaiveDateTime>,
}

/// [`page_ids`] on SQLite. FTS5 cannot test one row cheaply (each test runs the whole query),
/// but it can find the matches within a range of rowids: the window is the ids of the newest
/// articles, from the smallest to the largest. `None`: the word is rare, and the caller runs
/// the portable query (FTS5 finds every match, then they are sorted).
pub(super) fn page_ids_sqlite(
    sqlite: &mut SqliteConnection,
    fts5_query: &str,
    page: PageRequest,
) -> QueryResult<Option<Vec<i64>>> {
    let (created_at, id) = start_of(page.before);
    let window = window_for(page);
    let bounds: Window = diesel::sql_query(
        "SELECT min(id) AS lo, max(id) AS hi, count(*) AS n, min(created_at) AS oldest FROM ( \
             SELECT id, created_at FROM articles WHERE (created_at, id) < (?, ?) \
             ORDER BY created_at DESC, id DESC LIMIT ? \
         ) AS newest",
    )
    .bind::<Timestamp, _>(created_at)
    .bind::<BigInt, _>(id)
    .bind::<BigInt, _>(window)
    .get_result(sqlite)?;
    let (Some(lo), Some(hi), Some(oldest)) = (bounds.lo, bounds.hi, bounds.oldest) else {
        return Ok(Some(Vec::new()));
    };
    // Every article after the cursor written at or after the window's oldest, with an id in
    // the window's range: the window, and perhaps a few articles of its oldest instant. Both
    // come first in the list's order, so the first matches among them are the list's.
    let ids: Vec<Id> = diesel::sql_query(
        "SELECT a.id FROM articles AS a \
         WHERE a.id IN (SELECT rowid FROM articles_fts \
                        WHERE articles_fts MATCH ? AND rowid BETWEEN ? AND ?) \
           AND (a.created_at, a.id) < (?, ?) AND a.created_at >= ? \
         ORDER BY a.created_at DESC, a.id DESC LIMIT ? OFFSET ?",
    )
    .bind::<Text, _>(fts5_query)
    .bind::<BigInt, _>(lo)
    .bind::<BigInt, _>(hi)
    .bind::<Timestamp, _>(created_at)
    .bind::<BigInt, _>(id)
    .bind::<Timestamp, _>(oldest)
    .bind::<BigInt, _>(page.limit)
    .bind::<BigInt, _>(page.offset)
    .load(sqlite)?;
    // A full page, or a window that held every article left: exact.
    if ids.len() as i64 == page.limit || bounds.n < window {
        return Ok(Some(ids.into_iter().map(|m| m.id).collect()));
    }
    Ok(None)
}

/// [`count`] on SQLite: FTS5 returns matches one by one, so counting stops at the cap.
pub(super) fn count_sqlite(sqlite: &mut SqliteConnection, fts5_query: &str) -> QueryResult<i64> {
    let found: Count = diesel::sql_query(
        "SELECT count(*) AS count FROM ( \
             SELECT 1 FROM articles_fts WHERE articles_fts MATCH ? LIMIT ? \
         ) AS capped",
    )
    .bind::<Text, _>(fts5_query)
    .bind::<BigInt, _>(SEARCH_COUNT_MAX + 1)
    .get_result(sqlite)?;
    Ok(found.count.min(SEARCH_COUNT_MAX))
}
