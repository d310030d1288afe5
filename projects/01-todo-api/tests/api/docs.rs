use crate::helpers::{spawn_app, spawn_app_with};

#[actix_web::test]
async fn openapi_document_describes_every_endpoint() {
    let app = spawn_app().await;
    let response = app.client.get("/openapi.json", None).await;
    response.assert_status(200);
    let doc = response.json();
    assert!(
        doc["openapi"].as_str().expect("version").starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    for path in [
        "/register",
        "/login",
        "/refresh",
        "/logout",
        "/todos",
        "/todos/{id}",
    ] {
        assert!(paths.contains_key(path), "{path} missing");
    }
    for method in ["get", "put", "patch", "delete"] {
        assert!(
            doc["paths"]["/todos/{id}"][method].is_object(),
            "{method} /todos/{{id}} missing"
        );
    }
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert!(doc["paths"]["/todos"]["get"]["security"].is_array());
}

#[actix_web::test]
async fn swagger_ui_is_served_from_the_binary() {
    let app = spawn_app().await;
    let redirect = app.client.get("/docs", None).await;
    assert!(redirect.status.is_redirection());
    assert_eq!(redirect.header("location"), Some("/docs/"));
    let page = app.client.get("/docs/", None).await;
    page.assert_status(200);
    assert!(
        page.text.to_lowercase().contains("swagger"),
        "{}",
        page.text
    );
    app.client
        .get("/docs/swagger-ui-bundle.js", None)
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let health = app.client.get("/health", None).await;
    health.assert_status(200);
    assert_eq!(health.json()["status"], "ok");
    let ready = app.client.get("/ready", None).await;
    ready.assert_status(200);
    assert_eq!(ready.json()["database"], "ok");
}

/// A route missing from `openapi.rs` fails here: the route table actix built from
/// `routes::configure` against the served document.
#[actix_web::test]
async fn every_route_is_in_the_openapi_document() {
    let settings = backend_kit::config::Settings::for_tests("todo_api", String::new());
    use backend_kit::rate_limit::RateLimiter;
    let limiter = RateLimiter::per_minute("auth", 10, None, &settings);
    let routes = test_support::routes::of(|cfg| todo_api::routes::configure(cfg, &limiter)).await;
    assert!(routes.iter().any(|r| r == "/todos/{id}"), "{routes:?}");
    let openapi = serde_json::to_value(todo_api::openapi::document()).unwrap();
    let missing = test_support::routes::undocumented(&routes, &openapi, &[]);
    assert!(
        missing.is_empty(),
        "routes not in the OpenAPI document: {missing:?}"
    );
}

#[actix_web::test]
async fn the_landing_page_says_what_this_is_and_links_the_docs_and_the_source() {
    let app = spawn_app_with(|config| {
        config.settings.source_url = Some("https://github.com/you/capstones".into());
    })
    .await;
    let page = app.client.get("/", None).await;
    page.assert_status(200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(page.text.contains("capstone 1"), "{}", page.text);
    assert!(page.text.contains(r#"<a href="/docs/">API docs</a>"#));
    assert!(page.text.contains(
        r#"<a href="https://github.com/you/capstones/tree/main/projects/01-todo-api">source code</a>"#
    ));

    // Without SOURCE_URL there is no link to nowhere.
    let app = spawn_app().await;
    let page = app.client.get("/", None).await;
    assert!(!page.text.contains("source code"), "{}", page.text);
    assert!(!page.text.contains("<!-- links -->"), "{}", page.text);
}
