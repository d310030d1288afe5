//! The Redis-backed rate limiter, under `TEST_REDIS_URL` (or `TEST_BACKEND=docker`).
//! Without Redis configured these tests exercise the in-process store instead.

use std::sync::Arc;
use std::time::Duration;

use backend_kit::rate_limit::{Decision, RateLimiter};
use backend_kit::redis::Redis;
use test_support::TestRedis;

fn redis(test: &TestRedis) -> Redis {
    Redis::connect(&test.url, &test.prefix).expect("redis url parses")
}

#[actix_web::test]
async fn two_instances_sharing_redis_enforce_one_budget() {
    let Some(test) = TestRedis::new() else {
        eprintln!("TEST_REDIS_URL not set: shared-budget test needs Redis (run by .ci/run)");
        return;
    };
    let a = Arc::new(RateLimiter::new(
        "login",
        3,
        Duration::from_secs(60),
        Some(redis(&test)),
        false,
    ));
    let b = Arc::new(RateLimiter::new(
        "login",
        3,
        Duration::from_secs(60),
        Some(redis(&test)),
        false,
    ));
    assert_eq!(a.check("10.0.0.1").await, Decision::Allow);
    assert_eq!(b.check("10.0.0.1").await, Decision::Allow);
    assert_eq!(a.check("10.0.0.1").await, Decision::Allow);
    assert!(
        matches!(b.check("10.0.0.1").await, Decision::Deny { .. }),
        "the budget is shared"
    );
    assert_eq!(
        b.check("10.0.0.2").await,
        Decision::Allow,
        "budgets are per client"
    );
}

#[actix_web::test]
async fn an_unreachable_redis_fails_open() {
    // Port 1 never has Redis: the limiter must allow rather than fail requests.
    let redis = Redis::connect("redis://127.0.0.1:1", "nowhere").expect("url parses");
    let limiter = RateLimiter::new(
        "login",
        1,
        Duration::from_secs(60),
        Some(redis.clone()),
        false,
    );
    for _ in 0..3 {
        assert_eq!(limiter.check("10.0.0.1").await, Decision::Allow);
    }
    assert!(redis.ping().await.is_err());
}
