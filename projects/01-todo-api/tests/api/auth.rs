use backend_kit::auth::tokens::{Claims, TokenKeys};
use reqwest::Method;
use serde_json::json;

use crate::helpers::spawn_app;

#[actix_web::test]
async fn register_returns_tokens_that_work() {
    let app = spawn_app().await;
    let response = app.register("ann@example.com", "password-123").await;
    response.assert_status(201);
    let body = response.json();
    let keys: Vec<_> = body.as_object().expect("object").keys().cloned().collect();
    assert_eq!(keys, ["refreshToken", "token"]);
    let token = body["token"].as_str().expect("token");
    assert_eq!(token.split('.').count(), 3, "the token is a JWT");
    app.client
        .get("/todos", Some(token))
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn register_reports_every_invalid_field() {
    let app = spawn_app().await;
    let response = app.client.post("/register", None, &json!({})).await;
    response.assert_status(400);
    let body = response.json();
    assert!(body["message"].is_string());
    for field in ["name", "email", "password"] {
        assert!(
            body["errors"][field].is_array(),
            "missing errors.{field}: {body}"
        );
    }

    let cases = [
        (
            json!({"name": "", "email": "ann@example.com", "password": "password-123"}),
            "name",
        ),
        (
            json!({"name": "x".repeat(101), "email": "ann@example.com", "password": "password-123"}),
            "name",
        ),
        (
            json!({"name": "Ann", "email": "not-an-email", "password": "password-123"}),
            "email",
        ),
        (
            json!({"name": "Ann", "email": "ann@example.com", "password": "short"}),
            "password",
        ),
        (
            json!({"name": "Ann", "email": "ann@example.com", "password": "p".repeat(73)}),
            "password",
        ),
    ];
    for (input, field) in cases {
        let response = app.client.post("/register", None, &input).await;
        response.assert_status(400);
        let errors = &response.json()["errors"];
        assert!(
            errors[field].is_array(),
            "{input} should fail on {field}: {errors}"
        );
        assert_eq!(
            errors.as_object().map(|o| o.len()),
            Some(1),
            "only {field} is wrong: {errors}"
        );
    }
}

#[actix_web::test]
async fn password_of_exactly_72_bytes_is_accepted_and_73_refused() {
    let app = spawn_app().await;
    app.register("a@example.com", &"€".repeat(24))
        .await
        .assert_status(201);
    app.register("b@example.com", &format!("{}x", "€".repeat(24)))
        .await
        .assert_status(400);
}

#[actix_web::test]
async fn a_taken_email_is_a_conflict_whatever_its_case() {
    let app = spawn_app().await;
    app.register("ann@example.com", "password-123")
        .await
        .assert_status(201);
    let response = app.register("ANN@example.com", "password-456").await;
    response.assert_status(409);
    assert!(response.json()["message"].is_string());
}

#[actix_web::test]
async fn login_succeeds_with_the_right_password() {
    let app = spawn_app().await;
    app.register("ann@example.com", "password-123")
        .await
        .assert_status(201);
    let response = app
        .client
        .post(
            "/login",
            None,
            &json!({"email": "ann@example.com", "password": "password-123"}),
        )
        .await;
    response.assert_status(200);
    let body = response.json();
    assert!(
        body["token"].is_string() && body["refreshToken"].is_string(),
        "{body}"
    );
}

#[actix_web::test]
async fn wrong_password_and_unknown_email_get_the_same_401() {
    let app = spawn_app().await;
    app.register("ann@example.com", "password-123")
        .await
        .assert_status(201);
    let wrong_password = app
        .client
        .post(
            "/login",
            None,
            &json!({"email": "ann@example.com", "password": "password-999"}),
        )
        .await;
    let unknown_email = app
        .client
        .post(
            "/login",
            None,
            &json!({"email": "bob@example.com", "password": "password-123"}),
        )
        .await;
    for response in [&wrong_password, &unknown_email] {
        response.assert_status(401);
        assert_eq!(response.json(), json!({"message": "Unauthorized"}));
    }
}

#[actix_web::test]
async fn login_with_missing_fields_or_an_overlong_password_is_a_400() {
    let app = spawn_app().await;
    let response = app
        .client
        .post("/login", None, &json!({"email": "ann@example.com"}))
        .await;
    response.assert_status(400);
    assert!(response.json()["errors"]["password"].is_array());
    let response = app
        .client
        .post(
            "/login",
            None,
            &json!({"email": "ann@example.com", "password": "p".repeat(73)}),
        )
        .await;
    response.assert_status(400);
}

#[actix_web::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_session() {
    let app = spawn_app().await;
    let session = app.new_user().await;

    let response = app
        .client
        .post(
            "/refresh",
            None,
            &json!({"refreshToken": session.refresh_token}),
        )
        .await;
    response.assert_status(200);
    let rotated = response.json();
    let new_refresh = rotated["refreshToken"]
        .as_str()
        .expect("refreshToken")
        .to_string();
    assert_ne!(new_refresh, session.refresh_token);
    app.client
        .get("/todos", rotated["token"].as_str())
        .await
        .assert_status(200);

    let reused = app
        .client
        .post(
            "/refresh",
            None,
            &json!({"refreshToken": session.refresh_token}),
        )
        .await;
    reused.assert_status(401);
    assert_eq!(reused.json(), json!({"message": "Unauthorized"}));
    // The whole family is gone, including the token issued by the rotation.
    app.client
        .post("/refresh", None, &json!({"refreshToken": new_refresh}))
        .await
        .assert_status(401);
}

/// Two tabs refresh with the same token at once: within the grace both get a session; past
/// it, the same reuse revokes the family as before.
#[actix_web::test]
async fn two_tabs_refreshing_at_once_both_stay_logged_in() {
    let app = crate::helpers::spawn_app_with(|c| {
        c.settings.refresh_reuse_grace = std::time::Duration::from_secs(2);
    })
    .await;
    let session = app.new_user().await;
    let tab = |client: test_support::TestClient, token: String| {
        actix_web::rt::spawn(async move {
            client
                .post("/refresh", None, &json!({"refreshToken": token}))
                .await
        })
    };
    let one = tab(app.client.clone(), session.refresh_token.clone());
    let two = tab(app.client.clone(), session.refresh_token.clone());
    let (one, two) = (one.await.expect("tab one"), two.await.expect("tab two"));
    one.assert_status(200);
    two.assert_status(200);
    let successors: Vec<String> = [&one, &two]
        .iter()
        .map(|r| {
            r.json()["refreshToken"]
                .as_str()
                .expect("token")
                .to_string()
        })
        .collect();
    assert_ne!(successors[0], successors[1]);
    // Both tabs stay logged in.
    let mut latest = Vec::new();
    for successor in &successors {
        let next = app
            .client
            .post("/refresh", None, &json!({"refreshToken": successor}))
            .await;
        next.assert_status(200);
        latest.push(
            next.json()["refreshToken"]
                .as_str()
                .expect("token")
                .to_string(),
        );
    }
    // One grace successor only: a third use of the same token is a copy, and ends the
    // session, both tabs' with it.
    app.client
        .post(
            "/refresh",
            None,
            &json!({"refreshToken": session.refresh_token}),
        )
        .await
        .assert_status(401);
    app.client
        .post("/refresh", None, &json!({"refreshToken": latest[0]}))
        .await
        .assert_status(401);
    // Past the grace, a used token coming back is a stolen copy too.
    let session = app.new_user().await;
    let refreshed = app
        .client
        .post(
            "/refresh",
            None,
            &json!({"refreshToken": session.refresh_token}),
        )
        .await;
    refreshed.assert_status(200);
    actix_web::rt::time::sleep(std::time::Duration::from_millis(2_200)).await;
    app.client
        .post(
            "/refresh",
            None,
            &json!({"refreshToken": session.refresh_token}),
        )
        .await
        .assert_status(401);
    let successor = refreshed.json()["refreshToken"]
        .as_str()
        .expect("token")
        .to_string();
    app.client
        .post("/refresh", None, &json!({"refreshToken": successor}))
        .await
        .assert_status(401);
}

#[actix_web::test]
async fn refresh_without_or_with_a_bogus_token() {
    let app = spawn_app().await;
    app.client
        .post("/refresh", None, &json!({}))
        .await
        .assert_status(400);
    app.client
        .post("/refresh", None, &json!({"refreshToken": "bogus"}))
        .await
        .assert_status(401);
}

#[actix_web::test]
async fn logout_ends_the_session() {
    let app = spawn_app().await;
    let session = app.new_user().await;
    let response = app
        .client
        .post(
            "/logout",
            None,
            &json!({"refreshToken": session.refresh_token}),
        )
        .await;
    response.assert_status(204);
    assert!(response.text.is_empty());
    app.client
        .post(
            "/refresh",
            None,
            &json!({"refreshToken": session.refresh_token}),
        )
        .await
        .assert_status(401);
    app.client
        .post("/logout", None, &json!({}))
        .await
        .assert_status(400);
}

#[actix_web::test]
async fn the_token_is_accepted_with_bearer_or_bare() {
    let app = spawn_app().await;
    let session = app.new_user().await;
    for value in [format!("Bearer {}", session.token), session.token.clone()] {
        let request = app
            .client
            .request(Method::GET, "/todos")
            .header("Authorization", value);
        app.client.send(request).await.assert_status(200);
    }
}

#[actix_web::test]
async fn missing_invalid_or_expired_tokens_get_exactly_unauthorized() {
    let app = spawn_app().await;
    let session = app.new_user().await;
    let keys = TokenKeys::new(
        app.settings.jwt_secret.expose().as_bytes(),
        std::time::Duration::from_secs(900),
    );
    let now = chrono::Utc::now().timestamp();
    let expired = keys
        .encode(&Claims {
            sub: "1".into(),
            iat: now - 3600,
            exp: now - 1800,
        })
        .expect("encodes");
    let other_secret = TokenKeys::new(
        b"some-other-secret-of-32-bytes-or-more",
        std::time::Duration::from_secs(900),
    )
    .issue(1)
    .expect("issues");
    let mut tampered = session.token.clone();
    tampered.push('x');

    let mut headers: Vec<Option<String>> = vec![None];
    for token in [expired, other_secret, tampered, "garbage".into()] {
        headers.push(Some(format!("Bearer {token}")));
    }
    headers.push(Some(format!("Token {}", session.token)));
    headers.push(Some("Bearer".into()));

    for header in headers {
        let mut request = app.client.request(Method::GET, "/todos");
        if let Some(value) = &header {
            request = request.header("Authorization", value);
        }
        let response = app.client.send(request).await;
        assert_eq!(response.status.as_u16(), 401, "{header:?}");
        assert_eq!(
            response.json(),
            json!({"message": "Unauthorized"}),
            "{header:?}"
        );
    }
}
