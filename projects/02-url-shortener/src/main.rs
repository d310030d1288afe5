//! `url-shortener` starts the server; `url-shortener migrate` only applies the migrations.

use std::process::ExitCode;

use url_shortener::{Application, Config};

#[actix_web::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("url-shortener: configuration error: {e}");
            return ExitCode::FAILURE;
        }
    };
    backend_kit::http::telemetry::init(&config.settings);

    let result = match std::env::args().nth(1).as_deref() {
        Some("migrate") => url_shortener::migrate(&config).await,
        None | Some("serve") => match Application::build(config).await {
            Ok(app) => app.run_until_stopped().await.map_err(Into::into),
            Err(e) => Err(e),
        },
        Some(other) => {
            eprintln!("usage: url-shortener [serve|migrate] (unknown command `{other}`)");
            return ExitCode::FAILURE;
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("url-shortener stopped: {e}");
            eprintln!("url-shortener: {e}");
            ExitCode::FAILURE
        }
    }
}
