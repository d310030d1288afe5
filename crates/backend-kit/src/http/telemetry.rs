//! Logging with `tracing`. `RUST_LOG` filters (default `info`); production logs one JSON
//! object per line for a log shipper, development logs readable lines — coloured only on a
//! terminal.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::Settings;

/// Installs the global subscriber once; later calls (e.g. from many tests) are no-ops.
pub fn init(settings: &Settings) {
    let filter =
        EnvFilter::try_new(&settings.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colour codes are noise in a file or a log shipper.
        .with_ansi(std::io::stdout().is_terminal())
        // A log line that cannot be written is dropped. Reporting the failure goes through
        // `eprintln!`, which panics when stderr is gone too: with both piped into a reader that
        // went away (`server 2>&1 | head -1`), the server died at its second log line, or
        // lost the thread that waits for SIGTERM and could only be killed.
        .log_internal_errors(false);
    let _ = if settings.is_production() {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}
