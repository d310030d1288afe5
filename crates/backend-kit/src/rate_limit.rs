//! Per-client request budgets: at most `limit` requests per `window` from one IP address.
//!
//! The algorithm is a *fixed window* counter: time is cut into windows (e.g. whole minutes)
//! and each client gets a counter per window. It is the simplest limiter that is exact and
//! needs one Redis round trip (`INCR` + `EXPIRE` in a transaction); its known weakness is a
//! burst of up to 2 × limit across a window boundary. Denied requests get `429` with
//! `Retry-After` (seconds until the window ends).
//!
//! Counters live in process memory by default, or in Redis when `REDIS_URL` is set, so all
//! instances behind a load balancer share one budget. If Redis fails, requests are allowed
//! (fail open) and a warning is logged: a limiter outage must not become a service outage.
//!
//! Attach it to routes with [`RateLimiter::middleware`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::Error;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::middleware::{Next, from_fn};

use crate::http::Error as HttpError;
use crate::redis::Redis;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny { retry_after_secs: u64 },
}

impl Decision {
    /// Allowed only if both are (two budgets for one request: per user and per address).
    pub fn and(self, other: Decision) -> Decision {
        match (self, other) {
            (Decision::Allow, Decision::Allow) => Decision::Allow,
            (deny @ Decision::Deny { .. }, _) | (_, deny) => deny,
        }
    }

    /// `Ok` to go on, or the `429` with `Retry-After` (for a handler that checks a budget
    /// keyed by something other than the client, such as an e-mail address).
    pub fn into_result(self) -> Result<(), HttpError> {
        match self {
            Decision::Allow => Ok(()),
            Decision::Deny { retry_after_secs } => {
                Err(HttpError::TooManyRequests { retry_after_secs })
            }
        }
    }
}

enum Store {
    Local(Mutex<HashMap<String, (u64, u32)>>),
    Redis(Redis),
}

pub struct RateLimiter {
    /// Names the budget in keys, so two limiters never share counters.
    name: &'static str,
    limit: u32,
    window: Duration,
    store: Store,
    /// See [`Settings::trusted_proxy_hops`](crate::config::Settings::trusted_proxy_hops).
    trusted_proxy_hops: u32,
}

/// Local counters are swept once the map holds this many clients.
const LOCAL_SWEEP_AT: usize = 10_000;

impl RateLimiter {
    pub fn new(
        name: &'static str,
        limit: u32,
        window: Duration,
        redis: Option<Redis>,
        trusted_proxy_hops: u32,
    ) -> Self {
        Self {
            name,
            limit,
            window: window.max(Duration::from_secs(1)),
            store: match redis {
                Some(redis) => Store::Redis(redis),
                None => Store::Local(Mutex::new(HashMap::new())),
            },
            trusted_proxy_hops,
        }
    }

    /// `limit` requests per minute per client, shared through `redis` when given, with the
    /// proxy-header policy from the settings: what every capstone's limiters are.
    pub fn per_minute(
        name: &'static str,
        limit: u32,
        redis: Option<&Redis>,
        settings: &crate::config::Settings,
    ) -> Arc<Self> {
        Arc::new(Self::new(
            name,
            limit,
            Duration::from_secs(60),
            redis.cloned(),
            settings.trusted_proxy_hops,
        ))
    }

    /// Counts one request from `client` and says whether it may proceed.
    pub async fn check(&self, client: &str) -> Decision {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let window_secs = self.window.as_secs();
        let window_index = now / window_secs;
        let retry_after_secs = (window_index + 1) * window_secs - now;

        let count = match &self.store {
            Store::Local(counters) => {
                let mut counters = counters
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                if counters.len() >= LOCAL_SWEEP_AT {
                    counters.retain(|_, (index, _)| *index == window_index);
                }
                let entry = counters
                    .entry(client.to_string())
                    .or_insert((window_index, 0));
                if entry.0 != window_index {
                    *entry = (window_index, 0);
                }
                entry.1 = entry.1.saturating_add(1);
                entry.1
            }
            Store::Redis(redis) => {
                let key = redis.key(&format!("ratelimit:{}:{client}:{window_index}", self.name));
                let mut counting = redis::pipe();
                counting
                    .atomic()
                    .incr(&key, 1)
                    .expire(&key, window_secs as i64);
                let result =
                    redis
                        .run(|mut conn| async move {
                            counting.query_async::<(u32, bool)>(&mut conn).await
                        })
                        .await;
                match result {
                    Some(Ok((count, _))) => count,
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, limiter = self.name, "rate limiter: redis unavailable, allowing request");
                        return Decision::Allow;
                    }
                    // Redis failed a moment ago and is skipped for now: fail open at once.
                    None => return Decision::Allow,
                }
            }
        };
        if count <= self.limit {
            Decision::Allow
        } else {
            Decision::Deny { retry_after_secs }
        }
    }

    /// The client's IP: the TCP peer, or, behind `trusted_proxy_hops` proxies of ours, the
    /// address the outermost of them received from. Each proxy *appends* to `X-Forwarded-For`,
    /// so that address is `hops` entries from the right; entries further left were written by
    /// the client and would let anyone pick a fresh budget per request.
    pub fn client_of(&self, req: &actix_web::HttpRequest) -> String {
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok());
        client_behind(
            self.trusted_proxy_hops,
            req.peer_addr().map(|a| a.ip()),
            forwarded,
        )
    }

    /// Middleware that applies this budget to every request of the wrapped route or scope:
    /// `web::resource("/login").wrap(limiter.middleware())`.
    pub fn middleware<S, B>(
        self: &Arc<Self>,
    ) -> impl Transform<
        S,
        ServiceRequest,
        Response = ServiceResponse<EitherBody<B>>,
        Error = Error,
        InitError = (),
    > + 'static
    where
        S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
        B: MessageBody + 'static,
    {
        let limiter = Arc::clone(self);
        from_fn(move |req: ServiceRequest, next: Next<B>| {
            let limiter = Arc::clone(&limiter);
            async move { limiter.enforce(req, next).await }
        })
    }

    async fn enforce<B: MessageBody>(
        &self,
        req: ServiceRequest,
        next: Next<B>,
    ) -> Result<ServiceResponse<EitherBody<B>>, Error> {
        let client = self.client_of(req.request());
        match self.check(&client).await.into_result() {
            Ok(()) => next
                .call(req)
                .await
                .map(ServiceResponse::map_into_left_body),
            Err(refusal) => Ok(req.error_response(refusal).map_into_right_body()),
        }
    }
}

/// Whose budget a request spends: an IPv4 address, or an IPv6 /64 — one customer's network
/// holds 2^64 addresses, and a budget per address would be a fresh budget per request.
fn budget_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// A client's budget key for any transport (the shortener's gRPC listener has its own
/// `GRPC_TRUSTED_PROXY_HOPS`): `peer`, the TCP peer's address; `forwarded`, the
/// `X-Forwarded-For` values in order, read only when `hops` proxies of ours are in front.
pub fn client_behind<'a>(
    hops: u32,
    peer: Option<IpAddr>,
    forwarded: impl Iterator<Item = &'a str>,
) -> String {
    let forwarded = match hops {
        0 => None,
        hops => forwarded_client(forwarded, hops as usize),
    };
    forwarded
        .or(peer)
        .map(budget_key)
        .unwrap_or_else(|| "unknown".into())
}

/// The entry `hops` from the right of all `X-Forwarded-For` headers taken as one list (the
/// left-most when there are fewer entries: the request passed fewer proxies, and the first
/// one wrote it). `None` without the header or when that entry is not an IP address.
fn forwarded_client<'a>(values: impl Iterator<Item = &'a str>, hops: usize) -> Option<IpAddr> {
    let entries: Vec<&str> = values.flat_map(|v| v.split(',')).map(str::trim).collect();
    let entry = entries
        .len()
        .checked_sub(hops)
        .map_or(entries.first(), |i| entries.get(i))?;
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn local_limiter_allows_the_budget_then_denies() {
        let limiter = RateLimiter::new("test", 3, Duration::from_secs(60), None, 0);
        for _ in 0..3 {
            assert_eq!(limiter.check("1.2.3.4").await, Decision::Allow);
        }
        match limiter.check("1.2.3.4").await {
            Decision::Deny { retry_after_secs } => assert!((1..=60).contains(&retry_after_secs)),
            Decision::Allow => panic!("the fourth request must be denied"),
        }
        let deny = Decision::Deny {
            retry_after_secs: 7,
        };
        assert_eq!(Decision::Allow.and(deny), deny);
        assert_eq!(deny.and(Decision::Allow), deny);
        assert_eq!(Decision::Allow.and(Decision::Allow), Decision::Allow);
        assert_eq!(
            limiter.check("5.6.7.8").await,
            Decision::Allow,
            "budgets are per client"
        );
    }

    fn request(peer: &str, forwarded_for: &[&str]) -> actix_web::HttpRequest {
        let mut request = actix_web::test::TestRequest::default().peer_addr(peer.parse().unwrap());
        for value in forwarded_for {
            request = request.append_header(("X-Forwarded-For", *value));
        }
        request.to_http_request()
    }

    #[test]
    fn the_client_is_read_from_the_right_of_x_forwarded_for() {
        let one_proxy = RateLimiter::new("test", 3, Duration::from_secs(60), None, 1);
        let two_proxies = RateLimiter::new("test", 3, Duration::from_secs(60), None, 2);
        let untrusting = RateLimiter::new("test", 3, Duration::from_secs(60), None, 0);
        let req = request("10.0.0.1:5000", &["6.6.6.6, 7.7.7.7", "203.0.113.9"]);
        assert_eq!(one_proxy.client_of(&req), "203.0.113.9");
        assert_eq!(two_proxies.client_of(&req), "7.7.7.7");
        assert_eq!(untrusting.client_of(&req), "10.0.0.1");
        // Fewer entries than proxies: the first proxy's entry.
        assert_eq!(
            two_proxies.client_of(&request("10.0.0.1:5000", &["203.0.113.9"])),
            "203.0.113.9"
        );
        // No header, or garbage where the client should be: the TCP peer.
        assert_eq!(
            one_proxy.client_of(&request("10.0.0.1:5000", &[])),
            "10.0.0.1"
        );
        assert_eq!(
            one_proxy.client_of(&request("10.0.0.1:5000", &["1.2.3.4, junk"])),
            "10.0.0.1"
        );
        assert_eq!(
            one_proxy.client_of(&request("10.0.0.1:5000", &["[2001:db8::1]:443"])),
            "2001:db8:0:0::/64"
        );
        // Every address of one /64 is one client.
        assert_eq!(
            one_proxy.client_of(&request("10.0.0.1:5000", &["2001:db8::ffff:1"])),
            "2001:db8:0:0::/64"
        );
    }

    /// A client behind our proxy writes its own `X-Forwarded-For`; the proxy appends the real
    /// address. A fresh fake entry per request must not buy a fresh budget.
    #[actix_web::test]
    async fn a_spoofed_forwarded_for_cannot_reset_a_budget() {
        use actix_web::{App, HttpResponse, test, web};
        let limiter = Arc::new(RateLimiter::new(
            "spoof",
            2,
            Duration::from_secs(60),
            None,
            1,
        ));
        let app = test::init_service(
            App::new().service(
                web::resource("/")
                    .wrap(limiter.middleware())
                    .to(HttpResponse::Ok),
            ),
        )
        .await;
        let mut statuses = Vec::new();
        for i in 0..4 {
            let req = test::TestRequest::get()
                .uri("/")
                .peer_addr("10.0.0.1:5000".parse().unwrap())
                .insert_header(("X-Forwarded-For", format!("198.51.100.{i}, 203.0.113.9")))
                .to_request();
            statuses.push(test::call_service(&app, req).await.status().as_u16());
        }
        assert_eq!(statuses, [200, 200, 429, 429]);
    }
}
