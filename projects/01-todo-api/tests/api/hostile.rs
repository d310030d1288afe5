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
    let response = app
        .client
        .post("/todos", Some(&session.token), &json!({"title": "orphan"}))
        .await;
    response.assert_status(401);
    assert_eq!(response.json(), json!({"message": "Unauthorized"}));
}
