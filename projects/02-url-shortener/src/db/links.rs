//! Queries on `links` and `visits`.

use std::collections::{BTreeMap, BTreeSet};

use backend_kit::db::AnyConnection;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::schema::{daily_visits, links, visit_tallies, visits};
use crate::domain::{Breakdown, CustomCode, ShortCode};

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
    pub expired_at: Option<NaiveDateTime>,
    /// SHA-256 of an anonymous link's manage token (see `check_change` in `crate::links`).
    pub manage_token_hash: Option<String>,
}

/// A link to insert; its code is chosen by [`insert_with_code`].
#[derive(Debug, Clone)]
pub struct NewLink {
    pub url: String,
    pub user_id: Option<i64>,
    pub redirect_type: Option<i32>,
    pub expires_at: Option<NaiveDateTime>,
    pub max_visits: Option<i64>,
    pub password_hash: Option<String>,
    pub manage_token_hash: Option<String>,
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
    /// Cleared on every update: the cron job marks the link again if it is still expired.
    pub expired_at: Option<Option<NaiveDateTime>>,
}

/// A visit, or `hits` identical ones in the same second, as the recorder writes them (and, as
/// JSON, as the visit feed tells other instances of them).
#[derive(Debug, Clone, Insertable, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = visits)]
pub struct NewVisit {
    pub link_id: i64,
    pub visited_at: NaiveDateTime,
    pub referrer_host: Option<String>,
    pub browser: String,
    pub is_bot: bool,
    pub hits: i64,
}

/// `SUM(hits)` as a BIGINT on both databases (PostgreSQL's SUM of a BIGINT is NUMERIC).
fn total_hits() -> diesel::expression::SqlLiteral<diesel::sql_types::BigInt> {
    diesel::dsl::sql("CAST(SUM(hits) AS BIGINT)")
}

/// Fresh random codes tried before giving up: a collision at 62^7 is rare, five in a row
/// means something else is wrong.
const CODE_ATTEMPTS: usize = 5;

/// Why a link could not be given a code.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    #[error("customCode is already taken")]
    Taken,
    #[error("could not find a free short code")]
    Exhausted,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Inserts `new` under `custom`, or under a fresh random code of `code_length` characters,
/// trying again when a random code is taken (the UNIQUE index decides, so concurrent inserts
/// are safe). Inside a transaction, pass `savepoint`: on PostgreSQL a failed INSERT would
/// otherwise abort the whole transaction.
pub fn insert_with_code(
    conn: &mut AnyConnection,
    new: &NewLink,
    custom: Option<&CustomCode>,
    code_length: usize,
    savepoint: bool,
) -> Result<Link, CodeError> {
    let attempts = if custom.is_some() { 1 } else { CODE_ATTEMPTS };
    for _ in 0..attempts {
        let code = match custom {
            Some(custom) => ShortCode::from(custom.clone()),
            None => ShortCode::generate(code_length),
        };
        let inserted = if savepoint {
            conn.transaction(|conn| insert(conn, new, code.as_str()))
        } else {
            insert(conn, new, code.as_str())
        };
        match inserted {
            Ok(link) => return Ok(link),
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                if custom.is_some() {
                    return Err(CodeError::Taken);
                }
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(CodeError::Exhausted)
}

fn insert(conn: &mut AnyConnection, new: &NewLink, code: &str) -> QueryResult<Link> {
    let new = new.clone();
    let now = backend_kit::time::now();
    diesel::insert_into(links::table)
        .values((
            links::code.eq(code),
            links::url.eq(new.url),
            links::user_id.eq(new.user_id),
            links::redirect_type.eq(new.redirect_type),
            links::expires_at.eq(new.expires_at),
            links::max_visits.eq(new.max_visits),
            links::password_hash.eq(new.password_hash),
            links::manage_token_hash.eq(new.manage_token_hash),
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

/// Updates the link with this `id` (not code: a code deleted and made again is another link,
/// and a check made on the first must not let a change reach the second).
pub fn update(
    conn: &mut AnyConnection,
    id: i64,
    mut changes: LinkChanges,
) -> QueryResult<Option<Link>> {
    changes.updated_at = Some(backend_kit::time::now());
    changes.expired_at = Some(None);
    diesel::update(links::table.find(id))
        .set(&changes)
        .returning(links::all_columns)
        .get_result(conn)
        .optional()
}

pub fn delete(conn: &mut AnyConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(links::table.find(id)).execute(conn)
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

/// Whether a link may still give a redirect (no limit, or visits left), without taking one:
/// for visits that are not counted (bots, `HEAD`).
pub fn has_visits_left(conn: &mut AnyConnection, link_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        links::table.filter(links::id.eq(link_id)).filter(
            links::max_visits
                .is_null()
                .or(links::access_count.lt(links::max_visits.assume_not_null())),
        ),
    ))
    .get_result(conn)
}

/// Writes a batch of visits in one transaction: the raw rows, per link the number of
/// (non-bot, not already counted) visits added to `access_count`, and the non-bot hits added
/// to the link's referrer and browser tallies.
pub fn record_visits(
    conn: &mut AnyConnection,
    batch: &[NewVisit],
    counts: &BTreeMap<i64, i64>,
) -> QueryResult<()> {
    conn.transaction(|conn| {
        if let AnyConnection::Postgresql(pg) = conn {
            // Visit counts may lose their last fraction of a second if PostgreSQL itself
            // crashes, but a commit no longer waits for the disk: a slow fsync stalled the
            // writer for seconds while redirects kept queueing visits.
            diesel::sql_query("SET LOCAL synchronous_commit = off").execute(pg)?;
        }
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
        }?;
        tally(conn, &rows)
    })
}

/// Adds the batch's non-bot hits to each (link, referrer host) and (link, browser) tally.
/// The rows go in key order: two instances' recorders then lock shared tallies in the same
/// order and never wait for each other in a circle.
fn tally(conn: &mut AnyConnection, rows: &[NewVisit]) -> QueryResult<()> {
    let mut sums: BTreeMap<(i64, &str, &str), i64> = BTreeMap::new();
    for visit in rows.iter().filter(|v| !v.is_bot) {
        let referrer = visit.referrer_host.as_deref().unwrap_or(DIRECT_KEY);
        *sums.entry((visit.link_id, REFERRER, referrer)).or_default() += visit.hits;
        *sums
            .entry((visit.link_id, BROWSER, &visit.browser))
            .or_default() += visit.hits;
    }
    if sums.is_empty() {
        return Ok(());
    }
    let values: Vec<_> = sums
        .iter()
        .map(|(&(link, kind, name), &hits)| {
            (
                visit_tallies::link_id.eq(link),
                visit_tallies::kind.eq(kind),
                visit_tallies::name.eq(name),
                visit_tallies::hits.eq(hits),
            )
        })
        .collect();
    use diesel::upsert::excluded;
    let add = visit_tallies::hits.eq(visit_tallies::hits + excluded(visit_tallies::hits));
    let key = (
        visit_tallies::link_id,
        visit_tallies::kind,
        visit_tallies::name,
    );
    // An upsert per backend, for the reason the insert above is.
    match conn {
        AnyConnection::Postgresql(pg) => diesel::insert_into(visit_tallies::table)
            .values(&values)
            .on_conflict(key)
            .do_update()
            .set(add)
            .execute(pg),
        AnyConnection::Sqlite(sqlite) => diesel::insert_into(visit_tallies::table)
            .values(&values)
            .on_conflict(key)
            .do_update()
            .set(add)
            .execute(sqlite),
    }
    .map(|_| ())
}

/// `visit_tallies.kind` of the two breakdowns it keeps.
const REFERRER: &str = "referrer";
const BROWSER: &str = "browser";
/// The tally name of visits without a referrer (shown as "(direct)").
const DIRECT_KEY: &str = "";

/// How many groups a breakdown shows: the top referrers and browsers, the last days. The
/// rest is summed into one more group, [`OTHER`]. Referrers are chosen by whoever follows a
/// link, so their number has no other bound.
pub const BREAKDOWN_GROUPS: usize = 100;

/// The key of the group that sums everything past the first [`BREAKDOWN_GROUPS`].
pub const OTHER: &str = "other";

/// Non-bot visits broken down as asked: per day (oldest first, [`OTHER`] summing the days
/// before the last [`BREAKDOWN_GROUPS`] leading), or grouped by referrer host or browser
/// family (most first; past [`BREAKDOWN_GROUPS`] groups, [`OTHER`] last).
pub fn visits_by(
    conn: &mut AnyConnection,
    link_id: i64,
    by: Breakdown,
) -> QueryResult<Vec<(String, i64)>> {
    // One more than shown: whether there is a rest to sum.
    let limit = BREAKDOWN_GROUPS as i64 + 1;
    let kind = match by {
        Breakdown::Day => {
            let days = visits_by_day(conn, link_id)?;
            let older = days.len().saturating_sub(BREAKDOWN_GROUPS);
            let rest: i64 = days[..older].iter().map(|(_, n)| n).sum();
            // Oldest first: the older days' sum leads.
            let mut shown = Vec::with_capacity(BREAKDOWN_GROUPS + 1);
            if older > 0 {
                shown.push((OTHER.to_string(), rest));
            }
            shown.extend_from_slice(&days[older..]);
            return Ok(shown);
        }
        Breakdown::Referrer => REFERRER,
        Breakdown::Browser => BROWSER,
    };
    // The tallies the recorder keeps, top first (`visit_tallies_top_idx`): the page of groups
    // costs the groups shown, not the link's visits.
    let tallies = visit_tallies::table
        .filter(visit_tallies::link_id.eq(link_id))
        .filter(visit_tallies::kind.eq(kind));
    let mut rows: Vec<(String, i64)> = tallies
        .order_by((visit_tallies::hits.desc(), visit_tallies::name.asc()))
        .select((visit_tallies::name, visit_tallies::hits))
        .limit(limit)
        .load::<(String, i64)>(conn)?
        .into_iter()
        .map(|(name, n)| match name.as_str() {
            DIRECT_KEY => ("(direct)".to_string(), n),
            _ => (name, n),
        })
        .collect();
    // "(direct)" sorts before every host, as "" did.
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if rows.len() > BREAKDOWN_GROUPS {
        rows.truncate(BREAKDOWN_GROUPS);
        // The rest: every group's hits but the shown ones (one row per group, not per visit).
        let total: i64 = tallies.select(total_hits()).first(conn)?;
        let shown: i64 = rows.iter().map(|(_, n)| n).sum();
        rows.push((OTHER.to_string(), total - shown));
    }
    Ok(rows)
}

/// Non-bot visits per UTC day, oldest first: the rolled-up days from `daily_visits`, then the
/// days after the last roll-up counted from the raw rows.
fn visits_by_day(conn: &mut AnyConnection, link_id: i64) -> QueryResult<Vec<(String, i64)>> {
    let mut days: BTreeMap<NaiveDate, i64> = daily_visits::table
        .filter(daily_visits::link_id.eq(link_id))
        .select((daily_visits::day, daily_visits::visits))
        .load(conn)?
        .into_iter()
        .collect();
    let mut raw = visits::table
        .filter(visits::link_id.eq(link_id))
        .filter(visits::is_bot.eq(false))
        .select((visits::visited_at, visits::hits))
        .into_boxed();
    if let Some(start) = unrolled_from(conn)? {
        raw = raw.filter(visits::visited_at.ge(start));
    }
    // Grouped in Rust: date functions differ between the two databases.
    for (t, hits) in raw.load::<(NaiveDateTime, i64)>(conn)? {
        *days.entry(t.date()).or_default() += hits;
    }
    Ok(days.into_iter().map(|(d, n)| (d.to_string(), n)).collect())
}

/// Where raw visits stop being rolled up: midnight after the last rolled day (`None`: nothing
/// rolled up yet). Roll-ups cover every link at once, so one bound serves them all.
fn unrolled_from(conn: &mut AnyConnection) -> QueryResult<Option<NaiveDateTime>> {
    let last: Option<NaiveDate> = daily_visits::table
        .select(diesel::dsl::max(daily_visits::day))
        .first(conn)?;
    Ok(last
        .and_then(|d| d.succ_opt())
        .map(|d| d.and_time(NaiveTime::MIN)))
}

/// Rolls every complete UTC day not yet rolled up into `daily_visits`, in one transaction.
/// Returns the number of (link, day) rows written. Safe to run again, or on several
/// instances at once: a second run finds nothing new (and a racing one fails on the primary key
/// and rolls back).
pub fn roll_up_visits(conn: &mut AnyConnection, today: NaiveDate) -> QueryResult<usize> {
    conn.transaction(|conn| {
        let end = today.and_time(NaiveTime::MIN);
        let mut rows = visits::table
            .filter(visits::is_bot.eq(false))
            .filter(visits::visited_at.lt(end))
            .select((visits::link_id, visits::visited_at, visits::hits))
            .into_boxed();
        if let Some(start) = unrolled_from(conn)? {
            rows = rows.filter(visits::visited_at.ge(start));
        }
        let mut counts: BTreeMap<(i64, NaiveDate), i64> = BTreeMap::new();
        for (link_id, at, hits) in rows.load::<(i64, NaiveDateTime, i64)>(conn)? {
            *counts.entry((link_id, at.date())).or_default() += hits;
        }
        for ((link_id, day), n) in &counts {
            diesel::insert_into(daily_visits::table)
                .values((
                    daily_visits::link_id.eq(link_id),
                    daily_visits::day.eq(day),
                    daily_visits::visits.eq(n),
                ))
                .execute(conn)?;
        }
        Ok(counts.len())
    })
}

/// Marks links that expired or used up their visits since the last run; returns their codes
/// (the caller evicts them from the cache).
pub fn mark_expired(conn: &mut AnyConnection, now: NaiveDateTime) -> QueryResult<Vec<String>> {
    diesel::update(
        links::table.filter(links::expired_at.is_null()).filter(
            links::expires_at.le(now).or(links::max_visits
                .is_not_null()
                .and(links::access_count.ge(links::max_visits.assume_not_null()))),
        ),
    )
    .set(links::expired_at.eq(now))
    .returning(links::code)
    .get_results(conn)
}
