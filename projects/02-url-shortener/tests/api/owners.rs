use serde_json::json;

use crate::helpers::{spawn_app, token};

#[actix_web::test]
async fn a_link_made_with_a_token_belongs_to_its_user() {
    let app = spawn_app().await;
    let owner = token(&app).await;
    let stranger = token(&app).await;
    let response = app
        .client
        .post(
            "/shorten",
            Some(&owner),
            &json!({"url": "https://example.com/mine"}),
        )
        .await;
    response.assert_status(201);
    let code = response.json()["shortCode"]
        .as_str()
        .expect("code")
        .to_string();
    let path = format!("/shorten/{code}");
    let body = json!({"url": "https://example.com/changed"});

    // Reading the link and following it stay public.
    app.client.get(&path, None).await.assert_status(200);
    app.visit(&code).await.assert_status(302);

    for (token, status) in [(None, 401), (Some(stranger.as_str()), 403)] {
        for response in [
            app.client.put(&path, token, &body).await,
            app.client.delete(&path, token).await,
            app.client.get(&format!("{path}/stats"), token).await,
        ] {
            response.assert_status(status);
            assert!(response.json()["message"].is_string());
        }
    }
    app.client
        .get(&format!("{path}/stats"), Some(&owner))
        .await
        .assert_status(200);
    app.client
        .put(&path, Some(&owner), &body)
        .await
        .assert_status(200);
    app.client
        .delete(&path, Some(&owner))
        .await
        .assert_status(204);
}

#[actix_web::test]
async fn anonymous_links_stay_open_to_anyone() {
    let app = spawn_app().await;
    let someone = token(&app).await;
    let code = app.create(json!({"url": "https://example.com/"})).await;
    let path = format!("/shorten/{code}");
    app.client
        .get(&format!("{path}/stats"), None)
        .await
        .assert_status(200);
    app.client
        .put(
            &path,
            Some(&someone),
            &json!({"url": "https://example.com/2"}),
        )
        .await
        .assert_status(200);
    app.client.delete(&path, None).await.assert_status(204);
}

#[actix_web::test]
async fn an_invalid_token_is_refused_not_ignored() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(
            "/shorten",
            Some("not-a-jwt"),
            &json!({"url": "https://example.com/"}),
        )
        .await;
    response.assert_status(401);
    assert_eq!(response.json(), json!({"message": "Unauthorized"}));
}
