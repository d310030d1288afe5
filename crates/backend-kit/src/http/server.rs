//! The one app builder: everything a capstone's server has that is not its own.
//!
//! ```ignore
//! let server = AppBuilder::new(&settings, Readiness::new(db.clone()), ApiDoc::openapi())
//!     .on_shutdown(async move { visit_writer.await.ok(); })
//!     .start(move |cfg| {
//!         cfg.app_data(state.clone());
//!         crate::routes::configure(cfg);
//!     })?;
//! ```
//!
//! In the order a request meets it: a `tracing` span with a request id ([`TracingLogger`]),
//! `HEAD` answered by every `GET` route, `%00` refused in paths and query strings, security headers on HTML pages, errors re-rendered in
//! the project's [`ErrorFormat`], the extractor settings (JSON errors,
//! the 64 KiB body limit), `/health` and `/ready`, `/openapi.json` and `/docs`, the project's
//! routes, and a JSON `404` for everything else. The server binds `HOST:PORT` (port 0 in
//! tests: [`Server::port`] says which), logs where it listens, and on SIGINT (Ctrl-C) or
//! SIGTERM runs the stop hooks (close WebSockets), drains requests in flight, then runs the
//! shutdown hooks in order. A second signal stops at once.

use std::future::Future;
use std::pin::Pin;

use actix_web::HttpMessage;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::{Condition, Next, from_fn};
use actix_web::{App, HttpServer, web};
use futures_core::Stream;
use tracing_actix_web::TracingLogger;

use super::health::Readiness;
use super::{Error, ErrorFormat};
use crate::config::Settings;
use crate::validation::NUL_PROBLEM;

/// Requests in flight get this long to finish after SIGINT/SIGTERM.
const SHUTDOWN_TIMEOUT_SECS: u64 = 10;

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

pub struct AppBuilder {
    settings: Settings,
    readiness: Readiness,
    openapi: utoipa::openapi::OpenApi,
    error_format: ErrorFormat,
    stop_hooks: Vec<StopHook>,
    shutdown_hooks: Vec<Hook>,
}

impl AppBuilder {
    /// `readiness` is what `/ready` checks; `openapi` is served at `/openapi.json`.
    pub fn new(
        settings: &Settings,
        readiness: Readiness,
        openapi: utoipa::openapi::OpenApi,
    ) -> Self {
        Self {
            settings: settings.clone(),
            readiness,
            openapi,
            error_format: ErrorFormat::Message,
            stop_hooks: Vec::new(),
            shutdown_hooks: Vec::new(),
        }
    }

    /// How error bodies look (default [`ErrorFormat::Message`]).
    pub fn error_format(mut self, format: ErrorFormat) -> Self {
        self.error_format = format;
        self
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

    /// Binds and starts serving. `routes` registers the project's state (`cfg.app_data`) and
    /// routes; it runs once per worker thread.
    pub fn start<F>(self, routes: F) -> std::io::Result<Server>
    where
        F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
    {
        let listener = super::bind(&self.settings)?;
        let port = listener.local_addr()?.port();
        super::announce(&self.settings, &listener);
        let readiness = web::Data::new(self.readiness);
        let (openapi, format) = (self.openapi, self.error_format);
        let body_timeout = self.settings.body_read_timeout;
        let server = HttpServer::new(move || {
            let routes = routes.clone();
            // The last `wrap` is the outermost: a request meets the logger first.
            App::new()
                // `edge` rewrites the request head: nothing outside it may hold a clone of the
                // request yet (actix's `head_mut` requires the only reference).
                .wrap(from_fn(move |req, next| edge(body_timeout, req, next)))
                // Outside `edge`, so its own refusals are rendered in the project's format too.
                .wrap(Condition::new(
                    format != ErrorFormat::Message,
                    from_fn(move |req, next| render_errors(format, req, next)),
                ))
                .wrap(TracingLogger::default())
                .configure(super::configure_extractors)
                .app_data(readiness.clone())
                .configure(super::health::routes)
                .configure(|cfg| super::configure_docs(cfg, openapi.clone()))
                .configure(move |cfg| routes(cfg))
                .default_service(web::to(super::not_found))
        })
        // Small responses and WebSocket frames go out at once, not held back by Nagle's
        // algorithm until the previous segment is acknowledged (up to 40 ms with delayed ACKs).
        .tcp_nodelay(true)
        .listen(listener)?
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
        // actix stops at once on SIGINT, dropping requests in flight and open WebSockets
        // without a word; `run_until_stopped` treats Ctrl-C like SIGTERM instead.
        .disable_signals()
        .run();
        Ok(Server {
            port,
            server,
            stop_hooks: self.stop_hooks,
            shutdown_hooks: self.shutdown_hooks,
        })
    }
}

/// A started server: serve it with [`Server::run_until_stopped`].
pub struct Server {
    port: u16,
    server: actix_web::dev::Server,
    stop_hooks: Vec<StopHook>,
    shutdown_hooks: Vec<Hook>,
}

impl Server {
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server from elsewhere (tests, a crash simulation).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM (or [`ServerHandle::stop`]): runs the stop hooks, lets
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

/// Marks a request that arrived as `HEAD` and is routed as the `GET` it asks about: a handler
/// with side effects (counting a visit) can leave them out. Read it with [`is_head`].
#[derive(Debug, Clone, Copy)]
pub struct HeadRequest;

/// Whether this request is a `HEAD` answered by a `GET` route.
pub fn is_head(req: &actix_web::HttpRequest) -> bool {
    req.extensions().contains::<HeadRequest>()
}

/// What every request goes through before routing:
/// - every `GET` route answers `HEAD` too (load balancers and link checkers use it): the
///   request is routed as `GET`, and actix sends the headers without the body (it decided
///   that from the method on the wire);
/// - U+0000 (`%00`) in the path is a `404` and in the query string a `400`: PostgreSQL cannot
///   store it, and a path parameter holding it would otherwise reach a query and fail there;
/// - a body must arrive within `body_timeout` per MiB it announces ([`BodyDeadline`]);
/// - an HTML response gets the security headers ([`add_security_headers`]);
/// - an answer to credentials or to a write is not cached, and a `401` names its scheme
///   ([`add_auth_headers`]).
///
/// One middleware for all of it: each `from_fn` layer costs every request a boxed future.
async fn edge(
    body_timeout: std::time::Duration,
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let has_nul = |part: &str| part.as_bytes().windows(3).any(|w| w == b"%00");
    if has_nul(req.path()) {
        return Ok(req.error_response(Error::NotFound).map_into_right_body());
    }
    if has_nul(req.query_string()) {
        let refusal = Error::BadRequest(format!("Invalid query string: {NUL_PROBLEM}"));
        return Ok(req.error_response(refusal).map_into_right_body());
    }
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
        req.extensions_mut().insert(HeadRequest);
    }
    let has_body = req.headers().contains_key(header::CONTENT_LENGTH)
        || req.headers().contains_key(header::TRANSFER_ENCODING);
    if has_body {
        // `body_timeout` per MiB announced (up to 8): a large upload on a slow link still
        // arrives, a few bytes a second never do.
        let mib_announced = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .map_or(1, |length| length.div_ceil(1024 * 1024).clamp(1, 8));
        let body = BodyDeadline {
            body: req.take_payload(),
            deadline: Box::pin(tokio::time::sleep(body_timeout * mib_announced as u32)),
        };
        req.set_payload(actix_web::dev::Payload::from(
            Box::pin(body) as Pin<Box<dyn Stream<Item = <BodyDeadline as Stream>::Item>>>
        ));
    }
    let private = is_private(&req);
    let mut res = next.call(req).await?;
    add_security_headers(&mut res);
    add_auth_headers(private, &mut res);
    Ok(res.map_into_left_body())
}

/// A request whose answer is the caller's alone: it carried credentials, or it is a write
/// (`POST /login`'s answer carries tokens).
fn is_private(req: &ServiceRequest) -> bool {
    req.method() != Method::GET || req.headers().contains_key(header::AUTHORIZATION)
}

/// What HTTP says of answers about credentials:
/// - a private answer ([`is_private`]) is `Cache-Control: no-store`, unless its handler chose
///   otherwise: no proxy, CDN or browser disk may keep tokens or an owner's data;
/// - a `401` says which scheme it wants (`WWW-Authenticate`, RFC 9110 §11.6.1).
fn add_auth_headers<B>(private: bool, res: &mut ServiceResponse<B>) {
    let unauthorized = res.status() == actix_web::http::StatusCode::UNAUTHORIZED;
    // An HTML page's 401 (a link's password form) asks for a form, not a token.
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    if unauthorized && !is_html && !res.headers().contains_key(header::WWW_AUTHENTICATE) {
        let challenge = header::HeaderValue::from_static(auth_scheme(res.request()));
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
    }
    if (private || unauthorized) && !res.headers().contains_key(header::CACHE_CONTROL) {
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
}

/// The scheme the project's tokens travel in (`Bearer`, or RealWorld's `Token`).
fn auth_scheme(req: &actix_web::HttpRequest) -> &'static str {
    #[cfg(feature = "auth")]
    if let Some(auth) = req.app_data::<web::Data<crate::auth::Auth>>() {
        return auth.scheme().prefix;
    }
    let _ = req;
    "Bearer"
}

/// A request body that must have arrived by a deadline; past it, reading fails with a
/// time-out (answered `408`). Without it, a client that sends a byte a second keeps a
/// connection, and a handler reading its body, busy for as long as it likes.
struct BodyDeadline {
    body: actix_web::dev::Payload,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl Stream for BodyDeadline {
    type Item = Result<web::Bytes, actix_web::error::PayloadError>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        if let Poll::Ready(item) = Pin::new(&mut self.body).poll_next(cx) {
            return Poll::Ready(item);
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(actix_web::error::PayloadError::Io(
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the request body did not arrive in time",
                ),
            )))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// What every HTML page sends: no script but the site's own files (so injected markup cannot
/// run), no framing (clickjacking), no MIME sniffing, and no full URL in `Referer` to other
/// sites. Inline `style` attributes stay allowed: they cannot run code. No `form-action`:
/// browsers apply it to the redirect after a form, which is what a password-protected link
/// does.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; \
    base-uri 'none'; frame-ancestors 'none'";

/// On an HTML response, the headers of [`CONTENT_SECURITY_POLICY`] and its companions.
fn add_security_headers<B>(res: &mut ServiceResponse<B>) {
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if is_html {
        let headers = res.headers_mut();
        for (name, value) in [
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ] {
            // A page that set its own policy (the blog allows remote images) keeps it.
            if !headers.contains_key(&name) {
                headers.insert(name, header::HeaderValue::from_static(value));
            }
        }
    }
}

/// Re-renders the kit's errors (whoever raised them: a handler, an extractor, the rate
/// limiter, the 404 service) in the project's format.
async fn render_errors(
    format: ErrorFormat,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let res = next.call(req).await?;
    let rendered = res
        .response()
        .error()
        .and_then(|e| e.as_error::<Error>())
        .map(|e| format.render(e));
    Ok(match rendered {
        Some(mut response) => {
            // Headers set on the way out (CORS by a scope's middleware, `Vary`) belong to the
            // new body as much as to the old one; only the body's own headers are replaced.
            let own: Vec<header::HeaderName> = response.headers().keys().cloned().collect();
            for (name, value) in res.headers() {
                let describes_body = name == header::CONTENT_TYPE || name == header::CONTENT_LENGTH;
                if !describes_body && !own.contains(name) {
                    response.headers_mut().append(name.clone(), value.clone());
                }
            }
            res.into_response(response).map_into_right_body()
        }
        None => res.map_into_left_body(),
    })
}
