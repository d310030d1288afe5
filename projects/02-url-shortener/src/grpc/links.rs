//! `shortener.v1.Links`: each RPC reads its message into the input of the operation in
//! [`crate::links`] that the HTTP handler calls too, and writes the answer as a message.
//! What gRPC adds: the caller from `authorization` metadata, rate limits keyed by the peer's
//! address, errors as status codes ([`super::status`]), and a stream of visits.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backend_kit::auth::{Auth, AuthUser};
use backend_kit::rate_limit::{RateLimiter, client_behind};
use chrono::{DateTime, NaiveDateTime};
use tokio::sync::{Semaphore, broadcast, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataMap;
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::MAX_CALL_TIME;
use super::metrics::GrpcMetrics;
use super::proto::{self, links_server};
use super::status::to_status;
use crate::db::links::Link;
use crate::domain::Breakdown;
use crate::error::ApiError;
use crate::links::{self as ops, Change, Followed, ShortenRequest, Visitor};
use crate::routes::AppState;

/// Streams of `WatchVisits` open at once, over all clients; past it `RESOURCE_EXHAUSTED`.
pub const MAX_WATCHERS: usize = 1_000;
/// Streams one client address may hold open: one client cannot take every slot.
pub const MAX_WATCHERS_PER_CLIENT: usize = 16;
/// Messages a stream holds for a client that reads slowly; past it visits are skipped (and
/// counted in the next message's `missed`), so a stalled client costs bounded memory.
const WATCH_BUFFER: usize = 16;
/// Visits per `VisitBatch` message: a referrer host is at most 253 bytes, so a message stays
/// far below [`super::MAX_MESSAGE_BYTES`] however long the hosts a batch carries.
const VISITS_PER_MESSAGE: usize = 100;

/// The rate limits gRPC shares with HTTP, and how to tell its callers apart.
pub struct Budgets {
    /// `Shorten`, `Update` and `Delete` share HTTP's write budget per client address.
    pub writes: Arc<RateLimiter>,
    /// `Resolve` with a password: guesses per client address, as `POST /{code}`.
    pub passwords: Arc<RateLimiter>,
    /// `GRPC_TRUSTED_PROXY_HOPS`: when to believe `x-forwarded-for`.
    pub trusted_proxy_hops: u32,
}

/// The service: the state the HTTP handlers share, plus what gRPC needs of its own.
pub struct LinksService {
    state: Arc<AppState>,
    auth: Arc<Auth>,
    budgets: Budgets,
    watchers: Arc<Semaphore>,
    /// Open streams per client address (see [`MAX_WATCHERS_PER_CLIENT`]).
    watchers_by_client: Arc<Mutex<HashMap<String, usize>>>,
    /// Turns `true` when the server stops: open `WatchVisits` streams end then.
    stopping: watch::Receiver<bool>,
    metrics: GrpcMetrics,
}

impl LinksService {
    pub fn new(
        state: Arc<AppState>,
        auth: Arc<Auth>,
        budgets: Budgets,
        stopping: watch::Receiver<bool>,
        metrics: GrpcMetrics,
    ) -> Self {
        Self {
            state,
            auth,
            budgets,
            watchers: Arc::new(Semaphore::new(MAX_WATCHERS)),
            watchers_by_client: Arc::default(),
            stopping,
            metrics,
        }
    }

    /// The caller's address as the rate limits key it.
    fn client<T>(&self, request: &Request<T>) -> String {
        let forwarded = request
            .metadata()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        client_behind(
            self.budgets.trusted_proxy_hops,
            request.remote_addr().map(|a| a.ip()),
            forwarded,
        )
    }

    /// A slot for one more visit stream of `client`: `RESOURCE_EXHAUSTED` past its share or
    /// past the server's; the slot frees itself when the stream ends.
    fn watch_slot(&self, client: String) -> Result<WatchSlot, Status> {
        let permit = Arc::clone(&self.watchers)
            .try_acquire_owned()
            .map_err(|_| Status::resource_exhausted("too many visit streams open"))?;
        let mut open = self
            .watchers_by_client
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mine = open.entry(client.clone()).or_default();
        if *mine >= MAX_WATCHERS_PER_CLIENT {
            return Err(Status::resource_exhausted(format!(
                "at most {MAX_WATCHERS_PER_CLIENT} visit streams per client"
            )));
        }
        *mine += 1;
        Ok(WatchSlot {
            _permit: permit,
            client,
            by_client: Arc::clone(&self.watchers_by_client),
        })
    }

    /// The caller named by `authorization: Bearer <token>`, if sent (a bad one is
    /// `UNAUTHENTICATED`, as it is `401` on HTTP).
    async fn caller(&self, metadata: &MetadataMap) -> Result<Option<AuthUser>, Status> {
        let value = match metadata.get("authorization") {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .map_err(|_| Status::unauthenticated("invalid authorization metadata"))?,
            ),
        };
        self.auth
            .caller(value)
            .await
            .map_err(|e| to_status(ApiError::from(e), ""))
    }

    /// Spends one unit of `budget` for the client that sent `request`.
    async fn spend<T>(&self, budget: &RateLimiter, request: &Request<T>) -> Result<(), Status> {
        budget
            .check(&self.client(request))
            .await
            .into_result()
            .map_err(|e| to_status(e, ""))
    }

    /// `link` as a message; its target only when `show_target` (see [`ops::shows_target`]).
    fn link(&self, link: &Link, show_target: bool) -> proto::Link {
        proto::Link {
            id: link.id,
            code: link.code.clone(),
            url: show_target.then(|| link.url.clone()),
            created_at: Some(timestamp(link.created_at)),
            updated_at: Some(timestamp(link.updated_at)),
            expires_at: link.expires_at.map(timestamp),
            max_visits: link.max_visits,
            redirect_type: link.redirect_type.unwrap_or(302),
            password_protected: link.password_hash.is_some(),
            expired_at: link.expired_at.map(timestamp),
            short_url: format!(
                "{}/{}",
                self.state.public_url.trim_end_matches('/'),
                link.code
            ),
        }
    }

    /// Runs one call within the client's deadline, if it sent one; writes its access-log line
    /// (one per call, as HTTP writes one per request) and counts it in `/metrics`. A call
    /// past its deadline ends with `DEADLINE_EXCEEDED` (a query already sent to the database
    /// finishes there, but nothing waits for it). Without a deadline, tonic's own limit
    /// ([`MAX_CALL_TIME`]) still applies.
    async fn call<T>(
        &self,
        method: &'static str,
        deadline: Option<Duration>,
        work: impl Future<Output = Result<T, Status>>,
    ) -> Result<T, Status> {
        let timing = self.metrics.start(method);
        let late = || Status::deadline_exceeded("the call's deadline passed");
        let result = match deadline {
            None => work.await,
            // Too short to do anything in.
            Some(deadline) if deadline.is_zero() => Err(late()),
            Some(deadline) => tokio::time::timeout(deadline, work)
                .await
                .unwrap_or_else(|_| Err(late())),
        };
        timing.end(result.as_ref().map_or_else(Status::code, |_| Code::Ok));
        result
    }
}

/// The client's deadline (`grpc-timeout`), at most [`MAX_CALL_TIME`], less a margin: tonic
/// runs its own timer on the same header from the moment the request arrived, a little before
/// this call started, and ends the call with `CANCELLED` when it fires first. The margin (a
/// tenth, between 5 and 250 ms) lets the client hear `DEADLINE_EXCEEDED` from us instead.
fn deadline_of(metadata: &MetadataMap) -> Option<Duration> {
    let sent = metadata
        .get("grpc-timeout")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_grpc_timeout)?
        .min(MAX_CALL_TIME);
    let margin = (sent / 10).clamp(Duration::from_millis(5), Duration::from_millis(250));
    Some(sent.saturating_sub(margin))
}

/// `grpc-timeout` as the gRPC spec writes it: up to 8 digits and a unit (`H`ours, `M`inutes,
/// `S`econds, `m`illi-, `u`micro-, `n`anoseconds).
fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

fn timestamp(t: NaiveDateTime) -> prost_types::Timestamp {
    let t = t.and_utc();
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// A `Timestamp` as the RFC 3339 text the shared parser reads (which then checks it is in
/// the future and within 100 years); `None` for one that is no point in time at all.
fn rfc3339(t: &prost_types::Timestamp) -> Option<String> {
    let nanos = u32::try_from(t.nanos).ok()?;
    DateTime::from_timestamp(t.seconds, nanos).map(|t| t.to_rfc3339())
}

/// An unusable `Timestamp` in `field`, as the shared parser would have said it.
fn bad_timestamp(field: &str) -> Status {
    Status::with_error_details(
        Code::InvalidArgument,
        "Invalid input",
        ErrorDetails::with_bad_request_violation(field, "must be a valid timestamp"),
    )
}

fn manage_token(metadata: &MetadataMap) -> Option<String> {
    metadata
        .get("x-manage-token")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
}

/// Fields `UpdateRequest.update_mask` may name.
const MASKABLE: [&str; 5] = [
    "url",
    "expires_at",
    "max_visits",
    "redirect_type",
    "password",
];

/// An `UpdateRequest` as the shared input: each field named in the mask is sent (a value, or
/// "remove it" when unset); the others are left as they are.
fn change_from(update: proto::UpdateRequest) -> Result<ShortenRequest, Status> {
    let mut violations = ErrorDetails::new();
    let mut named = HashMap::new();
    let paths = update
        .update_mask
        .map(|mask| mask.paths)
        .unwrap_or_default();
    for path in &paths {
        if !MASKABLE.contains(&path.as_str()) {
            violations.add_bad_request_violation(
                "update_mask",
                format!(
                    "unknown field `{path}`: expected one of {}",
                    MASKABLE.join(", ")
                ),
            );
        }
        named.insert(path.as_str(), ());
    }
    if paths.is_empty() {
        violations.add_bad_request_violation("update_mask", "must name at least one field");
    }
    if violations.has_bad_request_violations() {
        return Err(Status::with_error_details(
            Code::InvalidArgument,
            "Invalid input",
            violations,
        ));
    }
    let changes = update.changes.unwrap_or_default();
    let sent = |name| named.contains_key(name);
    let expires_at = match (sent("expires_at"), &changes.expires_at) {
        (false, _) => None,
        (true, None) => Some(None),
        (true, Some(t)) => Some(Some(
            rfc3339(t).ok_or_else(|| bad_timestamp("changes.expires_at"))?,
        )),
    };
    Ok(ShortenRequest {
        // Named but unset: the shared parser says `url` "is required".
        url: sent("url").then(|| changes.url.unwrap_or_default()),
        custom_code: None,
        expires_at,
        max_visits: sent("max_visits").then_some(changes.max_visits),
        redirect_type: sent("redirect_type").then(|| changes.redirect_type.map(i64::from)),
        password: sent("password").then_some(changes.password),
    })
}

type VisitStream = ReceiverStream<Result<proto::VisitBatch, Status>>;

#[tonic::async_trait]
impl links_server::Links for LinksService {
    async fn shorten(
        &self,
        request: Request<proto::ShortenRequest>,
    ) -> Result<Response<proto::ShortenResponse>, Status> {
        self.call("Shorten", deadline_of(request.metadata()), async {
            self.spend(&self.budgets.writes, &request).await?;
            let caller = self.caller(request.metadata()).await?;
            let message = request.into_inner();
            let expires_at = match &message.expires_at {
                None => None,
                Some(t) => Some(Some(rfc3339(t).ok_or_else(|| bad_timestamp("expires_at"))?)),
            };
            let input = ShortenRequest {
                url: Some(message.url),
                custom_code: message.custom_code,
                expires_at,
                max_visits: message.max_visits.map(Some),
                redirect_type: message.redirect_type.map(|n| Some(i64::from(n))),
                password: message.password.map(Some),
            };
            let created = ops::create(&self.state, caller, &input)
                .await
                .map_err(|e| to_status(e, ""))?;
            Ok(Response::new(proto::ShortenResponse {
                // Its maker just sent the target: shown, as HTTP shows it.
                link: Some(self.link(&created.link, true)),
                manage_token: created.manage_token,
            }))
        })
        .await
    }

    async fn get(
        &self,
        request: Request<proto::GetRequest>,
    ) -> Result<Response<proto::Link>, Status> {
        self.call("Get", deadline_of(request.metadata()), async {
            let caller = self.caller(request.metadata()).await?;
            let code = request.into_inner().code;
            let link = ops::get(&self.state, caller, code)
                .await
                .map_err(|e| to_status(e, ""))?;
            Ok(Response::new(
                self.link(&link, ops::shows_target(&link, caller)),
            ))
        })
        .await
    }

    async fn update(
        &self,
        request: Request<proto::UpdateRequest>,
    ) -> Result<Response<proto::Link>, Status> {
        self.call("Update", deadline_of(request.metadata()), async {
            self.spend(&self.budgets.writes, &request).await?;
            let caller = self.caller(request.metadata()).await?;
            let presented = manage_token(request.metadata());
            let update = request.into_inner();
            let code = update.code.clone();
            let input = change_from(update)?;
            let change =
                Change::parse(&self.state, &input, false).map_err(|e| to_status(e, "changes."))?;
            let link = ops::update(&self.state, caller, presented, code, change)
                .await
                .map_err(|e| to_status(e, "changes."))?;
            Ok(Response::new(
                self.link(&link, ops::shows_target(&link, caller)),
            ))
        })
        .await
    }

    async fn delete(
        &self,
        request: Request<proto::DeleteRequest>,
    ) -> Result<Response<proto::DeleteResponse>, Status> {
        self.call("Delete", deadline_of(request.metadata()), async {
            self.spend(&self.budgets.writes, &request).await?;
            let caller = self.caller(request.metadata()).await?;
            let presented = manage_token(request.metadata());
            let code = request.into_inner().code;
            ops::delete(&self.state, caller, presented, code)
                .await
                .map_err(|e| to_status(e, ""))?;
            Ok(Response::new(proto::DeleteResponse {}))
        })
        .await
    }

    async fn resolve(
        &self,
        request: Request<proto::ResolveRequest>,
    ) -> Result<Response<proto::ResolveResponse>, Status> {
        self.call("Resolve", deadline_of(request.metadata()), async {
            if request.get_ref().password.is_some() {
                self.spend(&self.budgets.passwords, &request).await?;
            }
            let message = request.into_inner();
            let visitor = Visitor {
                user_agent: &message.user_agent,
                referrer: Some(message.referrer.as_str()).filter(|r| !r.is_empty()),
                record: message.count_visit,
            };
            let denied = |reason: &str, message: &str| {
                Status::with_error_details(
                    Code::PermissionDenied,
                    message,
                    ErrorDetails::with_error_info(reason, "shortener.v1", HashMap::new()),
                )
            };
            let (status, url) = match message.password {
                Some(password) => ops::unlock(&self.state, &message.code, password, &visitor)
                    .await
                    .map_err(|e| to_status(e, ""))?
                    .ok_or_else(|| denied("WRONG_PASSWORD", "wrong password"))?,
                None => match ops::follow(&self.state, &message.code, &visitor)
                    .await
                    .map_err(|e| to_status(e, ""))?
                {
                    Followed::To { status, url } => (status, url),
                    Followed::NeedsPassword => {
                        return Err(denied("PASSWORD_REQUIRED", "the link needs its password"));
                    }
                },
            };
            Ok(Response::new(proto::ResolveResponse {
                url,
                redirect_type: i32::from(status),
            }))
        })
        .await
    }

    async fn stats(
        &self,
        request: Request<proto::StatsRequest>,
    ) -> Result<Response<proto::StatsResponse>, Status> {
        self.call("Stats", deadline_of(request.metadata()), async {
            let caller = self.caller(request.metadata()).await?;
            let message = request.into_inner();
            let by = match proto::Breakdown::try_from(message.by) {
                Ok(proto::Breakdown::Unspecified) => None,
                Ok(proto::Breakdown::Day) => Some(Breakdown::Day),
                Ok(proto::Breakdown::Referrer) => Some(Breakdown::Referrer),
                Ok(proto::Breakdown::Browser) => Some(Breakdown::Browser),
                Err(_) => {
                    return Err(Status::with_error_details(
                        Code::InvalidArgument,
                        "Invalid input",
                        ErrorDetails::with_bad_request_violation("by", "unknown breakdown"),
                    ));
                }
            };
            let (link, breakdown) = ops::stats(&self.state, caller, message.code, by)
                .await
                .map_err(|e| to_status(e, ""))?;
            Ok(Response::new(proto::StatsResponse {
                link: Some(self.link(&link, ops::shows_target(&link, caller))),
                access_count: link.access_count,
                breakdown: breakdown
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(key, visits)| proto::Bucket { key, visits })
                    .collect(),
            }))
        })
        .await
    }

    type WatchVisitsStream = VisitStream;

    async fn watch_visits(
        &self,
        request: Request<proto::WatchVisitsRequest>,
    ) -> Result<Response<VisitStream>, Status> {
        self.call("WatchVisits", deadline_of(request.metadata()), async {
            let caller = self.caller(request.metadata()).await?;
            let client = self.client(&request);
            let code = request.into_inner().code;
            // Visits are statistics: the owner's alone, as `Stats`.
            let link = ops::get(&self.state, caller, code)
                .await
                .map_err(|e| to_status(e, ""))?;
            let slot = self.watch_slot(client)?;
            let batches = self.state.visits.subscribe();
            let (sender, receiver) = mpsc::channel(WATCH_BUFFER);
            tokio::spawn(forward_visits(
                link.id,
                batches,
                sender,
                self.stopping.clone(),
                slot,
            ));
            Ok(Response::new(ReceiverStream::new(receiver)))
        })
        .await
    }
}

/// Forwards the visits of link `id` from the visit writer's batches to one stream, until the
/// client goes away or the server stops (the stream then ends with `OK`).
async fn forward_visits(
    id: i64,
    mut batches: broadcast::Receiver<crate::visit_feed::WrittenBatch>,
    sender: mpsc::Sender<Result<proto::VisitBatch, Status>>,
    mut stopping: watch::Receiver<bool>,
    _slot: WatchSlot,
) {
    let mut missed: u64 = 0;
    loop {
        let batch = tokio::select! {
            _ = stopping.wait_for(|stop| *stop) => break,
            () = sender.closed() => break,
            batch = batches.recv() => batch,
        };
        let batch = match batch {
            Ok(batch) => batch,
            // This task fell behind the writer (it did not run for a minute): go on with
            // what comes next.
            Err(broadcast::error::RecvError::Lagged(batches)) => {
                tracing::warn!(batches, "a visit stream fell behind");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => break,
        };
        let visits: Vec<proto::Visit> = batch
            .iter()
            .filter(|v| v.link_id == id)
            .map(|v| proto::Visit {
                visited_at: Some(timestamp(v.visited_at)),
                referrer_host: v.referrer_host.clone().unwrap_or_default(),
                browser: v.browser.clone(),
                bot: v.is_bot,
                hits: v.hits,
            })
            .collect();
        for chunk in visits.chunks(VISITS_PER_MESSAGE) {
            let hits: i64 = chunk.iter().map(|v| v.hits).sum();
            let message = proto::VisitBatch {
                visits: chunk.to_vec(),
                missed,
            };
            match sender.try_send(Ok(message)) {
                Ok(()) => missed = 0,
                Err(mpsc::error::TrySendError::Full(_)) => missed += hits.unsigned_abs(),
                Err(mpsc::error::TrySendError::Closed(_)) => return,
            }
        }
    }
}

/// One open visit stream's place: in the server's count and its client's.
struct WatchSlot {
    _permit: tokio::sync::OwnedSemaphorePermit,
    client: String,
    by_client: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for WatchSlot {
    fn drop(&mut self) {
        let mut open = self.by_client.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}
