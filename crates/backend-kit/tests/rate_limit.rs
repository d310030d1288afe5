//! The Redis-backed rate limiter. The shared-budget test needs `TEST_REDIS_URL` (or
//! `TEST_BACKEND=docker`) and is `#[ignore]`d without it; `.ci/run` runs it with
//! `--include-ignored`. The in-process store has its unit tests in `src/rate_limit.rs`.

use std::sync::Arc;
use std::time::Duration;

use backend_kit::rate_limit::{Decision, RateLimiter};
use backend_kit::redis::Redis;
use test_support::TestRedis;

fn redis(test: &TestRedis) -> Redis {
    Redis::connect(&test.url, &test.prefix).expect("redis url parses")
}

#[actix_web::test]
#[ignore = "needs TEST_REDIS_URL"]
async fn two_instances_sharing_redis_enforce_one_budget() {
    let test = TestRedis::required();
    let a = Arc::new(RateLimiter::new(
        "login",
        3,
        Duration::from_secs(60),
        Some(redis(&test)),
        0,
    ));
    let b = Arc::new(RateLimiter::new(
        "login",
        3,
        Duration::from_secs(60),
        Some(redis(&test)),
        0,
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
    let limiter = RateLimiter::new("login", 1, Duration::from_secs(60), Some(redis.clone()), 0);
    for _ in 0..3 {
        assert_eq!(limiter.check("10.0.0.1").await, Decision::Allow);
    }
    assert!(redis.ping().await.is_err());
}
