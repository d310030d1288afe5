//! The one `main` every capstone shares: read the configuration, start logging, then
//! `serve` (the default), `migrate`, or a subcommand of the project's own. A project's
//! `main.rs` is one line:
//!
//! ```ignore
//! fn main() -> std::process::ExitCode {
//!     backend_kit::cli::main::<todo_api::Application>()
//! }
//! ```
//!
//! The project describes itself by implementing [`Capstone`] for its `Application` (and
//! [`AppConfig`] for its `Config`).

use std::process::ExitCode;

use crate::config::{ConfigError, Settings};
use crate::db::{Database, Migrations};
use crate::http::server::{Server, StartupError};

/// Any error a command can end with; printed, then the process exits with status 1.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A project's configuration: the kit's [`Settings`] plus its own variables.
pub trait AppConfig: Sized {
    fn from_env() -> Result<Self, ConfigError>;
    fn settings(&self) -> &Settings;
}

/// A capstone's server, as the shared `main` and the tests see it (the *Zero To Production*
/// shape): `build` does all the fallible set-up and binds the port, `port` says which one
/// (tests bind port 0), `run_until_stopped` serves until SIGINT/SIGTERM.
// The futures run on actix's single-threaded runtime, so they need no `Send` bound.
#[allow(async_fn_in_trait)]
pub trait Capstone: Sized {
    type Config: AppConfig;
    /// The binary's name, for messages.
    const NAME: &'static str;
    /// The migration sets, in order (see [`project_migrations!`](crate::project_migrations)).
    const MIGRATIONS: Migrations;
    /// The usage line's commands.
    const USAGE: &'static str = "[serve|migrate]";

    async fn build(config: Self::Config) -> Result<Self, StartupError>;
    fn server(&self) -> &Server;
    fn into_server(self) -> Server;

    fn port(&self) -> u16 {
        self.server().port()
    }

    /// Serves until SIGINT/SIGTERM, lets requests in flight finish, then runs the shutdown
    /// hooks the project gave its [`AppBuilder`](crate::http::AppBuilder).
    async fn run_until_stopped(self) -> std::io::Result<()> {
        self.into_server().run_until_stopped().await
    }

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
    let config = match C::Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{}: configuration error: {e}", C::NAME);
            return ExitCode::FAILURE;
        }
    };
    crate::http::telemetry::init(config.settings());

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
    Database::open(config.settings(), C::MIGRATIONS).await?;
    tracing::info!("migrations are up to date");
    Ok(())
}
