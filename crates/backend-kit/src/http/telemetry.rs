//! Logging with `tracing`. `RUST_LOG` filters (default `info`); production logs one JSON
//! object per line for a log shipper, development logs readable lines.

use tracing_subscriber::EnvFilter;

use crate::config::Settings;

/// Installs the global subscriber once; later calls (e.g. from many tests) are no-ops.
pub fn init(settings: &Settings) {
    let filter =
        EnvFilter::try_new(&settings.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if settings.is_production() {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}
