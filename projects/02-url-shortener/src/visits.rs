//! Counting visits without slowing redirects down.
//!
//! A redirect hands its visit to [`VisitRecorder::record`], which puts it on a bounded
//! channel and returns at once. One background task drains the channel and writes what it
//! got in one transaction at most [`FLUSH_EVERY`] after the first visit of a batch, so
//! `accessCount` is exact within a second. When the channel is full (the database cannot
//! keep up) the visit is dropped and counted in `/metrics`, never waited for.

use backend_kit::http::metrics::Registry;
use prometheus_client::metrics::counter::Counter;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use backend_kit::db::{Database, DbError};
use chrono::{NaiveDateTime, Timelike};
use tokio::sync::{broadcast, mpsc};

use crate::visit_feed::{VisitFeed, WrittenBatch};
use tokio::task::JoinHandle;

use crate::db::links::{self, NewVisit};

pub const FLUSH_EVERY: Duration = Duration::from_millis(250);
/// A batch holds at most this many distinct rows (about 5 MB). Visits are folded as they
/// arrive, so a batch of one busy link stays a few rows however many visits it carries.
const MAX_ROWS: usize = 50_000;
/// How often a batch being gathered takes what is queued.
const DRAIN_EVERY: Duration = Duration::from_millis(5);

/// A visit on its way to the database.
#[derive(Debug, Clone)]
pub struct Visit {
    pub row: NewVisit,
    /// Already added to `access_count` (links with `max_visits` count synchronously).
    pub counted: bool,
}

/// What happened to the visits, for `/metrics` (counters are shared: cloning one counts into
/// the same number).
#[derive(Default)]
pub struct VisitMetrics {
    pub recorded: Counter,
    pub dropped: Counter,
    pub failed: Counter,
}

impl VisitMetrics {
    pub fn register(&self, registry: &mut Registry) {
        let counters = [
            (
                "shortener_visits_recorded",
                "Visits written to the database",
                &self.recorded,
            ),
            (
                "shortener_visits_dropped",
                "Visits dropped because the queue was full",
                &self.dropped,
            ),
            (
                "shortener_visits_failed",
                "Visits lost to a database error",
                &self.failed,
            ),
        ];
        for (name, help, counter) in counters {
            registry.register(name, help, counter.clone());
        }
    }
}

#[derive(Clone)]
pub struct VisitRecorder {
    sender: mpsc::Sender<Visit>,
    /// Where each written batch is announced (gRPC's `WatchVisits` listens).
    feed: Arc<VisitFeed>,
    pub metrics: Arc<VisitMetrics>,
}

impl VisitRecorder {
    /// The recorder and the task that writes; the task ends (after a last flush) once every
    /// recorder clone is dropped, i.e. when the server has stopped.
    pub fn start(db: Database, capacity: usize, feed: Arc<VisitFeed>) -> (Self, JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(capacity);
        let metrics = Arc::new(VisitMetrics::default());
        let task = tokio::spawn(write_batches(
            db,
            receiver,
            Arc::clone(&feed),
            Arc::clone(&metrics),
        ));
        (
            Self {
                sender,
                feed,
                metrics,
            },
            task,
        )
    }

    /// Every batch written from now on (by every instance, with Redis: see [`VisitFeed`]).
    pub fn subscribe(&self) -> broadcast::Receiver<WrittenBatch> {
        self.feed.subscribe()
    }

    /// Never blocks: a full queue drops the visit and counts it.
    pub fn record(&self, visit: Visit) {
        if self.sender.try_send(visit).is_err() {
            self.metrics.dropped.inc();
        }
    }
}

async fn write_batches(
    db: Database,
    mut receiver: mpsc::Receiver<Visit>,
    feed: Arc<VisitFeed>,
    metrics: Arc<VisitMetrics>,
) {
    // The write of the previous batch. It runs on its own task, so the queue keeps being
    // drained while the database is slow: a stall makes the next batch carry more hits,
    // not the redirects drop their visits.
    let mut writing: Option<JoinHandle<()>> = None;
    while let Some(first) = receiver.recv().await {
        let mut batch = Batch::default();
        batch.add(first);
        let deadline = tokio::time::Instant::now() + FLUSH_EVERY;
        // Drain what has queued up every few milliseconds rather than awaiting each visit:
        // an await on an empty channel means one cross-thread wake-up per redirect.
        loop {
            while !batch.is_full() {
                match receiver.try_recv() {
                    Ok(visit) => batch.add(visit),
                    Err(_) => break,
                }
            }
            let now = tokio::time::Instant::now();
            let previous_done = writing.as_ref().is_none_or(JoinHandle::is_finished);
            if batch.is_full() || receiver.is_closed() || (now >= deadline && previous_done) {
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
        let (db, metrics, feed) = (db.clone(), Arc::clone(&metrics), Arc::clone(&feed));
        writing = Some(tokio::spawn(async move {
            let visits = batch.visits;
            match write(&db, batch).await {
                Ok(rows) => {
                    metrics.recorded.inc_by(visits);
                    feed.announce(rows);
                }
                Err(e) => {
                    tracing::error!(error = %e, visits, "could not write visits");
                    metrics.failed.inc_by(visits);
                }
            };
        }));
    }
    if let Some(last) = writing {
        let _ = last.await;
    }
}

/// Writes the batch; the rows written.
async fn write(db: &Database, batch: Batch) -> Result<Vec<NewVisit>, DbError> {
    let (rows, counts) = batch.into_rows();
    db.run(move |conn| {
        links::record_visits(conn, &rows, &counts)
            .map(|_| rows)
            .map_err(DbError::from)
    })
    .await
}

/// Link, second, referrer host, browser, bot flag: what makes two visits the same row.
type RowKey = (i64, NaiveDateTime, Option<String>, String, bool);

/// The visits of one write, folded as they arrive: identical visits in the same second become
/// one row whose `hits` says how many. A link redirecting 100 000 times a second writes a row
/// per second, not 100 000, and the breakdowns, which sum `hits`, count exactly as before.
#[derive(Default)]
struct Batch {
    hits: BTreeMap<RowKey, i64>,
    /// Per link, the visits still to add to `access_count` (bots are not counted).
    counts: BTreeMap<i64, i64>,
    visits: u64,
}

impl Batch {
    fn add(&mut self, Visit { row, counted }: Visit) {
        if !counted && !row.is_bot {
            *self.counts.entry(row.link_id).or_default() += row.hits;
        }
        let second = row.visited_at.with_nanosecond(0).unwrap_or(row.visited_at);
        let key = (
            row.link_id,
            second,
            row.referrer_host,
            row.browser,
            row.is_bot,
        );
        *self.hits.entry(key).or_default() += row.hits;
        self.visits += row.hits as u64;
    }

    fn is_full(&self) -> bool {
        self.hits.len() >= MAX_ROWS
    }

    fn into_rows(self) -> (Vec<NewVisit>, BTreeMap<i64, i64>) {
        let rows = self
            .hits
            .into_iter()
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
            .collect();
        (rows, self.counts)
    }
}

/// The host of a `Referer` header, as the referrer breakdown groups visits: only from http(s)
/// referrers, only a DNS name (at most 253 characters; two or more labels of 1–63 letters,
/// digits and inner `-`, as the URL parser writes an international name: `xn--…`) or an IP
/// address. Anything else is no
/// referrer at all. Without this, `Referer: x://<100 KB>/` stored 100 KB per redirect, and keys
/// such as `=HYPERLINK("…")` reached whoever opened the stats in a spreadsheet.
pub fn referrer_host(referer: &str) -> Option<String> {
    // Longer than any URL a browser sends: not parsed at all.
    if referer.len() > 8 * 1024 {
        return None;
    }
    let url = url::Url::parse(referer).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    match url.host()? {
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.');
            // Two labels at least: a single one is a local name (and `other` must stay the
            // breakdown's own key).
            let label = |l: &str| {
                (1..=63).contains(&l.len())
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            };
            let is_dns_name = name.len() <= 253 && name.contains('.') && name.split('.').all(label);
            is_dns_name.then(|| name.to_ascii_lowercase())
        }
        url::Host::Ipv4(ip) => Some(ip.to_string()),
        url::Host::Ipv6(ip) => Some(ip.to_string()),
    }
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
        let mut batch = Batch::default();
        for (row, counted) in [
            (visit(1, "2026-11-24 10:00:00.100", "Chrome"), false),
            (visit(1, "2026-11-24 10:00:00.900", "Chrome"), true),
            (visit(1, "2026-11-24 10:00:01.000", "Chrome"), false),
            (visit(1, "2026-11-24 10:00:00.500", "Firefox"), false),
            (visit(2, "2026-11-24 10:00:00.500", "Chrome"), false),
            (
                NewVisit {
                    is_bot: true,
                    ..visit(2, "2026-11-24 10:00:00.700", "Other")
                },
                false,
            ),
        ] {
            batch.add(Visit { row, counted });
        }
        assert_eq!(batch.visits, 6);
        let (rows, counts) = batch.into_rows();
        // Written but not counted: the visit counted already (a link with maxVisits) and the bot.
        assert_eq!(counts, BTreeMap::from([(1, 3), (2, 1)]));
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
                (2, "2026-11-24 10:00:00".into(), "Other", 1),
            ]
        );
    }

    #[test]
    fn referrers_keep_only_the_dns_name_of_http_urls() {
        assert_eq!(
            referrer_host("https://News.Example.org./a?b#c").as_deref(),
            Some("news.example.org")
        );
        assert_eq!(
            referrer_host("http://bücher.de/").as_deref(),
            Some("xn--bcher-kva.de")
        );
        assert_eq!(
            referrer_host("http://[2001:db8::1]:8080/").as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(
            referrer_host("http://192.0.2.1/").as_deref(),
            Some("192.0.2.1")
        );
        let long_label = format!("https://{}.com/", "a".repeat(64));
        let huge = format!("x://{}/", "a".repeat(100_000));
        for refused in [
            "http://other/",
            "http://localhost/",
            "http://-/",
            "http://.a/",
            "http://a..b/",
            "http://1e100/",
            "http://-a.example/",
            "http://a-.example/",
            "x://example.com/",
            "android-app://com.example/",
            "javascript:alert(1)",
            "https://=hyperlink(\"evil\")/",
            "https://a_b.example/",
            "not a url",
            "",
            long_label.as_str(),
            huge.as_str(),
        ] {
            assert_eq!(referrer_host(refused), None, "{refused:.60}");
        }
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
