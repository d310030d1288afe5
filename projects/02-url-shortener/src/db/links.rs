//! Queries on `links` and `visits`.

use std::collections::{BTreeMap, BTreeSet};

use backend_kit::db::AnyConnection;
use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;

use super::schema::{links, visits};

#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = links)]
pub struct Link {
    pub id: i64,
    pub code: String,
    pub url: String,
    pub user_id: Option<i64>,
    pub redirect_type: Option<i32>,
    pub expires_at: Option<NaiveDateTime>,
    pub max_visits: Option<i64>,
    pub password_hash: Option<String>,
    pub access_count: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub struct NewLink {
    pub code: String,
    pub url: String,
    pub user_id: Option<i64>,
    pub redirect_type: Option<i32>,
    pub expires_at: Option<NaiveDateTime>,
    pub max_visits: Option<i64>,
    pub password_hash: Option<String>,
}

/// Columns to change; `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = links)]
pub struct LinkChanges {
    pub url: Option<String>,
    pub redirect_type: Option<Option<i32>>,
    pub expires_at: Option<Option<NaiveDateTime>>,
    pub max_visits: Option<Option<i64>>,
    pub password_hash: Option<Option<String>>,
    pub updated_at: Option<NaiveDateTime>,
}

/// One visit, as the recorder batches it.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = visits)]
pub struct NewVisit {
    pub link_id: i64,
    pub visited_at: NaiveDateTime,
    pub referrer_host: Option<String>,
    pub browser: String,
    pub is_bot: bool,
}

pub fn insert(conn: &mut AnyConnection, new: NewLink) -> QueryResult<Link> {
    let now = backend_kit::time::now();
    diesel::insert_into(links::table)
        .values((
            links::code.eq(new.code),
            links::url.eq(new.url),
            links::user_id.eq(new.user_id),
            links::redirect_type.eq(new.redirect_type),
            links::expires_at.eq(new.expires_at),
            links::max_visits.eq(new.max_visits),
            links::password_hash.eq(new.password_hash),
            links::access_count.eq(0),
            links::created_at.eq(now),
            links::updated_at.eq(now),
        ))
        .returning(links::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut AnyConnection, code: &str) -> QueryResult<Option<Link>> {
    links::table
        .filter(links::code.eq(code))
        .select(Link::as_select())
        .first(conn)
        .optional()
}

pub fn update(
    conn: &mut AnyConnection,
    code: &str,
    mut changes: LinkChanges,
) -> QueryResult<Option<Link>> {
    changes.updated_at = Some(backend_kit::time::now());
    diesel::update(links::table.filter(links::code.eq(code)))
        .set(&changes)
        .returning(links::all_columns)
        .get_result(conn)
        .optional()
}

pub fn delete(conn: &mut AnyConnection, code: &str) -> QueryResult<usize> {
    diesel::delete(links::table.filter(links::code.eq(code))).execute(conn)
}

/// Counts one visit of a link with `max_visits`, if the limit allows: the limit is in the
/// WHERE clause, so of 50 concurrent visits to a 10-visit link exactly 10 get a row updated.
pub fn take_limited_visit(conn: &mut AnyConnection, link_id: i64) -> QueryResult<bool> {
    let updated = diesel::update(
        links::table.filter(links::id.eq(link_id)).filter(
            links::max_visits
                .is_null()
                .or(links::access_count.lt(links::max_visits.assume_not_null())),
        ),
    )
    .set(links::access_count.eq(links::access_count + 1))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Writes a batch of visits in one transaction: the raw rows, and per link the number of
/// (non-bot, not already counted) visits added to `access_count`.
pub fn record_visits(
    conn: &mut AnyConnection,
    batch: &[NewVisit],
    counts: &BTreeMap<i64, i64>,
) -> QueryResult<()> {
    conn.transaction(|conn| {
        for (link_id, n) in counts {
            diesel::update(links::table.find(link_id))
                .set(links::access_count.eq(links::access_count + n))
                .execute(conn)?;
        }
        // Multi-row INSERT is one statement instead of hundreds, but MultiConnection cannot
        // build it: the one place we match on the backend and use each driver directly.
        // Rows of links deleted meanwhile would break the foreign key; keep only live ones.
        let ids: BTreeSet<i64> = batch.iter().map(|v| v.link_id).collect();
        let live: BTreeSet<i64> = links::table
            .filter(links::id.eq_any(ids))
            .select(links::id)
            .load::<i64>(conn)?
            .into_iter()
            .collect();
        let rows: Vec<NewVisit> = batch
            .iter()
            .filter(|v| live.contains(&v.link_id))
            .cloned()
            .collect();
        if rows.is_empty() {
            return Ok(());
        }
        match conn {
            AnyConnection::Postgresql(pg) => {
                diesel::insert_into(visits::table).values(&rows).execute(pg)
            }
            AnyConnection::Sqlite(sqlite) => diesel::insert_into(visits::table)
                .values(&rows)
                .execute(sqlite),
        }
        .map(|_| ())
    })
}

/// Non-bot visits grouped by referrer host or browser family, most first.
pub fn visits_by(
    conn: &mut AnyConnection,
    link_id: i64,
    by_referrer: bool,
) -> QueryResult<Vec<(String, i64)>> {
    let humans = visits::table
        .filter(visits::link_id.eq(link_id))
        .filter(visits::is_bot.eq(false));
    let mut rows: Vec<(String, i64)> = if by_referrer {
        humans
            .group_by(visits::referrer_host)
            .select((visits::referrer_host, count_star()))
            .load::<(Option<String>, i64)>(conn)?
            .into_iter()
            .map(|(host, n)| (host.unwrap_or_else(|| "(direct)".into()), n))
            .collect()
    } else {
        humans
            .group_by(visits::browser)
            .select((visits::browser, count_star()))
            .load(conn)?
    };
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(rows)
}

/// Non-bot visits per UTC day, oldest first. Counted in Rust because date functions differ
/// between the two databases; the daily roll-up job will make this a plain read.
pub fn visits_by_day(conn: &mut AnyConnection, link_id: i64) -> QueryResult<Vec<(String, i64)>> {
    let times: Vec<NaiveDateTime> = visits::table
        .filter(visits::link_id.eq(link_id))
        .filter(visits::is_bot.eq(false))
        .select(visits::visited_at)
        .load(conn)?;
    let mut days: BTreeMap<String, i64> = BTreeMap::new();
    for t in times {
        *days.entry(t.date().to_string()).or_default() += 1;
    }
    Ok(days.into_iter().collect())
}
