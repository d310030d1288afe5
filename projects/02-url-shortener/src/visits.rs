//! Counting visits without slowing redirects down.
//!
//! A redirect hands its visit to [`VisitRecorder::record`], which puts it on a bounded
//! channel and returns at once. One background task drains the channel and writes what it
//! got in one transaction at most [`FLUSH_EVERY`] after the first visit of a batch, so
//! `accessCount` is exact within a second. When the channel is full (the database cannot
//! keep up) the visit is dropped and counted in `/metrics`, never waited for.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backend_kit::db::{Database, DbError};
use chrono::{NaiveDateTime, Timelike};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::db::links::{self, NewVisit};

pub const FLUSH_EVERY: Duration = Duration::from_millis(250);
/// Visits are folded (same link, second, referrer, browser) before they are written, so a big
/// batch is a small write; the bound caps the memory a batch holds (about 5 MB).
const MAX_BATCH: usize = 50_000;
/// How often a batch being gathered takes what is queued.
const DRAIN_EVERY: Duration = Duration::from_millis(5);

/// A visit on its way to the database.
#[derive(Debug, Clone)]
pub struct Visit {
    pub row: NewVisit,
    /// Already added to `access_count` (links with `max_visits` count synchronously).
    pub counted: bool,
}

#[derive(Default)]
pub struct VisitMetrics {
    pub recorded: AtomicU64,
    pub dropped: AtomicU64,
    pub failed: AtomicU64,
}

#[derive(Clone)]
pub struct VisitRecorder {
    sender: mpsc::Sender<Visit>,
    pub metrics: Arc<VisitMetrics>,
}

impl VisitRecorder {
    /// The recorder and the task that writes; the task ends (after a last flush) once every
    /// recorder clone is dropped, i.e. when the server has stopped.
    pub fn start(db: Database, capacity: usize) -> (Self, JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(capacity);
        let metrics = Arc::new(VisitMetrics::default());
        let task = tokio::spawn(write_batches(db, receiver, Arc::clone(&metrics)));
        (Self { sender, metrics }, task)
    }

    /// Never blocks: a full queue drops the visit and counts it.
    pub fn record(&self, visit: Visit) {
        if self.sender.try_send(visit).is_err() {
            self.metrics.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn write_batches(
    db: Database,
    mut receiver: mpsc::Receiver<Visit>,
    metrics: Arc<VisitMetrics>,
) {
    // The write of the previous batch. It runs on its own task, so the queue keeps being
    // drained while the database is slow: a stall makes the next batch bigger, not the
    // redirects drop their visits.
    let mut writing: Option<JoinHandle<()>> = None;
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + FLUSH_EVERY;
        // Drain what has queued up every few milliseconds rather than awaiting each visit:
        // an await on an empty channel means one cross-thread wake-up per redirect.
        loop {
            while batch.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(visit) => batch.push(visit),
                    Err(_) => break,
                }
            }
            let now = tokio::time::Instant::now();
            let due = batch.len() >= MAX_BATCH || now >= deadline || receiver.is_closed();
            let previous_done = writing.as_ref().is_none_or(JoinHandle::is_finished);
            if due && (previous_done || batch.len() >= MAX_BATCH || receiver.is_closed()) {
                break;
            }
            let nap = if now < deadline {
                (deadline - now).min(DRAIN_EVERY)
            } else {
                DRAIN_EVERY
            };
            tokio::time::sleep(nap).await;
        }
        // One write at a time, in order.
        if let Some(previous) = writing.take() {
            let _ = previous.await;
        }
        let (db, metrics) = (db.clone(), Arc::clone(&metrics));
        writing = Some(tokio::spawn(async move {
            let size = batch.len() as u64;
            match flush(&db, batch).await {
                Ok(()) => metrics.recorded.fetch_add(size, Ordering::Relaxed),
                Err(e) => {
                    tracing::error!(error = %e, visits = size, "could not write visits");
                    metrics.failed.fetch_add(size, Ordering::Relaxed)
                }
            };
        }));
    }
    if let Some(last) = writing {
        let _ = last.await;
    }
}

/// Writes one batch now (also what tests call to avoid waiting).
pub async fn flush(db: &Database, batch: Vec<Visit>) -> Result<(), DbError> {
    let mut counts: BTreeMap<i64, i64> = BTreeMap::new();
    for visit in &batch {
        if !visit.counted && !visit.row.is_bot {
            *counts.entry(visit.row.link_id).or_default() += 1;
        }
    }
    let rows = fold(batch.into_iter().map(|v| v.row));
    db.run(move |conn| links::record_visits(conn, &rows, &counts).map_err(DbError::from))
        .await
}

/// Identical visits (link, referrer host, browser, bot flag) in the same second become one
/// row whose `hits` says how many: a link redirecting 100 000 times a second writes a row per
/// second, not 100 000. The breakdowns sum `hits`, so they count exactly as before.
fn fold(visits: impl Iterator<Item = NewVisit>) -> Vec<NewVisit> {
    type Key = (i64, NaiveDateTime, Option<String>, String, bool);
    let mut hits: BTreeMap<Key, i64> = BTreeMap::new();
    for visit in visits {
        let second = visit
            .visited_at
            .with_nanosecond(0)
            .unwrap_or(visit.visited_at);
        let key = (
            visit.link_id,
            second,
            visit.referrer_host,
            visit.browser,
            visit.is_bot,
        );
        *hits.entry(key).or_default() += visit.hits;
    }
    hits.into_iter()
        .map(
            |((link_id, visited_at, referrer_host, browser, is_bot), hits)| NewVisit {
                link_id,
                visited_at,
                referrer_host,
                browser,
                is_bot,
                hits,
            },
        )
        .collect()
}

/// Browser family and bot flag from a `User-Agent` header. Order matters: Edge and Opera
/// also say "Chrome", Chrome also says "Safari".
pub fn classify_user_agent(user_agent: &str) -> (&'static str, bool) {
    let ua = user_agent.to_ascii_lowercase();
    let is_bot = [
        "bot",
        "crawl",
        "spider",
        "slurp",
        "facebookexternalhit",
        "embedly",
        "preview",
    ]
    .iter()
    .any(|marker| ua.contains(marker));
    let browser = if ua.contains("edg/") {
        "Edge"
    } else if ua.contains("opr/") || ua.contains("opera") {
        "Opera"
    } else if ua.contains("firefox/") {
        "Firefox"
    } else if ua.contains("chrome/") || ua.contains("chromium/") {
        "Chrome"
    } else if ua.contains("safari/") {
        "Safari"
    } else if ua.starts_with("curl/") {
        "curl"
    } else {
        "Other"
    };
    (browser, is_bot)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visit(link_id: i64, at: &str, browser: &str) -> NewVisit {
        NewVisit {
            link_id,
            visited_at: NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M:%S%.f").expect("time"),
            referrer_host: None,
            browser: browser.into(),
            is_bot: false,
            hits: 1,
        }
    }

    #[test]
    fn identical_visits_in_one_second_fold_into_one_row() {
        let rows = fold(
            [
                visit(1, "2026-11-24 10:00:00.100", "Chrome"),
                visit(1, "2026-11-24 10:00:00.900", "Chrome"),
                visit(1, "2026-11-24 10:00:01.000", "Chrome"),
                visit(1, "2026-11-24 10:00:00.500", "Firefox"),
                visit(2, "2026-11-24 10:00:00.500", "Chrome"),
            ]
            .into_iter(),
        );
        let summary: Vec<(i64, String, &str, i64)> = rows
            .iter()
            .map(|r| {
                (
                    r.link_id,
                    r.visited_at.to_string(),
                    r.browser.as_str(),
                    r.hits,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (1, "2026-11-24 10:00:00".into(), "Chrome", 2),
                (1, "2026-11-24 10:00:00".into(), "Firefox", 1),
                (1, "2026-11-24 10:00:01".into(), "Chrome", 1),
                (2, "2026-11-24 10:00:00".into(), "Chrome", 1),
            ]
        );
    }

    #[test]
    fn user_agents() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";
        assert_eq!(classify_user_agent(chrome), ("Chrome", false));
        let edge =
            "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/126.0 Safari/537.36 Edg/126.0";
        assert_eq!(classify_user_agent(edge), ("Edge", false));
        assert_eq!(
            classify_user_agent("Mozilla/5.0 (X11; rv:128.0) Gecko/20100101 Firefox/128.0"),
            ("Firefox", false)
        );
        let safari = "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15";
        assert_eq!(classify_user_agent(safari), ("Safari", false));
        assert!(classify_user_agent("Googlebot/2.1 (+http://www.google.com/bot.html)").1);
        assert_eq!(classify_user_agent("curl/8.5.0"), ("curl", false));
        assert_eq!(classify_user_agent(""), ("Other", false));
    }
}
