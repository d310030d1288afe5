//! Small pieces every capstone's `main.rs` uses around its own clap command line: the
//! `serve` flags, the `migrate` command, and turning the outcome into an exit code.

use std::io::Write;
use std::process::ExitCode;

use crate::config::Settings;
use crate::db::{Database, Migrations};

/// Any error a command can end with; printed once, then the process exits with status 1.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The flags of `serve`, the same in every capstone. Give them to `Config::from_env`: a flag
/// wins over its environment variable (`--port` over `PORT`), and what is derived from it
/// (the default `PUBLIC_URL`) follows.
#[derive(Debug, Default, Clone, Copy, clap::Args)]
pub struct ServeArgs {
    /// The server's port, instead of PORT (for `serve`, 0 picks any free port)
    #[arg(long, global = true)]
    pub port: Option<u16>,
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

/// `<capstone> seed`: the password every demo account gets — the one given (`--password` or
/// `DEMO_PASSWORD`, so a portfolio can print it on its landing page), else a random one that
/// the command prints once — hashed once, with the registration's rules and bcrypt cost.
#[cfg(feature = "auth")]
pub struct DemoPassword {
    pub password: String,
    pub hash: String,
}

#[cfg(feature = "auth")]
impl DemoPassword {
    pub async fn new(settings: &Settings, given: Option<String>) -> Result<Self, BoxError> {
        let password = given.unwrap_or_else(|| crate::auth::opaque::new_token()[..16].to_string());
        let parsed = crate::auth::Password::parse(password.clone())
            .map_err(|e| format!("the demo password {e}"))?;
        let hash = crate::auth::PasswordHasher::new(settings.bcrypt_cost)
            .hash(parsed)
            .await?;
        Ok(Self { password, hash })
    }
}

/// Seed data goes into an empty database only: mixed into real accounts it would be
/// impossible to take out again. Call it inside the seeding transaction, so two seeds started
/// together cannot both pass it.
#[cfg(feature = "auth")]
pub fn ensure_no_accounts(conn: &mut crate::db::AnyConnection) -> Result<(), BoxError> {
    use diesel::prelude::*;
    let accounts: i64 = crate::auth::schema::users::table.count().get_result(conn)?;
    if accounts > 0 {
        return Err(format!(
            "the database already has {accounts} account(s); seed fills a new, empty database \
             (a fresh SQLite file, or a new PostgreSQL database)"
        )
        .into());
    }
    Ok(())
}
