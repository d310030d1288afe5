//! Profiles and following.

use crate::helpers::{assert_error, spawn_app};

#[actix_web::test]
async fn following_is_idempotent_and_shows_in_profiles() {
    let app = spawn_app().await;
    let (ann, bob) = (app.register("ann").await, app.register("bob").await);
    let path = format!("/api/profiles/{}", bob.username);
    let anonymous = app.get(&path, None).await;
    anonymous.assert_status(200);
    let profile = &anonymous.json()["profile"];
    assert_eq!(profile["username"], bob.username.as_str());
    assert_eq!(profile["following"], false);
    assert_eq!(profile["bio"], "");

    for _ in 0..2 {
        let followed = app
            .client
            .post(
                &format!("{path}/follow"),
                Some(&ann.token),
                &serde_json::json!({}),
            )
            .await;
        followed.assert_status(200);
        assert_eq!(followed.json()["profile"]["following"], true);
    }
    assert_eq!(
        app.get(&path, Some(&ann)).await.json()["profile"]["following"],
        true
    );
    // Only for the follower.
    assert_eq!(
        app.get(&path, Some(&bob)).await.json()["profile"]["following"],
        false
    );

    for _ in 0..2 {
        let unfollowed = app
            .client
            .delete(&format!("{path}/follow"), Some(&ann.token))
            .await;
        unfollowed.assert_status(200);
        assert_eq!(unfollowed.json()["profile"]["following"], false);
    }
    assert_eq!(
        app.get(&path, Some(&ann)).await.json()["profile"]["following"],
        false
    );
}

#[actix_web::test]
async fn unknown_profiles_are_404_and_following_needs_a_token() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    assert_error(&app.get("/api/profiles/nobody", None).await, 404, "body");
    let follow_nobody = app
        .client
        .post(
            "/api/profiles/nobody/follow",
            Some(&ann.token),
            &serde_json::json!({}),
        )
        .await;
    assert_error(&follow_nobody, 404, "body");
    let path = format!("/api/profiles/{}/follow", ann.username);
    assert_error(
        &app.client.post(&path, None, &serde_json::json!({})).await,
        401,
        "body",
    );
    assert_error(&app.client.delete(&path, None).await, 401, "body");
    // Yourself: refused, naming the field.
    assert_error(
        &app.client
            .post(&path, Some(&ann.token), &serde_json::json!({}))
            .await,
        422,
        "username",
    );
    // A bad token on a public read is still a 401, not an anonymous read.
    assert_error(
        &app.get(
            &format!("/api/profiles/{}", ann.username),
            Some(&crate::helpers::User {
                username: String::new(),
                token: "bad".into(),
            }),
        )
        .await,
        401,
        "body",
    );
}

#[actix_web::test]
async fn other_methods_are_405_in_the_envelope() {
    let app = spawn_app().await;
    let response = app
        .client
        .send(
            app.client
                .request(reqwest::Method::PATCH, "/api/profiles/x"),
        )
        .await;
    assert_error(&response, 405, "body");
    let put = app
        .client
        .send(app.client.request(reqwest::Method::PUT, "/api/tags"))
        .await;
    assert_error(&put, 405, "body");
}

/// One database for every capstone (the compose set-up): an account the chat made has no
/// username. On its first use here it gets one from its name, the same everywhere, so its
/// profile can be found and followed.
#[actix_web::test]
async fn an_account_made_elsewhere_gets_a_username_on_first_use() {
    use diesel::RunQueryDsl;
    let app = crate::helpers::spawn_app().await;
    let (one, two) = (app.register("one").await, app.register("two").await);
    // What the chat's (or the todo API's) registration leaves: a name, no username.
    let (a, b) = (one.username.clone(), two.username.clone());
    app.db
        .run(move |conn| {
            diesel::sql_query(format!(
                "UPDATE users SET username = NULL, name = 'Ann Lee' WHERE username IN ('{a}', '{b}')"
            ))
            .execute(conn)
            .map_err(backend_kit::db::DbError::from)
        })
        .await
        .expect("update");
    let me = app.get("/api/user", Some(&one)).await;
    me.assert_status(200);
    assert_eq!(me.json()["user"]["username"], "Ann-Lee");
    let profile = app.get("/api/profiles/Ann-Lee", None).await;
    profile.assert_status(200);
    assert_eq!(profile.json()["profile"]["username"], "Ann-Lee");
    // The second Ann Lee gets a number; an article shows the same handle as its author.
    let article = app.create_article(&two, "Hello", &[]).await;
    let second = article["author"]["username"]
        .as_str()
        .expect("username")
        .to_string();
    assert!(second.starts_with("Ann-Lee-"), "{second}");
    app.client
        .post(
            &format!("/api/profiles/{second}/follow"),
            Some(&one.token),
            &serde_json::json!({}),
        )
        .await
        .assert_status(200);
    let again = app.get("/api/user", Some(&two)).await.json();
    assert_eq!(
        again["user"]["username"],
        second.as_str(),
        "kept, not made again"
    );
}
