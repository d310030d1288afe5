//! gRPC's calls in `/metrics`, under the names gRPC's Prometheus middlewares give them
//! (`grpc_server_handled_total`, `grpc_server_handling_seconds`, the codes as Go spells
//! them), so the usual dashboards and alerts work unchanged, and one access-log line per call.
//! They count the calls that reach the service: one tonic refuses before it (an unknown
//! method, a message that does not decode) and the health and reflection services are not
//! counted.

use std::time::Instant;

use backend_kit::http::metrics::DURATION_BUCKETS;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tonic::Code;

use super::proto::links_server::SERVICE_NAME;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    grpc_service: &'static str,
    grpc_method: &'static str,
    grpc_type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HandledLabels {
    grpc_service: &'static str,
    grpc_method: &'static str,
    grpc_type: &'static str,
    grpc_code: &'static str,
}

/// Calls by method and status code, and how long they took. Cheap to clone (shared).
#[derive(Clone)]
pub struct GrpcMetrics {
    handled: Family<HandledLabels, Counter>,
    handling: Family<MethodLabels, Histogram, fn() -> Histogram>,
}

impl GrpcMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            handled: Family::default(),
            handling: Family::new_with_constructor(|| Histogram::new(DURATION_BUCKETS)),
        };
        registry.register(
            "grpc_server_handled",
            "gRPC calls answered, by method and status code (a stream counts when it opens)",
            metrics.handled.clone(),
        );
        registry.register(
            "grpc_server_handling_seconds",
            "Time from a gRPC call to its answer (a stream's: to its opening), by method",
            metrics.handling.clone(),
        );
        metrics
    }

    /// Starts timing a call of `method`. A call dropped before [`Call::end`] counts (and is
    /// logged) as `Canceled`: the client went away, or the server's time limit ended it.
    pub fn start(&self, method: &'static str) -> Call<'_> {
        Call {
            metrics: self,
            method,
            started: Instant::now(),
            code: Code::Cancelled,
        }
    }
}

/// One call being timed; counted and logged when dropped.
pub struct Call<'a> {
    metrics: &'a GrpcMetrics,
    method: &'static str,
    started: Instant,
    code: Code,
}

impl Call<'_> {
    /// The call ended with `code`.
    pub fn end(mut self, code: Code) {
        self.code = code;
    }
}

impl Drop for Call<'_> {
    fn drop(&mut self) {
        let took = self.started.elapsed();
        tracing::info!(
            method = self.method,
            code = ?self.code,
            duration_ms = took.as_secs_f64() * 1000.0,
            "grpc call"
        );
        let method = MethodLabels {
            grpc_service: SERVICE_NAME,
            grpc_method: self.method,
            grpc_type: if self.method == "WatchVisits" {
                "server_stream"
            } else {
                "unary"
            },
        };
        self.metrics
            .handling
            .get_or_create(&method)
            .observe(took.as_secs_f64());
        self.metrics
            .handled
            .get_or_create(&HandledLabels {
                grpc_service: method.grpc_service,
                grpc_method: method.grpc_method,
                grpc_type: method.grpc_type,
                grpc_code: code_name(self.code),
            })
            .inc();
    }
}

/// A status code as gRPC's other implementations (and their dashboards) name it.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}
