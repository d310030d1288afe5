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

/// Reads `.env` into the environment before the command line is parsed, so that flags
/// falling back on a variable (`seed --password` on `DEMO_PASSWORD`) see it, as the settings
/// do. A variable already set wins over the file.
pub fn load_env_file() {
    let _ = dotenvy::dotenv();
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

/// `<capstone> seed`, the part every capstone's is made of: the demo password hashed (off the
/// executor, with the registration's rules), then one write transaction that first makes sure
/// there is nothing to mix with (`ensure_seedable` below: `own_rows` counts the capstone's data,
/// `demo_emails` must be free) and then lets `fill` write the demo data, the accounts with the
/// password's hash. Returns what `fill` returned, and the password (to print when generated).
#[cfg(feature = "auth")]
pub async fn seed<T: Send + 'static>(
    settings: &Settings,
    db: &Database,
    password: Option<String>,
    demo_emails: Vec<&'static str>,
    own_rows: fn(&mut crate::db::AnyConnection) -> diesel::QueryResult<i64>,
    fill: impl FnOnce(&mut crate::db::AnyConnection, &str) -> Result<T, BoxError> + Send + 'static,
) -> Result<(T, String), BoxError> {
    let demo = DemoPassword::new(settings, password).await?;
    let hash = demo.hash;
    let made = db
        .run(move |conn| {
            crate::db::write_transaction(conn, |conn| {
                ensure_seedable(conn, &demo_emails, own_rows)?;
                fill(conn, &hash)
            })
        })
        .await?;
    Ok((made, demo.password))
}

/// The password every demo account gets — the one given (`--password` or
/// `DEMO_PASSWORD`, so a portfolio can print it on its landing page), else a random one that
/// the command prints once — hashed once, with the registration's rules and bcrypt cost.
#[cfg(feature = "auth")]
struct DemoPassword {
    password: String,
    hash: String,
}

#[cfg(feature = "auth")]
impl DemoPassword {
    async fn new(settings: &Settings, given: Option<String>) -> Result<Self, BoxError> {
        // An empty DEMO_PASSWORD is unset, as every other setting.
        let password = given
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| crate::auth::opaque::new_token()[..16].to_string());
        let parsed = crate::auth::Password::parse(password.clone())
            .map_err(|e| format!("the demo password {e}"))?;
        let hash = crate::auth::PasswordHasher::new(settings.bcrypt_cost)
            .hash(parsed)
            .await?;
        Ok(Self { password, hash })
    }
}

/// Seed data goes only where it mixes with nothing: `own_rows` counts what the capstone
/// already holds (its todos, links, articles, messages — anonymous ones too), and the demo
/// accounts' addresses must be free. Other capstones' accounts in a shared database are fine:
/// each capstone seeds its own demo accounts, under addresses of its own.
///
/// First inside [`seed`]'s [`write_transaction`](crate::db::write_transaction): two seeds
/// started together then run one after the other (PostgreSQL: an advisory lock held to the
/// commit; SQLite: `BEGIN IMMEDIATE`), and the second is refused here.
#[cfg(feature = "auth")]
fn ensure_seedable(
    conn: &mut crate::db::AnyConnection,
    demo_emails: &[&str],
    own_rows: impl FnOnce(&mut crate::db::AnyConnection) -> diesel::QueryResult<i64>,
) -> Result<(), BoxError> {
    use diesel::prelude::*;
    if let crate::db::AnyConnection::Postgresql(pg) = conn {
        // Any constant: the key of "a seed is running".
        diesel::sql_query("SELECT pg_advisory_xact_lock(4242424242)").execute(pg)?;
    }
    let rows = own_rows(conn)?;
    if rows > 0 {
        return Err(format!(
            "this capstone already has data here ({rows} rows); seed fills a new database, \
             or one shared with the other capstones before this one is used"
        )
        .into());
    }
    let users = crate::auth::schema::users::table;
    let taken: i64 = users
        .filter(crate::auth::schema::users::email.eq_any(demo_emails))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(format!(
            "the demo accounts ({}) exist already",
            demo_emails.join(", ")
        )
        .into());
    }
    Ok(())
}
