//! What a hostile (or merely unusual) client sends: NUL bytes, `HEAD`, bot user agents, a
//! token of a deleted account, reads of links that are not theirs. Found black-box in
//! capstones 1–2; most of the fixes live in backend-kit, so every capstone has them.

use serde_json::json;

use crate::helpers::{TestApp, execute_sql, spawn_app, token};

async fn head(app: &TestApp, path: &str) -> test_support::TestResponse {
    let request = app.client.request(reqwest::Method::HEAD, path);
    app.client.send(request).await
}

#[actix_web::test]
async fn nul_in_a_path_or_a_json_string_is_refused_not_a_500() {
    let app = spawn_app().await;
    for path in [
        "/x%00y",
        "/shorten/x%00y",
        "/shorten/x%00y/stats",
        "/jobs/%00",
    ] {
        let response = app.client.get(path, None).await;
        response.assert_status(404);
        assert_eq!(response.json(), json!({"message": "Not Found"}), "{path}");
    }
    app.client
        .get("/shorten/abc/stats?by=%00", None)
        .await
        .assert_status(400);
    let login = app
        .client
        .post(
            "/login",
            None,
            &json!({"email": "a\u{0}@x.io", "password": "password-123"}),
        )
        .await;
    login.assert_status(400);
    assert_eq!(
        login.json()["errors"]["email"][0],
        "must not contain the NUL character (U+0000)"
    );
    let shorten = app
        .shorten(&json!({"url": "https://example.com/\u{0}"}))
        .await;
    shorten.assert_status(400);
    assert!(shorten.json()["errors"]["url"].is_array());
}

#[actix_web::test]
async fn a_valid_token_of_a_deleted_account_is_a_401() {
    let app = spawn_app().await;
    let token = token(&app).await;
    execute_sql(&app.database_url, "DELETE FROM users");
    let response = app
        .client
        .post(
            "/shorten",
            Some(&token),
            &json!({"url": "https://example.com/"}),
        )
        .await;
    response.assert_status(401);
    assert_eq!(response.json(), json!({"message": "Unauthorized"}));
    let import = app.import("https://example.com/\n", Some(&token)).await;
    import.assert_status(401);
}

#[actix_web::test]
async fn head_is_answered_wherever_get_is_and_never_counts_a_visit() {
    let app = spawn_app().await;
    for path in ["/health", "/ready", "/", "/openapi.json"] {
        let response = head(&app, path).await;
        response.assert_status(200);
        assert!(response.text.is_empty(), "{path}: HEAD has no body");
    }
    let code = app
        .create(json!({"url": "https://example.com/once", "maxVisits": 1}))
        .await;
    for _ in 0..3 {
        let response = head(&app, &format!("/{code}")).await;
        response.assert_status(302);
        assert_eq!(
            response.header("location"),
            Some("https://example.com/once")
        );
    }
    head(&app, &format!("/shorten/{code}"))
        .await
        .assert_status(200);
    app.visit(&code).await.assert_status(302);
    // Used up now: 410 for HEAD too.
    head(&app, &format!("/{code}")).await.assert_status(410);
    assert_eq!(app.wait_for_count(&code, 1).await["accessCount"], 1);
}

#[actix_web::test]
async fn a_used_up_link_is_gone_for_bots_too_and_bots_are_not_counted() {
    let app = spawn_app().await;
    let bot = |code: &str| {
        let request = app
            .client
            .request(reqwest::Method::GET, &format!("/{code}"))
            .header("User-Agent", "Slackbot-LinkExpanding 1.0");
        app.client.send(request)
    };
    let code = app
        .create(json!({"url": "https://example.com/", "maxVisits": 1}))
        .await;
    bot(&code).await.assert_status(302);
    assert_eq!(app.wait_for_count(&code, 0).await["accessCount"], 0);
    app.visit(&code).await.assert_status(302);
    bot(&code).await.assert_status(410);
    app.visit(&code).await.assert_status(410);
}

#[actix_web::test]
async fn html_pages_carry_security_headers() {
    let app = spawn_app().await;
    let code = app
        .create(json!({"url": "https://example.com/", "password": "open-sesame"}))
        .await;
    for path in ["/".to_string(), format!("/{code}")] {
        let page = app.client.get(&path, None).await;
        page.assert_status(200);
        let csp = page.header("content-security-policy").expect("CSP");
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("script-src 'self' 'unsafe-inline'"));
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        assert!(page.header("referrer-policy").is_some());
        assert!(!page.text.contains("<script>"), "{path}: no inline script");
    }
    // JSON answers are not pages.
    let json = app.client.get("/health", None).await;
    assert!(json.header("content-security-policy").is_none());
}

#[actix_web::test]
async fn an_owned_link_and_a_protected_links_target_are_not_public() {
    let app = spawn_app().await;
    let owner = token(&app).await;
    let stranger = token(&app).await;
    let owned = app
        .create_as(
            &owner,
            json!({"url": "https://example.com/private", "maxVisits": 5}),
        )
        .await;
    for path in [
        format!("/shorten/{owned}"),
        format!("/shorten/{owned}/stats"),
    ] {
        app.client.get(&path, None).await.assert_status(401);
        app.client
            .get(&path, Some(&stranger))
            .await
            .assert_status(403);
        let mine = app.client.get(&path, Some(&owner)).await;
        mine.assert_status(200);
        assert_eq!(mine.json()["url"], "https://example.com/private");
    }

    let protected = app
        .create(json!({"url": "https://example.com/secret", "password": "open-sesame"}))
        .await;
    for path in [
        format!("/shorten/{protected}"),
        format!("/shorten/{protected}/stats"),
    ] {
        for caller in [None, Some(stranger.as_str())] {
            let response = app.client.get(&path, caller).await;
            response.assert_status(200);
            assert!(
                response.json().get("url").is_none(),
                "{path}: {}",
                response.text
            );
            assert!(!response.text.contains("example.com/secret"));
            assert_eq!(response.json()["passwordProtected"], true);
        }
    }
    // Nor anywhere else a stranger can look.
    for path in [format!("/{protected}"), format!("/shorten/{protected}/qr")] {
        let response = app.client.get(&path, None).await;
        assert!(!response.text.contains("example.com/secret"), "{path}");
        assert!(response.header("location").is_none(), "{path}");
    }
}

/// A client that announces a body and then sends it a byte at a time (or never) gets a `408`
/// once the body read deadline passes, instead of holding the connection for ever.
#[actix_web::test]
async fn a_body_that_does_not_arrive_in_time_is_a_408() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = crate::helpers::spawn_app_with(|c| {
        c.settings.body_read_timeout = Duration::from_secs(1);
    })
    .await;
    let address = app
        .client
        .base_url
        .trim_start_matches("http://")
        .to_string();
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    stream
        .write_all(
            b"POST /shorten HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
              Content-Length: 60000\r\n\r\n{\"url\": \"https://exa",
        )
        .await
        .expect("write");
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    // Drip a byte a second; the server must answer (and stop reading) within its deadline.
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "no answer after {:?}",
            started.elapsed()
        );
        let _ = stream.write_all(b"m").await;
        match tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buffer)).await {
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buffer[..n]),
            Ok(Err(_)) => break,
            Err(_) => {}
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

/// `Referer` is the visitor's to write: only the DNS name of an http(s) referrer is kept, and
/// every breakdown stops at 100 groups plus `other`, however many distinct referrers came.
#[actix_web::test]
async fn referrers_keep_only_a_host_name_and_breakdowns_are_capped() {
    let app = spawn_app().await;
    let code = app.create(json!({"url": "https://example.com/"})).await;
    let visit_from = |referrer: String| {
        let request = app
            .client
            .request(reqwest::Method::GET, &format!("/{code}"))
            .header("Referer", referrer);
        app.client.send(request)
    };
    let huge = format!("x://{}/", "a".repeat(100_000));
    for referrer in [
        huge,
        "http://other/".to_string(),
        "x://evil.example/".to_string(),
        "https://=HYPERLINK(\"evil\")/".to_string(),
        "https://News.Example.org/item?id=1".to_string(),
    ] {
        visit_from(referrer).await.assert_status(302);
    }
    // 105 distinct hosts; the first 99 visited twice, so the top 100 groups are known:
    // `(direct)` (4) and those 99.
    for i in 0..105 {
        let visits = if i < 99 { 2 } else { 1 };
        for _ in 0..visits {
            visit_from(format!("https://site{i:03}.example/"))
                .await
                .assert_status(302);
        }
    }
    let total = 5 + 99 * 2 + 6;
    app.wait_for_count(&code, total).await;
    let longest = crate::helpers::count(
        &app.database_url,
        "SELECT CAST(COALESCE(MAX(LENGTH(referrer_host)), 0) AS BIGINT) AS n FROM visits",
    );
    assert!(
        longest <= 253,
        "a referrer host of {longest} characters was stored"
    );

    let stats = app
        .client
        .get(&format!("/shorten/{code}/stats?by=referrer"), None)
        .await
        .json();
    let breakdown = stats["breakdown"].as_array().expect("breakdown");
    assert_eq!(breakdown.len(), 101, "100 groups and `other`");
    assert_eq!(breakdown[0], json!({"key": "(direct)", "visits": 4}));
    assert_eq!(breakdown[1], json!({"key": "site000.example", "visits": 2}));
    // news.example.org and the six hosts visited once are the rest.
    assert_eq!(breakdown[100], json!({"key": "other", "visits": 7}));
    let summed: i64 = breakdown
        .iter()
        .map(|b| b["visits"].as_i64().unwrap())
        .sum();
    assert_eq!(summed, total);
    assert!(
        breakdown.iter().all(
            |b| !b["key"].as_str().unwrap().contains(['=', '"', '(']) || b["key"] == "(direct)"
        )
    );

    // Days: the last 100, then the earlier ones summed.
    let link_id: i64 = crate::helpers::count(
        &app.database_url,
        &format!("SELECT id AS n FROM links WHERE code = '{code}'"),
    );
    let today = chrono::Utc::now().date_naive();
    for back in 1..=120 {
        let day = today - chrono::Days::new(back);
        execute_sql(
            &app.database_url,
            &format!(
                "INSERT INTO visits (link_id, visited_at, referrer_host, browser, is_bot, hits) \
                 VALUES ({link_id}, '{day} 12:00:00', NULL, 'Other', false, 1)"
            ),
        );
    }
    let by_day = app
        .client
        .get(&format!("/shorten/{code}/stats?by=day"), None)
        .await
        .json();
    let days = by_day["breakdown"].as_array().expect("breakdown");
    assert_eq!(days.len(), 101, "{by_day}");
    assert_eq!(
        days[0],
        json!({"key": "other", "visits": 21}),
        "the older days lead"
    );
    assert_eq!(
        days[1]["key"],
        (today - chrono::Days::new(99)).to_string(),
        "the oldest day shown"
    );
    assert_eq!(
        days[100],
        json!({"key": today.to_string(), "visits": total})
    );
}

/// An expiry is a real date-time the API can print, kept at the precision it shows.
#[actix_web::test]
async fn expiry_is_bounded_and_kept_to_the_microsecond() {
    let app = spawn_app().await;
    let a_day_too_far =
        (chrono::Utc::now() + chrono::Months::new(1_200) + chrono::Days::new(1)).to_rfc3339();
    for far in [
        "9999-12-31T23:59:59.999999999-23:59",
        "2200-01-01T00:00:00Z",
        a_day_too_far.as_str(),
    ] {
        let response = app
            .shorten(&json!({"url": "https://example.com/", "expiresAt": far}))
            .await;
        response.assert_status(400);
        assert_eq!(
            response.json()["errors"]["expiresAt"][0],
            "must be at most 100 years ahead",
            "{far}"
        );
    }
    let response = app
        .shorten(&json!({"url": "https://example.com/", "expiresAt": "2099-06-01T10:00:00.123456789+02:00"}))
        .await;
    response.assert_status(201);
    assert_eq!(response.json()["expiresAt"], "2099-06-01T08:00:00.123456Z");
    // A leap second is the next second's start, the same on both databases.
    let leap = app
        .shorten(&json!({"url": "https://example.com/", "expiresAt": "2099-06-01T10:59:60Z"}))
        .await;
    leap.assert_status(201);
    assert_eq!(leap.json()["expiresAt"], "2099-06-01T11:00:00.000000Z");
}

/// `null` on `PUT` removes an option; leaving it out keeps it.
#[actix_web::test]
async fn put_with_null_clears_expiry_visit_limit_password_and_redirect_type() {
    let app = spawn_app().await;
    let created = app
        .shorten(&json!({
            "url": "https://example.com/a",
            "expiresAt": "2099-01-01T00:00:00Z",
            "maxVisits": 5,
            "password": "open sesame",
            "redirectType": 301,
        }))
        .await
        .json();
    let code = created["shortCode"].as_str().expect("code");
    let path = format!("/shorten/{code}");
    app.visit(code).await.assert_status(200); // the password form

    let kept = app
        .client
        .put(&path, None, &json!({"url": "https://example.com/b"}))
        .await;
    kept.assert_status(200);
    let kept = kept.json();
    assert_eq!(kept["expiresAt"], "2099-01-01T00:00:00.000000Z");
    assert_eq!(kept["maxVisits"], 5);
    assert_eq!(kept["passwordProtected"], true);
    assert_eq!(kept["redirectType"], 301);

    let cleared = app
        .client
        .put(
            &path,
            None,
            &json!({"url": "https://example.com/c", "expiresAt": null, "maxVisits": null,
                    "password": null, "redirectType": null}),
        )
        .await;
    cleared.assert_status(200);
    let cleared = cleared.json();
    for field in [
        "expiresAt",
        "maxVisits",
        "passwordProtected",
        "redirectType",
    ] {
        assert!(cleared.get(field).is_none(), "{field} still set: {cleared}");
    }
    let redirect = app.visit(code).await;
    redirect.assert_status(302);
    assert_eq!(redirect.header("location"), Some("https://example.com/c"));
}

/// `/metrics` tells an outsider how busy the service is: with `METRICS_TOKEN` it is for the
/// scraper alone, and production without one switches it off.
#[actix_web::test]
async fn metrics_need_the_token_when_one_is_set_and_are_off_in_production_without() {
    let app = crate::helpers::spawn_app_with(|c| {
        c.settings.metrics_token = Some(backend_kit::secret::Secret::new("scrape-me".into()));
    })
    .await;
    for token in [None, Some("wrong"), Some("scrape-m")] {
        let refused = app.client.get("/metrics", token).await;
        refused.assert_status(401);
        assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
    }
    let scraped = app.client.get("/metrics", Some("scrape-me")).await;
    scraped.assert_status(200);
    assert!(scraped.text.contains("shortener_visits_recorded_total"));
    for family in [
        "shortener_cache_hits_total",
        "shortener_cache_misses_total",
        "db_pool_connections{state=\"idle\"}",
        "job_queue_jobs{state=\"pending\"}",
    ] {
        assert!(
            scraped.text.contains(family),
            "missing {family} in:\n{}",
            scraped.text
        );
    }
    // The kit's request counters come first: the three refusals above are counted.
    assert!(
        scraped
            .text
            .contains("http_requests_total{route=\"/metrics\",method=\"GET\",status=\"401\"} 3\n"),
        "{}",
        scraped.text
    );

    let production = crate::helpers::spawn_app_with(|c| {
        c.settings.app_env = backend_kit::config::AppEnv::Production;
    })
    .await;
    production
        .client
        .get("/metrics", None)
        .await
        .assert_status(404);
    // In development, without a token, it stays open (what the README's walkthrough shows).
    spawn_app()
        .await
        .client
        .get("/metrics", None)
        .await
        .assert_status(200);
}

/// An owner's read shows what nobody else may see (a protected link's target): never stored
/// by a cache on the way.
#[actix_web::test]
async fn an_owners_reads_are_not_stored_by_caches() {
    let app = spawn_app().await;
    let owner = token(&app).await;
    let code = app
        .create_as(
            &owner,
            json!({"url": "https://example.com/secret", "password": "open sesame"}),
        )
        .await;
    for path in [format!("/shorten/{code}"), format!("/shorten/{code}/stats")] {
        let read = app.client.get(&path, Some(&owner)).await;
        read.assert_status(200);
        assert_eq!(read.header("cache-control"), Some("no-store"), "{path}");
    }
    let refused = app.client.get(&format!("/shorten/{code}"), None).await;
    refused.assert_status(401);
    assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
}
