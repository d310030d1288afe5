//! A search page on PostgreSQL whose cost does not grow with the table.
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
//! SQLite runs the portable query in [`super::articles`] (FTS5 finds the matches, then
//! they are sorted): measured in the README.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use super::articles::{PageRequest, SEARCH_COUNT_MAX, start_of};

/// The fewest newest articles a page tests before it takes the word for rare.
pub const WINDOW: i64 = 1_000;

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
    let wanted = page.offset + page.limit;
    let window = WINDOW.max(2 * wanted);
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
