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
use actix_web::http::{StatusCode, header};
use actix_web::middleware::{Next, from_fn};

use crate::http::error_response;
use crate::redis::Redis;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny { retry_after_secs: u64 },
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
    trust_proxy_headers: bool,
}

/// Local counters are swept once the map holds this many clients.
const LOCAL_SWEEP_AT: usize = 10_000;

impl RateLimiter {
    pub fn new(
        name: &'static str,
        limit: u32,
        window: Duration,
        redis: Option<Redis>,
        trust_proxy_headers: bool,
    ) -> Self {
        Self {
            name,
            limit,
            window: window.max(Duration::from_secs(1)),
            store: match redis {
                Some(redis) => Store::Redis(redis),
                None => Store::Local(Mutex::new(HashMap::new())),
            },
            trust_proxy_headers,
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
            settings.trust_proxy_headers,
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

    /// The client's IP: the TCP peer, or the first `X-Forwarded-For` hop when the service sits
    /// behind a proxy it trusts (otherwise anyone could pick their own IP with that header).
    pub fn client_of(&self, req: &ServiceRequest) -> String {
        let forwarded = self
            .trust_proxy_headers
            .then(|| {
                req.connection_info()
                    .realip_remote_addr()
                    .map(str::to_string)
            })
            .flatten();
        forwarded
            .and_then(|addr| {
                addr.parse::<IpAddr>()
                    .ok()
                    .or_else(|| addr.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
            })
            .or_else(|| req.peer_addr().map(|a| a.ip()))
            .map(|ip| ip.to_string())
            .unwrap_or_else(|| "unknown".into())
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
        let client = self.client_of(&req);
        match self.check(&client).await {
            Decision::Allow => next
                .call(req)
                .await
                .map(ServiceResponse::map_into_left_body),
            Decision::Deny { retry_after_secs } => {
                let mut response = error_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("Too many requests: retry in {retry_after_secs} seconds"),
                );
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    header::HeaderValue::from(retry_after_secs),
                );
                Ok(req.into_response(response).map_into_right_body())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn local_limiter_allows_the_budget_then_denies() {
        let limiter = RateLimiter::new("test", 3, Duration::from_secs(60), None, false);
        for _ in 0..3 {
            assert_eq!(limiter.check("1.2.3.4").await, Decision::Allow);
        }
        match limiter.check("1.2.3.4").await {
            Decision::Deny { retry_after_secs } => assert!((1..=60).contains(&retry_after_secs)),
            Decision::Allow => panic!("the fourth request must be denied"),
        }
        assert_eq!(
            limiter.check("5.6.7.8").await,
            Decision::Allow,
            "budgets are per client"
        );
    }
}
