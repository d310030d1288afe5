use serde_json::{Value, json};

use crate::helpers::spawn_app;

/// The spec's shape; an anonymous link's creation also answers its `manageToken`.
fn assert_link_shape(link: &Value) {
    let keys: Vec<_> = link
        .as_object()
        .expect("object")
        .keys()
        .filter(|k| *k != "manageToken")
        .cloned()
        .collect();
    assert_eq!(
        keys,
        ["createdAt", "id", "shortCode", "updatedAt", "url"],
        "{link}"
    );
    assert!(link["id"].is_string(), "id is a string: {link}");
}

#[actix_web::test]
async fn shorten_returns_the_spec_shape_with_a_random_code() {
    let app = spawn_app().await;
    let response = app
        .shorten(&json!({"url": "https://www.example.com/some/long/url"}))
        .await;
    response.assert_status(201);
    let link = response.json();
    assert_link_shape(&link);
    assert_eq!(link["url"], "https://www.example.com/some/long/url");
    let code = link["shortCode"].as_str().expect("code");
    assert_eq!(code.len(), 7);
    assert!(code.bytes().all(|b| b.is_ascii_alphanumeric()));
    let other = app
        .create(json!({"url": "https://www.example.com/some/long/url"}))
        .await;
    assert_ne!(other, code, "codes are random, not reused");
}

#[actix_web::test]
async fn invalid_urls_are_a_400_naming_the_field() {
    let app = spawn_app().await;
    for body in [
        json!({}),
        json!({"url": ""}),
        json!({"url": "not a url"}),
        json!({"url": "ftp://example.com/file"}),
        json!({"url": "javascript:alert(1)"}),
        json!({"url": format!("https://example.com/{}", "a".repeat(2048))}),
        json!({"url": "http://localhost:8080/admin"}),
        json!({"url": "http://2130706433/"}),
        json!({"url": "http://[::ffff:127.0.0.1]/"}),
        json!({"url": "http://169.254.169.254/latest/meta-data/"}),
        json!({"url": "http://10.1.2.3/"}),
        json!({"url": "http://short.test/abc"}),
    ] {
        let response = app.shorten(&body).await;
        response.assert_status(400);
        let json = response.json();
        assert!(json["message"].is_string());
        assert!(json["errors"]["url"].is_array(), "{body}: {json}");
    }
}

#[actix_web::test]
async fn private_targets_can_be_allowed() {
    let app = crate::helpers::spawn_app_with(|c| c.allow_private_targets = true).await;
    app.create(json!({"url": "http://localhost:3000/"})).await;
}

#[actix_web::test]
async fn custom_codes_follow_the_rules_and_are_unique() {
    let app = spawn_app().await;
    assert_eq!(
        app.create(json!({"url": "https://example.com", "customCode": "my-Link_1"}))
            .await,
        "my-Link_1"
    );
    let taken = app
        .shorten(&json!({"url": "https://example.org", "customCode": "my-Link_1"}))
        .await;
    taken.assert_status(409);
    assert!(taken.json()["message"].is_string());
    // Codes are case-sensitive: a different case is a different code.
    app.create(json!({"url": "https://example.com", "customCode": "MY-LINK_1"}))
        .await;
    for bad in ["ab", "has space", "slash/x", "shorten", "Docs", "health"] {
        let response = app
            .shorten(&json!({"url": "https://example.com", "customCode": bad}))
            .await;
        response.assert_status(400);
        assert!(response.json()["errors"]["customCode"].is_array(), "{bad}");
    }
}

#[actix_web::test]
async fn options_are_validated() {
    let app = spawn_app().await;
    for (body, field) in [
        (
            json!({"url": "https://example.com", "expiresAt": "2001-01-01T00:00:00Z"}),
            "expiresAt",
        ),
        (
            json!({"url": "https://example.com", "expiresAt": "tomorrow"}),
            "expiresAt",
        ),
        (
            json!({"url": "https://example.com", "maxVisits": 0}),
            "maxVisits",
        ),
        (
            json!({"url": "https://example.com", "redirectType": 303}),
            "redirectType",
        ),
    ] {
        let response = app.shorten(&body).await;
        response.assert_status(400);
        assert!(response.json()["errors"][field].is_array(), "{body}");
    }
    let response = app
        .shorten(&json!({"url": "https://example.com", "maxVisits": 3, "redirectType": 308, "expiresAt": "2099-01-01T00:00:00Z"}))
        .await;
    response.assert_status(201);
    let link = response.json();
    assert_eq!(
        (link["maxVisits"].as_i64(), link["redirectType"].as_i64()),
        (Some(3), Some(308))
    );
    assert_eq!(link["expiresAt"], "2099-01-01T00:00:00.000000Z");
}

#[actix_web::test]
async fn get_update_delete_and_stats() {
    let app = spawn_app().await;
    let mut created = app
        .shorten(&json!({"url": "https://example.com/old"}))
        .await
        .json();
    // Shown once, at creation.
    assert!(created["manageToken"].is_string());
    created
        .as_object_mut()
        .expect("object")
        .remove("manageToken");
    let code = created["shortCode"].as_str().expect("code");
    let path = format!("/shorten/{code}");

    let fetched = app.client.get(&path, None).await;
    fetched.assert_status(200);
    assert_eq!(fetched.json(), created);

    let updated = app
        .client
        .put(&path, None, &json!({"url": "https://example.com/new"}))
        .await;
    updated.assert_status(200);
    let updated = updated.json();
    assert_link_shape(&updated);
    assert_eq!(updated["url"], "https://example.com/new");
    assert_eq!(
        (&updated["id"], &updated["shortCode"], &updated["createdAt"]),
        (&created["id"], &created["shortCode"], &created["createdAt"])
    );
    assert_ne!(updated["updatedAt"], created["updatedAt"]);

    app.client
        .put(&path, None, &json!({"url": "nope"}))
        .await
        .assert_status(400);
    app.client
        .put(&path, None, &json!({}))
        .await
        .assert_status(400);

    let stats = app.client.get(&format!("{path}/stats"), None).await;
    stats.assert_status(200);
    let stats = stats.json();
    let keys: Vec<_> = stats.as_object().expect("object").keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "accessCount",
            "createdAt",
            "id",
            "shortCode",
            "updatedAt",
            "url"
        ]
    );
    assert_eq!(stats["accessCount"], 0);

    let deleted = app.client.delete(&path, None).await;
    deleted.assert_status(204);
    assert!(deleted.text.is_empty());
    for response in [
        app.client.get(&path, None).await,
        app.client
            .put(&path, None, &json!({"url": "https://example.com"}))
            .await,
        app.client.delete(&path, None).await,
        app.client.get(&format!("{path}/stats"), None).await,
    ] {
        response.assert_status(404);
        assert_eq!(response.json(), json!({"message": "Not Found"}));
    }
}

#[actix_web::test]
async fn malformed_bodies_and_unknown_routes_answer_in_json() {
    let app = spawn_app().await;
    let code = app.create(json!({"url": "https://example.com/"})).await;
    // A body that is not the expected JSON is invalid input like any other: 400 with
    // `message` and `errors`, on create and on update.
    for (method, path) in [
        (reqwest::Method::POST, "/shorten".to_string()),
        (reqwest::Method::PUT, format!("/shorten/{code}")),
    ] {
        for body in [
            "{bad",
            "",
            "[]",
            "null",
            r#""https://example.com""#,
            r#"{"url": 123}"#,
        ] {
            let request = app
                .client
                .request(method.clone(), &path)
                .header("Content-Type", "application/json")
                .body(body);
            let response = app.client.send(request).await;
            response.assert_status(400);
            let json = response.json();
            assert!(json["message"].is_string(), "{method} {body:?}: {json}");
            assert!(
                json["errors"]["body"][0].is_string(),
                "{method} {body:?}: {json}"
            );
        }
    }
    let request = app
        .client
        .request(reqwest::Method::POST, "/shorten")
        .header("Content-Type", "text/plain")
        .body("x");
    app.client.send(request).await.assert_status(415);
    let huge = json!({"url": format!("https://example.com/{}", "a".repeat(70_000))});
    app.shorten(&huge).await.assert_status(413);
    app.client
        .get("/openapi.json", None)
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn shorten_is_rate_limited_per_client() {
    let app = crate::helpers::spawn_app_with(|c| c.shorten_rate_limit_per_minute = 2).await;
    app.create(json!({"url": "https://example.com"})).await;
    app.create(json!({"url": "https://example.com"})).await;
    let limited = app.shorten(&json!({"url": "https://example.com"})).await;
    limited.assert_status(429);
    assert!(limited.header("retry-after").is_some());
    // Redirects and reads are not limited.
    app.client.get("/health", None).await.assert_status(200);
}

#[actix_web::test]
async fn qr_codes_in_svg_and_png() {
    let app = spawn_app().await;
    let code = app.create(json!({"url": "https://example.com/"})).await;
    let svg = app.client.get(&format!("/shorten/{code}/qr"), None).await;
    svg.assert_status(200);
    assert_eq!(svg.header("content-type"), Some("image/svg+xml"));
    assert!(
        svg.text.contains("<svg"),
        "{}",
        &svg.text[..svg.text.len().min(200)]
    );

    let request = app.client.request(
        reqwest::Method::GET,
        &format!("/shorten/{code}/qr?format=png&size=128"),
    );
    let png = request.send().await.expect("request");
    assert_eq!(png.status().as_u16(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    let bytes = png.bytes().await.expect("body");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");

    for query in ["format=gif", "size=10", "size=5000", "size=big"] {
        app.client
            .get(&format!("/shorten/{code}/qr?{query}"), None)
            .await
            .assert_status(400);
    }
    app.client
        .get("/shorten/nope123/qr", None)
        .await
        .assert_status(404);
}

#[actix_web::test]
async fn the_home_page_is_served_without_a_build_step() {
    let app = spawn_app().await;
    let page = app.client.get("/", None).await;
    page.assert_status(200);
    assert!(
        page.header("content-type")
            .is_some_and(|t| t.starts_with("text/html"))
    );
    assert!(page.text.contains("<form id=\"shorten\">"));
    // Its script is a file of its own (the pages' CSP allows no inline script).
    assert!(page.text.contains("<script src=\"/app.js\"></script>"));
    let script = app.client.get("/app.js", None).await;
    script.assert_status(200);
    assert!(script.text.contains("fetch(\"/shorten\""));
}

/// A route missing from `openapi.rs` fails here: the route table actix built from
/// `routes::configure` against the served document.
#[actix_web::test]
async fn every_route_is_in_the_openapi_document() {
    let settings = backend_kit::config::Settings::for_tests("url_shortener", String::new());
    use backend_kit::rate_limit::RateLimiter;
    let limiter = RateLimiter::per_minute("test", 10, None, &settings);
    let routes = test_support::routes::of(|cfg| {
        backend_kit::auth::routes::configure(cfg, &limiter);
        url_shortener::routes::configure(cfg, &limiter);
        url_shortener::routes::configure_redirect(cfg, &limiter);
    })
    .await;
    assert!(
        routes.iter().any(|r| r == "/shorten/{code}/stats"),
        "{routes:?}"
    );
    let openapi = serde_json::to_value(url_shortener::openapi::document()).unwrap();
    let missing = test_support::routes::undocumented(
        &routes,
        &openapi,
        &["/", "/app.js", "/{code}", "/metrics"],
    );
    assert!(
        missing.is_empty(),
        "routes not in the OpenAPI document: {missing:?}"
    );
}
