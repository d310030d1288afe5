//! What a hostile (or merely unusual) client sends; the fixes live in backend-kit, so the
//! url-shortener has the same tests in its own `hostile.rs`.

use diesel::RunQueryDsl;
use serde_json::json;

use crate::helpers::spawn_app;

#[actix_web::test]
async fn head_is_answered_wherever_get_is() {
    let app = spawn_app().await;
    let session = app.new_user().await;
    for (path, token) in [
        ("/health", None),
        ("/ready", None),
        ("/todos", Some(&session.token)),
    ] {
        let mut request = app.client.request(reqwest::Method::HEAD, path);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = app.client.send(request).await;
        response.assert_status(200);
        assert!(response.text.is_empty(), "{path}: HEAD has no body");
    }
}

#[actix_web::test]
async fn nul_in_a_path_or_a_json_string_is_refused_not_a_500() {
    let app = spawn_app().await;
    let session = app.new_user().await;
    let response = app.client.get("/todos/%00", Some(&session.token)).await;
    response.assert_status(404);
    assert_eq!(response.json(), json!({"message": "Not Found"}));
    app.client
        .get("/todos?q=%00", Some(&session.token))
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
    assert!(login.json()["errors"]["email"].is_array());
}

#[actix_web::test]
async fn a_valid_token_of_a_deleted_account_is_a_401() {
    let app = spawn_app().await;
    let session = app.new_user().await;
    let url = backend_kit::db::DatabaseUrl::parse(app.settings.database_url.expose()).expect("url");
    diesel::sql_query("DELETE FROM users")
        .execute(&mut url.connect().expect("connect"))
        .expect("delete");
    // Reads too: before, `GET /todos` answered `200 {"data": []}` to such a token.
    let reads = [
        app.client.get("/todos", Some(&session.token)).await,
        app.client.get("/todos/1", Some(&session.token)).await,
        app.client
            .post("/todos", Some(&session.token), &json!({"title": "orphan"}))
            .await,
        app.client.delete("/todos/1", Some(&session.token)).await,
    ];
    for response in reads {
        response.assert_status(401);
        assert_eq!(response.json(), json!({"message": "Unauthorized"}));
        assert_eq!(response.header("www-authenticate"), Some("Bearer"));
    }
}

/// Token answers and an owner's reads are the caller's alone: no proxy, CDN or browser disk
/// may keep them (`no-store`); a `401` names the scheme it wants (`WWW-Authenticate`).
#[actix_web::test]
async fn private_answers_are_not_stored_and_401s_name_their_scheme() {
    let app = spawn_app().await;
    let registered = app.register("cache@example.com", "password-123").await;
    registered.assert_status(201);
    let refresh_token = registered.json()["refreshToken"]
        .as_str()
        .expect("refreshToken")
        .to_string();
    let logged_in = app
        .client
        .post(
            "/login",
            None,
            &json!({"email": "cache@example.com", "password": "password-123"}),
        )
        .await;
    let refreshed = app
        .client
        .post("/refresh", None, &json!({"refreshToken": refresh_token}))
        .await;
    let token = logged_in.json()["token"]
        .as_str()
        .expect("token")
        .to_string();
    let listed = app.client.get("/todos", Some(&token)).await;
    for (what, response) in [
        ("register", &registered),
        ("login", &logged_in),
        ("refresh", &refreshed),
        ("GET /todos", &listed),
    ] {
        assert!(response.status.is_success(), "{what}: {}", response.status);
        assert_eq!(response.header("cache-control"), Some("no-store"), "{what}");
    }
    for unauthorized in [
        app.client.get("/todos", None).await,
        app.client.get("/todos", Some("not-a-token")).await,
        app.client
            .post(
                "/login",
                None,
                &json!({"email": "cache@example.com", "password": "wrong-password"}),
            )
            .await,
    ] {
        unauthorized.assert_status(401);
        assert_eq!(unauthorized.header("www-authenticate"), Some("Bearer"));
        assert_eq!(unauthorized.header("cache-control"), Some("no-store"));
    }
    // Public reads stay cacheable as before.
    let health = app.client.get("/health", None).await;
    assert_eq!(health.header("cache-control"), None);
}

/// One account per address whatever its Unicode spelling, and no invisible characters in
/// addresses or names.
#[actix_web::test]
async fn e_mail_and_names_are_unicode_safe() {
    let app = spawn_app().await;
    app.register("x\u{e9}@example.com", "password-123")
        .await
        .assert_status(201);
    let again = app.register("xe\u{301}@Example.com", "password-123").await;
    again.assert_status(409);
    // And it logs in whichever way it is typed.
    app.client
        .post(
            "/login",
            None,
            &json!({"email": "XE\u{301}@example.com", "password": "password-123"}),
        )
        .await
        .assert_status(200);
    for hidden in ["a\u{200b}@example.com", "a@exa\u{202e}mple.com"] {
        let response = app.register(hidden, "password-123").await;
        response.assert_status(400);
        assert!(response.json()["errors"]["email"].is_array(), "{hidden:?}");
    }
    for name in ["\u{200b}", "\u{feff}", "\u{00ad}"] {
        let response = app
            .client
            .post(
                "/register",
                None,
                &json!({"name": name, "email": "n@example.com", "password": "password-123"}),
            )
            .await;
        response.assert_status(400);
        assert!(response.json()["errors"]["name"].is_array(), "{name:?}");
    }
}

/// `?q=` ignores case for all of Unicode, the same on SQLite and PostgreSQL.
#[actix_web::test]
async fn search_ignores_case_beyond_ascii_on_every_database() {
    let app = spawn_app().await;
    let session = app.new_user().await;
    for title in ["Élan vital", "ÄÖÜ umlauts", "İstanbul trip", "plain"] {
        app.create_todo(&session.token, json!({"title": title}))
            .await;
    }
    for (q, expected) in [
        ("élan", "Élan vital"),
        ("ÉLAN", "Élan vital"),
        ("e\u{301}lan", "Élan vital"),
        ("äöü", "ÄÖÜ umlauts"),
        ("İSTANBUL", "İstanbul trip"),
        ("İstanbul", "İstanbul trip"),
    ] {
        let path = format!("/todos?q={}", percent_encode(q));
        let page = app.client.get(&path, Some(&session.token)).await;
        page.assert_status(200);
        let titles: Vec<String> = page.json()["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|t| t["title"].as_str().expect("title").to_string())
            .collect();
        assert_eq!(titles, vec![expected.to_string()], "q={q}");
    }
    let invisible = app
        .client
        .post(
            "/todos",
            Some(&session.token),
            &json!({"title": "\u{200b}\u{feff}"}),
        )
        .await;
    invisible.assert_status(400);
    assert!(invisible.json()["errors"]["title"].is_array());
}

fn percent_encode(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// `/metrics` counts requests by the route's pattern, never by the path a client typed: a
/// thousand todo ids are one series, and paths that match nothing are one `unmatched`.
#[actix_web::test]
async fn metrics_count_requests_by_route_pattern() {
    let app = spawn_app().await;
    for id in [1, 2, 3] {
        app.client
            .get(&format!("/todos/{id}"), None)
            .await
            .assert_status(401);
    }
    for path in ["/nope-1", "/nope-2"] {
        app.client.get(path, None).await.assert_status(404);
    }
    // Methods a client invents are one series (each would otherwise live as long as the
    // process); HEAD is counted as HEAD, though the edge answers it as a GET.
    for method in ["FOO1", "FOO2", "PROPFIND"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        app.client.send(app.client.request(method, "/todos")).await;
    }
    app.client
        .send(app.client.request(reqwest::Method::HEAD, "/todos/1"))
        .await
        .assert_status(401);
    let scraped = app.client.get("/metrics", None).await;
    scraped.assert_status(200);
    let text = &scraped.text;
    for line in [
        "http_requests_total{route=\"/todos/{id}\",method=\"GET\",status=\"401\"} 3\n",
        "http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 2\n",
        "http_requests_total{route=\"/todos/{id}\",method=\"HEAD\",status=\"401\"} 1\n",
        "http_request_duration_seconds_count{route=\"/todos/{id}\"} 4\n",
        // The pool, read at the scrape: no query is running, the pool is its configured size.
        "db_pool_connections{state=\"in_use\"} 0\n",
        "db_pool_busy 0\n",
        "db_pool_max_connections 4\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert!(!text.contains("nope") && !text.contains("FOO"), "{text}");
    assert!(text.contains("method=\"other\""), "{text}");
}
