//! The program starts here: parse the command line, read the configuration from the
//! environment, start logging, then serve (the default), migrate or seed.

use std::process::ExitCode;

use backend_kit::cli::{BoxError, ServeArgs};
use backend_kit::db::Database;
use clap::{Parser, Subcommand};
use url_shortener::{Application, Config};

/// A URL shortener with accounts, caching, visit statistics and CSV imports (capstone 2).
/// Settings come from the environment and `.env`: DATABASE_URL, REDIS_URL, PORT, PUBLIC_URL,
/// JWT_SECRET, … (see the README).
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
    /// Fill a new, empty database with a demo account, its links and a month of visits
    Seed {
        /// The demo account's password; without it a random one is made and printed
        #[arg(long, env = "DEMO_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Call the gRPC API of a running server (shorten, get, resolve, stats, delete, watch,
    /// health)
    Grpc(url_shortener::grpc::client::GrpcArgs),
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
    if let Some(Command::Grpc(args)) = cli.command {
        // A client: no configuration, no logging set-up, just the call — on tokio's
        // multi-threaded runtime (two threads: `grpc load` generates load from both cores).
        let result = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| e.into())
            .and_then(|runtime| runtime.block_on(url_shortener::grpc::client::run(args)));
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("url-shortener grpc: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let config = match Config::from_env(cli.serve.port) {
        Ok(config) => config,
        Err(e) => return backend_kit::cli::exit_code("url-shortener", Err(e)),
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
                backend_kit::cli::migrate(&config.settings, url_shortener::db::migrations).await?;
            }
            Command::Seed { password } => {
                let given = password.as_deref().is_some_and(|p| !p.is_empty());
                let db = Database::open(&config.settings, url_shortener::db::migrations).await?;
                let seeded = url_shortener::seed::seed(&config, &db, password).await?;
                println!(
                    "seeded {} links with {} visits for {}: /{}",
                    seeded.links,
                    seeded.visits,
                    seeded.email,
                    url_shortener::seed::codes().join(", /")
                );
                if !given {
                    println!("its password (shown once): {}", seeded.password);
                }
            }
            Command::Grpc(_) => unreachable!("handled before the configuration is read"),
        }
        Ok::<(), BoxError>(())
    });
    backend_kit::cli::exit_code("url-shortener", result)
}
