use serde_json::json;

use crate::helpers::{spawn_app, token};

#[actix_web::test]
async fn a_link_made_with_a_token_belongs_to_its_user() {
    let app = spawn_app().await;
    let owner = token(&app).await;
    let stranger = token(&app).await;
    let code = app
        .create_as(&owner, json!({"url": "https://example.com/mine"}))
        .await;
    let path = format!("/shorten/{code}");
    let body = json!({"url": "https://example.com/changed"});

    // Following it stays public; reading it, like its stats, is the owner's.
    app.visit(&code).await.assert_status(302);

    for (token, status) in [(None, 401), (Some(stranger.as_str()), 403)] {
        for response in [
            app.client.get(&path, token).await,
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

/// A new link password is hashed (bcrypt) only once the caller is known to own the link: a
/// stranger's `PUT` must not make the server burn a hash. The second instance hashes at cost
/// 16 (seconds per hash), so a hash before the owner check shows as a slow `403`.
#[actix_web::test]
async fn a_strangers_update_is_refused_before_any_password_is_hashed() {
    let app = spawn_app().await;
    let owner = token(&app).await;
    let stranger = token(&app).await;
    let code = app
        .create_as(&owner, json!({"url": "https://example.com/"}))
        .await;
    let expensive = crate::helpers::start(app.database_url.clone(), None, |c| {
        c.settings.bcrypt_cost = 16;
    })
    .await;
    let body = json!({"url": "https://example.com/x", "password": "a-new-password"});
    let started = std::time::Instant::now();
    for token in [None, Some(stranger.as_str())] {
        let response = expensive
            .client
            .put(&format!("/shorten/{code}"), token, &body)
            .await;
        assert!(
            matches!(response.status.as_u16(), 401 | 403),
            "{}",
            response.status
        );
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "refusing two strangers took {:?}: a password was hashed first",
        started.elapsed()
    );
}

#[actix_web::test]
async fn updates_and_deletes_share_the_write_budget() {
    let app = crate::helpers::spawn_app_with(|c| c.shorten_rate_limit_per_minute = 3).await;
    let code = app.create(json!({"url": "https://example.com/"})).await;
    let path = format!("/shorten/{code}");
    let body = json!({"url": "https://example.com/changed"});
    app.client.put(&path, None, &body).await.assert_status(200);
    app.client.put(&path, None, &body).await.assert_status(200);
    let limited = app.client.put(&path, None, &body).await;
    limited.assert_status(429);
    assert!(limited.header("retry-after").is_some());
    app.client.delete(&path, None).await.assert_status(429);
    // Reads and redirects are not limited.
    app.client.get(&path, None).await.assert_status(200);
    app.visit(&code).await.assert_status(302);
}

/// With `ANONYMOUS_EDITS=token`, an anonymous link can be changed or deleted only with the
/// manage token its creation answered with (and shown nowhere else).
#[actix_web::test]
async fn in_token_mode_anonymous_links_need_their_manage_token() {
    let app = crate::helpers::spawn_app_with(|c| {
        c.anonymous_edits = url_shortener::config::AnonymousEdits::Token;
    })
    .await;
    let created = app.shorten(&json!({"url": "https://example.com/"})).await;
    created.assert_status(201);
    let link = created.json();
    let code = link["shortCode"].as_str().expect("code").to_string();
    let manage = link["manageToken"]
        .as_str()
        .expect("manageToken")
        .to_string();
    assert_eq!(manage.len(), 43);
    let path = format!("/shorten/{code}");
    assert!(
        app.client
            .get(&path, None)
            .await
            .json()
            .get("manageToken")
            .is_none()
    );

    let send = |method: reqwest::Method, header: Option<&str>| {
        let mut request = app.client.request(method.clone(), &path);
        if method == reqwest::Method::PUT {
            request = request.json(&json!({"url": "https://example.com/changed"}));
        }
        if let Some(value) = header {
            request = request.header("X-Manage-Token", value);
        }
        app.client.send(request)
    };
    send(reqwest::Method::PUT, None).await.assert_status(401);
    send(reqwest::Method::DELETE, None).await.assert_status(401);
    send(reqwest::Method::PUT, Some("not-the-token"))
        .await
        .assert_status(403);
    send(reqwest::Method::DELETE, Some("not-the-token"))
        .await
        .assert_status(403);
    let changed = send(reqwest::Method::PUT, Some(&manage)).await;
    changed.assert_status(200);
    assert_eq!(changed.json()["url"], "https://example.com/changed");
    send(reqwest::Method::DELETE, Some(&manage))
        .await
        .assert_status(204);

    // A link made with an account has no manage token: its owner's token is the proof.
    let owner = token(&app).await;
    let owned = app
        .client
        .post(
            "/shorten",
            Some(&owner),
            &json!({"url": "https://example.com/mine"}),
        )
        .await;
    owned.assert_status(201);
    assert!(owned.json().get("manageToken").is_none());
}
