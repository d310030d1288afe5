use redis::Commands;
use serde_json::json;
use test_support::TestRedis;

use crate::helpers::{TestApp, execute_sql, spawn_app, spawn_app_with, start};

/// Changes a link's URL behind the service's back, straight in the database.
fn rewrite_in_database(database_url: &str, code: &str, url: &str) {
    execute_sql(
        database_url,
        &format!("UPDATE links SET url = '{url}' WHERE code = '{code}'"),
    );
}

/// Two instances on one database and one Redis, as behind a load balancer.
async fn two_instances_sharing(redis: &TestRedis) -> (TestApp, TestApp) {
    two_instances_sharing_via(&redis.url, redis).await
}

/// The same, with the first instance reaching Redis at `first_url` (through a proxy, say).
async fn two_instances_sharing_via(first_url: &str, redis: &TestRedis) -> (TestApp, TestApp) {
    let first = spawn_app_with(|c| {
        c.settings.redis_url = Some(backend_kit::secret::Secret::new(first_url.to_string()));
        c.settings.redis_prefix = redis.prefix.clone();
    })
    .await;
    let second = start(first.database_url.clone(), Some(redis.clone()), |_| {}).await;
    (first, second)
}

#[actix_web::test]
async fn a_cache_hit_does_not_read_the_database() {
    let app = spawn_app().await;
    let code = app
        .create(json!({"url": "https://example.com/cached"}))
        .await;
    app.visit(&code).await.assert_status(302); // fills the cache
    rewrite_in_database(
        &app.database_url,
        &code,
        "https://example.com/changed-behind-our-back",
    );
    assert_eq!(
        app.visit(&code).await.header("location"),
        Some("https://example.com/cached"),
        "served from the cache, so the database change is not seen"
    );
    // And /metrics says so: the first visit missed, the second hit.
    let text = app.client.get("/metrics", None).await.text;
    assert!(text.contains("shortener_cache_misses_total 1\n"), "{text}");
    assert!(text.contains("shortener_cache_hits_total 1\n"), "{text}");
}

#[actix_web::test]
#[ignore = "needs TEST_REDIS_URL"]
async fn invalidation_reaches_every_instance_sharing_redis() {
    let redis = TestRedis::required();
    let (first, second) = two_instances_sharing(&redis).await;

    let code = first
        .create(json!({"url": "https://example.com/one"}))
        .await;
    second.visit(&code).await.assert_status(302); // cached in Redis, shared
    first
        .client
        .put(
            &format!("/shorten/{code}"),
            None,
            &json!({"url": "https://example.com/two"}),
        )
        .await
        .assert_status(200);
    assert_eq!(
        second.visit(&code).await.header("location"),
        Some("https://example.com/two")
    );
    first
        .client
        .delete(&format!("/shorten/{code}"), None)
        .await
        .assert_status(204);
    second.visit(&code).await.assert_status(404);
}

#[actix_web::test]
async fn redirects_keep_working_when_redis_is_down() {
    let app = spawn_app_with(|c| {
        c.settings.redis_url = Some(backend_kit::secret::Secret::new(
            "redis://127.0.0.1:1".into(),
        ));
    })
    .await;
    let code = app.create(json!({"url": "https://example.com/"})).await;
    for _ in 0..3 {
        app.visit(&code).await.assert_status(302);
    }
    let ready = app.client.get("/ready", None).await;
    ready.assert_status(200);
    assert_eq!(ready.json()["status"], "degraded");
    assert_eq!(ready.json()["redis"], "unavailable");
    assert_eq!(ready.json()["database"], "ok");
    assert_eq!(ready.json()["jobs"], "ok");
    assert_eq!(app.wait_for_count(&code, 3).await["accessCount"], 3);
}

#[actix_web::test]
#[ignore = "needs TEST_REDIS_URL"]
async fn each_instance_keeps_near_copies_that_a_change_anywhere_drops() {
    let redis = TestRedis::required();
    let (first, second) = two_instances_sharing(&redis).await;
    let code = first.create(json!({"url": "https://example.com/0"})).await;

    // Miss (database, then Redis), Redis hit (copied into the process), near hit.
    for _ in 0..3 {
        second.visit(&code).await.assert_status(302);
    }
    // The near copy answers without Redis: with the Redis entry gone and the database
    // changed behind the service's back, the second instance still serves what it copied.
    rewrite_in_database(&first.database_url, &code, "https://example.com/behind");
    let mut conn = redis::Client::open(redis.url.as_str())
        .and_then(|client| client.get_connection())
        .expect("redis");
    let _: () = conn
        .del(format!("{}:link:{code}", redis.prefix))
        .expect("DEL");
    assert_eq!(
        second.visit(&code).await.header("location"),
        Some("https://example.com/0")
    );

    // Every change on the first instance reaches the second's copy before the next request.
    for round in 1..=10 {
        let url = format!("https://example.com/{round}");
        first
            .client
            .put(&format!("/shorten/{code}"), None, &json!({ "url": url }))
            .await
            .assert_status(200);
        for _ in 0..3 {
            assert_eq!(
                second.visit(&code).await.header("location"),
                Some(url.as_str()),
                "round {round}"
            );
        }
    }
    first
        .client
        .delete(&format!("/shorten/{code}"), None)
        .await
        .assert_status(204);
    second.visit(&code).await.assert_status(404);
}

#[actix_web::test]
#[ignore = "needs TEST_REDIS_URL"]
async fn a_change_made_while_cut_off_from_redis_reaches_it_once_it_is_back() {
    let redis = TestRedis::required();
    // The first instance reaches Redis through a proxy that can be cut: a partition between
    // it and Redis, while the second instance and Redis itself carry on.
    let (proxy, proxied) = redis.proxy();
    let (first, second) = two_instances_sharing_via(&proxied, &redis).await;

    let code = first.create(json!({"url": "https://example.com/1"})).await;
    second.visit(&code).await.assert_status(302); // in Redis now
    proxy.cut();
    first
        .client
        .put(
            &format!("/shorten/{code}"),
            None,
            &json!({"url": "https://example.com/2"}),
        )
        .await
        .assert_status(200);
    // The instance that made the change reads it from the database meanwhile, and quickly:
    // Redis is skipped, not waited for, while it is unreachable.
    for _ in 0..3 {
        assert_eq!(
            first.visit(&code).await.header("location"),
            Some("https://example.com/2")
        );
    }
    proxy.restore();
    // Its invalidation is retried until Redis takes it; then the other instance sees the change.
    let mut seen = None;
    for _ in 0..100 {
        seen = second
            .visit(&code)
            .await
            .header("location")
            .map(str::to_string);
        if seen.as_deref() == Some("https://example.com/2") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(seen.as_deref(), Some("https://example.com/2"));
}

/// Many cold-cache redirects released together with a change: those that read the database
/// before the change must not fill the cache after its invalidation. Once the change has been
/// answered, no instance may serve the old answer. Both directions: a `PUT` racing reads of
/// the old target, and a `POST` with a `customCode` racing reads that find nothing yet.
async fn no_stale_answer_survives_a_racing_change(writer: &TestApp, readers: [&TestApp; 2]) {
    use futures_util::future::join_all;

    let reads = |code: String| {
        join_all((0..16).map(move |i| {
            let (reader, code) = (readers[i % 2], code.clone());
            async move { reader.visit(&code).await.status.as_u16() }
        }))
    };
    let mut stale = Vec::new();
    for round in 0..25 {
        let code = format!("race-{round}-{}", test_support::unique_suffix());
        let old = format!("https://example.com/{round}/old");
        let new = format!("https://example.com/{round}/new");

        // The mirror case first: reads find no such code while it is being created.
        let body = json!({"url": old, "customCode": code});
        let create = writer.shorten(&body);
        let (created, _) = futures_util::join!(create, reads(code.clone()));
        created.assert_status(201);
        for reader in readers {
            let status = reader.visit(&code).await.status.as_u16();
            if status != 302 {
                stale.push(format!("round {round}: {status} after the create"));
            }
        }

        // Now a change of target, with the cache cold again (each round uses a fresh code,
        // and the reads above filled it, so empty it through another change first).
        let path = format!("/shorten/{code}");
        writer
            .client
            .put(&path, None, &json!({"url": old}))
            .await
            .assert_status(200);
        let body = json!({"url": new});
        let update = writer.client.put(&path, None, &body);
        let (updated, _) = futures_util::join!(update, reads(code.clone()));
        updated.assert_status(200);
        for reader in readers {
            let location = reader
                .visit(&code)
                .await
                .header("location")
                .map(str::to_string);
            if location.as_deref() != Some(new.as_str()) {
                stale.push(format!("round {round}: {location:?} after the update"));
            }
        }
    }
    assert!(stale.is_empty(), "stale answers: {stale:#?}");
}

#[actix_web::test]
async fn racing_reads_never_refill_the_in_process_cache_with_a_stale_answer() {
    let app = spawn_app().await;
    no_stale_answer_survives_a_racing_change(&app, [&app, &app]).await;
}

#[actix_web::test]
#[ignore = "needs TEST_REDIS_URL"]
async fn racing_reads_never_refill_redis_with_a_stale_answer() {
    let redis = TestRedis::required();
    let (first, second) = two_instances_sharing(&redis).await;
    no_stale_answer_survives_a_racing_change(&first, [&first, &second]).await;
}

/// A Redis that stalls (`kill -STOP`, packets dropped without a reset) closes no connection:
/// the instance behind it must notice by itself — its subscription heartbeat, its breaker —
/// and stop serving near copies of links changed or deleted elsewhere meanwhile.
#[actix_web::test]
#[ignore = "needs TEST_REDIS_URL"]
async fn an_instance_behind_a_stalled_redis_stops_serving_its_near_copies() {
    let redis = TestRedis::required();
    let (proxy, proxied) = redis.proxy();
    // The first instance reaches Redis through the proxy that will stall; the second, which
    // makes the changes, reaches it directly.
    let (stalled, writer) = two_instances_sharing_via(&proxied, &redis).await;
    let code = writer.create(json!({"url": "https://example.com/1"})).await;
    let other = writer.create(json!({"url": "https://example.com/a"})).await;
    for code in [&code, &other] {
        for _ in 0..3 {
            stalled.visit(code).await.assert_status(302); // a near copy by now
        }
    }

    proxy.stall();
    writer
        .client
        .delete(&format!("/shorten/{code}"), None)
        .await
        .assert_status(204);
    writer
        .client
        .put(
            &format!("/shorten/{other}"),
            None,
            &json!({"url": "https://example.com/b"}),
        )
        .await
        .assert_status(200);
    let started = std::time::Instant::now();
    let deadline = started + std::time::Duration::from_secs(10);
    loop {
        let deleted = stalled.visit(&code).await.status;
        let changed = stalled
            .visit(&other)
            .await
            .header("location")
            .map(str::to_string);
        if deleted == 404 && changed.as_deref() == Some("https://example.com/b") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still serving the old copies after 10 s: {deleted}, {changed:?}"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(4),
        "the old copies were served for {took:?}"
    );
    let ready = stalled.client.get("/ready", None).await.json();
    assert_eq!(ready["redis"], "unavailable", "{ready}");

    // Once Redis answers again, copies are kept and dropped on invalidations as before.
    proxy.resume();
    let mut seen = None;
    for _ in 0..100 {
        writer
            .client
            .put(
                &format!("/shorten/{other}"),
                None,
                &json!({"url": "https://example.com/c"}),
            )
            .await
            .assert_status(200);
        seen = stalled
            .visit(&other)
            .await
            .header("location")
            .map(str::to_string);
        if seen.as_deref() == Some("https://example.com/c") {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(seen.as_deref(), Some("https://example.com/c"));
}
