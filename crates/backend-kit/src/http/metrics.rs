//! `GET /metrics` in Prometheus' text format: every request counted by route, method and
//! status, and its duration in a histogram by route — what a dashboard or an alert on error
//! rates and slow endpoints needs. A capstone adds its own counters after these (the
//! url-shortener's visit recorder).
//!
//! Recorded by [`request_log()`](super::request_log::request_log) when the app has [`HttpMetrics`] in its
//! data. Routes are the patterns actix matched (`/todos/{id}`, never the id itself), and paths
//! that match no route count as `unmatched`: a scanner trying a million paths adds one series,
//! not a million.
//!
//! Who may read them ([`MetricsAccess`]): counters tell an outsider how busy the service is,
//! so with `METRICS_TOKEN` set only a request carrying it (`Authorization: Bearer <token>`, or
//! the bare token, as the API's tokens) is let in, and in production without one the endpoint
//! answers `404`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::Error;
use crate::auth::AuthScheme;
use crate::auth::opaque::hash_token;

/// Upper bounds of the duration buckets, in seconds (Prometheus' defaults, shifted down: these
/// services answer in milliseconds).
const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The request counters and duration histograms of one app. Cheap to clone (shared).
#[derive(Clone, Default)]
pub struct HttpMetrics(Arc<Mutex<BTreeMap<String, RouteSeries>>>);

/// One route's series.
#[derive(Default)]
struct RouteSeries {
    /// (method, status) → requests.
    requests: BTreeMap<(&'static str, u16), u64>,
    /// Requests per duration bucket, then over the last bound (+Inf).
    buckets: [u64; BUCKETS.len() + 1],
    /// Seconds, all requests together.
    seconds: f64,
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
    /// Counts one request. `route` is the matched pattern, `None` for a path no route matched;
    /// `method` a [`method_label`].
    pub fn record(&self, route: Option<&str>, method: &'static str, status: u16, took: Duration) {
        let route = route.unwrap_or("unmatched");
        let seconds = took.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        let mut routes = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Looked up before anything is allocated: a route is new once per process.
        let series = match routes.get_mut(route) {
            Some(series) => series,
            None => routes.entry(route.to_string()).or_default(),
        };
        *series.requests.entry((method, status)).or_default() += 1;
        series.buckets[slot] += 1;
        series.seconds += seconds;
    }

    /// The series in Prometheus' text exposition format.
    pub fn render(&self) -> String {
        let routes = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut out = String::from(
            "# HELP http_requests_total Requests answered, by route, method and status.\n\
             # TYPE http_requests_total counter\n",
        );
        for (route, series) in routes.iter() {
            let route = escape(route);
            for ((method, status), count) in &series.requests {
                let _ = writeln!(
                    out,
                    "http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {count}"
                );
            }
        }
        out.push_str(
            "# HELP http_request_duration_seconds Time from the request to its response, by route.\n\
             # TYPE http_request_duration_seconds histogram\n",
        );
        for (route, series) in routes.iter() {
            let route = escape(route);
            let mut cumulative = 0;
            for (bound, count) in BUCKETS.iter().zip(&series.buckets) {
                cumulative += count;
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            cumulative += series.buckets[BUCKETS.len()];
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {cumulative}\n\
                 http_request_duration_seconds_sum{{route=\"{route}\"}} {}\n\
                 http_request_duration_seconds_count{{route=\"{route}\"}} {cumulative}",
                series.seconds
            );
        }
        out
    }
}

/// A label value as the format wants it (route patterns are ours, but may hold `\`, `"` or a
/// line break).
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
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

/// The Prometheus text response for `body`.
pub fn respond(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body)
}

/// `GET /metrics` for an app whose data holds [`HttpMetrics`] and [`MetricsAccess`].
pub async fn serve(
    req: HttpRequest,
    metrics: web::Data<HttpMetrics>,
    access: web::Data<MetricsAccess>,
) -> Result<HttpResponse, Error> {
    access.check(&req)?;
    Ok(respond(metrics.render()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_route_method_and_status_and_buckets_durations() {
        let metrics = HttpMetrics::default();
        metrics.record(Some("/todos/{id}"), "GET", 200, Duration::from_micros(800));
        metrics.record(Some("/todos/{id}"), "GET", 200, Duration::from_millis(30));
        metrics.record(None, "GET", 404, Duration::from_secs(9));
        let text = metrics.render();
        assert!(text.contains(
            "http_requests_total{route=\"/todos/{id}\",method=\"GET\",status=\"200\"} 2\n"
        ));
        assert!(text.contains(
            "http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1\n"
        ));
        // 0.8 ms is in the first bucket; 30 ms from the 0.05 s bucket on; 9 s only in +Inf.
        assert!(text.contains("bucket{route=\"/todos/{id}\",le=\"0.001\"} 1\n"));
        assert!(text.contains("bucket{route=\"/todos/{id}\",le=\"0.025\"} 1\n"));
        assert!(text.contains("bucket{route=\"/todos/{id}\",le=\"0.05\"} 2\n"));
        assert!(text.contains("bucket{route=\"unmatched\",le=\"2.5\"} 0\n"));
        assert!(text.contains("bucket{route=\"unmatched\",le=\"+Inf\"} 1\n"));
        assert!(text.contains("http_request_duration_seconds_count{route=\"unmatched\"} 1\n"));
    }

    #[test]
    fn invented_methods_share_one_series() {
        let metrics = HttpMetrics::default();
        for method in ["FOO1", "FOO2", "PROPFIND"] {
            metrics.record(None, method_label(method), 405, Duration::from_millis(1));
        }
        let text = metrics.render();
        assert!(text.contains(
            "http_requests_total{route=\"unmatched\",method=\"other\",status=\"405\"} 3\n"
        ));
        assert!(!text.contains("FOO"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("/a\"b\\c\nd"), r#"/a\"b\\c\nd"#);
    }
}
