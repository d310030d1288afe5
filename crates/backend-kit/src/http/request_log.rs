//! The access log: every request gets a span with a request id, and when its response is ready
//! one line at INFO — method, path, status, milliseconds:
//!
//! ```text
//! INFO request{method=POST path=/todos request_id=6f1c…}: backend_kit::http::request_log: served status=201 ms=2.41
//! ```
//!
//! Anything else logged while the request runs (a 500's cause, a slow query) carries the same
//! span, so one `request_id` finds every line of a request. Successful GETs of `/health` and
//! `/ready`, which a load balancer sends every few seconds, are logged at DEBUG; `RUST_LOG=warn` turns the access
//! lines off.
//!
//! With [`HttpMetrics`] in the app's data, the same moment counts the request for `/metrics`.
//!
//! The path is logged without its query string: links carry secrets there (`?token=` of a
//! mailed link, `?ticket=` of the chat's WebSocket), and secrets never reach a log.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage, web};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder, TracingLogger};

use super::metrics::{HttpMetrics, method_label};

/// The middleware: `.wrap(http::request_log())`, the last `wrap`, so a request meets it first
/// and the span covers everything after.
pub fn request_log() -> TracingLogger<AccessLog> {
    TracingLogger::new()
}

/// How [`request_log`] opens and closes each request's span.
pub struct AccessLog;

/// When the request arrived and its method as it came (the edge turns `HEAD` into `GET`
/// before routing), kept in its extensions until the response is ready.
struct Arrived(Instant, &'static str);

/// At most this much of a path or a method reaches a log line: both are the client's to
/// choose, up to the size of a request head.
const LOGGED_CHARS: usize = 256;

fn clipped(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(LOGGED_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]).into(),
        None => text.into(),
    }
}

impl RootSpanBuilder for AccessLog {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let method = request.method().as_str();
        request
            .extensions_mut()
            .insert(Arrived(Instant::now(), method_label(method)));
        let request_id = request.extensions().get::<RequestId>().copied();
        tracing::info_span!(
            "request",
            method = %clipped(method),
            path = %clipped(request.path()),
            request_id = request_id.map(tracing::field::display),
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let (status, arrived, probe) = match outcome {
            Ok(response) => {
                let request = response.request();
                let status = response.status().as_u16();
                let arrived = request.extensions().get::<Arrived>().map(|a| (a.0, a.1));
                if let (Some(metrics), Some((at, method))) =
                    (request.app_data::<web::Data<HttpMetrics>>(), arrived)
                {
                    let route = request.match_pattern();
                    metrics.record(route.as_deref(), method, status, at.elapsed());
                }
                // A load balancer's probe: a GET (or HEAD) of /health or /ready that succeeded.
                let probe = matches!(request.path(), "/health" | "/ready")
                    && matches!(arrived, Some((_, "GET" | "HEAD")))
                    && status < 400;
                (status, arrived.map(|(at, _)| at), probe)
            }
            // An error no handler turned into a response (the kit's errors all are).
            Err(error) => (
                error.as_response_error().status_code().as_u16(),
                None,
                false,
            ),
        };
        // Milliseconds to two decimals: a number in the JSON logs, short in the readable ones.
        let ms = arrived.map(|at| (at.elapsed().as_secs_f64() * 100_000.0).round() / 100.0);
        span.in_scope(|| {
            // A load balancer asks every few seconds: its probes are there with RUST_LOG=debug.
            if probe {
                tracing::debug!(status, ms, "served");
            } else {
                tracing::info!(status, ms, "served");
            }
        });
    }
}
