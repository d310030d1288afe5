//! A project's binary as an operator runs it: a command with a clean environment, a free
//! port ([`crate::free_port`]), a child process that cannot outlive the test, and a wait
//! until it answers.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The `JWT_SECRET` every [`command`] gets.
pub const JWT_SECRET: &str = "test-secret-that-is-at-least-32-bytes-long";

/// `binary` (the test's `env!("CARGO_BIN_EXE_<name>")`) with nothing inherited but `PATH`, so
/// a developer's own `DATABASE_URL` or `REDIS_URL` cannot leak in: a test secret, cheap
/// bcrypt, warnings only. The test adds the rest.
pub fn command(binary: &str) -> Command {
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("JWT_SECRET", JWT_SECRET)
        .env("BCRYPT_COST", "4")
        .env("RUST_LOG", "warn");
    command
}

/// A child process, killed (SIGKILL) and reaped when dropped — also when a test fails.
pub struct Running(pub Child);

impl Running {
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until the server on `port` answers `GET /health` (at most a minute: a cold start
/// runs its migrations first).
pub async fn wait_until_healthy(port: u16) {
    let url = format!("http://127.0.0.1:{port}/health");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = reqwest::get(&url).await
            && response.status().is_success()
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the server on port {port} did not come up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
