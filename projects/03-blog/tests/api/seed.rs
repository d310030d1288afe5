//! `blog seed`: the demo data reads through the API as a front end reads it, the demo author
//! can log in and write; a second seed is refused instead of mixing demo data into real data.

use backend_kit::config::Settings;
use blog::seed::{DEMO_EMAIL, seed};
use serde_json::json;

use crate::helpers::spawn_app;

/// The tags every seeded article draws from.
const TAGS: [&str; 6] = ["caching", "docker", "http", "rust", "sql", "testing"];

#[actix_web::test]
async fn seed_fills_an_empty_database_once_with_authors_who_can_log_in_and_write() {
    let app = spawn_app().await;
    // The settings `blog seed` would read, for this app's database (bcrypt at the test cost).
    let settings = Settings::for_tests("blog", app.database.url().to_string());
    let seeded = seed(&settings, &app.db, None).await.expect("seed");
    assert_eq!(
        (seeded.authors, seeded.articles, seeded.comments),
        (4, 10, 20)
    );
    assert_eq!(
        seeded.password.len(),
        16,
        "a random password when none is given"
    );

    let login = app
        .client
        .post(
            "/api/users/login",
            None,
            &json!({ "user": { "email": DEMO_EMAIL, "password": seeded.password } }),
        )
        .await;
    login.assert_status(200);
    let login = login.json();
    let user = &login["user"];
    assert_eq!(user["username"], "ada");
    assert_eq!(user["emailVerified"], true, "{user}");
    assert!(user["bio"].as_str().is_some_and(|bio| !bio.is_empty()));
    let token = user["token"].as_str().expect("token").to_string();

    let list = app.client.get("/api/articles?limit=100", None).await;
    list.assert_status(200);
    let list = list.json();
    assert_eq!(list["articlesCount"], 10);
    let tags = app.client.get("/api/tags", None).await.json();
    let shown = tags["tags"].as_array().expect("tags");
    for tag in TAGS {
        assert!(
            shown.iter().any(|t| t.as_str() == Some(tag)),
            "{tag} in {tags}"
        );
    }
    let mut comments = 0;
    for article in list["articles"].as_array().expect("articles") {
        let slug = article["slug"].as_str().expect("slug");
        let page = app
            .client
            .get(&format!("/api/articles/{slug}/comments"), None)
            .await;
        page.assert_status(200);
        comments += page.json()["comments"].as_array().expect("comments").len();
    }
    assert_eq!(comments, seeded.comments, "each comment is on its article");
    let feed = app.client.get("/api/articles/feed", Some(&token)).await;
    feed.assert_status(200);
    assert!(
        feed.json()["articlesCount"].as_i64().is_some_and(|n| n > 0),
        "the demo author follows authors who wrote: {}",
        feed.text
    );

    let written = app
        .client
        .post(
            "/api/articles",
            Some(&token),
            &json!({ "article": {
                "title": "Written after the seed",
                "description": "A seeded account writes like any other.",
                "body": "It *works*.",
                "tagList": ["rust"],
            } }),
        )
        .await;
    written.assert_status(201);
    assert_eq!(written.json()["article"]["author"]["username"], "ada");

    let again = seed(&settings, &app.db, Some("another-password".into()))
        .await
        .err()
        .expect("a second seed must be refused");
    assert!(
        again.to_string().contains("already has data here"),
        "{again}"
    );
    let list = app.client.get("/api/articles", None).await.json();
    assert_eq!(
        list["articlesCount"], 11,
        "nothing was added by the refused seed"
    );
}

#[actix_web::test]
async fn a_given_demo_password_is_checked_like_a_registration() {
    let app = spawn_app().await;
    let settings = Settings::for_tests("blog", app.database.url().to_string());
    let err = seed(&settings, &app.db, Some("short".into()))
        .await
        .err()
        .expect("too short");
    assert!(err.to_string().contains("at least 8 bytes"), "{err}");
    let list = app.client.get("/api/articles", None).await.json();
    assert_eq!(list["articlesCount"], 0, "nothing was written");
}
