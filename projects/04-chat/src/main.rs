//! The program starts here: parse the command line, then serve (the default), migrate, seed,
//! list mail jobs, or run one of the chat's own clients (`connect`, `load`), which need no
//! configuration.

use std::process::ExitCode;

use backend_kit::cli::{BoxError, ServeArgs};
use backend_kit::db::Database;
use backend_kit::mail::cli::JobsCommand;
use chat::client::connect::ConnectArgs;
use chat::client::load::LoadArgs;
use chat::{Application, Config};
use clap::{Parser, Subcommand};

/// A real-time chat over WebSockets, scaled out through Redis (capstone 4). Settings come from
/// the environment and `.env`: DATABASE_URL, REDIS_URL, SMTP_URL, PORT, PUBLIC_URL, JWT_SECRET,
/// … (see the README).
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
    #[command(flatten)]
    Server(ServerCommand),
    /// Chat from a terminal (or a pipe): stdin lines are sent, messages printed
    Connect(ConnectArgs),
    /// Measure a server: many guest connections, messages at a rate, fan-out latency
    Load(LoadArgs),
}

/// The commands that run the server's side, with its configuration.
#[derive(Subcommand)]
enum ServerCommand {
    /// Serve the chat until SIGINT/SIGTERM (the default)
    #[command(alias = "start")]
    Serve,
    /// Apply pending database migrations, then exit
    Migrate,
    /// Fill a new, empty database with demo accounts, rooms and their messages, then exit
    Seed {
        /// The demo accounts' password; without it a random one is made and printed
        #[arg(long, env = "DEMO_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// List the mail jobs that are queued, running or failed, with their last error
    Jobs {
        #[command(subcommand)]
        command: Option<JobsCommand>,
    },
}

fn main() -> ExitCode {
    // `--help`, `--version` and usage mistakes end here (exit 0 or 2), before anything starts.
    // `.env` first: `seed --password` falls back on DEMO_PASSWORD, which may be set there.
    backend_kit::cli::load_env_file();
    let cli = Cli::parse();
    let command = match cli.command {
        // The clients talk to a server over the network: none of its settings apply.
        Some(Command::Connect(args)) => {
            return client(chat::client::connect::run(args, cli.serve.port));
        }
        Some(Command::Load(args)) => return client(chat::client::load::run(args, cli.serve.port)),
        Some(Command::Server(command)) => command,
        None => ServerCommand::Serve,
    };
    let config = match Config::from_env(cli.serve.port) {
        Ok(config) => config,
        Err(e) => return backend_kit::cli::exit_code("chat", Err(e)),
    };
    // Held to the end of `main`: dropping it sends the traces still buffered (feature `otel`).
    let _telemetry = backend_kit::http::telemetry::init(&config.settings);
    // actix's runtime: one thread here, plus a worker thread per core started by `serve`.
    let result = actix_web::rt::System::new().block_on(async move {
        match command {
            ServerCommand::Serve => {
                Application::build(config)
                    .await?
                    .run_until_stopped()
                    .await?;
            }
            ServerCommand::Migrate => {
                backend_kit::cli::migrate(&config.settings, chat::db::migrations).await?;
            }
            ServerCommand::Seed { password } => {
                let given = password.as_deref().is_some_and(|p| !p.is_empty());
                let db = Database::open(&config.settings, chat::db::migrations).await?;
                let seeded = chat::seed::seed(&config.settings, &db, password).await?;
                println!(
                    "seeded {} accounts, {} rooms and {} messages; log in as {}",
                    seeded.users, seeded.rooms, seeded.messages, seeded.email
                );
                if !given {
                    println!("their password (shown once): {}", seeded.password);
                }
            }
            ServerCommand::Jobs { command } => {
                let db = Database::open(&config.settings, chat::db::migrations).await?;
                let (outbox, _) = chat::startup::outbox(&config, &db).await?;
                print!("{}", backend_kit::mail::cli::run(&outbox, command).await?);
            }
        }
        Ok::<(), BoxError>(())
    });
    backend_kit::cli::exit_code("chat", result)
}

/// Runs a client command on a runtime of its own.
fn client(run: impl Future<Output = Result<(), BoxError>>) -> ExitCode {
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(BoxError::from)
        .and_then(|runtime| {
            let result = runtime.block_on(run);
            // stdin is read on a blocking thread that ends only at EOF: a client that stops
            // because the server went away must not wait for its input to end.
            runtime.shutdown_background();
            result
        });
    backend_kit::cli::exit_code("chat", result)
}
