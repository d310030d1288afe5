//! `todo-api` starts the server; `todo-api migrate` only applies the database migrations.

use std::process::ExitCode;

use todo_api::{Application, Config};

#[actix_web::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("todo-api: configuration error: {e}");
            return ExitCode::FAILURE;
        }
    };
    backend_kit::http::telemetry::init(&config.settings);

    let result = match std::env::args().nth(1).as_deref() {
        Some("migrate") => todo_api::migrate(&config).await,
        None | Some("serve") => match Application::build(config).await {
            Ok(app) => app.run_until_stopped().await.map_err(Into::into),
            Err(e) => Err(e),
        },
        Some(other) => {
            eprintln!("usage: todo-api [serve|migrate] (unknown command `{other}`)");
            return ExitCode::FAILURE;
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("todo-api stopped: {e}");
            eprintln!("todo-api: {e}");
            ExitCode::FAILURE
        }
    }
}
