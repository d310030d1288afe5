//! The one `main` every capstone shares: read the configuration, start logging, then
//! `serve` (the default), `migrate`, or a subcommand of the project's own. A project's
//! `main.rs` is one line:
//!
//! ```ignore
//! fn main() -> std::process::ExitCode {
//!     backend_kit::cli::main::<todo_api::Application>()
//! }
//! ```

use std::process::ExitCode;

use crate::config::{ConfigError, Settings};
use crate::db::{Database, Migrations};
use crate::http::server::StartupError;

/// Any error a command can end with; printed, then the process exits with status 1.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a capstone hands the shared `main`.
// The futures run on actix's single-threaded runtime, so they need no `Send` bound.
#[allow(async_fn_in_trait)]
pub trait Capstone: Sized {
    /// The project's configuration: the kit's [`Settings`] plus its own.
    type Config;
    /// The binary's name, for messages.
    const NAME: &'static str;
    /// The usage line's commands.
    const USAGE: &'static str = "[serve|migrate]";

    fn config_from_env() -> Result<Self::Config, ConfigError>;
    fn settings(config: &Self::Config) -> &Settings;
    /// The migration sets, in order (see [`project_migrations!`](crate::project_migrations)).
    const MIGRATIONS: Migrations;
    async fn build(config: Self::Config) -> Result<Self, StartupError>;
    async fn run_until_stopped(self) -> std::io::Result<()>;

    /// A subcommand of the project's own (`blog jobs`, `chat connect`…); `None` when `name`
    /// is not one of them.
    async fn command(
        _config: Self::Config,
        _name: &str,
        _args: &[String],
    ) -> Option<Result<(), BoxError>> {
        None
    }
}

/// Runs the command line for capstone `C` and returns the process's exit code.
pub fn main<C: Capstone>() -> ExitCode {
    actix_web::rt::System::new().block_on(run::<C>(std::env::args().skip(1).collect()))
}

async fn run<C: Capstone>(args: Vec<String>) -> ExitCode {
    let config = match C::config_from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{}: configuration error: {e}", C::NAME);
            return ExitCode::FAILURE;
        }
    };
    crate::http::telemetry::init(C::settings(&config));

    let (name, rest) = match args.split_first() {
        Some((name, rest)) => (name.as_str(), rest),
        None => ("serve", &[][..]),
    };
    let result: Result<(), BoxError> = match name {
        "serve" => match C::build(config).await {
            Ok(app) => app.run_until_stopped().await.map_err(Into::into),
            Err(e) => Err(e.into()),
        },
        "migrate" => migrate::<C>(&config).await,
        other => match C::command(config, other, rest).await {
            Some(result) => result,
            None => {
                eprintln!(
                    "usage: {} {} (unknown command `{other}`)",
                    C::NAME,
                    C::USAGE
                );
                return ExitCode::FAILURE;
            }
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{} stopped: {e}", C::NAME);
            eprintln!("{}: {e}", C::NAME);
            ExitCode::FAILURE
        }
    }
}

/// `<project> migrate`: applies pending migrations and exits (for deploy pipelines that
/// migrate before starting new instances).
async fn migrate<C: Capstone>(config: &C::Config) -> Result<(), BoxError> {
    Database::open(C::settings(config), C::MIGRATIONS).await?;
    tracing::info!("migrations are up to date");
    Ok(())
}
