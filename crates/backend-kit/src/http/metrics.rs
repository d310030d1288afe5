//! `GET /metrics` in Prometheus' text format, on the Prometheus project's own client crate
//! (`prometheus-client`): every request counted by route, method and status, its duration in
//! a histogram by route, and the state a capstone registers beside them — the database pool,
//! the job queue, the mail outbox, its caches and connections. What a dashboard or an alert on
//! error rates, slow endpoints, a full pool or a growing queue needs.
//!
//! A capstone's `startup.rs` builds one [`Registry`], registers [`HttpMetrics`] and whatever
//! else it has ([`PoolMetrics`], [`QueueMetrics`](crate::jobs::QueueMetrics),
//! [`OutboxMetrics`](crate::mail::OutboxMetrics), its own counters), and serves it through a
//! [`MetricsEndpoint`]. Counters are updated where things happen; state that lives elsewhere
//! (pool connections, queued jobs, mails by status) is read just before each scrape
//! ([`Refresh`]).
//!
//! Requests are recorded by [`request_log()`](super::request_log::request_log) when the app has
//! [`HttpMetrics`] in its data. Routes are the patterns actix matched (`/todos/{id}`, never the
//! id itself), and paths that match no route count as `unmatched`: a scanner trying a million
//! paths adds one series, not a million.
//!
//! Who may read them ([`MetricsAccess`]): counters tell an outsider how busy the service is,
//! so with `METRICS_TOKEN` set only a request carrying it (`Authorization: Bearer <token>`, or
//! the bare token, as the API's tokens) is let in, and in production without one the endpoint
//! answers `404`.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
pub use prometheus_client::registry::Registry;

use super::Error;
use crate::auth::AuthScheme;
use crate::auth::opaque::hash_token;
use crate::db::Database;

/// Upper bounds of the duration buckets, in seconds (Prometheus' defaults, shifted down: these
/// services answer in milliseconds).
pub const DURATION_BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The request counters and duration histograms of one app. Cheap to clone (shared).
#[derive(Clone)]
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    durations: HistogramFamily<RouteLabels>,
}

/// The method as a label. HTTP lets a client invent methods (`FOO1`, `FOO2`, …): each would be
/// a new series, kept for the life of the process. The ones an API uses are named; the rest
/// are one.
pub fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

impl HttpMetrics {
    /// `http_requests_total{route,method,status}` and `http_request_duration_seconds{route}`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            requests: Family::default(),
            durations: Family::new_with_constructor(|| Histogram::new(DURATION_BUCKETS)),
        };
        registry.register(
            "http_requests",
            "Requests answered, by route, method and status",
            metrics.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from the request to its response, by route",
            metrics.durations.clone(),
        );
        metrics
    }

    /// Counts one request. `route` is the matched pattern, `None` for a path no route matched;
    /// `method` a [`method_label`].
    pub fn record(&self, route: Option<&str>, method: &'static str, status: u16, took: Duration) {
        let route = route.unwrap_or("unmatched").to_string();
        self.durations
            .get_or_create(&RouteLabels {
                route: route.clone(),
            })
            .observe(took.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
            })
            .inc();
    }
}

/// What a metric reads just before each scrape (the state it shows lives elsewhere: in the
/// pool, in the queue's tables). Errors leave the last values: a scrape still answers.
pub trait Refresh: Send + Sync {
    fn refresh(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;

    /// Whether reading costs a query: then it runs at most every [`COSTLY_EVERY`], one scrape
    /// at a time, within [`COSTLY_TIMEOUT`] — fifty scrapes at once, or a slow database, must
    /// not take the connections the requests and the job workers need.
    fn costly(&self) -> bool {
        false
    }
}

/// How old a costly refresh's values may be.
pub const COSTLY_EVERY: Duration = Duration::from_secs(5);
/// How long a costly refresh may take before the scrape goes on with the last values.
pub const COSTLY_TIMEOUT: Duration = Duration::from_secs(2);

/// `/metrics`'s data: the registry, and what to refresh before encoding it.
pub struct MetricsEndpoint {
    registry: Registry,
    refreshers: Vec<Box<dyn Refresh>>,
    /// When the costly refreshers last ran; held while they run.
    costly_ran: tokio::sync::Mutex<Option<std::time::Instant>>,
}

impl MetricsEndpoint {
    pub fn new(registry: Registry) -> Self {
        Self {
            registry,
            refreshers: Vec::new(),
            costly_ran: tokio::sync::Mutex::new(None),
        }
    }

    /// Reads `metric`'s source before every scrape.
    pub fn refreshing(mut self, metric: impl Refresh + 'static) -> Self {
        self.refreshers.push(Box::new(metric));
        self
    }

    /// The metrics in Prometheus' text exposition format, refreshed first.
    pub async fn render(&self) -> String {
        for metric in self.refreshers.iter().filter(|m| !m.costly()) {
            metric.refresh().await;
        }
        // A scrape that finds another refreshing encodes the values it has, without waiting.
        if let Ok(mut ran) = self.costly_ran.try_lock()
            && ran.is_none_or(|at| at.elapsed() >= COSTLY_EVERY)
        {
            for metric in self.refreshers.iter().filter(|m| m.costly()) {
                if tokio::time::timeout(COSTLY_TIMEOUT, metric.refresh())
                    .await
                    .is_err()
                {
                    tracing::warn!(
                        "a /metrics refresh took over {COSTLY_TIMEOUT:?}: last values kept"
                    );
                }
            }
            *ran = Some(std::time::Instant::now());
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

/// A gauge per state (`name{state="…"}`), each set from the count read at a scrape.
#[derive(Clone, Default)]
pub struct StateGauges(Family<StateLabel, Gauge>);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

impl StateGauges {
    pub fn register(registry: &mut Registry, name: &str, help: &str) -> Self {
        let gauges = Self::default();
        registry.register(name, help, gauges.0.clone());
        gauges
    }

    pub fn set(&self, state: &str, count: i64) {
        let label = StateLabel {
            state: state.to_string(),
        };
        self.0.get_or_create(&label).set(count);
    }
}

/// A counter that follows a running total kept elsewhere (an atomic the code bumps): each
/// scrape adds what the total grew by since the last one — once, however scrapes overlap.
pub struct TotalCounter {
    counter: Counter,
    seen: std::sync::Mutex<u64>,
}

impl TotalCounter {
    pub fn register(registry: &mut Registry, name: &str, help: &str) -> Self {
        let counter = Counter::default();
        registry.register(name, help, counter.clone());
        Self {
            counter,
            seen: std::sync::Mutex::new(0),
        }
    }

    pub fn follow(&self, total: u64) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        self.counter.inc_by(total.saturating_sub(*seen));
        *seen = total.max(*seen);
    }
}

/// The connection pool: `db_pool_connections{state="idle"|"in_use"}`, its size, the queries
/// holding one of its permits (at the size, the next wait), and `db_statements_total`.
pub struct PoolMetrics {
    db: Database,
    connections: StateGauges,
    max: Gauge,
    busy: Gauge,
    statements: TotalCounter,
}

impl PoolMetrics {
    pub fn register(db: &Database, registry: &mut Registry) -> Self {
        let metrics = Self {
            db: db.clone(),
            connections: StateGauges::register(
                registry,
                "db_pool_connections",
                "Open database connections, idle or in use",
            ),
            max: Gauge::default(),
            busy: Gauge::default(),
            statements: TotalCounter::register(registry, "db_statements", "SQL statements sent"),
        };
        registry.register(
            "db_pool_max_connections",
            "The pool's size (DATABASE_POOL_SIZE)",
            metrics.max.clone(),
        );
        registry.register(
            "db_pool_busy",
            "Queries holding a connection permit; at the pool's size the next ones wait",
            metrics.busy.clone(),
        );
        metrics
    }
}

impl Refresh for PoolMetrics {
    fn refresh(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let pool = self.db.pool_status();
        self.connections.set("idle", i64::from(pool.idle));
        self.connections
            .set("in_use", i64::from(pool.connections - pool.idle));
        self.max.set(i64::from(pool.max));
        self.busy.set(pool.busy as i64);
        self.statements.follow(self.db.statements_run());
        Box::pin(std::future::ready(()))
    }
}

/// Who may read `/metrics`.
pub enum MetricsAccess {
    /// Anyone (development without `METRICS_TOKEN`).
    Open,
    /// Whoever sends `Authorization: Bearer <METRICS_TOKEN>`, compared by SHA-256 digests so
    /// the time taken says nothing of the token.
    Token(String),
    /// Nobody: production without `METRICS_TOKEN` answers `404`.
    Off,
}

impl MetricsAccess {
    /// From `METRICS_TOKEN` ([`Settings::metrics_token`](crate::config::Settings)).
    pub fn new(token: Option<&str>, production: bool) -> Self {
        match token {
            Some(token) => Self::Token(hash_token(token)),
            None if production => Self::Off,
            None => Self::Open,
        }
    }

    /// From the settings: `METRICS_TOKEN`, and whether this is production.
    pub fn from_settings(settings: &crate::config::Settings) -> Self {
        Self::new(
            settings.metrics_token.as_ref().map(|t| t.expose().as_str()),
            settings.is_production(),
        )
    }

    /// `Ok` for a request that may read the metrics; `404` or `401` otherwise.
    pub fn check(&self, req: &HttpRequest) -> Result<(), Error> {
        let presented = || {
            req.headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| AuthScheme::BEARER.token(v))
        };
        match self {
            Self::Open => Ok(()),
            Self::Off => Err(Error::NotFound),
            Self::Token(expected) => match presented() {
                Some(token) if hash_token(token) == *expected => Ok(()),
                _ => Err(Error::Unauthorized),
            },
        }
    }
}

/// `GET /metrics` for an app whose data holds a [`MetricsEndpoint`] and [`MetricsAccess`].
pub async fn serve(
    req: HttpRequest,
    metrics: web::Data<MetricsEndpoint>,
    access: web::Data<MetricsAccess>,
) -> Result<HttpResponse, Error> {
    access.check(&req)?;
    Ok(HttpResponse::Ok()
        .content_type(prometheus_client::encoding::prometheus_text::CONTENT_TYPE)
        .body(metrics.render().await))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(
        metrics: impl FnOnce(&HttpMetrics),
        registry: Registry,
        http: &HttpMetrics,
    ) -> String {
        metrics(http);
        let endpoint = MetricsEndpoint::new(registry);
        futures_executor(endpoint.render())
    }

    /// `render` without refreshers never awaits anything: poll it once.
    fn futures_executor(future: impl Future<Output = String>) -> String {
        let mut future = std::pin::pin!(future);
        let waker = std::task::Waker::noop();
        match future
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker))
        {
            std::task::Poll::Ready(text) => text,
            std::task::Poll::Pending => panic!("render awaited with nothing to refresh"),
        }
    }

    #[test]
    fn counts_by_route_method_and_status_and_buckets_durations() {
        let mut registry = Registry::default();
        let http = HttpMetrics::register(&mut registry);
        let text = rendered(
            |m| {
                m.record(Some("/todos/{id}"), "GET", 200, Duration::from_micros(800));
                m.record(Some("/todos/{id}"), "GET", 200, Duration::from_millis(30));
                m.record(None, "GET", 404, Duration::from_secs(9));
            },
            registry,
            &http,
        );
        assert!(
            text.contains(
                "http_requests_total{route=\"/todos/{id}\",method=\"GET\",status=\"200\"} 2\n"
            ),
            "{text}"
        );
        assert!(text.contains(
            "http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1\n"
        ));
        // 0.8 ms is in the first bucket; 30 ms from the 0.05 s bucket on; 9 s only in +Inf.
        assert!(
            text.contains("bucket{route=\"/todos/{id}\",le=\"0.001\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("bucket{route=\"/todos/{id}\",le=\"0.025\"} 1\n"));
        assert!(text.contains("bucket{route=\"/todos/{id}\",le=\"0.05\"} 2\n"));
        assert!(text.contains("bucket{route=\"unmatched\",le=\"2.5\"} 0\n"));
        assert!(text.contains("bucket{route=\"unmatched\",le=\"+Inf\"} 1\n"));
        assert!(text.contains("http_request_duration_seconds_count{route=\"unmatched\"} 1\n"));
    }

    /// Counts its refreshes; `costly` as asked.
    struct Counting(std::sync::atomic::AtomicU32, bool);

    impl Refresh for Counting {
        fn refresh(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Box::pin(std::future::ready(()))
        }
        fn costly(&self) -> bool {
            self.1
        }
    }

    #[tokio::test]
    async fn costly_refreshes_run_at_most_every_few_seconds_cheap_ones_every_scrape() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU32, Ordering};
        struct Shared(Arc<Counting>);
        impl Refresh for Shared {
            fn refresh(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
                self.0.refresh()
            }
            fn costly(&self) -> bool {
                self.0.costly()
            }
        }
        let cheap = Arc::new(Counting(AtomicU32::new(0), false));
        let costly = Arc::new(Counting(AtomicU32::new(0), true));
        let endpoint = MetricsEndpoint::new(Registry::default())
            .refreshing(Shared(cheap.clone()))
            .refreshing(Shared(costly.clone()));
        for _ in 0..3 {
            endpoint.render().await;
        }
        assert_eq!(cheap.0.load(Ordering::Relaxed), 3);
        assert_eq!(
            costly.0.load(Ordering::Relaxed),
            1,
            "within COSTLY_EVERY: once"
        );
    }

    #[test]
    fn invented_methods_share_one_series() {
        let mut registry = Registry::default();
        let http = HttpMetrics::register(&mut registry);
        let text = rendered(
            |m| {
                for method in ["FOO1", "FOO2", "PROPFIND"] {
                    m.record(None, method_label(method), 405, Duration::from_millis(1));
                }
            },
            registry,
            &http,
        );
        assert!(text.contains(
            "http_requests_total{route=\"unmatched\",method=\"other\",status=\"405\"} 3\n"
        ));
        assert!(!text.contains("FOO"));
    }

    #[test]
    fn label_values_are_escaped() {
        let mut registry = Registry::default();
        let http = HttpMetrics::register(&mut registry);
        let text = rendered(
            |m| m.record(Some("/a\"b\\c\nd"), "GET", 200, Duration::ZERO),
            registry,
            &http,
        );
        assert!(text.contains(r#"route="/a\"b\\c\nd""#), "{text}");
    }
}
