use serde_json::json;
use test_support::TestRedis;

use crate::helpers::spawn_app_with;

#[actix_web::test]
async fn auth_endpoints_answer_429_with_retry_after_past_the_budget() {
    let app = spawn_app_with(|c| c.auth_rate_limit_per_minute = 3).await;
    let login = json!({"email": "nobody@example.com", "password": "password-123"});
    // /register, /login and /refresh share one budget per client IP.
    app.client
        .post("/register", None, &json!({}))
        .await
        .assert_status(400);
    app.client
        .post("/login", None, &login)
        .await
        .assert_status(401);
    app.client
        .post("/refresh", None, &json!({"refreshToken": "x"}))
        .await
        .assert_status(401);

    let response = app.client.post("/login", None, &login).await;
    response.assert_status(429);
    assert!(response.json()["message"].is_string());
    let retry_after: u64 = response
        .header("retry-after")
        .expect("Retry-After header")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");

    // Other endpoints are not limited.
    app.client.get("/health", None).await.assert_status(200);
}

#[actix_web::test]
#[ignore = "needs TEST_REDIS_URL"]
async fn instances_sharing_redis_enforce_one_budget() {
    let redis = TestRedis::required();
    let share = |c: &mut todo_api::Config| {
        c.auth_rate_limit_per_minute = 4;
        redis.configure(&mut c.settings);
    };
    let first = spawn_app_with(share).await;
    let second = spawn_app_with(share).await;
    let login = json!({"email": "nobody@example.com", "password": "password-123"});
    for app in [&first, &second, &first, &second] {
        app.client
            .post("/login", None, &login)
            .await
            .assert_status(401);
    }
    second
        .client
        .post("/login", None, &login)
        .await
        .assert_status(429);
    first
        .client
        .post("/login", None, &login)
        .await
        .assert_status(429);
}

#[actix_web::test]
async fn an_unreachable_redis_does_not_break_the_api() {
    let app = spawn_app_with(|c| {
        c.auth_rate_limit_per_minute = 2;
        c.settings.redis_url = Some(backend_kit::secret::Secret::new(
            "redis://127.0.0.1:1".into(),
        ));
    })
    .await;
    // Fail open: more than the budget goes through, rather than every login failing.
    for _ in 0..3 {
        app.client
            .post("/register", None, &json!({}))
            .await
            .assert_status(400);
    }
    let ready = app.client.get("/ready", None).await;
    ready.assert_status(200);
    assert_eq!(ready.json()["status"], "degraded");
}
