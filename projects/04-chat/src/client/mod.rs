//! The chat's own clients, over the same public protocol as any other:
//! - [`connect`]: `chat connect`, a terminal client that also works in pipes;
//! - [`load`]: `chat load`, the benchmark (many connections, measured fan-out).

pub mod connect;
pub mod load;

use std::time::Duration;

use clap::Args;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where the server is, the same for both commands. Without `--url`, `CHAT_URL`; without
/// that, this machine on `--port`, else `PORT` (8084) — read as the server reads them
/// (`.env` too; empty counts as unset).
#[derive(Debug, Args)]
pub struct Server {
    /// The server's base URL [default: CHAT_URL, or http://127.0.0.1:<--port or PORT>]
    #[arg(long)]
    pub url: Option<String>,
}

impl Server {
    /// The server's host and port.
    pub fn authority(&self, port_flag: Option<u16>) -> Result<String, String> {
        let env = backend_kit::config::Env::from_process();
        if let Some(url) = &self.url {
            return authority(url).map_err(|e| format!("--url {e}"));
        }
        if let Some(url) = env.get("CHAT_URL") {
            return authority(url.trim()).map_err(|e| format!("CHAT_URL: {e}"));
        }
        let port = match port_flag {
            Some(port) => port,
            None => env
                .parse_or("PORT", crate::config::DEFAULT_PORT, "a port number")
                .map_err(|e| e.to_string())?,
        };
        authority(&format!("http://127.0.0.1:{port}"))
    }
}

/// The base URL's host and port (`http://127.0.0.1:8084` → `127.0.0.1:8084`).
pub fn authority(base: &str) -> Result<String, String> {
    let url = url::Url::parse(base).map_err(|e| format!("{base}: {e}"))?;
    if url.scheme() != "http" {
        return Err(format!(
            "{base}: only http:// is supported (put TLS in a proxy in front)"
        ));
    }
    let host = url.host_str().ok_or_else(|| format!("{base}: no host"))?;
    Ok(format!(
        "{host}:{}",
        url.port_or_known_default().unwrap_or(80)
    ))
}

/// A JSON POST over a fresh connection: `(status, body)`. Ten lines of HTTP/1.1 instead of
/// an HTTP client crate in the binary (two small requests at start-up need nothing more).
pub async fn post_json(
    authority: &str,
    path: &str,
    bearer: Option<&str>,
    body: &str,
) -> Result<(u16, String), String> {
    let mut stream = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(authority))
        .await
        .map_err(|_| format!("{authority}: connection timed out"))?
        .map_err(|e| format!("{authority}: {e}"))?;
    let auth = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut response))
        .await
        .map_err(|_| format!("{authority}: no answer"))?
        .map_err(|e| e.to_string())?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or("malformed HTTP response")?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("malformed HTTP status line")?;
    Ok((status, body.to_string()))
}

/// Logs in and trades the token for a WebSocket ticket.
pub async fn ticket(authority: &str, email: &str, password: &str) -> Result<String, String> {
    let login = serde_json::json!({ "email": email, "password": password }).to_string();
    let (status, body) = post_json(authority, "/api/login", None, &login).await?;
    let field = |body: &str, name: &str| -> Option<String> {
        serde_json::from_str::<serde_json::Value>(body).ok()?[name]
            .as_str()
            .map(String::from)
    };
    if status != 200 {
        return Err(format!("login failed ({status}): {body}"));
    }
    let token = field(&body, "token").ok_or("login answered without a token")?;
    let (status, body) = post_json(authority, "/api/ws-ticket", Some(&token), "").await?;
    if status != 201 {
        return Err(format!(
            "could not get a WebSocket ticket ({status}): {body}"
        ));
    }
    field(&body, "ticket").ok_or_else(|| "no ticket in the answer".to_string())
}

/// A random id for a message, so a resend after a reconnect is recognised.
pub fn client_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// How a client session ended badly.
pub(crate) mod cli_error {
    #[derive(Debug)]
    pub enum CliError {
        /// Retrying will not help (refused, bad credentials).
        Fatal(String),
        /// The connection was lost; an interactive client reconnects.
        Lost(String),
    }
}
