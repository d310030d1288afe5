//! Logging with `tracing`. `RUST_LOG` filters (default `info`); production logs one JSON
//! object per line for a log shipper, development logs readable lines — coloured only on a
//! terminal.
//!
//! With the `otel` feature and `OTEL_EXPORTER_OTLP_ENDPOINT` set, the same spans (each
//! request's, from [`request_log`](super::request_log::request_log), and whatever a handler
//! opens inside it) also go to an OpenTelemetry collector — Jaeger, Tempo, Honeycomb, … — over
//! OTLP/HTTP, batched on the SDK's own thread. `OTEL_SERVICE_NAME` names the service (default:
//! the capstone's name); `OTEL_EXPORTER_OTLP_HEADERS` carries a vendor's API key.

use std::io::IsTerminal;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::Settings;

/// Keeps the log writer and the exporter alive; dropping it (at the end of `main`) writes the
/// lines and sends the spans still buffered.
#[must_use = "dropping it at once would stop the logs"]
pub struct Telemetry {
    lines: Option<tracing_appender::non_blocking::WorkerGuard>,
    #[cfg(feature = "otel")]
    traces: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

/// How long the exit waits for the log lines still queued: a stdout nobody reads (a stalled
/// pipe) must not keep a stopped server alive.
const FLUSH_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

impl Drop for Telemetry {
    fn drop(&mut self) {
        // The writer's own drop waits for its thread, and with stdout stalled that thread
        // never returns: wait for it on another thread, for a while only.
        if let Some(lines) = self.lines.take() {
            let (done, finished) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                drop(lines);
                let _ = done.send(());
            });
            let _ = finished.recv_timeout(FLUSH_LIMIT);
        }
        #[cfg(feature = "otel")]
        if let Some(traces) = self.traces.take()
            && let Err(e) = traces.shutdown()
        {
            tracing::warn!(error = %e, "could not send the last traces");
        }
    }
}

/// Installs the global subscriber once; later calls (e.g. from many tests) are no-ops.
pub fn init(settings: &Settings) -> Telemetry {
    let filter =
        EnvFilter::try_new(&settings.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // Lines go to a thread of their own that writes them: a request's line costs a copy into
    // a queue, not a write(2) on the worker (the access log cost ~5 % of a cache-hit
    // redirect's throughput). Past 128 000 lines waiting, new ones are dropped, never waited
    // for; at exit the queue gets up to FLUSH_LIMIT to drain.
    let (writer, guard) = tracing_appender::non_blocking(std::io::stdout());
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        // Colour codes are noise in a file or a log shipper.
        .with_ansi(std::io::stdout().is_terminal())
        // A log line that cannot be written is dropped. Reporting the failure goes through
        // `eprintln!`, which panics when stderr is gone too: with both piped into a reader that
        // went away (`server 2>&1 | head -1`), the server died at its second log line, or
        // lost the thread that waits for SIGTERM and could only be killed.
        .log_internal_errors(false);
    let lines: Box<dyn Layer<Registry> + Send + Sync> = if settings.is_production() {
        Box::new(lines.json().flatten_event(true))
    } else {
        Box::new(lines)
    };
    #[cfg(feature = "otel")]
    {
        let (traces, layer) = match otel::exporter(settings) {
            Ok(Some((provider, layer))) => (Some(provider), Some(layer)),
            Ok(None) => (None, None),
            Err(e) => {
                // Before the subscriber exists: straight to stderr, the one place it shows.
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "traces are not exported: {e}");
                (None, None)
            }
        };
        let _ = Registry::default()
            .with(lines)
            .with(layer)
            .with(filter)
            .try_init();
        Telemetry {
            lines: Some(guard),
            traces,
        }
    }
    #[cfg(not(feature = "otel"))]
    {
        let _ = Registry::default().with(lines).with(filter).try_init();
        Telemetry { lines: Some(guard) }
    }
}

#[cfg(feature = "otel")]
mod otel {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::{SpanExporter, WithExportConfig};
    use opentelemetry_sdk::Resource;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::Registry;
    use tracing_subscriber::layer::Layered;

    use crate::config::Settings;

    type Lines = Layered<Box<dyn tracing_subscriber::Layer<Registry> + Send + Sync>, Registry>;
    pub type OtelLayer =
        tracing_opentelemetry::OpenTelemetryLayer<Lines, opentelemetry_sdk::trace::Tracer>;

    /// The exporter and its layer, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
    pub fn exporter(
        settings: &Settings,
    ) -> Result<Option<(SdkTracerProvider, OtelLayer)>, Box<dyn std::error::Error>> {
        let Some(endpoint) = &settings.otlp_endpoint else {
            return Ok(None);
        };
        // An https:// collector goes through rustls: name its crypto (ring, as for Redis).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let exporter = SpanExporter::builder()
            .with_http()
            .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
            .build()?;
        let mut resource = Resource::builder();
        // OTEL_SERVICE_NAME, when set, is read by the builder and wins.
        if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
            resource = resource.with_service_name(settings.app_name.clone());
        }
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource.build())
            .build();
        let tracer = provider.tracer(settings.app_name.clone());
        Ok(Some((
            provider,
            tracing_opentelemetry::layer().with_tracer(tracer),
        )))
    }
}
