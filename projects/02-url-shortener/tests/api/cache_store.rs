//! The cache's shared store (Redis) as several instances use it: two `Cache`s on one Redis
//! and one key prefix stand for two processes behind a load balancer. These need
//! `TEST_REDIS_URL` (or `TEST_BACKEND=docker`) and are `#[ignore]`d without it; `.ci/run` runs
//! them with `--include-ignored`. The in-process store has its unit tests in `src/cache/`.

use std::time::{Duration, Instant};

use backend_kit::redis::Redis;
use test_support::{TcpProxy, TestRedis};
use url_shortener::cache::{Cache, Lookup};

fn instance(url: &str, redis: &TestRedis) -> Cache<String> {
    let client = Redis::connect(url, &redis.prefix).expect("redis url parses");
    Cache::redis(client, 100)
}

async fn read_through(cache: &Cache<String>, key: &str, source: &str) -> String {
    match cache.lookup(key).await.expect("lookup") {
        Lookup::Hit(value) => value,
        Lookup::Miss(ticket) => {
            cache
                .fill(ticket, &source.to_string(), Duration::from_secs(60))
                .await
                .expect("fill");
            source.to_string()
        }
    }
}

/// Polls `cache` until `key` reads as `expected` (at most 10 s); the value it last read.
async fn eventually(cache: &Cache<String>, key: &str, source: &str, expected: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let seen = read_through(cache, key, source).await;
        if seen == expected || Instant::now() > deadline {
            return seen;
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A reader on one instance misses and reads the old value from the database; a writer on
/// another changes it and invalidates; then the reader fills. The old value must not land in
/// Redis, where every instance would serve it for a whole TTL.
#[actix_web::test]
#[ignore = "needs TEST_REDIS_URL"]
async fn a_fill_that_lost_the_race_to_an_invalidation_elsewhere_is_dropped() {
    let redis = TestRedis::required();
    let (reader, writer) = (instance(&redis.url, &redis), instance(&redis.url, &redis));
    for round in 0..20 {
        let key = format!("k{round}");
        let Lookup::Miss(ticket) = reader.lookup(&key).await.expect("lookup") else {
            panic!("nothing cached yet")
        };
        writer.invalidate(&key).await.expect("invalidate");
        reader
            .fill(ticket, &"old".to_string(), Duration::from_secs(60))
            .await
            .expect("fill");
        assert_eq!(
            read_through(&writer, &key, "new").await,
            "new",
            "round {round}"
        );
        assert_eq!(
            read_through(&reader, &key, "new").await,
            "new",
            "round {round}"
        );
    }
}

/// What one instance reads it keeps a near copy of; an invalidation anywhere drops it.
#[actix_web::test]
#[ignore = "needs TEST_REDIS_URL"]
async fn an_invalidation_drops_every_instances_near_copy() {
    let redis = TestRedis::required();
    let (first, second) = (instance(&redis.url, &redis), instance(&redis.url, &redis));
    assert_eq!(read_through(&first, "k", "v1").await, "v1");
    assert_eq!(
        read_through(&second, "k", "v2").await,
        "v1",
        "shared through Redis"
    );
    first.invalidate("k").await.expect("invalidate");
    assert_eq!(eventually(&second, "k", "v2", "v2").await, "v2");
    assert_eq!(read_through(&first, "k", "v3").await, "v2");
}

/// An instance cut off from Redis (a partition: Redis itself is up) keeps its invalidation
/// and retries it; once it lands, the other instances see the change.
#[actix_web::test]
#[ignore = "needs TEST_REDIS_URL"]
async fn an_invalidation_made_while_cut_off_lands_when_redis_is_back() {
    let redis = TestRedis::required();
    let target = redis
        .url
        .trim_start_matches("redis://")
        .trim_end_matches('/');
    let proxy = TcpProxy::start(target).expect("proxy");
    let cut_off = instance(&format!("redis://{}", proxy.address()), &redis);
    let other = instance(&redis.url, &redis);
    assert_eq!(read_through(&other, "k", "old").await, "old");
    assert_eq!(read_through(&cut_off, "k", "old").await, "old");

    proxy.cut();
    assert!(
        cut_off.invalidate("k").await.is_err(),
        "Redis is unreachable"
    );
    // Meanwhile the instance that made the change reads the source, not its stale copies.
    assert_eq!(read_through(&cut_off, "k", "new").await, "new");
    assert_eq!(
        read_through(&other, "k", "new").await,
        "old",
        "not told yet"
    );

    proxy.restore();
    assert_eq!(eventually(&other, "k", "new", "new").await, "new");
}
