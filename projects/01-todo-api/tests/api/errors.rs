use reqwest::Method;
use serde_json::json;

use crate::helpers::spawn_app;

#[actix_web::test]
async fn malformed_json_is_a_400_with_a_message() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    for body in ["{bad", "", "[]", r#"{"title": 5}"#] {
        let request = app
            .client
            .request(Method::POST, "/todos")
            .bearer_auth(&user.token)
            .header("Content-Type", "application/json")
            .body(body);
        let response = app.client.send(request).await;
        response.assert_status(400);
        let json = response.json();
        assert!(json["message"].is_string(), "{body:?}: {json}");
        assert!(json["errors"]["body"][0].is_string(), "{body:?}: {json}");
    }
}

#[actix_web::test]
async fn a_body_that_is_not_json_is_a_415() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut request = app
            .client
            .request(Method::POST, "/todos")
            .bearer_auth(&user.token)
            .body(r#"{"title": "x"}"#);
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        let response = app.client.send(request).await;
        response.assert_status(415);
        assert!(response.json()["message"].is_string());
    }
    // The same goes for the unauthenticated endpoints.
    let request = app
        .client
        .request(Method::POST, "/register")
        .header("Content-Type", "text/plain")
        .body("{}");
    app.client.send(request).await.assert_status(415);
}

#[actix_web::test]
async fn a_body_over_64_kib_is_a_413() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let huge = json!({"title": "x", "description": "d".repeat(65 * 1024)});
    let response = app.client.post("/todos", Some(&user.token), &huge).await;
    response.assert_status(413);
    assert!(response.json()["message"].is_string());
}

#[actix_web::test]
async fn bad_ids_and_unknown_routes_answer_in_json() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    for path in ["/todos/abc", "/todos/99999999999999999999999", "/todos/1.5"] {
        let response = app.client.get(path, Some(&user.token)).await;
        response.assert_status(400);
        assert!(response.json()["message"].is_string(), "{path}");
    }
    let response = app.client.get("/nope", None).await;
    response.assert_status(404);
    assert_eq!(response.json(), json!({"message": "Not Found"}));
    let response = app.client.delete("/todos", Some(&user.token)).await;
    response.assert_status(405);
    assert!(response.json()["message"].is_string());
}

#[actix_web::test]
async fn unauthenticated_requests_never_reach_the_handlers() {
    let app = spawn_app().await;
    for (method, path) in [
        (Method::GET, "/todos"),
        (Method::POST, "/todos"),
        (Method::GET, "/todos/1"),
        (Method::PUT, "/todos/1"),
        (Method::PATCH, "/todos/1"),
        (Method::DELETE, "/todos/1"),
    ] {
        let response = app
            .client
            .json(method.clone(), path, None, Some(&json!({"title": "x"})))
            .await;
        assert_eq!(response.status.as_u16(), 401, "{method} {path}");
        assert_eq!(response.json(), json!({"message": "Unauthorized"}));
    }
}
