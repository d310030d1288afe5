//! Small pieces every capstone's `main.rs` uses around its own clap command line: the
//! `serve` flags, the `migrate` command, and turning the outcome into an exit code.

use std::io::Write;
use std::process::ExitCode;

use crate::config::Settings;
use crate::db::{Database, Migrations};

/// Any error a command can end with; printed once, then the process exits with status 1.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The flags of `serve`, the same in every capstone.
#[derive(Debug, Default, clap::Args)]
pub struct ServeArgs {
    /// The port to listen on (0: any free port)
    #[arg(long, env = "PORT")]
    pub port: Option<u16>,
}

impl ServeArgs {
    /// The flags win over the environment the settings were read from.
    pub fn apply(&self, settings: &mut Settings) {
        if let Some(port) = self.port {
            settings.port = port;
        }
    }
}

/// `<capstone> migrate`: applies pending migrations and exits (for deploy pipelines that
/// migrate before starting new instances).
pub async fn migrate(settings: &Settings, migrations: Migrations) -> Result<(), BoxError> {
    Database::open(settings, migrations).await?;
    tracing::info!("migrations are up to date");
    Ok(())
}

/// The process's exit code for a command's outcome; an error is printed once, on stderr (a
/// configuration mistake is not a crash, so it is not logged as one).
pub fn exit_code<E: std::fmt::Display>(name: &str, result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `writeln!`, not `eprintln!`: stderr may be a pipe whose reader is gone.
            let _ = writeln!(std::io::stderr(), "{name}: {e}");
            ExitCode::FAILURE
        }
    }
}
