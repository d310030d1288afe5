//! The program starts here: parse the command line, read the configuration from the
//! environment, start logging, then serve (the default), migrate, list mail jobs or seed.

use std::process::ExitCode;

use backend_kit::cli::{BoxError, ServeArgs};
use backend_kit::db::Database;
use backend_kit::mail::cli::JobsCommand;
use blog::{Application, Config};
use clap::{Parser, Subcommand};

/// A blogging platform: the RealWorld API, server-rendered pages and mail (capstone 3).
/// Settings come from the environment and `.env`: DATABASE_URL, REDIS_URL, SMTP_URL, PORT,
/// PUBLIC_URL, JWT_SECRET, … (see the README).
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    serve: ServeArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API until SIGINT/SIGTERM (the default)
    Serve,
    /// Apply pending database migrations, then exit
    Migrate,
    /// List the mail jobs that are queued, running or failed, with their last error
    Jobs {
        #[command(subcommand)]
        command: Option<JobsCommand>,
    },
    /// Fill a new, empty database with demo authors, articles, comments and follows, then exit
    Seed {
        /// The demo accounts' password; without it a random one is made and printed
        #[arg(long, env = "DEMO_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Print the GraphQL schema (what schema.graphql holds), then exit
    Schema,
}

/// mimalloc instead of the system allocator: see the workspace's Cargo.toml (measured in
/// BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // `--help`, `--version` and usage mistakes end here (exit 0 or 2), before anything starts.
    // `.env` first: `seed --password` falls back on DEMO_PASSWORD, which may be set there.
    backend_kit::cli::load_env_file();
    let cli = Cli::parse();
    if let Some(Command::Schema) = cli.command {
        print!("{}", blog::graphql::sdl());
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env(cli.serve.port) {
        Ok(config) => config,
        Err(e) => return backend_kit::cli::exit_code("blog", Err(e)),
    };
    // Held to the end of `main`: dropping it sends the traces still buffered (feature `otel`).
    let _telemetry = backend_kit::http::telemetry::init(&config.settings);
    // actix's runtime: one thread here, plus a worker thread per core started by `serve`.
    let result = actix_web::rt::System::new().block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => {
                Application::build(config)
                    .await?
                    .run_until_stopped()
                    .await?;
            }
            Command::Migrate => {
                backend_kit::cli::migrate(&config.settings, blog::db::migrations).await?;
            }
            Command::Jobs { command } => {
                let db = Database::open(&config.settings, blog::db::migrations).await?;
                let mail = blog::startup::mail(&config, &db).await?;
                print!(
                    "{}",
                    backend_kit::mail::cli::run(&mail.outbox, command).await?
                );
            }
            Command::Seed { password } => {
                let given = password.as_deref().is_some_and(|p| !p.is_empty());
                let db = Database::open(&config.settings, blog::db::migrations).await?;
                let seeded = blog::seed::seed(&config.settings, &db, password).await?;
                println!(
                    "seeded {} authors, {} articles and {} comments; log in as {}",
                    seeded.authors, seeded.articles, seeded.comments, seeded.email
                );
                if !given {
                    println!("their password (shown once): {}", seeded.password);
                }
            }
            Command::Schema => unreachable!("handled before the configuration is read"),
        }
        Ok::<(), BoxError>(())
    });
    backend_kit::cli::exit_code("blog", result)
}
