use std::time::Duration;

use serde_json::json;

use crate::helpers::spawn_app;

#[actix_web::test]
async fn a_code_redirects_with_302_by_default_or_the_chosen_status() {
    let app = spawn_app().await;
    let code = app
        .create(json!({"url": "https://example.com/target?x=1"}))
        .await;
    let response = app.visit(&code).await;
    response.assert_status(302);
    assert_eq!(
        response.header("location"),
        Some("https://example.com/target?x=1")
    );

    for status in [301, 307, 308] {
        let code = app
            .create(json!({"url": "https://example.com/", "redirectType": status}))
            .await;
        app.visit(&code).await.assert_status(status);
    }
}

#[actix_web::test]
async fn unknown_codes_are_404() {
    let app = spawn_app().await;
    for _ in 0..2 {
        let response = app.visit("doesNotExist").await;
        response.assert_status(404);
        assert_eq!(response.json(), json!({"message": "Not Found"}));
    }
    // A code that was looked up (and cached as missing) works once created.
    app.create(json!({"url": "https://example.com/", "customCode": "doesNotExist"}))
        .await;
    app.visit("doesNotExist").await.assert_status(302);
}

#[actix_web::test]
async fn visits_are_counted_exactly_within_a_second() {
    let app = spawn_app().await;
    let code = app.create(json!({"url": "https://example.com/"})).await;
    for _ in 0..5 {
        app.visit(&code).await.assert_status(302);
    }
    let request = app
        .client
        .request(reqwest::Method::GET, &format!("/{code}"))
        .header("User-Agent", "Googlebot/2.1");
    app.client.send(request).await.assert_status(302);
    let stats = app.wait_for_count(&code, 5).await;
    assert_eq!(
        stats["accessCount"], 5,
        "bots are redirected but not counted: {stats}"
    );
}

#[actix_web::test]
async fn stats_break_visits_down() {
    let app = spawn_app().await;
    let code = app.create(json!({"url": "https://example.com/"})).await;
    let firefox = "Mozilla/5.0 (X11; rv:128.0) Gecko/20100101 Firefox/128.0";
    for (agent, referrer) in [
        (firefox, Some("https://news.example.org/item")),
        (firefox, None),
        ("curl/8.5", None),
    ] {
        let mut request = app
            .client
            .request(reqwest::Method::GET, &format!("/{code}"))
            .header("User-Agent", agent);
        if let Some(referrer) = referrer {
            request = request.header("Referer", referrer);
        }
        app.client.send(request).await.assert_status(302);
    }
    app.wait_for_count(&code, 3).await;
    let by_browser = app
        .client
        .get(&format!("/shorten/{code}/stats?by=browser"), None)
        .await
        .json();
    assert_eq!(
        by_browser["breakdown"],
        json!([{"key": "Firefox", "visits": 2}, {"key": "curl", "visits": 1}])
    );
    let by_referrer = app
        .client
        .get(&format!("/shorten/{code}/stats?by=referrer"), None)
        .await
        .json();
    assert_eq!(
        by_referrer["breakdown"],
        json!([{"key": "(direct)", "visits": 2}, {"key": "news.example.org", "visits": 1}])
    );
    let by_day = app
        .client
        .get(&format!("/shorten/{code}/stats?by=day"), None)
        .await
        .json();
    let today = chrono::Utc::now().date_naive().to_string();
    assert_eq!(by_day["breakdown"], json!([{"key": today, "visits": 3}]));
    app.client
        .get(&format!("/shorten/{code}/stats?by=week"), None)
        .await
        .assert_status(400);
}

#[actix_web::test]
async fn an_expired_link_is_gone() {
    let app = spawn_app().await;
    let expires = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    let code = app
        .create(json!({"url": "https://example.com/", "expiresAt": expires}))
        .await;
    app.visit(&code).await.assert_status(302); // cached now, until its expiry at most
    // Poll until the expiry has passed (an observable event, not a sleep that happens to be
    // long enough): the first answer after it must be 410, cached or not.
    let deadline = chrono::DateTime::parse_from_rfc3339(&expires).expect("rfc3339");
    let response = loop {
        let sent = chrono::Utc::now();
        let response = app.visit(&code).await;
        if sent > deadline {
            break response;
        }
        if sent < deadline - chrono::Duration::milliseconds(100) {
            response.assert_status(302);
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    };
    response.assert_status(410);
    assert!(response.json()["message"].is_string());
}

#[actix_web::test]
async fn max_visits_is_exact_under_concurrency() {
    let app = spawn_app().await;
    let code = app
        .create(json!({"url": "https://example.com/", "maxVisits": 10}))
        .await;
    let visits = (0..50).map(|_| app.visit(&code));
    let statuses: Vec<u16> = futures_util::future::join_all(visits)
        .await
        .iter()
        .map(|r| r.status.as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 302).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 410).count(),
        40,
        "{statuses:?}"
    );
    let stats = app
        .client
        .get(&format!("/shorten/{code}/stats"), None)
        .await
        .json();
    assert_eq!(stats["accessCount"], 10);
}

#[actix_web::test]
async fn updates_and_deletes_take_effect_at_once() {
    let app = spawn_app().await;
    let code = app
        .create(json!({"url": "https://example.com/first"}))
        .await;
    assert_eq!(
        app.visit(&code).await.header("location"),
        Some("https://example.com/first")
    );
    app.client
        .put(
            &format!("/shorten/{code}"),
            None,
            &json!({"url": "https://example.com/second"}),
        )
        .await
        .assert_status(200);
    assert_eq!(
        app.visit(&code).await.header("location"),
        Some("https://example.com/second")
    );
    app.client
        .delete(&format!("/shorten/{code}"), None)
        .await
        .assert_status(204);
    app.visit(&code).await.assert_status(404);
}

async fn unlock(
    app: &crate::helpers::TestApp,
    code: &str,
    password: &str,
) -> test_support::TestResponse {
    let request = app
        .client
        .request(reqwest::Method::POST, &format!("/{code}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("password={password}"));
    app.client.send(request).await
}

#[actix_web::test]
async fn a_password_protected_link_asks_for_its_password() {
    let app = spawn_app().await;
    let response = app
        .shorten(&json!({"url": "https://example.com/secret", "password": "open-sesame"}))
        .await;
    response.assert_status(201);
    let link = response.json();
    assert_eq!(link["passwordProtected"], true);
    assert!(link.get("password").is_none() && !response.text.contains("open-sesame"));
    let code = link["shortCode"].as_str().expect("code");

    let form = app.visit(code).await;
    form.assert_status(200);
    assert!(
        form.header("content-type")
            .is_some_and(|t| t.starts_with("text/html"))
    );
    assert!(
        form.text.contains(&format!("action=\"/{code}\"")) && form.header("location").is_none()
    );

    let wrong = unlock(&app, code, "wrong-guess").await;
    wrong.assert_status(401);
    assert!(wrong.text.contains("Wrong password"));
    assert!(wrong.header("location").is_none());

    let right = unlock(&app, code, "open-sesame").await;
    right.assert_status(303);
    assert_eq!(right.header("location"), Some("https://example.com/secret"));
    assert_eq!(
        app.wait_for_count(code, 1).await["accessCount"],
        1,
        "only the unlocked visit counts"
    );

    // Short passwords are refused when the link is made.
    let response = app
        .shorten(&json!({"url": "https://example.com/", "password": "short"}))
        .await;
    response.assert_status(400);
    assert!(response.json()["errors"]["password"].is_array());
}

#[actix_web::test]
async fn password_guesses_are_rate_limited() {
    let app = crate::helpers::spawn_app_with(|c| c.link_password_attempts_per_minute = 3).await;
    let code = app
        .create(json!({"url": "https://example.com/", "password": "open-sesame"}))
        .await;
    for _ in 0..3 {
        unlock(&app, &code, "guess-guess").await.assert_status(401);
    }
    let limited = unlock(&app, &code, "open-sesame").await;
    limited.assert_status(429);
    assert!(limited.header("retry-after").is_some());
}

/// `POST /{code}` on a link without a password is a visit like `GET`: it counts, and a
/// used-up link answers `410` whichever method asks.
#[actix_web::test]
async fn a_post_to_an_unprotected_link_is_counted_and_limited_like_a_get() {
    let app = spawn_app().await;
    let visited = app
        .create(json!({"url": "https://example.com/once", "maxVisits": 1}))
        .await;
    app.visit(&visited).await.assert_status(302);
    unlock(&app, &visited, "").await.assert_status(410);
    app.visit(&visited).await.assert_status(410);
    assert_eq!(app.wait_for_count(&visited, 1).await["accessCount"], 1);

    let posted = app
        .create(json!({"url": "https://example.com/posted", "maxVisits": 1}))
        .await;
    let first = unlock(&app, &posted, "").await;
    first.assert_status(303);
    assert_eq!(first.header("location"), Some("https://example.com/posted"));
    app.visit(&posted).await.assert_status(410);
    unlock(&app, &posted, "").await.assert_status(410);
    assert_eq!(app.wait_for_count(&posted, 1).await["accessCount"], 1);
}

/// The referrer and browser tallies the recorder keeps equal a recount of the raw visits,
/// after visits that are folded together, bots, and visits without a referrer.
#[actix_web::test]
async fn the_breakdown_tallies_equal_a_recount_of_the_visits() {
    let app = spawn_app().await;
    let first = app.create(json!({"url": "https://example.com/"})).await;
    let second = app.create(json!({"url": "https://example.org/"})).await;
    let agents = [
        "Mozilla/5.0 (X11; rv:128.0) Gecko/20100101 Firefox/128.0",
        "curl/8.5",
        "Googlebot/2.1",
    ];
    let visits = (0..60).map(|i| {
        let (app, code) = (&app, if i % 2 == 0 { &second } else { &first });
        async move {
            let mut request = app
                .client
                .request(reqwest::Method::GET, &format!("/{code}"))
                .header("User-Agent", agents[i % agents.len()]);
            if i % 4 != 0 {
                request = request.header("Referer", format!("https://site{}.example/", i % 5));
            }
            app.client.send(request).await.assert_status(302);
        }
    });
    futures_util::future::join_all(visits).await;
    // 60 visits, a third of them by the bot: 40 counted, 20 per link.
    app.wait_for_count(&first, 20).await;
    app.wait_for_count(&second, 20).await;
    let recount = "
        SELECT link_id, 'referrer' AS kind, COALESCE(referrer_host, '') AS name,
               CAST(SUM(hits) AS BIGINT) AS hits
        FROM visits WHERE NOT is_bot GROUP BY link_id, COALESCE(referrer_host, '')
        UNION ALL
        SELECT link_id, 'browser', browser, CAST(SUM(hits) AS BIGINT)
        FROM visits WHERE NOT is_bot GROUP BY link_id, browser";
    let tallies = "SELECT link_id, kind, name, hits FROM visit_tallies";
    let differ = crate::helpers::count(
        &app.database_url,
        &format!(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM (
                 SELECT * FROM (SELECT * FROM ({recount}) AS r EXCEPT {tallies}) AS missing
                 UNION ALL
                 SELECT * FROM ({tallies} EXCEPT SELECT * FROM ({recount}) AS r) AS extra
             ) AS differences"
        ),
    );
    assert_eq!(differ, 0, "tallies that differ from the visits");
    let tallied = crate::helpers::count(
        &app.database_url,
        "SELECT CAST(SUM(hits) AS BIGINT) AS n FROM visit_tallies WHERE kind = 'browser'",
    );
    assert_eq!(tallied, 40);
}
