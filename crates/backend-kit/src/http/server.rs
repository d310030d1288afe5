//! Running a capstone's server until it is told to stop: [`Server`] wraps the actix server a
//! capstone's `startup.rs` built (`HttpServer::new(...).run()`) and adds the shutdown a
//! deployment needs.
//!
//! On SIGINT (Ctrl-C) or SIGTERM (`docker stop`, Kubernetes, systemd) it runs the stop hooks
//! (close WebSockets), lets requests in flight finish (up to [`SHUTDOWN_TIMEOUT_SECS`]), then
//! runs the shutdown hooks in order (drain a queue, stop job workers). A second signal stops
//! at once. actix's own signal handling is turned off (`disable_signals()` in each
//! `startup.rs`): it stops at once on SIGINT, dropping requests in flight and open WebSockets
//! without a word.

use std::future::Future;
use std::pin::Pin;

/// Requests in flight get this long to finish after SIGINT/SIGTERM: pass it to
/// `HttpServer::shutdown_timeout`.
pub const SHUTDOWN_TIMEOUT_SECS: u64 = 10;

type Hook = Pin<Box<dyn Future<Output = ()>>>;
type StopHook = Box<dyn FnOnce() + Send>;

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] crate::db::DbError),
    #[cfg(feature = "redis")]
    #[error("invalid REDIS_URL: {0}")]
    Redis(#[from] redis::RedisError),
    #[cfg(feature = "jobs")]
    #[error(transparent)]
    Jobs(#[from] crate::jobs::JobError),
    #[error("could not bind the port: {0}")]
    Io(#[from] std::io::Error),
    /// A setting that only turns out wrong when used (a mail directory that cannot be made).
    #[error("configuration error: {0}")]
    Config(#[from] crate::config::ConfigError),
}

/// A started server: serve it with [`Server::run_until_stopped`].
pub struct Server {
    port: u16,
    server: actix_web::dev::Server,
    stop_hooks: Vec<StopHook>,
    shutdown_hooks: Vec<Hook>,
}

impl Server {
    /// `server` is what `HttpServer::run()` returned; `port` the one it listens on.
    pub fn new(server: actix_web::dev::Server, port: u16) -> Self {
        Self {
            port,
            server,
            stop_hooks: Vec::new(),
            shutdown_hooks: Vec::new(),
        }
    }

    /// Runs as soon as SIGINT or SIGTERM arrives, before requests in flight are waited for:
    /// what would otherwise keep the server waiting (open WebSockets are told to close).
    pub fn on_stop_signal(mut self, hook: impl FnOnce() + Send + 'static) -> Self {
        self.stop_hooks.push(Box::new(hook));
        self
    }

    /// Work to finish once the server has stopped taking requests (drain a queue, stop
    /// workers); hooks run in the order they were added.
    pub fn on_shutdown(mut self, hook: impl Future<Output = ()> + 'static) -> Self {
        self.shutdown_hooks.push(Box::pin(hook));
        self
    }

    /// The port it listens on (tests bind port 0 and ask).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server from elsewhere (tests, a crash simulation).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM (or [`actix_web::dev::ServerHandle::stop`]): runs the stop hooks, lets
    /// requests in flight finish, then runs the shutdown hooks. A second signal returns at
    /// once, without waiting for anything.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let stop_hooks = self.stop_hooks;
        let forced = std::sync::Arc::new(tokio::sync::Notify::new());
        let force = forced.clone();
        // Ends with this future, even if it is dropped: a later signal must not reach a
        // server that is gone (tests run many servers in one process).
        let _signals = AbortOnDrop(actix_web::rt::spawn(async move {
            let mut signals = StopSignals::listen();
            signals.next().await;
            tracing::info!("stopping: finishing requests in flight (signal again to stop now)");
            for hook in stop_hooks {
                hook();
            }
            // Not awaited here: actix takes no other command until a graceful stop is done.
            actix_web::rt::spawn(handle.stop(true));
            signals.next().await;
            force.notify_one();
        }));
        let mut server = self.server;
        tokio::select! {
            result = &mut server => {
                for hook in self.shutdown_hooks {
                    hook.await;
                }
                result
            }
            () = forced.notified() => {
                tracing::warn!("stopping now: requests in flight and shutdown hooks abandoned");
                Ok(())
            }
        }
    }
}

struct AbortOnDrop(actix_web::rt::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// SIGINT (Ctrl-C) and SIGTERM (`docker stop`, Kubernetes, systemd), listened to from the
/// moment this is made, so that a second signal is not missed.
#[cfg(unix)]
struct StopSignals(Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>);

#[cfg(unix)]
impl StopSignals {
    fn listen() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        let both = signal(SignalKind::terminate())
            .and_then(|term| Ok((term, signal(SignalKind::interrupt())?)));
        if let Err(e) = &both {
            tracing::warn!("cannot listen for SIGINT/SIGTERM: {e}");
        }
        Self(both.ok())
    }

    async fn next(&mut self) {
        match &mut self.0 {
            Some((term, int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            None => std::future::pending().await,
        }
    }
}

#[cfg(not(unix))]
struct StopSignals;

#[cfg(not(unix))]
impl StopSignals {
    fn listen() -> Self {
        Self
    }

    async fn next(&mut self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}
